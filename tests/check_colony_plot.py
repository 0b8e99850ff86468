#!/usr/bin/env python3
"""launch/colony-plot on synthetic run directories: a PNG from two tiny runs, and exit 2 with a
message naming the problem for a missing directory, a directory without metrics.jsonl, a
malformed line and a record without frames.

    check_colony_plot.py PATH/TO/colony-plot SCRATCH_DIR
"""
import json
import os
import shutil
import subprocess
import sys


def fail(message):
    print(f"check_colony_plot: {message}", file=sys.stderr)
    sys.exit(1)


def write_run(path, lines):
    os.makedirs(path)
    with open(os.path.join(path, "metrics.jsonl"), "w") as f:
        f.write("".join(line + "\n" for line in lines))


def plot(tool, *args):
    return subprocess.run([sys.executable, tool, *args], capture_output=True, text=True,
                          timeout=120)


def main():
    tool, scratch = sys.argv[1], sys.argv[2]
    shutil.rmtree(scratch, ignore_errors=True)
    for name, scale in (("run_a", 1.0), ("run_b", 0.5)):
        write_run(os.path.join(scratch, name), [
            json.dumps({"frames": i * 1000, "wall_s": i * 0.5,
                        "episode_return_mean": None if i == 0 else scale * 10 * i,
                        "fps": 2000.0, **({"final": 1} if i == 5 else {})})
            for i in range(6)])
    output = os.path.join(scratch, "curves.png")
    result = plot(tool, os.path.join(scratch, "run_a"), os.path.join(scratch, "run_b"),
                  "-o", output)
    if result.returncode != 0:
        fail(f"plotting two runs: exit {result.returncode}: {result.stderr}")
    with open(output, "rb") as f:
        if f.read(8) != b"\x89PNG\r\n\x1a\n":
            fail(f"{output} is not a PNG")

    write_run(os.path.join(scratch, "bad_json"), ['{"frames": 1, "wall_s": 0}', '{"frames": 2,'])
    write_run(os.path.join(scratch, "no_frames"), ['{"wall_s": 0}'])
    os.makedirs(os.path.join(scratch, "empty_dir"))
    cases = (
        (os.path.join(scratch, "missing"), "no such directory"),
        (os.path.join(scratch, "empty_dir"), "no metrics.jsonl"),
        (os.path.join(scratch, "bad_json"), "metrics.jsonl:2: not valid JSON"),
        (os.path.join(scratch, "no_frames"), "metrics.jsonl:1: expected a number for 'frames'"),
    )
    for run_dir, expect in cases:
        result = plot(tool, run_dir, "-o", os.path.join(scratch, "never.png"))
        if result.returncode != 2 or expect not in result.stderr:
            fail(f"{run_dir}: expected exit 2 and '{expect}', got exit {result.returncode}: "
                 f"{result.stderr!r}")
    if os.path.exists(os.path.join(scratch, "never.png")):
        fail("a PNG was written for bad input")
    print("check_colony_plot: ok")


if __name__ == "__main__":
    main()
