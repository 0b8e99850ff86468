// The distributed learner loop (learner/learner_runtime.h).
#include "learner/learner_runtime.h"

#include <torch/torch.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <thread>

#include "common/check.h"
#include "common/env/registry.h"
#include "common/episode_window.h"
#include "common/files.h"
#include "common/hash.h"
#include "common/metrics.h"
#include "learner/batch_assembler.h"
#include "learner/checkpoint.h"
#include "learner/episode_tracker.h"
#include "learner/learner.h"
#include "learner/receiver.h"
#include "learner/report.h"
#include "learner/signal_watcher.h"

namespace colony {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Element-wise all-reduce of a few numbers over the learners, bounded like every wait.
template <std::size_t N>
void AllReduceSmall(std::array<double, N>& values, MPI_Op op, MPI_Comm comm, milliseconds timeout,
                    const char* what) {
  MPI_Request request = MPI_REQUEST_NULL;
  {
    std::lock_guard<std::mutex> lock(MpiMutex());
    MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, values.data(), static_cast<int>(N), MPI_DOUBLE, op,
                             comm, &request));
  }
  WaitBounded(&request, timeout, std::string("in the learners' all-reduce of ") + what);
}

// FNV-1a over the bytes of the weights: learners must hold bitwise-identical weights.
std::uint64_t Checksum(const torch::Tensor& flat) {
  const torch::Tensor cpu = flat.to(torch::kCPU).contiguous();
  return Fnv1a(cpu.data_ptr(), cpu.nbytes());
}

// Indices of the numbers each learner contributes to a report, summed over learners.
enum Sum : std::size_t {
  kReturnSum, kWindowSize, kEpisodes, kLagSum, kLagCount, kDropped, kQueueDepth, kStepSeconds,
  kWaitSeconds, kFramesReceived, kFramesAfterStop, kFramesUnused, kFramesStale, kSums
};
// Minimum and maximum over learners of: policy lag, low and high halves of the checksum.
enum Extreme : std::size_t { kLag, kChecksumLow, kChecksumHigh, kExtremes };

}  // namespace

