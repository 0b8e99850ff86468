// Roles, stop signals and bounded waits shared by both roles (common/runtime.h).
#include "common/runtime.h"

#include <csignal>
#include <thread>

#include "common/check.h"
#include "common/flags.h"

namespace colony {
namespace {

volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void OnStopSignal(int signal) {
  if (g_stop_signal == signal) std::signal(signal, SIG_DFL);  // second time: default action
  g_stop_signal = signal;
}

}  // namespace

RoleLayout::RoleLayout(int world_rank, int world_size, int learners)
    : rank_(world_rank), size_(world_size), learners_(learners) {
  if (learners < 1 || learners >= world_size) {
    throw FlagError("--learners " + std::to_string(learners) + ": expected 1 to " +
                    std::to_string(world_size - 1) + " with " + std::to_string(world_size) +
                    " MPI ranks (every learner needs at least one actor rank; start more with "
                    "mpirun -n)");
  }
}

std::vector<int> RoleLayout::ActorsOf(int learner_rank) const {
  std::vector<int> ranks;
  for (int r = learners_; r < size_; ++r) {
    if (LearnerOf(r) == learner_rank) ranks.push_back(r);
  }
  return ranks;
}

std::string RoleLayout::Describe() const {
  if (is_learner()) {
    return "rank " + std::to_string(rank_) + ": learner " + std::to_string(rank_) + " of " +
           std::to_string(learners_) + ", " + std::to_string(ActorsOf(rank_).size()) + " actors";
  }
  return "rank " + std::to_string(rank_) + ": actor " + std::to_string(rank_ - learners_) +
         " of " + std::to_string(actors()) + ", learner rank " + std::to_string(LearnerOf(rank_));
}

std::mutex& MpiMutex() {
  static std::mutex mutex;
  return mutex;
}

void InstallStopSignalHandlers() {
  std::signal(SIGINT, OnStopSignal);
  std::signal(SIGTERM, OnStopSignal);
  // SIGUSR1 asks learner 0 for a checkpoint and an orderly stop; mpirun forwards it to every
  // rank, and its default action would kill the others.
  std::signal(SIGUSR1, OnStopSignal);
}

bool StopRequested() { return g_stop_signal != 0; }
int StopSignal() { return g_stop_signal; }

bool TestLocked(MPI_Request* request) {
  int done = 0;
  std::lock_guard<std::mutex> lock(MpiMutex());
  MPI_CHECK(MPI_Test(request, &done, MPI_STATUS_IGNORE));
  return done != 0;
}

MPI_Status WaitBounded(MPI_Request* request, std::chrono::milliseconds timeout,
                       const std::string& what) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  MPI_Status status{};
  for (int spins = 0;; ++spins) {
    int done = 0;
    {
      std::lock_guard<std::mutex> lock(MpiMutex());
      MPI_CHECK(MPI_Test(request, &done, &status));
    }
    if (done) return status;
    if (std::chrono::steady_clock::now() >= deadline) {
      FailAndAbort("Colony", "WaitBounded",
                   "timed out after " + std::to_string(timeout.count()) + " ms " + what,
                   __FILE__, __LINE__);
    }
    // Spin briefly (local messages complete in microseconds), then back off so a waiting
    // rank leaves the core to the others on an oversubscribed node.
    if (spins > 200) std::this_thread::sleep_for(std::chrono::microseconds(spins > 2000 ? 500 : 50));
  }
}

}  // namespace colony
