// The settings table of TrainConfig (common/config/train_config.h) and what is derived from it: the
// flags, config.json and the --config reader.
#include "common/config/train_config.h"

#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <type_traits>
#include <variant>
#include <vector>

#include "common/base/json.h"
#include "common/metrics/metrics_server.h"

namespace colony {
namespace {

constexpr std::int64_t kMaxInt = std::numeric_limits<std::int64_t>::max();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Where a setting lives in TrainConfig: a function returning a reference to the field.
template <typename T>
using Field = T& (*)(TrainConfig&);
// FIELD(model.d_model) is such a function, as a captureless lambda.
#define FIELD(member) [](TrainConfig& c) -> auto& { return c.member; }

struct BoolSetting {
  Field<bool> field;
};
struct IntSetting {
  Field<std::int64_t> field;
  std::int64_t min, max;
};
struct RealSetting {
  Field<double> field;
  double min, max;
};
struct TextSetting {
  Field<std::string> field;
  std::vector<std::string> choices;  // empty: any text
};

struct Setting {
  const char* flag;  // "" = no flag: written to config.json, skipped when read back
  const char* key;   // in config.json and --config files
  std::variant<BoolSetting, IntSetting, RealSetting, TextSetting> type;
  const char* help;
};

Setting Bool(const char* flag, const char* key, Field<bool> field, const char* help) {
  return {flag, key, BoolSetting{field}, help};
}
Setting Int(const char* flag, const char* key, Field<std::int64_t> field, std::int64_t min,
            std::int64_t max, const char* help) {
  return {flag, key, IntSetting{field, min, max}, help};
}
Setting Real(const char* flag, const char* key, Field<double> field, double min, double max,
             const char* help) {
  return {flag, key, RealSetting{field, min, max}, help};
}
Setting Text(const char* flag, const char* key, Field<std::string> field, const char* help) {
  return {flag, key, TextSetting{field, {}}, help};
}
Setting Choice(const char* flag, const char* key, Field<std::string> field,
               std::vector<std::string> choices, const char* help) {
  return {flag, key, TextSetting{field, std::move(choices)}, help};
}

// Every setting, in --help's and config.json's order. Flag names and JSON keys are contracts
// (scripts, old runs' config.json, checkpoints): add rows, never rename one.
const std::vector<Setting>& Settings() {
  using M = ModelConfig;
  static const std::vector<Setting> kSettings = {
      Text("env", "env", FIELD(env),
           "environment: NAME[:key=value,...], gym:ID[:key=value,...] or "
           "py:MODULE:FUNCTION[:key=value,...] (colony env list)"),
      Choice("model", "model", FIELD(model.kind), {"gtrxl", "gru", "lstm", "mlp"},
             "policy network"),
      // From the environment, not flags; recorded so a reader knows the network's shape.
      Int("", "obs_dim", FIELD(model.obs_dim), 1, M::kMaxObsDim, ""),
      Int("", "num_actions", FIELD(model.num_actions), 1, M::kMaxNumActions, ""),
      Text("", "actions", FIELD(model.actions), ""),
      Text("", "observations", FIELD(model.observations), ""),
      Int("layers", "layers", FIELD(model.layers), 1, M::kMaxLayers,
          "transformer blocks (mlp: hidden layers)"),
      Int("d-model", "d_model", FIELD(model.d_model), 1, M::kMaxDModel, "model width"),
      Int("heads", "heads", FIELD(model.heads), 1, M::kMaxHeads,
          "attention heads (divide --d-model)"),
      Int("d-ff", "d_ff", FIELD(model.d_ff), 1, M::kMaxDFf, "feed-forward width"),
      Int("memory", "memory", FIELD(model.memory), 1, M::kMaxMemory,
          "M: hidden states kept per layer"),
      Bool("normalize-obs", "normalize_obs", FIELD(model.normalize_obs),
           "standardise float observations by a running mean and std (kept by the learner, "
           "shipped with the weights)"),
      Int("envs-per-actor", "envs_per_actor", FIELD(envs_per_actor), 1, 1 << 20,
          "E: environments per actor"),
      Int("unroll", "unroll", FIELD(unroll), 1, 1 << 16, "T: steps per trajectory"),
      Int("batch", "batch", FIELD(batch), 1, 1 << 20, "B: trajectories per learner step"),
      Int("epochs", "epochs", FIELD(epochs), TrainConfig::kModelDefault, 64,
          "optimiser steps (passes) per batch; from the second, pi != mu and appo's clip acts; "
          "-1 = the model's: 4 for mlp, 1 for the others"),
      Int("total-frames", "total_frames", FIELD(total_frames), 1, kMaxInt,
          "stop after this many environment steps"),
      Int("seed", "seed", FIELD(seed), 0, kMaxInt,
          "run seed (environments, sampling, initial weights)"),
      Text("run-dir", "run_dir", FIELD(run_dir), "where config.json and metrics.jsonl go"),
      Real("report-every", "report_every", FIELD(report_every_s), 0.0, 3600.0,
           "seconds between status lines"),
      Text("metrics-addr", "metrics_addr", FIELD(metrics_addr),
           "HOST:PORT for learner 0's /metrics and /status; port 0 = any free port (printed "
           "and written to RUN_DIR/metrics_address)"),
      Bool("metrics-server", "metrics_server", FIELD(metrics_server),
           "serve /metrics and /status over HTTP (--no-metrics-server: off)"),
      Bool("serial", "serial", FIELD(serial),
           "actors and learner in one process, no MPI (deterministic)"),
      Int("learners", "learners", FIELD(learners), 1, 4096,
          "L: the first L ranks learn, the rest act"),
      Int("threads", "threads", FIELD(threads), 1, 256, "torch intra-op threads per process"),
      Real("peer-timeout", "peer_timeout", FIELD(peer_timeout_s), 0.1, 86400.0,
           "seconds any rank waits for another before ending the job with an error"),
      Int("max-env-errors", "max_env_errors", FIELD(max_env_errors), 1, kMaxInt,
          "gym:/py: environments: end the run when this many consecutive steps raised"),
      Int("max-policy-lag", "max_policy_lag", FIELD(max_policy_lag), 0, kMaxInt,
          "drop trajectories acted on by weights this many versions old; 0 keeps all"),
      Int("send-credits", "send_credits", FIELD(send_credits), 1, 64,
          "trajectory sends an actor keeps in flight"),
      Int("receive-queue", "receive_queue", FIELD(receive_queue), 0, 4096,
          "trajectories a learner keeps received and ready; 0 = one batch's worth, ceil(B / E)"),
      Int("inject-malformed", "inject_malformed", FIELD(inject_malformed), 0, 1000,
          "testing: actor 0 also sends this many corrupted trajectories"),
      Real("learner-delay-ms", "learner_delay_ms", FIELD(learner_delay_ms), 0.0, 60000.0,
           "testing: sleep this long in every learner update (a slow learner)"),
      Real("checkpoint-every", "checkpoint_every", FIELD(checkpoint_every_s), 0.0, 1e9,
           "seconds between checkpoints in RUN_DIR/checkpoints; 0 = only at the end and on "
           "SIGUSR1/SIGTERM/SIGINT"),
      Int("keep-checkpoints", "keep_checkpoints", FIELD(keep_checkpoints), 1, 1000000,
          "checkpoints kept (older ones deleted)"),
      Text("resume", "resume", FIELD(resume),
           "'' = fresh run; auto = newest good checkpoint in --run-dir; or a checkpoint dir"),
      Choice("algo", "algo", FIELD(loss.algo), {"appo", "impala"},
             "policy objective: appo (PPO's clipped surrogate on V-trace advantages) or impala "
             "(-log pi * V-trace advantage)"),
      Real("ppo-clip", "ppo_clip", FIELD(loss.ppo_clip), 0.0, 1.0,
           "appo: clip the ratio pi/mu to [1 - x, 1 + x]"),
      Bool("normalize-advantages", "normalize_advantages", FIELD(loss.normalize_advantages),
           "divide the batch's advantages by their std after subtracting their mean"),
      Real("advantage-max-gain", "advantage_max_gain", FIELD(loss.advantage_max_gain), 0.0, kInf,
           "with --normalize-advantages: amplify a batch's advantages at most this many times "
           "(their std is floored at 1/x); 0 = no cap"),
      Bool("center-advantages", "center_advantages", FIELD(loss.center_advantages),
           "subtract the batch's mean advantage before the policy term (no scaling); measured "
           "worse on RepeatFirst (docs/learning.md)"),
      Bool("normalize-returns", "normalize_returns", FIELD(loss.normalize_returns),
           "divide rewards by a running RMS of the value targets (values are O(1))"),
      Bool("popart", "popart", FIELD(loss.popart),
           "with --normalize-returns: rescale the value head when the RMS moves, so its "
           "outputs in reward units stay the same (PopArt's output preservation); discrete "
           "action spaces only unless --popart-box"),
      Bool("popart-box", "popart_box", FIELD(loss.popart_box),
           "with --popart: on Box (continuous) action spaces too (off: Pendulum fell more with "
           "it, docs/learning.md)"),
      Real("gamma", "gamma", FIELD(loss.gamma), 0.0, 1.0, "discount"),
      Real("rho-bar", "rho_bar", FIELD(loss.vtrace.rho_bar), 0.0, kInf,
           "V-trace importance-weight clip"),
      Real("c-bar", "c_bar", FIELD(loss.vtrace.c_bar), 0.0, kInf,
           "V-trace trace clip (<= --rho-bar)"),
      Real("lambda", "lambda", FIELD(loss.vtrace.lambda), 0.0, 1.0, "V-trace lambda"),
      Real("baseline-cost", "baseline_cost", FIELD(loss.baseline_cost), 0.0, kInf,
           "weight of the value loss"),
      Real("entropy-cost", "entropy_cost", FIELD(loss.entropy_cost), 0.0, kInf,
           "weight of the entropy bonus"),
      Real("entropy-per-advantage", "entropy_per_advantage", FIELD(loss.entropy_per_advantage),
           0.0, kInf,
           "added to --entropy-cost: this times the batch's advantage std (the bonus scales "
           "with the advantages it competes with)"),
      Bool("entropy-decay", "entropy_decay", FIELD(loss.entropy_decay),
           "decay both entropy weights linearly to 0 over the budget, as --lr-decay does the lr"),
      Real("entropy-max-std", "entropy_max_std", FIELD(loss.entropy_max_std),
           TrainConfig::kModelDefault, kInf,
           "Box actions: the entropy bonus rewards each dimension's std only up to this (the "
           "policy's action bounds are +-1); 0 = no cap; -1 = the model's: 0.7 for gtrxl, 1 for "
           "the others"),
      Real("reward-scale", "reward_scale", FIELD(loss.reward_scale), 0.0, kInf,
           "multiplies rewards in the loss"),
      Int("value-warmup-frames", "value_warmup_frames", FIELD(loss.value_warmup_frames), 0,
          kMaxInt,
          "for the first N frames only the value function learns (no policy term, no entropy "
          "bonus); 0 = off"),
      Choice("optimizer", "optimizer", FIELD(optimizer.kind), {"adam", "rmsprop"}, "optimiser"),
      Real("lr", "lr", FIELD(optimizer.learning_rate), 0.0, 1.0, "initial learning rate"),
      Real("rmsprop-alpha", "rmsprop_alpha", FIELD(optimizer.rmsprop_alpha), 0.0, 1.0,
           "RMSProp decay"),
      Real("rmsprop-eps", "rmsprop_eps", FIELD(optimizer.rmsprop_epsilon), 0.0, kInf,
           "RMSProp epsilon"),
      Real("momentum", "momentum", FIELD(optimizer.rmsprop_momentum), 0.0, 1.0,
           "RMSProp momentum"),
      Real("adam-beta1", "adam_beta1", FIELD(optimizer.adam_beta1), 0.0, 1.0, "Adam beta1"),
      Real("adam-beta2", "adam_beta2", FIELD(optimizer.adam_beta2), 0.0, 1.0, "Adam beta2"),
      Real("adam-eps", "adam_eps", FIELD(optimizer.adam_epsilon), 0.0, kInf, "Adam epsilon"),
      Real("grad-clip", "grad_clip", FIELD(optimizer.grad_clip), 0.0, kInf,
           "max gradient L2 norm, 0 = off"),
      Real("grad-clip-ratio", "grad_clip_ratio", FIELD(optimizer.grad_clip_ratio), 0.0, kInf,
           "also clip the gradient norm at this multiple of its running mean (~20 updates); "
           "0 = off"),
      Real("target-kl", "target_kl", FIELD(optimizer.target_kl), 0.0, kInf,
           "scale the lr down (x1/1.5) after an update that moved the policy by more than 2x "
           "this KL, back up (x1.5, at most 1) below half of it; 0 = off"),
      Real("max-kl", "max_kl", FIELD(optimizer.max_kl), 0.0, kInf,
           "shrink an update whose policy moved by more than this KL (mean over the batch) to "
           "sqrt(max_kl / KL) of its step; 0 = off"),
      Bool("lr-decay", "lr_decay", FIELD(optimizer.linear_decay),
           "decay the lr linearly to 0 over the budget"),
  };
  return kSettings;
}

#undef FIELD

// What a --config value must be for `setting`, or "" if `value` is that.
std::string TypeProblem(const Setting& setting, const json::Value& value) {
  struct {
    const json::Value& value;
    std::string operator()(const BoolSetting&) const {
      return value.IsBool() ? "" : "a boolean";
    }
    std::string operator()(const IntSetting&) const {
      return value.IsInt64() ? "" : "an integer";
    }
    std::string operator()(const RealSetting&) const {
      return value.IsNumber() ? "" : "a number";
    }
    std::string operator()(const TextSetting&) const {
      return value.IsString() ? "" : "a string";
    }
  } check{value};
  return std::visit(check, setting.type);
}

// `value` (of the right type) as the text its flag takes.
std::string FlagText(const json::Value& value) {
  if (value.IsBool()) return value.GetBool() ? "true" : "false";
  if (value.IsString()) return std::string(value.GetString(), value.GetStringLength());
  if (value.IsInt64()) return std::to_string(value.GetInt64());
  return JsonNumber(value.GetDouble());  // shortest text that parses back to the same double
}

}  // namespace

void RegisterTrainFlags(Flags& flags, TrainConfig* c) {
  for (const Setting& setting : Settings()) {
    const std::string flag = setting.flag;
    if (flag.empty()) continue;
    std::visit(
        [&](const auto& s) {
          using S = std::decay_t<decltype(s)>;
          if constexpr (std::is_same_v<S, BoolSetting>) {
            flags.Add(flag, &s.field(*c), setting.help);
          } else if constexpr (std::is_same_v<S, TextSetting>) {
            if (s.choices.empty()) {
              flags.Add(flag, &s.field(*c), setting.help);
            } else {
              flags.AddChoice(flag, &s.field(*c), s.choices, setting.help);
            }
          } else {
            flags.Add(flag, &s.field(*c), setting.help, s.min, s.max);
          }
        },
        setting.type);
  }
}

TrainConfig WithModelDefaults(TrainConfig config) {
  if (config.epochs == TrainConfig::kModelDefault) {
    config.epochs = config.model.kind == "mlp" ? 4 : 1;
  }
  if (config.loss.entropy_max_std == TrainConfig::kModelDefault) {
    config.loss.entropy_max_std = config.model.kind == "gtrxl" ? 0.7 : 1.0;
  }
  return config;
}

void TrainConfig::Validate() const {
  if (epochs == 0) {
    throw FlagError("--epochs: expected 1 to 64, or -1 for the model's default, got 0");
  }
  if (loss.entropy_max_std < 0 && loss.entropy_max_std != kModelDefault) {
    std::ostringstream out;
    out << "--entropy-max-std: expected a std >= 0 (0 = no cap), or -1 for the model's default, "
           "got "
        << loss.entropy_max_std;
    throw FlagError(out.str());
  }
  if (loss.vtrace.rho_bar < loss.vtrace.c_bar) {
    std::ostringstream out;
    out << "--rho-bar " << loss.vtrace.rho_bar << " < --c-bar " << loss.vtrace.c_bar
        << ": V-trace needs rho_bar >= c_bar";
    throw FlagError(out.str());
  }
  if (model.d_model % model.heads != 0) {
    throw FlagError("--heads: expected a divisor of --d-model " + std::to_string(model.d_model) +
                    ", got " + std::to_string(model.heads));
  }
  if (run_dir.empty()) throw FlagError("--run-dir: expected a directory path, got ''");
  if (const std::string problem = metrics_server ? CheckListenAddress(metrics_addr) : "";
      !problem.empty()) {
    throw FlagError("--metrics-addr: " + problem);
  }
}

void ApplyConfigFile(const std::string& path, Flags& flags) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FlagError("--config " + path + ": cannot open the file");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  json::Document doc;
  try {
    doc = ParseJsonObject(text);
  } catch (const JsonError& error) {
    throw FlagError("--config " + path + ": " + error.what() + " (as in RUN_DIR/config.json)");
  }
  // The file's keys are checked before any is applied: a typo should not half-configure a run.
  std::vector<std::string> args;
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    const std::string key(it->name.GetString(), it->name.GetStringLength());
    const Setting* setting = nullptr;
    for (const Setting& candidate : Settings()) {
      if (key == candidate.key) setting = &candidate;
    }
    if (setting == nullptr) throw FlagError("--config " + path + ": unknown key '" + key + "'");
    const std::string flag = setting->flag;
    if (flag.empty()) continue;  // obs_dim, num_actions, actions, observations: from the env
    if (const std::string expected = TypeProblem(*setting, it->value); !expected.empty()) {
      throw FlagError("--config " + path + ": key '" + key + "': expected " + expected +
                      ", got " + JsonTypeName(it->value));
    }
    args.push_back("--" + flag + "=" + FlagText(it->value));
  }
  try {
    flags.Parse(args);
  } catch (const FlagError& error) {
    throw FlagError("--config " + path + ": " + error.what());
  }
}

