#!/usr/bin/env bash
# The plant example end to end: install what is missing, build, check the shipped workflow,
# and simulate the recorded plant stream of examples/plant through the workflow and the
# business rules, printing the report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
echo "== building takt (log in build/build.log)"
mkdir -p build
if ! bash scripts/build.sh build >build/build.log 2>&1; then
  tail -n 40 build/build.log >&2
  exit 1
fi
takt=build/cli/takt

echo "== takt check workflows"
"$takt" check workflows
echo
echo "== takt simulate --workflows workflows --rules rules examples/plant/events.jsonl"
"$takt" simulate --workflows workflows --rules rules examples/plant/events.jsonl
