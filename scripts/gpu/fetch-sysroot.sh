#!/usr/bin/env bash
# Run on a development machine (Debian 12, network to its package mirror), before the GPU check:
# makes gpu-sysroot/ (unpacked Debian packages: ITK 5.2, HDF5, Open MPI, nlohmann-json, spdlog,
# fmt, CLI11 and the shared libraries they need; see scripts/gpu/build_sysroot.py) and packs it as
# gpu-sysroot.tar.xz, which is what travels to the GPU machine (`run` carry ["gpu-sysroot.tar.xz"]):
# the tracked tree is already ~22 MiB of the 64 MiB a call may carry, and the packed sysroot is a
# fraction of the unpacked one. Both are gitignored. The .deb files are kept in
# $NNFLEET_CACHE/gpu-debs (default ~/.cache/nnfleet/gpu-debs), so a rerun downloads nothing.
#
#   bash scripts/gpu/fetch-sysroot.sh          # builds gpu-sysroot/ and gpu-sysroot.tar.xz
#
# Check it with scripts/gpu/check-sysroot-here.sh (configure, and optionally build, against the
# sysroot only, with the system's copies of those libraries hidden).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${NNFLEET_CACHE:-$HOME/.cache/nnfleet}/gpu-debs"
sysroot="$repo/gpu-sysroot"
for tool in apt-get dpkg readelf ldconfig xz; do
  command -v "$tool" >/dev/null || { echo "fetch-sysroot: $tool is needed" >&2; exit 1; }
done

python3 "$here/build_sysroot.py" "$cache" "$sysroot" "$repo/cmake/NnfleetDeps.cmake"
echo "fetch-sysroot: unpacked size $(du -sh "$sysroot" | cut -f1) ($(du -sm "$sysroot" | cut -f1) MiB)"
tar -C "$repo" -cf - gpu-sysroot | xz -T0 -6 > "$repo/gpu-sysroot.tar.xz.tmp"
mv "$repo/gpu-sysroot.tar.xz.tmp" "$repo/gpu-sysroot.tar.xz"
echo "fetch-sysroot: packed $(du -h "$repo/gpu-sysroot.tar.xz" | cut -f1) -> $repo/gpu-sysroot.tar.xz"
