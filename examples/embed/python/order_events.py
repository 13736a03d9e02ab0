"""order_events.py: takt from Python. Submits the events of standard input (JSON Lines) in
batches to an engine on a SQLite database, then delivers the commands from the outbox: prints
each as a JSON line and marks it delivered. Run it twice on the same input and the second run
delivers nothing.

    TAKT_LIBRARY=/usr/local/lib/libtakt.so python3 order_events.py \
        --workflows workflows --rules rules --db plant.db < events.jsonl
"""
import argparse
import json
import sys

import takt


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workflows", action="append", required=True)
    parser.add_argument("--rules", default="")
    parser.add_argument("--db", required=True)
    args = parser.parse_args()

    options = {"workflows": args.workflows, "rules_dir": args.rules, "store": args.db}
    delivered = 0
    with takt.Engine(options, on_log=lambda level, message: print("takt:", message, file=sys.stderr)
                     if level >= 2 else None) as engine:
        def deliver():
            nonlocal delivered
            while True:
                pending = engine.pending_commands(256)
                if not pending:
                    return
                for command in pending:
                    print(json.dumps({"id": command["id"], "name": command["name"],
                                      "caused_by": command["caused_by"],
                                      "payload": command["payload"]}, separators=(",", ":")))
                    engine.mark_delivered(command["id"])
                    delivered += 1

        deliver()  # what an earlier run committed but did not deliver
        batch = []
        for line in sys.stdin:
            line = line.strip()
            if line:
                batch.append(line)
            if len(batch) == 256:
                engine.submit_batch(batch)
                batch = []
                deliver()
        if batch:
            engine.submit_batch(batch)
            deliver()
        stats = engine.stats()
    print(f"order_events.py: takt {takt.version()}, {stats['events']} events in the database, "
          f"{delivered} commands delivered", file=sys.stderr)


if __name__ == "__main__":
    main()
