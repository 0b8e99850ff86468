#!/usr/bin/env bash
# The real-Slurm test (CTest slurm_local_cluster): a one-host Slurm cluster, built and torn
# down here, runs short training jobs written by launch/colony-sbatch.
#
#   tests/slurm/run_slurm_test.sh [--colony BIN] [--keep-state]
#
# In:  munge and slurm-wlm (launch/setup installs them), a built colony binary (default
#      build/launch/colony, or COLONY_BIN), root (the daemons run as SlurmUser=root).
# Out: exit 0 if every check passed, 1 with a FAIL line naming the check otherwise; on failure
#      the daemon logs and the job's output are printed.
#
# What it does: makes a temporary state directory; writes a munge key; starts munged on its
# own socket; writes slurm.conf from tests/slurm/slurm.conf.in (this host as one node, free
# ports, every path in the state directory); starts slurmctld -D and slurmd -D; waits for the
# node to be idle; then
#   1. submits a 1-learner, 2-actor job with `colony-sbatch --submit --wait` and checks that it
#      COMPLETED with exit code 0 and wrote metrics.jsonl (with its "final":1 record),
#      config.json, final.safetensors and one summary per actor;
#   2. submits a long job, and once it reports, sends USR1 to its batch shell (what Slurm does
#      at --signal=B:USR1@<lead>): the script must forward it to the ranks as SIGTERM and the
#      run must stop in order (COMPLETED, exit 0, "final":1, final.safetensors).
# Every wait is bounded. The daemons are stopped by PID on exit (success or not) and the state
# directory is removed (kept with --keep-state, or on failure, for inspection).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
colony="${COLONY_BIN:-$repo/build/launch/colony}"
keep_state=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --colony) colony="${2:?--colony needs a path}"; shift 2 ;;
    --keep-state) keep_state=1; shift ;;
    *) echo "run_slurm_test.sh: unknown argument '$1' (allowed: --colony BIN, --keep-state)" >&2
       exit 2 ;;
  esac
done

t0=$(date +%s)
say() { printf '[slurm-test %3ds] %s\n' "$(( $(date +%s) - t0 ))" "$*"; }
failed=0
fail() { say "FAIL: $*"; failed=1; exit 1; }

