// Collects the versions reported by `colony version` from each library at run time.
// Uses only LibTorch's light headers (<torch/version.h>, <torch/cuda.h>), not <torch/torch.h>.
#include "launch/version.h"

#include <cuda_runtime_api.h>
#include <mpi.h>
#include <nccl.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <sstream>

namespace colony {
namespace {

std::string NcclCodeToString(int code) {
  // Since NCCL 2.9 the code is major*10000 + minor*100 + patch.
  std::ostringstream out;
  out << code / 10000 << "." << (code % 10000) / 100 << "." << code % 100;
  return out.str();
}

}  // namespace

VersionInfo GetVersionInfo() {
  VersionInfo info;
  info.colony = COLONY_VERSION;
  info.libtorch = TORCH_VERSION;

  char mpi_text[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int length = 0;
  MPI_Get_library_version(mpi_text, &length);
  info.mpi = std::string(mpi_text, length);
  if (const auto end = info.mpi.find_first_of(",\n"); end != std::string::npos) {
    info.mpi.resize(end);
  }
  int major = 0;
  int minor = 0;
  MPI_Get_version(&major, &minor);
  info.mpi_standard = std::to_string(major) + "." + std::to_string(minor);

  int nccl = 0;
  info.nccl_runtime = ncclGetVersion(&nccl) == ncclSuccess ? NcclCodeToString(nccl) : "unknown";
  info.nccl_headers = NcclCodeToString(NCCL_VERSION_CODE);
  info.cuda_compiled = std::to_string(CUDART_VERSION / 1000) + "." +
                       std::to_string((CUDART_VERSION % 1000) / 10);

  info.cuda_available = torch::cuda::is_available();
  info.cuda_devices = info.cuda_available ? static_cast<int>(torch::cuda::device_count()) : 0;
  return info;
}

std::string FormatVersionInfo(const VersionInfo& info) {
  std::ostringstream out;
  out << "Colony   " << info.colony << "\n"
      << "LibTorch " << info.libtorch << "\n"
      << "MPI      " << info.mpi << " (MPI standard " << info.mpi_standard << ")\n"
      << "NCCL     " << info.nccl_runtime << " (headers " << info.nccl_headers << ")\n"
      << "CUDA     compiled against " << info.cuda_compiled << "; "
      << (info.cuda_available ? "available, " + std::to_string(info.cuda_devices) + " device(s)"
                              : std::string("not available (CPU only)"))
      << "\n";
  return out.str();
}

}  // namespace colony
