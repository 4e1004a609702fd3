#!/usr/bin/env bash
# scripts/gpu-check.sh: the one prepared GPU check (issue 13; /work/shared/reference/gpu-checks.md).
# It runs on the GPU machine (one H200, 16 cores, PyTorch 2.11 for CUDA 13 with the
# nvidia-nccl-cu13 wheel, nvcc 13, CMake, ninja; no ITK/HDF5/MPI/GTest, no network), in the
# repository root, and does everything in one go:
#
#   env          nvidia-smi, driver, nvcc, CMake, ninja, compiler, PyTorch/cuDNN/NCCL versions
#   sysroot      unpacks gpu-sysroot.tar.xz (ITK, HDF5, Open MPI...: scripts/gpu/fetch-sysroot.sh)
#                and gpu-pyref.tar.xz (nnunetv2's loss + PlainConvUNet: scripts/gpu/pack-pyref.sh)
#   configure    cmake -G Ninja against the sysroot, the machine's LibTorch and the NCCL wheel
#   build        only nnfleet and nnfleet_nccl_check, -j$(nproc), into build-gpu/
#   plan         nnfleet plan-preprocess of the bundled Task04_Hippocampus, 3d_fullres, with
#                --gpu-memory 8 (nnU-Net's default target, so the plan is nnU-Net's)
#   train        nnfleet train 3d_fullres fold 0 --device cuda --amp, EPOCHS x ITERS iterations;
#                iterations/s and the data-wait share from trace_rank0.json (epoch 0 = warm-up)
#   bench-nnfleet  nnfleet bench-train-step --device cuda --amp: the plan's network and batch on
#                random data, no data loading (s/iteration)
#   bench-eager  the same network, loss, optimiser and batch in PyTorch eager with AMP
#                (scripts/bench/bench_train_iter_nnunetv2.py), cudnn.benchmark on (nnU-Net's
#                setting) and off (what bench-train-step runs with); torch.cuda peak memory
#   nccl-1rank   nnfleet_nccl_check: one-rank NCCL communicator, bucketed vs per-parameter
#                all-reduce through GradientSync, overlap with backward, allreduce_sum
#   nccl-mpirun  the same under the sysroot's mpirun -np 1 (NCCL id exchanged over MPI)
#   predict-mirror / predict-nomirror  nnfleet predict of PREDICT_CASES imagesTr cases with the
#                trained fold, --device cuda, with and without --no-mirroring (per-case times)
#   bench-predict  nnfleet bench-predict --device cuda: sliding-window logits of a case-sized and a
#                larger volume, mirroring on and off (best of 3, random weights)
#   memory       peak GPU memory (nvidia-smi memory.used sampled every 200 ms during each nnfleet
#                step; torch.cuda.max_memory_* for the eager runs) against the planner's target
#
# Output: everything is printed and tee'd to $OUT/gpu-check.log, with a summary table at the end
# (also $OUT/summary.txt); $OUT also gets build.log, training_log.txt, progress.csv,
# trace_rank0.json and gpu-mem.csv (7 files: the device tool brings back at most 8). Each step is
# guarded: a failure is recorded as a FAIL line and the other steps still run (those that need its
# output are SKIPped). The exit status is non-zero when any step failed or was skipped. Every
# command runs under `timeout`, and a step that would run past GPU_CHECK_BUDGET_S (default 510 s)
# is skipped, so the summary is always written before the device tool's 10-minute limit. A rerun on
# a still-warm machine reuses build-gpu/ and the unpacked sysroot (incremental: seconds).
#
# Before (on a development machine, once): bash scripts/gpu/fetch-sysroot.sh &&
#   bash scripts/gpu/pack-pyref.sh
# Then through the device tool (one call; ~6-7 min expected, most of it the build):
#   run  command: bash scripts/gpu-check.sh
#        carry:   ["gpu-sysroot.tar.xz", "gpu-pyref.tar.xz"]
#        timeout_s: 570
# and call give_back unless you rerun at once. Here: bash scripts/gpu-check.sh --dry-run prints
# every step's commands without running anything on a GPU (or building).
#
# Settings (environment): GPU_CHECK_BUDGET_S (510), GPU_CHECK_EPOCHS (4), GPU_CHECK_ITERS (50),
# GPU_CHECK_CASES (0 = all 220 bundled cases; N = the first N via tests/e2e/make_subset.py; note
# that the planner's 5 % rule then shrinks the batch), GPU_CHECK_BENCH_ITERS (100),
# GPU_CHECK_PREDICT_CASES (5), GPU_CHECK_JOBS (nproc), GPU_CHECK_WORK (/tmp/nnfleet-gpu-check),
# PYTHON (python3).
set -uo pipefail  # no -e at the top: each step runs in its own `set -e` subshell

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DRY=0
case "${1:-}" in
  --dry-run|-n) DRY=1 ;;
  -h|--help) sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) echo "gpu-check: unknown argument '$1' (--dry-run, --help)" >&2; exit 2 ;;
