# Every external dependency is found here, once, so the per-folder CMakeLists only link targets.

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
# LibTorch's include folder carries its own fmt (12.x), which would shadow the system fmt that
# spdlog is built against. A shim folder holding only a link to the system fmt is searched first
# (-I precedes LibTorch's -isystem), so every translation unit sees one fmt.
find_path(NNFLEET_SYSTEM_FMT_DIR fmt/format.h PATHS /usr/include NO_DEFAULT_PATH)
if(NNFLEET_SYSTEM_FMT_DIR)
  set(_fmt_shim ${CMAKE_BINARY_DIR}/fmt-shim)
  file(MAKE_DIRECTORY ${_fmt_shim})
  file(CREATE_LINK ${NNFLEET_SYSTEM_FMT_DIR}/fmt ${_fmt_shim}/fmt SYMBOLIC)
  target_include_directories(nnfleet_torch BEFORE INTERFACE ${_fmt_shim})
endif()
separate_arguments(_torch_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
target_compile_options(nnfleet_torch INTERFACE ${_torch_flags})
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
