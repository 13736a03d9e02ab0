#!/usr/bin/env python3
"""Scores maintenance requests against labelled anomaly windows, the way NAB does.

    takt simulate --workflows workflows --rules rules skab.jsonl > report.json
    python3 examples/skab/score.py skab.jsonl labels.json report.json
    python3 examples/skab/score.py skab.jsonl labels.json --naive   # the naive z-score rule

labels.json: {"assets": {ASSET: {"windows": [[start_ms, end_ms], ...], "probation_end_ms": T}}}
(the format of SKAB's labels as converted beside the events). A request of an asset is an
`odoo.maintenance.create` command; its time is its causing event's ts.

Per asset and in total: recall (windows detected), precision (requests inside a window over
requests), the delay of each window's first request after its start, and NAB's normalised
score with its standard profile (a true positive weighs 1, scaled by how early in the window it
came; a false positive -0.11, less when it follows a window closely; a missed window -1;
0 is a detector that never fires, 100 one that catches every window at its first instant and
asks for nothing else). Requests before probation_end_ms are not scored.

--naive scores a naive rolling z-score rule instead of a report: per tag a 2-minute history,
|z| >= 4 for 5 readings raises, |z| < 2 for 10 readings clears, one open request per asset.
Python 3 standard library only.
"""
import json
import math
import sys
from collections import defaultdict, deque

A_TP, A_FP, A_FN = 1.0, 0.11, 1.0


def sigmoid(y):
    return 2 / (1 + math.exp(5 * y)) - 1


def naive_requests(events):
    requests, tags, open_ = [], {}, {}
    for e in events:
        if e.get("type") != "telemetry":
            continue
        d, t, asset = e["data"], e["ts"], e["key"]
        value = d.get("value")
        if not isinstance(value, (int, float)):
            continue
        s = tags.setdefault((asset, d.get("tag")), {"h": deque(), "above": 0, "below": 0, "on": False})
        h = s["h"]
        while h and h[0][0] < t - 120000:
            h.popleft()
        z = 0.0
        if len(h) >= 2:
            xs = [x for _, x in h]
            m = sum(xs) / len(xs)
            sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))
            z = (value - m) / sd if sd > 0 else 0.0
        h.append((t, value))
        if abs(z) >= 4:
            s["above"], s["below"] = s["above"] + 1, 0
        elif abs(z) < 2:
            s["above"], s["below"] = 0, s["below"] + 1
        else:
            s["above"] = s["below"] = 0
        if not s["on"] and s["above"] >= 5:
            s["on"] = True
        if s["on"] and s["below"] >= 10:
            s["on"] = False
        if s["on"] and not open_.get(asset):
            open_[asset] = True
            requests.append((asset, t))
        elif open_.get(asset) and not any(v["on"] for k, v in tags.items() if k[0] == asset):
            open_[asset] = False
    return requests


def score_asset(windows, probation_end, times):
    times = sorted(t for t in times if t >= probation_end)
    raw, first = 0.0, [None] * len(windows)
    false = 0
    for t in times:
        inside = next((i for i, (s, e) in enumerate(windows) if s <= t <= e), None)
        if inside is not None:
            if first[inside] is None:
                s, e = windows[inside]
                first[inside] = t
                raw += A_TP * sigmoid(-(e - t) / max(e - s, 1))
            continue
        false += 1
        before = [w for w in windows if w[1] < t]
        if before:
            s, e = before[-1]
            raw += A_FP * sigmoid((t - e) / max(e - s, 1))  # negative, less so close behind
        else:
            raw -= A_FP
    raw -= A_FN * sum(1 for f in first if f is None)
    perfect = sum(A_TP * sigmoid(-1.0) for _ in windows)
    return raw, perfect, -A_FN * len(windows), first, len(times), false


def main(argv):
    if len(argv) != 4:
        sys.exit(__doc__)
    with open(argv[1]) as f:
        events = [json.loads(line) for line in f if line.strip()]
    with open(argv[2]) as f:
        labels = json.load(f)["assets"]
    if argv[3] == "--naive":
        requests = naive_requests(events)
    else:
        ts = {e["id"]: e["ts"] for e in events}
        with open(argv[3]) as f:
            report = json.load(f)
        requests = [(c["data"].get("asset"), ts[c["cause"]]) for c in report["commands"]
                    if c["cmd"] == "odoo.maintenance.create" and c["cause"] in ts]
    total = [0.0, 0.0, 0.0]
    detected = windows_n = asked = false_n = 0
    for asset, label in sorted(labels.items()):
        windows = label["windows"]
        raw, perfect, null, first, n, false = score_asset(
            windows, label.get("probation_end_ms", 0), [t for a, t in requests if a == asset])
        for i, v in enumerate((raw, perfect, null)):
            total[i] += v
        delays = ["missed" if f is None else f"{(f - w[0]) / 1000:g} s" for f, w in zip(first, windows)]
        print(f"{asset}: {sum(f is not None for f in first)}/{len(windows)} windows "
              f"({', '.join(delays)}), {n} requests, {false} false")
        detected += sum(f is not None for f in first)
        windows_n += len(windows)
        asked += n
        false_n += false
    nab = 100 * (total[0] - total[2]) / (total[1] - total[2]) if total[1] != total[2] else 0.0
    precision = (asked - false_n) / asked if asked else 0.0
    print(f"recall {detected}/{windows_n}, precision {precision:.2f}, NAB standard {nab:.2f}")


if __name__ == "__main__":
    main(sys.argv)
