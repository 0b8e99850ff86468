// A deliberately failing MPI program, run by tests/expect_failure.cmake to prove that failures
// end the whole job with a useful message instead of a hang:
//   mpi-check           rank 1 makes an MPI call with an invalid rank; MPI_CHECK must print
//                       rank, host, file:line and MPI's error string, and MPI_Abort must also
//                       end rank 0, which is blocked in a receive that never completes.
//   collective-timeout  rank 0 all-reduces alone; the bounded wait must fire and name the rank
//                       and the operation while rank 1 is blocked elsewhere.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include "common/base/check.h"
#include "common/base/mpi_session.h"
#include "learner/collective.h"

int main(int argc, char** argv) {
  colony::MpiSession mpi(&argc, &argv);
  if (argc != 2 || mpi.size() < 2) {
    std::fprintf(stderr, "usage: mpirun -n 2 mpi_failure_probe mpi-check|collective-timeout\n");
    return 2;
  }
  int never = 0;
  const bool mpi_check = std::strcmp(argv[1], "mpi-check") == 0;
  const bool timeout = std::strcmp(argv[1], "collective-timeout") == 0;
  const int victim = mpi_check ? 1 : 0;
  if (!mpi_check && !timeout) {
    std::fprintf(stderr, "unknown mode '%s'\n", argv[1]);
    return 2;
  }
  if (mpi.rank() != victim) {
    // Blocks until MPI_Abort from the victim ends the job: nobody ever sends this.
    MPI_CHECK(MPI_Recv(&never, 1, MPI_INT, victim, /*tag=*/99, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
    return 0;
  }
  if (mpi_check) {
    MPI_CHECK(MPI_Send(&never, 1, MPI_INT, /*dest=*/mpi.size() + 5, /*tag=*/1, MPI_COMM_WORLD));
  } else {
    auto collective = colony::MakeMpiCollective(MPI_COMM_WORLD, std::chrono::milliseconds(500));
    std::vector<float> buffer(16, 1.0f);
    collective->AllReduceSum(buffer.data(), buffer.size());
  }
  std::fprintf(stderr, "probe: the failure did not abort\n");
  return 0;
}
