// Raw environment throughput: how many env-steps per second one core gets from VectorEnv.
// Shared by `colony env bench` and bench/env_bench so both report the same measurement.
//
// In: an environment name, the batch size E, a duration. Out: steps, seconds, steps/s.
// What is timed: VectorEnv::Step on E envs (action checks, physics, auto-reset with its random
// draws, episode bookkeeping), in one thread. What is not: choosing actions, which come from a
// table of pseudo-random actions filled before the clock starts and reused cyclically.
#pragma once

#include <cstdint>
#include <string>

namespace colony::env {

struct Throughput {
  std::int64_t steps = 0;     // env-steps: batch steps * E
  double seconds = 0;
  std::int64_t episodes = 0;  // completed during the measurement
  double steps_per_second() const { return seconds > 0 ? static_cast<double>(steps) / seconds : 0; }
  double ns_per_step() const { return steps > 0 ? seconds * 1e9 / static_cast<double>(steps) : 0; }
};

// Steps for at least `seconds` (after a short warm-up) and reports. Throws EnvError on a bad
// environment name.
Throughput MeasureThroughput(const std::string& env_name, int num_envs, double seconds);

// The CPU model from /proc/cpuinfo ("unknown CPU" if unreadable), for benchmark tables.
std::string CpuModel();

}  // namespace colony::env
