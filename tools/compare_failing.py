#!/usr/bin/env python3
"""Tests that fail for one namespace but pass for a baseline, grouped by module.

    compare_failing.py CANDIDATE BASELINE

Each argument is either a failing-id list (failing.txt from
tools/array_api_suite.sh, one pytest node id a line) or that run's
report.json.  With a report.json as BASELINE, "passes" means the baseline ran
the test and it passed; with a plain list it means "not in the baseline's
failing list" (a test the baseline skipped then counts as passing).
"""

import json
import sys
from collections import defaultdict
from pathlib import Path


def load(path: str) -> tuple[set[str], set[str] | None]:
    """(failing ids, passing ids or None when only a failing list is given)."""
    p = Path(path)
    if p.suffix == ".json":
        tests = json.loads(p.read_text()).get("tests", [])
        failing = {t["nodeid"] for t in tests if t["outcome"] in ("failed", "error")}
        passing = {t["nodeid"] for t in tests if t["outcome"] == "passed"}
        return failing, passing
    ids = {line.strip() for line in p.read_text().splitlines() if line.strip()}
    return ids, None


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    cand_failing, _ = load(argv[1])
    base_failing, base_passing = load(argv[2])
    if base_passing is None:
        regressions = cand_failing - base_failing
    else:
        regressions = cand_failing & base_passing
    by_module: dict[str, list[str]] = defaultdict(list)
    for nodeid in regressions:
        module, _, rest = nodeid.partition("::")
        by_module[module].append(rest)
    print(f"{len(regressions)} fail in {argv[1]} but pass in {argv[2]}")
    for module in sorted(by_module, key=lambda m: (-len(by_module[m]), m)):
        tests = sorted(by_module[module])
        print(f"\n{module} ({len(tests)})")
        for t in tests:
            print(f"  {t}")
    print(
        f"\n({len(base_failing & cand_failing)} fail in both; "
        f"{len(base_failing - cand_failing)} fail only in the baseline)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
