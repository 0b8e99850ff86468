// TrainConfig's settings table (common/config/train_config.h): config.json keeps its keys, order and
// shape; a config.json read back with --config reproduces the run's settings, including files
// written before the table existed (Cereal's output); the --config reader's errors name the file
// and the key, and check every key before applying any; the command line wins over the file.
#include "common/config/train_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "common/base/files.h"

namespace colony {
namespace {

// Flags bound to `config`, as `colony train` binds them.
struct Bound {
  TrainConfig config;
  Flags flags{"colony train [flags]"};
  Bound() { RegisterTrainFlags(flags, &config); }
};

std::string WriteConfigFile(const std::string& name, const std::string& text) {
  // The pid keeps concurrent runs (other build trees on this machine) apart.
  const std::string path =
      TempPath("train_config_test_" + std::to_string(getpid()) + "_" + name + ".json");
  WriteFileAtomically(path, text);
  return path;
}

std::string ApplyError(const std::string& path, Bound& bound) {
  try {
    ApplyConfigFile(path, bound.flags);
  } catch (const FlagError& error) {
    return error.what();
  }
  return "";
}

TEST(TrainConfig, JsonKeepsEveryKeyInOrderPrettyPrinted) {
  const std::string json = TrainConfig().ToJson();
  EXPECT_EQ(json.rfind("{\n    \"env\": \"CartPole-v1\",\n    \"model\": \"gtrxl\",\n"
                      "    \"obs_dim\": 4,\n    \"num_actions\": 2,\n    \"actions\": \"discrete\",\n"
                      "    \"observations\": \"float32\",\n    \"layers\": 2,\n", 0),
            0u)
      << json;
  const std::string end = "    \"lr_decay\": true\n}\n";
  ASSERT_GT(json.size(), end.size());
  EXPECT_EQ(json.substr(json.size() - end.size()), end) << json;
  // The keys runs and checkpoints hold, in the order they are written (issue 12 added algo,
  // ppo_clip, normalize_advantages, normalize_returns, epochs, entropy_per_advantage and
  // grad_clip_ratio, later center_advantages, target_kl, max_kl, popart, entropy_decay and
  // popart_box; issue 13 max_env_errors, issue 17 entropy_max_std and normalize_obs; older files
  // simply lack them).
  const std::vector<std::string> keys = {
      "env", "model", "obs_dim", "num_actions", "layers", "d_model", "heads", "d_ff", "memory",
      "normalize_obs", "envs_per_actor", "unroll", "batch", "epochs", "total_frames", "seed",
      "run_dir", "report_every", "metrics_addr", "metrics_server", "serial", "learners", "threads",
      "peer_timeout", "max_env_errors", "max_policy_lag", "send_credits", "receive_queue",
      "inject_malformed",
      "learner_delay_ms", "checkpoint_every", "keep_checkpoints", "resume", "algo", "ppo_clip",
      "normalize_advantages", "advantage_max_gain", "center_advantages", "normalize_returns",
      "popart", "popart_box", "gamma", "rho_bar", "c_bar", "lambda", "baseline_cost",
      "entropy_cost",
      "entropy_per_advantage", "entropy_decay", "entropy_max_std", "reward_scale",
      "value_warmup_frames",
      "optimizer", "lr",
      "rmsprop_alpha", "rmsprop_eps", "momentum", "adam_beta1", "adam_beta2", "adam_eps",
      "grad_clip", "grad_clip_ratio", "target_kl", "max_kl",
      "lr_decay"};
  std::size_t at = 0;
  for (const std::string& key : keys) {
    const std::size_t found = json.find("\n    \"" + key + "\": ", at);
    ASSERT_NE(found, std::string::npos) << key << " missing or out of order in\n" << json;
    at = found + 1;
  }
  EXPECT_NE(json.find("\"report_every\": 5,"), std::string::npos) << json;
  EXPECT_NE(json.find("\"adam_eps\": 1e-04,"), std::string::npos) << json;
  EXPECT_NE(json.find("\"resume\": \"\","), std::string::npos) << json;
}

TEST(TrainConfig, ConfigJsonReadBackReproducesTheRun) {
  Bound original;
  original.flags.Parse({"--env", "TMaze:length=4", "--model", "mlp", "--d-model", "32",
                        "--unroll", "8", "--report-every", "0.3", "--no-metrics-server",
                        "--serial", "--lr", "0.00031", "--adam-eps", "1e-07", "--resume",
                        "auto", "--no-lr-decay", "--optimizer", "rmsprop", "--gamma", "0.1"});
  const std::string path = WriteConfigFile("round_trip", original.config.ToJson());
  Bound loaded;
  ASSERT_EQ(ApplyError(path, loaded), "");
  EXPECT_EQ(loaded.config.ToJson(), original.config.ToJson());
  EXPECT_EQ(loaded.config.loss.gamma, 0.1);  // bit for bit, not to 10 digits
  EXPECT_EQ(loaded.config.optimizer.learning_rate, 0.00031);
}

TEST(TrainConfig, ReadsConfigJsonWrittenByCereal) {
  // RUN_DIR/config.json as runs before the settings table wrote it (through Cereal), abridged.
  const std::string path = WriteConfigFile("cereal", R"({
    "env": "RepeatPrevious:k=4",
    "model": "gtrxl",
    "obs_dim": 9,
    "num_actions": 4,
    "d_model": 32,
    "unroll": 16,
    "report_every": 5.0,
    "metrics_server": false,
    "peer_timeout": 120.0,
    "checkpoint_every": 600.0,
    "resume": "",
    "rmsprop_eps": 0.01,
    "adam_eps": 1e-8,
    "lr": 0.0005,
    "lr_decay": false
}
)");
  Bound loaded;
  ASSERT_EQ(ApplyError(path, loaded), "");
  EXPECT_EQ(loaded.config.env, "RepeatPrevious:k=4");
  EXPECT_EQ(loaded.config.model.d_model, 32);
  EXPECT_EQ(loaded.config.model.obs_dim, 4) << "obs_dim comes from the environment";
  EXPECT_EQ(loaded.config.unroll, 16);
  EXPECT_FALSE(loaded.config.metrics_server);
  EXPECT_EQ(loaded.config.optimizer.adam_epsilon, 1e-8);
  EXPECT_EQ(loaded.config.optimizer.learning_rate, 0.0005);
  EXPECT_FALSE(loaded.config.optimizer.linear_decay);
  EXPECT_EQ(loaded.config.batch, TrainConfig().batch) << "absent keys keep their defaults";
}

TEST(TrainConfig, BadFilesAreNamedAndNothingIsHalfApplied) {
  const std::string unknown = WriteConfigFile("unknown", R"({"unroll": 8, "learning_rate": 1})");
  Bound bound;
  EXPECT_EQ(ApplyError(unknown, bound), "--config " + unknown + ": unknown key 'learning_rate'");
  EXPECT_EQ(bound.config.unroll, 32) << "no key is applied before all are checked";

  const std::string type = WriteConfigFile("type", R"({"batch": 4, "unroll": "8"})");
  EXPECT_EQ(ApplyError(type, bound),
            "--config " + type + ": key 'unroll': expected an integer, got a string");
  EXPECT_EQ(bound.config.batch, 8);
  const std::string flag = WriteConfigFile("bool", R"({"serial": 1})");
  EXPECT_EQ(ApplyError(flag, bound),
            "--config " + flag + ": key 'serial': expected a boolean, got an integer");
  const std::string real = WriteConfigFile("real", R"({"lr": "fast"})");
  EXPECT_EQ(ApplyError(real, bound),
            "--config " + real + ": key 'lr': expected a number, got a string");

  const std::string range = WriteConfigFile("range", R"({"d_model": 100000})");
  EXPECT_EQ(ApplyError(range, bound),
            "--config " + range + ": --d-model: expected an integer in [1, 16384], got 100000");

  const std::string array = WriteConfigFile("array", "[1, 2]");
  EXPECT_EQ(ApplyError(array, bound), "--config " + array +
                                          ": expected a JSON object, got an array (as in "
                                          "RUN_DIR/config.json)");
  const std::string broken = WriteConfigFile("broken", "{\"unroll\": 8,");
  EXPECT_NE(ApplyError(broken, bound).find("--config " + broken + ": expected a JSON object, "
                                           "got a parse error"),
            std::string::npos);
  EXPECT_NE(ApplyError(TempPath("train_config_test_missing.json"), bound).find("cannot open"),
            std::string::npos);
}

// Two defaults depend on --model (docs/learning.md, "Defaults per model"): left at -1 they
// become the model's number; values given are kept; 0 passes or a negative std other than -1
// are refused with the allowed values.
TEST(TrainConfig, ModelDefaultsArePickedPerModelAndGivenValuesKept) {
  struct Want {
    const char* model;
    std::int64_t epochs;
    double entropy_max_std;
  };
  for (const Want& want : {Want{"gtrxl", 1, 0.7}, Want{"mlp", 4, 1.0}, Want{"gru", 1, 1.0},
                           Want{"lstm", 1, 1.0}}) {
    Bound bound;
    bound.flags.Parse(std::vector<std::string>{std::string("--model=") + want.model});
    EXPECT_EQ(bound.config.epochs, TrainConfig::kModelDefault);
    const TrainConfig config = WithModelDefaults(bound.config);
    EXPECT_EQ(config.epochs, want.epochs) << want.model;
    EXPECT_EQ(config.loss.entropy_max_std, want.entropy_max_std) << want.model;
    EXPECT_NE(config.ToJson().find("\"epochs\": " + std::to_string(want.epochs)),
              std::string::npos);
  }
  Bound given;
  given.flags.Parse(std::vector<std::string>{"--model=mlp", "--epochs=2", "--entropy-max-std=0"});
  const TrainConfig config = WithModelDefaults(given.config);
  EXPECT_EQ(config.epochs, 2);
  EXPECT_EQ(config.loss.entropy_max_std, 0.0);

  auto validate_error = [](const std::vector<std::string>& args) -> std::string {
    Bound bound;
    bound.flags.Parse(args);
    try {
      bound.config.Validate();
    } catch (const FlagError& error) {
      return error.what();
    }
    return "";
  };
  EXPECT_NE(validate_error({"--epochs=0"}).find("--epochs: expected 1 to 64, or -1"),
            std::string::npos);
  EXPECT_NE(validate_error({"--entropy-max-std=-0.5"}).find("--entropy-max-std: expected"),
            std::string::npos);
  EXPECT_EQ(validate_error({"--epochs=-1", "--entropy-max-std=-1"}), "");
}

TEST(TrainConfig, CommandLineOverridesTheFile) {
  const std::string path =
      WriteConfigFile("precedence", R"({"unroll": 8, "batch": 4, "serial": true})");
  std::vector<std::string> args = {"colony", "--unroll", "16", "--config", path};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  TrainConfig config;
  bool help = false;
  std::string help_text;
  const auto rest = ParseTrainFlags("colony train", static_cast<int>(argv.size()), argv.data(),
                                    &config, &help, &help_text);
  EXPECT_TRUE(rest.empty());
  EXPECT_EQ(config.unroll, 16);
  EXPECT_EQ(config.batch, 4);
  EXPECT_TRUE(config.serial);
  EXPECT_NE(help_text.find("--d-model <int>"), std::string::npos) << help_text;
  EXPECT_NE(help_text.find("--config <string>"), std::string::npos) << help_text;
}

}  // namespace
}  // namespace colony
