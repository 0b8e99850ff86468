// TrainingRun: what every trainer does around its updates, written once for the serial trainer
// (launch/train_serial.cc) and the learner ranks of a distributed run (learner_runtime.cc).
//
//   trainer ──AddFrames / AddEpisode / RecordUpdate──▶ counters of this learner
//   Report() ──[Reducer: sum/min/max over learners]──▶ lead: one MetricsRecord ──▶ metrics.jsonl,
//                                                       TensorBoard, HTTP, status line
//   Checkpoint() / Finish() ──▶ lead: RUN_DIR/checkpoints/ckpt-*, RUN_DIR/final.safetensors
//
// The lead (the serial trainer, or learner 0) owns RUN_DIR: config.json, metrics, checkpoints
// and the final weights. Learners update in lockstep and hold identical weights and optimiser
// states, so the lead alone writes checkpoints; every learner calls Report() at the same update
// (its Reducer is a collective) and only the lead writes the record. Every metrics key is named
// in training_run.cc and nowhere else, so both trainers write the same keys.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/config/train_config.h"
#include "common/metrics/episode_window.h"
#include "common/model/model_config.h"
#include "learner/checkpoint.h"
#include "learner/learner.h"
#include "learner/report.h"

namespace colony {

class MetricsWriter;

// The model the run trains: --model and its sizes, with the observation and action sizes of
// --env. Throws env::EnvError for an unknown environment.
ModelConfig ResolveModelConfig(const TrainConfig& config);

// What a distributed learner's runtime adds to a report: its receive thread's traffic. The
// serial trainer has none of it.
struct TrafficCounters {
  std::int64_t dropped = 0;           // malformed, foreign or too stale trajectories
  double queue_depth = 0;             // trajectories waiting in the receive queue
  // Frame accounting, written in the final record only (docs/runtime.md).
  std::int64_t frames_received = 0;
  std::int64_t frames_after_stop = 0;
  std::int64_t frames_unused = 0;
  std::int64_t frames_stale = 0;
  std::uint64_t weights_checksum = 0;  // FNV-1a of the flat weights, final record only
};

// Combines a report's numbers over learners, element-wise and in place; every learner calls it
// at the same update. Sum for totals, min and max for extremes. Null with one learner.
struct Reducer {
  std::function<void(double* values, int count)> sum;
  std::function<void(double* values, int count)> min;
  std::function<void(double* values, int count)> max;
};

class TrainingRun {
 public:
  using Clock = std::chrono::steady_clock;

  // `lead` creates RUN_DIR and writes config.json, opens metrics.jsonl and (with
  // --metrics-server) the HTTP endpoint, and prints `banner`. `resumed` holds the counters of
  // the checkpoint the run continues from (zeros for a fresh run).
  TrainingRun(const TrainConfig& config, Learner& learner, bool lead, int learners,
              const std::string& banner, const CheckpointCounters& resumed);
  ~TrainingRun();
  TrainingRun(const TrainingRun&) = delete;
  TrainingRun& operator=(const TrainingRun&) = delete;

  // Loads --resume (already resolved to one directory, see train.cc) into the learner's policy,
  // optimiser and return statistic; zeros when the run is fresh. Throws CheckpointError naming
  // the file.
  static CheckpointCounters Resume(const TrainConfig& config, Learner& learner);

  // Frames are the run's total over all actors (every learner counts the same).
  void AddFrames(std::int64_t frames) { frames_ += frames; }
  void AddEpisode(const env::EpisodeStats& episode) { episodes_.Add(episode); }
  // Faults survived in gym:/py:/plugin: environments so far: the serial trainer's actor, or a
  // distributed learner's actors (each trajectory carries its actor's running count); Report
  // sums over learners. The key is NaN until it is called.
  void SetEnvErrors(std::int64_t count) { env_errors_ = count; }
  // After each update: the batch's policy lag ([T, B] int64), the update's numbers, and the
  // seconds spent updating and waiting for the batch (rollouts, or the receive queue).
  void RecordUpdate(const torch::Tensor& policy_lag, const UpdateStats& stats,
                    double step_seconds, double wait_seconds);

  bool ReportDue(Clock::time_point now) const;
  bool CheckpointDue(Clock::time_point now) const;

  // One metrics record (every learner calls it at the same update; `reduce` combines their
  // numbers). `traffic` is null for the serial trainer. The final record carries the frame
  // accounting and "final": 1.
  void Report(bool final, const TrafficCounters* traffic, const Reducer* reduce,
              int stop_signal);
  // The lead writes a checkpoint now and returns its directory ("" elsewhere).
  std::string Checkpoint();
  // At the end: the lead writes the last checkpoint (a signal-stopped run resumes from it, a
  // finished one can be extended) and RUN_DIR/final.safetensors, and says why it stopped early.
  void Finish(int stop_signal);

  std::int64_t frames() const { return frames_; }
  std::int64_t learner_steps() const { return learner_steps_; }
  const EpisodeWindow& episodes() const { return episodes_; }

 private:
  // The run's settings with the model's shape (observations, actions) resolved from the
  // environment, as config.json and checkpoints record them.
  const TrainConfig config_;
  Learner& learner_;
  const bool lead_;
  const int learners_;
  std::unique_ptr<MetricsWriter> metrics_;  // lead only

  std::int64_t frames_ = 0;
  std::int64_t learner_steps_ = 0;
  EpisodeWindow episodes_;
  std::optional<std::int64_t> env_errors_;  // unknown unless SetEnvErrors was called
  PolicyLag lag_;  // since the last report
  UpdateStats last_;
  double step_seconds_ = 0;  // over the whole run
  double wait_seconds_ = 0;
  const Clock::time_point start_ = Clock::now();
  Clock::time_point last_report_ = start_;
  Clock::time_point last_checkpoint_ = start_;
  std::int64_t frames_at_report_ = 0;
};

}  // namespace colony
