// The table of built-in environments and the parser for `Name:key=value,...`; see registry.h.
#include "common/env/registry.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "common/base/flags.h"
#include "common/env/cartpole.h"
#include "common/env/memory_tasks.h"
#include "common/env/mujoco/locomotion.h"
#include "common/env/plugin/plugin_env.h"
#include "common/env/python/python_env.h"

namespace colony::env {
namespace {

constexpr std::int64_t kMaxDecks = 16;
constexpr std::int64_t kMaxTMazeLength = 1'000'000;

std::string Quote(const std::string& text) { return "'" + text + "'"; }

// A real value: the whole text must be a number, finite or "inf"/"-inf", not NaN.
bool ParseReal(const std::string& text, double* value) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) return false;
  char* end = nullptr;
  errno = 0;
  *value = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && !std::isnan(*value) &&
         (errno == 0 || std::isinf(*value));
}

std::vector<EnvInfo> BuildRegistry() {
  std::vector<EnvInfo> envs;
  envs.push_back({"CartPole-v1",
                  "Gymnasium's CartPole-v1, bit for bit (float64 state, float32 obs "
                  "[x, x_dot, theta, theta_dot], reward 1 per step, truncated at 500)",
                  {},
                  [](const EnvParams&, int n) { return MakeCartPole(n, /*stateless=*/false); }});
  envs.push_back({"StatelessCartPole",
                  "CartPole-v1 observing only [x, theta]: velocities must be inferred",
                  {},
                  [](const EnvParams&, int n) { return MakeCartPole(n, /*stateless=*/true); }});
  envs.push_back(
      {"RepeatPrevious",
       "POPGym: output the suit of the k-th most recent card (k=1: the current one); "
       "return in [-1, 1], memoryless about -0.5",
       {{"decks", 1, 1, kMaxDecks, "decks of 52 cards; an episode is 52*decks-1 steps"},
        {"k", 4, 1, kMaxDecks * kCardsPerDeck - 1, "how far back to repeat (POPGym's k)",
         "[1, 52*decks-1]"}},
       [](const EnvParams& p, int n) {
         const auto decks = static_cast<std::int64_t>(p.at("decks"));
         const auto k = static_cast<std::int64_t>(p.at("k"));
         if (k >= decks * kCardsPerDeck) {
           throw EnvError("RepeatPrevious: parameter k: expected an integer in [1, " +
                          std::to_string(decks * kCardsPerDeck - 1) + "] (52*decks-1 with decks=" +
                          std::to_string(decks) + "), got " + std::to_string(k));
         }
         return MakeRepeatPrevious(n, decks, k);
       }});
  envs.push_back({"RepeatFirst",
                  "POPGym: output the suit of the first card at every step; return in [-1, 1], "
                  "memoryless about -0.5",
                  {{"decks", 1, 1, kMaxDecks,
                    "decks of 52 cards; an episode is 52*decks-1 steps"}},
                  [](const EnvParams& p, int n) {
                    return MakeRepeatFirst(n, static_cast<std::int64_t>(p.at("decks")));
                  }});
  envs.push_back({"TMaze",
                  "passive T-maze: a cue shown only at the start, a corridor of `length` "
                  "steps, then +1/-1 for the arm chosen; memoryless 0",
                  {{"length", 10, 1, kMaxTMazeLength, "corridor steps between cue and junction"}},
                  [](const EnvParams& p, int n) {
                    return MakeTMaze(n, static_cast<std::int64_t>(p.at("length")));
                  }});
  for (EnvInfo& info : LocomotionEnvs()) envs.push_back(std::move(info));
  return envs;
}

const EnvInfo* Find(const std::string& name) {
  for (const auto& info : Registry()) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

}  // namespace

const std::vector<EnvInfo>& Registry() {
  static const std::vector<EnvInfo> kRegistry = BuildRegistry();
  return kRegistry;
}

