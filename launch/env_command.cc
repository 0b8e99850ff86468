// `colony env list | spec | replay | bench`; see env_command.h for the usage and exit codes.
//
// replay prints one JSON object per step, {"obs":[...],"reward":r,"terminated":b,
// "truncated":b}, with every number in its shortest round-trip form (float32 for obs and
// reward), so another implementation's output can be compared exactly. It simulates the whole
// sequence before printing, so bad input prints nothing but the error.
#include "launch/env_command.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/base/flags.h"
#include "common/base/json.h"
#include "common/base/shape_text.h"
#include "common/env/registry.h"
#include "common/env/throughput.h"

namespace colony {
namespace {

using env::EnvError;

constexpr const char* kUsage =
    "usage: colony env <list|spec|replay|bench> [flags]   (colony env <subcommand> --help)\n"
    "  list     names, parameters with defaults and ranges, observation and action specs\n"
    "  spec     --env NAME: one environment's spaces (gym:ID, py:MODULE:FUNCTION and "
    "plugin:PATH.so too)\n"
    "  replay   --env NAME [--seed S] [--state v1,...] --actions a0,a1,...: one JSON line "
    "per step\n"
    "  bench    --env NAME --envs E --seconds S: env-steps per second on one core\n";

// EnvError is bad user input here: report it as a usage error naming the flag.
[[noreturn]] void RethrowAsFlagError(const std::string& flag, const EnvError& error) {
  throw FlagError(flag + ": " + error.what());
}

env::Env MakeEnvForFlag(const std::string& name) {
  if (name.empty()) {
    throw FlagError("--env: expected an environment name, got nothing; available: " +
                    env::AvailableEnvNames() + "; or " + env::ExternalEnvForms());
  }
  try {
    return env::MakeEnv(name);
  } catch (const EnvError& error) {
    RethrowAsFlagError("--env", error);
  }
}

int RunList(int argc, char** argv) {
  Flags flags("colony env list");
  flags.Parse(argc, argv);
  if (flags.help_requested()) {
    std::fputs(flags.Help().c_str(), stdout);
    return 0;
  }
  for (const auto& info : env::Registry()) {
    std::printf("%s\n  %s\n", info.name.c_str(), info.summary.c_str());
    for (const auto& param : info.params) {
      std::printf("  param %s=%s in %s: %s\n", param.name.c_str(),
                  env::ParamValueText(param.default_value).c_str(),
                  env::ParamRangeText(param).c_str(), param.help.c_str());
    }
    std::optional<env::Env> defaults;
    try {
      defaults.emplace(env::MakeEnv(info.name));
    } catch (const EnvError& error) {  // e.g. a MuJoCo task in a build without MuJoCo
      std::printf("  unavailable: %s\n", error.what());
      continue;
    }
    const env::EnvSpec& spec = defaults->spec();
    std::printf("  obs float32 %s, actions %s, episode limit %lld%s\n",
                ShapeText(spec.obs_shape).c_str(), env::ActionSpaceText(spec).c_str(),
                static_cast<long long>(spec.max_episode_steps),
                info.params.empty() ? "" : " (with defaults)");
    if (!spec.state_names.empty()) {
      std::string names;
      for (const auto& name : spec.state_names) names += (names.empty() ? "" : ",") + name;
      std::printf("  --state %s\n", names.c_str());
    }
  }
  // Listed without starting Python: `colony env spec --env gym:ID` shows one's spaces.
  std::printf(
      "gym:ID[:key=value,...]\n"
      "  any Gymnasium-registered environment, gymnasium.make(ID, key=value, ...) with values "
      "read as JSON literals (gym:FrozenLake-v1:is_slippery=false); an ID that a package "
      "registers on import: gym:PACKAGE:ID\n"
      "py:MODULE:FUNCTION[:key=value,...]\n"
      "  your factory: MODULE.FUNCTION(key=value, ...) returns one Gymnasium environment; "
      "MODULE is searched in $COLONY_PYTHONPATH, the working directory and the venv\n"
      "  (both) obs Box, Discrete, MultiDiscrete, MultiBinary, Dict/Tuple of these, flattened "
      "to float32; actions Discrete, MultiDiscrete, Box (a Gaussian); packages from the venv in "
      "$COLONY_VENV "
      "(docs/environments.md)\n"
      "plugin:PATH.so[:key=value,...]\n"
      "  your simulator as a shared library implementing the C ABI of "
      "common/env/plugin/colony_env_plugin.h (example: examples/plugin_cartpole/); PATH "
      "relative to the working directory; values are passed to it as strings\n"
      "  obs float32 of any shape, actions Discrete; `colony env spec --env plugin:PATH.so` "
      "shows one's spec\n");
  return 0;
}

int RunSpec(int argc, char** argv) {
  std::string env_name;
  Flags flags("colony env spec --env NAME");
  flags.Add("env", &env_name, "environment, e.g. CartPole-v1, gym:CartPole-v1, "
            "py:my_envs:make_env or plugin:build/examples/cartpole_plugin.so");
  const auto positional = flags.Parse(argc, argv);
  if (flags.help_requested()) {
    std::fputs(flags.Help().c_str(), stdout);
    return 0;
  }
  if (!positional.empty()) {
    throw FlagError("colony env spec: expected only flags, got '" + positional[0] + "'");
  }
  const env::Env environment = MakeEnvForFlag(env_name);
  const env::EnvSpec& spec = environment.spec();
  const std::string reader = env::PolicyShapeOf(spec).observations;
  std::printf("%s\n  obs %s %s (%lld %s per observation%s), actions %s, episode limit %s\n",
              spec.name.c_str(), spec.obs_uint8 ? "uint8" : "float32",
              ShapeText(spec.obs_shape).c_str(), static_cast<long long>(spec.obs_dim),
              spec.obs_uint8 ? "bytes" : "floats",
              reader.rfind("image:", 0) == 0 ? ", read by the image torso" : "",
              env::ActionSpaceText(spec).c_str(),
              spec.max_episode_steps > 0 ? std::to_string(spec.max_episode_steps).c_str()
                                         : "none known");
  for (const auto& line : spec.details) std::printf("  %s\n", line.c_str());
  return 0;
}

int RunReplay(int argc, char** argv) {
  std::string env_name;
  std::int64_t seed = 0;
  std::string state_text;
  std::string actions_text;
  Flags flags("colony env replay --env NAME [--seed S] [--state v1,v2,...] --actions a0,a1,...\n"
              "  Box actions: --actions x0,y0,.../x1,y1,.../... (one step per '/')");
  flags.Add("env", &env_name, "environment, e.g. CartPole-v1 or RepeatPrevious:k=8");
  flags.Add("seed", &seed, "run seed; the start is env 0 of rank 0 of a run with this seed",
            /*min=*/0);
  flags.Add("state", &state_text, "start from this physical state (CartPole: x,x_dot,theta,"
            "theta_dot) instead of a random one");
  flags.Add("actions", &actions_text,
            "comma-separated actions, one per step; Box actions: a step's values comma-separated, "
            "steps separated by '/'");
  const auto positional = flags.Parse(argc, argv);
  if (flags.help_requested()) {
    std::fputs(flags.Help().c_str(), stdout);
    return 0;
  }
  if (!positional.empty()) {
    throw FlagError("colony env replay: expected only flags, got '" + positional[0] + "'");
  }
  env::Env environment = MakeEnvForFlag(env_name);
  const env::EnvSpec& spec = environment.spec();

  // Integer actions (Discrete, MultiDiscrete's mixed-radix index), or Box rows.
  std::vector<std::int64_t> actions;
  std::vector<std::vector<float>> box_actions;
  const bool box = spec.action_dim > 0;
  auto refuse = [](std::size_t step, const EnvError& error) {
    throw FlagError("--actions: step " + std::to_string(step) + ": " + error.what());
  };
  if (box) {
    std::size_t begin = 0;
    while (begin <= actions_text.size() && !actions_text.empty()) {
      const auto end = std::min(actions_text.find('/', begin), actions_text.size());
      std::vector<float> row;
      for (const auto& text : SplitComma(actions_text.substr(begin, end - begin))) {
        row.push_back(static_cast<float>(ParseDouble(text, "--actions")));
      }
      try {
        env::CheckBoxAction(spec, row);
      } catch (const EnvError& error) {
        refuse(box_actions.size(), error);
      }
      box_actions.push_back(std::move(row));
      begin = end + 1;
    }
  } else {
    for (const auto& text : SplitComma(actions_text)) {
      const std::int64_t action = ParseInt(text, "--actions");
      try {
        env::CheckAction(spec, action);
      } catch (const EnvError& error) {
        refuse(actions.size(), error);
      }
      actions.push_back(action);
    }
  }
  const std::size_t steps = box ? box_actions.size() : actions.size();

  environment.Reset(env::DeriveEnvSeed(static_cast<std::uint64_t>(seed), /*rank=*/0,
                                       /*index=*/0));
  if (flags.WasSet("state")) {
    std::vector<double> state;
    for (const auto& text : SplitComma(state_text)) state.push_back(ParseDouble(text, "--state"));
    try {
      environment.SetState(state);
    } catch (const EnvError& error) {
      RethrowAsFlagError("--state", error);
    }
  }

  std::string out;
  for (std::size_t t = 0; t < steps; ++t) {
    env::Transition step;
    try {
      step = box ? environment.StepBox(box_actions[t]) : environment.Step(actions[t]);
    } catch (const EnvError&) {  // the only way left for Step to fail
      throw FlagError("--actions: step " + std::to_string(t) + ": the episode already ended; "
                      "expected at most " + std::to_string(t) + " actions, got " +
                      std::to_string(steps));
    }
    JsonObjectWriter line;
    line.Add("obs", std::span<const float>(step.obs))
        .AddRaw("reward", JsonNumber(step.reward))  // float32's shortest form, not double's
        .Add("terminated", step.terminated)
        .Add("truncated", step.truncated);
    out += line.Finish() + "\n";
  }
  std::fputs(out.c_str(), stdout);
  return 0;
}

int RunBench(int argc, char** argv) {
  std::string env_name = "CartPole-v1";
  std::int64_t num_envs = 256;
  double seconds = 2.0;
  Flags flags("colony env bench --env NAME --envs E --seconds S");
  flags.Add("env", &env_name, "environment, e.g. CartPole-v1 or TMaze:length=100");
  flags.Add("envs", &num_envs, "environments stepped as one batch", /*min=*/1,
            /*max=*/1 << 20);
  flags.Add("seconds", &seconds, "how long to measure", /*min=*/0.001, /*max=*/3600);
  flags.Parse(argc, argv);
  if (flags.help_requested()) {
    std::fputs(flags.Help().c_str(), stdout);
    return 0;
  }
  MakeEnvForFlag(env_name);  // bad names fail here, as usage errors
  const env::Throughput result =
      env::MeasureThroughput(env_name, static_cast<int>(num_envs), seconds);
  std::printf("%s  envs=%lld  %.0f steps/s  %.2f ns/step  (%lld steps in %.2f s, 1 thread, %s)\n",
              env_name.c_str(), static_cast<long long>(num_envs), result.steps_per_second(),
              result.ns_per_step(), static_cast<long long>(result.steps), result.seconds,
              env::CpuModel().c_str());
  return 0;
}

}  // namespace

int RunEnvCommand(int argc, char** argv) {
  const std::string sub = argc >= 2 ? argv[1] : "";
  if (sub == "list") return RunList(argc - 1, argv + 1);
  if (sub == "spec") return RunSpec(argc - 1, argv + 1);
  if (sub == "replay") return RunReplay(argc - 1, argv + 1);
  if (sub == "bench") return RunBench(argc - 1, argv + 1);
  if (sub == "--help" || sub == "-h") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  std::fputs(kUsage, stderr);
  throw FlagError("colony env: expected a subcommand among list, spec, replay, bench, got '" +
                  sub + "'");
}

}  // namespace colony
