#!/usr/bin/env bash
# Slurm end-to-end test (issue 10), run by CTest as slurm.sweep. On a one-node Slurm cluster
# started here (scripts/slurm-local.sh) with 10 real hippocampus cases and tiny budgets:
#   1. slurm/sweep.sbatch (srun --mpi=pmix, 2 ranks, CPU) with `sbatch --wait`: every fold, the
#      selection and summary.csv must be there (check_sweep.py);
#   2. slurm/sweep-mpirun.sbatch on the same results: every job is skipped, selection reruns;
#   3. preemption: slurm/sweep.sbatch on fresh results gets SIGUSR1 (`scancel --signal=USR1
#      --batch`, what --signal=B:USR1@... sends before the time limit) once a job has finished and
#      another is training; the batch script forwards it, the sweep checkpoints and exits with 75,
#      the script requeues the job (`scontrol requeue`), the test makes it eligible at once
#      (`scontrol update StartTime=now` instead of Slurm's 121 s requeue delay), and the requeued
#      run (SLURM_RESTART_COUNT=1) must skip the finished jobs (checkpoint_final untouched) and
#      continue the interrupted one from its checkpoint, then finish like run 1.
# The cluster is stopped at the end (also on failure) unless it was running before the test.
# Usage: slurm_test.sh NNFLEET_EXE HIPPOCAMPUS_DIR SCRATCH_DIR        (exit 77: skipped)
set -euo pipefail
exe="$1"; source_data="$2"; scratch="$3"
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
python="${PYTHON:-python3}"
cluster="$repo/scripts/slurm-local.sh"

if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
  echo "SKIP: the Slurm test needs root (or sudo) to run the daemons"; exit 77
fi
# One Slurm test at a time on this machine (the daemons and /etc/slurm are global).
exec 9>/tmp/nnfleet-slurm-test.lock
flock -w 1800 9 || { echo "FAIL: another Slurm test holds /tmp/nnfleet-slurm-test.lock"; exit 1; }

