// The distributed learner loop (learner/learner_runtime.h).
#include "learner/learner_runtime.h"

#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <thread>

#include "common/base/check.h"
#include "common/base/hash.h"
#include "learner/batch_assembler.h"
#include "learner/episode_tracker.h"
#include "learner/learner.h"
#include "learner/receiver.h"
#include "learner/signal_watcher.h"
#include "learner/training_run.h"

namespace colony {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// FNV-1a over the bytes of the weights: learners must hold bitwise-identical weights.
std::uint64_t Checksum(const torch::Tensor& flat) {
  const torch::Tensor cpu = flat.to(torch::kCPU).contiguous();
  return Fnv1a(cpu.data_ptr(), cpu.nbytes());
}

// An element-wise all-reduce of a few doubles over the learners, bounded like every wait.
std::function<void(double*, int)> AllReduceDoubles(MPI_Comm comm, MPI_Op op, milliseconds timeout,
                                                   const std::string& what) {
  return [=](double* values, int count) {
    MPI_Request request = MPI_REQUEST_NULL;
    {
      std::lock_guard<std::mutex> lock(MpiMutex());
      MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, values, count, MPI_DOUBLE, op, comm, &request));
    }
    WaitBounded(&request, timeout, "in the learners' all-reduce of " + what);
  };
}

// One GPU per learner, picked by node-local rank; the CPU where there is none.
torch::Device LearnerDevice(int local_rank) {
  if (!torch::cuda::is_available()) return torch::Device(torch::kCPU);
  const int gpus = static_cast<int>(torch::cuda::device_count());
  return torch::Device(torch::kCUDA, static_cast<torch::DeviceIndex>(local_rank % gpus));
}

// Waits for the next valid trajectory; ends the job naming the silent actors past the timeout.
DecodedTrajectory NextTrajectory(Receiver& receiver, const RoleLayout& layout,
                                 const TrainConfig& config, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  DecodedTrajectory received;
  while (!receiver.Pop(&received, milliseconds(100))) {
    if (Clock::now() > deadline) {
      FailAndAbort("Colony", "learner wait",
                   "learner rank " + std::to_string(layout.rank()) + ": no trajectory for " +
                       std::to_string(config.peer_timeout_s) +
                       " s; actors not heard from longest: " + receiver.SilentActors(),
                   __FILE__, __LINE__);
    }
  }
  return received;
}

// The collective over the learners (NCCL on GPUs, MPI on CPUs), with every learner holding
// learner 0's initial weights, whatever its own initialisation did.
std::unique_ptr<Collective> StartCollective(MPI_Comm comm, const torch::Device& device,
                                            Policy& policy, int learners, milliseconds timeout) {
  std::unique_ptr<Collective> collective =
      device.is_cuda()
          ? MakeNcclCollective(comm, device.index(), /*compute_stream=*/nullptr, timeout)
          : MakeMpiCollective(comm, timeout);
  if (learners > 1) {
    torch::Tensor flat = policy.flat_parameters();
    collective->Broadcast(flat.data_ptr<float>(), static_cast<std::size_t>(flat.numel()), 0);
  }
  return collective;
}

std::string Banner(const TrainConfig& config, const RoleLayout& layout, bool cuda,
                   const Policy& policy) {
  char banner[512];
  std::snprintf(banner, sizeof(banner),
                "colony train: %d learner(s) (%s), %d actors x %lld envs, %s, %s policy with "
                "%lld parameters -> %s",
                layout.learners(), cuda ? "CUDA + NCCL" : "CPU + MPI", layout.actors(),
                static_cast<long long>(config.envs_per_actor), config.env.c_str(),
                policy.config().kind.c_str(), static_cast<long long>(policy.parameter_count()),
                config.run_dir.c_str());
  return banner;
}

// From the receive queue to [T, B] batches: every trajectory's finished episodes go to the run's
// episode window, one staler than --max-policy-lag is dropped, the rest is batched.
class Intake {
 public:
  Intake(const TrainConfig& config, const RoleLayout& layout, Receiver& receiver,
         milliseconds timeout)
      : config_(config), layout_(layout), receiver_(receiver), timeout_(timeout),
        assembler_(config.batch) {}

  Trajectory NextBatch(TrainingRun& run, std::int64_t version) {
    while (!assembler_.Ready()) {
      DecodedTrajectory received = NextTrajectory(receiver_, layout_, config_, timeout_);
      std::int64_t& errors = env_errors_[received.actor_rank];
      errors = std::max(errors, received.env_errors);  // a running count; messages may reorder
      for (const auto& episode :
           tracker_.Add(received.actor_rank, received.sequence, received.trajectory)) {
        run.AddEpisode(episode);
      }
      const auto staleness = version - received.trajectory.policy_version;
      if (config_.max_policy_lag > 0 &&
          staleness.max().item<std::int64_t>() > config_.max_policy_lag) {
        ++dropped_stale_;
        continue;
      }
      assembler_.Add(std::move(received.trajectory));
    }
    return assembler_.Take();
  }

  // Faults survived in the environments of this learner's actors, by their latest counts.
  std::int64_t EnvErrors() const {
    std::int64_t sum = 0;
    for (const auto& [rank, count] : env_errors_) sum += count;
    return sum;
  }

  // The receive thread's counters and this intake's, in frames where the record wants frames.
  TrafficCounters Traffic(std::uint64_t weights_checksum) const {
    const std::int64_t frames = config_.unroll * config_.envs_per_actor;  // per trajectory
    const ReceiverCounters counters = receiver_.counters();
    TrafficCounters out;
    out.dropped = counters.malformed + counters.foreign + dropped_stale_;
    out.queue_depth = static_cast<double>(receiver_.queue_depth());
    out.frames_received = counters.received * frames;
    out.frames_after_stop = counters.after_stop * frames;
    out.frames_unused = counters.left_in_queue * frames + assembler_.columns() * config_.unroll;
    out.frames_stale = dropped_stale_ * frames;
    out.weights_checksum = weights_checksum;
    return out;
  }

