// Policy throughput per core (common/model/): prints markdown tables of
//   * actor step mode: environment-steps/s at E = 1, 16, 64, 256 (GTrXL and the MLP baseline);
//   * learner unroll mode: samples/s (forward + backward) at several B with T fixed.
// In: flags (--seconds per row, --threads, --unroll T, model shape). Out: stdout only.
// Memory is filled before timing and episodes end at random (1 in 200 steps), as on an actor.
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "common/flags.h"
#include "common/env/throughput.h"  // CpuModel
#include "common/model/policy.h"

namespace colony {
namespace {

using Clock = std::chrono::steady_clock;

// Calls `body` until `seconds` have passed (at least 3 times); returns calls per second.
template <typename Body>
double Rate(double seconds, Body body) {
  body();  // warm-up: allocator, first-call dispatch
  const auto start = Clock::now();
  std::int64_t calls = 0;
  double elapsed = 0;
  while (calls < 3 || elapsed < seconds) {
    body();
    ++calls;
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  }
  return static_cast<double>(calls) / elapsed;
}

double StepRate(Policy& policy, std::int64_t envs, double seconds) {
  torch::NoGradGuard no_grad;
  const std::int64_t obs_dim = policy.config().obs_dim;
  Memory memory = policy.InitialMemory(envs);
  for (std::int64_t i = 0; i <= policy.config().memory; ++i) {  // a full memory, as in steady state
    policy.Step(torch::randn({envs, obs_dim}), torch::full({envs}, i == 0, torch::kBool), memory);
  }
  const torch::Tensor obs = torch::randn({envs, obs_dim});
  return envs * Rate(seconds, [&] {
    const torch::Tensor first = torch::rand({envs}) < 1.0 / 200;
    policy.Step(obs, first, memory);
  });
}

double UnrollRate(Policy& policy, std::int64_t t, std::int64_t b, double seconds) {
  const torch::Tensor obs = torch::randn({t, b, policy.config().obs_dim});
  const torch::Tensor first = torch::rand({t, b}) < 1.0 / 200;
  Memory initial = policy.InitialMemory(b);
  {
    torch::NoGradGuard no_grad;
    for (std::int64_t i = 0; i < policy.config().memory; ++i) {
      policy.Step(obs[0], torch::full({b}, i == 0, torch::kBool), initial);
    }
  }
  return static_cast<double>(t * b) * Rate(seconds, [&] {
    policy.ZeroGradients();
    UnrollOutput out = policy.Unroll(obs, first, initial);
    (out.logits.square().mean() + out.values.square().mean()).backward();
  });
}

int Main(int argc, char** argv) {
  ModelConfig config;
  double seconds = 1.0;
  std::int64_t threads = 1, unroll = 32;
  Flags flags("model_bench [--seconds S] [--threads N] [--unroll T] [model shape flags]");
  flags.Add("seconds", &seconds, "time per table row", 0.01, 600);
  flags.Add("threads", &threads, "torch intra-op threads (1 = per-core numbers)", 1, 256);
  flags.Add("unroll", &unroll, "T of the learner rows", 1, 4096);
  flags.Add("obs-dim", &config.obs_dim, "observation length");
  flags.Add("actions", &config.num_actions, "number of actions");
  flags.Add("layers", &config.layers, "blocks");
  flags.Add("d-model", &config.d_model, "model width");
  flags.Add("heads", &config.heads, "attention heads");
  flags.Add("d-ff", &config.d_ff, "feed-forward width");
  flags.Add("memory", &config.memory, "memory length M");
  flags.Parse(argc, argv);
  if (flags.help_requested()) {
    std::cout << flags.Help();
    return 0;
  }
  config.Validate();
  torch::set_num_threads(static_cast<int>(threads));
  torch::manual_seed(0);
  ModelConfig mlp_config = config;
  mlp_config.kind = "mlp";
  auto gtrxl = MakePolicy(config);
  auto mlp = MakePolicy(mlp_config);

  std::printf("Machine: %s, torch threads %lld, LibTorch %s\n", env::CpuModel().c_str(),
              static_cast<long long>(threads), TORCH_VERSION);
  std::printf("GTrXL: %s, %lld parameters; MLP baseline: %lld parameters\n\n",
              config.ToJson().c_str(), static_cast<long long>(gtrxl->parameter_count()),
              static_cast<long long>(mlp->parameter_count()));

  std::printf("| actor step mode | GTrXL env-steps/s | GTrXL us/call | MLP env-steps/s |\n");
  std::printf("|---:|---:|---:|---:|\n");
  for (std::int64_t envs : {1, 16, 64, 256}) {
    const double g = StepRate(*gtrxl, envs, seconds);
    const double m = StepRate(*mlp, envs, seconds);
    std::printf("| E = %lld | %.0f | %.1f | %.0f |\n", static_cast<long long>(envs), g,
                1e6 * envs / g, m);
    std::fflush(stdout);
  }
  std::printf("\n| learner unroll, T = %lld | GTrXL samples/s (fwd+bwd) | GTrXL ms/batch | "
              "MLP samples/s |\n", static_cast<long long>(unroll));
  std::printf("|---:|---:|---:|---:|\n");
  for (std::int64_t b : {8, 32, 64}) {
    const double g = UnrollRate(*gtrxl, unroll, b, seconds);
    const double m = UnrollRate(*mlp, unroll, b, seconds);
    std::printf("| B = %lld | %.0f | %.1f | %.0f |\n", static_cast<long long>(b), g,
                1e3 * unroll * b / g, m);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace
}  // namespace colony

int main(int argc, char** argv) {
  try {
    return colony::Main(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "model_bench: " << e.what() << "\n";
    return 2;
  }
}
