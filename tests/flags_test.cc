// Flags: accepted forms, defaults in --help, and the "what was wrong, what is allowed" errors;
// `colony train`'s model flags refuse exactly what ModelConfig::Validate refuses.
#include "common/base/flags.h"

#include <gtest/gtest.h>

#include "common/config/train_config.h"
#include "common/model/model_config.h"

namespace colony {
namespace {

struct Fixture {
  std::int64_t unroll = 32;
  double lr = 0.0006;
  bool serial = false;
  std::string env = "CartPole-v1";
  std::string model = "gtrxl";
  Flags flags{"colony train [flags]"};
  Fixture() {
    flags.Add("unroll", &unroll, "steps per trajectory", /*min=*/1, /*max=*/4096);
    flags.Add("lr", &lr, "learning rate", /*min=*/0.0);
    flags.Add("serial", &serial, "one process");
    flags.Add("env", &env, "environment");
    flags.AddChoice("model", &model, {"gtrxl", "mlp"}, "policy");
  }
};

std::string ErrorOf(Fixture& f, std::vector<std::string> args) {
  try {
    f.flags.Parse(args);
  } catch (const FlagError& error) {
    return error.what();
  }
  return "";
}

TEST(Flags, ParsesEveryForm) {
  Fixture f;
  const auto rest = f.flags.Parse({"--unroll", "8", "--lr=0.5", "--serial", "pos", "--model=mlp",
                                   "--env", "TMaze:length=4", "--", "--unroll"});
  EXPECT_EQ(f.unroll, 8);
  EXPECT_DOUBLE_EQ(f.lr, 0.5);
  EXPECT_TRUE(f.serial);
  EXPECT_EQ(f.model, "mlp");
  EXPECT_EQ(f.env, "TMaze:length=4");
  EXPECT_EQ(rest, (std::vector<std::string>{"pos", "--unroll"}));
  EXPECT_TRUE(f.flags.WasSet("unroll"));
  f.flags.Parse({"--no-serial"});
  EXPECT_FALSE(f.serial);
}

TEST(Flags, KeepsDefaultsAndShowsThemInHelp) {
  Fixture f;
  f.flags.Parse({"--help"});
  EXPECT_TRUE(f.flags.help_requested());
  EXPECT_EQ(f.unroll, 32);
  EXPECT_FALSE(f.flags.WasSet("unroll"));
  const std::string help = f.flags.Help();
  EXPECT_NE(help.find("--unroll <int>"), std::string::npos) << help;
  EXPECT_NE(help.find("(default: 32)"), std::string::npos) << help;
  EXPECT_NE(help.find("--model <gtrxl|mlp>"), std::string::npos) << help;
  EXPECT_NE(help.find("(default: CartPole-v1)"), std::string::npos) << help;
}

TEST(Flags, BadInputSaysWhatIsAllowed) {
  Fixture f;
  EXPECT_EQ(ErrorOf(f, {"--unroll", "abc"}), "--unroll: expected an integer in [1, 4096], got 'abc'");
  EXPECT_EQ(ErrorOf(f, {"--unroll", "0"}), "--unroll: expected an integer in [1, 4096], got 0");
  EXPECT_EQ(ErrorOf(f, {"--unroll", "12x"}), "--unroll: expected an integer in [1, 4096], got '12x'");
  EXPECT_EQ(ErrorOf(f, {"--lr", "-1"}), "--lr: expected a number >= 0, got -1");
  EXPECT_EQ(ErrorOf(f, {"--lr", "nan"}), "--lr: expected a number >= 0, got 'nan'");
  EXPECT_EQ(ErrorOf(f, {"--model", "lstm"}), "--model: expected one of gtrxl|mlp, got 'lstm'");
  EXPECT_EQ(ErrorOf(f, {"--serial=maybe"}), "--serial: expected true or false, got 'maybe'");
  EXPECT_EQ(ErrorOf(f, {"--env"}), "--env: expected a value (string) after it");
  EXPECT_NE(ErrorOf(f, {"--frames", "3"}).find("unknown flag --frames"), std::string::npos);
  EXPECT_EQ(f.unroll, 32) << "a rejected value must not change the variable";
}

TEST(Flags, SplitsCommaLists) {
  EXPECT_EQ(SplitComma("1,0,,1"), (std::vector<std::string>{"1", "0", "", "1"}));
  EXPECT_TRUE(SplitComma("").empty());
  EXPECT_THROW(ParseInt("1.5", "action"), FlagError);
  EXPECT_EQ(ParseInt("-3", "x"), -3);
}

std::string TrainErrorOf(std::vector<std::string> args) {
  TrainConfig config;
  Flags flags("colony train [flags]");
  RegisterTrainFlags(flags, &config);
  try {
    flags.Parse(args);
  } catch (const FlagError& error) {
    return error.what();
  }
  return "";
}

std::string ModelErrorOf(ModelConfig config) {
  try {
    config.Validate();
  } catch (const ModelConfigError& error) {
    return error.what();
  }
  return "";
}

// Each model flag's range is the one Validate enforces: the largest value passes both, one more
// fails both, with the same bounds in both messages.
TEST(TrainFlags, ModelRangesAreTheModelsOwn) {
  struct Case {
    std::string flag;
    std::int64_t max;
    std::int64_t ModelConfig::*field;
    std::string field_name;
  };
  const std::vector<Case> cases = {
      {"layers", ModelConfig::kMaxLayers, &ModelConfig::layers, "layers"},
      {"d-model", ModelConfig::kMaxDModel, &ModelConfig::d_model, "d_model"},
      {"d-ff", ModelConfig::kMaxDFf, &ModelConfig::d_ff, "d_ff"},
      {"memory", ModelConfig::kMaxMemory, &ModelConfig::memory, "memory"},
  };
  for (const Case& c : cases) {
    const std::string range = "[1, " + std::to_string(c.max) + "]";
    const std::string over = std::to_string(c.max + 1);
    EXPECT_EQ(TrainErrorOf({"--" + c.flag, std::to_string(c.max)}), "");
    EXPECT_EQ(TrainErrorOf({"--" + c.flag, over}),
              "--" + c.flag + ": expected an integer in " + range + ", got " + over);
    EXPECT_EQ(TrainErrorOf({"--" + c.flag, "0"}),
              "--" + c.flag + ": expected an integer in " + range + ", got 0");
    EXPECT_EQ(TrainErrorOf({"--" + c.flag, "x"}),
              "--" + c.flag + ": expected an integer in " + range + ", got 'x'");
    ModelConfig model;
    model.*c.field = c.max;
    if (c.flag == "d-model") model.heads = 1;
    EXPECT_EQ(ModelErrorOf(model), "") << c.flag;
    model.*c.field = c.max + 1;
    EXPECT_EQ(ModelErrorOf(model), "model config: " + c.field_name + ": expected an integer in " +
                                       range + ", got " + over);
    model.*c.field = 0;
    EXPECT_NE(ModelErrorOf(model), "") << c.flag;
  }
}

TEST(TrainFlags, HeadsAreBoundedByTheLargestModelWidth) {
  const std::string max = std::to_string(ModelConfig::kMaxHeads);
  EXPECT_EQ(TrainErrorOf({"--heads", std::to_string(ModelConfig::kMaxHeads + 1)}),
            "--heads: expected an integer in [1, " + max + "], got " +
                std::to_string(ModelConfig::kMaxHeads + 1));
  EXPECT_EQ(TrainErrorOf({"--heads", "0"}), "--heads: expected an integer in [1, " + max +
                                                "], got 0");
  // Past that, heads must divide d_model: TrainConfig::Validate says so, as the model would.
  TrainConfig config;
  config.model.heads = 5;
  EXPECT_THROW(config.Validate(), FlagError);
  EXPECT_THROW(config.model.Validate(), ModelConfigError);
}

}  // namespace
}  // namespace colony
