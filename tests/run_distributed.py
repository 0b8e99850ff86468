#!/usr/bin/env python3
"""Runs `colony train` under mpirun and checks what the run wrote (a CTest driver).

Usage: run_distributed.py --mpirun MPIRUN [--mpirun-flag F ...] --colony BIN --ranks N
                          [checks] -- <colony train flags>

Checks, each optional:
  --accounting          frames sent by actors == frames received + frames after the stop, and
                        frames received == frames trained + dropped as stale + unused at the stop
                        (nothing lost or duplicated)
  --identical-weights   every learner ends with bitwise-identical weights
  --min-dropped K       at least K dropped trajectories were counted
  --min-return R        the final mean episode return is at least R
  --min-credit-waits K  actors blocked on send credits at least K times in all
  --max-ahead K         actors produced at most K trajectories per actor beyond what learners
                        trained on (back-pressure keeps them bounded)
  --min-env-errors K    the actors survived at least K environment exceptions in all (their
                        actors/actor-RANK.json env_errors), the learners' final env_errors is
                        between K and that total, and the run still ended in order
  --eval-min-return R   `colony eval` of the newest checkpoint (100 episodes, sampled actions)
                        reports a mean return of at least R
  --signal-after S      once the first status record exists and S more seconds passed, send
                        SIGTERM to every rank (as a batch system would); the run must still end
                        in order: exit 0, a final record, "stopped by signal 15"
The run must exit 0 within --timeout seconds; output is printed either way.
"""
import argparse
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from run_util import fail, records, signal_ranks


def signal_ranks_when_running(run_dir, delay, timeout):
    """SIGTERM to every process whose command line names run_dir (the ranks, not mpirun)."""
    metrics = os.path.join(run_dir, "metrics.jsonl")
    deadline = time.monotonic() + timeout
    while not (os.path.exists(metrics) and os.path.getsize(metrics) > 0):
        if time.monotonic() > deadline:
            fail("no status record appeared")
        time.sleep(0.2)
    time.sleep(delay)
    signal_ranks(run_dir, signal.SIGTERM)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mpirun", required=True)
    parser.add_argument("--mpirun-flag", action="append", default=[])
    parser.add_argument("--colony", required=True)
    parser.add_argument("--ranks", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--accounting", action="store_true")
    parser.add_argument("--identical-weights", action="store_true")
    parser.add_argument("--min-dropped", type=int)
    parser.add_argument("--min-return", type=float)
    parser.add_argument("--min-credit-waits", type=int)
    parser.add_argument("--max-ahead", type=float)
    parser.add_argument("--signal-after", type=float)
    parser.add_argument("--eval-min-return", type=float)
    parser.add_argument("--min-env-errors", type=int)
    parser.add_argument("train_flags", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    flags = [f for f in args.train_flags if f != "--"]

    run_dir = tempfile.mkdtemp(prefix="colony_run_")
    command = ([args.mpirun, "-n", str(args.ranks)] + args.mpirun_flag +
               [args.colony, "train", "--run-dir", run_dir] + flags)
    print("+ " + " ".join(command), flush=True)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    if args.signal_after is not None:
        signal_ranks_when_running(run_dir, args.signal_after, args.timeout)
    try:
        output, _ = process.communicate(timeout=args.timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        print(output)
        fail(f"no exit within {args.timeout} s (a hang)")
    print(output)
    if process.returncode != 0:
        fail(f"mpirun exited {process.returncode}")
    if args.signal_after is not None and "stopped by signal 15" not in output:
        fail("the run did not report stopping by signal 15")

    final = records(run_dir)[-1]
    if final.get("final") != 1:
        fail("the last metrics record is not the final one")
    actors = []
    for path in sorted(glob.glob(os.path.join(run_dir, "actors", "actor-*.json"))):
        with open(path) as f:
            actors.append(json.load(f))
    expected_actors = args.ranks - int(flags[flags.index("--learners") + 1]) \
        if "--learners" in flags else args.ranks - 1
    if len(actors) != expected_actors:
        fail(f"{len(actors)} actor summaries, expected {expected_actors}")
    sent = sum(a["frames_sent"] for a in actors)
    print(f"final: {json.dumps(final)}")
    print(f"actors: frames sent {sent}, credit waits {sum(a['credit_waits'] for a in actors)}")

    if args.accounting:
        arrived = final["frames_received"] + final["frames_after_stop"]
        if sent != arrived:
            fail(f"actors sent {sent} frames, learners accounted for {arrived}")
        used = final["frames"] + final["frames_dropped_stale"] + final["frames_unused_at_stop"]
        if final["frames_received"] != used:
            fail(f"received {final['frames_received']} frames, trained + stale + unused = {used}")
    if args.identical_weights and final["weights_identical"] != 1:
        fail("learners ended with different weights")
    if args.min_dropped is not None and final["dropped_trajectories"] < args.min_dropped:
        fail(f"dropped_trajectories {final['dropped_trajectories']} < {args.min_dropped}")
    if args.min_return is not None:
        if final["episode_return_mean"] is None or final["episode_return_mean"] < args.min_return:
            fail(f"episode_return_mean {final['episode_return_mean']} < {args.min_return}")
    if args.min_credit_waits is not None:
        waits = sum(a["credit_waits"] for a in actors)
        if waits < args.min_credit_waits:
            fail(f"actors waited on credits {waits} times, expected at least {args.min_credit_waits}")
    if args.min_env_errors is not None:
        errors = sum(a["env_errors"] for a in actors)
        print(f"actors survived {errors} environment exceptions")
        if errors < args.min_env_errors:
            fail(f"actors survived {errors} environment exceptions, expected at least "
                 f"{args.min_env_errors}")
        # The learners add up the running counts their actors' trajectories carry: at most the
        # actors' own totals (a rollout may end after the last trajectory was sent).
        seen = final.get("env_errors")
        print(f"learners reported env_errors {seen}")
        if seen is None or not args.min_env_errors <= seen <= errors:
            fail(f"the learners' env_errors is {seen}, expected in [{args.min_env_errors}, "
                 f"{errors}] (the actors' total)")
    if args.max_ahead is not None:
        per_trajectory = sent / max(1, sum(a["trajectories_sent"] for a in actors))
        ahead = (sent - final["frames"]) / per_trajectory / len(actors)
        print(f"actors ran {ahead:.2f} trajectories each ahead of training")
        if ahead > args.max_ahead:
            fail(f"actors ran {ahead:.2f} trajectories each ahead of training, bound {args.max_ahead}")
    if args.eval_min_return is not None:
        checkpoints = sorted(glob.glob(os.path.join(run_dir, "checkpoints", "ckpt-*")))
        if not checkpoints:
            fail("no checkpoint to evaluate")
        evaluation = subprocess.run([args.colony, "eval", "--checkpoint", checkpoints[-1],
                                     "--episodes", "100"], stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, timeout=args.timeout)
        print(evaluation.stdout)
        if evaluation.returncode != 0:
            fail(f"colony eval exited {evaluation.returncode}")
        summary = json.loads(evaluation.stdout.strip().splitlines()[-1])
        if summary["return_mean"] < args.eval_min_return:
            fail(f"colony eval: mean return {summary['return_mean']} < {args.eval_min_return}")
    shutil.rmtree(run_dir, ignore_errors=True)
    print("PASS")


if __name__ == "__main__":
    main()
