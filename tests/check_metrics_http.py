#!/usr/bin/env python3
"""The metrics endpoint of a real run, read with Python's urllib.

    check_metrics_http.py --colony BIN RUN_DIR [-- <colony train flags>]

Starts `BIN train <flags> --run-dir RUN_DIR --metrics-addr 127.0.0.1:0`, waits for
RUN_DIR/metrics_address, and checks that /metrics is Prometheus text whose colony_frames grows,
that /status is JSON with the same keys as metrics.jsonl, that bad requests get 404/405 while
training goes on, and that the run then ends with exit 0 and its server gone. Exit 0 on success.
"""
import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


def fail(message):
    print(f"check_metrics_http: {message}", file=sys.stderr)
    sys.exit(1)


def get(url, method="GET"):
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def parse_metrics(body):
    values = {}
    for line in body.splitlines():
        if line.startswith("#"):
            if not re.match(r"^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$", line):
                fail(f"bad comment line {line!r}")
            continue
        name, value = line.split(" ")
        if not NAME.match(name):
            fail(f"bad metric name {name!r}")
        values[name] = float(value)  # accepts NaN too
    return values


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--colony", required=True)
    parser.add_argument("run_dir")
    parser.add_argument("train_flags", nargs="*")
    args = parser.parse_args()
    shutil.rmtree(args.run_dir, ignore_errors=True)
    command = [args.colony, "train", *args.train_flags, "--run-dir", args.run_dir,
               "--metrics-addr", "127.0.0.1:0"]
    print("+", " ".join(command), flush=True)
    run = subprocess.Popen(command)
    try:
        address_file = os.path.join(args.run_dir, "metrics_address")
        deadline = time.time() + 120
        while not os.path.exists(address_file):
            if run.poll() is not None or time.time() > deadline:
                fail(f"no {address_file} (exit {run.poll()})")
            time.sleep(0.05)
        address = open(address_file).read().strip()
        base = f"http://{address}"
        frames = []
        while len(frames) < 2 or frames[-1] <= frames[0]:
            if run.poll() is not None or time.time() > deadline:
                fail(f"colony_frames did not grow while the run was up: {frames}")
            status, headers, body = get(base + "/metrics")
            if status != 200 or not headers["Content-Type"].startswith("text/plain"):
                fail(f"/metrics: {status} {headers['Content-Type']}")
            values = parse_metrics(body)
            if "colony_frames" in values:
                frames.append(values["colony_frames"])
            time.sleep(0.2)
        status, headers, body = get(base + "/status")
        record = json.loads(body)
        if status != 200 or "frames" not in record or "fps" not in record:
            fail(f"/status: {status} {body!r}")
        for path, method, code in (("/nope", "GET", 404), ("/metrics", "POST", 405)):
            got = get(base + path, method)[0]
            if got != code:
                fail(f"{method} {path}: expected {code}, got {got}")
        if run.poll() is not None:
            fail("the run ended before the checks finished; give it more --total-frames")
        print(f"check_metrics_http: {base} served frames {frames[0]:.0f} -> {frames[-1]:.0f}, "
              f"/status keys {len(record)}, 404 and 405 as expected", flush=True)
        if run.wait(timeout=600) != 0:
            fail(f"colony train exited with {run.returncode}")
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    # The record served while the run trained is a periodic one: compare it with the last
    # periodic record (the final one adds final-only keys such as "final" and "stop_signal").
    with open(os.path.join(args.run_dir, "metrics.jsonl")) as f:
        periodic = [r for r in map(json.loads, f.read().splitlines()) if "final" not in r]
    last = periodic[-1]
    if sorted(last) != sorted(record):
        fail(f"/status keys {sorted(record)} differ from metrics.jsonl's {sorted(last)}")
    host, port = address.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
        fail(f"{address} still accepts connections after the run ended")
    except OSError:
        pass
    print("check_metrics_http: ok")


if __name__ == "__main__":
    main()
