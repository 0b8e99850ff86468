// main() for GoogleTest binaries that run under mpirun: every rank runs every test (tests are
// collective), rank 0 prints the usual report, other ranks print only their failures with a
// rank prefix, and the exit code is non-zero if any rank failed.
#include <gtest/gtest.h>

#include <cstdio>

#include "common/base/mpi_session.h"

namespace {

// Non-zero ranks: print failed assertions only, tagged with the rank.
class RankFailurePrinter : public testing::EmptyTestEventListener {
 public:
  explicit RankFailurePrinter(int rank) : rank_(rank) {}
  void OnTestPartResult(const testing::TestPartResult& result) override {
    if (!result.failed()) return;
    std::fprintf(stderr, "[rank %d] %s:%d: failure\n%s\n", rank_,
                 result.file_name() ? result.file_name() : "?", result.line_number(),
                 result.summary());
  }

 private:
  int rank_;
};

}  // namespace

int main(int argc, char** argv) {
  colony::MpiSession mpi(&argc, &argv);
  testing::InitGoogleTest(&argc, argv);
  if (mpi.rank() != 0) {
    auto& listeners = testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new RankFailurePrinter(mpi.rank()));
  }
  int failed = RUN_ALL_TESTS() != 0 ? 1 : 0;
  int any_failed = 0;
  MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (mpi.rank() == 0 && any_failed && !failed) {
    std::fprintf(stderr, "a test failed on another rank (see [rank N] lines above)\n");
  }
  return any_failed;
}
