"""Prints a pytest-benchmark JSON file as one table per group, with each row's median
time as a ratio to the group's first row (the peer a user would pick instead)."""

from __future__ import annotations

import json
import sys
from collections import defaultdict


def main(path: str) -> None:
    with open(path) as handle:
        report = json.load(handle)
    groups: dict[str, list[dict]] = defaultdict(list)
    for bench in report["benchmarks"]:
        groups[bench["group"] or "ungrouped"].append(bench)
    for group, benches in groups.items():
        baseline = benches[0]["stats"]["median"]
        print(f"\n## {group} (ratio to {benches[0]['name']})")
        print(f"{'benchmark':60} {'median':>12} {'ratio':>8}")
        for bench in benches:
            median = bench["stats"]["median"]
            extra = dict(bench.get("extra_info", {}))
            ops = extra.pop("ops", None)
            notes = [f"{median / ops * 1e6:.2f}us per op"] if ops else []
            notes += [f"{key}={value}" for key, value in extra.items()]
            note = " ".join(notes)
            print(f"{bench['name']:60} {median * 1e6:10.1f}us {median / baseline:8.2f} {note}")


if __name__ == "__main__":
    main(sys.argv[1])
