// Receiver: a learner's communication thread. It owns this learner's point-to-point MPI
// traffic so that training never waits on the network:
//
//   actors ──trajectory bytes──▶ [probe, receive, validate] ──▶ bounded queue ──▶ Pop() (trainer)
//   trainer ──PublishWeights()──▶ [newest version only] ──▶ each actor of the group
//
// A message that fails validation (common/wire/wire.h) is dropped, counted and logged; so is one
// from a rank outside this learner's group. While the queue is full the thread stops taking
// trajectories, so MPI holds them and the actors' send credits run out: back-pressure.
// Weights: each actor has at most one weights message in flight; when it completes, the actor
// gets the newest version published by then (intermediate versions are skipped, never queued).
//
// Shutdown(): closes the queue (a trainer blocked in Pop() wakes and gets false), sends "stop"
// to every actor (after any weights, on the same channel), keeps receiving — counted as
// after_stop — until every actor has sent "done", then the thread ends. Every wait is bounded
// by `timeout` and ends the job with a message naming the silent ranks.
//
// Errors: an exception in the thread ends the thread, not the process: it is kept (the first
// one, common/base/first_error.h), the queue is closed, and Pop() and Shutdown() re-raise it on the
// caller's thread as a std::runtime_error: "learner rank R: receive thread failed: <message>".
#pragma once

#include <torch/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/base/bounded_queue.h"
#include "common/base/first_error.h"
#include "common/base/runtime.h"
#include "common/wire/wire.h"

namespace colony {

// Every trajectory message an actor sent ends up in exactly one of these (after Shutdown):
// received (then trained, dropped as stale, or left unused by the trainer) or after_stop.
struct ReceiverCounters {
  std::int64_t received = 0;       // valid trajectories queued for the trainer
  std::int64_t malformed = 0;      // dropped: failed validation
  std::int64_t foreign = 0;        // dropped: from a rank that is not this learner's actor
  std::int64_t after_stop = 0;     // arrived after the stop: drained, not decoded
  std::int64_t left_in_queue = 0;  // received but still queued at the stop
  std::int64_t weights_sent = 0;
};

class Receiver {
 public:
  Receiver(const RoleLayout& layout, TrajectoryGeometry geometry, std::size_t queue_capacity,
           std::chrono::milliseconds timeout);
  ~Receiver();  // joins the thread; call Shutdown() first for an orderly end
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  // The oldest valid trajectory, waiting at most `wait`; false if none arrived in time or the
  // receiver is shut down. Throws the thread's error if it failed.
  bool Pop(DecodedTrajectory* out, std::chrono::milliseconds wait);
  // Hands a new weights version (flat float32 on the CPU) to the fan-out.
  void PublishWeights(const torch::Tensor& flat, std::int64_t version);
  // Orderly end (see the file comment); returns when every actor is done. Throws the thread's
  // error if it failed.
  void Shutdown();

  std::size_t queue_depth() const;
  ReceiverCounters counters() const;
  // Actor ranks with the time since each was last heard from, longest first, for errors.
  std::string SilentActors() const;

 private:
  void Run();  // the thread's loop
  bool ReceiveOne();   // one trajectory-channel message, if one is waiting and there is room
  bool FanOutWeights();
  void SendStops();
  void HandleMessage(int source);

  const RoleLayout layout_;
  const TrajectoryGeometry geometry_;
  const std::chrono::milliseconds timeout_;
  const std::vector<int> actors_;

  BoundedQueue<DecodedTrajectory> queue_;  // thread -> trainer; closed by Shutdown or an error
  FirstError errors_;                      // the thread's exception, for Pop and Shutdown

  mutable std::mutex mu_;  // guards everything below up to the thread
  ReceiverCounters counters_;
  std::shared_ptr<const std::vector<std::byte>> latest_weights_;
  std::int64_t latest_version_ = -1;
  bool shutdown_requested_ = false;
  std::map<int, std::chrono::steady_clock::time_point> last_heard_;

  // Owned by the thread alone.
  std::vector<std::byte> buffer_;
  struct WeightsSend {
    std::shared_ptr<const std::vector<std::byte>> bytes;  // alive until the send completes
    MPI_Request request = MPI_REQUEST_NULL;
    std::int64_t version = -1;
  };
  std::map<int, WeightsSend> weights_sends_;
  std::map<int, bool> done_;
  std::vector<MPI_Request> stop_requests_;
  std::vector<std::byte> stop_bytes_;
  std::thread thread_;
};

}  // namespace colony
