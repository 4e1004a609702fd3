#!/usr/bin/env python3
"""build_sysroot.py DEB_CACHE SYSROOT NNFLEET_DEPS_CMAKE: the body of scripts/gpu/fetch-sysroot.sh.

Makes SYSROOT a folder of unpacked Debian 12 packages (`apt-get download` + `dpkg -x`) holding what
the GPU machine lacks to build and run nnfleet (ITK 5.2, HDF5, Open MPI, nlohmann-json, spdlog,
fmt, CLI11 and every shared library they need beyond glibc and libstdc++), trimmed to what the
build uses, and made relocatable:
  - ITK: only the libraries of the modules cmake/NnfleetDeps.cmake asks for (and their
    dependencies) are kept; ITKConfig.cmake enables only those modules (so no GDCM/DCMTK/FFTW/HDF5
    CMake packages are searched for), the targets file no longer checks for the dropped
    libraries, and absolute /usr paths in ITK's CMake files become prefix-relative.
  - Open MPI: plugins that need InfiniBand/UCX/OFI/PSM or OpenSHMEM are dropped.
  - documentation, manuals, static archives, Fortran bits and tools the checks do not run are
    removed; absolute symbolic links are made relative; dangling links are removed.
  - shared libraries needed (DT_NEEDED, transitively) by what is kept and found neither in the
    sysroot nor in the base set every Linux image has (glibc, libstdc++, libgcc_s) are looked up
    on this machine (ldconfig -p, dpkg -S) and their packages are fetched too.
"""
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

ARCH = "x86_64-linux-gnu"

# Packages asked for by name; their shared-library dependencies are added automatically.
PACKAGES = [
    # ITK 5.2: headers + CMake package (-dev), libraries (runtime).
    "libinsighttoolkit5-dev", "libinsighttoolkit5.2",
    # HDF5 (serial, C API only: find_package(HDF5 COMPONENTS C)).
    "libhdf5-dev", "libhdf5-103-1",
    # Open MPI 4.1: headers, libraries + plugins, mpirun/orted, help texts, PMIx.
    "libopenmpi-dev", "libopenmpi3", "openmpi-bin", "openmpi-common", "libpmix2",
    # Header-only / small libraries with CMake packages.
    "nlohmann-json3-dev", "libspdlog-dev", "libspdlog1.10", "libfmt-dev", "libfmt9", "libcli11-dev",
    # zlib headers (preprocessing's find_package(ZLIB)); the runtime comes with the resolver.
    "zlib1g-dev",
]

# Libraries every x86-64 Linux image has (glibc, the GCC runtime): never brought along, never
# shadowed (the GPU machine's own libstdc++ must win: its compiler is newer).
BASE_SONAMES = {
    "libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1", "libutil.so.1",
    "libresolv.so.2", "libanl.so.1", "libnsl.so.1", "ld-linux-x86-64.so.2", "libstdc++.so.6",
    "libgcc_s.so.1", "libmvec.so.1", "libcrypt.so.1",
}

# Open MPI plugins dropped: their libraries (UCX, libfabric, verbs, PSM) are for fabrics the
# one-node GPU checks do not use, and OpenSHMEM is not used at all.
OMPI_PLUGIN_DROP = re.compile(
    r"^mca_(.*ucx.*|btl_ofi|mtl_ofi|mtl_psm2?|btl_openib|btl_uct|atomic_.*|memheap_.*|scoll_.*|"
    r"spml_.*|sshmem_.*|.*_monitoring)\.so$")

