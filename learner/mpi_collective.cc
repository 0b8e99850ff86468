// MPI backend of Collective (collective.h): non-blocking MPI collectives polled against a
// deadline, so a dead or stuck peer ends the job with a message instead of a hang.
#include <chrono>
#include <limits>
#include <mutex>
#include <sstream>

#include "common/base/check.h"
#include "common/base/runtime.h"  // MpiMutex (a receive thread shares MPI), PollUntil
#include "learner/collective.h"

namespace colony {

Collective::Collective(MPI_Comm comm, std::chrono::milliseconds timeout)
    : comm_(comm), timeout_(timeout) {
  MPI_CHECK(MPI_Comm_rank(comm_, &rank_));
  MPI_CHECK(MPI_Comm_size(comm_, &size_));
}

std::string Collective::Where() const {
  std::ostringstream out;
  out << "rank " << rank_ << " of " << size_ << " in the " << name() << " learner communicator";
  return out.str();
}

namespace {

class MpiCollective final : public Collective {
 public:
  MpiCollective(MPI_Comm comm, std::chrono::milliseconds timeout) : Collective(comm, timeout) {}

  void AllReduceSum(float* data, std::size_t count) override {
    MPI_Request request = MPI_REQUEST_NULL;
    {
      std::lock_guard<std::mutex> lock(MpiMutex());
      MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, data, CheckedCount(count), MPI_FLOAT, MPI_SUM,
                               comm_, &request));
    }
    Wait(&request, "all-reduce (sum) of " + std::to_string(count) + " floats");
  }

  void Broadcast(float* data, std::size_t count, int root) override {
    MPI_Request request = MPI_REQUEST_NULL;
    {
      std::lock_guard<std::mutex> lock(MpiMutex());
      MPI_CHECK(MPI_Ibcast(data, CheckedCount(count), MPI_FLOAT, root, comm_, &request));
    }
    Wait(&request, "broadcast of " + std::to_string(count) + " floats from rank " +
                       std::to_string(root));
  }

  std::string name() const override { return "mpi"; }

 private:
  static int CheckedCount(std::size_t count) {
    // MPI counts are int; a model that needs more than 2^31 floats per call needs chunking.
    COLONY_CHECK(count <= static_cast<std::size_t>(std::numeric_limits<int>::max()))
        << "buffer of " << count << " floats exceeds one MPI call";
    return static_cast<int>(count);
  }

  void Wait(MPI_Request* request, const std::string& what) {
    PollUntil([request] { return TestLocked(request); }, timeout_, "Collective wait", Where(),
              "waiting for the " + what + "; another learner is stuck, dead or not calling it");
  }
};

}  // namespace

std::unique_ptr<Collective> MakeMpiCollective(MPI_Comm comm, std::chrono::milliseconds timeout) {
  return std::make_unique<MpiCollective>(comm, timeout);
}

}  // namespace colony
