#!/usr/bin/env python3
"""launch/colony-run and launch/colony-sbatch with --dry-run: the printed mpirun command and
sbatch script request the right rank counts and resources for several actor/learner counts, and
bad counts are refused with exit 2. Usage: check_launchers.py LAUNCH_DIR"""
import re
import subprocess
import sys

launch = sys.argv[1]
failures = []


def run(args, expect_rc=0):
    result = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            timeout=60)
    if result.returncode != expect_rc:
        failures.append(f"{' '.join(args)}: exit {result.returncode}, expected {expect_rc}\n"
                        f"{result.stdout}")
    return result.stdout


def expect(text, pattern, what):
    if not re.search(pattern, text, re.M):
        failures.append(f"{what}: no match for {pattern!r} in:\n{text}")


for actors, learners in [(1, 1), (4, 1), (6, 2), (30, 4)]:
    out = run([f"{launch}/colony-run", "--actors", str(actors), "--learners", str(learners),
               "--envs-per-actor", "16", "--dry-run", "--", "--model", "mlp"])
    what = f"colony-run {actors} actors {learners} learners"
    expect(out, rf"^\+ mpirun -n {actors + learners} ", what)
    expect(out, rf" train --learners {learners} --envs-per-actor 16 --model mlp$", what)
    expect(out, r"-x OMP_NUM_THREADS=1", what)

for actors, learners, nodes, gpus in [(2, 1, 1, 0), (6, 2, 2, 1), (60, 4, 4, 2)]:
    out = run([f"{launch}/colony-sbatch", "--actors", str(actors), "--learners", str(learners),
               "--nodes", str(nodes), "--gpus-per-node", str(gpus), "--time", "1:00:00",
               "--dry-run", "--", "--total-frames", "1000"])
    what = f"colony-sbatch {actors} actors {learners} learners {nodes} nodes"
    expect(out, rf"^#SBATCH --ntasks={actors + learners}$", what)
    expect(out, rf"^#SBATCH --nodes={nodes}$", what)
    if gpus:
        expect(out, rf"^#SBATCH --gpus-per-node={gpus}$", what)
    expect(out, r"^#SBATCH --signal=B:USR1@\d+$", what)
    expect(out, r"^#SBATCH --requeue$", what)
    expect(out, r"^#SBATCH --time=1:00:00$", what)
    expect(out, rf"^TRAIN_FLAGS=\(--learners {learners} .*--total-frames 1000\)$", what)

out = run([f"{launch}/colony-sbatch", "--actors", "8", "--learners", "2", "--nodes", "2",
           "--gpus-per-node", "1", "--time", "30", "--hetjob", "--dry-run"])
expect(out, r"^#SBATCH --ntasks=2$(.|\n)*^#SBATCH hetjob$(.|\n)*^#SBATCH --ntasks=8$",
       "hetjob: learners in component 0, actors in component 1")
expect(out, r"srun --het-group=0,1", "hetjob launch")

for bad in (["--actors", "0"], ["--actors", "x"], ["--actors", "2", "--learners", "-1"]):
    run([f"{launch}/colony-run", *bad, "--dry-run"], expect_rc=2)
    run([f"{launch}/colony-sbatch", *bad, "--nodes", "1", "--gpus-per-node", "0", "--time", "5",
         "--dry-run"], expect_rc=2)

if failures:
    print("\n\n".join(failures))
    sys.exit(1)
print("PASS: launchers compose the expected commands and scripts")
