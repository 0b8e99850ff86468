// The distributed actor loop (actors/actor_runtime.h).
#include "actors/actor_runtime.h"

#include <sys/resource.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <deque>
#include <vector>

#include "actors/actor.h"
#include "common/base/check.h"
#include "common/base/files.h"
#include "common/env/registry.h"
#include "common/metrics/metrics.h"
#include "common/wire/wire.h"

namespace colony {
namespace {

using Bytes = std::vector<std::byte>;
using std::chrono::milliseconds;

// Up to `credits` trajectory sends in flight, each with its own buffer.
class TrajectorySender {
 public:
  TrajectorySender(int learner, std::int64_t credits, milliseconds timeout)
      : learner_(learner), credits_(credits), timeout_(timeout) {}

  // A buffer to encode the next message into; waits (bounded) for the oldest send if all
  // credits are in use, which is how a slow learner throttles this actor.
  Bytes& NextBuffer() {
    Reclaim();
    if (static_cast<std::int64_t>(in_flight_.size()) >= credits_) {
      ++credit_waits_;
      WaitBounded(&in_flight_.front().request, timeout_,
                  "sending a trajectory to learner rank " + std::to_string(learner_) +
                      " (all " + std::to_string(credits_) + " send credits in use)");
      free_.push_back(std::move(in_flight_.front().buffer));
      in_flight_.pop_front();
    }
    if (free_.empty()) free_.emplace_back();
    next_ = std::move(free_.back());
    free_.pop_back();
    return next_;
  }

  // Sends what was encoded into NextBuffer(). `counts` is false for messages that carry no
  // frames of this actor (the test-only forged ones).
  void Send(bool counts = true) {
    Pending pending{std::move(next_), MPI_REQUEST_NULL};
    {
      std::lock_guard<std::mutex> lock(MpiMutex());
      MPI_CHECK(MPI_Isend(pending.buffer.data(), static_cast<int>(pending.buffer.size()),
                          MPI_BYTE, learner_, kTagTrajectory, MPI_COMM_WORLD, &pending.request));
    }
    in_flight_.push_back(std::move(pending));
    if (counts) ++sent_;
  }

  void DrainAll() {
    for (auto& pending : in_flight_) {
      WaitBounded(&pending.request, timeout_,
                  "for learner rank " + std::to_string(learner_) +
                      " to receive this actor's last trajectories");
    }
    in_flight_.clear();
  }

  std::int64_t sent() const { return sent_; }
  std::int64_t credit_waits() const { return credit_waits_; }

 private:
  struct Pending {
    Bytes buffer;
    MPI_Request request;
  };
  void Reclaim() {
    while (!in_flight_.empty() && TestLocked(&in_flight_.front().request)) {
      free_.push_back(std::move(in_flight_.front().buffer));
      in_flight_.pop_front();
    }
  }

  int learner_;
  std::int64_t credits_;
  milliseconds timeout_;
  std::deque<Pending> in_flight_;
  std::vector<Bytes> free_;
  Bytes next_;
  std::int64_t sent_ = 0;
  std::int64_t credit_waits_ = 0;
};

// Test-only fault injection: a real trajectory with its format version overwritten, which a
// learner must drop and count without losing its step.
void CorruptFormatVersion(Bytes& message) {
  if (message.size() >= 8) message[4] = std::byte{0x7f};
}

// RUN_DIR/actors/actor-RANK.json: what this actor produced, for accounting and tests.
void WriteActorSummary(const TrainConfig& config, int rank, const TrajectorySender& sender,
                       std::int64_t stale_weights, std::int64_t env_errors) {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  const std::string dir = config.run_dir + "/actors";
  MakeDirectories(dir);
  MetricsRecord record;
  record.Add("rank", std::int64_t{rank})
      .Add("trajectories_sent", sender.sent())
      .Add("frames_sent", sender.sent() * config.unroll * config.envs_per_actor)
      .Add("credit_waits", sender.credit_waits())
      .Add("stale_weights_ignored", stale_weights)
      .Add("env_errors", env_errors)
      .Add("max_rss_kb", static_cast<std::int64_t>(usage.ru_maxrss));
  WriteFileAtomically(dir + "/actor-" + std::to_string(rank) + ".json", record.ToJson() + "\n");
}

// Receives what the learner sends on kTagControl, without ever blocking on it.
class ControlInbox {
 public:
  ControlInbox(int learner, std::int64_t parameter_count)
      : learner_(learner), parameter_count_(parameter_count) {}

  // Applies every message that has arrived: newer weights are loaded, older ones ignored.
  // Returns true once the stop message has arrived.
  bool Poll(Policy& policy) {
    int from = learner_;
    while (!stopped_ && ReceiveIfArrived(learner_, kTagControl, &buffer_, &from)) Handle(policy);
    return stopped_;
  }

  std::int64_t stale() const { return stale_; }
  std::int64_t rejected() const { return rejected_; }