esac

budget="${GPU_CHECK_BUDGET_S:-510}"
epochs="${GPU_CHECK_EPOCHS:-4}"
iters="${GPU_CHECK_ITERS:-50}"
cases="${GPU_CHECK_CASES:-0}"
bench_iters="${GPU_CHECK_BENCH_ITERS:-100}"
predict_cases="${GPU_CHECK_PREDICT_CASES:-5}"
jobs="${GPU_CHECK_JOBS:-$(nproc)}"
work="${GPU_CHECK_WORK:-/tmp/nnfleet-gpu-check}"
python="${PYTHON:-python3}"
planner_gb=8  # --gpu-memory for plan-preprocess: nnU-Net's default target

build="$repo/build-gpu"
sysroot="$repo/gpu-sysroot"
pyref="$repo/gpu-pyref"
nnfleet="$build/launcher/nnfleet"
nccl_check="$build/dist/nnfleet_nccl_check"
out="${OUT:-$work/out}"
lib="$sysroot/usr/lib/x86_64-linux-gnu"
# The sysroot's libraries, for nnfleet's processes only: exported globally they would also shadow
# the machine's own zlib/zstd/OpenSSL/libffi for the compiler, CMake and Python.
sysroot_ld="$lib:$lib/openmpi/lib:$lib/hdf5/serial:$lib/pmix2/lib:$sysroot/usr/lib:$sysroot/lib/x86_64-linux-gnu"
nnf_env=(
  "LD_LIBRARY_PATH=$sysroot_ld${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  "OPAL_PREFIX=$sysroot/usr"            # relocated Open MPI: plugins, help texts, orted
  "PATH=$sysroot/usr/bin:$PATH"
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  "NNFLEET_RAW=$work/raw" "NNFLEET_PREPROCESSED=$work/preprocessed"
  "NNFLEET_RESULTS=$work/results"
)

# --- helpers --------------------------------------------------------------------------------------

q() { printf '%q ' "$@"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# tm CMD...: runs CMD with the time left to the current step (dry run: prints it on fd 3, the
# log, whatever the command's own redirections).
tm() {
  if (( DRY )); then echo "+ $(q "$@")" >&3; return 0; fi
  local left=$(( STEP_END - SECONDS ))
  if (( left < 2 )); then echo "!! step time limit reached before: $(q "$@")"; return 124; fi
  timeout -k 5 "$left" "$@"
}
nnf() { tm env "${nnf_env[@]}" "$nnfleet" "$@"; }

# fig KEY VALUE: records a figure for the summary.
fig() { printf '%s\t%s\n' "$1" "$2" >> "$work/figures.tsv"; echo "  -> $1 = $2"; }
# note TEXT: the note of the current step's summary line.
note() { printf '%s' "$*" > "$work/note"; }
# need PATH WHAT: the step is skipped (exit status $SKIP) when PATH, made by an earlier step, is
# missing.
SKIP=97
need() {
  (( DRY )) && return 0
  [ -e "$1" ] && return 0
  note "needs $2 ($1 missing)"
  echo "!! $2 missing: $1"
  exit "$SKIP"
}

# mem_start LABEL / mem_stop LABEL: nvidia-smi memory.used (MiB) every 200 ms during a step; the
# peak becomes the figure LABEL.gpu_mem_peak_mib and the samples go to gpu-mem.csv.
mem_start() {
  (( DRY )) && { echo "+ nvidia-smi --query-gpu=memory.used -lms 200 (background) > mem_$1.txt" >&3; return 0; }
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 \
    > "$work/mem_$1.txt" 2>/dev/null &
  MEM_PID=$!
}
mem_stop() {
  (( DRY )) && return 0
  kill "$MEM_PID" 2>/dev/null; wait "$MEM_PID" 2>/dev/null; MEM_PID=""
  local peak
  peak="$(sort -n "$work/mem_$1.txt" | tail -n 1)"
  awk -v l="$1" 'NF { print l "," NR * 0.2 "," $1 }' "$work/mem_$1.txt" >> "$work/gpu-mem.csv"
  fig "$1.gpu_mem_peak_mib" "${peak:-n/a}"
}

# step NAME MAX_SECONDS FUNCTION: runs FUNCTION in a `set -e` subshell with at most MAX_SECONDS
# (less when the budget is nearly spent); records PASS, FAIL (exit status) or SKIP.
step() {
  local name="$1" max="$2" fn="$3" left limit rc status t0
  left=$(( budget - SECONDS - 15 ))
  limit=$(( max < left ? max : left ))
  echo
  echo "=== [$name] $(date +%T), elapsed ${SECONDS}s, limit ${limit}s"
  rm -f "$work/note"
  if (( limit < 15 )); then
    status=SKIP; printf 'out of time budget (%ss)' "$budget" > "$work/note"; rc=0
  else
    t0=$SECONDS
    STEP_END=$(( SECONDS + limit ))
    ( set -eE; MEM_PID=""; trap '[ -z "$MEM_PID" ] || kill "$MEM_PID" 2>/dev/null' EXIT; "$fn" )
    rc=$?
    case $rc in
      0) status=PASS ;;
      "$SKIP") status=SKIP ;;
      124|137) status=FAIL; [ -s "$work/note" ] || echo -n "timed out" > "$work/note" ;;
      *) status=FAIL ;;
    esac
  fi
  local text=""
  [ -s "$work/note" ] && text="$(cat "$work/note")"
  printf '%s\t%s\t%s\t%s\n' "$name" "$status" "$(( SECONDS - ${t0:-SECONDS} ))" "$text" >> "$work/steps.tsv"
  if [ "$status" = PASS ]; then echo "--- [$name] PASS${text:+: $text}"
  else echo "--- [$name] $status (exit $rc)${text:+: $text}"; fi
}

