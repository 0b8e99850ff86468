// PluginEnv: the BatchEnv over a plugin's function table (plugin_env.h, colony_env_plugin.h).
// Loading and checking the library happen once per process (Load); the hot path is Step: one
// call into the plugin, then the rare fault handling and resets of ended episodes.
#include "common/env/plugin/plugin_env.h"

#include <dlfcn.h>

#include <cctype>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "common/base/flags.h"
#include "common/env/env_faults.h"
#include "common/env/plugin/colony_env_plugin.h"

namespace colony::env {
namespace {

constexpr std::size_t kErrorSize = COLONY_ENV_ERROR_SIZE;
// The table as the header first defined it (up to set_state): plugins built with it still load,
// with Discrete actions.
constexpr std::size_t kFirstTableSize = offsetof(ColonyEnvPluginV1, action_space);
constexpr const char* kExpectedEntry =
    "a plugin exports `const ColonyEnvPluginV1* colony_env_plugin_v1(void)` "
    "(common/env/plugin/colony_env_plugin.h)";

struct ParsedText {
  std::string path;  // as written
  std::vector<std::pair<std::string, std::string>> params;
};

ParsedText Parse(const std::string& text) {
  const std::string rest = text.substr(std::strlen("plugin:"));
  const auto colon = ParamsColon(rest);
  ParsedText parsed;
  parsed.path = rest.substr(0, colon);
  const std::string usage =
      "expected plugin:PATH.so[:key=value,...], e.g. "
      "plugin:build/examples/cartpole_plugin.so or plugin:./my_sim.so:size=8";
  if (parsed.path.empty() || parsed.path.back() == ':') {
    throw EnvError("environment '" + text + "': " + usage);
  }
  if (colon == std::string::npos) return parsed;
  for (const auto& item : SplitComma(rest.substr(colon + 1))) {
    const auto equals = item.find('=');
    std::string key = equals == std::string::npos ? "" : item.substr(0, equals);
    bool valid = !key.empty() && std::isdigit(static_cast<unsigned char>(key[0])) == 0;
    for (const char c : key) valid &= IsIdentifierChar(c);
    if (!valid) {
      throw EnvError("environment '" + text + "': parameter '" + item +
                     "': expected key=value with an identifier key; " + usage);
    }
    for (const auto& [seen, value] : parsed.params) {
      if (seen == key) throw EnvError(text + ": parameter " + key + " given twice");
    }
    parsed.params.emplace_back(std::move(key), item.substr(equals + 1));
  }
  return parsed;
}

// The library at `path`, opened and checked once per process; never closed (a plugin's static
// state and thread-locals stay valid until exit). Throws EnvError for every way it can be bad.
const ColonyEnvPluginV1& Load(const std::string& path, const std::string& text) {
  static std::mutex mu;
  static std::map<std::string, const ColonyEnvPluginV1*> loaded;  // GUARDED_BY(mu)
  std::error_code ignored;
  const std::filesystem::path absolute = std::filesystem::absolute(path, ignored);
  const std::string where =
      text + (absolute.string() == path ? "" : " (" + absolute.string() + ")");
  std::lock_guard lock(mu);
  if (const auto it = loaded.find(absolute.string()); it != loaded.end()) return *it->second;

  if (!std::filesystem::is_regular_file(absolute, ignored)) {
    throw EnvError(where + ": no such file; expected a shared library (a relative PATH is "
                   "resolved against the working directory, " +
                   std::filesystem::current_path(ignored).string() +
                   "; parameters follow as :key=value,...)");
  }
  void* library = dlopen(absolute.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char* reason = dlerror();
    throw EnvError(where + ": dlopen failed: " + (reason ? reason : "unknown reason") +
                   "; expected a shared library for this machine with every symbol resolvable");
  }
  dlerror();  // clear, so the check below reads this dlsym's outcome
  void* symbol = dlsym(library, COLONY_ENV_PLUGIN_SYMBOL);
  if (symbol == nullptr) {
    const char* reason = dlerror();
    dlclose(library);
    throw EnvError(where + ": no symbol " COLONY_ENV_PLUGIN_SYMBOL " (" +
                   (reason ? reason : "null") + "); " + kExpectedEntry +
                   " with C linkage and default visibility");
  }
  ColonyEnvPluginEntryV1 entry = nullptr;
  static_assert(sizeof(entry) == sizeof(symbol));
  std::memcpy(&entry, &symbol, sizeof(entry));  // POSIX: object pointer to function pointer
  const ColonyEnvPluginV1* table = entry();
  std::string problem;
  if (table == nullptr) {
    problem = COLONY_ENV_PLUGIN_SYMBOL "() returned NULL; expected its function table";
  } else if (table->abi_version != COLONY_ENV_PLUGIN_ABI_VERSION) {
    problem = "abi_version " + std::to_string(table->abi_version) + ", expected " +
              std::to_string(COLONY_ENV_PLUGIN_ABI_VERSION) +
              " (this Colony implements version " +
              std::to_string(COLONY_ENV_PLUGIN_ABI_VERSION) + " of colony_env_plugin.h)";
  } else if (table->struct_size < kFirstTableSize) {
    problem = "struct_size " + std::to_string(table->struct_size) + ", expected at least " +
              std::to_string(kFirstTableSize) + " (sizeof(ColonyEnvPluginV1) up to set_state)";
  } else {
    const std::pair<const char*, bool> required[] = {
        {"create", table->create != nullptr},
        {"destroy", table->destroy != nullptr},
        {"reset", table->reset != nullptr},
        {"step", table->step != nullptr}};
    for (const auto& [name, present] : required) {
      if (!present) {
        problem = std::string("function ") + name + " is NULL; expected create, destroy, reset "
                  "and step (set_state is optional)";
        break;
      }
    }
  }
  if (!problem.empty()) {
    dlclose(library);
    throw EnvError(where + ": " + problem);
  }
  loaded[absolute.string()] = table;
  return *table;
}

// Buffers the plugin writes messages into, with the NUL the ABI promises at the end.
std::string MessageAt(const char* row) {
  return std::string(row, strnlen(row, kErrorSize - 1));
}

// Whether the table reaches the fields added after set_state (action_space, step_box).
bool HasActionFunctions(const ColonyEnvPluginV1& plugin) {
  return plugin.struct_size >= offsetof(ColonyEnvPluginV1, step_box) + sizeof(plugin.step_box);
}

[[noreturn]] void BadSpec(const std::string& text, const std::string& what) {
  throw EnvError(text + ": the plugin's create returned a bad spec: " + what);
}

// Fills spec's action fields from the plugin's optional action_space (Discrete without one) and
// checks them against spec.num_actions's rules (colony_env_plugin.h, ColonyEnvActionsV1).
void ReadActionSpace(const std::string& text, const ColonyEnvPluginV1& plugin, void* handle,
                     const ColonyEnvSpecV1& raw, EnvSpec& spec) {
  const auto bad = [&](const std::string& what) { BadSpec(text, what); };
  ColonyEnvActionsV1 actions{};
  actions.kind = COLONY_ENV_ACTIONS_DISCRETE;
  if (HasActionFunctions(plugin) && plugin.action_space != nullptr) {
    std::vector<char> error(kErrorSize, '\0');
    if (plugin.action_space(handle, &actions, error.data()) != 0) {
      const std::string message = MessageAt(error.data());
      throw EnvError(text + ": the plugin's action_space failed: " +
                     (message.empty() ? "(it wrote no message)" : message));
    }
  }
  const bool box = actions.kind == COLONY_ENV_ACTIONS_BOX;
  if (actions.kind != COLONY_ENV_ACTIONS_DISCRETE) {
    if (!box && actions.kind != COLONY_ENV_ACTIONS_MULTI_DISCRETE) {
      bad("action kind " + std::to_string(actions.kind) + ", expected " +
          std::to_string(COLONY_ENV_ACTIONS_MULTI_DISCRETE) + " (MultiDiscrete) or " +
          std::to_string(COLONY_ENV_ACTIONS_BOX) + " (Box)");
    }
    if (actions.size < 1 || actions.size > COLONY_ENV_MAX_ACTION_SIZE) {
      bad("action size " + std::to_string(actions.size) + ", expected 1.." +
          std::to_string(COLONY_ENV_MAX_ACTION_SIZE));
    }
  }
  if (box) {
    if (raw.num_actions != 0) {
      bad("num_actions " + std::to_string(raw.num_actions) + " with Box actions, expected 0");
    }
    if (plugin.step_box == nullptr) bad("Box actions but step_box is NULL");
    for (int j = 0; j < actions.size; ++j) {
      if (std::isnan(actions.low[j]) || std::isnan(actions.high[j]) ||
          !(actions.low[j] <= actions.high[j])) {
        bad("Box bounds of dimension " + std::to_string(j) + ": [" + std::to_string(actions.low[j]) +
            ", " + std::to_string(actions.high[j]) + "], expected low <= high");
      }
      spec.action_low.push_back(actions.low[j]);
      spec.action_high.push_back(actions.high[j]);
    }
    spec.action_dim = actions.size;
  } else {
    if (raw.num_actions < 1) {
      bad("num_actions " + std::to_string(raw.num_actions) + ", expected >= 1");
    }
    if (actions.kind == COLONY_ENV_ACTIONS_MULTI_DISCRETE) {
      double product = 1;
      for (int k = 0; k < actions.size; ++k) {
        if (actions.nvec[k] < 1 || actions.nvec[k] > (1 << 16)) {
          bad("nvec[" + std::to_string(k) + "] " + std::to_string(actions.nvec[k]) +
              ", expected 1..65536");
        }
        product *= static_cast<double>(actions.nvec[k]);
        spec.action_nvec.push_back(actions.nvec[k]);
      }
      if (product != static_cast<double>(raw.num_actions)) {
        bad("num_actions " + std::to_string(raw.num_actions) +
            " with MultiDiscrete actions, expected the product of nvec");
      }
    }
  }
  spec.num_actions = raw.num_actions;
}

EnvSpec CheckedSpec(const std::string& text, const ColonyEnvPluginV1& plugin, void* handle,
                    const ColonyEnvSpecV1& raw) {
  const auto bad = [&](const std::string& what) { BadSpec(text, what); };
  if (raw.obs_rank < 1 || raw.obs_rank > COLONY_ENV_MAX_OBS_RANK) {
    bad("obs_rank " + std::to_string(raw.obs_rank) + ", expected 1.." +
        std::to_string(COLONY_ENV_MAX_OBS_RANK));
  }
  EnvSpec spec;
  spec.name = text;
  spec.obs_dim = 1;
  for (int d = 0; d < raw.obs_rank; ++d) {
    const std::int64_t size = raw.obs_shape[d];
    if (size < 1 || size > (1 << 30) / spec.obs_dim) {
      bad("obs_shape[" + std::to_string(d) + "] " + std::to_string(size) +
          ", expected >= 1 (and at most 2^30 floats in all)");
    }
    spec.obs_shape.push_back(size);
    spec.obs_dim *= size;
  }
  ReadActionSpace(text, plugin, handle, raw, spec);
  if (raw.max_episode_steps < 0) {
    bad("max_episode_steps " + std::to_string(raw.max_episode_steps) + ", expected >= 0");
  }
  spec.max_episode_steps = raw.max_episode_steps;
  if (plugin.set_state != nullptr && raw.state_names != nullptr) {
    spec.state_names = SplitComma(raw.state_names);
  }
  spec.details.push_back(std::string("plugin ") + (plugin.name ? plugin.name : "(unnamed)") +
                         ", C ABI version " + std::to_string(plugin.abi_version) +
                         (plugin.summary ? std::string(": ") + plugin.summary : ""));
  spec.details.push_back("action space: " + ActionSpaceText(spec));
  return spec;
}

class PluginEnv final : public BatchEnv {
 public:
  PluginEnv(EnvSpec spec, int num_envs, const ColonyEnvPluginV1& plugin, void* handle,
            const EnvOptions& options)
      : BatchEnv(std::move(spec), num_envs),
        plugin_(plugin),
        handle_(handle),
        faults_(this->spec().name, options, "failed"),
        errors_(Count() * kErrorSize, '\0') {}

