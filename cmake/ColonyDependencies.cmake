# Finds the six dependencies and exposes them as imported targets:
#   MPI::MPI_CXX, torch (+ TORCH_LIBRARIES), colony::nccl, CUDA::cudart, cereal::cereal,
#   Boost::headers (Asio is header-only), GTest::gtest.
#
# LibTorch: found through CMAKE_PREFIX_PATH / Torch_DIR. launch/build points it at the pinned
# PyPI wheel; any LibTorch 2.11 or newer works the same way.
# NCCL: the copy that LibTorch itself loads (the `nvidia-nccl-*` wheel beside torch), so one
# process never maps two NCCLs. Override with -DNCCL_ROOT=/path (include/nccl.h, lib/libnccl.so*).

find_package(MPI REQUIRED COMPONENTS CXX)

# Torch's config wants the CUDA toolkit for its CUDA build; nvcc is not needed to compile our
# host code, but CUDAToolkit gives the cudart target and headers for CUDA_CHECK.
find_package(CUDAToolkit REQUIRED)
# Colony has no .cu files, so Torch's config need not probe for installed GPUs (that probe
# try_run()s a CUDA program and fails on GPU-less build machines); name the targets instead.
if(NOT DEFINED ENV{TORCH_CUDA_ARCH_LIST} AND NOT TORCH_CUDA_ARCH_LIST)
  set(TORCH_CUDA_ARCH_LIST "8.0;9.0" CACHE STRING "CUDA architectures for Torch's config")
endif()
find_package(Torch REQUIRED)
if(Torch_VERSION AND Torch_VERSION VERSION_LESS 2.11)
  message(FATAL_ERROR "Colony needs LibTorch 2.11 or newer, found ${Torch_VERSION} at ${Torch_DIR}")
endif()

# --- NCCL -------------------------------------------------------------------------------------
if(NOT NCCL_ROOT)
  # Torch_DIR = <site-packages>/torch/share/cmake/Torch for the wheel.
  get_filename_component(_colony_site "${Torch_DIR}/../../../.." ABSOLUTE)
  if(EXISTS "${_colony_site}/nvidia/nccl/include/nccl.h")
    set(NCCL_ROOT "${_colony_site}/nvidia/nccl")
  endif()
endif()
find_path(NCCL_INCLUDE_DIR nccl.h HINTS "${NCCL_ROOT}/include" NO_DEFAULT_PATH)
find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
# The wheel ships only the versioned soname, so look for that name as well.
find_library(NCCL_LIBRARY NAMES nccl libnccl.so.2 HINTS "${NCCL_ROOT}/lib" NO_DEFAULT_PATH)
find_library(NCCL_LIBRARY NAMES nccl libnccl.so.2 HINTS ${CUDAToolkit_LIBRARY_DIR})
if(NOT NCCL_INCLUDE_DIR OR NOT NCCL_LIBRARY)
  message(FATAL_ERROR "NCCL not found: set -DNCCL_ROOT to a folder with include/nccl.h and "
                      "lib/libnccl.so* (normally the nvidia-nccl wheel beside torch)")
endif()
file(STRINGS "${NCCL_INCLUDE_DIR}/nccl.h" _nccl_major REGEX "^#define NCCL_MAJOR")
file(STRINGS "${NCCL_INCLUDE_DIR}/nccl.h" _nccl_minor REGEX "^#define NCCL_MINOR")
message(STATUS "NCCL: ${NCCL_LIBRARY} (${_nccl_major} ${_nccl_minor})")
add_library(colony::nccl SHARED IMPORTED)
set_target_properties(colony::nccl PROPERTIES
  IMPORTED_LOCATION "${NCCL_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${NCCL_INCLUDE_DIR}"
  INTERFACE_LINK_LIBRARIES CUDA::cudart)

# --- the rest -----------------------------------------------------------------------------------
find_package(cereal REQUIRED)
find_package(Boost 1.74 REQUIRED)  # headers only: Asio
find_package(GTest REQUIRED)
find_package(Threads REQUIRED)
find_package(Python3 COMPONENTS Interpreter)

# Tests run MPI programs through this launcher. As root (CI) Open MPI needs explicit consent,
# and every MPI test oversubscribes the 2-core CI machine.
set(COLONY_MPIEXEC "${MPIEXEC_EXECUTABLE}" CACHE FILEPATH "mpirun used by the tests")
set(COLONY_MPIEXEC_FLAGS --oversubscribe --bind-to none)
execute_process(COMMAND id -u OUTPUT_VARIABLE _colony_uid OUTPUT_STRIP_TRAILING_WHITESPACE)
if(_colony_uid STREQUAL "0")
  list(APPEND COLONY_MPIEXEC_FLAGS --allow-run-as-root)
endif()
