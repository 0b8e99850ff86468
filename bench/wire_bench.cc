// Wire format cost per message (common/wire/wire.h): prints a markdown table of bytes, encode and
// decode time and throughput for
//   * a trajectory of the default geometry (T=32, E=16, obs_dim 4, 2 actions, GTrXL memory
//     2 layers x M=32 x d_model 64), which an actor sends every T steps;
//   * the same trajectory for the MLP baseline (no memory);
//   * the default GTrXL's weights, which a learner sends each actor after every update.
// In: flags (--seconds per row, --threads, the geometry). Out: stdout only. Encoding reuses one
// buffer, as an actor does; decoding includes every validation check and the owned copies.
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <variant>
#include <vector>

#include "bench/timing.h"
#include "common/base/flags.h"
#include "common/env/throughput.h"
#include "common/model/policy.h"
#include "common/wire/wire.h"

namespace colony {
namespace {

// Seconds per call of `body`, over at least `seconds` and 10 calls, after one warm-up call.
template <typename Body>
double SecondsPerCall(double seconds, Body body) {
  return bench::SecondsPerCall(seconds, /*min_calls=*/10, body);
}

void PrintRow(const char* what, std::size_t bytes, double encode_s, double decode_s) {
  const double b = static_cast<double>(bytes);
  std::printf("| %s | %zu | %.1f | %.1f | %.2f | %.2f |\n", what, bytes, encode_s * 1e6,
              decode_s * 1e6, b / encode_s / 1e9, b / decode_s / 1e9);
  std::fflush(stdout);
}

void TrajectoryRow(const char* what, const TrajectoryGeometry& g, double seconds) {
  const Trajectory tr = MakeRandomTrajectory(g, /*seed=*/1);
  std::vector<std::byte> buffer;
  const double encode = SecondsPerCall(seconds, [&] { EncodeTrajectory(tr, 1, 0, buffer); });
  const double decode = SecondsPerCall(seconds, [&] {
    auto result = DecodeTrajectory(buffer, g);
    if (std::holds_alternative<std::string>(result)) {
      throw std::runtime_error("wire_bench: decode failed: " + std::get<std::string>(result));
    }
  });
  PrintRow(what, buffer.size(), encode, decode);
}

int Main(int argc, char** argv) {
  const ModelConfig defaults;  // the default GTrXL's memory geometry
  TrajectoryGeometry g{32, 16, 4, 2, defaults.layers, defaults.memory, defaults.d_model};
  double seconds = 1.0;
  std::int64_t threads = 1;
  Flags flags("wire_bench [--seconds S] [--threads N] [--steps T] [--envs E] [geometry flags]");
  flags.Add("seconds", &seconds, "time per table row and direction", 0.01, 600);
  flags.Add("threads", &threads, "torch intra-op threads (1 = per-core numbers)", 1, 256);
  flags.Add("steps", &g.steps, "T", 1, 1 << 16);
  flags.Add("envs", &g.columns, "E", 1, 1 << 16);
  flags.Add("obs-dim", &g.obs_dim, "observation length", 1, 1 << 20);
  flags.Add("actions", &g.num_actions, "number of actions", 1, 1 << 20);
  flags.Add("layers", &g.memory_layers, "memory layers", 0, 64);
  flags.Add("memory", &g.memory_length, "memory length M", 0, 4096);
  flags.Add("d-model", &g.memory_width, "memory width", 0, 8192);
  flags.Parse(argc, argv);
  if (flags.help_requested()) {
    std::cout << flags.Help();
    return 0;
  }
  torch::set_num_threads(static_cast<int>(threads));
  torch::manual_seed(0);

  ModelConfig config;
  config.obs_dim = g.obs_dim;
  config.num_actions = g.num_actions;
  config.layers = g.memory_layers > 0 ? g.memory_layers : config.layers;
  config.memory = g.memory_length > 0 ? g.memory_length : config.memory;
  config.d_model = g.memory_width > 0 ? g.memory_width : config.d_model;
  const torch::Tensor weights = MakePolicy(config)->flat_parameters().detach().clone();

  std::printf("Machine: %s, torch threads %lld, LibTorch %s\n", env::CpuModel().c_str(),
              static_cast<long long>(threads), TORCH_VERSION);
  std::printf("Trajectory: T=%lld, E=%lld, obs_dim %lld, %lld actions, memory %lldx%lldx%lld\n\n",
              static_cast<long long>(g.steps), static_cast<long long>(g.columns),
              static_cast<long long>(g.obs_dim), static_cast<long long>(g.num_actions),
              static_cast<long long>(g.memory_layers), static_cast<long long>(g.memory_length),
              static_cast<long long>(g.memory_width));
  std::printf("| message | bytes | encode us | decode us | encode GB/s | decode GB/s |\n");
  std::printf("|---|---:|---:|---:|---:|---:|\n");
  TrajectoryRow("trajectory (GTrXL)", g, seconds);
  TrajectoryGeometry mlp = g;
  mlp.memory_layers = mlp.memory_length = mlp.memory_width = 0;
  TrajectoryRow("trajectory (MLP)", mlp, seconds);

  std::vector<std::byte> buffer;
  const double encode = SecondsPerCall(seconds, [&] { EncodeWeights(weights, 3, buffer); });
  const double decode = SecondsPerCall(seconds, [&] {
    auto result = DecodeWeights(buffer, weights.numel());
    if (std::holds_alternative<std::string>(result)) {
      throw std::runtime_error("wire_bench: decode failed: " + std::get<std::string>(result));
    }
  });
  const std::string what = "weights (" + std::to_string(weights.numel()) + " floats)";
  PrintRow(what.c_str(), buffer.size(), encode, decode);
  return 0;
}

}  // namespace
}  // namespace colony

int main(int argc, char** argv) {
  return colony::RunMain("wire_bench", colony::Main, argc, argv);
}
