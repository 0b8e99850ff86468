// MpiSession: MPI_Init on construction, MPI_Finalize on destruction, and the facts every role
// needs about its place in the job (world rank and size, node-local rank).
//
// Colony keeps MPI calls on one thread per process, but that thread need not be the one that
// called MPI_Init (a learner's receive thread owns MPI there), hence MPI_THREAD_SERIALIZED.
// MPI_COMM_WORLD is switched to MPI_ERRORS_RETURN so that MPI_CHECK, not Open MPI's default
// handler, reports failures with rank, host and file:line.
#pragma once

#include <mpi.h>

namespace colony {

class MpiSession {
 public:
  MpiSession(int* argc, char*** argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  // Rank among the processes on this node: picks the local GPU.
  int local_rank() const { return local_rank_; }
  int local_size() const { return local_size_; }

 private:
  int rank_ = 0;
  int size_ = 1;
  int local_rank_ = 0;
  int local_size_ = 1;
};

}  // namespace colony
