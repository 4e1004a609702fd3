#!/usr/bin/env bash
# Time per training iteration (forward + deep-supervised Dice/CE + backward + clip + SGD step, data
# loading left out) of the same U-Net, batch and patch in nnfleet and in nnunetv2 (PyTorch eager),
# side by side on the CPU with the same thread count.
# Usage: scripts/bench/bench_train_iter.sh [threads] [iterations] [arch.json] [batch]
# Defaults: 2 threads, 10 timed iterations (+2 warm-up), the hippocampus 3d_fullres plan, batch 8.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../env.sh"
threads="${1:-2}"
iterations="${2:-10}"
arch="${3:-$here/hippocampus_3d_fullres_arch.json}"
batch="${4:-8}"
nnfleet="${NNFLEET_BIN:-$build/launcher/nnfleet}"
python="${NNFLEET_PYTHON:-$cache/venv/bin/python}"
export OMP_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads"

echo "training iteration, $(basename "$arch"), batch $batch, $threads thread(s), $iterations iterations"
cpp="$("$nnfleet" bench-train-step --arch "$arch" --threads "$threads" --batch "$batch" \
        --iterations "$iterations" | tail -n 1)"
py="$("$python" "$here/bench_train_iter_nnunetv2.py" --arch "$arch" --threads "$threads" \
        --batch "$batch" --iterations "$iterations" | tail -n 1)"
echo "$cpp"
echo "$py"
"$python" - "$cpp" "$py" <<'PY'
import json, sys
c, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"nnfleet   median {c['median_s']:.3f} s/iteration (best {c['best_s']:.3f})")
print(f"nnunetv2  median {p['median_s']:.3f} s/iteration (best {p['best_s']:.3f}), torch {p['torch']}")
print(f"nnfleet / nnunetv2 = {c['median_s'] / p['median_s']:.3f}")
PY
