// What this build of Colony is made of: its own version and those of LibTorch, MPI and NCCL,
// and whether CUDA can be used. `colony version` prints it; run logs start with it.
#pragma once

#include <string>

namespace colony {

struct VersionInfo {
  std::string colony;         // "0.1.0"
  std::string libtorch;       // TORCH_VERSION of the headers compiled against
  std::string mpi;            // MPI_Get_library_version, first line
  std::string mpi_standard;   // "3.1"
  std::string nccl_runtime;   // ncclGetVersion of the loaded libnccl
  std::string nccl_headers;   // NCCL_VERSION_CODE compiled against
  std::string cuda_compiled;  // CUDART_VERSION compiled against
  bool cuda_available = false;
  int cuda_devices = 0;
};

// Safe to call before MPI_Init and on a machine without a GPU.
VersionInfo GetVersionInfo();
std::string FormatVersionInfo(const VersionInfo& info);

}  // namespace colony