  ~PluginEnv() override { plugin_.destroy(handle_); }

  void Reset(int i, float* obs_row) override {
    while (true) {
      char* error = ErrorRow(0);
      const std::int32_t rc = plugin_.reset(handle_, i, rng(i).Next(), obs_row, error);
      if (rc == 0) return;
      const std::string message = TakeMessage(error);
      faults_.Fault(i, "reset", message);
      faults_.FailedInARow();
    }
  }

  void Step(const std::int64_t* actions, bool auto_reset, float* obs, float* rewards,
            std::uint8_t* terminated, std::uint8_t* truncated) override {
    if (spec().action_dim > 0) {
      throw EnvError(spec().name + " takes Box actions (" + ActionSpaceText(spec()) +
                     "), not integer actions");
    }
    AfterStep(plugin_.step(handle_, actions, obs, rewards, terminated, truncated, errors_.data()),
              auto_reset, obs, rewards, terminated, truncated);
  }

  void StepBox(const float* actions, bool auto_reset, float* obs, float* rewards,
               std::uint8_t* terminated, std::uint8_t* truncated) override {
    if (spec().action_dim == 0) {
      BatchEnv::StepBox(actions, auto_reset, obs, rewards, terminated, truncated);  // throws
    }
    AfterStep(
        plugin_.step_box(handle_, actions, obs, rewards, terminated, truncated, errors_.data()),
        auto_reset, obs, rewards, terminated, truncated);
  }

