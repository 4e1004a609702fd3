#!/usr/bin/env bash
# Configures (once) and builds nnfleet into build/ (or $NNFLEET_BUILD). Extra arguments go to
# `cmake --build` (e.g. --target nnfleet).
set -euo pipefail
source "$(dirname "$0")/env.sh"
jobs="${NNFLEET_JOBS:-$(nproc)}"
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo ${NNFLEET_CMAKE_ARGS:-}
fi
cmake --build "$build" -j "$jobs" "$@"