# --- steps ----------------------------------------------------------------------------------------

step_env() {
  tm uname -a
  tm nvidia-smi
  tm nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,power.limit --format=csv
  local nvcc
  nvcc="$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)"
  tm "$nvcc" --version | tail -n 2
  tm cmake --version | sed -n 1p
  echo "ninja $(tm ninja --version)"
  tm c++ --version | sed -n 1p
  echo "cores $(nproc), $(free -g | awk '/^Mem/ { print $2 " GiB memory" }')"
  tm "$python" - <<'PY'
import importlib.metadata as md, torch
nccl = torch.cuda.nccl.version()
try:
    wheel = md.version("nvidia-nccl-cu13")
except md.PackageNotFoundError:
    wheel = "not installed"
print(f"python torch {torch.__version__} (CUDA {torch.version.cuda}), cuDNN {torch.backends.cudnn.version()}, "
      f"NCCL in torch {'.'.join(map(str, nccl)) if isinstance(nccl, tuple) else nccl}, "
      f"nvidia-nccl-cu13 wheel {wheel}")
assert torch.cuda.is_available(), "torch sees no GPU"
p = torch.cuda.get_device_properties(0)
print(f"GPU {p.name}, {p.total_memory / 2**30:.1f} GiB, {p.multi_processor_count} SMs, sm_{p.major}{p.minor}")
print("cmake prefix", torch.utils.cmake_prefix_path)
PY
}

# unpack TARBALL FOLDER: unpacks when FOLDER is missing or from another tarball (checksum).
unpack() {
  local tarball="$1" folder="$2" sum=""
  (( DRY )) || sum="$(cksum < "$tarball")"
  if [ -f "$folder/.unpacked-from" ] && [ "$(cat "$folder/.unpacked-from")" = "$sum" ]; then
    echo "$folder: already unpacked from this $(basename "$tarball")"
    return 0
  fi
  (( DRY )) || rm -rf "$folder"
  tm tar -C "$repo" -xJf "$tarball"
  (( DRY )) || echo "$sum" > "$folder/.unpacked-from"
  echo "$folder: $(du -sh "$folder" 2>/dev/null | cut -f1) unpacked from $(basename "$tarball")"
}

