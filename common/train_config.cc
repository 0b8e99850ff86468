// Flags and JSON for TrainConfig (common/train_config.h).
#include "common/train_config.h"

#include "common/metrics_server.h"

#include <cereal/archives/json.hpp>
#include <rapidjson/document.h>

#include <fstream>
#include <limits>
#include <sstream>

namespace colony {
namespace {

constexpr std::int64_t kMaxInt = std::numeric_limits<std::int64_t>::max();

template <class Archive>
void Serialize(Archive& ar, const TrainConfig& c) {
  const ModelConfig& m = c.model;
  const LossConfig& l = c.loss;
  const OptimizerConfig& o = c.optimizer;
  ar(cereal::make_nvp("env", c.env), cereal::make_nvp("model", m.kind),
     cereal::make_nvp("obs_dim", m.obs_dim), cereal::make_nvp("num_actions", m.num_actions),
     cereal::make_nvp("layers", m.layers), cereal::make_nvp("d_model", m.d_model),
     cereal::make_nvp("heads", m.heads), cereal::make_nvp("d_ff", m.d_ff),
     cereal::make_nvp("memory", m.memory), cereal::make_nvp("envs_per_actor", c.envs_per_actor),
     cereal::make_nvp("unroll", c.unroll), cereal::make_nvp("batch", c.batch),
     cereal::make_nvp("total_frames", c.total_frames), cereal::make_nvp("seed", c.seed),
     cereal::make_nvp("run_dir", c.run_dir), cereal::make_nvp("report_every", c.report_every_s),
     cereal::make_nvp("metrics_addr", c.metrics_addr),
     cereal::make_nvp("metrics_server", c.metrics_server),
     cereal::make_nvp("serial", c.serial), cereal::make_nvp("learners", c.learners),
     cereal::make_nvp("threads", c.threads), cereal::make_nvp("peer_timeout", c.peer_timeout_s),
     cereal::make_nvp("max_policy_lag", c.max_policy_lag),
     cereal::make_nvp("send_credits", c.send_credits),
     cereal::make_nvp("inject_malformed", c.inject_malformed),
     cereal::make_nvp("learner_delay_ms", c.learner_delay_ms),
     cereal::make_nvp("checkpoint_every", c.checkpoint_every_s),
     cereal::make_nvp("keep_checkpoints", c.keep_checkpoints), cereal::make_nvp("resume", c.resume),
     cereal::make_nvp("algo", l.algo), cereal::make_nvp("ppo_clip", l.ppo_clip),
     cereal::make_nvp("normalize_advantages", l.normalize_advantages),
     cereal::make_nvp("normalize_returns", l.normalize_returns),
     cereal::make_nvp("gamma", l.gamma),
     cereal::make_nvp("rho_bar", l.vtrace.rho_bar), cereal::make_nvp("c_bar", l.vtrace.c_bar),
     cereal::make_nvp("lambda", l.vtrace.lambda),
     cereal::make_nvp("baseline_cost", l.baseline_cost),
     cereal::make_nvp("entropy_cost", l.entropy_cost),
     cereal::make_nvp("reward_scale", l.reward_scale), cereal::make_nvp("optimizer", o.kind),
     cereal::make_nvp("lr", o.learning_rate), cereal::make_nvp("rmsprop_alpha", o.rmsprop_alpha),
     cereal::make_nvp("rmsprop_eps", o.rmsprop_epsilon),
     cereal::make_nvp("momentum", o.rmsprop_momentum),
     cereal::make_nvp("adam_beta1", o.adam_beta1), cereal::make_nvp("adam_beta2", o.adam_beta2),
     cereal::make_nvp("adam_eps", o.adam_epsilon), cereal::make_nvp("grad_clip", o.grad_clip),
     cereal::make_nvp("lr_decay", o.linear_decay));
}

}  // namespace

void RegisterTrainFlags(Flags& flags, TrainConfig* c) {
  flags.Add("env", &c->env, "environment, NAME[:key=value,...] (colony env list)");
  flags.AddChoice("model", &c->model.kind, {"gtrxl", "mlp"}, "policy network");
  flags.Add("layers", &c->model.layers, "transformer blocks (mlp: hidden layers)", 1, 64);
  flags.Add("d-model", &c->model.d_model, "model width", 1, 65536);
  flags.Add("heads", &c->model.heads, "attention heads (divide --d-model)", 1, 1024);
  flags.Add("d-ff", &c->model.d_ff, "feed-forward width", 1, 1 << 20);
  flags.Add("memory", &c->model.memory, "M: hidden states kept per layer", 1, 65536);
  flags.Add("envs-per-actor", &c->envs_per_actor, "E: environments per actor", 1, 1 << 20);
  flags.Add("unroll", &c->unroll, "T: steps per trajectory", 1, 1 << 16);
  flags.Add("batch", &c->batch, "B: trajectories per learner step", 1, 1 << 20);
  flags.Add("total-frames", &c->total_frames, "stop after this many environment steps", 1,
            kMaxInt);
  flags.Add("seed", &c->seed, "run seed (environments, sampling, initial weights)", 0, kMaxInt);
  flags.Add("run-dir", &c->run_dir, "where config.json and metrics.jsonl go");
  flags.Add("report-every", &c->report_every_s, "seconds between status lines", 0.0, 3600.0);
  flags.Add("metrics-addr", &c->metrics_addr,
            "HOST:PORT for learner 0's /metrics and /status; port 0 = any free port (printed "
            "and written to RUN_DIR/metrics_address)");
  flags.Add("metrics-server", &c->metrics_server,
            "serve /metrics and /status over HTTP (--no-metrics-server: off)");
  flags.Add("serial", &c->serial, "actors and learner in one process, no MPI (deterministic)");
  flags.Add("learners", &c->learners, "L: the first L ranks learn, the rest act", 1, 4096);
  flags.Add("threads", &c->threads, "torch intra-op threads per process", 1, 256);
  flags.Add("peer-timeout", &c->peer_timeout_s,
            "seconds any rank waits for another before ending the job with an error", 0.1, 86400.0);
  flags.Add("max-policy-lag", &c->max_policy_lag,
            "drop trajectories acted on by weights this many versions old; 0 keeps all", 0, kMaxInt);
  flags.Add("send-credits", &c->send_credits, "trajectory sends an actor keeps in flight", 1, 64);
  flags.Add("inject-malformed", &c->inject_malformed,
            "testing: actor 0 also sends this many corrupted trajectories", 0, 1000);
  flags.Add("learner-delay-ms", &c->learner_delay_ms,
            "testing: sleep this long in every learner update (a slow learner)", 0.0, 60000.0);
  flags.Add("checkpoint-every", &c->checkpoint_every_s,
            "seconds between checkpoints in RUN_DIR/checkpoints; 0 = only at the end and on "
            "SIGUSR1/SIGTERM/SIGINT", 0.0, 1e9);
  flags.Add("keep-checkpoints", &c->keep_checkpoints, "checkpoints kept (older ones deleted)", 1,
            1000000);
  flags.Add("resume", &c->resume,
            "'' = fresh run; auto = newest good checkpoint in --run-dir; or a checkpoint dir");
  flags.AddChoice("algo", &c->loss.algo, {"appo", "impala"},
                  "policy objective: appo (PPO's clipped surrogate on V-trace advantages) or "
                  "impala (-log pi * V-trace advantage)");
  flags.Add("ppo-clip", &c->loss.ppo_clip, "appo: clip the ratio pi/mu to [1 - x, 1 + x]", 0.0,
            1.0);
  flags.Add("normalize-advantages", &c->loss.normalize_advantages,
            "divide the batch's advantages by their std after subtracting their mean");
  flags.Add("normalize-returns", &c->loss.normalize_returns,
            "divide rewards by a running RMS of the value targets (values are O(1))");
  flags.Add("gamma", &c->loss.gamma, "discount", 0.0, 1.0);
  flags.Add("rho-bar", &c->loss.vtrace.rho_bar, "V-trace importance-weight clip", 0.0);
  flags.Add("c-bar", &c->loss.vtrace.c_bar, "V-trace trace clip (<= --rho-bar)", 0.0);
  flags.Add("lambda", &c->loss.vtrace.lambda, "V-trace lambda", 0.0, 1.0);
  flags.Add("baseline-cost", &c->loss.baseline_cost, "weight of the value loss", 0.0);
  flags.Add("entropy-cost", &c->loss.entropy_cost, "weight of the entropy bonus", 0.0);
  flags.Add("reward-scale", &c->loss.reward_scale, "multiplies rewards in the loss", 0.0);
  flags.AddChoice("optimizer", &c->optimizer.kind, {"adam", "rmsprop"}, "optimiser");
  flags.Add("lr", &c->optimizer.learning_rate, "initial learning rate", 0.0, 1.0);
  flags.Add("rmsprop-alpha", &c->optimizer.rmsprop_alpha, "RMSProp decay", 0.0, 1.0);
  flags.Add("rmsprop-eps", &c->optimizer.rmsprop_epsilon, "RMSProp epsilon", 0.0);
  flags.Add("momentum", &c->optimizer.rmsprop_momentum, "RMSProp momentum", 0.0, 1.0);
  flags.Add("adam-beta1", &c->optimizer.adam_beta1, "Adam beta1", 0.0, 1.0);
  flags.Add("adam-beta2", &c->optimizer.adam_beta2, "Adam beta2", 0.0, 1.0);
  flags.Add("adam-eps", &c->optimizer.adam_epsilon, "Adam epsilon", 0.0);
  flags.Add("grad-clip", &c->optimizer.grad_clip, "max gradient L2 norm, 0 = off", 0.0);
  flags.Add("lr-decay", &c->optimizer.linear_decay, "decay the lr linearly to 0 over the budget");
}

void TrainConfig::Validate() const {
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
  rapidjson::Document doc;
  doc.Parse(text.c_str(), text.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    throw FlagError("--config " + path + ": expected a JSON object (as in RUN_DIR/config.json)");
  }
  // The file's keys are checked before any is applied: a typo should not half-configure a run.
  const TrainConfig defaults;
  const std::string known = defaults.ToJson();
  std::vector<std::string> args;
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    const std::string key = it->name.GetString();
    if (key == "obs_dim" || key == "num_actions") continue;  // from the environment
    std::string flag = key;
    for (char& ch : flag) ch = ch == '_' ? '-' : ch;
    if (known.find("\"" + key + "\":") == std::string::npos) {
      throw FlagError("--config " + path + ": unknown key '" + key + "'");
    }
    const auto& value = it->value;
    if (value.IsBool()) {
      args.push_back((value.GetBool() ? "--" : "--no-") + flag);
    } else if (value.IsString()) {
      args.push_back("--" + flag + "=" + value.GetString());
    } else if (value.IsInt64()) {
      args.push_back("--" + flag + "=" + std::to_string(value.GetInt64()));
    } else if (value.IsNumber()) {
      std::ostringstream number;
      number.precision(17);
      number << value.GetDouble();
      args.push_back("--" + flag + "=" + number.str());
    } else {
      throw FlagError("--config " + path + ": key '" + key + "': expected a string, number or "
                      "boolean");
    }
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
  std::ostringstream out;
  {
    cereal::JSONOutputArchive archive(out);
    Serialize(archive, *this);
  }
  return out.str() + "\n";
}

}  // namespace colony