std::string ParamValueText(double value) {
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char text[32];
  if (value == std::floor(value) && std::fabs(value) < 1e15) {  // 1000, not 1e+03
    std::snprintf(text, sizeof text, "%.0f", value);
    return text;
  }
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(text, sizeof text, "%.*g", digits, value);
    if (std::strtod(text, nullptr) == value) break;
  }
  return text;
}

std::string ParamRangeText(const ParamSpec& param) {
  if (!param.range_text.empty()) return param.range_text;
  return "[" + ParamValueText(param.min) + ", " + ParamValueText(param.max) + "]";
}

std::string AvailableEnvNames() {
  std::string names;
  for (const auto& info : Registry()) names += (names.empty() ? "" : ", ") + info.name;
  return names;
}

std::string ExternalEnvForms() {
  return std::string(kGymnasiumEnvForms) + "; or " + kPluginEnvForm;
}

ParsedEnvName ParseEnvName(const std::string& text) {
  const auto colon = text.find(':');
  const std::string name = text.substr(0, colon);
  ParsedEnvName parsed;
  parsed.info = Find(name);
  if (parsed.info == nullptr) {
    throw EnvError("unknown environment " + Quote(name) + "; expected one of: " +
                   AvailableEnvNames() + "; or " + ExternalEnvForms());
  }
  const EnvInfo& info = *parsed.info;
  for (const auto& param : info.params) parsed.params[param.name] = param.default_value;
  if (colon == std::string::npos) return parsed;

  std::string known;
  for (const auto& param : info.params) known += (known.empty() ? "" : ", ") + param.name;
  const std::string rest = text.substr(colon + 1);
  if (info.params.empty()) {
    throw EnvError(name + " takes no parameters, got " + Quote(rest));
  }
  std::map<std::string, bool> seen;
  std::vector<std::string> items = SplitComma(rest);
  if (items.empty()) items.push_back("");  // "Name:" is a mistake, not "Name"
  for (const auto& item : items) {
    const auto equals = item.find('=');
    if (equals == std::string::npos || equals == 0) {
      throw EnvError(name + ": expected key=value with a key among " + known + ", got " +
                     Quote(item));
    }
    const std::string key = item.substr(0, equals);
    const std::string value = item.substr(equals + 1);
    const ParamSpec* spec = nullptr;
    for (const auto& param : info.params) {
      if (param.name == key) spec = &param;
    }
    if (spec == nullptr) {
      throw EnvError(name + ": unknown parameter " + Quote(key) + "; expected one of: " + known);
    }
    if (seen[key]) throw EnvError(name + ": parameter " + key + " given twice");
    seen[key] = true;
    const std::string allowed = std::string("expected ") +
                                (spec->integer ? "an integer" : "a number") + " in " +
                                ParamRangeText(*spec);
    double number = 0;
    if (spec->integer) {
      try {
        number = static_cast<double>(ParseInt(value, key));
      } catch (const FlagError&) {
        throw EnvError(name + ": parameter " + key + ": " + allowed + ", got " + Quote(value));
      }
    } else if (!ParseReal(value, &number)) {
      throw EnvError(name + ": parameter " + key + ": " + allowed + ", got " + Quote(value));
    }
    if (number < spec->min || number > spec->max) {
      throw EnvError(name + ": parameter " + key + ": " + allowed + ", got " + value);
    }
    parsed.params[key] = number;
  }
  return parsed;
}

std::unique_ptr<BatchEnv> MakeBatchEnv(const std::string& text, int num_envs,
                                       const EnvOptions& options) {
  if (num_envs < 1) {
    throw EnvError("number of envs: expected an integer >= 1, got " + std::to_string(num_envs));
  }
  if (IsPythonEnvName(text)) return MakePythonEnv(text, num_envs, options);
  if (IsPluginEnvName(text)) return MakePluginEnv(text, num_envs, options);
  const ParsedEnvName parsed = ParseEnvName(text);
  return parsed.info->make(parsed.params, num_envs);
}

Env MakeEnv(const std::string& text) { return Env(MakeBatchEnv(text, /*num_envs=*/1)); }

}  // namespace colony::env
