#!/usr/bin/env bash
# The plant example end to end: install what is missing, build, check the shipped workflow,
# and simulate the recorded plant stream of examples/plant through the workflow and the
# business rules on the embedded SQLite store, printing the report; then ask the database what
# happened to one order, and verify its audit chain.
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
db=build/demo/plant.db
rm -rf build/demo && mkdir -p build/demo  # a fresh database: the same report on every run
echo "== takt simulate --workflows workflows --rules rules --db $db examples/plant/events.jsonl"
"$takt" simulate --workflows workflows --rules rules --db "$db" examples/plant/events.jsonl
echo
echo "== takt trace --db $db MO-000001"
"$takt" trace --db "$db" MO-000001
echo
echo "== takt audit verify --db $db"
"$takt" audit verify --db "$db"