 private:
  void Handle(Policy& policy) {
    const auto kind = PeekKind(buffer_);
    if (const auto* error = std::get_if<std::string>(&kind)) {
      ++rejected_;
      std::fprintf(stderr, "[colony] actor: dropped a control message from learner %d: %s\n",
                   learner_, error->c_str());
      return;
    }
    if (std::get<MessageKind>(kind) == MessageKind::kStop) {
      stopped_ = true;
      return;
    }
    auto decoded = DecodeWeights(buffer_, parameter_count_);
    if (const auto* error = std::get_if<std::string>(&decoded)) {
      ++rejected_;
      std::fprintf(stderr, "[colony] actor: dropped weights from learner %d: %s\n", learner_,
                   error->c_str());
      return;
    }
    auto& weights = std::get<DecodedWeights>(decoded);
    if (weights.version <= policy.version()) {
      ++stale_;  // overtaken by a newer version: never go back
      return;
    }
    policy.LoadFlat(weights.flat, weights.version);
  }

  int learner_;
  std::int64_t parameter_count_;
  Bytes buffer_;
  bool stopped_ = false;
  std::int64_t stale_ = 0;
  std::int64_t rejected_ = 0;
};

}  // namespace

int RunActorRole(const TrainConfig& config, const RoleLayout& layout) {
  torch::set_num_threads(static_cast<int>(config.threads));
  // Same seed as the learners: the actor starts from the very weights of version 0.
  torch::manual_seed(static_cast<std::uint64_t>(config.seed));
  const int learner = layout.LearnerOf(layout.rank());
  const auto timeout = milliseconds(static_cast<std::int64_t>(config.peer_timeout_s * 1000));

  const auto probe = env::MakeBatchEnv(config.env, 1);
  ModelConfig model = config.model;
  const env::PolicyShape shape = env::PolicyShapeOf(probe->spec());
  model.obs_dim = shape.obs_dim;
  model.num_actions = shape.outputs;
  model.actions = shape.actions;
  model.observations = shape.observations;
  auto policy = MakePolicy(model);
  Actor actor(config.env, static_cast<int>(config.envs_per_actor),
              static_cast<std::uint64_t>(config.seed), layout.rank(), policy,
              {.rank = layout.rank(), .max_consecutive_errors = config.max_env_errors});

  TrajectorySender sender(learner, config.send_credits, timeout);
  ControlInbox inbox(learner, policy->parameter_count());
  bool stop = false;
  const auto poll = [&] { stop = stop || inbox.Poll(*policy); };
  std::uint64_t sequence = 0;
  std::int64_t injected = 0;
  auto signal_seen = std::chrono::steady_clock::time_point::max();

  while (!stop) {
    Trajectory trajectory = actor.Rollout(config.unroll, poll);
    actor.DrainEpisodes();  // the learner derives episode statistics from the trajectories
    if (stop) break;        // the learner no longer wants data
    EncodeTrajectory(trajectory, layout.rank(), sequence++, sender.NextBuffer(),
                     actor.env_errors());
    sender.Send();
    if (injected < config.inject_malformed && layout.rank() == layout.learners()) {
      Bytes& forged = sender.NextBuffer();
      EncodeTrajectory(trajectory, layout.rank(), sequence, forged);
      CorruptFormatVersion(forged);
      sender.Send(/*counts=*/false);
      ++injected;
    }
    poll();
    // A signal reaches every rank; the learners turn it into an orderly stop. If that never
    // comes, do not outlive the bound.
    if (StopRequested()) {
      const auto now = std::chrono::steady_clock::now();
      if (signal_seen == std::chrono::steady_clock::time_point::max()) signal_seen = now;
      if (now - signal_seen > timeout) {
        FailAndAbort("Colony", "actor stop", "got signal " + std::to_string(StopSignal()) +
                     " but no stop from learner rank " + std::to_string(learner) + " within " +
                     std::to_string(config.peer_timeout_s) + " s", __FILE__, __LINE__);
      }
    }
  }

  // Orderly end: every trajectory already sent is delivered, then "done" follows them on the
  // same channel, so the learner knows nothing more is coming from this rank.
  sender.DrainAll();
  Bytes done;
  EncodeStop(done);
  MPI_Request request = MPI_REQUEST_NULL;
  {
    std::lock_guard<std::mutex> lock(MpiMutex());
    MPI_CHECK(MPI_Isend(done.data(), static_cast<int>(done.size()), MPI_BYTE, learner,
                        kTagTrajectory, MPI_COMM_WORLD, &request));
  }
  WaitBounded(&request, timeout,
              "sending 'done' to learner rank " + std::to_string(learner));
  WriteActorSummary(config, layout.rank(), sender, inbox.stale(), actor.env_errors());
  if (inbox.rejected() > 0) {
    std::fprintf(stderr, "[colony] actor rank %d: %lld malformed control messages dropped\n",
                 layout.rank(), static_cast<long long>(inbox.rejected()));
  }
  return 0;
}

}  // namespace colony
