// Receiver: a learner's communication thread. It owns this learner's point-to-point MPI
// traffic so that training never waits on the network:
//
//   actors ──trajectory bytes──▶ [probe, receive, validate] ──▶ bounded queue ──▶ Pop() (trainer)
//   trainer ──PublishWeights()──▶ [newest version only] ──▶ each actor of the group
//
// A message that fails validation (common/wire.h) is dropped, counted and logged; so is one
// from a rank outside this learner's group. While the queue is full the thread stops taking
// trajectories, so MPI holds them and the actors' send credits run out: back-pressure.
// Weights: each actor has at most one weights message in flight; when it completes, the actor
// gets the newest version published by then (intermediate versions are skipped, never queued).
//
// Shutdown(): sends "stop" to every actor (after any weights, on the same channel), keeps
// receiving — counted as after_stop — until every actor has sent "done", then the thread ends.
// Every wait is bounded by `timeout` and ends the job with a message naming the silent ranks.
#pragma once

#include <torch/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/runtime.h"
#include "common/wire.h"

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

  // The oldest valid trajectory, waiting at most `wait`; false if none arrived in time.
  bool Pop(DecodedTrajectory* out, std::chrono::milliseconds wait);
  // Hands a new weights version (flat float32 on the CPU) to the fan-out.
  void PublishWeights(const torch::Tensor& flat, std::int64_t version);
  // Orderly end (see the file comment); returns when every actor is done.
  void Shutdown();

  std::size_t queue_depth() const;
  ReceiverCounters counters() const;
  // Actor ranks with the time since each was last heard from, longest first, for errors.
  std::string SilentActors() const;

 private:
  void Run();
  bool ReceiveOne();   // one trajectory-channel message, if one is waiting and there is room
  bool FanOutWeights();
  void SendStops();
  void HandleMessage(int source);

  const RoleLayout layout_;
  const TrajectoryGeometry geometry_;
  const std::size_t capacity_;
  const std::chrono::milliseconds timeout_;
  const std::vector<int> actors_;

  mutable std::mutex mu_;  // guards everything below up to the thread
  std::condition_variable queue_changed_;
  std::deque<DecodedTrajectory> queue_;
  ReceiverCounters counters_;
  std::shared_ptr<const std::vector<std::byte>> latest_weights_;
  std::int64_t latest_version_ = -1;
  bool shutdown_requested_ = false;
  bool finished_ = false;
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
