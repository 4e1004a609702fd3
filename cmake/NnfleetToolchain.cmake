# Compiler launcher, linker and warnings shared by every target.

find_program(NNFLEET_CCACHE ccache)
if(NNFLEET_CCACHE)
  # Precompiled headers need these sloppiness settings or ccache never hits.
  set(_ccache_env CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime)
  set(CMAKE_C_COMPILER_LAUNCHER ${CMAKE_COMMAND} -E env ${_ccache_env} ${NNFLEET_CCACHE})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CMAKE_COMMAND} -E env ${_ccache_env} ${NNFLEET_CCACHE})
  set(CMAKE_CUDA_COMPILER_LAUNCHER ${NNFLEET_CCACHE})
  message(STATUS "nnfleet: compiling through ccache (${NNFLEET_CCACHE})")
endif()

find_program(NNFLEET_MOLD mold)
if(NNFLEET_MOLD)
  add_link_options(-fuse-ld=mold)
  message(STATUS "nnfleet: linking with mold")
endif()

add_library(nnfleet_warnings INTERFACE)
target_compile_options(nnfleet_warnings INTERFACE -Wall -Wextra -Wno-unused-parameter)
