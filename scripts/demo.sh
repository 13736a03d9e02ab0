#!/usr/bin/env bash
# The plant example end to end: install what is missing, build, check the shipped workflow,
# and simulate the recorded plant stream of examples/plant, printing the report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/build.sh build >/dev/null
takt=build/cli/takt

echo "== takt check workflows"
"$takt" check workflows
echo
echo "== takt simulate --workflows workflows examples/plant/events.jsonl"
"$takt" simulate --workflows workflows examples/plant/events.jsonl