 private:
  const TrainConfig& config_;
  const RoleLayout& layout_;
  Receiver& receiver_;
  const milliseconds timeout_;
  EpisodeTracker tracker_;
  BatchAssembler assembler_;
  std::int64_t dropped_stale_ = 0;
  std::map<int, std::int64_t> env_errors_;  // actor rank -> its running count
};

}  // namespace

int RunLearnerRole(const TrainConfig& config, const RoleLayout& layout, MPI_Comm learner_comm,
                   int local_rank) {
  torch::set_num_threads(static_cast<int>(config.threads));
  torch::manual_seed(static_cast<std::uint64_t>(config.seed));
  const auto timeout = milliseconds(static_cast<std::int64_t>(config.peer_timeout_s * 1000));
  const bool lead = layout.rank() == 0;
  const int learners = layout.learners();

  const ModelConfig model = ResolveModelConfig(config);
  auto policy = MakePolicy(model);
  const torch::Device device = LearnerDevice(local_rank);
  const bool cuda = device.is_cuda();
  policy->to(device);
  const auto collective = StartCollective(learner_comm, device, *policy, learners, timeout);
  Learner learner(policy, config, collective.get());
  // Every learner loads the same checkpoint (train.cc resolved --resume to one directory), so
  // weights and optimiser states start identical, as after the broadcast above.
  CheckpointCounters resumed;
  try {
    resumed = TrainingRun::Resume(config, learner);
  } catch (const CheckpointError& error) {
    FailAndAbort("Colony", "resume", error.what(), __FILE__, __LINE__);
  }
  // Learner 0 owns SIGUSR1/SIGTERM/SIGINT (checkpoint, then stop); the others keep the flag
  // handlers of InstallStopSignalHandlers and hear of a stop through the control all-reduce.
  std::unique_ptr<SignalWatcher> signals;
  if (lead) signals = std::make_unique<SignalWatcher>();
  auto stop_signal = [&] { return signals ? signals->signal() : StopSignal(); };

  const Memory memory = policy->InitialMemory(1);
  const ActionDist dist(model);
  const TrajectoryGeometry geometry{config.unroll,       config.envs_per_actor, model.obs_dim,
                                    model.num_actions,   memory.layers(),       memory.length(),
                                    memory.width(),      dist.action_dim(),
                                    model.ObsBytes() ? 1 : 0,                   dist.action_range()};
  // Small on purpose: while the learner is the bottleneck every trajectory waiting here (and
  // every send in flight) is one more version of policy lag.
  const std::size_t capacity = static_cast<std::size_t>(
      config.receive_queue > 0 ? config.receive_queue
                               : (config.batch + config.envs_per_actor - 1) / config.envs_per_actor);
  Receiver receiver(layout, geometry, capacity, timeout);
  receiver.PublishWeights(policy->flat_parameters().to(torch::kCPU).clone(), policy->version());

  TrainingRun run(config, learner, lead, learners, Banner(config, layout, cuda, *policy),
                  resumed);
  const Reducer reducer{AllReduceDoubles(learner_comm, MPI_SUM, timeout, "report sums"),
                        AllReduceDoubles(learner_comm, MPI_MIN, timeout, "report minima"),
                        AllReduceDoubles(learner_comm, MPI_MAX, timeout, "report maxima")};
  const Reducer* reduce = learners > 1 ? &reducer : nullptr;
  const auto agree = AllReduceDoubles(learner_comm, MPI_MAX, timeout, "stop/report flags");

  Intake intake(config, layout, receiver, timeout);

  while (true) {
    const auto wait_start = Clock::now();
    Trajectory batch = intake.NextBatch(run, policy->version());
    const auto step_start = Clock::now();
    const torch::Tensor lag = policy->version() - batch.policy_version;
    if (cuda) batch = batch.To(device);
    const UpdateStats stats = learner.Update(batch, run.frames());
    if (config.learner_delay_ms > 0) {
      std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(config.learner_delay_ms));
    }
    run.AddFrames(config.unroll * config.batch * learners);
    receiver.PublishWeights(policy->flat_parameters().to(torch::kCPU).clone(), policy->version());
    run.RecordUpdate(lag, stats, Seconds(Clock::now() - step_start),
                     Seconds(step_start - wait_start));
    run.SetEnvErrors(intake.EnvErrors());  // this learner's actors; Report sums over learners

    // Agree on stopping, reporting and checkpointing, so every learner acts at the same update.
    const auto now = Clock::now();
    std::array<double, 3> flags = {
        StopRequested() || (signals && signals->stop_requested()) ? 1.0 : 0.0,
        lead && run.ReportDue(now) ? 1.0 : 0.0, lead && run.CheckpointDue(now) ? 1.0 : 0.0};
    if (learners > 1) agree(flags.data(), static_cast<int>(flags.size()));
    if (run.frames() >= config.total_frames || flags[0] > 0) break;
    if (flags[1] > 0) run.Report(/*final=*/false, nullptr, reduce, stop_signal());
    if (flags[2] > 0) run.Checkpoint();
  }

  receiver.Shutdown();
  const TrafficCounters final_traffic = intake.Traffic(Checksum(policy->flat_parameters()));
  run.Report(/*final=*/true, &final_traffic, reduce, stop_signal());
  run.Finish(stop_signal());
  return 0;
}

}  // namespace colony
