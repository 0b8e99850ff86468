// The serial trainer (launch/train_serial.h): rollout -> batch -> update, in one thread.
#include "launch/train_serial.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <numeric>

#include "actors/actor.h"
#include "common/env/registry.h"
#include "common/metrics.h"
#include "learner/learner.h"

namespace colony {
namespace {

// The mean return and length of the last 100 finished episodes (IMPALA's reporting window).
class EpisodeWindow {
 public:
  void Add(const EpisodeStats& episode) {
    ++count_;
    window_.push_back(episode);
    if (window_.size() > kSize) window_.pop_front();
  }
  std::int64_t count() const { return count_; }
  double MeanReturn() const {
    return Mean([](const EpisodeStats& e) { return e.episode_return; });
  }
  double MeanLength() const {
    return Mean([](const EpisodeStats& e) { return static_cast<double>(e.length); });
  }

 private:
  static constexpr std::size_t kSize = 100;
  template <class F>
  double Mean(F field) const {
    if (window_.empty()) return std::nan("");
    double sum = 0;
    for (const auto& e : window_) sum += field(e);
    return sum / static_cast<double>(window_.size());
  }
  std::deque<EpisodeStats> window_;
  std::int64_t count_ = 0;
};

ModelConfig ModelFor(const TrainConfig& config) {
  const auto probe = env::MakeBatchEnv(config.env, /*num_envs=*/1);
  ModelConfig model = config.model;
  model.obs_dim = probe->spec().obs_dim;
  model.num_actions = probe->spec().num_actions;
  model.Validate();
  return model;
}

}  // namespace

SerialResult RunSerialTraining(const TrainConfig& config) {
  using Clock = std::chrono::steady_clock;
  torch::set_num_threads(static_cast<int>(config.threads));
  torch::manual_seed(static_cast<std::uint64_t>(config.seed));

  auto policy = MakePolicy(ModelFor(config));
  Actor actor(config.env, static_cast<int>(config.envs_per_actor),
              static_cast<std::uint64_t>(config.seed), /*rank=*/0, policy);
  Learner learner(policy, config, /*collective=*/nullptr);

  MakeDirectories(config.run_dir);
  WriteFileAtomically(config.run_dir + "/config.json", config.ToJson());
  MetricsWriter metrics(config.run_dir + "/metrics.jsonl");
  std::printf("colony train --serial: %s, %s policy with %lld parameters, E=%lld T=%lld B=%lld, "
              "%lld frames -> %s\n",
              config.env.c_str(), config.model.kind.c_str(),
              static_cast<long long>(policy->parameter_count()),
              static_cast<long long>(config.envs_per_actor),
              static_cast<long long>(config.unroll), static_cast<long long>(config.batch),
              static_cast<long long>(config.total_frames), config.run_dir.c_str());

  SerialResult result;
  EpisodeWindow episodes;
  UpdateStats last;
  std::vector<Trajectory> pending;
  std::int64_t pending_columns = 0;
  std::int64_t lag_min = 0, lag_max = 0, lag_sum = 0, lag_count = 0;
  const auto start = Clock::now();
  auto last_report = start;
  std::int64_t frames_at_last_report = 0;

  auto report = [&](Clock::time_point now) {
    const double wall = std::chrono::duration<double>(now - start).count();
    const double interval = std::chrono::duration<double>(now - last_report).count();
    const double fps = interval > 0 ? (result.frames - frames_at_last_report) / interval : 0.0;
    MetricsRecord record;
    record.Add("frames", result.frames)
        .Add("wall_s", wall)
        .Add("learner_steps", result.learner_steps)
        .Add("episode_return_mean", episodes.MeanReturn())
        .Add("episode_length_mean", episodes.MeanLength())
        .Add("episodes", episodes.count())
        .Add("fps", fps)
        .Add("policy_lag_min", lag_count ? static_cast<double>(lag_min) : std::nan(""))
        .Add("policy_lag_mean", lag_count ? static_cast<double>(lag_sum) / lag_count : std::nan(""))
        .Add("policy_lag_max", lag_count ? static_cast<double>(lag_max) : std::nan(""))
        .Add("total_loss", last.total_loss)
        .Add("policy_loss", last.policy_loss)
        .Add("baseline_loss", last.baseline_loss)
        .Add("entropy", last.entropy)
        .Add("learning_rate", last.learning_rate)
        .Add("grad_norm", last.grad_norm);
    metrics.Write(record);
    std::printf("%s\n", record.ToStatusLine({"frames", "fps", "episodes", "episode_return_mean",
                                             "learner_steps", "entropy"}).c_str());
    std::fflush(stdout);
    last_report = now;
    frames_at_last_report = result.frames;
    lag_count = 0;
  };

  while (result.frames < config.total_frames) {
    pending.push_back(actor.Rollout(config.unroll));
    pending_columns += config.envs_per_actor;
    result.frames += config.unroll * config.envs_per_actor;
    for (const auto& episode : actor.DrainEpisodes()) episodes.Add(episode);

    while (pending_columns >= config.batch) {
      Trajectory all = pending.size() == 1 ? pending.front() : Trajectory::Concat(pending);
      pending.clear();
      const Trajectory batch = all.Columns(0, config.batch);
      pending_columns -= config.batch;
      if (pending_columns > 0) pending.push_back(all.Columns(config.batch, pending_columns));

      const auto lag = policy->version() - batch.policy_version;
      lag_min = lag_count ? std::min(lag_min, lag.min().item<std::int64_t>())
                          : lag.min().item<std::int64_t>();
      lag_max = lag_count ? std::max(lag_max, lag.max().item<std::int64_t>())
                          : lag.max().item<std::int64_t>();
      lag_sum += lag.sum().item<std::int64_t>();
      lag_count += lag.numel();

      last = learner.Update(batch, result.frames);
      ++result.learner_steps;
    }
    const auto now = Clock::now();
    if (std::chrono::duration<double>(now - last_report).count() >= config.report_every_s) {
      report(now);
    }
  }
  report(Clock::now());
  policy->SaveSafetensors(config.run_dir + "/final.safetensors");
  result.episodes = episodes.count();
  result.episode_return_mean = episodes.MeanReturn();
  return result;
}

}  // namespace colony
