// The serial trainer (launch/train_serial.h): rollout -> batch -> update, in one thread.
#include "launch/train_serial.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdio>

#include "actors/actor.h"
#include "learner/batch_assembler.h"
#include "learner/learner.h"
#include "learner/signal_watcher.h"
#include "learner/training_run.h"

namespace colony {

SerialResult RunSerialTraining(const TrainConfig& config) {
  using Clock = TrainingRun::Clock;
  torch::set_num_threads(static_cast<int>(config.threads));
  torch::manual_seed(static_cast<std::uint64_t>(config.seed));
  SignalWatcher signals;  // SIGUSR1/SIGTERM/SIGINT: checkpoint, then stop

  const ModelConfig model = ResolveModelConfig(config);
  auto policy = MakePolicy(model);
  Actor actor(config.env, static_cast<int>(config.envs_per_actor),
              static_cast<std::uint64_t>(config.seed), /*rank=*/0, policy,
              {.rank = -1, .max_consecutive_errors = config.max_env_errors});
  Learner learner(policy, config, /*collective=*/nullptr);
  const CheckpointCounters resumed = TrainingRun::Resume(config, learner);
  char banner[512];
  std::snprintf(banner, sizeof(banner),
                "colony train --serial: %s, %s policy with %lld parameters, E=%lld T=%lld "
                "B=%lld, %lld frames -> %s",
                config.env.c_str(), model.kind.c_str(),
                static_cast<long long>(policy->parameter_count()),
                static_cast<long long>(config.envs_per_actor),
                static_cast<long long>(config.unroll), static_cast<long long>(config.batch),
                static_cast<long long>(config.total_frames), config.run_dir.c_str());
  TrainingRun run(config, learner, /*lead=*/true, /*learners=*/1, banner, resumed);

  BatchAssembler assembler(config.batch);
  double rollout_seconds = 0;  // charged to the next update as its wait for data
  while (run.frames() < config.total_frames && !signals.stop_requested()) {
    const auto rollout_start = Clock::now();
    try {
      assembler.Add(actor.Rollout(config.unroll));
    } catch (const env::EnvFault&) {
      // The environment cannot go on; what was trained so far can (--resume auto).
      std::fprintf(stderr, "colony train: environment fault; checkpoint %s\n",
                   run.Checkpoint().c_str());
      throw;
    }
    run.SetEnvErrors(actor.env_errors());
    run.AddFrames(config.unroll * config.envs_per_actor);
    for (const auto& episode : actor.DrainEpisodes()) run.AddEpisode(episode);
    rollout_seconds += std::chrono::duration<double>(Clock::now() - rollout_start).count();

    while (assembler.Ready()) {
      const Trajectory batch = assembler.Take();
      const torch::Tensor lag = policy->version() - batch.policy_version;
      const auto step_start = Clock::now();
      const UpdateStats stats = learner.Update(batch, run.frames());
      const double step_seconds = std::chrono::duration<double>(Clock::now() - step_start).count();
      run.RecordUpdate(lag, stats, step_seconds, rollout_seconds);
      rollout_seconds = 0;
    }
    const auto now = Clock::now();
    if (run.ReportDue(now)) run.Report(/*final=*/false, nullptr, nullptr, signals.signal());
    if (run.CheckpointDue(now)) run.Checkpoint();
  }
  run.Report(/*final=*/true, nullptr, nullptr, signals.signal());
  run.Finish(signals.signal());

  SerialResult result;
  result.frames = run.frames();
  result.learner_steps = run.learner_steps();
  result.stop_signal = signals.signal();
  result.episodes = run.episodes().count();
  result.episode_return_mean = run.episodes().MeanReturn();
  return result;
}

}  // namespace colony