step_sysroot() {
  if [ -f "$repo/gpu-pyref.tar.xz" ]; then
    unpack "$repo/gpu-pyref.tar.xz" "$pyref"
  else
    echo "!! no gpu-pyref.tar.xz (bash scripts/gpu/pack-pyref.sh makes it): bench-eager needs" \
         "nnunetv2 and dynamic_network_architectures importable otherwise"
  fi
  if [ -f "$repo/gpu-sysroot.tar.xz" ]; then
    unpack "$repo/gpu-sysroot.tar.xz" "$sysroot"
  elif [ -d "$sysroot/usr" ]; then
    echo "no gpu-sysroot.tar.xz; using the gpu-sysroot/ folder that is there"
  else
    note "no gpu-sysroot.tar.xz: run scripts/gpu/fetch-sysroot.sh first and carry it"
    echo "!! gpu-sysroot.tar.xz not found in $repo: run 'bash scripts/gpu/fetch-sysroot.sh' on a" \
         "development machine first, then call the device tool with carry [\"gpu-sysroot.tar.xz\"]"
    return 1
  fi
  (( DRY )) || head -n 3 "$sysroot/PACKAGES.txt"
}

step_configure() {
  need "$sysroot/usr" "the sysroot"
  local torch_prefix nccl nvcc
  torch_prefix="$(tm "$python" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')"
  nccl="$(tm "$python" -c 'import importlib.util as u; print(list(u.find_spec("nvidia.nccl").submodule_search_locations)[0])')"
  nvcc="$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)"
  (( DRY )) && { torch_prefix='<torch.utils.cmake_prefix_path>'; nccl='<site-packages>/nvidia/nccl'; }
  echo "LibTorch $torch_prefix, NCCL $nccl ($(ls "$nccl/lib" 2>/dev/null | tr '\n' ' ')), nvcc $nvcc"
  # The wheel ships libnccl.so.2 only (no libnccl.so), which find_library(nccl) does not match:
  # name the library and header folder (NCCL_HOME alone would not do).
  NCCL_HOME="$nccl" TORCH_CUDA_ARCH_LIST=9.0 tm cmake -S "$repo" -B "$build" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release -DNNFLEET_SYSROOT="$sysroot" -DNNFLEET_BUILD_TESTS=OFF \
    -DTorch_DIR="$torch_prefix/Torch" -DCMAKE_CUDA_COMPILER="$nvcc" \
    -DCUDAToolkit_ROOT="$(dirname "$(dirname "$nvcc")")" \
    -DNCCL_INCLUDE_DIR="$nccl/include" -DNCCL_LIBRARY="$nccl/lib/libnccl.so.2" \
    -DCMAKE_POLICY_VERSION_MINIMUM=3.5 > "$work/configure.log" 2>&1 \
    || { tail -n 40 "$work/configure.log"; cat "$work/configure.log" >> "$out/build.log"; note "cmake failed"; return 1; }
  (( DRY )) && return 0
  cat "$work/configure.log" >> "$out/build.log"
  grep -m 20 -E "nnfleet:|Found Torch|CUDA|NCCL|Warning" "$work/configure.log" || true
  if ! grep -q "NCCL paths ON" "$work/configure.log"; then
    note "configured without NCCL: no nnfleet_nccl_check"
    return 1
  fi
}

step_build() {
  need "$build/build.ninja" "a configured build-gpu/"
  local t0; t0="$(now)"
  tm cmake --build "$build" -j "$jobs" --target nnfleet nnfleet_nccl_check >> "$out/build.log" 2>&1 \
    || { tail -n 60 "$out/build.log"; note "build failed (build.log)"; return 1; }
  fig build.seconds "$(since "$t0")"
  (( DRY )) && return 0
  local missing
  missing="$(env "${nnf_env[@]}" ldd "$nnfleet" "$nccl_check" | grep "not found" | sort -u || true)"
  env "${nnf_env[@]}" ldd "$nnfleet" | grep -E "libtorch_cuda|libc10_cuda|nccl|libmpi|ITKCommon|hdf5" || true
  if [ -n "$missing" ]; then echo "$missing"; note "unresolved libraries"; return 1; fi
}

