// The distributed learner loop (learner/learner_runtime.h).
#include "learner/learner_runtime.h"

#include <torch/torch.h>

#include <array>
#include <chrono>
#include <cstdio>

#include "common/check.h"
#include "common/env/registry.h"
#include "common/episode_window.h"
#include "common/files.h"
#include "common/metrics.h"
#include "learner/batch_assembler.h"
#include "learner/episode_tracker.h"
#include "learner/learner.h"
#include "learner/receiver.h"
#include "learner/report.h"

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

// What each learner contributes to a report, summed (or min/max-ed) over learners.
struct ReportSums {
  std::array<double, 10> sum{};  // see Pack()
  std::array<double, 1> min{};
  std::array<double, 1> max{};
};

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
    std::printf("colony train: %d learner(s) (%s), %d actors x %lld envs, %s, %s policy with "
                "%lld parameters -> %s\n",
                layout.learners(), cuda ? "CUDA + NCCL" : "CPU + MPI", layout.actors(),
                static_cast<long long>(config.envs_per_actor), config.env.c_str(),
                model.kind.c_str(), static_cast<long long>(policy->parameter_count()),
                config.run_dir.c_str());
    std::fflush(stdout);
  }

  EpisodeTracker tracker;
  EpisodeWindow episodes;
  BatchAssembler assembler(config.batch);
  PolicyLag lag;
  UpdateStats last;
  std::int64_t frames = 0;
  std::int64_t learner_steps = 0;
  std::int64_t dropped_lag = 0;
  double step_seconds = 0;
  double wait_seconds = 0;
  const auto start = Clock::now();
  auto last_report = start;
  std::int64_t frames_at_report = 0;

  // Sums over learners go to learner 0, which writes the record.
  auto report = [&](bool final) {
    const ReceiverCounters counters = receiver.counters();
    ReportSums r;
    r.sum = {episodes.SumReturn(), static_cast<double>(episodes.size()),
             static_cast<double>(episodes.count()), lag.sum, lag.count,
             static_cast<double>(counters.malformed + counters.foreign + dropped_lag),
             static_cast<double>(counters.drained), static_cast<double>(receiver.queue_depth()),
             step_seconds, wait_seconds};
    r.min = {static_cast<double>(lag.min)};
    r.max = {static_cast<double>(lag.max)};
    if (layout.learners() > 1) {
      AllReduceSmall(r.sum, MPI_SUM, learner_comm, timeout, "report sums");
      AllReduceSmall(r.min, MPI_MIN, learner_comm, timeout, "report minima");
      AllReduceSmall(r.max, MPI_MAX, learner_comm, timeout, "report maxima");
    }
    const auto now = Clock::now();
    if (lead) {
      const double interval = Seconds(now - last_report);
      const double nan = std::nan("");
      MetricsRecord record;
      record.Add("frames", frames)
          .Add("wall_s", Seconds(now - start))
          .Add("learner_steps", learner_steps)
          .Add("episode_return_mean", r.sum[1] > 0 ? r.sum[0] / r.sum[1] : nan)
          .Add("episodes", static_cast<std::int64_t>(r.sum[2]))
          .Add("fps", interval > 0 ? (frames - frames_at_report) / interval : 0.0)
          .Add("policy_lag_min", r.sum[4] > 0 ? r.min[0] : nan)
          .Add("policy_lag_mean", r.sum[4] > 0 ? r.sum[3] / r.sum[4] : nan)
          .Add("policy_lag_max", r.sum[4] > 0 ? r.max[0] : nan)
          .Add("dropped_trajectories", static_cast<std::int64_t>(r.sum[5]))
          .Add("drained_trajectories", static_cast<std::int64_t>(r.sum[6]))
          .Add("queue_depth", r.sum[7] / layout.learners())
          .Add("learner_step_s", learner_steps > 0 ? r.sum[8] / layout.learners() / learner_steps : nan)
          .Add("learner_wait_s", learner_steps > 0 ? r.sum[9] / layout.learners() / learner_steps : nan)
          .Add("final", static_cast<std::int64_t>(final));
      AddUpdateStats(record, last);
      metrics->Write(record);
      std::printf("%s\n", record.ToStatusLine({"frames", "fps", "episodes", "episode_return_mean",
                                               "policy_lag_mean", "policy_lag_max", "queue_depth",
                                               "learner_step_s", "dropped_trajectories"})
                              .c_str());
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
    frames += config.unroll * config.batch * layout.learners();
    receiver.PublishWeights(policy->flat_parameters().to(torch::kCPU).clone(), policy->version());
    step_seconds += Seconds(Clock::now() - step_start);

    // Agree on stopping and reporting, so every learner leaves at the same update.
    std::array<double, 2> flags = {
        StopRequested() ? 1.0 : 0.0,
        lead && Seconds(Clock::now() - last_report) >= config.report_every_s ? 1.0 : 0.0};
    if (layout.learners() > 1) AllReduceSmall(flags, MPI_MAX, learner_comm, timeout, "flags");
    if (frames >= config.total_frames || flags[0] > 0) break;
    if (flags[1] > 0) report(/*final=*/false);
  }

  receiver.Shutdown();
  report(/*final=*/true);
  if (lead) {
    policy->SaveSafetensors(config.run_dir + "/final.safetensors");
    if (StopRequested()) {
      std::printf("colony train: stopped by signal %d after %lld frames\n", StopSignal(),
                  static_cast<long long>(frames));
    }
  }
  return 0;
}

}  // namespace colony
