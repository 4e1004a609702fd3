#!/usr/bin/env bash
# slurm/cv-array.sh: one dataset's nnU-Net cross-validation as independent single-node jobs, for
# sites that forbid multi-node MPI jobs (slurm/sweep.sbatch runs the same work as one MPI job).
# Submits, chained with dependencies:
#   1. cv-plan.sbatch     `nnfleet plan-preprocess` (one node, cases sharded over its ranks);
#   2. cv-train.sbatch    a job array of (configuration, fold) `nnfleet train` jobs for 2d,
#                         3d_fullres and 3d_lowres (afterok:plan), at most CONCURRENCY at once;
#   3. cv-train.sbatch    the 3d_cascade_fullres folds as a second array that waits for every
#                         3d_lowres element (the cascade trains on the lowres cross-validation);
#   4. cv-select.sbatch   `nnfleet select` + `nnfleet summarize` once all training succeeded.
# Every training element requeues itself and resumes from its checkpoint after preemption.
#
# Usage:
#   export NNFLEET_RAW=/data/raw NNFLEET_PREPROCESSED=/scratch/pre NNFLEET_RESULTS=/data/results
#   DATASET=Task04_Hippocampus slurm/cv-array.sh
#   DATASET=3 CONFIGS="3d_fullres 3d_lowres 3d_cascade_fullres" CONCURRENCY=15 slurm/cv-array.sh
#
# Variables:
#   DATASET        (required) dataset id, name or path
#   CONFIGS        default "2d 3d_fullres 3d_lowres 3d_cascade_fullres"; configurations the plan
#                  does not create are skipped at run time
#   FOLDS          default "0 1 2 3 4"
#   CONCURRENCY    training jobs at once (default 10)
#   PLAN_ARGS, TRAIN_ARGS, SELECT_ARGS   more options for plan-preprocess, train, select
#   PLAN_SBATCH, TRAIN_SBATCH, SELECT_SBATCH, SBATCH_EXTRA   more sbatch options for those jobs
#                  (SBATCH_EXTRA for all), e.g. TRAIN_SBATCH="--ntasks=2 --time=1-00:00:00"
#   NNFLEET, DEVICE, NNFLEET_MAX_REQUEUES   as in slurm/sweep.sbatch
# Prints the job ids, last line "PLAN TRAIN CASCADE SELECT" (CASCADE is - without a cascade).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${DATASET:?set DATASET (e.g. DATASET=Task04_Hippocampus slurm/cv-array.sh)}"
export DATASET
[ -n "${NNFLEET_RESULTS:-${nnUNet_results:-}}" ] || { echo "cv-array: set NNFLEET_RESULTS" >&2; exit 2; }
[ -n "${NNFLEET_PREPROCESSED:-${nnUNet_preprocessed:-}}" ] || { echo "cv-array: set NNFLEET_PREPROCESSED" >&2; exit 2; }
# shellcheck disable=SC2206
configs=(${CONFIGS:-2d 3d_fullres 3d_lowres 3d_cascade_fullres})
# shellcheck disable=SC2206
folds=(${FOLDS:-0 1 2 3 4})
export FOLDS="${folds[*]}"
concurrency="${CONCURRENCY:-10}"
# shellcheck disable=SC2206
extra=(${SBATCH_EXTRA:-})

main=() cascade=() lowres_index=()
for c in "${configs[@]}"; do
  case "$c" in
    2d|3d_fullres|3d_lowres) ;;
    3d_cascade_fullres) for f in "${folds[@]}"; do cascade+=("$c:$f"); done; continue ;;
    *) echo "cv-array: unknown configuration '$c'" >&2; exit 2 ;;
  esac
  for f in "${folds[@]}"; do
    [ "$c" = 3d_lowres ] && lowres_index+=("${#main[@]}")
    main+=("$c:$f")
  done
done
if ((${#cascade[@]})) && ! ((${#lowres_index[@]})); then
  echo "cv-array: 3d_cascade_fullres needs 3d_lowres in CONFIGS" >&2; exit 2
fi
((${#main[@]})) || { echo "cv-array: nothing to train" >&2; exit 2; }

submit() { local id; id="$(sbatch --parsable "${extra[@]}" "$@")"; echo "${id%%;*}"; }

# shellcheck disable=SC2086
plan="$(submit ${PLAN_SBATCH:-} "$here/cv-plan.sbatch")"
# shellcheck disable=SC2086
train="$(CV_JOBS="${main[*]}" submit --dependency="afterok:$plan" \
  --array="0-$(( ${#main[@]} - 1 ))%$concurrency" ${TRAIN_SBATCH:-} "$here/cv-train.sbatch")"
after="afterok:$train"
cascade_id=-
if ((${#cascade[@]})); then
  deps="afterok"
  for i in "${lowres_index[@]}"; do deps+=":${train}_$i"; done
  # shellcheck disable=SC2086
  cascade_id="$(CV_JOBS="${cascade[*]}" submit --dependency="$deps" \
    --array="0-$(( ${#cascade[@]} - 1 ))%$concurrency" ${TRAIN_SBATCH:-} "$here/cv-train.sbatch")"
  after+=":$cascade_id"
fi
# shellcheck disable=SC2086
select_id="$(submit --dependency="$after" ${SELECT_SBATCH:-} "$here/cv-select.sbatch")"
echo "cv-array: plan $plan -> train array $train (${#main[@]} jobs: ${main[*]})"
[ "$cascade_id" != - ] && echo "cv-array: cascade array $cascade_id (${cascade[*]}) after the 3d_lowres elements"
echo "cv-array: select + summary $select_id after all training"
echo "$plan $train $cascade_id $select_id"
