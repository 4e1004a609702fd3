#!/usr/bin/env bash
# Runs every benchmark (each prints nnfleet and nnunetv2 side by side from one run on this machine)
# and writes bench/RESULTS.md with the machine, the date, the versions and each script's figures.
# Installs nnunetv2 into the LibTorch virtual environment when missing (NNFLEET_WITH_REFERENCE=1).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
NNFLEET_WITH_REFERENCE=1 bash "$here/setup.sh"
bash "$here/build.sh" --target nnfleet
source "$here/env.sh"
out="$repo/bench/RESULTS.md"
py="$cache/venv/bin/python"
{
  echo "# nnfleet benchmarks against nnunetv2 (side by side, same machine, one run)"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/ {print $2}') GiB RAM, no GPU used"
  echo "- nnfleet $(git -C "$repo" rev-parse --short HEAD), LibTorch $("$py" -c 'import torch; print(torch.__version__)'), nnunetv2 $("$py" -c 'import importlib.metadata as m; print(m.version("nnunetv2"))')"
  echo "- regenerate: \`bash scripts/bench/run_all.sh\`"
  echo
} > "$out.tmp"
for stage in preprocess dataloader train_iter predict gradsync sweep_scaling; do
  script="$here/bench/bench_$stage.sh"
  [ -f "$script" ] || continue
  echo "bench: $stage"
  {
    echo "## $stage"
    echo
    echo '```'
    bash "$script" 2>&1 | tail -n 40 || echo "(benchmark failed; see the output above)"
    echo '```'
    echo
  } >> "$out.tmp"
done
mv "$out.tmp" "$out"
echo "bench: wrote $out"
