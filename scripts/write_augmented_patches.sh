#!/usr/bin/env bash
# Writes a few augmented training patches (image channels + full-resolution target) of one
# configuration as NIfTI files, to check the augmentation by eye (e.g. in ITK-SNAP). Not a test.
#
# Usage: scripts/write_augmented_patches.sh PREPROCESSED_DATASET_DIR [OUT_DIR] [CONFIG] [BATCHES] [SEED]
#   PREPROCESSED_DATASET_DIR  <preprocessed>/DatasetNNN_Name (from `nnfleet plan-preprocess`)
#   OUT_DIR                   default ./augmented_patches
#   CONFIG                    default 3d_fullres;  BATCHES default 2;  SEED default 12345
# Also writes the same number of batches without augmentation under OUT_DIR/plain for comparison.
# NNFLEET=path/to/nnfleet overrides the executable (default: $build/launcher/nnfleet).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
dataset="${1:?usage: $0 PREPROCESSED_DATASET_DIR [OUT_DIR] [CONFIG] [BATCHES] [SEED]}"
out="${2:-augmented_patches}"
config="${3:-3d_fullres}"
batches="${4:-2}"
seed="${5:-12345}"
nnfleet="${NNFLEET:-$build/launcher/nnfleet}"
[ -x "$nnfleet" ] || { echo "build nnfleet first ($nnfleet not found)" >&2; exit 1; }

"$nnfleet" augment-preview --dataset-dir "$dataset" --out "$out" -c "$config" \
  --batches "$batches" --seed "$seed"
"$nnfleet" augment-preview --dataset-dir "$dataset" --out "$out/plain" -c "$config" \
  --batches "$batches" --seed "$seed" --augment 0
echo "wrote $(ls "$out"/*_img.nii.gz | wc -l) augmented patches to $out (unaugmented ones in $out/plain)"