# --- preconditions: missing pieces fail the test, they never skip it ----------------------
missing=()
for tool in munged mungekey munge unmunge slurmctld slurmd sbatch scontrol sinfo scancel; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
[[ ${#missing[@]} -eq 0 ]] ||
  fail "missing ${missing[*]}: install Slurm with launch/setup (Debian: slurm-wlm munge)"
[[ -x "$colony" ]] || fail "no colony binary at $colony: run launch/build (or set COLONY_BIN)"
[[ $(id -u) -eq 0 ]] || fail "must run as root (the test daemons run as SlurmUser=root)"

state="$(mktemp -d "${TMPDIR:-/tmp}/colony-slurm.XXXXXX")"
chmod 0755 "$state"   # munged refuses a socket directory others may write; slurmd reads it
mkdir -p "$state"/{munge,ctld,spool,log,runs}
declare -A daemon_pids=()

stop_daemons() {
  local rc=$?
  [[ $failed -eq 1 ]] && rc=1
  local name pid
  if [[ -n "${daemon_pids[slurmctld]:-}" ]] && squeue -h -o %i 2>/dev/null | grep -q .; then
    say "cancelling jobs still in the queue: $(squeue -h -o '%i %T' | tr '\n' ' ')"
    scancel --full $(squeue -h -o %i) 2>/dev/null || true
    for _ in $(seq 1 60); do squeue -h -o %i 2>/dev/null | grep -q . || break; sleep 0.5; done
  fi
  # Reverse order of start: slurmd, slurmctld, munged.
  for name in slurmd slurmctld munged; do
    pid="${daemon_pids[$name]:-}"
    [[ -n "$pid" ]] || continue
    kill -TERM "$pid" 2>/dev/null || continue
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      say "$name (pid $pid) still running 10 s after SIGTERM: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  # A job step outlives slurmd (slurmstepd is reparented). After the scancel above none should
  # be left; any rank still running names this test's state directory in its --run-dir, which
  # is how it is found, and it is stopped by PID.
  local proc
  for proc in /proc/[0-9]*; do
    [[ "${proc#/proc/}" != "$$" ]] || continue
    if tr '\0' '\n' 2>/dev/null <"$proc/cmdline" | grep -q "^$state/runs/"; then
      say "stopping leftover process ${proc#/proc/}: $(tr '\0' ' ' 2>/dev/null <"$proc/cmdline" | cut -c1-100)"
      kill -KILL "${proc#/proc/}" 2>/dev/null || true
    fi
  done
  if [[ $rc -ne 0 ]]; then
    say "logs from $state/log:"
    local f
    shopt -s nullglob
    for f in "$state"/log/*; do echo "----- $f (last 40 lines)"; tail -n 40 "$f"; done
    for f in "$state"/runs/*/slurm-*.out; do
      [[ -f "$f" ]] && { echo "----- $f"; tail -n 60 "$f"; }
    done
    keep_state=1
  fi
  if [[ $keep_state -eq 1 ]]; then
    say "state kept in $state"
  else
    rm -rf "$state"
  fi
  say "$( [[ $rc -eq 0 ]] && echo PASS || echo "FAILED (exit $rc)" ) in $(( $(date +%s) - t0 )) s"
  exit "$rc"
}
trap stop_daemons EXIT
trap 'exit 130' INT TERM

# Waits up to $1 seconds for the command after it to succeed; $2 names what is awaited.
wait_for() {
  local seconds="$1" what="$2"; shift 2
  local deadline=$(( $(date +%s) + seconds ))
  until "$@" >/dev/null 2>&1; do
    [[ $(date +%s) -lt $deadline ]] || fail "timed out after ${seconds} s waiting for $what"
    sleep 0.5
  done
}

# --- munge -------------------------------------------------------------------------------
say "state in $state"
mungekey --create --keyfile="$state/munge/munge.key" 2>/dev/null ||
  dd if=/dev/urandom of="$state/munge/munge.key" bs=1024 count=1 status=none
chmod 0400 "$state/munge/munge.key"
socket="$state/munge/munge.socket"
munged --foreground --socket="$socket" --key-file="$state/munge/munge.key" \
  --log-file="$state/log/munged.log" --pid-file="$state/munge/munged.pid" \
  --seed-file="$state/munge/munged.seed" >>"$state/log/munged.stdout" 2>&1 &
daemon_pids[munged]=$!
wait_for 20 "munged to answer on $socket" \
  bash -c "munge -n -S '$socket' | unmunge -S '$socket'"
say "munged up (pid ${daemon_pids[munged]})"

# --- slurm.conf --------------------------------------------------------------------------
read -r ctld_port slurmd_port < <(python3 - <<'EOF'
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
EOF
)
host="$(hostname -s)"
cpus=$(nproc)
# At least 4 CPUs are described so that the 3-rank job fits on a 2-core runner (ranks then
# share cores, as in the mpirun tests); config_overrides keeps slurmd from draining the node.
[[ $cpus -ge 4 ]] || cpus=4
mem_mb=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 * 9 / 10 ))
partition=colonytest
nodes="NodeName=$host NodeHostname=$host NodeAddr=127.0.0.1 Port=$slurmd_port"
nodes+=" CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN"
conf="$state/slurm.conf"
sed -e "s|@STATE@|$state|g" -e "s|@HOST@|$host|g" -e "s|@CTLD_PORT@|$ctld_port|g" \
    -e "s|@NODES@|$nodes|" -e "s|@PARTITION@|$partition|g" "$here/slurm.conf.in" > "$conf"
: > "$state/plugstack.conf"   # no SPANK plugins (the system's plugstack.conf is not read)
grep -q '@[A-Z_]*@' "$conf" && fail "unfilled placeholder in $conf: $(grep '@[A-Z_]*@' "$conf")"
export SLURM_CONF="$conf"

# --- slurmctld and slurmd ----------------------------------------------------------------
slurmctld -D -f "$conf" >>"$state/log/slurmctld.stdout" 2>&1 &
daemon_pids[slurmctld]=$!
wait_for 30 "slurmctld to answer on port $ctld_port" scontrol ping
say "slurmctld up (pid ${daemon_pids[slurmctld]}, port $ctld_port)"
slurmd -D -f "$conf" -N "$host" >>"$state/log/slurmd.stdout" 2>&1 &
daemon_pids[slurmd]=$!
node_idle() { [[ "$(sinfo -h -N -n "$host" -o '%t')" == idle ]]; }
wait_for 60 "node $host to be idle (sinfo: $(sinfo -h -N -o '%N %t' 2>&1 || true))" node_idle
say "slurmd up (pid ${daemon_pids[slurmd]}); node $host idle with $cpus CPUs, $mem_mb MB"

# --- helpers for the jobs ----------------------------------------------------------------
job_field() {  # job_field ID Field -> value from `scontrol show job`
  scontrol show job -o "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}
check_run_dir() {  # check_run_dir DIR ACTORS: the files a finished run leaves
  local dir="$1" actors="$2" a
  [[ -s "$dir/metrics.jsonl" ]] || fail "$dir/metrics.jsonl missing or empty"
  tail -n 1 "$dir/metrics.jsonl" | grep -q '"final":1' ||
    fail "last record of $dir/metrics.jsonl is not final: $(tail -n 1 "$dir/metrics.jsonl")"
  [[ -s "$dir/config.json" ]] || fail "$dir/config.json missing"
  [[ -s "$dir/final.safetensors" ]] || fail "$dir/final.safetensors missing"
  for a in $(seq 1 "$actors"); do
    [[ -s "$dir/actors/actor-$a.json" ]] || fail "$dir/actors/actor-$a.json missing"
  done
}
expect_completed() {  # expect_completed ID
  local state_now exit_code
  state_now="$(job_field "$1" JobState)"
  exit_code="$(job_field "$1" ExitCode)"
  [[ "$state_now" == COMPLETED && "$exit_code" == 0:0 ]] ||
    fail "job $1: expected JobState=COMPLETED ExitCode=0:0, got JobState=$state_now ExitCode=$exit_code"
}
sbatch_tool="$repo/launch/colony-sbatch"
train_flags=(--model mlp --envs-per-actor 4 --peer-timeout 60 --report-every 1)

# --- 1. a short job, start to finish -----------------------------------------------------
run1="$state/runs/short"
say "job 1: colony-sbatch --submit --wait (1 learner, 2 actors, 20000 frames)"
out1="$(COLONY_BIN="$colony" timeout 420 "$sbatch_tool" --actors 2 --learners 1 --nodes 1 \
          --gpus-per-node 0 --time 5 --partition "$partition" --job-name colony-short \
          --submit --wait -- "${train_flags[@]}" --total-frames 20000 --run-dir "$run1")" ||
  fail "job 1: colony-sbatch --submit --wait exited $? (output: $out1)"
echo "$out1"
job1="$(sed -n 's/^Submitted batch job \([0-9]*\).*/\1/p' <<<"$out1")"
[[ -n "$job1" ]] || fail "job 1: no 'Submitted batch job N' in the output of colony-sbatch"
expect_completed "$job1"
check_run_dir "$run1" 2
say "job 1 ($job1): COMPLETED, exit 0; metrics.jsonl final record, final.safetensors present"

# --- 2. USR1 before the time limit: forwarded as SIGTERM, the run stops in order ---------
run2="$state/runs/signal"
say "job 2: a long run, then USR1 to its batch shell (as --signal=B:USR1 would)"
out2="$(COLONY_BIN="$colony" "$sbatch_tool" --actors 2 --learners 1 --nodes 1 \
          --gpus-per-node 0 --time 5 --partition "$partition" --job-name colony-signal \
          --submit -- "${train_flags[@]}" --total-frames 1000000000 --run-dir "$run2")" ||
  fail "job 2: colony-sbatch --submit exited $? (output: $out2)"
job2="$(sed -n 's/^Submitted batch job \([0-9]*\).*/\1/p' <<<"$out2")"
[[ -n "$job2" ]] || fail "job 2: no 'Submitted batch job N' in the output of colony-sbatch"
wait_for 120 "job 2 ($job2) to write its first status record" test -s "$run2/metrics.jsonl"
scancel --batch --signal=USR1 "$job2" || fail "scancel --batch --signal=USR1 $job2 failed"
job_done() { [[ "$(job_field "$job2" JobState)" =~ ^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY)$ ]]; }
# Read whole, then searched: `--help | grep -q` under pipefail fails when grep exits before
# colony has written everything (SIGPIPE), so it answered differently from run to run.
colony_help=$("$colony" train --help 2>&1)
if [[ $colony_help == *--resume* ]]; then
  # A colony that can resume is requeued after the orderly stop (the script's USR1 path);
  # the first attempt's files must be complete, then the requeued attempt is cancelled.
  requeued() { [[ "$(job_field "$job2" Restarts)" -ge 1 ]]; }
  wait_for 180 "job 2 ($job2) to be requeued after USR1 (colony has --resume)" requeued
  grep -q '"final":1' "$run2/metrics.jsonl" || fail "job 2: no final record before the requeue"
  [[ -s "$run2/final.safetensors" ]] || fail "job 2: no final.safetensors before the requeue"
  scancel "$job2"
  say "job 2 ($job2): stopped in order and requeued to resume (cancelled here)"
else
  wait_for 180 "job 2 ($job2) to end after USR1 (state: $(job_field "$job2" JobState))" job_done
  expect_completed "$job2"
  check_run_dir "$run2" 2
  grep -q 'not requeueing' "$run2"/slurm-"$job2".out ||
    fail "job 2: expected 'not requeueing' in the job log (this colony has no --resume)"
fi
grep -q 'USR1' "$run2"/slurm-"$job2".out ||
  fail "job 2: the job log does not mention USR1 (expected the script's forwarding message)"
grep -q 'stopped by signal 15' "$run2"/slurm-"$job2".out ||
  fail "job 2: no 'stopped by signal 15' from colony in the job log (was SIGTERM forwarded?)"
say "job 2 ($job2): USR1 forwarded, run stopped in order, COMPLETED, exit 0"