# Paths removed after unpacking (relative to SYSROOT), as regular expressions.
PRUNE = [re.compile(p) for p in [
    r"^usr/share/(doc|man|info|lintian|bug|pkgconfig|locale)(/|$)",
    r"^usr/lib/valgrind(/|$)",
    r".*libmpi_(java|cxx)\.so.*",
    r"(.*/)?pkgconfig(/|$)",
    r"^usr/lib/x86_64-linux-gnu/fortran(/|$)",
    r".*\.a$",
    r".*\.la$",
    r".*fortran.*",
    r".*libmpi_(mpifh|usempi).*",
    r".*liboshmem.*",
    r".*libmca_common_(ucx|ofi|verbs|monitoring)\.so.*",  # only the dropped plugins use them
    r"^usr/lib/x86_64-linux-gnu/(engines-3|ossl-modules)(/|$)",
    r"^usr/lib/x86_64-linux-gnu/openmpi/lib/openmpi3/mca_.*\.la$",
    r"^usr/share/openmpi/.*(wrapper-data|amca-param-sets|totalview).*",
    r"^usr/lib/x86_64-linux-gnu/hdf5/serial/lib(hdf5_hl|hdf5_cpp|hdf5_hl_cpp|hdf5hl).*",
    r"^usr/lib/x86_64-linux-gnu/libhdf5_serial_(hl|cpp|hl_cpp).*",
    r"^usr/lib/x86_64-linux-gnu/libhdf5_serial\.settings$",
    r"^usr/lib/x86_64-linux-gnu/hdf5/serial/libhdf5\.settings$",
    r"^usr/lib/x86_64-linux-gnu/cmake/ITK.*",  # none in Debian 12; guard against surprises
    r"^usr/lib/python.*",
    r"^etc/(?!openmpi).*",
]]
# Only these programs are kept from usr/bin (mpirun and what it starts).
KEEP_BINARIES = {"orterun", "orted", "mpirun.openmpi", "mpiexec.openmpi", "ompi_info"}


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, **kw)


def deb_for(cache: Path, package: str) -> Path:
    found = sorted(cache.glob(f"{package}_*_*.deb"))
    if not found:
        print(f"  apt-get download {package}", flush=True)
        run(["apt-get", "download", "-q", "-o", "APT::Sandbox::User=root", package], cwd=cache,
            stdout=subprocess.DEVNULL)
        found = sorted(cache.glob(f"{package}_*_*.deb"))
    if not found:
        sys.exit(f"build_sysroot: no .deb for {package} after apt-get download")
    return found[-1]


def unpack(cache: Path, root: Path, package: str, done: set, files=None):
    if package in done:
        return
    deb = deb_for(cache, package)
    run(["dpkg", "-x", str(deb), str(root)])
    done.add(package)
    if files is not None:  # remember what the package holds
        listing = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], capture_output=True).stdout
        import io, tarfile
        with tarfile.open(fileobj=io.BytesIO(listing)) as t:
            files.update("/" + os.path.normpath(m.name) for m in t.getmembers())


