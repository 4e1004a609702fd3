#!/usr/bin/env bash
# The README's test command: set up, build, and run the whole test suite (units, MPI, end to end).
set -euo pipefail
here="$(dirname "$0")"
bash "$here/setup.sh"
bash "$here/build.sh"
source "$here/env.sh"
cd "$build"
ctest --output-on-failure -j "${NNFLEET_TEST_JOBS:-2}" "$@"
