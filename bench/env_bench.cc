// env_bench: raw environment throughput, env-steps per second on one core, for every built-in
// environment and a few batch sizes E, printed as a markdown table with the machine.
//
// In: --env (comma list, default all), --envs (comma list of E), --seconds per row.
// Out: the table on stdout. What is timed is VectorEnv::Step (see common/env/throughput.h):
// physics, auto-reset, action checks and episode statistics, not action selection.
#include <cstdio>
#include <string>
#include <vector>

#include "common/base/flags.h"
#include "common/env/registry.h"
#include "common/env/throughput.h"

namespace {

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
    for (const auto& info : colony::env::Registry()) names.push_back(info.name);
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
  std::printf("| env | E | env-steps/s | ns/step | episodes/s |\n|---|---:|---:|---:|---:|\n");
  for (const auto& name : names) {
    for (int size : sizes) {
      const auto result = colony::env::MeasureThroughput(name, size, seconds);
      std::printf("| %s | %d | %.3g | %.2f | %.3g |\n", name.c_str(), size,
                  result.steps_per_second(), result.ns_per_step(),
                  static_cast<double>(result.episodes) / result.seconds);
      std::fflush(stdout);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return colony::RunMain("env_bench", Main, argc, argv);
}
