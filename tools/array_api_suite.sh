#!/usr/bin/env bash
# Run the array API standard's conformance suite (data-apis/array-api-tests)
# against one namespace and write a summary: counts, wall time, failing ids.
#
#   tools/array_api_suite.sh MODULE OUTDIR [extra pytest args...]
#
#   MODULE   lazyarray | array_api_strict | array_api_compat.numpy | ...
#   OUTDIR   where report.json, pytest.log, failing.txt, summary.txt go
#
# Environment:
#   SUITE_DIR        checkout of array-api-tests (with array-api/ stubs inside)
#                    [required]
#   PYTHON           interpreter of a venv with pytest, hypothesis, ndindex,
#                    pytest-json-report and the namespaces under test
#                    [default: python3]
#   API_VERSION      ARRAY_API_TESTS_VERSION [default: 2024.12]
#   MAX_EXAMPLES     hypothesis examples per test [default: 20]
#   SEED             hypothesis seed, for repeatable runs [default: 0]
#
# The suite is not part of `make test`; see docs/array-api-suite.md.
set -euo pipefail

MODULE=${1:?usage: array_api_suite.sh MODULE OUTDIR [pytest args...]}
OUTDIR=${2:?usage: array_api_suite.sh MODULE OUTDIR [pytest args...]}
shift 2
SUITE_DIR=${SUITE_DIR:?set SUITE_DIR to a checkout of array-api-tests}
PYTHON=${PYTHON:-python3}
API_VERSION=${API_VERSION:-2024.12}
MAX_EXAMPLES=${MAX_EXAMPLES:-20}
SEED=${SEED:-0}

mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)

export ARRAY_API_TESTS_MODULE="$MODULE"
export ARRAY_API_TESTS_VERSION="$API_VERSION"
# array-api-strict defaults to its newest revision; pin it to the suite's.
export ARRAY_API_STRICT_API_VERSION="$API_VERSION"

# A fresh, empty hypothesis example database per run: with the seed fixed,
# no failure saved by an earlier run (of this or another namespace) is replayed.
HYPOTHESIS_STORAGE_DIRECTORY=$(mktemp -d)
export HYPOTHESIS_STORAGE_DIRECTORY
trap 'rm -rf "$HYPOTHESIS_STORAGE_DIRECTORY"' EXIT

cd "$SUITE_DIR"
start=$(date +%s.%N)
set +e
"$PYTHON" -m pytest array_api_tests \
    -p no:cacheprovider -q -rN --tb=line \
    --max-examples="$MAX_EXAMPLES" --hypothesis-seed="$SEED" \
    --continue-on-collection-errors \
    --json-report --json-report-file="$OUTDIR/report.json" \
    "$@" > "$OUTDIR/pytest.log" 2>&1
rc=$?
set -e
end=$(date +%s.%N)

"$PYTHON" - "$OUTDIR" "$MODULE" "$API_VERSION" "$MAX_EXAMPLES" "$start" "$end" "$rc" <<'PY'
import json, sys, collections
outdir, module, version, examples, start, end, rc = sys.argv[1:]
wall = float(end) - float(start)
try:
    report = json.load(open(f"{outdir}/report.json"))
except (OSError, ValueError):
    report = {"tests": [], "summary": {}}
tests = report.get("tests", [])
counts = collections.Counter(t["outcome"] for t in tests)
# A module that cannot be imported (e.g. a name missing at import time) is a
# failed collector: its tests never run, so it is listed as one failing id.
broken = sorted(c["nodeid"] for c in report.get("collectors", [])
                if c.get("outcome") == "failed" and c["nodeid"])
failing = sorted(t["nodeid"] for t in tests if t["outcome"] in ("failed", "error"))
failing += broken
with open(f"{outdir}/failing.txt", "w") as f:
    f.writelines(i + "\n" for i in failing)

def message(t):
    for stage in ("setup", "call", "teardown"):
        crash = (t.get(stage) or {}).get("crash")
        if crash and crash.get("message"):
            return crash["message"].splitlines()[0][:200]
    return ""

with open(f"{outdir}/failures.tsv", "w") as f:
    for t in sorted(tests, key=lambda t: t["nodeid"]):
        if t["outcome"] in ("failed", "error"):
            f.write(f"{t['nodeid']}\t{message(t)}\n")
    for c in report.get("collectors", []):
        if c.get("outcome") == "failed" and c["nodeid"]:
            f.write(f"{c['nodeid']}\tcollection error: {c.get('longrepr', '').strip().splitlines()[-1][:200]}\n")
# Nothing collected and pytest failed: the suite itself could not import the
# namespace (e.g. no xp.bool); say why.
suite_error = []
if not tests and rc != "0":
    errs = [l for l in open(f"{outdir}/pytest.log") if l.startswith("E ")]
    suite_error = [f"suite_import_error: {errs[-1][1:].strip() if errs else 'see pytest.log'}"]
lines = [
    f"module: {module}",
    f"api_version: {version}",
    f"max_examples: {examples}",
    f"collected: {len(tests)}",
    *(f"{k}: {counts.get(k, 0)}" for k in ("passed", "failed", "error", "skipped", "xfailed", "xpassed")),
    f"modules_not_importable: {len(broken)}",
    f"wall_s: {wall:.1f}",
    *suite_error,
    f"pytest_rc: {rc}",
]
open(f"{outdir}/summary.txt", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