std::vector<std::string> ParseTrainFlags(const std::string& usage, int argc, char** argv,
                                         TrainConfig* config, bool* help_requested,
                                         std::string* help_text) {
  // First pass: only to find --config (and to reject bad flags early).
  std::string config_file;
  {
    TrainConfig scratch;
    Flags flags(usage);
    RegisterTrainFlags(flags, &scratch);
    flags.Add("config", &config_file, "JSON file in config.json's format; flags given on the "
                                      "command line override it");
    flags.Parse(argc, argv);
  }
  Flags flags(usage);
  RegisterTrainFlags(flags, config);
  std::string ignored;
  flags.Add("config", &ignored, "JSON file in config.json's format; flags given on the "
                                "command line override it");
  *help_text = flags.Help();
  if (!config_file.empty()) ApplyConfigFile(config_file, flags);
  auto positional = flags.Parse(argc, argv);  // explicit flags win
  *help_requested = flags.help_requested();
  return positional;
}

std::string TrainConfig::ToJson() const {
  TrainConfig config = *this;  // the table's fields take a mutable config
  JsonObjectWriter out(JsonObjectWriter::Style::kPretty);
  for (const Setting& setting : Settings()) {
    std::visit([&](const auto& s) { out.Add(setting.key, s.field(config)); }, setting.type);
  }
  return out.Finish() + "\n";
}

}  // namespace colony
