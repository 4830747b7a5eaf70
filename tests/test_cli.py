"""The ``lazyarray`` command: run in a subprocess as a user runs it (``python -m
lazyarray``, the module the console script calls), and in-process for the many ways a
command line can be wrong."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray import cli

ROOT = Path(__file__).resolve().parents[1]
ID = "alice:count-above"


def lazyarray(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lazyarray", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    x = la.parameter("x", la.Array, dtype="float64")
    t = la.parameter("threshold", la.Scalar, dtype="float64")
    root = tmp_path / "registry"
    (x > t).sum().publish(
        ID,
        "1.0.0",
        title="Count values above a threshold",
        tags=["stats"],
        docstring="How many elements of x exceed threshold.",
        parameters=["x", "threshold"],
        registry=root,
    )
    (x >= t).sum().publish(ID, "1.1.0-rc.1", parameters=["x", "threshold"], registry=root)
    la.Array(np.arange(3)).publish("bob:three", "0.1.0", registry=root)
    np.save(tmp_path / "values.npy", np.linspace(0, 1, 11))
    return root


def test_the_console_script_is_the_cli() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["lazyarray"] == "lazyarray.cli:main"
    assert callable(cli.main)


def test_run_list_show_delete_in_a_subprocess(registry: Path, tmp_path: Path) -> None:
    where = ["--registry", str(registry)]
    done = lazyarray(
        "run", f"{ID}@1.0.0", "--arg", "x=values.npy", "--arg", "threshold=0.5",
        "--output", "count.npy", *where, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert np.load(tmp_path / "count.npy") == 5

    listed = lazyarray("workflows", "list", *where, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["ID", "LATEST", "VERSIONS", "TITLE"]
    assert lines[1].split()[:3] == [ID, "1.0.0", "2"]
    assert lines[2].split() == ["bob:three", "0.1.0", "1"]

    shown = lazyarray("workflows", "show", ID, "1.0.0", "--json", *where, cwd=tmp_path)
    version = json.loads(shown.stdout)
    assert version["docstring"] == "How many elements of x exceed threshold."
    assert version["signature"].startswith("(x: Array[float64, (?,)], threshold")

    deleted = lazyarray("workflows", "delete", "bob:three", "0.1.0", *where, cwd=tmp_path)
    assert deleted.returncode == 0, deleted.stderr
    assert "never be published again" in deleted.stdout
    assert la.Workflow.get("bob:three", registry=registry).versions == ()

    missing = lazyarray("run", "alice:nope", *where, cwd=tmp_path)
    assert missing.returncode == 1
    assert missing.stderr.strip() == (
        f"lazyarray: error: no workflow 'alice:nope' in the registry {registry.resolve()}"
    )


def test_the_registry_comes_from_the_environment(registry: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lazyarray", "workflows", "list", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "LAZYARRAY_REGISTRY": str(registry)},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert [w["id"] for w in json.loads(done.stdout)] == [ID, "bob:three"]


def main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


class _Asked:
    """``use`` (``used``) and the compute of what it gives (a workflow taking no
    arguments), recording what they were asked."""

    def __init__(self) -> None:
        self.asked: dict[str, Any] = {}

    def used(self, id: str, version: str | None, registry: Any = None) -> _Asked:  # noqa: A002
        self.asked["registry"] = registry
        return self

    def compute(self, **options: Any) -> int:
        self.asked |= options
        return 7


A, B, C = "http://a.example:1", "https://b.example", "http://c.example"


@pytest.mark.parametrize(
    ("option", "flags", "registry", "server"),
    [
        (A, [], A, A),
        ("HTTP://A.example", [], "HTTP://A.example", "HTTP://A.example"),
        (None, ["--registry", B], B, B),
        (A, ["--registry", B], B, B),
        (A, ["--server", C], A, C),
        ("/some/folder", [], "/some/folder", None),
    ],
)
def test_a_registry_url_from_the_option_computes_on_its_server_as_the_flag_does(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    option: str | None,
    flags: list[str],
    registry: str,
    server: str | None,
) -> None:
    """``LAZYARRAY_REGISTRY`` (the ``registry`` option) means what ``--registry`` means:
    with ``--backend remote``, a server's URL computes on that server (``--server``
    names another)."""
    fake = _Asked()
    monkeypatch.setattr(cli, "use", fake.used)
    with la.config.set(registry=option):
        code, out, err = main(capsys, "run", "bob:three", "--backend", "remote", *flags)
    assert (code, out, err) == (0, "7\n", "")
    expected = {"registry": registry, "backend": "remote"}
    assert fake.asked == expected | ({} if server is None else {"server": server})


def test_show_prints_a_workflow_and_its_versions(
    registry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = main(capsys, "workflows", "show", ID, "--registry", str(registry))
    assert code == 0
    assert out.splitlines()[0] == f"{ID}: Count values above a threshold"
    assert "  tags     stats" in out
    versions = out.split("versions:\n")[1].splitlines()
    assert [line.split()[0] for line in versions] == ["1.0.0", "1.1.0-rc.1"]
    assert versions[0].endswith("(latest)")
    code, out, _ = main(capsys, "workflows", "list", "--tag", "stats", "--registry", str(registry))
    assert [line.split()[0] for line in out.splitlines()[1:]] == [ID]


def test_run_takes_numbers_and_lists_and_writes_formats(
    registry: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    where = ("--registry", str(registry))
    code, out, err = main(
        capsys, "run", ID, "--arg", "x=[0.1, 0.7, 0.9]", "--arg", "threshold=0.5", *where
    )
    assert (code, out, err) == (0, "2\n", "")
    target = tmp_path / "out.json"
    code, _, err = main(
        capsys, "run", f"{ID}@1.1.0-rc.1", "--arg", "x=[0.5]", "--arg", "threshold=0.5",
        "--output", str(target), *where,
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(target.read_text()) == {"dtype": "<i8", "shape": [], "data": 1}
    code, out, _ = main(capsys, "run", "bob:three", *where)
    assert (code, out) == (0, "[0 1 2]\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", ID, "--arg", "x=values.npy"], "missing argument(s): threshold"),
        (["run", ID, "--arg", "x=nofile.npy", "--arg", "threshold=1"], "cannot read nofile.npy"),
        (["run", ID, "--arg", "x"], "expected NAME=VALUE"),
        (["run", ID, "--arg", "x=hello", "--arg", "threshold=1"], "a .npy file, or a number"),
        (["run", ID, "--arg", "x=[1]", "--arg", "x=[2]"], "--arg x is given twice"),
        (["run", f"{ID}@", "--arg", "x=[1]"], "a version follows '@'"),
        (["run", f"{ID}@2.0.0"], "no version 2.0.0"),
        (["run", f"{ID}@v1"], "not a semantic version"),
        (["run", "Alice:x"], "invalid workflow id"),
        (["run", "bob:three", "--arg", "x=[1]"], "takes no arguments"),
        (
            ["run", ID, "--arg", "x=[1.0]", "--arg", "threshold=1", "--output", "out.txt"],
            "give --format",
        ),
        (["run", ID, "--arg", "x=[[1.0]]", "--arg", "threshold=1"], "argument 'x' has shape"),
        (["workflows", "show", "alice:nope"], "no workflow 'alice:nope'"),
        (["workflows", "delete", ID, "9.9.9"], "no version 9.9.9"),
    ],
)
def test_mistakes_print_one_line_and_exit_1(
    registry: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = main(capsys, *args, "--registry", str(registry))
    assert code == 1
    assert out == ""
    assert err.startswith("lazyarray: error: ")
    assert message in err
    assert len(err.splitlines()) == 1


def test_an_argument_file_that_is_no_npy_file_is_named_so(
    registry: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notnpy.npy").write_text("1, 2, 3\n")
    (tmp_path / "short.npy").write_bytes((tmp_path / "values.npy").read_bytes()[:-8])
    run = ["run", ID, "--arg", "threshold=1", "--registry", str(registry)]
    code, _, err = main(capsys, *run, "--arg", "x=notnpy.npy")
    assert code == 1
    message = "--arg x: notnpy.npy is not an .npy file (numpy.save writes one)"
    assert err == f"lazyarray: error: {message}\n"
    code, _, err = main(capsys, *run, "--arg", "x=short.npy")  # an .npy file, cut short
    assert code == 1 and err.startswith("lazyarray: error: --arg x: cannot read short.npy: ")


def test_run_help_says_a_registry_is_a_folder_or_a_url(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--registry DIR|URL" in text
    assert "a folder, or a lazyarray server's http(s) URL" in text
    assert "$LAZYARRAY_REGISTRY: the registry's server" in text


def test_a_missing_registry_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = main(capsys, "workflows", "list", "--registry", str(tmp_path / "none"))
    assert code == 1
    assert "no registry in" in err
    assert not (tmp_path / "none").exists()


@pytest.mark.parametrize(
    "args", [[], ["run"], ["workflows"], ["workflows", "show"], ["nope"], ["run", "a:b", "--x"]]
)
def test_a_command_line_argparse_cannot_read_exits_2(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(args)
    assert info.value.code == 2
    assert "usage: lazyarray" in capsys.readouterr().err


def test_commands_are_one_table(capsys: pytest.CaptureFixture[str]) -> None:
    def add_hello(commands: Any, common: Any) -> None:
        hello = commands.add_parser("hello", parents=[common])
        hello.set_defaults(handler=lambda args: print("hi") or 0)

    cli.COMMANDS.append(add_hello)
    try:
        assert main(capsys, "hello") == (0, "hi\n", "")
    finally:
        cli.COMMANDS.remove(add_hello)
