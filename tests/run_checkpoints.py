#!/usr/bin/env python3
"""Checkpoints, resume and `colony eval`, end to end (a CTest driver).

Usage: run_checkpoints.py --colony BIN [--mpirun MPIRUN --ranks N [--mpirun-flag F ...]]
                          -- <colony train flags>

Without --mpirun the run is `colony train --serial`. Steps:
  1. start a run with a large budget; once it has written a status record, send SIGUSR1 (to
     every rank, as a batch system would). It must exit 0, say "stopped by signal 10" and leave
     a checkpoint at its final frame count.
  2. --resume auto, same flags: it must say "resumed from <that checkpoint> at frames F" with
     the learning rate the linear schedule gives at F; its status records continue the frames
     and learner steps of run 1, and their learning rates follow the same schedule. SIGUSR1
     stops it again.
  3. truncate the newest state.bin: --resume auto must name it ("skipping ... truncated") and
     fall back to the previous checkpoint; the damaged one stays on disk.
  4. colony eval on the good checkpoint prints mean and std of return and length; on the
     damaged one and on a missing path it exits 2 naming the file.
  5. (serial only) --config: run 1's config.json with a changed budget configures a new run, a
     flag on the command line overrides the file, and an unknown key exits 2 naming the key.
"""
import argparse
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from run_util import fail, records, signal_ranks


def run_until_signal(command, run_dir, records_before, timeout):
    """Starts `command`, sends SIGUSR1 once it wrote a new status record, returns its output."""
    print("+ " + " ".join(command), flush=True)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    deadline = time.monotonic() + timeout
    while len(records(run_dir)) <= records_before:
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            print(process.communicate()[0])
            fail("no status record appeared (or the run ended before the signal)")
        time.sleep(0.1)
    signal_ranks(run_dir, signal.SIGUSR1)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        print(process.communicate()[0])
        fail("no exit after SIGUSR1 (a hang)")
    print(output, flush=True)
    if process.returncode != 0:
        fail(f"exit code {process.returncode} after SIGUSR1, expected 0")
    if "stopped by signal 10" not in output:
        fail("the run did not report stopping by signal 10")
    return output


