// Policy throughput per core (common/model/): prints markdown tables of
//   * actor step mode: environment-steps/s at E = 1, 16, 64, 256 (GTrXL fast and reference step,
//     and the MLP baseline);
//   * learner unroll mode: samples/s (forward + backward) at several B with T fixed;
//   * the recurrent baselines (gru, lstm) at the same width and depth, both modes.
// In: flags (--seconds per row, --threads, --unroll T, model shape). Out: stdout only.
// Memory is filled before timing and episodes end at random (1 in 200 steps), as on an actor.
#include <torch/torch.h>

#include <chrono>
#include <ctime>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "bench/timing.h"
#include "common/base/flags.h"
#include "common/env/throughput.h"  // CpuModel
#include "common/model/policy.h"

namespace colony {
namespace {

using Clock = std::chrono::steady_clock;

// Calls per second of `body`, over at least `seconds` and 3 calls.
template <typename Body>
double Rate(double seconds, Body body) {
  return 1.0 / bench::SecondsPerCall(seconds, /*min_calls=*/3, body);
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

// The same as StepRate through the reference path (GtrxlPolicy's Forward with T = 1, what Step
// ran before common/model/gtrxl_step.h): the "before" column, measured in the same run.
double ReferenceStepRate(Policy& policy, std::int64_t envs, double seconds) {
  torch::NoGradGuard no_grad;
  const std::int64_t obs_dim = policy.config().obs_dim;
  Memory memory = policy.InitialMemory(envs);
  auto step = [&](const torch::Tensor& obs, const torch::Tensor& first) {
    memory = policy.Unroll(obs.unsqueeze(0), first.unsqueeze(0), memory).final_memory;
  };
  for (std::int64_t i = 0; i <= policy.config().memory; ++i) {
    step(torch::randn({envs, obs_dim}), torch::full({envs}, i == 0, torch::kBool));
  }
  const torch::Tensor obs = torch::randn({envs, obs_dim});
  return envs * Rate(seconds, [&] { step(obs, torch::rand({envs}) < 1.0 / 200); });
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

// The machine's own dense arithmetic rate: a 512x512 float matrix product on this thread count.
double MatmulGflops(double seconds) {
  const std::int64_t n = 512;
  const torch::Tensor a = torch::randn({n, n});
  const torch::Tensor b = torch::randn({n, n});
  torch::Tensor c = torch::empty({n, n});
  return 2.0 * n * n * n * Rate(seconds, [&] { torch::mm_out(c, a, b); }) / 1e9;
}

// Multiply-adds counted as 2 FLOPs; layer norms, softmax and activations (O(d) each) are left
// out, so these are slight undercounts. Per layer of the GTrXL (common/model/gtrxl.cc): Q, K, V
// and output projections (4 d^2 MACs), two GRU-type gates of six d x d products each
// (12 d^2), the feed-forward pair (2 d d_ff), and attention over `span` keys (2 d span).
double LayerFlops(const ModelConfig& c, double span) {
  const double d = static_cast<double>(c.d_model);
  return 2.0 * (16.0 * d * d + 2.0 * d * static_cast<double>(c.d_ff) + 2.0 * d * span);
}

double EmbedAndHeadFlops(const ModelConfig& c) {
  return 2.0 * static_cast<double>(c.d_model) * static_cast<double>(c.obs_dim + c.num_actions + 1);
}

// Step mode: one new row per env; the memory rows' keys and values are cached, so attention
// covers M + 1 keys and nothing else is recomputed.
double StepFlops(const ModelConfig& c) {
  return c.layers * LayerFlops(c, static_cast<double>(c.memory + 1)) + EmbedAndHeadFlops(c);
}

// Unroll mode, per sample, forward + backward (backward ~ 2x forward): each of the T rows
// attends to at most M + 1 keys (a window), and the M memory rows get their keys and values
// projected once per unroll (2 d^2 MACs per row, amortised over T).
double UnrollFlops(const ModelConfig& c, std::int64_t t) {
  const double d = static_cast<double>(c.d_model);
  const double memory_kv = 2.0 * 2.0 * d * d * static_cast<double>(c.memory) / static_cast<double>(t);
  const double forward =
      c.layers * (LayerFlops(c, static_cast<double>(c.memory + 1)) + memory_kv) +
      EmbedAndHeadFlops(c);
  return 3.0 * forward;
}

int Main(int argc, char** argv) {
  ModelConfig config;
  double seconds = 1.0;
  std::int64_t threads = 1, unroll = 32;
  Flags flags("model_bench [--seconds S] [--threads N] [--unroll T] [model shape flags]");
  flags.Add("seconds", &seconds, "time per table row", 0.01, 600);
  flags.Add("threads", &threads, "torch intra-op threads (1 = per-core numbers)", 1, 256);
  flags.Add("unroll", &unroll, "T of the learner rows", 1, 4096);
  std::int64_t only_envs = 0;
  flags.Add("only-step-envs", &only_envs,
            "time only the GTrXL fast step at this E, for --seconds (for profilers); 0 = all rows",
            0, 1 << 20);
  std::int64_t only_batch = 0;
  flags.Add("only-unroll-batch", &only_batch,
            "time only the GTrXL learner unroll (fwd + bwd) at this B, for --seconds (for "
            "profilers); 0 = all rows",
            0, 1 << 20);
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
  if (only_envs > 0) {
    // Also per second of this process's CPU time, which time-sharing with other work does not
    // inflate (cache contention still does).
    auto policy = MakePolicy(config);
    const std::clock_t cpu_start = std::clock();
    const auto wall_start = Clock::now();
    const double rate = StepRate(*policy, only_envs, seconds);
    const double wall = std::chrono::duration<double>(Clock::now() - wall_start).count();
    const double cpu = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
    const double matmul = MatmulGflops(1.0);
    std::printf("GTrXL fast step, E = %lld: %.0f env-steps/s (%.0f per CPU-second), %.1f%% of "
                "matmul (%.1f GFLOP/s)\n", static_cast<long long>(only_envs), rate,
                rate * wall / cpu, 100 * rate * StepFlops(config) / 1e9 / matmul, matmul);
    return 0;
  }
  if (only_batch > 0) {
    auto policy = MakePolicy(config);
    const double rate = UnrollRate(*policy, unroll, only_batch, seconds);
    const double matmul = MatmulGflops(1.0);
    std::printf("GTrXL unroll, T = %lld, B = %lld: %.0f samples/s, %.1f%% of matmul (%.1f "
                "GFLOP/s)\n", static_cast<long long>(unroll), static_cast<long long>(only_batch),
                rate, 100 * rate * UnrollFlops(config, unroll) / 1e9 / matmul, matmul);
    return 0;
  }
  ModelConfig mlp_config = config;
  mlp_config.kind = "mlp";
  auto gtrxl = MakePolicy(config);
  auto mlp = MakePolicy(mlp_config);

  std::printf("Machine: %s, torch threads %lld, LibTorch %s\n", env::CpuModel().c_str(),
              static_cast<long long>(threads), TORCH_VERSION);
  std::printf("GTrXL: %s, %lld parameters; MLP baseline: %lld parameters\n\n",
              config.ToJson().c_str(), static_cast<long long>(gtrxl->parameter_count()),
              static_cast<long long>(mlp->parameter_count()));

  const double peak = MatmulGflops(seconds);
  const double step_flops = StepFlops(config);
  const double unroll_flops = UnrollFlops(config, unroll);
  std::printf("Measured matmul (512x512 float, same threads): %.1f GFLOP/s. GTrXL FLOPs: %.3g "
              "per env-step in step mode, %.3g per sample in unroll mode (fwd+bwd, T = %lld).\n\n",
              peak, step_flops, unroll_flops, static_cast<long long>(unroll));

  std::printf("| actor step mode | GTrXL env-steps/s | GTrXL us/call | GTrXL GFLOP/s | of matmul "
              "| MLP env-steps/s | GTrXL reference step env-steps/s | reference of matmul |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (std::int64_t envs : {1, 16, 64, 256}) {
    const double g = StepRate(*gtrxl, envs, seconds);
    const double r = ReferenceStepRate(*gtrxl, envs, seconds);
    const double m = StepRate(*mlp, envs, seconds);
    std::printf("| E = %lld | %.0f | %.1f | %.2f | %.1f%% | %.0f | %.0f | %.1f%% |\n",
                static_cast<long long>(envs), g, 1e6 * envs / g, g * step_flops / 1e9,
                100 * g * step_flops / 1e9 / peak, m, r, 100 * r * step_flops / 1e9 / peak);
    std::fflush(stdout);
  }
  std::printf("\n| learner unroll, T = %lld | GTrXL samples/s (fwd+bwd) | GTrXL ms/batch | "
              "GTrXL GFLOP/s | of matmul | MLP samples/s |\n", static_cast<long long>(unroll));
  std::printf("|---:|---:|---:|---:|---:|---:|\n");
  for (std::int64_t b : {8, 32, 128}) {
    const double g = UnrollRate(*gtrxl, unroll, b, seconds);
    const double m = UnrollRate(*mlp, unroll, b, seconds);
    std::printf("| B = %lld | %.0f | %.1f | %.2f | %.1f%% | %.0f |\n", static_cast<long long>(b),
                g, 1e3 * unroll * b / g, g * unroll_flops / 1e9,
                100 * g * unroll_flops / 1e9 / peak, m);
    std::fflush(stdout);
  }
  // The recurrent baselines (common/model/recurrent.h) at the same width and depth. FLOPs are
  // counted as 2 per parameter per env-step (every weight is used once in a product; the
  // element-wise work is left out) and 3x that for an unrolled sample (forward and backward).
  std::printf("\n| recurrent baseline (same width, depth) | parameters | step E = 16 env-steps/s | "
              "of matmul | step E = 256 env-steps/s | of matmul | unroll B = 32 samples/s | "
              "of matmul |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const char* kind : {"gru", "lstm"}) {
    ModelConfig rnn_config = config;
    rnn_config.kind = kind;
    auto rnn = MakePolicy(rnn_config);
    const double flops = 2.0 * static_cast<double>(rnn->parameter_count());
    const double s16 = StepRate(*rnn, 16, seconds), s256 = StepRate(*rnn, 256, seconds);
    const double u32 = UnrollRate(*rnn, unroll, 32, seconds);
    std::printf("| %s | %lld | %.0f | %.1f%% | %.0f | %.1f%% | %.0f | %.1f%% |\n", kind,
                static_cast<long long>(rnn->parameter_count()), s16, 100 * s16 * flops / 1e9 / peak,
                s256, 100 * s256 * flops / 1e9 / peak, u32, 100 * u32 * 3 * flops / 1e9 / peak);
    std::fflush(stdout);
  }
  // Other work on the machine moves every rate above; a second matmul measurement says by how
  // much it moved during the run.
  std::printf("\nMatmul again at the end: %.1f GFLOP/s.\n", MatmulGflops(seconds));
  return 0;
}

}  // namespace
}  // namespace colony

int main(int argc, char** argv) {
  return colony::RunMain("model_bench", colony::Main, argc, argv);
}
