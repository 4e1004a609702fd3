#!/usr/bin/env bash
# slurm/decathlon.sh: the full Medical Segmentation Decathlon run on a Slurm cluster. Submits
#   1. a job array with one element per task (Task01_BrainTumour ... Task10_Colon), each the
#      task's full sweep as one MPI job (slurm/decathlon-task.sbatch -> slurm/sweep.sbatch), at most
#      CONCURRENCY tasks at once (--array=0-9%N); each element requeues and resumes by itself
#      after preemption or its time limit;
#   2. a job that waits for the whole array (--dependency=afterany) and writes the cross-task
#      summary CSV with `nnfleet summarize` (slurm/decathlon-summary.sbatch).
#
# Usage:
#   export NNFLEET_RAW=/data/msd NNFLEET_PREPROCESSED=/scratch/pre NNFLEET_RESULTS=/data/results
#   slurm/decathlon.sh [SBATCH OPTIONS FOR EACH TASK...]
#   e.g. CONCURRENCY=3 slurm/decathlon.sh --nodes=2 --ntasks-per-node=8 --time=2-00:00:00
#
# Variables:
#   NNFLEET_RAW       folder with the ten MSD task folders (Task01_BrainTumour/ with imagesTr/,
#                     labelsTr/, dataset.json, ...); NNFLEET_PREPROCESSED, NNFLEET_RESULTS
#   TASKS             tasks to run (default: all ten MSD tasks)
#   CONCURRENCY       tasks running at once (default 2)
#   SUMMARY_CSV       the cross-task CSV (default $NNFLEET_RESULTS/decathlon_summary.csv)
#   CONFIGS, FOLDS, RANKS_PER_JOB, SWEEP_ARGS, DEVICE, NNFLEET, NNFLEET_MAX_REQUEUES: passed to
#                     every task's sweep (see slurm/sweep.sbatch)
#   SBATCH_EXTRA      extra sbatch options for both submissions (e.g. "--partition=gpu --account=x")
# Prints the two job ids; `squeue -u $USER` shows progress, the logs are
# nnfleet-decathlon-<array>_<i>.out and nnfleet-decathlon-summary-<id>.out in the current folder.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

all_tasks="Task01_BrainTumour Task02_Heart Task03_Liver Task04_Hippocampus Task05_Prostate
Task06_Lung Task07_Pancreas Task08_HepaticVessel Task09_Spleen Task10_Colon"
# shellcheck disable=SC2206
tasks=(${TASKS:-$all_tasks})
raw="${NNFLEET_RAW:-${nnUNet_raw:-}}"
[ -n "$raw" ] || { echo "decathlon: set NNFLEET_RAW to the folder with the task folders" >&2; exit 2; }
[ -n "${NNFLEET_RESULTS:-${nnUNet_results:-}}" ] || { echo "decathlon: set NNFLEET_RESULTS" >&2; exit 2; }
[ -n "${NNFLEET_PREPROCESSED:-${nnUNet_preprocessed:-}}" ] || { echo "decathlon: set NNFLEET_PREPROCESSED" >&2; exit 2; }
missing=()
for t in "${tasks[@]}"; do
  [ -f "$raw/$t/dataset.json" ] || missing+=("$t")
done
if ((${#missing[@]})); then
  echo "decathlon: missing in $raw (no dataset.json): ${missing[*]}" >&2
  exit 2
fi

export DECATHLON_TASKS="${tasks[*]}" NNFLEET_SLURM_DIR="$here"
concurrency="${CONCURRENCY:-2}"
# shellcheck disable=SC2206
extra=(${SBATCH_EXTRA:-})
array_id="$(sbatch --parsable "${extra[@]}" --array="0-$(( ${#tasks[@]} - 1 ))%${concurrency}" \
  "$@" "$here/decathlon-task.sbatch")"
array_id="${array_id%%;*}"
summary_id="$(sbatch --parsable "${extra[@]}" --dependency="afterany:${array_id}" \
  "$here/decathlon-summary.sbatch")"
summary_id="${summary_id%%;*}"
echo "decathlon: ${#tasks[@]} tasks as job array $array_id (at most $concurrency at once)"
echo "decathlon: summary job $summary_id writes ${SUMMARY_CSV:-${NNFLEET_RESULTS:-${nnUNet_results:-}}/decathlon_summary.csv}"
echo "$array_id $summary_id"
