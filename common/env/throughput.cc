// Throughput measurement for `colony env bench` and bench/env_bench; see throughput.h.
#include "common/env/throughput.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <vector>

#include "common/env/rng.h"
#include "common/env/vector_env.h"

namespace colony::env {

Throughput MeasureThroughput(const std::string& env_name, int num_envs, double seconds) {
  VectorEnv envs(env_name, num_envs, /*run_seed=*/1, /*rank=*/0);
  const EnvSpec& spec = envs.spec();
  const auto e = static_cast<std::size_t>(num_envs);
  const auto dim = static_cast<std::size_t>(spec.obs_dim);
  std::vector<float> obs(e * dim);
  std::vector<float> rewards(e);
  std::vector<std::uint8_t> terminated(e), truncated(e), first(e);

  // Uniform random actions: for CartPole this ends episodes after ~20 steps, so resets (and
  // their random draws) are part of what is measured, as they are in training. Box actions are
  // uniform within each dimension's bounds ([-1, 1] where a bound is infinite).
  constexpr std::size_t kActionRows = 64;
  const auto box_dim = static_cast<std::size_t>(spec.action_dim);
  std::vector<std::int64_t> actions(box_dim > 0 ? 0 : kActionRows * e);
  std::vector<float> box_actions(kActionRows * e * box_dim);
  Rng rng(/*seed=*/12345);
  for (auto& action : actions) {
    action = rng.Below(static_cast<std::uint32_t>(spec.num_actions));
  }
  for (std::size_t i = 0; i < box_actions.size(); ++i) {
    const std::size_t j = i % box_dim;
    const bool finite = std::isfinite(spec.action_low[j]) && std::isfinite(spec.action_high[j]);
    const double low = finite ? spec.action_low[j] : -1.0, high = finite ? spec.action_high[j] : 1.0;
    box_actions[i] = static_cast<float>(rng.Uniform(low, high));
    box_actions[i] = std::clamp(box_actions[i], static_cast<float>(low), static_cast<float>(high));
  }

  envs.Reset(obs.data(), first.data());
  // Read the clock only every ~4k env-steps: it costs nothing measurable even for CartPole
  // (~0.1 ms per 4k steps), and slow environments (MuJoCo, Python) still stop on time.
  const std::int64_t batches_per_check = std::max<std::int64_t>(1, 4096 / num_envs);
  std::size_t row = 0;
  auto run_batches = [&](std::int64_t batches) {
    for (std::int64_t b = 0; b < batches; ++b) {
      if (box_dim > 0) {
        envs.StepBox(&box_actions[row * e * box_dim], obs.data(), rewards.data(),
                     terminated.data(), truncated.data(), first.data());
      } else {
        envs.Step(&actions[row * e], obs.data(), rewards.data(), terminated.data(),
                  truncated.data(), first.data());
      }
      row = (row + 1) % kActionRows;
    }
  };
  run_batches(batches_per_check);  // warm-up: caches, page faults, branch predictors
  envs.DrainEpisodes();

  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const std::int64_t steps_before = envs.total_steps();
  Throughput result;
  double elapsed = 0;
  do {
    run_batches(batches_per_check);
    result.episodes += static_cast<std::int64_t>(envs.DrainEpisodes().size());
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  } while (elapsed < seconds);
  result.steps = envs.total_steps() - steps_before;
  result.seconds = elapsed;
  return result;
}

std::string CpuModel() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos && colon + 2 <= line.size()) return line.substr(colon + 2);
    }
  }
  return "unknown CPU";
}

}  // namespace colony::env