  void SetState(int i, std::span<const double> state, float* obs_row) override {
    if (plugin_.set_state == nullptr) BatchEnv::SetState(i, state, obs_row);  // throws
    char* error = ErrorRow(0);
    if (plugin_.set_state(handle_, i, state.data(), static_cast<std::int32_t>(state.size()),
                          obs_row, error) != 0) {
      throw EnvError(spec().name + ": set_state: " + TakeMessage(error));
    }
  }

  std::int64_t env_errors() const override { return faults_.count(); }

 private:
  // What every batch step does after the plugin's call: failures, then resets of ended episodes.
  void AfterStep(std::int32_t failed, bool auto_reset, float* obs, float* rewards,
                 std::uint8_t* terminated, std::uint8_t* truncated) {
    ClearStepFaults();
    if (failed < 0) {
      throw EnvFault(spec().name + ": the plugin's step failed for the whole batch (returned " +
                     std::to_string(failed) + "): " + TakeMessage(ErrorRow(0)));
    }
    if (failed == 0) {
      faults_.Succeeded();
      // A message beside a return of 0 breaks the ABI; clear it, or a later failure of another
      // env would report this env as failed too. One byte read per env.
      for (std::size_t e = 0; e < Count(); ++e) {
        if (ErrorRow(e)[0] != '\0') std::memset(ErrorRow(e), 0, kErrorSize);
      }
    } else {
      HandleFailures(failed, obs, rewards, terminated, truncated);
    }
    if (!auto_reset) return;
    const std::size_t dim = Dim();
    for (std::size_t e = 0; e < Count(); ++e) {
      if (terminated[e] != 0 || truncated[e] != 0) Reset(static_cast<int>(e), obs + e * dim);
    }
  }