# Writes $work/arch.json (the plan's 3d_fullres network, scripts/bench/*_arch.json keys) and
# $work/batch.txt (batch size, batch dice).
plan_to_arch() {
  tm "$python" - "$work/preprocessed" "$work/arch.json" "$work/batch.txt" <<'PY'
import glob, json, os, sys
pre, arch_out, batch_out = sys.argv[1:]
plans_file = glob.glob(os.path.join(pre, "*", "nnUNetPlans.json"))[0]
plans = json.load(open(plans_file))
c = plans["configurations"]["3d_fullres"]
a = c["architecture"]["arch_kwargs"]
ds_file = os.path.join(os.path.dirname(plans_file), "dataset.json")
labels = json.load(open(ds_file))["labels"] if os.path.exists(ds_file) else {0: 0, 1: 1, 2: 2}
arch = {"comment": "3d_fullres of " + plans_file, "input_channels": len(c["normalization_schemes"]),
        "num_classes": len(labels), "patch_size": c["patch_size"]}
for k in ("features_per_stage", "kernel_sizes", "strides", "n_conv_per_stage", "n_conv_per_stage_decoder"):
    arch[k] = a[k]
json.dump(arch, open(arch_out, "w"), indent=1)
open(batch_out, "w").write(f"{c['batch_size']} {int(bool(c.get('batch_dice', False)))}\n")
print(f"plan 3d_fullres: patch {c['patch_size']}, batch {c['batch_size']}, "
      f"{len(a['features_per_stage'])} stages {a['features_per_stage']}, spacing {c['spacing']}, "
      f"batch_dice {c.get('batch_dice')}")
PY
}

step_plan() {
  need "$nnfleet" "the nnfleet binary"
  mkdir -p "$work/raw"
  rm -rf "$work/raw/Task04_Hippocampus" "$work/preprocessed" "$work/results"
  if (( cases > 0 )); then
    tm "$python" "$repo/tests/e2e/make_subset.py" "$repo/data/Task04_Hippocampus" \
      "$work/raw/Task04_Hippocampus" "$cases"
  else
    ln -s "$repo/data/Task04_Hippocampus" "$work/raw/Task04_Hippocampus"
  fi
  local t0; t0="$(now)"
  nnf plan-preprocess -d Task04_Hippocampus -c 3d_fullres --gpu-memory "$planner_gb" --np "$jobs" \
    2>&1 | tee "$work/plan.log"
  fig plan.seconds "$(since "$t0")"
  (( DRY )) && return 0
  grep -m 1 -o "GPU memory target [0-9.]* GB ([^)]*)" "$work/plan.log" || true
  fig plan.gpu_memory_target_gb "$planner_gb"
  fig plan.default_target_here_gb "$(nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits \
    | awk 'NR == 1 { printf "%.1f", $1 / 1024 }')"
  plan_to_arch
  fig plan.batch_size "$(cut -d' ' -f1 "$work/batch.txt")"
}

# The plan's network and batch, or the bundled hippocampus plan when `plan` did not run.
arch_and_batch() {
  if [ -f "$work/arch.json" ] && [ -f "$work/batch.txt" ]; then
    arch="$work/arch.json"; read -r batch batch_dice < "$work/batch.txt"
  else
    arch="$repo/scripts/bench/hippocampus_3d_fullres_arch.json"; batch=8; batch_dice=0
    echo "(no plan from this run: bundled $arch, batch 8)"
  fi
}

analyse_trace() {
  tm "$python" - "$1" "$iters" "$2" <<'PY'
import collections, csv, json, statistics as st, sys
trace, ipe, progress = sys.argv[1], int(sys.argv[2]), sys.argv[3]
names = ("data wait", "forward", "backward", "all-reduce", "optimiser step")
per = collections.defaultdict(lambda: collections.Counter())
for e in json.load(open(trace))["traceEvents"]:
    if e["name"] in names and "iteration" in e.get("args", {}):
        per[e["args"]["iteration"]][e["name"]] += e["dur"] / 1e6  # seconds
its = sorted(per)
def report(label, sel):
    if not sel:
        return
    step = [sum(per[i].values()) for i in sel]
    wait = [per[i]["data wait"] for i in sel]
    first = [per[i]["data wait"] for i in sel if i % ipe == 0]
    print(f"FIG train.{label}.iterations\t{len(sel)}")
    print(f"FIG train.{label}.iterations_per_s\t{len(sel) / sum(step):.2f}")
    print(f"FIG train.{label}.median_step_ms\t{1e3 * st.median(step):.1f}")
    print(f"FIG train.{label}.data_wait_share\t{sum(wait) / sum(step):.3f}")
    print(f"FIG train.{label}.median_data_wait_ms\t{1e3 * st.median(wait):.2f}")
    if first:
        print(f"FIG train.{label}.epoch_first_batch_wait_ms\t{1e3 * st.median(first):.0f}")
    for n in names[1:]:
        v = [per[i][n] for i in sel]
        if any(v):
            print(f"FIG train.{label}.median_{n.replace(' ', '_').replace('-', '_')}_ms\t{1e3 * st.median(v):.2f}")
report("all", its)
report("after_epoch0", [i for i in its if i >= ipe])
rows = list(csv.DictReader(open(progress)))
for r in rows:
    print(f"epoch {r['epoch']}: {float(r['epoch_seconds']):.1f} s ({ipe / float(r['epoch_seconds']):.1f} it/s "
          f"with validation), train loss {r['train_loss']}, pseudo Dice {r['mean_fg_dice']}")
if len(rows) > 1:
    s = sum(float(r["epoch_seconds"]) for r in rows[1:])
    print(f"FIG train.after_epoch0.iterations_per_s_with_validation\t{ipe * (len(rows) - 1) / s:.2f}")
PY
}

