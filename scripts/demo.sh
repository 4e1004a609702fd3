#!/usr/bin/env bash
# The README's first command: set up, build, and run the main job (`nnfleet sweep` under mpirun)
# on the bundled real hippocampus MRI with budgets that finish in about 15 minutes on a 2-core
# machine without a GPU. Everything it writes goes to demo-output/ (or $NNFLEET_DEMO_DIR).
#
# Knobs (environment): NNFLEET_DEMO_CASES (cases used, default 60), NNFLEET_DEMO_RANKS (MPI ranks,
# default 2), NNFLEET_DEMO_EPOCHS (default 6), NNFLEET_DEMO_ITERS (iterations per epoch, default 12).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bash "$here/setup.sh"
bash "$here/build.sh" --target nnfleet
source "$here/env.sh"
# The overlay picture at the end is drawn with matplotlib and read with SimpleITK (small wheels).
if ! "$cache/venv/bin/python" -c "import matplotlib, SimpleITK" 2>/dev/null; then
  "$cache/venv/bin/pip" install -q matplotlib SimpleITK
fi

out="${NNFLEET_DEMO_DIR:-$repo/demo-output}"
cases="${NNFLEET_DEMO_CASES:-60}"
ranks="${NNFLEET_DEMO_RANKS:-2}"
epochs="${NNFLEET_DEMO_EPOCHS:-6}"
iters="${NNFLEET_DEMO_ITERS:-12}"

# A raw dataset of the first $cases bundled cases (links, not copies) with its own dataset.json.
raw="$out/raw/Task04_Hippocampus"
if [ ! -f "$raw/dataset.json" ] || [ "$(cat "$raw/.cases" 2>/dev/null)" != "$cases" ]; then
  rm -rf "$raw"
  mkdir -p "$raw/imagesTr" "$raw/labelsTr"
  "${PYTHON:-python3}" - "$repo/data/Task04_Hippocampus" "$raw" "$cases" <<'PY'
import json, os, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
meta = json.load(open(os.path.join(src, "dataset.json")))
meta["training"] = sorted(meta["training"], key=lambda e: e["image"])[:n]
meta["numTraining"] = len(meta["training"])
for entry in meta["training"]:
    for key, folder in (("image", "imagesTr"), ("label", "labelsTr")):
        name = os.path.basename(entry[key])
        os.symlink(os.path.join(src, folder, name), os.path.join(dst, folder, name))
json.dump(meta, open(os.path.join(dst, "dataset.json"), "w"), indent=1)
PY
  cp "$repo/data/Task04_Hippocampus/SOURCE.txt" "$raw/"
  echo "$cases" > "$raw/.cases"
fi

export NNFLEET_RAW="$out/raw" NNFLEET_PREPROCESSED="$out/preprocessed" NNFLEET_RESULTS="$out/results"
export OMP_NUM_THREADS=1
echo "demo: sweep over $cases real hippocampus MRI cases on $ranks MPI ranks ($epochs epochs x $iters iterations per job)"
start=$(date +%s)
mpirun --oversubscribe --allow-run-as-root --bind-to none -np "$ranks" \
  "$build/launcher/nnfleet" sweep -d Task04_Hippocampus \
  --epochs "$epochs" --iters-per-epoch "$iters" --val-iters 4 --checkpoint-every 2 --device cpu --workers 1
end=$(date +%s)

# Pictures for a look: a predicted segmentation over its image, and a progress plot.
dataset="$NNFLEET_RESULTS/Dataset004_Hippocampus"
case_file="$(ls "$dataset"/3d_fullres/fold_0/validation/*.nii.gz 2>/dev/null | head -1 || true)"
if [ -n "$case_file" ]; then
  name="$(basename "$case_file" .nii.gz)"
  "$cache/venv/bin/python" "$here/render_overlay.py" \
    --image "$raw/imagesTr/$name.nii.gz" --label "$raw/labelsTr/$name.nii.gz" \
    --prediction "$case_file" --output "$out/overlay_$name.png"
  echo "demo: overlay of $name written to $out/overlay_$name.png"
fi
echo "demo: wall time $((end - start)) s; progress plots: $dataset/<config>/fold_<k>/progress.png"
