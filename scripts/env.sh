# Sourced by the other scripts: where the cache, the LibTorch and the build folder are.
cache="${NNFLEET_CACHE:-$HOME/.cache/nnfleet}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${NNFLEET_BUILD:-$repo/build}"
export CCACHE_DIR="${CCACHE_DIR:-$cache/ccache}"
# Relative paths in the ccache key: a fresh clone elsewhere still hits the cache.
export CCACHE_BASEDIR="$repo"
export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-8G}"
if [ -z "${Torch_DIR:-}" ] && [ -x "$cache/venv/bin/python" ]; then
  NNFLEET_TORCH_PREFIX="$("$cache/venv/bin/python" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')"
  export NNFLEET_TORCH_PREFIX
  torch_lib="$(dirname "$NNFLEET_TORCH_PREFIX")/../lib"
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
