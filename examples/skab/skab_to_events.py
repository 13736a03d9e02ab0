#!/usr/bin/env python3
"""Converts SKAB CSV files to takt telemetry events (JSON Lines), one event per sensor reading.

SKAB, the Skoltech Anomaly Benchmark, is recorded data of a water-circulation testbed (pump,
motor, pipes): one row about every second, eight sensors, and labelled anomalies. Its CSV
files separate fields with ';' and start with a header:

  datetime;Accelerometer1RMS;Accelerometer2RMS;Current;Pressure;Temperature;Thermocouple;
  Voltage;Volume Flow RateRMS;anomaly;changepoint

Each reading becomes one event of source `scada`, type `telemetry`, keyed by the asset:

  {"id":"scada-skabo-0000001","source":"scada","type":"telemetry","key":"SKAB-O","seq":1,
   "ts":1581182839000,"data":{"asset":"SKAB-O","tag":"Accelerometer1RMS","value":0.226518,"unit":"g"}}

The files are read in the order given, as one stream of one asset; `seq` and the id count
across them. Timestamps have no zone in SKAB and are taken as UTC. Values are written as the
CSV has them. The `anomaly` and `changepoint` columns are labels, not readings, and are left
out.

  python3 examples/skab/skab_to_events.py other/9.csv other/10.csv > skab.jsonl

Python 3 standard library only.
"""
import argparse
import calendar
import json
import re
import sys
import time

UNITS = {
    "Accelerometer1RMS": "g",
    "Accelerometer2RMS": "g",
    "Current": "A",
    "Pressure": "bar",
    "Temperature": "degC",
    "Thermocouple": "degC",
    "Voltage": "V",
    "Volume Flow RateRMS": "l/min",
}
LABELS = {"anomaly", "changepoint"}
JSON_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?\Z")


def epoch_ms(text, where):
    try:
        parsed = time.strptime(text.strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        sys.exit(f"{where}: datetime {text!r} is not YYYY-MM-DD HH:MM:SS")
    return calendar.timegm(parsed) * 1000


def number(text, where, column):
    text = text.strip()
    if JSON_NUMBER.match(text):
        return text
    try:
        value = float(text)
    except ValueError:
        sys.exit(f"{where}: {column} {text!r} is not a number")
    if value != value or value in (float("inf"), float("-inf")):
        sys.exit(f"{where}: {column} {text!r} is not a finite number")
    return json.dumps(value)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("csv", nargs="+", help="SKAB CSV files, in the order to read them")
    parser.add_argument("--asset", default="SKAB-O", help="the asset key (default SKAB-O)")
    parser.add_argument("--id-prefix", default="scada-skabo-", help="event ids: PREFIX0000001, ...")
    args = parser.parse_args()
    out = sys.stdout
    asset = json.dumps(args.asset)
    seq = 0
    for path in args.csv:
        with open(path, encoding="utf-8") as f:
            header = f.readline().rstrip("\r\n").split(";")
            if not header or header[0] != "datetime":
                sys.exit(f"{path}:1: expected a header starting with 'datetime;'")
            unknown = [c for c in header[1:] if c not in UNITS and c not in LABELS]
            if unknown:
                sys.exit(f"{path}:1: unknown columns {unknown}")
            sensors = [(i, c) for i, c in enumerate(header) if c in UNITS]
            for line_number, line in enumerate(f, start=2):
                line = line.rstrip("\r\n")
                if not line:
                    continue
                fields = line.split(";")
                where = f"{path}:{line_number}"
                if len(fields) != len(header):
                    sys.exit(f"{where}: {len(fields)} fields, the header has {len(header)}")
                ts = epoch_ms(fields[0], where)
                for index, tag in sensors:
                    seq += 1
                    value = number(fields[index], where, tag)
                    out.write(
                        '{"id":%s,"source":"scada","type":"telemetry","key":%s,"seq":%d,"ts":%d,'
                        '"data":{"asset":%s,"tag":%s,"value":%s,"unit":%s}}\n'
                        % (json.dumps(f"{args.id_prefix}{seq:07d}"), asset, seq, ts, asset,
                           json.dumps(tag), value, json.dumps(UNITS[tag])))


if __name__ == "__main__":
    main()