def flag_value(flags, name, default):
    return type(default)(flags[flags.index(name) + 1]) if name in flags else default


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--colony", required=True)
    parser.add_argument("--mpirun")
    parser.add_argument("--mpirun-flag", action="append", default=[])
    parser.add_argument("--ranks", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("train_flags", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    flags = [f for f in args.train_flags if f != "--"]
    total = flag_value(flags, "--total-frames", 1000000)
    lr0 = flag_value(flags, "--lr", 0.001)

    run_dir = tempfile.mkdtemp(prefix="colony_ckpt_")
    if args.mpirun:
        base = [args.mpirun, "-n", str(args.ranks)] + args.mpirun_flag + [args.colony, "train"]
    else:
        base = [args.colony, "train", "--serial"]
    base += ["--run-dir", run_dir] + flags

    def schedule(frames):
        return lr0 * max(0.0, 1.0 - frames / total)

    # 1. SIGUSR1 stops the run with a checkpoint.
    run_until_signal(base, run_dir, 0, args.timeout)
    first = records(run_dir)
    final1 = first[-1]
    frames1, steps1 = final1["frames"], final1["learner_steps"]
    ckpt1 = os.path.join(run_dir, "checkpoints", f"ckpt-{frames1:012d}")
    if not os.path.isdir(ckpt1):
        fail(f"no checkpoint {ckpt1} after the signal; have {os.listdir(os.path.dirname(ckpt1))}")
    if frames1 >= total:
        fail(f"the run reached its budget ({frames1} frames) before the signal")

    # 2. Resume: counters and schedule continue.
    output = run_until_signal(base + ["--resume", "auto"], run_dir, len(first), args.timeout)
    match = re.search(r"resumed from (\S+) at frames (\d+), learner steps (\d+), version (\d+), "
                      r"learning rate (\S+)", output)
    if not match:
        fail("no 'resumed from' line")
    if match.group(1) != ckpt1 or int(match.group(2)) != frames1 or int(match.group(3)) != steps1:
        fail(f"resumed from {match.groups()}, expected {ckpt1} at {frames1} frames, {steps1} steps")
    if abs(float(match.group(5)) - schedule(frames1)) > 1e-12:
        fail(f"learning rate at resume {match.group(5)}, schedule says {schedule(frames1)}")
    second = records(run_dir)[len(first):]
    for record in second:
        if record["frames"] <= frames1 or record["learner_steps"] <= steps1:
            fail(f"record after resume does not continue from {frames1} frames, {steps1} steps: "
                 f"{record}")
        # The last update's rate is the schedule's at the frames it was given: the record's
        # frames (serial) or one batch before them (distributed).
        lr = record["learning_rate"]
        batch_frames = (flag_value(flags, "--unroll", 32) * flag_value(flags, "--batch", 8) *
                        flag_value(flags, "--learners", 1))
        if not any(abs(lr - schedule(record["frames"] - d)) < 1e-12 for d in (0, batch_frames)):
            fail(f"learning rate {lr} at {record['frames']} frames is off the schedule")
    frames2 = second[-1]["frames"]
    print(f"run 1 stopped at {frames1} frames ({steps1} steps); run 2 resumed there and stopped "
          f"at {frames2}; learning rates on the schedule", flush=True)

    # 3. A damaged newest checkpoint: named, skipped, kept.
    ckpt2 = os.path.join(run_dir, "checkpoints", f"ckpt-{frames2:012d}")
    state2 = os.path.join(ckpt2, "state.bin")
    with open(state2, "r+b") as f:
        f.truncate(os.path.getsize(state2) // 2)
    command = base + ["--resume", "auto", "--total-frames", str(frames1)]
    if args.mpirun:  # one rank is enough to see the choice
        command = [args.colony, "train", "--serial", "--run-dir", run_dir] + flags + \
                  ["--resume", "auto", "--total-frames", str(frames1)]
    print("+ " + " ".join(command), flush=True)
    result = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
    print(result.stdout, result.stderr, flush=True)
    if result.returncode != 0:
        fail(f"resume past a damaged checkpoint exited {result.returncode}")
    if f"skipping {ckpt2}" not in result.stderr or "state.bin" not in result.stderr:
        fail("the damaged checkpoint was not named on stderr")
    if f"resumed from {ckpt1}" not in result.stdout:
        fail(f"did not fall back to {ckpt1}")
    if not os.path.exists(state2):
        fail("the damaged checkpoint was deleted")

    # 4. colony eval.
    command = [args.colony, "eval", "--checkpoint", ckpt1, "--episodes", "4", "--seed", "3"]
    print("+ " + " ".join(command), flush=True)
    result = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
    print(result.stdout, result.stderr, flush=True)
    if result.returncode != 0 or "return  mean" not in result.stdout:
        fail(f"colony eval exited {result.returncode}")
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    if summary["episodes"] != 4 or not summary["length_mean"] >= 1 or summary["return_std"] < 0:
        fail(f"bad eval summary {summary}")
    for bad, name in [(ckpt2, state2), (run_dir + "/missing", run_dir + "/missing")]:
        result = subprocess.run([args.colony, "eval", "--checkpoint", bad], capture_output=True,
                                text=True, timeout=args.timeout)
        print(result.stderr, flush=True)
        if result.returncode != 2 or name not in result.stderr:
            fail(f"colony eval on {bad}: exit {result.returncode}, expected 2 naming {name}")

    # 5. --config FILE < command line.
    if not args.mpirun:
        with open(os.path.join(run_dir, "config.json")) as f:
            config = json.load(f)
        other = run_dir + "/from_config"
        config.update(total_frames=4096, run_dir=other, resume="", report_every=100.0)
        config_file = os.path.join(run_dir, "my_config.json")
        with open(config_file, "w") as f:
            json.dump(config, f)
        command = [args.colony, "train", "--config", config_file, "--total-frames", "2048"]
        print("+ " + " ".join(command), flush=True)
        result = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
        print(result.stdout, result.stderr, flush=True)
        if result.returncode != 0:
            fail(f"--config run exited {result.returncode}")
        with open(os.path.join(other, "config.json")) as f:
            effective = json.load(f)
        if effective["total_frames"] != 2048 or effective["model"] != config["model"] \
                or effective["report_every"] != 100.0 or not effective["serial"]:
            fail(f"effective config does not combine file and command line: {effective}")
        if records(other)[-1]["frames"] != 2048:
            fail("the command line's --total-frames did not win over the file")
        config["learning_rate_typo"] = 0.1
        with open(config_file, "w") as f:
            json.dump(config, f)
        result = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
        print(result.stderr, flush=True)
        if result.returncode != 2 or "unknown key 'learning_rate_typo'" not in result.stderr \
                or config_file not in result.stderr:
            fail(f"unknown config key: exit {result.returncode}, expected 2 naming file and key")
    shutil.rmtree(run_dir, ignore_errors=True)
    print("PASS")


if __name__ == "__main__":
    main()