  std::size_t Count() const { return static_cast<std::size_t>(num_envs()); }
  std::size_t Dim() const { return static_cast<std::size_t>(spec().obs_dim); }
  char* ErrorRow(std::size_t e) { return errors_.data() + e * kErrorSize; }

  // The message in `row`, which is cleared so that every row is empty on the next call.
  std::string TakeMessage(char* row) {
    std::string message = MessageAt(row);
    std::memset(row, 0, kErrorSize);
    return message.empty() ? "(the plugin wrote no message)" : message;
  }

  // Each failed env's step reads truncated with reward 0 and a zero observation, marked as a
  // fault (StepFaulted): its episode is dropped, and the env is reset before its next step.
  void HandleFailures(std::int32_t failed, float* obs, float* rewards, std::uint8_t* terminated,
                      std::uint8_t* truncated) {
    std::int32_t found = 0;
    for (std::size_t e = 0; e < Count(); ++e) {
      if (ErrorRow(e)[0] == '\0') continue;
      ++found;
      faults_.Fault(static_cast<int>(e), "step", TakeMessage(ErrorRow(e)));
      MarkStepFault(static_cast<int>(e));
      terminated[e] = 0;
      truncated[e] = 1;
      rewards[e] = 0;
      std::memset(obs + e * Dim(), 0, Dim() * sizeof(float));
    }
    if (found == 0) {
      throw EnvFault(spec().name + ": the plugin's step returned " + std::to_string(failed) +
                     " failed envs but wrote no message in any row of `errors`; "
                     "colony_env_plugin.h requires a nonempty message for each failed env");
    }
    faults_.FailedInARow();
  }

  const ColonyEnvPluginV1& plugin_;
  void* const handle_;
  FaultLog faults_;
  std::vector<char> errors_;  // [E * kErrorSize], every row empty between calls
};

}  // namespace

bool IsPluginEnvName(const std::string& text) { return text.rfind("plugin:", 0) == 0; }

std::unique_ptr<BatchEnv> MakePluginEnv(const std::string& text, int num_envs,
                                        const EnvOptions& options) {
  const ParsedText parsed = Parse(text);
  const ColonyEnvPluginV1& plugin = Load(parsed.path, text);
  std::vector<ColonyEnvParamV1> params;
  for (const auto& [key, value] : parsed.params) params.push_back({key.c_str(), value.c_str()});
  ColonyEnvSpecV1 raw{};
  std::vector<char> error(kErrorSize, '\0');
  void* handle = plugin.create(num_envs, params.data(), static_cast<std::int32_t>(params.size()),
                               &raw, error.data());
  if (handle == nullptr) {
    const std::string message = MessageAt(error.data());
    throw EnvError(text + ": the plugin refused to create " + std::to_string(num_envs) +
                   " envs: " + (message.empty() ? "(it wrote no message)" : message));
  }
  try {
    EnvSpec spec = CheckedSpec(text, plugin, handle, raw);
    return std::make_unique<PluginEnv>(std::move(spec), num_envs, plugin, handle, options);
  } catch (...) {
    plugin.destroy(handle);
    throw;
  }
}

}  // namespace colony::env
