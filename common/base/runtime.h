// What every rank of a distributed run shares: who is who (RoleLayout), the MPI tags, the lock
// that serialises MPI calls between a process's threads, stop signals, bounded waits, and the
// probe-and-receive of a message of unknown size.
//
// Roles: the first L ranks of MPI_COMM_WORLD learn, the rest act; actor a (world rank L + a)
// belongs to learner a mod L. Tags: trajectories (and an actor's final "done") travel on
// kTagTrajectory, weights (and a learner's "stop") on kTagControl; each channel is ordered
// per pair of ranks (MPI's non-overtaking rule), which the shutdown protocol relies on.
#pragma once

#include <mpi.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace colony {

inline constexpr int kTagTrajectory = 101;
inline constexpr int kTagControl = 102;

class RoleLayout {
 public:
  // Throws FlagError unless 1 <= learners < world_size.
  RoleLayout(int world_rank, int world_size, int learners);

  int rank() const { return rank_; }
  int learners() const { return learners_; }
  int actors() const { return size_ - learners_; }
  bool is_learner() const { return rank_ < learners_; }
  // The learner rank that serves actor rank `actor_rank`.
  int LearnerOf(int actor_rank) const { return (actor_rank - learners_) % learners_; }
  // The actor ranks a learner serves, ascending.
  std::vector<int> ActorsOf(int learner_rank) const;
  std::string Describe() const;  // "rank 3: actor 1 of 4, learner 0"

 private:
  int rank_;
  int size_;
  int learners_;
};

// Every MPI call of a process happens under this lock (MPI_THREAD_SERIALIZED): a learner's
// receive thread and its main thread (collectives) both talk to MPI.
std::mutex& MpiMutex();

// SIGINT, SIGTERM and SIGUSR1 set a flag instead of killing the process, so that ranks can stop
// in order (mpirun forwards these signals to every rank; learner 0 replaces these handlers with
// its SignalWatcher and checkpoints before the stop, docs/checkpoints.md). A second signal of
// the same kind restores the default action, so an impatient user can still kill a run.
void InstallStopSignalHandlers();
bool StopRequested();
int StopSignal();  // the signal that asked, or 0

// Calls `done` until it returns true, spinning briefly (local work completes in microseconds),
// then backing off so a waiting rank leaves the core to the others on an oversubscribed node.
// Every bounded wait of Colony goes through here. Past `timeout` it calls `before_abort` (if
// any: e.g. ncclCommAbort) and ends the job with FailAndAbort for `operation`, detail
// "<who>: timed out after N ms <what>" ("rank 0 of 2 in the mpi learner communicator: timed
// out after 500 ms waiting for the all-reduce (sum) of 16 floats; ..."). `who` names this rank
// where the world rank FailAndAbort prints is not enough; empty leaves it out.
void PollUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout,
               const char* operation, const std::string& who, const std::string& what,
               const std::function<void()>& before_abort = nullptr);

// Tests `request` (taking MpiMutex for each test) until it completes. Past `timeout` it ends the
// job with FailAndAbort naming this rank and `what`, which should name the peer
// ("sending a trajectory to learner rank 0"). Returns the completed status.
MPI_Status WaitBounded(MPI_Request* request, std::chrono::milliseconds timeout,
                       const std::string& what);
// One locked MPI_Test; true when the request completed (the request is then MPI_REQUEST_NULL).
bool TestLocked(MPI_Request* request);

// If a message from `source` (or MPI_ANY_SOURCE) with `tag` has arrived on MPI_COMM_WORLD,
// receives all of it into `buffer` (resized to fit), sets *from to its sender and returns
// true; otherwise returns false at once. Matched probe and receive happen under one MpiMutex
// hold, so another thread cannot take the message in between.
bool ReceiveIfArrived(int source, int tag, std::vector<std::byte>* buffer, int* from);

}  // namespace colony
