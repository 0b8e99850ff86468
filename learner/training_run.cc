// The bookkeeping both trainers share (learner/training_run.h). Every metrics key is written here.
#include "learner/training_run.h"

#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <limits>

#include "common/base/files.h"
#include "common/env/registry.h"
#include "common/metrics/metrics.h"

namespace colony {
namespace {

double Seconds(TrainingRun::Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// The numbers one learner contributes to a report, combined over learners by the Reducer.
enum Sum : int {
  kReturnSum, kLengthSum, kWindowSize, kEpisodes, kLagSum, kLagCount, kStepSeconds, kWaitSeconds,
  kDropped, kQueueDepth, kFramesReceived, kFramesAfterStop, kFramesUnused, kFramesStale,
  kEnvErrors, kSums
};
// Extremes travel twice, through min and through max: the checksum's halves are equal on every
// learner exactly when min == max.
enum Extreme : int { kLagExtreme, kChecksumLow, kChecksumHigh, kExtremes };

TrainConfig WithModel(TrainConfig config, const ModelConfig& model) {
  config.model = model;
  return config;
}

}  // namespace

ModelConfig ResolveModelConfig(const TrainConfig& config) {
  const auto probe = env::MakeBatchEnv(config.env, /*num_envs=*/1);
  ModelConfig model = config.model;
  const env::PolicyShape shape = env::PolicyShapeOf(probe->spec());
  model.obs_dim = shape.obs_dim;
  model.num_actions = shape.outputs;
  model.actions = shape.actions;
  model.observations = shape.observations;
  return model;
}

TrainingRun::TrainingRun(const TrainConfig& config, Learner& learner, bool lead, int learners,
                         const std::string& banner, const CheckpointCounters& resumed)
    : config_(WithModel(config, learner.policy().config())),
      learner_(learner),
      lead_(lead),
      learners_(learners),
      frames_(resumed.frames),
      learner_steps_(resumed.learner_steps),
      frames_at_report_(resumed.frames) {
  if (!lead_) return;
  MakeDirectories(config_.run_dir);
  WriteFileAtomically(config_.run_dir + "/config.json", config_.ToJson());
  metrics_ = std::make_unique<MetricsWriter>(config_.run_dir + "/metrics.jsonl");
  if (config_.metrics_server) metrics_->ServeHttp(config_.metrics_addr);
  std::printf("%s\n", banner.c_str());
  if (!config_.resume.empty()) {
    std::printf("colony train: resumed from %s at frames %lld, learner steps %lld, version %lld, "
                "learning rate %.9g\n",
                config_.resume.c_str(), static_cast<long long>(resumed.frames),
                static_cast<long long>(resumed.learner_steps),
                static_cast<long long>(resumed.version),
                learner.optimizer().LearningRateAt(resumed.frames));
  }
  std::fflush(stdout);
}

TrainingRun::~TrainingRun() = default;

CheckpointCounters TrainingRun::Resume(const TrainConfig& config, Learner& learner) {
  if (config.resume.empty()) return {};
  const CheckpointCounters counters =
      LoadCheckpoint(config.resume, learner.policy(), learner.optimizer());
  learner.set_return_mean_square(counters.return_mean_square);
  return counters;
}

void TrainingRun::RecordUpdate(const torch::Tensor& policy_lag, const UpdateStats& stats,
                               double step_seconds, double wait_seconds) {
  lag_.Add(policy_lag);
  last_ = stats;
  ++learner_steps_;
  step_seconds_ += step_seconds;
  wait_seconds_ += wait_seconds;
}

bool TrainingRun::ReportDue(Clock::time_point now) const {
  return Seconds(now - last_report_) >= config_.report_every_s;
}

bool TrainingRun::CheckpointDue(Clock::time_point now) const {
  return config_.checkpoint_every_s > 0 &&
         Seconds(now - last_checkpoint_) >= config_.checkpoint_every_s;
}

void TrainingRun::Report(bool final, const TrafficCounters* traffic, const Reducer* reduce,
                         int stop_signal) {
  std::array<double, kSums> sum{};
  sum[kReturnSum] = episodes_.SumReturn();
  sum[kLengthSum] = episodes_.SumLength();
  sum[kWindowSize] = static_cast<double>(episodes_.size());
  sum[kEpisodes] = static_cast<double>(episodes_.count());
  sum[kLagSum] = lag_.sum;
  sum[kLagCount] = lag_.count;
  sum[kStepSeconds] = step_seconds_;
  sum[kWaitSeconds] = wait_seconds_;
  sum[kEnvErrors] = static_cast<double>(env_errors_.value_or(0));
  const std::uint64_t checksum = traffic != nullptr ? traffic->weights_checksum : 0;
  if (traffic != nullptr) {
    sum[kDropped] = static_cast<double>(traffic->dropped);
    sum[kQueueDepth] = traffic->queue_depth;
    sum[kFramesReceived] = static_cast<double>(traffic->frames_received);
    sum[kFramesAfterStop] = static_cast<double>(traffic->frames_after_stop);
    sum[kFramesUnused] = static_cast<double>(traffic->frames_unused);
    sum[kFramesStale] = static_cast<double>(traffic->frames_stale);
  }
  std::array<double, kExtremes> low = {static_cast<double>(lag_.min),
                                       static_cast<double>(checksum & 0xffffffffULL),
                                       static_cast<double>(checksum >> 32)};
  std::array<double, kExtremes> high = low;
  high[kLagExtreme] = static_cast<double>(lag_.max);
  if (reduce != nullptr) {
    reduce->sum(sum.data(), kSums);
    reduce->min(low.data(), kExtremes);
    reduce->max(high.data(), kExtremes);
  }

  const auto now = Clock::now();
  if (lead_) {
    const double nan = std::nan("");
    const double interval = Seconds(now - last_report_);
    const double updates = static_cast<double>(learner_steps_) * learners_;
    const bool lagged = sum[kLagCount] > 0;
    const bool ended = sum[kWindowSize] > 0;
    MetricsRecord record;
    record.Add("frames", frames_)
        .Add("wall_s", Seconds(now - start_))
        .Add("learner_steps", learner_steps_)
        .Add("episode_return_mean", ended ? sum[kReturnSum] / sum[kWindowSize] : nan)
        .Add("episode_length_mean", ended ? sum[kLengthSum] / sum[kWindowSize] : nan)
        .Add("episodes", static_cast<std::int64_t>(sum[kEpisodes]))
        .Add("fps", interval > 0 ? static_cast<double>(frames_ - frames_at_report_) / interval
                                 : 0.0)
        .Add("policy_lag_min", lagged ? low[kLagExtreme] : nan)
        .Add("policy_lag_mean", lagged ? sum[kLagSum] / sum[kLagCount] : nan)
        .Add("policy_lag_max", lagged ? high[kLagExtreme] : nan)
        .Add("dropped_trajectories", static_cast<std::int64_t>(sum[kDropped]))
        .Add("env_errors", env_errors_.has_value() ? sum[kEnvErrors] : nan)
        .Add("queue_depth", sum[kQueueDepth] / learners_)
        .Add("learner_step_s", updates > 0 ? sum[kStepSeconds] / updates : nan)
        .Add("learner_wait_s", updates > 0 ? sum[kWaitSeconds] / updates : nan);
    if (final) {
      if (traffic != nullptr) {
        record.Add("frames_received", static_cast<std::int64_t>(sum[kFramesReceived]))
            .Add("frames_after_stop", static_cast<std::int64_t>(sum[kFramesAfterStop]))
            .Add("frames_unused_at_stop", static_cast<std::int64_t>(sum[kFramesUnused]))
            .Add("frames_dropped_stale", static_cast<std::int64_t>(sum[kFramesStale]))
            .Add("weights_identical",
                 static_cast<std::int64_t>(low[kChecksumLow] == high[kChecksumLow] &&
                                           low[kChecksumHigh] == high[kChecksumHigh]));
      }
      record.Add("stop_signal", static_cast<std::int64_t>(stop_signal))
          .Add("final", std::int64_t{1});
    }
    AddUpdateStats(record, last_);
    metrics_->Write(record);
    std::printf("%s\n", StatusLine(record).c_str());
    std::fflush(stdout);
  }
  last_report_ = now;
  frames_at_report_ = frames_;
  lag_ = PolicyLag();
}

std::string TrainingRun::Checkpoint() {
  last_checkpoint_ = Clock::now();
  if (!lead_) return "";
  Policy& policy = learner_.policy();
  return SaveCheckpoint(config_.run_dir, policy, learner_.optimizer(),
                        {frames_, learner_steps_, policy.version(), config_.ToJson(),
                         learner_.return_mean_square()},
                        config_.keep_checkpoints);
}

void TrainingRun::Finish(int stop_signal) {
  if (!lead_) return;
  const std::string saved = Checkpoint();
  learner_.policy().SaveSafetensors(config_.run_dir + "/final.safetensors");
  if (stop_signal != 0) {
    std::printf("colony train: stopped by signal %d after %lld frames; checkpoint %s\n",
                stop_signal, static_cast<long long>(frames_), saved.c_str());
    std::fflush(stdout);
  }
}

}  // namespace colony
