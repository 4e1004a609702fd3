#!/usr/bin/env bash
# Installs what nnfleet needs to build, idempotently: Debian packages (only the missing ones) and
# LibTorch from PyPI's torch wheel in a virtual environment kept outside the clone, so fresh clones
# and CI reuse it. Fast (a few seconds) when everything is already there.
#
# Environment:
#   NNFLEET_CACHE   cache folder (default ~/.cache/nnfleet): venv/, ccache/
#   Torch_DIR       an existing LibTorch's CMake folder: skips the torch download
#   NNFLEET_TORCH_VERSION  torch wheel to install (default 2.11.0, the GPU machines' version)
#   NNFLEET_WITH_REFERENCE=1  also install nnunetv2 (the Python reference) into the venv
set -euo pipefail

cache="${NNFLEET_CACHE:-$HOME/.cache/nnfleet}"
torch_version="${NNFLEET_TORCH_VERSION:-2.11.0}"
mkdir -p "$cache"

packages=(
  build-essential cmake pkg-config ccache mold python3-venv gnuplot-nox
  libinsighttoolkit5-dev libgdcm-tools libhdf5-dev libopenmpi-dev openmpi-bin
  libboost1.81-dev libgtest-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev
  slurm-wlm munge  # the Slurm test's one-node cluster (scripts/slurm-local.sh); daemons not started
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ -n "${Torch_DIR:-}" ]; then
  echo "setup: using LibTorch at Torch_DIR=$Torch_DIR"
else
  venv="$cache/venv"
  python="$(command -v python3)"
  if [ ! -x "$venv/bin/python" ]; then
    echo "setup: creating $venv"
    "$python" -m venv "$venv"
  fi
  if ! "$venv/bin/python" -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$torch_version')" 2>/dev/null; then
    echo "setup: installing torch==$torch_version into $venv (several GB, once)"
    "$venv/bin/pip" install -q "torch==$torch_version"
  fi
  if [ "${NNFLEET_WITH_REFERENCE:-0}" = 1 ] && ! "$venv/bin/python" -c "import nnunetv2" 2>/dev/null; then
    echo "setup: installing nnunetv2 (reference implementation) into $venv"
    # Pinned with torch: nnunetv2 (through torchvision) would otherwise upgrade the LibTorch the
    # build uses, and a changed LibTorch under a built tree breaks its precompiled header.
    "$venv/bin/pip" install -q "torch==$torch_version" "nnunetv2==${NNFLEET_NNUNETV2_VERSION:-2.8.1}"
  fi
fi
echo "setup: done"
