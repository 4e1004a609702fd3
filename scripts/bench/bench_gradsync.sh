#!/usr/bin/env bash
# Gradient synchronisation on CPU: share of step time, bytes per step, buckets against one call
# per parameter, for the hippocampus 3d_fullres network with 2 and 4 ranks.
#
#   scripts/bench/bench_gradsync.sh [extra nnfleet_gradsync_bench arguments]
#
# Environment: NNFLEET_BUILD (build folder, default build/), RANKS ("2 4"), STEPS (3),
# NETWORK (hippocampus | default6), OVERLAP (1 = buckets start during backward; 0 = all in
# synchronize()). Prints one line per run; figures are the slowest rank's.
# On a machine with fewer cores than ranks the ranks share cores (--oversubscribe): the compute
# part of a step then slows down, and the share spent in synchronisation is a lower bound of what
# one core per rank would show.
set -euo pipefail
source "$(dirname "$0")/../env.sh"
bench="$build/dist/nnfleet_gradsync_bench"
if [ ! -x "$bench" ]; then
  echo "build it first: cmake --build $build --target nnfleet_gradsync_bench" >&2
  exit 1
fi
ranks="${RANKS:-2 4}"
steps="${STEPS:-3}"
network="${NETWORK:-hippocampus}"
overlap_flag=""
[ "${OVERLAP:-1}" = "0" ] && overlap_flag="--no-overlap"
echo "# nnfleet gradient-sync benchmark: $(nproc) cores, network $network, $steps timed steps"
for np in $ranks; do
  for mode in "--bucket-mb 25" "--per-parameter"; do
    OMP_NUM_THREADS=1 mpiexec --oversubscribe --allow-run-as-root --bind-to none -np "$np" \
      "$bench" --network "$network" --steps "$steps" $mode $overlap_flag "$@"
  done
done
