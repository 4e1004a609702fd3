#!/usr/bin/env bash
# CLI test (CTest: e2e.cli): `nnfleet --help`, `--version` and every subcommand's `--help` exit 0
# and describe their flags; nnU-Net's single-dash spellings (-num_epochs, -device, -np, -chk, -ref,
# -pred, -step_size, -gpu_memory_target, ...) parse as their `--` forms; an unknown flag is refused.
# Usage: cli_test.sh NNFLEET_EXE
set -euo pipefail
exe="$1"
fail() { echo "FAIL: $*"; exit 1; }

"$exe" --version | grep -Eq '^nnfleet [0-9]+\.[0-9]+' || fail "--version"
help="$("$exe" --help)"
subcommands="$(printf '%s\n' "$help" | awk '/^Subcommands:/ {on=1; next} on && NF {print $1}')"
for c in validate plan-preprocess train predict ensemble evaluate select summarize sweep; do
  printf '%s\n' "$subcommands" | grep -qx "$c" || fail "subcommand $c missing from --help"
done
for c in $subcommands; do
  "$exe" "$c" --help > /dev/null || fail "$c --help exited non-zero"
done

# Parsing: each command below names a dataset that does not exist, so a command whose flags all
# parse stops with nnfleet's own error (exit 1); a flag CLI11 refuses exits with its codes (>= 100).
scratch="$(mktemp -d)"; trap 'rm -rf "$scratch"' EXIT
export NNFLEET_RAW="$scratch/raw" NNFLEET_PREPROCESSED="$scratch/pre" NNFLEET_RESULTS="$scratch/res"
status_of() { local rc=0; "$exe" "$@" > "$scratch/out" 2>&1 || rc=$?; echo "$rc"; }
parses() {
  local rc; rc="$(status_of "$@")"
  [ "$rc" -ge 1 ] && [ "$rc" -lt 100 ] || { cat "$scratch/out"; fail "exit $rc for: $*"; }
}
refused() {
  local rc; rc="$(status_of "$@")"
  [ "$rc" -ge 100 ] || { cat "$scratch/out"; fail "exit $rc (expected a parse error) for: $*"; }
}
parses train -d Dataset999_None -c 3d_fullres -f 0 -num_epochs 3 -device cpu -np 2
parses predict -i "$scratch/in" -o "$scratch/out_dir" -d Dataset999_None -c 3d_fullres -chk best \
  -step_size 0.5 -device cpu
parses evaluate -ref "$scratch/a" -pred "$scratch/b" -d Dataset999_None
parses plan-preprocess -d Dataset999_None -gpu_memory_target 24 -np 2
parses sweep -d Dataset999_None -num_epochs 2 -np 2
parses --collective-timeout 30 sweep -d Dataset999_None
refused --collective-timeout -1 sweep -d Dataset999_None
refused train -d Dataset999_None -c 3d_fullres -f 0 --no-such-flag
refused train -d Dataset999_None -c 3d_fullres -f 0 -no_such_flag
refused train -d Dataset999_None -c 3d_fullres -f 0 -num_epochs three
echo PASS
