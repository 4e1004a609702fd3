#!/usr/bin/env bash
# Run on a development machine before the GPU check: packs the pure-Python reference code that
# scripts/bench/bench_train_iter_nnunetv2.py imports (dynamic_network_architectures' PlainConvUNet
# and nnunetv2's Dice + CE deep-supervision loss) from the reference virtual environment
# (scripts/setup.sh) into gpu-pyref.tar.xz, for the GPU machine, whose Python has PyTorch but not
# these two packages. Only the modules that script imports travel (plus the licences), a few
# hundred KB; the versions are those of the CPU benchmarks. gitignored.
#
#   bash scripts/gpu/pack-pyref.sh            # -> gpu-pyref.tar.xz (carry it with the sysroot)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../env.sh"
python="${NNFLEET_PYTHON:-$cache/venv/bin/python}"
[ -x "$python" ] || { echo "pack-pyref: no reference Python at $python (run scripts/setup.sh)" >&2; exit 1; }

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
"$python" - "$stage/gpu-pyref" <<'PY'
import importlib.metadata as md
import pathlib, shutil, sys
import dynamic_network_architectures, nnunetv2

dst = pathlib.Path(sys.argv[1])
site = pathlib.Path(nnunetv2.__file__).parent.parent
keep = [  # nnunetv2: only the loss and what it imports (torch and numpy alone beyond these)
    "nnunetv2/__init__.py", "nnunetv2/training/__init__.py", "nnunetv2/training/loss",
    "nnunetv2/utilities/__init__.py", "nnunetv2/utilities/helpers.py",
    "nnunetv2/utilities/ddp_allgather.py",
    "dynamic_network_architectures",
]
ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
for rel in keep:
    src = site / rel
    if src.is_dir():
        shutil.copytree(src, dst / rel, ignore=ignore)
    else:
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst / rel)
versions = []
for dist in ("nnunetv2", "dynamic_network_architectures"):
    meta = md.distribution(dist)
    versions.append(f"{dist} {meta.version}\n")
    for f in meta.files or []:
        if pathlib.Path(str(f)).name.upper().startswith("LICENSE"):
            shutil.copy2(meta.locate_file(f), dst / f"LICENSE.{dist}")
(dst / "VERSIONS.txt").write_text("".join(versions))
PY
tar -C "$stage" -cf - gpu-pyref | xz -6 > "$repo/gpu-pyref.tar.xz.tmp"
mv "$repo/gpu-pyref.tar.xz.tmp" "$repo/gpu-pyref.tar.xz"
echo "pack-pyref: $(tr '\n' ' ' < "$stage/gpu-pyref/VERSIONS.txt")-> $repo/gpu-pyref.tar.xz" \
     "($(du -h "$repo/gpu-pyref.tar.xz" | cut -f1))"
