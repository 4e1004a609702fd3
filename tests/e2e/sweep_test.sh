#!/usr/bin/env bash
# End-to-end sweep test (issue 8), run by CTest as e2e.sweep:
#   1. a sweep under mpirun -np 4 on 10 real hippocampus cases: 2d and 3d_fullres, five folds
#      each, 3d_fullres on two ranks per job; checks every fold's outputs, that every training
#      case is predicted exactly once per configuration across the folds, Dice in [0, 1], the
#      selection files and CSVs, and (--predict-test) a segmentation of each of 2 imagesTs cases
#      with its image's geometry;
#   2. the same sweep started again elsewhere, killed with SIGKILL in the middle and rerun: it
#      must end with the same metrics as the uninterrupted run without redoing finished jobs.
# Usage: sweep_test.sh NNFLEET_EXE HIPPOCAMPUS_DIR SCRATCH_DIR
set -euo pipefail
exe="$1"; source_data="$2"; scratch="$3"
mpiexec="${NNFLEET_MPIEXEC:-mpirun}"
python="${PYTHON:-python3}"
here="$(cd "$(dirname "$0")" && pwd)"
rm -rf "$scratch"; mkdir -p "$scratch"

"$python" "$here/make_subset.py" "$source_data" "$scratch/raw/Task04_Hippocampus" 10 2

sweep_args=(sweep -d Task04_Hippocampus -c 2d 3d_fullres --ranks-per-job 1 3d_fullres=2
            --epochs 2 --iters-per-epoch 2 --val-iters 1 --checkpoint-every 1
            --device cpu --workers 1 --deterministic --predict-test)
run_sweep() {  # run_sweep RUN_DIR [background]
  local dir="$1"
  export NNFLEET_RAW="$scratch/raw" NNFLEET_PREPROCESSED="$dir/preprocessed" NNFLEET_RESULTS="$dir/results"
  "$mpiexec" --oversubscribe --allow-run-as-root --bind-to none -np 4 "$exe" "${sweep_args[@]}"
}

echo "=== run 1: uninterrupted sweep"
run_sweep "$scratch/run1" 2>&1 | tee "$scratch/run1.log"
"$python" "$here/check_sweep.py" "$scratch/run1/results/Dataset004_Hippocampus" \
  "$scratch/raw/Task04_Hippocampus" 2d 3d_fullres
"$python" "$here/check_test_predictions.py" "$scratch/raw/Task04_Hippocampus/imagesTs" \
  "$scratch/run1/results/Dataset004_Hippocampus/test_predictions"

echo "=== run 2: killed with SIGKILL after the first finished job, then resumed"
state="$scratch/run2/results/Dataset004_Hippocampus/sweep_state.json"
( export NNFLEET_RAW="$scratch/raw" NNFLEET_PREPROCESSED="$scratch/run2/preprocessed" \
         NNFLEET_RESULTS="$scratch/run2/results"
  exec setsid "$mpiexec" --oversubscribe --allow-run-as-root --bind-to none -np 4 "$exe" "${sweep_args[@]}" \
    > "$scratch/run2a.log" 2>&1 ) &
launcher=$!
for _ in $(seq 1 600); do
  if [ -f "$state" ] && [ "$(grep -c '"state": "done"' "$state" || true)" -ge 1 ] &&
     grep -q '"state": "running"' "$state"; then break; fi
  sleep 0.5
done
kill -KILL -- "-$launcher" 2>/dev/null || kill -KILL "$launcher"
wait "$launcher" 2>/dev/null || true
sleep 1
done_before="$("$python" -c 'import json,sys; print(" ".join(j["job"] for j in json.load(open(sys.argv[1]))["jobs"] if j["state"]=="done"))' "$state")"
[ -n "$done_before" ] || { echo "FAIL: no job had finished before the kill"; exit 1; }
echo "finished before the kill: $done_before"
stamps_before="$(cd "$scratch/run2/results/Dataset004_Hippocampus" && for j in $done_before; do stat -c '%n %Y' "$j/checkpoint_final.pt"; done)"

run_sweep "$scratch/run2" 2>&1 | tee "$scratch/run2b.log"
stamps_after="$(cd "$scratch/run2/results/Dataset004_Hippocampus" && for j in $done_before; do stat -c '%n %Y' "$j/checkpoint_final.pt"; done)"
[ "$stamps_before" = "$stamps_after" ] || { echo "FAIL: finished jobs were recomputed"; exit 1; }
grep -q "already done: skipped" "$scratch/run2b.log" || { echo "FAIL: the rerun did not report skipped jobs"; exit 1; }
"$python" "$here/check_sweep.py" "$scratch/run2/results/Dataset004_Hippocampus" \
  "$scratch/raw/Task04_Hippocampus" 2d 3d_fullres
"$python" "$here/compare_sweeps.py" "$scratch/run1/results/Dataset004_Hippocampus" \
  "$scratch/run2/results/Dataset004_Hippocampus"
echo "PASS"
