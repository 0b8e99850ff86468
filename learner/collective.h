// Collective: how learner ranks sum gradients and share weights, behind one seam.
//
// Two backends with the same contract:
//   * MPI  - host buffers, for CPU learners (and the CI machine, which has no GPU);
//   * NCCL - device buffers, one GPU per learner, bootstrapped over MPI (the unique id is
//            broadcast as bytes on the learner communicator).
// Every operation is bounded, NCCL start-up included: if it has not completed within `timeout`,
// the job is aborted with a message naming this rank, the operation and the communicator, never
// a silent hang (the polling is common/base/runtime.h's PollUntil).
//
// Thread use: one thread at a time per collective. The MPI backend takes MpiMutex()
// (common/base/runtime.h) around each MPI call, so a receive thread may use MPI meanwhile.
#pragma once

#include <mpi.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace colony {

class Collective {
 public:
  virtual ~Collective() = default;

  // data[i] = sum over members of data[i], in place, for i < count. Returns when done.
  virtual void AllReduceSum(float* data, std::size_t count) = 0;
  // Copies root's data[0..count) to every member.
  virtual void Broadcast(float* data, std::size_t count, int root) = 0;

  virtual std::string name() const = 0;  // "mpi" or "nccl"
  int rank() const { return rank_; }
  int size() const { return size_; }

 protected:
  Collective(MPI_Comm comm, std::chrono::milliseconds timeout);
  // "rank 1 of 2 in the learner communicator".
  std::string Where() const;

  MPI_Comm comm_;
  std::chrono::milliseconds timeout_;
  int rank_ = 0;
  int size_ = 1;
};

// `comm` must outlive the collective. Buffers are host memory.
std::unique_ptr<Collective> MakeMpiCollective(MPI_Comm comm, std::chrono::milliseconds timeout);

// Collective over `comm`'s members, one GPU each (`cuda_device`). Buffers are device memory.
// Work is ordered after everything already queued on `compute_stream` (a cudaStream_t; nullptr
// for the default stream) and the compute stream waits for the result.
std::unique_ptr<Collective> MakeNcclCollective(MPI_Comm comm, int cuda_device,
                                               void* compute_stream,
                                               std::chrono::milliseconds timeout);

}  // namespace colony
