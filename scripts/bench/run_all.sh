#!/usr/bin/env bash
# Runs every benchmark (each prints nnfleet and nnunetv2 side by side from one run on this machine)
# and writes bench/RESULTS.md with the machine, the date, the versions, a table of issue 12's goals
# (one row per goal or figure: nnfleet, nnunetv2, ratio, goal, meets/misses; made from the saved
# outputs by summarize_results.py; a failed script gets a "failed" row) and the tail of each
# script's output. Each script's full output is kept in bench/logs/<stage>.log (exit status in
# <stage>.status). Installs nnunetv2 into the LibTorch virtual environment when missing
# (NNFLEET_WITH_REFERENCE=1).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
NNFLEET_WITH_REFERENCE=1 bash "$here/setup.sh"
bash "$here/build.sh" --target nnfleet nnfleet_gradsync_bench
source "$here/env.sh"
# The data-loader benchmark reads nnfleet's preprocessed hippocampus (3d_fullres, all 220 cases):
# made once under the cache, reused afterwards.
bench_pre="$cache/bench/nnfleet_preprocessed"
if [ ! -f "$bench_pre/Dataset004_Hippocampus/nnUNetPlans.json" ]; then
  "$build/launcher/nnfleet" --raw "$repo/data" --preprocessed "$bench_pre" plan-preprocess \
    -d Task04_Hippocampus -c 3d_fullres --gpu-memory 8 -np "$(nproc)"
fi
export NNFLEET_PREPROCESSED="$bench_pre"
out="$repo/bench/RESULTS.md"
logs="$repo/bench/logs"
py="$cache/venv/bin/python"
rm -rf "$logs" && mkdir -p "$logs"
{
  echo "# nnfleet benchmarks against nnunetv2 (side by side, same machine, one run)"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/ {print $2}') GiB RAM, no GPU used"
  echo "- nnfleet $(git -C "$repo" rev-parse --short HEAD), LibTorch $("$py" -c 'import torch; print(torch.__version__)'), nnunetv2 $("$py" -c 'import importlib.metadata as m; print(m.version("nnunetv2"))')"
  echo "- regenerate: \`bash scripts/bench/run_all.sh\`; full outputs: bench/logs/<stage>.log"
  echo
} > "$out.tmp"
stages="preprocess dataloader train_iter predict gradsync sweep_scaling"
for stage in $stages; do
  script="$here/bench/bench_$stage.sh"
  [ -f "$script" ] || continue
  echo "bench: $stage"
  status=0
  bash "$script" > "$logs/$stage.log" 2>&1 || status=$?
  echo "$status" > "$logs/$stage.status"
done
echo "## goals (issue 12)" >> "$out.tmp"
echo >> "$out.tmp"
"$py" "$here/bench/summarize_results.py" "$logs" >> "$out.tmp" ||
  echo "(the summary table could not be made; see the outputs below)" >> "$out.tmp"
echo >> "$out.tmp"
for stage in $stages; do
  [ -f "$logs/$stage.log" ] || continue
  {
    echo "## $stage"
    echo
    echo '```'
    tail -n 40 "$logs/$stage.log"
    status="$(cat "$logs/$stage.status")"
    [ "$status" = 0 ] || echo "(benchmark failed with exit status $status; full output: bench/logs/$stage.log)"
    echo '```'
    echo
  } >> "$out.tmp"
done
mv "$out.tmp" "$out"
echo "bench: wrote $out"