step_train() {
  need "$nnfleet" "the nnfleet binary"
  need "$work/arch.json" "the plan (step plan)"
  local t0; t0="$(now)"
  mem_start train
  nnf train -d Task04_Hippocampus -c 3d_fullres -f 0 --device cuda --amp --epochs "$epochs" \
    --iters-per-epoch "$iters" --val-iters 5 --checkpoint-every "$epochs" --no-final-validation \
    2>&1 | tee "$work/train.log"
  mem_stop train
  fig train.wall_seconds "$(since "$t0")"
  (( DRY )) && { echo "+ python3 - (trace_rank0.json, progress.csv -> iterations/s, data-wait share)"; return 0; }
  local fold
  fold="$(dirname "$(find "$work/results" -name trace_rank0.json -print -quit)")"
  cp "$fold/training_log.txt" "$fold/progress.csv" "$fold/trace_rank0.json" "$out/"
  analyse_trace "$fold/trace_rank0.json" "$fold/progress.csv" > "$work/trace.txt"
  grep -v '^FIG' "$work/trace.txt" || true
  while IFS=$'\t' read -r key value; do fig "${key#FIG }" "$value"; done < <(grep '^FIG' "$work/trace.txt")
  [ -f "$fold/checkpoint_final.pt" ] || { note "no checkpoint_final.pt"; return 1; }
  note "$(awk -F'\t' '$1 == "FIG train.after_epoch0.iterations_per_s" { i = $2 }
    $1 == "FIG train.after_epoch0.data_wait_share" { w = $2 }
    END { printf "%s it/s after epoch 0, data wait %s", i, w }' "$work/trace.txt")"
}

# json_get FILE KEY: one field of a JSON line.
json_get() { "$python" -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])[sys.argv[2]])' "$1" "$2"; }

step_bench_nnfleet() {
  need "$nnfleet" "the nnfleet binary"
  local arch batch batch_dice
  arch_and_batch
  mem_start bench_nnfleet
  nnf bench-train-step --arch "$arch" --batch "$batch" --batch-dice="$batch_dice" --device cuda \
    --amp=1 --threads 4 --warmup 10 --iterations "$bench_iters" | tail -n 1 | tee "$work/bench_nnfleet.json"
  mem_stop bench_nnfleet
  (( DRY )) && return 0
  fig bench.nnfleet.median_ms "$(awk -v s="$(json_get "$work/bench_nnfleet.json" median_s)" 'BEGIN { printf "%.2f", 1e3 * s }')"
  fig bench.nnfleet.best_ms "$(awk -v s="$(json_get "$work/bench_nnfleet.json" best_s)" 'BEGIN { printf "%.2f", 1e3 * s }')"
}

