#!/usr/bin/env python3
"""Reads RUN_DIR/tensorboard/ with TensorBoard's own reader and checks it against metrics.jsonl.

    check_tensorboard.py [--colony BIN] RUN_DIR [-- <colony train flags>]

With --colony, first runs `BIN train <flags> --run-dir RUN_DIR` (RUN_DIR is emptied first).
Every finite number of every metrics.jsonl record must appear as a scalar with the record's
`frames` as its step and the same value (as float32); nothing else may appear. Exit 0 on
success, 1 with the first mismatch otherwise.
"""
import argparse
import glob
import json
import math
import os
import shutil
import struct
import subprocess
import sys


def fail(message):
    print(f"check_tensorboard: {message}", file=sys.stderr)
    sys.exit(1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--colony")
    parser.add_argument("run_dir")
    parser.add_argument("train_flags", nargs="*")
    args = parser.parse_args()
    if args.colony:
        shutil.rmtree(args.run_dir, ignore_errors=True)
        command = [args.colony, "train", *args.train_flags, "--run-dir", args.run_dir]
        print("+", " ".join(command), flush=True)
        subprocess.run(command, check=True, timeout=240)

    from tensorboard.backend.event_processing import event_accumulator

    files = glob.glob(os.path.join(args.run_dir, "tensorboard", "events.out.tfevents.*"))
    if len(files) != 1:
        fail(f"expected one event file in {args.run_dir}/tensorboard, found {files}")
    expected = {}  # tag -> [(step, value)]
    with open(os.path.join(args.run_dir, "metrics.jsonl")) as f:
        records = [json.loads(line) for line in f]
    if not records:
        fail("metrics.jsonl is empty")
    for record in records:
        for key, value in record.items():
            if value is None or not math.isfinite(value):
                continue
            expected.setdefault(key, []).append((int(record["frames"]), value))

    accumulator = event_accumulator.EventAccumulator(
        files[0], size_guidance={event_accumulator.SCALARS: 0})
    accumulator.Reload()
    tags = sorted(accumulator.Tags()["scalars"])
    if tags != sorted(expected):
        fail(f"scalar tags differ: event file {tags}, metrics.jsonl {sorted(expected)}")
    checked = 0
    for tag in tags:
        got = [(event.step, event.value) for event in accumulator.Scalars(tag)]
        want = expected[tag]
        if len(got) != len(want):
            fail(f"{tag}: {len(got)} events, metrics.jsonl has {len(want)} values")
        for (step, value), (want_step, want_value) in zip(got, want):
            as_float32 = struct.unpack("f", struct.pack("f", want_value))[0]
            if step != want_step or value != as_float32:
                fail(f"{tag}: got step {step} value {value}, expected step {want_step} "
                     f"value {as_float32}")
            checked += 1
    print(f"check_tensorboard: {checked} scalars in {len(tags)} tags over {len(records)} "
          f"records match metrics.jsonl ({files[0]})")


if __name__ == "__main__":
    main()
