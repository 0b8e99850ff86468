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
#include "common/episode_window.h"
#include "common/files.h"
#include "common/metrics.h"
#include "learner/batch_assembler.h"
#include "learner/checkpoint.h"
#include "learner/learner.h"
#include "learner/report.h"
#include "learner/signal_watcher.h"

namespace colony {
namespace {

ModelConfig ModelFor(const TrainConfig& config) {
  const auto probe = env::MakeBatchEnv(config.env, /*num_envs=*/1);
  ModelConfig model = config.model;
  model.obs_dim = probe->spec().obs_dim;
  model.num_actions = probe->spec().num_actions;
  return model;
}

}  // namespace

SerialResult RunSerialTraining(const TrainConfig& config) {
  using Clock = std::chrono::steady_clock;
  torch::set_num_threads(static_cast<int>(config.threads));
  torch::manual_seed(static_cast<std::uint64_t>(config.seed));
  SignalWatcher signals;  // SIGUSR1/SIGTERM/SIGINT: checkpoint, then stop

  auto policy = MakePolicy(ModelFor(config));
  Actor actor(config.env, static_cast<int>(config.envs_per_actor),
              static_cast<std::uint64_t>(config.seed), /*rank=*/0, policy);
  Learner learner(policy, config, /*collective=*/nullptr);
  SerialResult result;
  if (!config.resume.empty()) {
    const std::string from =
        config.resume == "auto" ? FindResumeCheckpoint(config.run_dir) : config.resume;
    const CheckpointCounters counters = LoadCheckpoint(from, *policy, learner.optimizer());
    result.frames = counters.frames;
    result.learner_steps = counters.learner_steps;
    std::printf("colony train: resumed from %s at frames %lld, learner steps %lld, version %lld, "
                "learning rate %.9g\n",
                from.c_str(), static_cast<long long>(counters.frames),
                static_cast<long long>(counters.learner_steps),
                static_cast<long long>(counters.version),
                learner.optimizer().LearningRateAt(counters.frames));
  }

  MakeDirectories(config.run_dir);
  WriteFileAtomically(config.run_dir + "/config.json", config.ToJson());
  MetricsWriter metrics(config.run_dir + "/metrics.jsonl");
  if (config.metrics_server) metrics.ServeHttp(config.metrics_addr);
  std::printf("colony train --serial: %s, %s policy with %lld parameters, E=%lld T=%lld B=%lld, "
              "%lld frames -> %s\n",
              config.env.c_str(), config.model.kind.c_str(),
              static_cast<long long>(policy->parameter_count()),
              static_cast<long long>(config.envs_per_actor),
              static_cast<long long>(config.unroll), static_cast<long long>(config.batch),
              static_cast<long long>(config.total_frames), config.run_dir.c_str());

  EpisodeWindow episodes;
  UpdateStats last;
  BatchAssembler assembler(config.batch);
  PolicyLag lag;
  const auto start = Clock::now();
  auto last_report = start;
  auto last_checkpoint = start;
  std::int64_t frames_at_last_report = result.frames;
  auto checkpoint = [&] {
    last_checkpoint = Clock::now();
    return SaveCheckpoint(config.run_dir, *policy, learner.optimizer(),
                          {result.frames, result.learner_steps, policy->version(), config.ToJson()},
                          config.keep_checkpoints);
  };

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
        .Add("fps", fps);
    lag.AddTo(record);
    AddUpdateStats(record, last);
    metrics.Write(record);
    std::printf("%s\n", StatusLine(record).c_str());
    std::fflush(stdout);
    last_report = now;
    frames_at_last_report = result.frames;
    lag = PolicyLag();
  };

  while (result.frames < config.total_frames && !signals.stop_requested()) {
    assembler.Add(actor.Rollout(config.unroll));
    result.frames += config.unroll * config.envs_per_actor;
    for (const auto& episode : actor.DrainEpisodes()) episodes.Add(episode);

    while (assembler.Ready()) {
      const Trajectory batch = assembler.Take();
      lag.Add(policy->version() - batch.policy_version);

      last = learner.Update(batch, result.frames);
      ++result.learner_steps;
    }
    const auto now = Clock::now();
    if (std::chrono::duration<double>(now - last_report).count() >= config.report_every_s) {
      report(now);
    }
    if (config.checkpoint_every_s > 0 &&
        std::chrono::duration<double>(now - last_checkpoint).count() >= config.checkpoint_every_s) {
      checkpoint();
    }
  }
  report(Clock::now());
  const std::string saved = checkpoint();
  policy->SaveSafetensors(config.run_dir + "/final.safetensors");
  if (signals.signal() != 0) {
    std::printf("colony train: stopped by signal %d after %lld frames; checkpoint %s\n",
                signals.signal(), static_cast<long long>(result.frames), saved.c_str());
    std::fflush(stdout);
  }
  result.stop_signal = signals.signal();
  result.episodes = episodes.count();
  result.episode_return_mean = episodes.MeanReturn();
  return result;
}

}  // namespace colony