step_bench_eager() {
  local arch batch batch_dice bench
  arch_and_batch
  if [ -d "$pyref" ]; then export PYTHONPATH="$pyref${PYTHONPATH:+:$PYTHONPATH}"; fi
  for bench in 1 0; do
    tm "$python" "$repo/scripts/bench/bench_train_iter_nnunetv2.py" --arch "$arch" --batch "$batch" \
      --batch-dice "$batch_dice" --device cuda --amp 1 --cudnn-benchmark "$bench" --threads 4 \
      --warmup 10 --iterations "$bench_iters" | tail -n 1 | tee "$work/bench_eager_$bench.json"
    (( DRY )) && continue
    fig "bench.eager_cudnn_benchmark_$bench.median_ms" "$(awk -v s="$(json_get "$work/bench_eager_$bench.json" median_s)" 'BEGIN { printf "%.2f", 1e3 * s }')"
    fig "bench.eager_cudnn_benchmark_$bench.max_allocated_mib" "$(json_get "$work/bench_eager_$bench.json" max_allocated_mb)"
    fig "bench.eager_cudnn_benchmark_$bench.max_reserved_mib" "$(json_get "$work/bench_eager_$bench.json" max_reserved_mb)"
  done
  (( DRY )) && return 0
  if [ -f "$work/bench_nnfleet.json" ]; then
    "$python" - "$work/bench_nnfleet.json" "$work/bench_eager_0.json" "$work/bench_eager_1.json" <<'PY'
import json, sys
c, p0, p1 = (json.loads(open(f).read().strip().splitlines()[-1]) for f in sys.argv[1:])
print(f"FIG bench.nnfleet_over_eager_benchmark_off\t{c['median_s'] / p0['median_s']:.3f}")
print(f"FIG bench.nnfleet_over_eager_benchmark_on\t{c['median_s'] / p1['median_s']:.3f}")
PY
  fi > "$work/ratio.txt"
  while IFS=$'\t' read -r key value; do fig "${key#FIG }" "$value"; done < "$work/ratio.txt"
}

step_nccl_1rank() {
  need "$nccl_check" "nnfleet_nccl_check"
  mem_start nccl
  tm env "${nnf_env[@]}" "$nccl_check" --repeats 20 --bucket-mb 25 | tee "$work/nccl.log"
  mem_stop nccl
  (( DRY )) && return 0
  grep -q "ALL OK" "$work/nccl.log"
}

step_nccl_mpirun() {
  need "$nccl_check" "nnfleet_nccl_check"
  tm env "${nnf_env[@]}" "$sysroot/usr/bin/mpirun.openmpi" --allow-run-as-root --bind-to none -np 1 \
    "$nccl_check" --repeats 20 --bucket-mb 25 | tee "$work/nccl_mpi.log"
  (( DRY )) && return 0
  grep -q "ALL OK" "$work/nccl_mpi.log"
}

