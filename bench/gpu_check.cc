// gpu_check: what launch/gpu-check runs on a machine with an NVIDIA GPU.
//
//   1. The same learner update on the CPU and on CUDA, from the same weights and the same batch
//      (collected on the CPU by an actor): the losses and the updated weights must agree within
//      float tolerance.
//   2. The NCCL collective on a one-rank communicator (a valid NCCL communicator): all-reduce
//      and broadcast of the flat gradient buffer on the GPU.
//   3. Learner samples/s (unroll + V-trace + backward + optimiser) on CUDA for a few B.
// Prints a markdown table. Exit 0 on success, 1 on a mismatch, 77 when CUDA is not available.
#include <mpi.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>

#include "actors/actor.h"
#include "common/base/mpi_session.h"
#include "common/env/registry.h"
#include "launch/version.h"
#include "learner/collective.h"
#include "learner/learner.h"

namespace colony {
namespace {

std::shared_ptr<Policy> FreshPolicy(std::uint64_t seed) {
  torch::manual_seed(seed);
  return MakePolicy(ModelConfig{});  // the default GTrXL, CartPole's 4 inputs and 2 actions
}

int Run() {
  std::fputs(FormatVersionInfo(GetVersionInfo()).c_str(), stdout);
  if (!torch::cuda::is_available()) {
    std::printf("gpu_check: CUDA is not available here; nothing to check\n");
    return 77;
  }
  const torch::Device gpu(torch::kCUDA, 0);
  TrainConfig config;
  config.envs_per_actor = 16;
  config.batch = 16;

  // 1. CPU and CUDA updates from the same weights on the same batch.
  auto cpu_policy = FreshPolicy(1);
  auto gpu_policy = FreshPolicy(1);
  gpu_policy->to(gpu);
  Actor actor("CartPole-v1", 16, /*seed=*/1, /*rank=*/0, cpu_policy);
  const Trajectory batch = actor.Rollout(config.unroll);
  Learner cpu_learner(cpu_policy, config, nullptr);
  Learner gpu_learner(gpu_policy, config, nullptr);
  const UpdateStats cpu = cpu_learner.Update(batch, 0);
  const UpdateStats cuda = gpu_learner.Update(batch.To(gpu), 0);
  const double loss_diff = std::abs(cpu.total_loss - cuda.total_loss);
  const double weight_diff =
      (cpu_policy->flat_parameters() - gpu_policy->flat_parameters().cpu()).abs().max().item<double>();
  const bool same = loss_diff <= 1e-3 * (1 + std::abs(cpu.total_loss)) && weight_diff <= 1e-4;

  // 2. NCCL on a one-rank communicator.
  auto nccl = MakeNcclCollective(MPI_COMM_WORLD, 0, nullptr, std::chrono::seconds(60));
  torch::Tensor grads = gpu_policy->flat_gradients();
  const torch::Tensor before = grads.clone();
  nccl->AllReduceSum(grads.data_ptr<float>(), static_cast<std::size_t>(grads.numel()));
  nccl->Broadcast(grads.data_ptr<float>(), static_cast<std::size_t>(grads.numel()), 0);
  torch::cuda::synchronize();
  const bool nccl_ok = grads.equal(before);

  std::printf("\n| check | CPU | CUDA | result |\n|---|---:|---:|---|\n");
  std::printf("| one update's loss | %.6f | %.6f | %s (|diff| %.2e) |\n", cpu.total_loss,
              cuda.total_loss, same ? "match" : "MISMATCH", loss_diff);
  std::printf("| max |weight diff| after it | | %.2e | %s |\n", weight_diff,
              weight_diff <= 1e-4 ? "match" : "MISMATCH");
  std::printf("| NCCL all-reduce + broadcast, 1 rank | | | %s |\n", nccl_ok ? "ok" : "WRONG");

  // 3. Learner samples/s on CUDA.
  std::printf("\n| learner on CUDA, T = %lld | samples/s | ms/update |\n|---:|---:|---:|\n",
              static_cast<long long>(config.unroll));
  for (const std::int64_t b : {16, 64, 256}) {
    config.envs_per_actor = b;
    config.batch = b;
    Actor wide("CartPole-v1", static_cast<int>(b), 2, 0, cpu_policy);
    const Trajectory big = wide.Rollout(config.unroll).To(gpu);
    Learner timed(gpu_policy, config, nullptr);
    for (int i = 0; i < 3; ++i) timed.Update(big, 0);  // warm-up
    torch::cuda::synchronize();
    const int updates = 20;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < updates; ++i) timed.Update(big, 0);
    torch::cuda::synchronize();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("| B = %lld | %.0f | %.2f |\n", static_cast<long long>(b),
                updates * config.unroll * b / seconds, 1000 * seconds / updates);
  }
  return same && nccl_ok ? 0 : 1;
}

}  // namespace
}  // namespace colony

int main(int argc, char** argv) {
  colony::MpiSession mpi(&argc, &argv);
  return colony::Run();
}
