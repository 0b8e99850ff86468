// env_bench: raw environment throughput, env-steps per second on one core, for every built-in
// environment and a few batch sizes E, printed as a markdown table with the machine.
//
// In: --env (comma list, default all), --envs (comma list of E), --seconds per row.
// Out: the table on stdout. What is timed is VectorEnv::Step (see common/env/throughput.h):
// physics, auto-reset, action checks and episode statistics, not action selection. MuJoCo tasks
// also show their share of a bare mj_step loop, the physical limit.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "common/base/flags.h"
#include "common/env/mujoco/locomotion.h"
#include "common/env/registry.h"
#include "common/env/throughput.h"

namespace {

// MuJoCo tasks hold one mjData per env (Ant's is ~0.5 MB): larger batches are left out.
constexpr int kMaxMujocoEnvs = 256;

std::string Format3(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", value);
  return text;
}

int Main(int argc, char** argv) {
  std::string envs_text;
  std::string sizes_text = "1,16,256,4096";
  double seconds = 1.0;
  colony::Flags flags("env_bench [--env A,B] [--envs 1,16,256] [--seconds S]");
  flags.Add("env", &envs_text, "environments to measure (default: all built-in); one at a time "
            "for names with parameters, e.g. plugin:build/examples/cartpole_plugin.so");
  flags.Add("envs", &sizes_text, "batch sizes E, comma-separated");
  flags.Add("seconds", &seconds, "measurement time per row", /*min=*/0.001, /*max=*/3600);
  flags.Parse(argc, argv);
  if (flags.help_requested()) {
    std::fputs(flags.Help().c_str(), stdout);
    return 0;
  }
  std::vector<std::string> names = colony::SplitComma(envs_text);
  if (names.empty()) {
    for (const auto& info : colony::env::Registry()) {
      try {
        colony::env::MakeBatchEnv(info.name, 1);
        names.push_back(info.name);
      } catch (const colony::env::EnvError& error) {  // e.g. MuJoCo tasks in a build without it
        std::printf("(%s left out: %s)\n", info.name.c_str(), error.what());
      }
    }
  }
  std::vector<int> sizes;
  for (const auto& text : colony::SplitComma(sizes_text)) {
    const std::int64_t size = colony::ParseInt(text, "--envs");
    if (size < 1 || size > (1 << 20)) {
      throw colony::FlagError("--envs: expected integers in [1, 1048576], got " + text);
    }
    sizes.push_back(static_cast<int>(size));
  }
  for (const auto& name : names) {
    try {
      colony::env::MakeBatchEnv(name, /*num_envs=*/1);  // gym:, py: and plugin: names too
    } catch (const colony::env::EnvError& error) {
      throw colony::FlagError(std::string("--env: ") + error.what());
    }
  }

  std::printf("Environment throughput, one thread, %.2f s per row. CPU: %s\n\n", seconds,
              colony::env::CpuModel().c_str());
  if (colony::env::HaveMujoco()) {
    std::printf("MuJoCo %s. For MuJoCo tasks, \"of bare MuJoCo\" is env-steps/s against a bare "
                "loop of frame_skip x mj_step on one mjData of the same model, measured just "
                "before (no observations, rewards, resets or action checks); they run at E <= "
                "%d (one mjData per env).\n\n",
                colony::env::MujocoVersion().c_str(), kMaxMujocoEnvs);
  }
  std::printf("| env | E | env-steps/s | ns/step | episodes/s | of bare MuJoCo |\n"
              "|---|---:|---:|---:|---:|---:|\n");
  for (const auto& name : names) {
    const bool mujoco = colony::env::IsLocomotionEnvName(name);
    for (int size : sizes) {
      if (mujoco && size > kMaxMujocoEnvs) continue;
      const double bare = mujoco ? colony::env::BareMujocoStepsPerSecond(name, seconds) : 0.0;
      const auto result = colony::env::MeasureThroughput(name, size, seconds);
      const std::string share =
          mujoco ? std::to_string(static_cast<int>(
                       std::lround(100.0 * result.steps_per_second() / bare))) + " % of " +
                       Format3(bare)
                 : "-";
      std::printf("| %s | %d | %.3g | %.2f | %.3g | %s |\n", name.c_str(), size,
                  result.steps_per_second(), result.ns_per_step(),
                  static_cast<double>(result.episodes) / result.seconds, share.c_str());
      std::fflush(stdout);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return colony::RunMain("env_bench", Main, argc, argv);
}
