// Roles, stop signals, bounded waits and probe-and-receive shared by both roles
// (common/base/runtime.h).
#include "common/base/runtime.h"

#include <csignal>
#include <thread>

#include "common/base/check.h"
#include "common/base/flags.h"

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

void PollUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout,
               const char* operation, const std::string& who, const std::string& what,
               const std::function<void()>& before_abort) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (int spins = 0; !done(); ++spins) {
    if (std::chrono::steady_clock::now() >= deadline) {
      if (before_abort) before_abort();
      FailAndAbort("Colony", operation,
                   (who.empty() ? "" : who + ": ") + "timed out after " +
                       std::to_string(timeout.count()) + " ms " + what,
                   __FILE__, __LINE__);
    }
    if (spins > 200) std::this_thread::sleep_for(std::chrono::microseconds(spins > 2000 ? 500 : 50));
  }
}

MPI_Status WaitBounded(MPI_Request* request, std::chrono::milliseconds timeout,
                       const std::string& what) {
  MPI_Status status{};
  PollUntil(
      [&] {
        int done = 0;
        std::lock_guard<std::mutex> lock(MpiMutex());
        MPI_CHECK(MPI_Test(request, &done, &status));
        return done != 0;
      },
      timeout, "WaitBounded", /*who=*/"", what);
  return status;
}

bool ReceiveIfArrived(int source, int tag, std::vector<std::byte>* buffer, int* from) {
  int found = 0;
  MPI_Message message;
  MPI_Status status;
  std::lock_guard<std::mutex> lock(MpiMutex());
  MPI_CHECK(MPI_Improbe(source, tag, MPI_COMM_WORLD, &found, &message, &status));
  if (!found) return false;
  int bytes = 0;
  MPI_CHECK(MPI_Get_count(&status, MPI_BYTE, &bytes));
  buffer->resize(static_cast<std::size_t>(bytes));
  MPI_CHECK(MPI_Mrecv(buffer->data(), bytes, MPI_BYTE, &message, MPI_STATUS_IGNORE));
  *from = status.MPI_SOURCE;
  return true;
}

}  // namespace colony