int RunLearnerRole(const TrainConfig& config, const RoleLayout& layout, MPI_Comm learner_comm,
                   int local_rank) {
  torch::set_num_threads(static_cast<int>(config.threads));
  torch::manual_seed(static_cast<std::uint64_t>(config.seed));
  const auto timeout = milliseconds(static_cast<std::int64_t>(config.peer_timeout_s * 1000));
  const bool lead = layout.rank() == 0;

  const auto probe = env::MakeBatchEnv(config.env, 1);
  ModelConfig model = config.model;
  model.obs_dim = probe->spec().obs_dim;
  model.num_actions = probe->spec().num_actions;
  auto policy = MakePolicy(model);

  // One GPU per learner, picked by node-local rank; the CPU where there is none.
  const bool cuda = torch::cuda::is_available();
  const int gpus = cuda ? static_cast<int>(torch::cuda::device_count()) : 0;
  const torch::Device device = cuda ? torch::Device(torch::kCUDA, local_rank % gpus)
                                    : torch::Device(torch::kCPU);
  policy->to(device);
  std::unique_ptr<Collective> collective =
      cuda ? MakeNcclCollective(learner_comm, device.index(), /*compute_stream=*/nullptr, timeout)
           : MakeMpiCollective(learner_comm, timeout);
  if (layout.learners() > 1) {
    // Every learner starts from learner 0's weights, whatever its own initialisation did.
    torch::Tensor flat = policy->flat_parameters();
    collective->Broadcast(flat.data_ptr<float>(), static_cast<std::size_t>(flat.numel()), 0);
  }
  Learner learner(policy, config, collective.get());
  // Every learner loads the same checkpoint (train.cc resolved --resume to one directory), so
  // weights and optimiser states start identical, as after the broadcast above.
  CheckpointCounters resumed;
  if (!config.resume.empty()) {
    try {
      resumed = LoadCheckpoint(config.resume, *policy, learner.optimizer());
    } catch (const CheckpointError& error) {
      FailAndAbort("Colony", "resume", error.what(), __FILE__, __LINE__);
    }
  }
  // Learner 0 owns SIGUSR1/SIGTERM/SIGINT (checkpoint, then stop); the others keep the flag
  // handlers of InstallStopSignalHandlers and hear of a stop through the control all-reduce.
  std::unique_ptr<SignalWatcher> signals;
  if (lead) signals = std::make_unique<SignalWatcher>();

  const Memory memory = policy->InitialMemory(1);
  const TrajectoryGeometry geometry{config.unroll,       config.envs_per_actor, model.obs_dim,
                                    model.num_actions,   memory.layers(),       memory.length(),
                                    memory.width()};
  const std::size_t capacity = static_cast<std::size_t>(
      std::max<std::int64_t>(4, 2 * config.batch / config.envs_per_actor + 2));
  Receiver receiver(layout, geometry, capacity, timeout);
  receiver.PublishWeights(policy->flat_parameters().to(torch::kCPU).clone(), policy->version());

  std::unique_ptr<MetricsWriter> metrics;
  if (lead) {
    MakeDirectories(config.run_dir);
    WriteFileAtomically(config.run_dir + "/config.json", config.ToJson());
    metrics = std::make_unique<MetricsWriter>(config.run_dir + "/metrics.jsonl");
    if (config.metrics_server) metrics->ServeHttp(config.metrics_addr);
    std::printf("colony train: %d learner(s) (%s), %d actors x %lld envs, %s, %s policy with "
                "%lld parameters -> %s\n",
                layout.learners(), cuda ? "CUDA + NCCL" : "CPU + MPI", layout.actors(),
                static_cast<long long>(config.envs_per_actor), config.env.c_str(),
                model.kind.c_str(), static_cast<long long>(policy->parameter_count()),
                config.run_dir.c_str());
    if (!config.resume.empty()) {
      std::printf("colony train: resumed from %s at frames %lld, learner steps %lld, version "
                  "%lld, learning rate %.9g\n",
                  config.resume.c_str(), static_cast<long long>(resumed.frames),
                  static_cast<long long>(resumed.learner_steps),
                  static_cast<long long>(resumed.version),
                  learner.optimizer().LearningRateAt(resumed.frames));
    }
    std::fflush(stdout);
  }

  EpisodeTracker tracker;
  EpisodeWindow episodes;
  BatchAssembler assembler(config.batch);
  PolicyLag lag;
  UpdateStats last;
  std::int64_t frames = resumed.frames;
  std::int64_t learner_steps = resumed.learner_steps;
  std::int64_t dropped_lag = 0;
  double step_seconds = 0;
  double wait_seconds = 0;
  const auto start = Clock::now();
  auto last_report = start;
  auto last_checkpoint = start;
  std::int64_t frames_at_report = frames;
  auto stop_signal = [&] { return signals ? signals->signal() : StopSignal(); };
  // Learners update in lockstep and hold identical weights and optimiser states, so learner 0
  // alone writes the checkpoint.
  auto checkpoint = [&] {
    last_checkpoint = Clock::now();
    return SaveCheckpoint(config.run_dir, *policy, learner.optimizer(),
                          {frames, learner_steps, policy->version(), config.ToJson()},
                          config.keep_checkpoints);
  };

  // Sums over learners go to learner 0, which writes the record.
  auto report = [&](bool final) {
    const ReceiverCounters counters = receiver.counters();
    const double trajectory_frames = static_cast<double>(config.unroll * config.envs_per_actor);
    std::array<double, kSums> sum{};
    sum[kReturnSum] = episodes.SumReturn();
    sum[kWindowSize] = static_cast<double>(episodes.size());
    sum[kEpisodes] = static_cast<double>(episodes.count());
    sum[kLagSum] = lag.sum;
    sum[kLagCount] = lag.count;
    sum[kDropped] = static_cast<double>(counters.malformed + counters.foreign + dropped_lag);
    sum[kQueueDepth] = static_cast<double>(receiver.queue_depth());
    sum[kStepSeconds] = step_seconds;
    sum[kWaitSeconds] = wait_seconds;
    sum[kFramesReceived] = static_cast<double>(counters.received) * trajectory_frames;
    sum[kFramesAfterStop] = static_cast<double>(counters.after_stop) * trajectory_frames;
    sum[kFramesUnused] = static_cast<double>(counters.left_in_queue) * trajectory_frames +
                         static_cast<double>(assembler.columns() * config.unroll);
    sum[kFramesStale] = static_cast<double>(dropped_lag) * trajectory_frames;
    const std::uint64_t checksum = final ? Checksum(policy->flat_parameters()) : 0;
    std::array<double, kExtremes> low = {static_cast<double>(lag.min),
                                         static_cast<double>(checksum & 0xffffffffULL),
                                         static_cast<double>(checksum >> 32)};
    std::array<double, kExtremes> high = low;
    high[kLag] = static_cast<double>(lag.max);
    if (layout.learners() > 1) {
      AllReduceSmall(sum, MPI_SUM, learner_comm, timeout, "report sums");
      AllReduceSmall(low, MPI_MIN, learner_comm, timeout, "report minima");
      AllReduceSmall(high, MPI_MAX, learner_comm, timeout, "report maxima");
    }
    const auto now = Clock::now();
    if (lead) {
      const double interval = Seconds(now - last_report);
      const double nan = std::nan("");
      const double steps = static_cast<double>(learner_steps) * layout.learners();
      const bool lagged = sum[kLagCount] > 0;
      MetricsRecord record;
      record.Add("frames", frames)
          .Add("wall_s", Seconds(now - start))
          .Add("learner_steps", learner_steps)
          .Add("episode_return_mean", sum[kWindowSize] > 0 ? sum[kReturnSum] / sum[kWindowSize] : nan)
          .Add("episodes", static_cast<std::int64_t>(sum[kEpisodes]))
          .Add("fps", interval > 0 ? (frames - frames_at_report) / interval : 0.0)
          .Add("policy_lag_min", lagged ? low[kLag] : nan)
          .Add("policy_lag_mean", lagged ? sum[kLagSum] / sum[kLagCount] : nan)
          .Add("policy_lag_max", lagged ? high[kLag] : nan)
          .Add("dropped_trajectories", static_cast<std::int64_t>(sum[kDropped]))
          .Add("queue_depth", sum[kQueueDepth] / layout.learners())
          .Add("learner_step_s", steps > 0 ? sum[kStepSeconds] / steps : nan)
          .Add("learner_wait_s", steps > 0 ? sum[kWaitSeconds] / steps : nan);
      if (final) {
        record.Add("frames_received", static_cast<std::int64_t>(sum[kFramesReceived]))
            .Add("frames_after_stop", static_cast<std::int64_t>(sum[kFramesAfterStop]))
            .Add("frames_unused_at_stop", static_cast<std::int64_t>(sum[kFramesUnused]))
            .Add("frames_dropped_stale", static_cast<std::int64_t>(sum[kFramesStale]))
            .Add("weights_identical",
                 static_cast<std::int64_t>(low[kChecksumLow] == high[kChecksumLow] &&
                                           low[kChecksumHigh] == high[kChecksumHigh]))
            .Add("stop_signal", static_cast<std::int64_t>(stop_signal()))
            .Add("final", std::int64_t{1});
      }
      AddUpdateStats(record, last);
      metrics->Write(record);
      std::printf("%s\n", StatusLine(record).c_str());
      std::fflush(stdout);
    }
    last_report = now;
    frames_at_report = frames;
    lag = PolicyLag();
  };

  while (true) {
    const auto wait_start = Clock::now();
    auto last_data = wait_start;
    while (!assembler.Ready()) {
      DecodedTrajectory received;
      if (!receiver.Pop(&received, milliseconds(100))) {
        if (Clock::now() - last_data > timeout) {
          FailAndAbort("Colony", "learner wait",
                       "learner rank " + std::to_string(layout.rank()) + ": no trajectory for " +
                           std::to_string(config.peer_timeout_s) +
                           " s; actors not heard from longest: " + receiver.SilentActors(),
                       __FILE__, __LINE__);
        }
        continue;
      }
      last_data = Clock::now();
      for (const auto& episode :
           tracker.Add(received.actor_rank, received.sequence, received.trajectory)) {
        episodes.Add(episode);
      }
      const auto staleness = policy->version() - received.trajectory.policy_version;
      if (config.max_policy_lag > 0 && staleness.max().item<std::int64_t>() > config.max_policy_lag) {
        ++dropped_lag;
        continue;
      }
      assembler.Add(std::move(received.trajectory));
    }
    const auto step_start = Clock::now();
    wait_seconds += Seconds(step_start - wait_start);

    Trajectory batch = assembler.Take();
    lag.Add(policy->version() - batch.policy_version);
    if (cuda) batch = batch.To(device);
    last = learner.Update(batch, frames);
    ++learner_steps;
    if (config.learner_delay_ms > 0) {
      std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(config.learner_delay_ms));
    }
    frames += config.unroll * config.batch * layout.learners();
    receiver.PublishWeights(policy->flat_parameters().to(torch::kCPU).clone(), policy->version());
    step_seconds += Seconds(Clock::now() - step_start);

    // Agree on stopping, reporting and checkpointing, so every learner acts at the same update.
    const auto now = Clock::now();
    std::array<double, 3> flags = {
        StopRequested() || (signals && signals->stop_requested()) ? 1.0 : 0.0,
        lead && Seconds(now - last_report) >= config.report_every_s ? 1.0 : 0.0,
        lead && config.checkpoint_every_s > 0 &&
                Seconds(now - last_checkpoint) >= config.checkpoint_every_s ? 1.0 : 0.0};
    if (layout.learners() > 1) AllReduceSmall(flags, MPI_MAX, learner_comm, timeout, "flags");
    if (frames >= config.total_frames || flags[0] > 0) break;
    if (flags[1] > 0) report(/*final=*/false);
    if (flags[2] > 0 && lead) checkpoint();
  }

  receiver.Shutdown();
  report(/*final=*/true);
  if (lead) {
    // Always at the end: a signal-stopped run resumes from here, a finished one can be extended.
    const std::string saved = checkpoint();
    policy->SaveSafetensors(config.run_dir + "/final.safetensors");
    if (stop_signal() != 0) {
      std::printf("colony train: stopped by signal %d after %lld frames; checkpoint %s\n",
                  stop_signal(), static_cast<long long>(frames), saved.c_str());
      std::fflush(stdout);
    }
  }
  return 0;
}

}  // namespace colony
