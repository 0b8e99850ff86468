# Build-time hygiene for a tree where one <torch/torch.h> translation unit costs ~40 s and
# ~1.5 GB of compiler memory:
#   * ccache in front of the compiler (PCH-aware settings below);
#   * one precompiled <torch/torch.h>, built once and reused by every target that asks;
#   * colony_add_library() / colony_add_executable(), which apply warnings to everything and the
#     PCH only to the sources listed under TORCH_SOURCES, so plain C++ files stay cheap.

add_library(colony_warnings INTERFACE)
target_compile_options(colony_warnings INTERFACE
  -Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wpedantic -Wno-missing-field-initializers
  $<$<BOOL:${COLONY_WERROR}>:-Werror>)

find_program(CCACHE_PROGRAM ccache)
if(COLONY_CCACHE AND CCACHE_PROGRAM)
  # With a PCH ccache must be told that the PCH and __DATE__-style macros are safe to hash.
  set(_colony_launcher ${CMAKE_COMMAND} -E env
      "CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime"
      ${CCACHE_PROGRAM})
  set(CMAKE_C_COMPILER_LAUNCHER ${_colony_launcher})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${_colony_launcher})
  message(STATUS "ccache: ${CCACHE_PROGRAM}")
endif()

# The PCH owner. Its compile flags must match the targets that reuse it, so it gets exactly
# what colony_add_library gives a torch target.
add_library(colony_torch_pch OBJECT "${CMAKE_CURRENT_LIST_DIR}/torch_pch.cc")
target_link_libraries(colony_torch_pch PUBLIC torch colony_warnings)
if(COLONY_PCH)
  target_precompile_headers(colony_torch_pch PRIVATE <torch/torch.h>)
endif()

function(_colony_configure target)
  cmake_parse_arguments(ARG "" "" "SOURCES;TORCH_SOURCES;LIBS" ${ARGN})
  target_sources(${target} PRIVATE ${ARG_SOURCES} ${ARG_TORCH_SOURCES})
  target_link_libraries(${target} PRIVATE colony_warnings)
  target_link_libraries(${target} PUBLIC ${ARG_LIBS})
  target_include_directories(${target} PUBLIC "${PROJECT_SOURCE_DIR}")
  if(ARG_TORCH_SOURCES)
    target_link_libraries(${target} PUBLIC torch)
    if(COLONY_PCH)
      target_precompile_headers(${target} REUSE_FROM colony_torch_pch)
      set_source_files_properties(${ARG_SOURCES} TARGET_DIRECTORY ${target}
                                  PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
    endif()
  endif()
endfunction()

# colony_add_library(name SOURCES a.cc TORCH_SOURCES b.cc LIBS dep...)
function(colony_add_library name)
  add_library(${name} STATIC)
  _colony_configure(${name} ${ARGN})
endfunction()

# colony_add_executable(name SOURCES a.cc TORCH_SOURCES b.cc LIBS dep...)
function(colony_add_executable name)
  add_executable(${name})
  _colony_configure(${name} ${ARGN})
endfunction()
