"""What the run drivers (run_distributed.py, run_checkpoints.py) share: failing a test with a
message, reading a run's metrics.jsonl, and signalling the ranks of a run the way a batch
system does (every `colony train` process of that run directory, not mpirun)."""
import json
import os
import sys


def fail(message):
    print(f"FAIL: {message}", flush=True)
    sys.exit(1)


def records(run_dir):
    """The run's metrics records, oldest first; [] before the first one is written."""
    path = os.path.join(run_dir, "metrics.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def signal_ranks(run_dir, sig):
    """Sends `sig` to every `colony train` process whose command line names run_dir."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"colony") and b"train" in argv and run_dir.encode() in argv:
            try:
                os.kill(int(pid), sig)
            except ProcessLookupError:
                pass  # it ended between the scan and the signal
