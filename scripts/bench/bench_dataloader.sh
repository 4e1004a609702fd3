#!/usr/bin/env bash
# Augmented training batches per second, side by side in one run: nnfleet's data loader (HDF5 case
# store, worker threads) with 1 and 2 workers against nnunetv2's data loader (nnUNetDataLoader +
# its v2 training transforms under NonDetMultiThreadedAugmenter) with 1 worker process, on the
# bundled Task04_Hippocampus 3d_fullres data, same patch and batch size (nnfleet's plan), plus
# the peak resident memory of each (nnunetv2: main process + worker processes). The summary ends
# with nnfleet's ratios to nnunetv2 and its 2-worker / 1-worker scaling.
#
# Usage: scripts/bench/bench_dataloader.sh [PREPROCESSED_DATASET_DIR] [BATCHES]
#   PREPROCESSED_DATASET_DIR  nnfleet's preprocessed hippocampus, default
#                             ${NNFLEET_PREPROCESSED:-$nnUNet_preprocessed}/Dataset004_Hippocampus
#                             (make it with `nnfleet plan-preprocess -d 4 -c 3d_fullres`)
#   BATCHES                   timed batches per run (default 100, after 5 warm-up batches)
# nnunetv2 needs its own preprocessed copy: made once under $NNFLEET_CACHE/bench/nnunetv2 (a few
# minutes on 2 cores). NNFLEET=path/to/nnfleet, PYTHON=reference venv python.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../env.sh"
pre_root="${NNFLEET_PREPROCESSED:-${nnUNet_preprocessed:-}}"
dataset="${1:-$pre_root/Dataset004_Hippocampus}"
batches="${2:-100}"
nnfleet="${NNFLEET:-$build/launcher/nnfleet}"
python="${PYTHON:-$cache/venv/bin/python}"
work="$cache/bench/nnunetv2"
[ -x "$nnfleet" ] || { echo "build nnfleet first ($nnfleet not found)" >&2; exit 1; }
[ -f "$dataset/nnUNetPlans.json" ] || {
  echo "no nnfleet preprocessed data at '$dataset': run nnfleet plan-preprocess first" >&2; exit 1; }
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 nnUNet_n_proc_DA=1

patch_args="$("$python" -c "import json,sys; print(' '.join(map(str, json.load(open(sys.argv[1]))['configurations']['3d_fullres']['patch_size'])))" "$dataset/nnUNetPlans.json")"
batch="$("$python" -c "import json,sys; print(json.load(open(sys.argv[1]))['configurations']['3d_fullres']['batch_size'])" "$dataset/nnUNetPlans.json")"
echo "3d_fullres, patch ($patch_args), batch $batch, $batches timed batches per run"

"$python" "$here/bench_dataloader_nnunetv2.py" --prepare "$repo/data/Task04_Hippocampus" "$work" \
  > "$work.prepare.log" 2>&1 || { echo "nnunetv2 preprocessing failed, see $work.prepare.log" >&2; exit 1; }

results="$(mktemp)"
trap 'rm -f "$results"' EXIT
for workers in 1 2; do
  "$nnfleet" bench-loader --dataset-dir "$dataset" --workers "$workers" --batches "$batches" \
    | tail -1 | tee -a "$results"
done
"$python" "$here/bench_dataloader_nnunetv2.py" \
  --preprocessed "$work/nnUNet_preprocessed/Dataset004_Hippocampus" --patch $patch_args \
  --batch "$batch" --workers 1 --batches "$batches" | tail -1 | tee -a "$results"

"$python" - "$results" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(f"{'implementation':<12} {'workers':>7} {'batches/s':>10} {'peak RSS MB':>12}")
for r in rows:
    print(f"{r['impl']:<12} {r['workers']:>7} {r['batches_per_s']:>10.2f} {r['peak_rss_mb']:>12.0f}")
py = next(r for r in rows if r["impl"] == "nnunetv2")
for r in rows:
    if r["impl"] == "nnfleet":
        print(f"nnfleet {r['workers']} worker(s) / nnunetv2 1 worker = "
              f"{r['batches_per_s'] / py['batches_per_s']:.2f}x")
one = next(r for r in rows if r["impl"] == "nnfleet" and r["workers"] == 1)
two = next(r for r in rows if r["impl"] == "nnfleet" and r["workers"] == 2)
print(f"nnfleet 2 workers / 1 worker = {two['batches_per_s'] / one['batches_per_s']:.2f}x")
PY