# predict_run LABEL FLAGS...: nnfleet predict of the first PREDICT_CASES imagesTr cases.
predict_run() {
  local label="$1"; shift
  need "$nnfleet" "the nnfleet binary"
  (( DRY )) || [ -n "$(find "$work/results" -name checkpoint_final.pt -print -quit 2>/dev/null)" ] \
    || { note "needs the trained fold (step train)"; exit "$SKIP"; }
  local input="$work/predict_in" t0 image images
  rm -rf "$input" "$work/predict_$label"; mkdir -p "$input"
  images=("$repo"/data/Task04_Hippocampus/imagesTr/*.nii.gz)
  for image in "${images[@]:0:predict_cases}"; do
    image="$(basename "$image")"
    ln -s "$repo/data/Task04_Hippocampus/imagesTr/$image" "$input/${image%.nii.gz}_0000.nii.gz"
  done
  t0="$(now)"
  mem_start "predict_$label"
  nnf predict -i "$input" -o "$work/predict_$label" -d Task04_Hippocampus -c 3d_fullres -f 0 \
    --device cuda "$@" 2>&1 | tee "$work/predict_$label.log"
  mem_stop "predict_$label"
  fig "predict.$label.wall_seconds" "$(since "$t0")"
  (( DRY )) && return 0
  # "[predict] case X done in Y s": the first case also pays for cuDNN's first convolutions.
  fig "predict.$label.case_seconds" "$(grep -o 'done in [0-9.]* s' "$work/predict_$label.log" \
    | awk '{ printf "%s%s", (NR > 1 ? " " : ""), $3 }')"
  local written; written="$(find "$work/predict_$label" -name '*.nii.gz' | wc -l)"
  [ "$written" -eq "$predict_cases" ] || { note "$written of $predict_cases segmentations written"; return 1; }
}
step_predict_mirror() { predict_run mirror; }
step_predict_nomirror() { predict_run nomirror --no-mirroring; }

step_bench_predict() {
  need "$nnfleet" "the nnfleet binary"
  local arch batch batch_dice name mirror
  arch_and_batch
  # Random z-scored inputs [C, Z, Y, X]: the hippocampus median shape (one tile) and a volume of
  # 5 x 5 x 5 tiles at step 0.5 (sliding window proper).
  tm "$python" - "$work" <<'PY'
import json, sys, numpy as np
rng = np.random.default_rng(0)
for name, shape in (("case", [1, 36, 50, 35]), ("large", [1, 120, 168, 120])):
    rng.standard_normal(shape, dtype=np.float32).tofile(f"{sys.argv[1]}/bp_{name}.f32")
    json.dump({"shape": shape}, open(f"{sys.argv[1]}/bp_{name}.f32.json", "w"))
PY
  mem_start bench_predict
  for name in case large; do
    for mirror in 1 0; do
      nnf bench-predict --input "$work/bp_$name.f32" --arch "$arch" --device cuda --threads 4 \
        --mirror="$mirror" --repeats 3 | tail -n 1 | tee "$work/bp_${name}_$mirror.json"
      (( DRY )) || fig "bench_predict.$name.mirror_$mirror.best_ms" \
        "$(awk -v s="$(json_get "$work/bp_${name}_$mirror.json" best_s)" 'BEGIN { printf "%.1f", 1e3 * s }')"
    done
  done
  mem_stop bench_predict
}

step_memory() {
  (( DRY )) && { echo "+ compare the *.gpu_mem_peak_mib figures with the planner's target" >&3; return 0; }
  local target_mib=$(( planner_gb * 1024 )) train_peak idle
  idle="$(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits | sed -n 1p)"
  fig memory.idle_used_mib "$idle"
  fig memory.planner_target_mib "$target_mib"
  train_peak="$(awk -F'\t' '$1 == "train.gpu_mem_peak_mib" { print $2 }' "$work/figures.tsv")"
  awk -F'\t' '/gpu_mem_peak_mib|max_(allocated|reserved)_mib/ { printf "  %-48s %8s MiB\n", $1, $2 }' \
    "$work/figures.tsv"
  [ -n "$train_peak" ] && [ "$train_peak" != n/a ] || { note "no training memory samples"; exit "$SKIP"; }
  note "nnfleet train peak ${train_peak} MiB (nvidia-smi, context included) vs planner target ${target_mib} MiB"
  (( train_peak <= target_mib ))
}

summary() {
  echo
  echo "=================================== summary ($(date +%T), ${SECONDS}s) ==================================="
  printf '%-18s %-5s %6s  %s\n' step status sec note
  while IFS=$'\t' read -r name status sec text; do
    printf '%-18s %-5s %6s  %s\n' "$name" "$status" "$sec" "$text"
  done < "$work/steps.tsv"
  echo
  echo "figures:"
  [ -f "$work/figures.tsv" ] && awk -F'\t' '{ printf "  %-52s %s\n", $1, $2 }' "$work/figures.tsv"
  echo
  echo "Notes: train.* come from trace_rank0.json (host wall-clock spans; every iteration ends with"
  echo "loss.item(), so the GPU is idle during 'data wait'); forward/backward spans are launch time"
  echo "only under CUDA's asynchrony, the GPU work lands in 'optimiser step'. gpu_mem_peak_mib is"
  echo "nvidia-smi memory.used (CUDA context and the caching allocator's reserve included)."
}

main() {
  exec 3>&1  # tm's dry-run lines
  echo "gpu-check: $(date -u +%FT%TZ) in $repo, budget ${budget}s, epochs $epochs x $iters" \
       "iterations, $jobs jobs, work $work, out $out"
  (( DRY )) && echo "dry run: each step's commands are printed; nothing is built or run on a GPU"
  step env 60 step_env
  step sysroot 90 step_sysroot
  step configure 150 step_configure
  step build 360 step_build
  step plan 150 step_plan
  step train 180 step_train
  step bench-nnfleet 90 step_bench_nnfleet
  step bench-eager 120 step_bench_eager
  step nccl-1rank 60 step_nccl_1rank
  step nccl-mpirun 60 step_nccl_mpirun
  step predict-mirror 90 step_predict_mirror
  step predict-nomirror 60 step_predict_nomirror
  step bench-predict 120 step_bench_predict
  step memory 15 step_memory
  summary | tee "$out/summary.txt"
  (( DRY )) || cp "$work/gpu-mem.csv" "$out/" 2>/dev/null
  awk -F'\t' '$2 != "PASS" { bad = 1 } END { exit bad }' "$work/steps.tsv"
}

mkdir -p "$work" "$out"
rm -f "$work"/mem_*.txt "$work/gpu-mem.csv"
: > "$work/steps.tsv"; : > "$work/figures.tsv"
(( DRY )) || : > "$out/build.log"
main 2>&1 | tee "$out/gpu-check.log"
exit "${PIPESTATUS[0]}"
