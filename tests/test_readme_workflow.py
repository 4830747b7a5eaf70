"""The README's "Publish a workflow" runs as written: its Python blocks are saved under
the names their first lines give, its shell blocks run in order in a fresh folder (with
``python`` and ``lazyarray`` pointing at this interpreter), and what they print and write
is checked."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"```(\w+)\n(.*?)```", re.DOTALL)


def section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


@pytest.mark.skipif(shutil.which("bash") is None, reason="the README's shell is bash")
def test_publish_a_workflow_runs_as_written(tmp_path: Path) -> None:
    blocks = FENCE.findall(section("Publish a workflow"))
    assert [language for language, _ in blocks] == ["sh", "python", "python", "sh"]
    for language, code in blocks:
        if language == "python":
            name = code.splitlines()[0].removeprefix("# ").split(",")[0]
            (tmp_path / name).write_text(code)
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    for command, module in (("python", ""), ("lazyarray", "-m lazyarray ")):
        shim = bin_folder / command
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" {module}"$@"\n')
        shim.chmod(0o755)
    script = "\n".join(code for language, code in blocks if language == "sh")
    env = {
        **os.environ,
        "PATH": f"{bin_folder}{os.pathsep}{os.environ['PATH']}",
        "LAZYARRAY_REGISTRY": "",  # the README sets its own
    }
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "2"  # python use.py
    assert lines[1].split() == ["ID", "LATEST", "VERSIONS", "TITLE"]
    assert lines[2].split()[:3] == ["alice:count-above", "1.0.0", "1"]
    assert (tmp_path / "registry" / "registry.sqlite").exists()
    assert np.load(tmp_path / "count.npy") == 5
