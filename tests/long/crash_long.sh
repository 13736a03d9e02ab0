#!/usr/bin/env bash
# The long crash test, outside CI's default run: `takt simulate --db` over a generated stream of
# about 1,000,000 events (48,000 orders), killed with SIGKILL at 200 random instants and
# restarted each time; the report and the database must equal those of an uninterrupted run.
#   tests/long/crash_long.sh [ORDERS] [KILLS]      (after scripts/build.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
takt=build/cli/takt
orders="${1:-48000}"
kills="${2:-200}"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT

"$takt" generate plant --orders "$orders" --seed 5 > "$dir/events.jsonl"
events=$(wc -l < "$dir/events.jsonl")
simulate=("$takt" simulate --quiet --workflows workflows --rules rules --durability normal)
run() {  # run DB REPORT
  "${simulate[@]}" --db "$1" --report "$2" "$dir/events.jsonl"
}
start=$(date +%s%N)
run "$dir/ref.db" "$dir/ref.json"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "uninterrupted: $events events in $ms ms"

killed=0
attempts=0
while [ "$killed" -lt "$kills" ]; do
  # A slice of the uninterrupted run's time, between 1/400 and 1/100 of it.
  slice=$(( ms / 400 + RANDOM % (ms / 100 + 1) ))
  "${simulate[@]}" --db "$dir/crash.db" --report "$dir/crash.json" "$dir/events.jsonl" & pid=$!
  sleep "$(awk -v ms="$slice" 'BEGIN { printf "%.3f", ms / 1000 }')"
  if kill -KILL "$pid" 2>/dev/null; then killed=$((killed + 1)); fi
  wait "$pid" 2>/dev/null || true
  attempts=$((attempts + 1))
  if [ -f "$dir/crash.json" ] && [ "$killed" -lt "$kills" ] && [ "$attempts" -gt $((kills * 3)) ]; then
    break
  fi
done
run "$dir/crash.db" "$dir/crash.json"

dump() {
  python3 - "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for table, order in [("events", "pos"), ("inbox", "id"), ("sequences", "source, key"),
                     ("instances", "workflow, key"), ("rule_state", "rule, key"),
                     ("outbox", "seq"), ("audit", "seq"), ("cursors", "name")]:
    for row in db.execute(f"SELECT * FROM {table} ORDER BY {order}"):
        print(table, row)
print("integrity", db.execute("PRAGMA integrity_check").fetchone()[0])
print("distinct", db.execute("SELECT count(*) = count(DISTINCT id) FROM outbox").fetchone()[0])
PY
}
cmp "$dir/ref.json" "$dir/crash.json"
cmp <(dump "$dir/ref.db") <(dump "$dir/crash.db")
dump "$dir/crash.db" | tail -2
"$takt" audit verify --db "$dir/crash.db"
echo "ok: $killed kills, same report and database as the uninterrupted run"
