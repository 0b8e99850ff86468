// The environment registry: `Name:key=value,...` parsing, defaults, the specs it builds, and
// the bad-input messages (unknown name lists the available ones, bad values name the range).
#include "common/env/registry.h"

#include <gtest/gtest.h>

#include <string>

namespace colony::env {
namespace {

std::string ErrorOf(const std::string& name) {
  try {
    MakeBatchEnv(name, /*num_envs=*/1);
  } catch (const EnvError& error) {
    return error.what();
  }
  return "no error";
}

TEST(EnvRegistry, ListsEveryBuiltInEnvironment) {
  EXPECT_EQ(AvailableEnvNames(),
            "CartPole-v1, StatelessCartPole, RepeatPrevious, RepeatFirst, TMaze, HalfCheetah-v5, "
            "Hopper-v5, Walker2d-v5, Ant-v5");
}

TEST(EnvRegistry, DefaultsAndParameters) {
  const ParsedEnvName plain = ParseEnvName("RepeatPrevious");
  EXPECT_EQ(plain.info->name, "RepeatPrevious");
  EXPECT_EQ(plain.params.at("k"), 4);
  EXPECT_EQ(plain.params.at("decks"), 1);
  const ParsedEnvName set = ParseEnvName("RepeatPrevious:k=8,decks=2");
  EXPECT_EQ(set.params.at("k"), 8);
  EXPECT_EQ(set.params.at("decks"), 2);
  EXPECT_EQ(ParseEnvName("TMaze:length=50").params.at("length"), 50);
}

TEST(EnvRegistry, SpecsOfEachEnvironment) {
  const auto cartpole = MakeBatchEnv("CartPole-v1", 3);
  EXPECT_EQ(cartpole->num_envs(), 3);
  EXPECT_EQ(cartpole->spec().obs_dim, 4);
  EXPECT_EQ(cartpole->spec().num_actions, 2);
  EXPECT_EQ(cartpole->spec().max_episode_steps, 500);
  EXPECT_EQ(cartpole->spec().state_names.size(), 4u);
  EXPECT_EQ(MakeBatchEnv("StatelessCartPole", 1)->spec().obs_dim, 2);
  const auto repeat = MakeBatchEnv("RepeatPrevious:k=8,decks=2", 1);
  EXPECT_EQ(repeat->spec().name, "RepeatPrevious:decks=2,k=8");
  EXPECT_EQ(repeat->spec().obs_dim, 4);
  EXPECT_EQ(repeat->spec().num_actions, 4);
  EXPECT_EQ(repeat->spec().max_episode_steps, 103);
  EXPECT_EQ(MakeBatchEnv("RepeatFirst", 1)->spec().max_episode_steps, 51);
  const auto maze = MakeBatchEnv("TMaze:length=7", 1);
  EXPECT_EQ(maze->spec().name, "TMaze:length=7");
  EXPECT_EQ(maze->spec().obs_dim, 3);
  EXPECT_EQ(maze->spec().num_actions, 2);
  EXPECT_EQ(maze->spec().max_episode_steps, 8);
}

TEST(EnvRegistry, UnknownEnvironmentListsTheAvailableOnes) {
  const std::string gymnasium = std::string("; or ") + kGymnasiumEnvForms + "; or " +
                                kPluginEnvForm;
  EXPECT_EQ(ErrorOf("CartPole-v0"),
            "unknown environment 'CartPole-v0'; expected one of: CartPole-v1, "
            "StatelessCartPole, RepeatPrevious, RepeatFirst, TMaze, HalfCheetah-v5, Hopper-v5, "
            "Walker2d-v5, Ant-v5" + gymnasium);
  EXPECT_EQ(ErrorOf(""),
            "unknown environment ''; expected one of: CartPole-v1, StatelessCartPole, "
            "RepeatPrevious, RepeatFirst, TMaze, HalfCheetah-v5, Hopper-v5, Walker2d-v5, Ant-v5" +
                gymnasium);
  EXPECT_EQ(std::string(kGymnasiumEnvForms),
            "gym:ID[:key=value,...] (a registered Gymnasium environment) or "
            "py:MODULE:FUNCTION[:key=value,...] (your factory returning one)");
}

TEST(EnvRegistry, BadParametersNameWhatIsAllowed) {
  EXPECT_EQ(ErrorOf("RepeatPrevious:k=0"),
            "RepeatPrevious: parameter k: expected an integer in [1, 52*decks-1], got 0");
  EXPECT_EQ(ErrorOf("RepeatPrevious:k=52"),
            "RepeatPrevious: parameter k: expected an integer in [1, 51] (52*decks-1 with "
            "decks=1), got 52");
  EXPECT_EQ(ErrorOf("RepeatPrevious:k=four"),
            "RepeatPrevious: parameter k: expected an integer in [1, 52*decks-1], got 'four'");
  EXPECT_EQ(ErrorOf("TMaze:length=0"),
            "TMaze: parameter length: expected an integer in [1, 1000000], got 0");
  EXPECT_EQ(ErrorOf("RepeatFirst:decks=17"),
            "RepeatFirst: parameter decks: expected an integer in [1, 16], got 17");
  EXPECT_EQ(ErrorOf("RepeatPrevious:j=3"),
            "RepeatPrevious: unknown parameter 'j'; expected one of: decks, k");
  EXPECT_EQ(ErrorOf("RepeatPrevious:k"),
            "RepeatPrevious: expected key=value with a key among decks, k, got 'k'");
  EXPECT_EQ(ErrorOf("RepeatPrevious:"),
            "RepeatPrevious: expected key=value with a key among decks, k, got ''");
  EXPECT_EQ(ErrorOf("RepeatPrevious:k=2,k=3"), "RepeatPrevious: parameter k given twice");
  EXPECT_EQ(ErrorOf("CartPole-v1:length=3"), "CartPole-v1 takes no parameters, got 'length=3'");
}

TEST(EnvRegistry, OutOfRangeActionIsAnErrorNotUndefinedBehaviour) {
  Env env = MakeEnv("CartPole-v1");
  env.Reset(/*seed=*/1);
  try {
    env.Step(2);
    FAIL() << "no error";
  } catch (const EnvError& error) {
    EXPECT_STREQ(error.what(), "CartPole-v1: action: expected an integer in [0, 2), got 2");
  }
  EXPECT_THROW(env.Step(-1), EnvError);
  Env cards = MakeEnv("RepeatFirst");
  cards.Reset(/*seed=*/1);
  EXPECT_THROW(cards.Step(4), EnvError);
  EXPECT_NO_THROW(cards.Step(3));
}

TEST(EnvRegistry, StepWithoutEpisodeAndStateWithoutPhysicsAreErrors) {
  Env env = MakeEnv("TMaze:length=1");
  EXPECT_THROW(env.Step(0), EnvError);  // no Reset yet
  env.Reset(/*seed=*/3);
  env.Step(0);
  EXPECT_TRUE(env.Step(0).terminated);
  EXPECT_THROW(env.Step(0), EnvError);  // episode over
  const double state[] = {0.0, 0.0};
  try {
    env.SetState(state);
    FAIL() << "no error";
  } catch (const EnvError& error) {
    EXPECT_STREQ(error.what(), "TMaze:length=1 has no physical state to set");
  }
  Env cartpole = MakeEnv("CartPole-v1");
  try {
    cartpole.SetState(state);
    FAIL() << "no error";
  } catch (const EnvError& error) {
    EXPECT_STREQ(error.what(),
                 "CartPole-v1: state: expected 4 values (x,x_dot,theta,theta_dot), got 2");
  }
}

}  // namespace
}  // namespace colony::env
