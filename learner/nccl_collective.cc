// NCCL backend of Collective (collective.h). Compiled and linked on every build; it runs only
// where CUDA devices exist (learners pick it when torch::cuda::is_available()).
#include <chrono>
#include <mutex>
#include <string>

#include "common/base/cuda_check.h"
#include "common/base/runtime.h"  // MpiMutex, PollUntil
#include "learner/collective.h"

// Non-blocking communicators (ncclConfig_t.blocking, ncclCommInitRankConfig) came with 2.14.
static_assert(NCCL_VERSION_CODE >= NCCL_VERSION(2, 14, 0), "Colony needs NCCL 2.14 or newer");

namespace colony {
namespace {

class NcclCollective final : public Collective {
 public:
  NcclCollective(MPI_Comm comm, int cuda_device, cudaStream_t compute_stream,
                 std::chrono::milliseconds timeout)
      : Collective(comm, timeout), device_(cuda_device), compute_stream_(compute_stream) {
    // Bootstrap: learner 0 makes the unique id, MPI carries it as bytes to the others. Both
    // steps are bounded, so a learner that never arrives ends the job instead of hanging it.
    CUDA_CHECK(cudaSetDevice(device_));
    ncclUniqueId id;
    if (rank_ == 0) NCCL_CHECK(ncclGetUniqueId(&id));
    MPI_Request request = MPI_REQUEST_NULL;
    {
      std::lock_guard<std::mutex> lock(MpiMutex());
      MPI_CHECK(MPI_Ibcast(&id, sizeof(id), MPI_BYTE, /*root=*/0, comm_, &request));
    }
    PollUntil([&request] { return TestLocked(&request); }, timeout_, "NCCL start-up", Who(),
              "waiting for the NCCL unique id from learner rank 0 (NCCL start-up)");
    // A non-blocking communicator: ncclCommInitRankConfig returns at once and the
    // communicator's state leaves ncclInProgress when every learner has joined, which we can
    // poll against the timeout (the blocking ncclCommInitRank would wait forever).
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;
    NCCL_CHECK(ncclCommInitRankConfig(&nccl_, size_, id, rank_, &config));
    WaitUntilSettled("NCCL start-up", "NCCL start-up",
                     "every learner to join the communicator (ncclCommInitRankConfig)");
    CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    CUDA_CHECK(cudaEventCreateWithFlags(&ready_, cudaEventDisableTiming));
    CUDA_CHECK(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming));
  }

  ~NcclCollective() override {
    // On a non-blocking communicator ncclCommFinalize flushes what was issued and returns at
    // once; the state settles when every learner has finalized, which is a wait like any other.
    NCCL_CHECK(ncclCommFinalize(nccl_));
    WaitUntilSettled("NCCL shutdown", "NCCL shutdown",
                     "every learner to finalize the communicator (ncclCommFinalize)");
    cudaEventDestroy(done_);
    cudaEventDestroy(ready_);
    cudaStreamDestroy(stream_);
    ncclCommDestroy(nccl_);
  }

  void AllReduceSum(float* data, std::size_t count) override {
    const std::string what = "all-reduce (sum) of " + std::to_string(count) + " floats";
    BeginAfterCompute();
    NCCL_CHECK(ncclAllReduce(data, data, count, ncclFloat, ncclSum, nccl_, stream_));
    WaitUntilSettled("Collective wait", what, "NCCL to enqueue it");
    EndBeforeCompute(what);
  }

  void Broadcast(float* data, std::size_t count, int root) override {
    const std::string what = "broadcast of " + std::to_string(count) + " floats from rank " +
                             std::to_string(root);
    BeginAfterCompute();
    NCCL_CHECK(ncclBroadcast(data, data, count, ncclFloat, root, nccl_, stream_));
    WaitUntilSettled("Collective wait", what, "NCCL to enqueue it");
    EndBeforeCompute(what);
  }

  std::string name() const override { return "nccl"; }

 private:
  std::string Who() const { return Where() + " (GPU " + std::to_string(device_) + ")"; }

  // Mark an event on the compute stream and make the NCCL stream wait on it: the gradients
  // are complete before NCCL reads them, without stalling the host.
  void BeginAfterCompute() {
    CUDA_CHECK(cudaEventRecord(ready_, compute_stream_));
    CUDA_CHECK(cudaStreamWaitEvent(stream_, ready_, 0));
  }

  // True once NCCL has finished what it was doing for this communicator on the host; aborts
  // on an asynchronous error (a peer that died shows up there).
  bool Settled(const std::string& what) {
    ncclResult_t async = ncclSuccess;
    NCCL_CHECK(ncclCommGetAsyncError(nccl_, &async));
    if (async == ncclInProgress) return false;
    if (async != ncclSuccess) {
      ncclCommAbort(nccl_);
      FailAndAbort("NCCL", "ncclCommGetAsyncError",
                   Who() + " during " + what + ": " + ncclGetErrorString(async), __FILE__,
                   __LINE__);
    }
    return true;
  }

  // On a non-blocking communicator every call may return before NCCL has finished it on the
  // host (ncclInProgress); nothing else may be called on it until then.
  void WaitUntilSettled(const char* operation, const std::string& what,
                        const std::string& waiting_for) {
    PollUntil([&] { return Settled(what); }, timeout_, operation, Who(),
              "waiting for " + waiting_for + " during the " + what +
                  "; another learner is stuck, dead or never started",
              [this] { ncclCommAbort(nccl_); });
  }

  // The compute stream waits for NCCL on the device side. The host polls the done event
  // until NCCL has finished, bounded by the timeout, checking NCCL's asynchronous error on
  // the way: a peer that never joins ends the job instead of hanging it.
  void EndBeforeCompute(const std::string& what) {
    CUDA_CHECK(cudaEventRecord(done_, stream_));
    CUDA_CHECK(cudaStreamWaitEvent(compute_stream_, done_, 0));
    PollUntil(
        [&] {
          const cudaError_t state = cudaEventQuery(done_);
          if (state == cudaSuccess) return true;
          if (state != cudaErrorNotReady) CUDA_CHECK(state);
          Settled(what);
          return false;
        },
        timeout_, "Collective wait", Who(),
        "waiting for the " + what + "; another learner is stuck or dead",
        [this] { ncclCommAbort(nccl_); });
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
