#!/usr/bin/env python3
"""Checks examples/skab/skab_to_events.py against a recorded sample of SKAB telemetry events.

Usage: skab_round_trip.py EVENTS_JSONL CONVERTER

Writes the sample back as a SKAB CSV file (one row per timestamp, the eight readings as the
events hold them), converts that file with the converter, and compares the result with the
sample byte for byte. Exit 0 when they are the same, 1 with the first line that differs.
"""
import re
import subprocess
import sys
import tempfile
import time

COLUMNS = ["Accelerometer1RMS", "Accelerometer2RMS", "Current", "Pressure", "Temperature",
           "Thermocouple", "Voltage", "Volume Flow RateRMS"]
VALUE = re.compile(r'"tag":"([^"]+)","value":([^,]+),"unit"')
TS = re.compile(r'"ts":(\d+)')


def main():
    events_path, converter = sys.argv[1], sys.argv[2]
    with open(events_path, encoding="utf-8") as f:
        recorded = f.read()
    rows = {}
    order = []
    for line in recorded.splitlines():
        ts = int(TS.search(line).group(1))
        tag, value = VALUE.search(line).groups()
        if ts not in rows:
            rows[ts] = {}
            order.append(ts)
        rows[ts][tag] = value
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as csv:
        csv.write("datetime;" + ";".join(COLUMNS) + ";anomaly;changepoint\n")
        for ts in order:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts // 1000))
            csv.write(stamp + ";" + ";".join(rows[ts][c] for c in COLUMNS) + ";0.0;0.0\n")
    converted = subprocess.run([sys.executable, converter, csv.name], check=True,
                               capture_output=True, text=True).stdout
    if converted == recorded:
        print(f"same {len(recorded.splitlines())} events")
        return 0
    for n, (a, b) in enumerate(zip(recorded.splitlines(), converted.splitlines()), start=1):
        if a != b:
            print(f"line {n} differs:\n  recorded:  {a}\n  converted: {b}")
            return 1
    print(f"{len(recorded.splitlines())} events recorded, {len(converted.splitlines())} converted")
    return 1


if __name__ == "__main__":
    sys.exit(main())
