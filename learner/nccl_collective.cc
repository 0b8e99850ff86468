// NCCL backend of Collective (collective.h). Compiled and linked on every build; it runs only
// where CUDA devices exist (learners pick it when torch::cuda::is_available()).
#include <chrono>
#include <sstream>
#include <thread>

#include "common/gpu_check.h"
#include "learner/collective.h"

namespace colony {
namespace {

class NcclCollective final : public Collective {
 public:
  NcclCollective(MPI_Comm comm, int cuda_device, cudaStream_t compute_stream,
                 std::chrono::milliseconds timeout)
      : Collective(comm, timeout), device_(cuda_device), compute_stream_(compute_stream) {
    // Bootstrap: learner 0 makes the unique id, MPI carries it as bytes to the others.
    CUDA_CHECK(cudaSetDevice(device_));
    ncclUniqueId id;
    if (rank_ == 0) NCCL_CHECK(ncclGetUniqueId(&id));
    MPI_CHECK(MPI_Bcast(&id, sizeof(id), MPI_BYTE, /*root=*/0, comm_));
    NCCL_CHECK(ncclCommInitRank(&nccl_, size_, id, rank_));
    CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    CUDA_CHECK(cudaEventCreateWithFlags(&ready_, cudaEventDisableTiming));
    CUDA_CHECK(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming));
  }

  ~NcclCollective() override {
    cudaEventDestroy(done_);
    cudaEventDestroy(ready_);
    cudaStreamDestroy(stream_);
    ncclCommDestroy(nccl_);
  }

  void AllReduceSum(float* data, std::size_t count) override {
    BeginAfterCompute();
    NCCL_CHECK(ncclAllReduce(data, data, count, ncclFloat, ncclSum, nccl_, stream_));
    EndBeforeCompute("all-reduce (sum) of " + std::to_string(count) + " floats");
  }

  void Broadcast(float* data, std::size_t count, int root) override {
    BeginAfterCompute();
    NCCL_CHECK(ncclBroadcast(data, data, count, ncclFloat, root, nccl_, stream_));
    EndBeforeCompute("broadcast of " + std::to_string(count) + " floats from rank " +
                     std::to_string(root));
  }

  std::string name() const override { return "nccl"; }

 private:
  // Mark an event on the compute stream and make the NCCL stream wait on it: the gradients
  // are complete before NCCL reads them, without stalling the host.
  void BeginAfterCompute() {
    CUDA_CHECK(cudaEventRecord(ready_, compute_stream_));
    CUDA_CHECK(cudaStreamWaitEvent(stream_, ready_, 0));
  }

  // The compute stream must not touch the buffer before NCCL is done, and the host must not
  // wait forever for a peer that will never join: poll the event against the deadline and
  // check NCCL's asynchronous error (a peer that died shows up there).
  void EndBeforeCompute(const std::string& what) {
    CUDA_CHECK(cudaEventRecord(done_, stream_));
    CUDA_CHECK(cudaStreamWaitEvent(compute_stream_, done_, 0));
    const auto deadline = std::chrono::steady_clock::now() + timeout_;
    while (true) {
      const cudaError_t state = cudaEventQuery(done_);
      if (state == cudaSuccess) return;
      if (state != cudaErrorNotReady) CUDA_CHECK(state);
      ncclResult_t async = ncclSuccess;
      NCCL_CHECK(ncclCommGetAsyncError(nccl_, &async));
      if (async != ncclSuccess && async != ncclInProgress) {
        ncclCommAbort(nccl_);
        FailAndAbort("NCCL", "ncclCommGetAsyncError", Where() + " during " + what + ": " +
                     ncclGetErrorString(async), __FILE__, __LINE__);
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        ncclCommAbort(nccl_);
        std::ostringstream detail;
        detail << Where() << " (GPU " << device_ << "): timed out after " << timeout_.count()
               << " ms waiting for the " << what << "; another learner is stuck or dead";
        FailAndAbort("Colony", "Collective wait", detail.str(), __FILE__, __LINE__);
      }
      std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
  }

  int device_;
  cudaStream_t compute_stream_;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t ready_ = nullptr;
  cudaEvent_t done_ = nullptr;
  ncclComm_t nccl_ = nullptr;
};

}  // namespace

std::unique_ptr<Collective> MakeNcclCollective(MPI_Comm comm, int cuda_device,
                                               void* compute_stream,
                                               std::chrono::milliseconds timeout) {
  return std::make_unique<NcclCollective>(comm, cuda_device,
                                          static_cast<cudaStream_t>(compute_stream), timeout);
}

}  // namespace colony
