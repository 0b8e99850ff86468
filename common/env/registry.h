// The environment registry: every built-in environment by name, with its parameters, and the
// parser for the names users write: `Name` or `Name:key=value,key=value` ("RepeatPrevious:k=8",
// "TMaze:length=50"). Unset parameters take their defaults. MakeBatchEnv also builds
// Gymnasium environments, `gym:ID[:key=value,...]` and `py:MODULE:FUNCTION[:key=value,...]`
// (python/python_env.h), and plugins, `plugin:PATH.so[:key=value,...]` (plugin/plugin_env.h);
// they are not in the table: their parameters are Gymnasium's or the plugin's.
//
// In: an environment name from a flag or a config. Out: a BatchEnv of any size, or an Env.
// Bad input throws EnvError with the reason and what is allowed: an unknown name lists the
// available ones, an unknown parameter lists the known ones, a bad value names its range.
//
// The table is explicit (registry.cc) rather than filled by static initialisers in each
// environment's file: a static library drops object files nothing refers to, which would make
// such self-registration silently lose environments.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/env/env.h"

namespace colony::env {

// A numeric parameter: an integer (the card tasks' and TMaze's, MuJoCo's frame_skip and 0/1
// switches) or a real number (MuJoCo's reward weights and health ranges, which may be +-inf).
struct ParamSpec {
  std::string name;
  double default_value = 0;
  double min = 0;
  double max = 0;
  std::string help;
  // Shown instead of "[min, max]" when the allowed range depends on other parameters.
  std::string range_text = {};
  bool integer = true;
};

// Every parameter by name, defaults filled in; integers are exact (|value| < 2^53).
using EnvParams = std::map<std::string, double>;

// "10", "0.1", "inf": a value as `colony env list` and canonical names show it (the shortest
// text that reads back to the same double).
std::string ParamValueText(double value);
// "[1, 16]", or the spec's range_text.
std::string ParamRangeText(const ParamSpec& param);

struct EnvInfo {
  std::string name;
  std::string summary;
  std::vector<ParamSpec> params;
  // Builds `num_envs` copies. Called with every parameter present and within [min, max];
  // checks what depends on several parameters and throws EnvError if that fails.
  std::function<std::unique_ptr<BatchEnv>(const EnvParams&, int num_envs)> make;
};

// All built-in environments, in the order `colony env list` shows them.
const std::vector<EnvInfo>& Registry();

// "CartPole-v1, StatelessCartPole, RepeatPrevious, RepeatFirst, TMaze, HalfCheetah-v5, ..."
std::string AvailableEnvNames();

// The forms of Gymnasium environment names, for `colony env list` and error messages.
inline constexpr const char* kGymnasiumEnvForms =
    "gym:ID[:key=value,...] (a registered Gymnasium environment) or "
    "py:MODULE:FUNCTION[:key=value,...] (your factory returning one)";

// The plugin form (plugin/plugin_env.h), for the same places.
inline constexpr const char* kPluginEnvForm =
    "plugin:PATH.so[:key=value,...] (a shared library implementing "
    "common/env/plugin/colony_env_plugin.h)";

// Every form outside the table: "gym:... or py:...; or plugin:...".
std::string ExternalEnvForms();

struct ParsedEnvName {
  const EnvInfo* info = nullptr;
  EnvParams params;
};

// Parses `Name[:key=value,...]`; throws EnvError on any mistake.
ParsedEnvName ParseEnvName(const std::string& text);

// Parse and build; num_envs >= 1. `options` matter only for gym:/py:/plugin: environments.
std::unique_ptr<BatchEnv> MakeBatchEnv(const std::string& text, int num_envs,
                                       const EnvOptions& options = {});
Env MakeEnv(const std::string& text);

}  // namespace colony::env
