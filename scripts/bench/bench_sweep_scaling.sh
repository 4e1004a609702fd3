#!/usr/bin/env bash
# Sweep scaling: wall time of one fixed small sweep (20 real hippocampus cases, 2d + 3d_fullres,
# five folds each, 2 epochs x 4 iterations) with 1, 2 and 4 MPI ranks. Preprocessing is done once
# beforehand and shared, so the figure is the training/validation/selection phase. On a 2-core
# machine, 4 ranks are oversubscribed (two ranks per core): expect no gain beyond 2 there.
# Prints: ranks, wall seconds, speed-up against 1 rank, peak RSS of the largest rank.
set -euo pipefail
# The machine's cores (nproc alone obeys OMP_NUM_THREADS, which the runs set to 1).
cores="$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)"
here="$(cd "$(dirname "$0")/.." && pwd)"
source "$here/env.sh"
exe="$build/launcher/nnfleet"
work="${NNFLEET_BENCH_DIR:-/tmp/nnfleet-bench-sweep}"
rm -rf "$work"; mkdir -p "$work"
python3 "$repo/tests/e2e/make_subset.py" "$repo/data/Task04_Hippocampus" "$work/raw/Task04_Hippocampus" 20
export NNFLEET_RAW="$work/raw" NNFLEET_PREPROCESSED="$work/preprocessed" OMP_NUM_THREADS=1
"$exe" plan-preprocess -d Task04_Hippocampus -c 2d 3d_fullres > "$work/preprocess.log" 2>&1
args=(sweep -d Task04_Hippocampus -c 2d 3d_fullres --epochs 2 --iters-per-epoch 4 --val-iters 2
      --device cpu --workers 1 --checkpoint-every 10)
printf "%-8s %10s %9s %14s  %s\n" ranks wall_s speedup peak_rss_MiB note
base=""
for np in 1 2 4; do
  export NNFLEET_RESULTS="$work/results-np$np"
  start=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$work/rss-$np" mpirun --oversubscribe --allow-run-as-root --bind-to none \
    -np "$np" "$exe" "${args[@]}" > "$work/sweep-np$np.log" 2>&1
  end=$(date +%s.%N)
  wall=$(python3 -c "print(f'{$end-$start:.1f}')")
  [ -n "$base" ] || base="$wall"
  note=""; [ "$np" -gt "$cores" ] && note="oversubscribed: $np ranks on $cores cores"
  printf "%-8s %10s %9s %14s  %s\n" "$np" "$wall" "$(python3 -c "print(f'{$base/$wall:.2f}x')")" \
    "$(( $(cat "$work/rss-$np") / 1024 ))" "$note"
done
