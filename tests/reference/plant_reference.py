#!/usr/bin/env python3
"""An independent reference model of the plant workload's production order workflow.

Written from workloads/PLANT.md alone, in another language and without any of takt's code,
so that the engine can be checked against it decision by decision. It covers ownership,
duplicates, out of sequence, the order lifecycle with R3 and odoo.production.done, and with
--rules also R1 (alarm to maintenance request) and R2 (alarm to quality hold), which takt runs
as Lua rules. Without --rules, alarms and maintenance.done are accepted and change nothing.

Reads JSON Lines on standard input, writes the report JSON on standard output.
"""
import json
import sys

OWNER = {"order.released": "odoo", "order.cancelled": "odoo", "maintenance.done": "odoo",
         "order.started": "mes", "order.progress": "mes", "order.finished": "mes",
         "process.measurements": "mes", "inspection.result": "qms", "disposition": "qms",
         "alarm": "scada", "telemetry": "scada"}
# PLANT.md, details 2: data fields that are read, with their JSON types.
READ = {"order.released": {"asset": str}, "order.progress": {"good": int, "scrap": int},
        "order.finished": {"good": int, "scrap": int}, "inspection.result": {"critical": bool},
        "disposition": {"decision": str}, "alarm": {"code": str, "severity": int}}
FINAL = {"complete", "scrapped", "cancelled"}
DISPOSITION = {"release": "complete", "rework": "executing", "scrap": "scrapped"}


def well_formed(ev):
    if not isinstance(ev, dict):
        return False
    for f in ("id", "source", "type", "key"):
        if not isinstance(ev.get(f), str):
            return False
    for f in ("seq", "ts"):
        if not isinstance(ev.get(f), int) or isinstance(ev.get(f), bool):
            return False
    if not isinstance(ev.get("data"), dict) or ev["type"] not in OWNER:
        return False
    for field, kind in READ.get(ev["type"], {}).items():
        v = ev["data"].get(field)
        if kind is int and (not isinstance(v, int) or isinstance(v, bool)):
            return False
        if kind is not int and not isinstance(v, kind):
            return False
    return True


def main():
    rules = "--rules" in sys.argv[1:]
    counts = {"events": 0, "accepted": 0, "duplicates": 0, "ownership_violations": 0,
              "out_of_sequence": 0, "malformed": 0}
    seen = set()
    orders = {}  # key -> {"state", "good", "scrap"}
    commands = []
    plant = {"alarms": {}, "open": set(), "released_on": {}}  # the rules' memory
    for line in sys.stdin:
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        counts["events"] += 1
        try:
            ev = json.loads(line)
        except ValueError:
            counts["malformed"] += 1
            continue
        if not well_formed(ev):
            counts["malformed"] += 1
            continue
        if ev["id"] in seen:
            counts["duplicates"] += 1
            continue
        seen.add(ev["id"])
        if OWNER[ev["type"]] != ev["source"]:
            counts["ownership_violations"] += 1
            continue
        ok = apply(ev, orders, commands)
        counts["accepted" if ok else "out_of_sequence"] += 1
        if ok and rules:
            run_rules(ev, orders, commands, plant)
    if counts["malformed"] == 0:
        del counts["malformed"]
    report = {"commands": commands,
              "final_states": {k: o["state"] for k, o in sorted(orders.items())},
              "counts": counts}
    json.dump(report, sys.stdout, indent=1)
    sys.stdout.write("\n")


def run_rules(ev, orders, commands, plant):
    t, key, data = ev["type"], ev["key"], ev["data"]
    if t == "order.released":
        plant["released_on"].setdefault(data["asset"], []).append(key)
    if t == "maintenance.done":
        plant["open"].discard(key)
    if t != "alarm":
        return
    # R1: the accepted alarms of the asset so far, this one included, ts in [ts - 10 min, ts].
    ts, sev = ev["ts"], data["severity"]
    seen = plant["alarms"].setdefault(key, [])
    seen.append(ts)
    if key not in plant["open"]:
        n = sum(1 for x in seen if ts - 600000 <= x <= ts)
        if sev >= 3 or n >= 3:
            plant["open"].add(key)
            commands.append({"cmd": "odoo.maintenance.create", "cause": ev["id"],
                             "data": {"asset": key, "priority": "high" if sev >= 3 else "normal",
                                      "reason": data["code"]}})
    # R2: the most recently released order on the asset that is not final.
    if sev < 3:
        return
    current = None
    for order in reversed(plant["released_on"].get(key, [])):
        if orders[order]["state"] not in FINAL:
            current = order
            break
    if current is not None and orders[current]["state"] in ("executing", "inspecting"):
        orders[current]["state"] = "on_hold"
        commands.append({"cmd": "odoo.quality.alert", "cause": ev["id"],
                         "data": {"order": current, "asset": key, "reason": data["code"]}})


def apply(ev, orders, commands):
    t, key, data = ev["type"], ev["key"], ev["data"]
    if t in ("alarm", "maintenance.done", "telemetry", "process.measurements"):
        return True
    if t == "order.released":
        if key in orders:
            return False
        orders[key] = {"state": "released", "good": 0, "scrap": 0}
        return True
    o = orders.get(key)
    if o is None:
        return False
    s = o["state"]
    if t == "order.started" and s == "released":
        o["state"] = "executing"
    elif t == "order.cancelled" and s in ("released", "executing"):
        o["state"] = "cancelled"
    elif t == "order.progress" and s == "executing":
        o["good"], o["scrap"] = data["good"], data["scrap"]
    elif t == "order.finished" and s == "executing":
        o["good"], o["scrap"] = data["good"], data["scrap"]
        o["state"] = "inspecting"
    elif t == "inspection.result" and s == "inspecting":
        if data["critical"]:
            o["state"] = "on_hold"
            commands.append({"cmd": "odoo.quality.alert", "cause": ev["id"],
                             "data": {"order": key, "reason": data.get("defect")}})
        else:
            o["state"] = "disposition"
    elif t == "disposition" and s in ("disposition", "on_hold") and data["decision"] in DISPOSITION:
        o["state"] = DISPOSITION[data["decision"]]
        if o["state"] == "complete":
            commands.append({"cmd": "odoo.production.done", "cause": ev["id"],
                             "data": {"order": key, "good": o["good"], "scrap": o["scrap"]}})
    else:
        return False
    return True


if __name__ == "__main__":
    main()