def is_elf(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def needed(path: Path):
    out = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", out)


def lib_dirs(root: Path):
    return [root / d for d in (f"usr/lib/{ARCH}", "usr/lib", f"lib/{ARCH}",
                               f"usr/lib/{ARCH}/openmpi/lib", f"usr/lib/{ARCH}/hdf5/serial",
                               f"usr/lib/{ARCH}/pmix2/lib")]


def host_library(soname: str):
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        m = re.match(rf"\s*{re.escape(soname)} \(libc6,x86-64[^)]*\) => (.+)$", line)
        if m:
            return m.group(1).strip()
    return None


def owning_package(path: str):
    real = os.path.realpath(path)
    for candidate in {path, real, real.replace("/lib/", "/usr/lib/", 1) if real.startswith("/lib/") else real,
                      path.replace("/usr/lib/", "/lib/", 1) if path.startswith("/usr/lib/") else path}:
        r = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if r.returncode == 0:
            return r.stdout.split(":")[0].strip()
    return None


def walk(root: Path):
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            yield Path(dirpath) / name


def itk_components(deps_cmake: Path):
    text = deps_cmake.read_text()
    m = re.search(r"find_package\(ITK[^)]*?COMPONENTS(.*?)\)", text, re.S)
    if not m:
        sys.exit("build_sysroot: no find_package(ITK ... COMPONENTS ...) in " + str(deps_cmake))
    return m.group(1).split()


def itk_trim(root: Path, components):
    """Keeps the ITK modules (and libraries) that `components` need; returns the library files kept."""
    cmake_dir = root / "usr/lib/cmake/ITK-5.2"
    modules = cmake_dir / "Modules"

    def var(mod, key):
        f = modules / f"{mod}.cmake"
        m = re.search(rf'set\({re.escape(mod)}_{key} "(.*?)"\)', f.read_text())
        return [x for x in (m.group(1).split(";") if m else []) if x]

    closure = []

    def visit(mod):
        if mod in closure:
            return
        closure.append(mod)
        for dep in var(mod, "TRANSITIVE_DEPENDS"):
            visit(dep)

    for c in components:
        visit(c)

    # Library targets of those modules and their link closure inside ITK's targets file.
    targets_text = (cmake_dir / "ITKTargets.cmake").read_text()
    links = {}
    for m in re.finditer(r"set_target_properties\((\S+) PROPERTIES\n(.*?)\n\)", targets_text, re.S):
        lm = re.search(r'INTERFACE_LINK_LIBRARIES "(.*?)"', m.group(2))
        links[m.group(1)] = lm.group(1).split(";") if lm else []
    all_targets = set(re.findall(r"add_library\((\S+) (?:SHARED|STATIC|INTERFACE) IMPORTED\)", targets_text))
    wanted = set()

    def add_target(t):
        if t in wanted or t not in all_targets:
            return
        wanted.add(t)
        for d in links.get(t, []):
            add_target(d)

    none_text = (cmake_dir / "ITKTargets-none.cmake").read_text()
    sonames = {}
    for m in re.finditer(r"set_target_properties\((\S+) PROPERTIES\n(.*?)\n\s*\)", none_text, re.S):
        so = re.search(r'IMPORTED_SONAME_NONE "([^"]+)"', m.group(2))
        if so:
            sonames[m.group(1)] = so.group(1)
        dep = re.search(r'IMPORTED_LINK_DEPENDENT_LIBRARIES_NONE "([^"]+)"', m.group(2))
        if dep:  # shared libraries a library needs at run time (private link dependencies)
            links.setdefault(m.group(1), []).extend(dep.group(1).split(";"))
    for mod in closure:
        for lib in var(mod, "LIBRARIES"):
            add_target(lib)
    keep_files = {sonames[t] for t in wanted if t in sonames}

    # ITKConfig.cmake: enable only the closure (each enabled module's file is loaded, and
    # ITKGDCM, ITKHDF5, ITKDCMTK, ITKFFT... would search for their own CMake packages).
    config = cmake_dir / "ITKConfig.cmake"
    text = config.read_text()
    text = re.sub(r'set\(ITK_MODULES_ENABLED "[^"]*"\)',
                  'set(ITK_MODULES_ENABLED "' + ";".join(closure) + '")  # trimmed by build_sysroot.py', text)
    text = re.sub(r'set\(ITK_USE_FFTW([DF]) "ON"\)', r'set(ITK_USE_FFTW\1 "OFF")', text)
    config.write_text(text)

    # Prefix-relative paths instead of /usr in ITK's CMake files.
    def relocate(path: Path, prefix_var: str):
        t = path.read_text()
        t2 = re.sub(r'(?<=["; ])/usr/(?=lib/' + ARCH + r'/|include\b)', "${" + prefix_var + "}/", t)
        if path.name.startswith("ITKTargets") and path.name != "ITKTargets-none.cmake":
            # Dropped libraries are not checked for (their targets stay defined but unused).
            t2 = t2.replace('if(NOT EXISTS "${_cmake_file}")', 'if(FALSE)  # trimmed by build_sysroot.py')
        if t2 != t:
            path.write_text(t2)

    relocate(cmake_dir / "ITKTargets.cmake", "_IMPORT_PREFIX")
    relocate(cmake_dir / "ITKConfig.cmake", "ITK_INSTALL_PREFIX")
    for f in modules.glob("*.cmake"):
        relocate(f, "ITK_INSTALL_PREFIX")

    # Drop the libraries no kept target uses.
    kept = []
    for f in (root / "usr/lib").glob("lib*-5.2.so*"):
        base = f.name if f.name.endswith(".so.1") else f.name + ".1"
        if base in keep_files:
            kept.append(f.name)
        else:
            f.unlink()
    print(f"  ITK: {len(closure)} modules, {len(keep_files)} libraries kept "
          f"({', '.join(sorted(keep_files))})")
    return closure


def header_closure(root: Path, includes, include_dirs, defines=()):
    """Headers under SYSROOT that a translation unit including `includes` reads (c++ -M), for
    C++17 and C++20 (a little margin for the GPU machine's newer compiler)."""
    source = "".join(f"#include <{h}>\n" for h in includes)
    seen = set()
    for std in ("c++17", "c++20"):
        cmd = [os.environ.get("CXX", "c++"), f"-std={std}", "-M", "-x", "c++", "-"]
        cmd += [f"-I{d}" for d in include_dirs] + [f"-D{d}" for d in defines]
        r = subprocess.run(cmd, input=source, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("build_sysroot: preprocessing failed:\n" + r.stderr[-3000:])
        for token in r.stdout.replace("\\\n", " ").split():
            if token.endswith(":"):
                continue
            path = Path(token).resolve()
            if root.resolve() in path.parents:
                seen.add(path)
    return seen


def trim_headers(root: Path, folder: Path, keep):
    removed = 0
    for p in list(walk(folder)):
        if (p.is_file() or p.is_symlink()) and p.resolve() not in keep:
            p.unlink()
            removed += 1
    return removed


def project_includes(repo: Path, pattern):
    found = set()
    for d in ("common", "preprocessing", "evaluation", "dist", "models", "worker", "launcher", "tests"):
        for f in (repo / d).rglob("*"):
            if f.suffix in (".h", ".hpp", ".cpp", ".cc") and f.is_file():
                found.update(re.findall(r'^\s*#\s*include\s*[<"](' + pattern + r')[>"]', f.read_text(errors="ignore"), re.M))
    return sorted(found)


def trim_all_headers(root: Path, repo: Path, itk_closure):
    usr = root / "usr"
    itk_inc = usr / "include/ITK-5.2"
    # ITK: what the project's ITK includes read, plus the IO factories ITK_USE_FILE registers.
    itk = project_includes(repo, r"itk\w*\.h|vnl\w*\.h|vcl\w*\.h")
    factories = {"ITKIONIFTI": "itkNiftiImageIOFactory.h", "ITKIONRRD": "itkNrrdImageIOFactory.h",
                 "ITKIOMeta": "itkMetaImageIOFactory.h"}
    itk += [h for m, h in factories.items() if m in itk_closure]
    keep = header_closure(root, sorted(set(itk)), [itk_inc, usr / "include"])
    n = trim_headers(root, itk_inc, keep)
    print(f"  ITK headers: {len(itk)} included by the project -> {len([k for k in keep if itk_inc.resolve() in k.parents])} kept, {n} removed")
    # Open MPI: mpi.h (with its C++ bindings, in case OMPI_SKIP_MPICXX is ever dropped) needs
    # none of the internal opal/orte headers.
    mpi_inc = usr / f"lib/{ARCH}/openmpi/include"
    keep = header_closure(root, ["mpi.h"], [mpi_inc, mpi_inc / "openmpi"])
    n = trim_headers(root, mpi_inc / "openmpi", keep)
    print(f"  Open MPI headers: {n} internal headers removed")
    # HDF5: the C API only (find_package(HDF5 COMPONENTS C)); the C++ headers go.
    h5_inc = usr / "include/hdf5/serial"
    keep = header_closure(root, ["hdf5.h"], [h5_inc])
    n = trim_headers(root, h5_inc, keep)
    print(f"  HDF5 headers: {n} C++/high-level headers removed")


def soname_of(path: Path):
    out = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True).stdout
    m = re.search(r"\(SONAME\)\s+Library soname: \[(.+?)\]", out)
    return m.group(1) if m else None


def drop_unneeded_secondary(root: Path, secondary_files):
    """Libraries of packages added only for their dependencies that nothing kept needs
    (libbrotlienc, the openssl engines...)."""
    elves = [p for p in walk(root) if not p.is_symlink() and p.is_file() and is_elf(p)]
    secondary = {p for p in elves if "/" + p.relative_to(root).as_posix() in secondary_files}
    want = set()
    frontier = [p for p in elves if p not in secondary]
    by_soname = {}
    for p in secondary:
        by_soname.setdefault(soname_of(p) or p.name, p)
    done = set()
    while frontier:
        p = frontier.pop()
        if p in done:
            continue
        done.add(p)
        for so in needed(p):
            want.add(so)
            if so in by_soname:
                frontier.append(by_soname[so])
    removed = [p.name for p in secondary if (soname_of(p) or p.name) not in want]
    for p in secondary:
        if (soname_of(p) or p.name) not in want:
            p.unlink()
    if removed:
        print(f"  dropped unneeded: {', '.join(sorted(removed))}")


def prune(root: Path):
    for p in sorted(walk(root), key=lambda p: -len(p.parts)):
        rel = p.relative_to(root).as_posix()
        drop = any(r.match(rel) for r in PRUNE)
        if rel.startswith("usr/bin/") or rel.startswith("usr/sbin/"):
            drop = p.name not in KEEP_BINARIES
        if rel.startswith(f"usr/lib/{ARCH}/openmpi/lib/openmpi3/") and OMPI_PLUGIN_DROP.match(p.name):
            drop = True
        if drop and (p.is_symlink() or p.is_file()):
            p.unlink()
    for d in ["usr/share/doc", "usr/share/man", "usr/share/lintian"]:
        shutil.rmtree(root / d, ignore_errors=True)


def fix_links(root: Path):
    """Absolute links point into the sysroot (relatively); dangling links go."""
    changed = True
    while changed:
        changed = False
        for p in list(walk(root)):
            if not p.is_symlink():
                continue
            target = os.readlink(p)
            if target.startswith("/"):
                inside = root / target.lstrip("/")
                os.unlink(p)
                os.symlink(os.path.relpath(inside, p.parent), p)
                changed = True
            elif not p.exists():
                p.unlink()
                changed = True


def remove_empty_dirs(root: Path):
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        if dirpath != str(root) and not os.listdir(dirpath):
            os.rmdir(dirpath)


def missing_sonames(root: Path):
    have = set()
    for d in lib_dirs(root):
        if d.is_dir():
            have.update(x.name for x in d.iterdir())
    missing = {}
    for p in walk(root):
        if p.is_symlink() or not p.is_file() or not is_elf(p):
            continue
        for so in needed(p):
            if so not in have and so not in BASE_SONAMES:
                missing.setdefault(so, p.relative_to(root).as_posix())
    return missing


def main():
    cache, root, deps_cmake = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    cache.mkdir(parents=True, exist_ok=True)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    done = set()
    print("build_sysroot: packages")
    for p in PACKAGES:
        unpack(cache, root, p, done)
    itk_closure = itk_trim(root, itk_components(deps_cmake))
    trim_all_headers(root, deps_cmake.parent.parent, itk_closure)
    prune(root)
    fix_links(root)
    # Shared libraries needed by what is kept, until nothing is missing.
    secondary_files = set()
    for round_ in range(10):
        missing = missing_sonames(root)
        if not missing:
            break
        added = []
        for so, user in sorted(missing.items()):
            path = host_library(so)
            pkg = owning_package(path) if path else None
            if not pkg:
                sys.exit(f"build_sysroot: {so} (needed by {user}) is not installed here; "
                         "install the package that has it and rerun")
            if pkg not in done:
                unpack(cache, root, pkg, done, secondary_files)
                added.append(f"{pkg} ({so})")
        print(f"  round {round_ + 1}: added {', '.join(added) if added else 'nothing'}")
        prune(root)
        fix_links(root)
        if not added:
            sys.exit(f"build_sysroot: still missing {sorted(missing)}")
    drop_unneeded_secondary(root, secondary_files)
    fix_links(root)
    remove_empty_dirs(root)
    (root / "PACKAGES.txt").write_text("".join(
        f"{d.name}\n" for d in sorted(cache.glob("*.deb")) if d.name.split("_")[0] in done))
    print(f"build_sysroot: {len(done)} packages unpacked into {root}")


if __name__ == "__main__":
    main()
