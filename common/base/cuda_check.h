// CUDA_CHECK and NCCL_CHECK: like MPI_CHECK (common/base/check.h), for the CUDA runtime and NCCL.
// Include only where CUDA or NCCL is called: this pulls in their headers.
#pragma once

#include <cuda_runtime_api.h>
#include <nccl.h>

#include "common/base/check.h"

#define CUDA_CHECK(call)                                                               \
  do {                                                                                 \
    const cudaError_t colony_cuda_rc_ = (call);                                        \
    if (colony_cuda_rc_ != cudaSuccess) {                                              \
      ::colony::FailAndAbort("CUDA", #call,                                            \
                             std::string(cudaGetErrorName(colony_cuda_rc_)) + ": " +   \
                                 cudaGetErrorString(colony_cuda_rc_),                  \
                             __FILE__, __LINE__);                                      \
    }                                                                                  \
  } while (0)

#define NCCL_CHECK(call)                                                                    \
  do {                                                                                      \
    const ncclResult_t colony_nccl_rc_ = (call);                                            \
    if (colony_nccl_rc_ != ncclSuccess && colony_nccl_rc_ != ncclInProgress) {              \
      ::colony::FailAndAbort("NCCL", #call, ncclGetErrorString(colony_nccl_rc_), __FILE__, \
                             __LINE__);                                                     \
    }                                                                                       \
  } while (0)