rm -rf "$scratch"; mkdir -p "$scratch"
started_cluster=0
cleanup() {
  local rc=$?
  set +e
  scancel --name=nnfleet-slurm-test 2>/dev/null
  if [ "$started_cluster" = 1 ]; then "$cluster" stop; fi
  exit "$rc"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*"
  for f in "$scratch"/*.out; do [ -f "$f" ] && { echo "----- $f (tail)"; tail -n 40 "$f"; }; done
  for f in /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log; do
    [ -f "$f" ] && { echo "----- $f (tail)"; tail -n 15 "$f"; }
  done
  exit 1
}
t0=$SECONDS
stamp() { echo "=== [$(( SECONDS - t0 ))s] $*"; }

if "$cluster" status >/dev/null 2>&1; then
  stamp "using the running Slurm cluster"
else
  stamp "starting a one-node Slurm cluster"
  started_cluster=1
  NNFLEET_SLURM_CLEAN=1 "$cluster" start
fi
sinfo

"$python" "$here/make_subset.py" "$source_data" "$scratch/raw/Task04_Hippocampus" 10

# The templates' variables (slurm/sweep.sbatch); sbatch passes the environment to the job.
export NNFLEET="$exe" DATASET=Task04_Hippocampus CONFIGS=2d
export NNFLEET_RAW="$scratch/raw" NNFLEET_PREPROCESSED="$scratch/preprocessed"
export SBATCH_GPUS_PER_TASK=0 SBATCH_GPUS_PER_NODE=0   # a CPU-only cluster: no GPUs requested
export OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
tiny="--iters-per-epoch 2 --val-iters 1 --checkpoint-every 1 --deterministic"
resources=(--job-name=nnfleet-slurm-test --nodes=1 --ntasks-per-node=2 --cpus-per-task=1 --time=15)
results_of() { echo "$scratch/$1/Dataset004_Hippocampus"; }

job_field() {  # job_field JOBID FIELD: FIELD=value from `scontrol show job`
  scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1
}
wait_state() {  # wait_state JOBID SECONDS STATE...: until the job is in one of STATEs
  local id="$1" limit="$2"; shift 2
  local state=""
  for _ in $(seq 1 $(( limit * 2 ))); do
    state="$(job_field "$id" JobState)"
    for s in "$@"; do [ "$state" = "$s" ] && return 0; done
    sleep 0.5
  done
  fail "job $id is '$state' after ${limit}s, expected one of: $*"
}

# ---------------------------------------------------------------------------------------------
stamp "run 1: slurm/sweep.sbatch under sbatch --wait (srun --mpi=pmix, 2 ranks, 2d x 5 folds)"
mkdir -p "$scratch/run1"
export NNFLEET_RESULTS="$scratch/run1" SWEEP_ARGS="--epochs 1 $tiny"
rc=0
timeout 600 sbatch --wait "${resources[@]}" -o "$scratch/run1.out" "$repo/slurm/sweep.sbatch" || rc=$?
[ "$rc" = 0 ] || fail "run 1: sbatch --wait ended with $rc"
grep -q "SLURM_RESTART_COUNT=0" "$scratch/run1.out" || fail "run 1: the log has no SLURM_RESTART_COUNT"
grep -q "srun --mpi=pmix" "$scratch/run1.out" || fail "run 1: not started with srun --mpi=pmix"
"$python" "$here/check_sweep.py" "$(results_of run1)" "$scratch/raw/Task04_Hippocampus" 2d ||
  fail "run 1: sweep outputs"
head -3 "$(results_of run1)/summary.csv"

# ---------------------------------------------------------------------------------------------
stamp "run 1 again with slurm/sweep-mpirun.sbatch: every job must be skipped"
rc=0
timeout 300 sbatch --wait "${resources[@]}" -o "$scratch/run1-mpirun.out" \
  "$repo/slurm/sweep-mpirun.sbatch" || rc=$?
[ "$rc" = 0 ] || fail "mpirun variant: sbatch --wait ended with $rc"
[ "$(grep -c "already done: skipped" "$scratch/run1-mpirun.out")" -eq 5 ] ||
  fail "mpirun variant: expected 5 jobs 'already done: skipped'"
grep -q "starts 2d/fold" "$scratch/run1-mpirun.out" && fail "mpirun variant: a finished job started again"
"$python" "$here/check_sweep.py" "$(results_of run1)" "$scratch/raw/Task04_Hippocampus" 2d ||
  fail "mpirun variant: sweep outputs"

# ---------------------------------------------------------------------------------------------
stamp "run 2: preempted with SIGUSR1, requeued, resumed"
mkdir -p "$scratch/run2"
export NNFLEET_RESULTS="$scratch/run2" SWEEP_ARGS="--epochs 4 $tiny"
results2="$(results_of run2)"
state="$results2/sweep_state.json"
id="$(sbatch --parsable "${resources[@]}" -o "$scratch/run2.out" "$repo/slurm/sweep.sbatch")"
id="${id%%;*}"
echo "job $id"
# Wait until a job is done and a job that started after it has trained an epoch (it has a
# checkpoint_latest and, with 4 epochs, is far from its end).
signalled=0
for _ in $(seq 1 1200); do
  if [ -f "$state" ] && "$python" - "$state" "$results2" <<'EOF'
import json, os, sys
try:
    jobs = json.load(open(sys.argv[1]))["jobs"]
except ValueError:
    sys.exit(1)
done = [j["finished_s"] for j in jobs if j["state"] == "done"]
running = [j for j in jobs if j["state"] == "running" and done and j["started_s"] >= min(done) and
           os.path.exists(os.path.join(sys.argv[2], j["job"], "checkpoint_latest.pt"))]
sys.exit(0 if running else 1)
EOF
  then signalled=1; break; fi
  [ "$(job_field "$id" JobState)" = RUNNING ] || [ "$(job_field "$id" JobState)" = PENDING ] ||
    fail "run 2: job $id ended before it could be signalled"
  sleep 0.5
done
[ "$signalled" = 1 ] || fail "run 2: no job finished while another trained within 600 s"
done_before="$("$python" -c 'import json,sys; print(" ".join(j["job"] for j in json.load(open(sys.argv[1]))["jobs"] if j["state"]=="done"))' "$state")"
running_before="$("$python" -c 'import json,sys; print(" ".join(j["job"] for j in json.load(open(sys.argv[1]))["jobs"] if j["state"]=="running"))' "$state")"
echo "done before the signal: $done_before; running: $running_before"
stamps_before="$(cd "$results2" && for j in $done_before; do stat -c '%n %Y' "$j/checkpoint_final.pt"; done)"
stamp "sending SIGUSR1 to the batch script of job $id (scancel --signal=USR1 --batch)"
scancel --signal=USR1 --batch "$id"

# The script requeues the job: it comes back PENDING with Restarts=1 (eligible after ~121 s).
for _ in $(seq 1 240); do
  [ "$(job_field "$id" Restarts)" = 1 ] && break
  sleep 0.5
done
[ "$(job_field "$id" Restarts)" = 1 ] || fail "run 2: job $id was not requeued (Restarts=$(job_field "$id" Restarts))"
stamp "requeued: $(scontrol show job "$id" | grep -o 'JobState=[A-Z_]* Reason=[A-Za-z_]*')"
wait_state "$id" 60 PENDING RUNNING
# Let the node finish cleaning up the first run (its slurmstepd processes) before the requeued run
# may start: made eligible at once, slurmd can otherwise refuse it ("Job already killed, do not
# launch batch job") and the job ends FAILED.
for _ in $(seq 1 120); do
  pgrep -f "slurmstepd: \[$id\." > /dev/null || break
  sleep 0.5
done
sleep 2
[ "$(job_field "$id" JobState)" = PENDING ] && scontrol update JobId="$id" StartTime=now
wait_state "$id" 200 RUNNING COMPLETED
stamp "requeued run started; waiting for it to finish"
wait_state "$id" 600 COMPLETED FAILED CANCELLED TIMEOUT
[ "$(job_field "$id" JobState)" = COMPLETED ] || fail "run 2: job $id ended $(job_field "$id" JobState)"
[ "$(job_field "$id" ExitCode)" = "0:0" ] || fail "run 2: exit code $(job_field "$id" ExitCode)"

out="$scratch/run2.out"
grep -q "received SIGUSR1" "$out" || fail "run 2: the batch script did not get SIGUSR1"
grep -q "interrupted (status 75) and checkpointed: requeueing job $id" "$out" ||
  fail "run 2: the sweep did not end with status 75 and requeue"
grep -q "SLURM_RESTART_COUNT=1" "$out" || fail "run 2: no requeued run in the log"
grep -q "requeued run 1: resuming" "$out" || fail "run 2: the requeued run did not say it resumes"
for j in $done_before; do
  grep -q "$j .*already done: skipped" "$out" || fail "run 2: $j was not skipped after the requeue"
done
stamps_after="$(cd "$results2" && for j in $done_before; do stat -c '%n %Y' "$j/checkpoint_final.pt"; done)"
[ "$stamps_before" = "$stamps_after" ] || fail "run 2: finished jobs were recomputed after the requeue"
# A job that was training when the signal came checkpointed and continued from that checkpoint
# (one that happened to finish in the meantime counts as finished).
interrupted=0
for j in $running_before; do
  log="$results2/$j/training_log.txt"
  grep -q "stop requested: checkpoint_latest written" "$log" || continue
  interrupted=1
  grep -q "continuing from .*checkpoint_latest.pt at epoch \([1-9]\|0, iteration [1-9]\)" "$log" ||
    fail "run 2: $j was interrupted but did not continue from its checkpoint (restarted instead)"
  grep "stop requested\|continuing from" "$log"
done
[ "$interrupted" = 1 ] || fail "run 2: no running job ($running_before) checkpointed on the signal"
"$python" "$here/check_sweep.py" "$results2" "$scratch/raw/Task04_Hippocampus" 2d ||
  fail "run 2: sweep outputs after the requeue"
grep -c . "$results2/summary.csv" >/dev/null || fail "run 2: summary.csv"
stamp "PASS"
