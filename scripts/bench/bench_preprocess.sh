#!/usr/bin/env bash
# Plan-and-preprocess speed and memory on all bundled Task04_Hippocampus cases (220), side by side
# with nnunetv2 in one run: `nnfleet plan-preprocess` with 1 and with 2 MPI ranks (one thread each)
# and `nnUNetv2_plan_and_preprocess` with one process (-npfp 1 -np 1), both for 3d_fullres and 2d,
# each from scratch (fingerprint, plan, preprocess). Prints median/min/max wall time over REPEATS
# runs and the peak resident memory of one process (/usr/bin/time -v; for mpirun, the largest rank).
#
# Usage: scripts/bench/bench_preprocess.sh [REPEATS]
#   NNFLEET=path/to/nnfleet (default: $build/launcher/nnfleet)   PYTHON=reference venv python
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../env.sh"
repeats="${1:-3}"
nnfleet="${NNFLEET:-$build/launcher/nnfleet}"
python="${PYTHON:-$cache/venv/bin/python}"
bin="$(dirname "$python")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
[ -x "$nnfleet" ] || { echo "build nnfleet first ($nnfleet not found)" >&2; exit 1; }

# Raw data: the bundled MSD folder for nnfleet; nnunetv2's converted copy for the reference.
mkdir -p "$work/raw" "$work/msd" "$work/nn_raw"
ln -s "$repo/data/Task04_Hippocampus" "$work/raw/Task04_Hippocampus"
cp -r "$repo/data/Task04_Hippocampus" "$work/msd/" && mkdir -p "$work/msd/Task04_Hippocampus/imagesTs"
export nnUNet_raw="$work/nn_raw" nnUNet_preprocessed="$work/nn_pre" nnUNet_results="$work/nn_results"
export OMP_NUM_THREADS=1 OMPI_MCA_rmaps_base_oversubscribe=1
"$bin/nnUNetv2_convert_MSD_dataset" -i "$work/msd/Task04_Hippocampus" -np 2 > /dev/null

# run NAME COMMAND...: one timed run, appends "NAME seconds peak_kb" to the results.
run() {
  local name="$1"; shift
  /usr/bin/time -v -o "$work/time.txt" "$@" > "$work/$name.log" 2>&1 || {
    echo "$name failed; log:" >&2; tail -20 "$work/$name.log" >&2; exit 1; }
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$work/time.txt")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
  echo "$name $wall $rss" | tee -a "$work/results.txt"
}

for i in $(seq "$repeats"); do
  rm -rf "$work/pre1" "$work/pre2" "$work/nn_pre"
  run nnfleet_1rank "$nnfleet" --raw "$work/raw" --preprocessed "$work/pre1" plan-preprocess -d 4 \
    -c 3d_fullres 2d --gpu-memory 8 -np 1 --clean
  run nnfleet_2ranks mpirun --allow-run-as-root --oversubscribe --bind-to none -np 2 "$nnfleet" \
    --raw "$work/raw" --preprocessed "$work/pre2" plan-preprocess -d 4 -c 3d_fullres 2d \
    --gpu-memory 8 -np 1 --clean
  run nnunetv2_1proc "$bin/nnUNetv2_plan_and_preprocess" -d 4 -c 3d_fullres 2d -npfp 1 -np 1 1
done

"$python" - "$work/results.txt" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, wall, rss = line.split()
    rows.setdefault(name, []).append((float(wall), int(rss)))
print(f"{'run':<16} {'median s':>9} {'min s':>7} {'max s':>7} {'peak RSS MB':>12}")
for name, r in rows.items():
    w = [x[0] for x in r]
    print(f"{name:<16} {statistics.median(w):>9.2f} {min(w):>7.2f} {max(w):>7.2f} {max(x[1] for x in r) / 1024:>12.0f}")
ref = statistics.median(x[0] for x in rows["nnunetv2_1proc"])
for name in ("nnfleet_1rank", "nnfleet_2ranks"):
    print(f"speed-up of {name} over nnunetv2 (1 process): {ref / statistics.median(x[0] for x in rows[name]):.2f}x")
one = statistics.median(x[0] for x in rows["nnfleet_1rank"])
two = statistics.median(x[0] for x in rows["nnfleet_2ranks"])
print(f"nnfleet 2 ranks vs 1 rank: {one / two:.2f}x")
PY
