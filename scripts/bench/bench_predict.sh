#!/usr/bin/env bash
# Prediction speed on the CPU, side by side with nnunetv2's predictor in one run: sliding-window
# logits of one hippocampus case (Gaussian weighting, step 0.5) with and without mirroring, the
# same architecture (nnU-Net v2's 3d_fullres plan for Task04_Hippocampus) with random weights,
# the same thread count. Prints one JSON line per run (best of REPEATS after a warm-up, peak RSS)
# and a summary table.
#
# Usage: scripts/bench/bench_predict.sh [THREADS] [REPEATS] [CASE]
#   NNFLEET=path/to/nnfleet (default: $build/launcher/nnfleet)   PYTHON=reference venv python
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../env.sh"
threads="${1:-2}"
repeats="${2:-3}"
case_id="${3:-hippocampus_001}"
nnfleet="${NNFLEET:-$build/launcher/nnfleet}"
python="${PYTHON:-$cache/venv/bin/python}"
arch="$repo/scripts/bench/hippocampus_3d_fullres_arch.json"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

[ -x "$nnfleet" ] || { echo "build nnfleet first ($nnfleet not found)" >&2; exit 1; }
"$python" "$repo/scripts/bench/bench_predict_nnunetv2.py" --make-input \
  "$repo/data/Task04_Hippocampus/imagesTr/$case_id.nii.gz" "$work/case.f32"
echo "case $case_id, input shape $(cat "$work/case.f32.json"), $threads thread(s), best of $repeats"

export OMP_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads"
results="$work/results.jsonl"
for mirror in 1 0; do
  "$python" "$repo/scripts/bench/bench_predict_nnunetv2.py" --input "$work/case.f32" --arch "$arch" \
    --threads "$threads" --mirror "$mirror" --repeats "$repeats" | tail -1 | tee -a "$results"
  "$nnfleet" bench-predict --input "$work/case.f32" --arch "$arch" --threads "$threads" \
    --mirror "$mirror" --repeats "$repeats" | tail -1 | tee -a "$results"
done

"$python" - "$results" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(f"{'implementation':<12} {'mirroring':<10} {'best s':>8} {'peak RSS MB':>12}")
for r in rows:
    print(f"{r['impl']:<12} {'on' if r['mirror'] else 'off':<10} {r['best_s']:>8.3f} {r['peak_rss_mb']:>12.0f}")
for m in (1, 0):
    py = next(r for r in rows if r["impl"] == "nnunetv2" and r["mirror"] == m)
    cc = next(r for r in rows if r["impl"] == "nnfleet" and r["mirror"] == m)
    print(f"mirroring {'on ' if m else 'off'}: nnfleet / nnunetv2 time = {cc['best_s'] / py['best_s']:.2f}")
PY
