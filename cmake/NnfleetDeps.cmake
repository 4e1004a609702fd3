# Every external dependency is found here, once, so the per-folder CMakeLists only link targets.

# NNFLEET_SYSROOT: a folder of unpacked Debian packages (scripts/gpu/fetch-sysroot.sh) searched
# before the system for ITK, HDF5, Open MPI, nlohmann-json, spdlog, fmt and CLI11, for machines
# that have none of them (the GPU check machine, scripts/gpu-check.sh). Run the programs with
# LD_LIBRARY_PATH set to its library folders (scripts/gpu-check.sh does). Empty: the system's.
set(NNFLEET_SYSROOT "" CACHE PATH "unpacked Debian packages to build against (scripts/gpu/fetch-sysroot.sh)")
if(NNFLEET_SYSROOT)
  set(_sysroot_usr ${NNFLEET_SYSROOT}/usr)
  set(_sysroot_lib ${_sysroot_usr}/lib/x86_64-linux-gnu)
  list(PREPEND CMAKE_PREFIX_PATH ${_sysroot_usr})
  # No h5cc and no mpicc there: name the folders instead of asking the compiler wrappers.
  set(HDF5_ROOT ${_sysroot_lib}/hdf5/serial)
  set(MPI_C_LIBRARIES ${_sysroot_lib}/openmpi/lib/libmpi.so CACHE STRING "MPI libraries (sysroot)")
  set(MPI_C_ADDITIONAL_INCLUDE_DIRS ${_sysroot_lib}/openmpi/include CACHE STRING "MPI headers (sysroot)")
  # Libraries that the sysroot's libraries need (hwloc, libevent, curl...) are found at link time.
  string(APPEND CMAKE_EXE_LINKER_FLAGS
    " -Wl,-rpath-link,${_sysroot_lib}:${_sysroot_usr}/lib:${NNFLEET_SYSROOT}/lib/x86_64-linux-gnu")
  message(STATUS "nnfleet: dependencies from the sysroot ${NNFLEET_SYSROOT}")
endif()

find_package(ITK 5.2 REQUIRED COMPONENTS
  ITKCommon ITKIOImageBase ITKIONIFTI ITKIONRRD ITKIOMeta ITKImageIntensity ITKLabelMap
  ITKConnectedComponents ITKImageFunction ITKImageGrid ITKTransform ITKSmoothing)
include(${ITK_USE_FILE})
# ITK registers its IO factories through generated code included by ITK_USE_FILE for executables;
# we keep the list explicit so every target that reads images gets them.

find_package(HDF5 REQUIRED COMPONENTS C)
find_package(MPI REQUIRED COMPONENTS C)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
find_package(Threads REQUIRED)

# LibTorch: Torch_DIR / CMAKE_PREFIX_PATH from the user, else scripts/setup.sh's virtual environment.
if(NOT Torch_DIR AND DEFINED ENV{NNFLEET_TORCH_PREFIX})
  list(APPEND CMAKE_PREFIX_PATH $ENV{NNFLEET_TORCH_PREFIX})
endif()
if(NNFLEET_WITH_CUDA AND EXISTS /usr/local/cuda/bin/nvcc AND NOT CMAKE_CUDA_COMPILER)
  set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
endif()
find_package(Torch REQUIRED)
# TorchConfig adds flags (e.g. -D_GLIBCXX_USE_CXX11_ABI) through TORCH_CXX_FLAGS; keep them on torch users only.
add_library(nnfleet_torch INTERFACE)
target_link_libraries(nnfleet_torch INTERFACE ${TORCH_LIBRARIES})
separate_arguments(_torch_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
target_compile_options(nnfleet_torch INTERFACE ${_torch_flags})
# LibTorch 2.11's libraries export a copy of std::filesystem of their own, and whichever library
# comes first in an executable's NEEDED list serves those symbols to every caller: libtorch's
# remove_all then crashes on a null call when our code uses it. Naming libstdc++ before LibTorch
# on the link line binds every std::filesystem call to the system's libstdc++.
target_link_options(nnfleet_torch INTERFACE "LINKER:--push-state,--no-as-needed" "-lstdc++"
                    "LINKER:--pop-state")
# LibTorch ships fmt 12 headers in its include folder, which then shadow the system fmt that spdlog
# was built against (SPDLOG_FMT_EXTERNAL) in every LibTorch user that logs. A folder holding only a
# link to the system fmt, searched before LibTorch's headers, keeps spdlog on its own fmt.
find_path(NNFLEET_SYSTEM_FMT_INCLUDE fmt/core.h PATHS /usr/include /usr/local/include)
if(NNFLEET_SYSTEM_FMT_INCLUDE)
  set(_fmt_shim ${CMAKE_BINARY_DIR}/fmt_shim)
  file(MAKE_DIRECTORY ${_fmt_shim})
  file(CREATE_LINK ${NNFLEET_SYSTEM_FMT_INCLUDE}/fmt ${_fmt_shim}/fmt SYMBOLIC)
  target_include_directories(nnfleet_torch SYSTEM BEFORE INTERFACE ${_fmt_shim})
endif()

# CUDA + NCCL paths: compiled whenever LibTorch was built with CUDA and NCCL's header and library exist.
set(NNFLEET_HAVE_CUDA OFF)
set(NNFLEET_HAVE_NCCL OFF)
if(NNFLEET_WITH_CUDA AND TARGET torch_cuda)
  set(NNFLEET_HAVE_CUDA ON)
  find_package(CUDAToolkit QUIET)
  find_path(NCCL_INCLUDE_DIR nccl.h
    HINTS $ENV{NCCL_HOME}/include ${CUDAToolkit_INCLUDE_DIRS} /usr/local/cuda/include)
  find_library(NCCL_LIBRARY nccl
    HINTS $ENV{NCCL_HOME}/lib ${CUDAToolkit_LIBRARY_DIR} /usr/local/cuda/lib64 /usr/local/cuda/lib)
  if(NCCL_INCLUDE_DIR AND NCCL_LIBRARY)
    set(NNFLEET_HAVE_NCCL ON)
    add_library(nnfleet_nccl INTERFACE)
    target_include_directories(nnfleet_nccl INTERFACE ${NCCL_INCLUDE_DIR})
    target_link_libraries(nnfleet_nccl INTERFACE ${NCCL_LIBRARY} CUDA::cudart)
  endif()
endif()
message(STATUS "nnfleet: CUDA paths ${NNFLEET_HAVE_CUDA}, NCCL paths ${NNFLEET_HAVE_NCCL}")

# One precompiled header for every LibTorch user (see models/, worker/, dist/).
add_library(nnfleet_torch_pch STATIC ${CMAKE_CURRENT_LIST_DIR}/torch_pch.cpp)
target_link_libraries(nnfleet_torch_pch PUBLIC nnfleet_torch)
target_precompile_headers(nnfleet_torch_pch PRIVATE <torch/torch.h>)

# nnfleet_use_torch(target): link LibTorch and reuse the shared precompiled header.
function(nnfleet_use_torch target)
  target_link_libraries(${target} PUBLIC nnfleet_torch)
  target_precompile_headers(${target} REUSE_FROM nnfleet_torch_pch)
endfunction()
