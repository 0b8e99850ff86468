// Environment plugins (common/env/plugin/): the loader's refusals (missing file, not a library,
// missing symbol, wrong ABI version, a NULL function, bad parameters, a bad spec), the fault
// path (a failed step in env i -> its episode dropped: truncated, reward 0, marked, reset,
// counted; N in a row -> EnvFault),
// seeding, and the example plugin examples/plugin_cartpole against the native CartPole-v1 from
// the committed reference states, bit for bit.
//
// The plugins are built by tests/CMakeLists.txt (tests/plugins/*.c) and examples/; their paths
// arrive as COLONY_TEST_PLUGIN_DIR and COLONY_CARTPOLE_PLUGIN.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/env/registry.h"
#include "tests/cartpole_reference.h"
#include "common/env/vector_env.h"

namespace colony::env {
namespace {

const std::string kDir = COLONY_TEST_PLUGIN_DIR;
const std::string kCounter = "plugin:" + kDir + "/test_plugin.so";
const std::string kCartPole = std::string("plugin:") + COLONY_CARTPOLE_PLUGIN;

std::string ErrorOf(const std::string& name) {
  try {
    MakeBatchEnv(name, /*num_envs=*/1);
  } catch (const EnvError& error) {
    return error.what();
  }
  return "(no error)";
}

#define EXPECT_HAS(text, part) EXPECT_NE((text).find(part), std::string::npos) << (text)

TEST(PluginEnv, ExampleCartPoleHasItsSpec) {
  const auto env = MakeBatchEnv(kCartPole, 3);
  const EnvSpec& spec = env->spec();
  EXPECT_EQ(spec.name, kCartPole);
  EXPECT_EQ(spec.obs_shape, (std::vector<std::int64_t>{4}));
  EXPECT_EQ(spec.obs_dim, 4);
  EXPECT_EQ(spec.num_actions, 2);
  EXPECT_EQ(spec.max_episode_steps, 500);
  EXPECT_EQ(spec.state_names, (std::vector<std::string>{"x", "x_dot", "theta", "theta_dot"}));
  ASSERT_FALSE(spec.details.empty());
  EXPECT_HAS(spec.details[0], "plugin cartpole, C ABI version 1: CartPole-v1 in C");
  const auto stateless = MakeBatchEnv(kCartPole + ":stateless=1,max_steps=20", 1);
  EXPECT_EQ(stateless->spec().obs_dim, 2);
  EXPECT_EQ(stateless->spec().max_episode_steps, 20);
}

TEST(PluginEnv, LoaderRefusalsSayWhatIsExpected) {
  std::string error = ErrorOf("plugin:" + kDir + "/no_such_plugin.so");
  EXPECT_HAS(error, "/no_such_plugin.so: no such file; expected a shared library (a relative "
                    "PATH is resolved against the working directory, ");
  error = ErrorOf("plugin:" + std::string(COLONY_TEST_PLUGIN_SOURCE));  // a C file
  EXPECT_HAS(error, ": dlopen failed: ");
  error = ErrorOf("plugin:" + kDir + "/no_symbol_plugin.so");
  EXPECT_HAS(error, "no_symbol_plugin.so: no symbol colony_env_plugin_v1 (");
  EXPECT_HAS(error, "a plugin exports `const ColonyEnvPluginV1* colony_env_plugin_v1(void)`");
  error = ErrorOf("plugin:" + kDir + "/bad_abi_plugin.so");
  EXPECT_HAS(error, "bad_abi_plugin.so: abi_version 2, expected 1 (this Colony implements "
                    "version 1 of colony_env_plugin.h)");
  error = ErrorOf("plugin:" + kDir + "/null_function_plugin.so");
  EXPECT_HAS(error, "function step is NULL; expected create, destroy, reset and step");
  EXPECT_HAS(ErrorOf("plugin:"), "expected plugin:PATH.so[:key=value,...]");
  EXPECT_HAS(ErrorOf(kCounter + ":length"), "test_plugin.so:length: no such file");
  EXPECT_HAS(ErrorOf(kCounter + ":length=3,4"), "parameter '4': expected key=value");
  EXPECT_HAS(ErrorOf(kCounter + ":length=3,length=4"), "parameter length given twice");
}

TEST(PluginEnv, BadParametersAndSpecsAreRefused) {
  EXPECT_EQ(ErrorOf(kCartPole + ":max_steps=0"),
            kCartPole + ":max_steps=0: the plugin refused to create 1 envs: parameter max_steps: "
                        "expected an integer in [1, 1000000], got '0'");
  EXPECT_HAS(ErrorOf(kCartPole + ":size=3"),
             "unknown parameter 'size'; expected one of: max_steps, stateless");
  EXPECT_HAS(ErrorOf(kCounter + ":bad_spec=1"),
             "the plugin's create returned a bad spec: num_actions 0, expected >= 1");
}

// action_space and step_box: MultiDiscrete actions arrive as mixed-radix integers, Box actions
// as float rows, each exactly as sent; bad action spaces are refused naming what is expected.
TEST(PluginEnv, MultiDiscreteAndBoxActionsReachThePlugin) {
  const std::string actions = "plugin:" + kDir + "/actions_plugin.so";
  const auto md = MakeBatchEnv(actions, 2);
  EXPECT_EQ(md->spec().num_actions, 6);
  EXPECT_EQ(md->spec().action_nvec, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(PolicyShapeOf(md->spec()).actions, "multi_discrete:2,3");
  EXPECT_HAS(md->spec().details[1], "action space: MultiDiscrete([2 3])");
  std::vector<float> obs(6), rewards(2);
  std::vector<std::uint8_t> terminated(2), truncated(2);
  md->Reset(0, obs.data());
  md->Reset(1, obs.data() + 2);
  const std::int64_t integer[] = {5, 1};  // (1, 2) and (0, 1)
  md->Step(integer, false, obs.data(), rewards.data(), terminated.data(), truncated.data());
  EXPECT_EQ(std::vector<float>(obs.begin(), obs.begin() + 4), (std::vector<float>{1, 2, 0, 1}));
  EXPECT_EQ(rewards, (std::vector<float>{3, 1}));
  EXPECT_EQ(md->env_errors(), 0);

  const auto box = MakeBatchEnv(actions + ":kind=1,dims=3", 2);
  const EnvSpec& spec = box->spec();
  EXPECT_EQ(spec.num_actions, 0);
  EXPECT_EQ(spec.action_dim, 3);
  EXPECT_EQ(spec.action_low, (std::vector<float>{-1, -2, -3}));
  EXPECT_EQ(spec.action_high, (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(PolicyShapeOf(spec).outputs, 6);
  EXPECT_EQ(PolicyShapeOf(spec).actions, "box");
  box->Reset(0, obs.data());
  box->Reset(1, obs.data() + 3);
  const float floats[] = {0.5f, -2.0f, 3.0f, -1.0f, 0.0f, 0.25f};
  box->StepBox(floats, false, obs.data(), rewards.data(), terminated.data(), truncated.data());
  EXPECT_EQ(obs, std::vector<float>(floats, floats + 6));
  EXPECT_EQ(rewards, (std::vector<float>{-13.25f, -1.0625f}));
  EXPECT_EQ(box->env_errors(), 0);
  try {
    box->Step(integer, false, obs.data(), rewards.data(), terminated.data(), truncated.data());
    FAIL() << "expected EnvError";
  } catch (const EnvError& e) {
    EXPECT_HAS(std::string(e.what()), "takes Box actions (Box([-1 -2 -3], [1 2 3], (3,))), not "
                                      "integer actions");
  }
  EXPECT_HAS(ErrorOf(actions + ":bad=1"),
             "the plugin's create returned a bad spec: action kind 7, expected 1 "
             "(MultiDiscrete) or 2 (Box)");
  EXPECT_HAS(ErrorOf(actions + ":kind=1,bad=2"),
             "Box bounds of dimension 0: [5.000000, 1.000000], expected low <= high");
  EXPECT_HAS(ErrorOf(actions + ":bad=3"),
             "num_actions 5 with MultiDiscrete actions, expected the product of nvec");
}

// A relative PATH is resolved against the working directory, not the library search path.
TEST(PluginEnv, RelativePathsAreResolvedAgainstTheWorkingDirectory) {
  const std::string here = std::filesystem::current_path().string();
  std::filesystem::current_path(kDir);
  const auto env = MakeBatchEnv("plugin:test_plugin.so:length=4", 1);
  EXPECT_EQ(env->spec().max_episode_steps, 4);
  std::filesystem::current_path(here);
}

// Env 1 fails on its 3rd step: that step reads truncated with reward 0, marked as a fault, the
// env restarts (obs
// 0), env 0 is untouched, and env_errors counts it. The next clean step resets the run of
// failures.
TEST(PluginEnv, FailureCutsTheEpisodeResetsAndCounts) {
  auto core = MakeBatchEnv(kCounter + ":fail_every=3,fail_env=1", 2,
                           {.rank = 7, .max_consecutive_errors = 2});
  std::vector<float> obs(2), rewards(2);
  std::vector<std::uint8_t> terminated(2), truncated(2);
  const std::vector<std::int64_t> actions = {0, 1};
  for (int i = 0; i < 2; ++i) core->Reset(i, &obs[static_cast<std::size_t>(i)]);
  const auto step = [&] {
    core->Step(actions.data(), /*auto_reset=*/true, obs.data(), rewards.data(),
               terminated.data(), truncated.data());
  };
  step();
  step();
  EXPECT_EQ(obs, (std::vector<float>{2, 2}));
  EXPECT_EQ(core->env_errors(), 0);
  step();
  EXPECT_EQ(core->env_errors(), 1);
  EXPECT_EQ(terminated, (std::vector<std::uint8_t>{0, 0}));
  EXPECT_EQ(truncated, (std::vector<std::uint8_t>{0, 1}));
  EXPECT_FALSE(core->StepFaulted(0));
  EXPECT_TRUE(core->StepFaulted(1));
  EXPECT_EQ(rewards, (std::vector<float>{1, 0}));
  EXPECT_EQ(obs, (std::vector<float>{3, 0})) << "env 1 reset: its first observation";
  step();
  EXPECT_EQ(obs, (std::vector<float>{4, 1}));
  EXPECT_EQ(terminated, (std::vector<std::uint8_t>{0, 0}));
  EXPECT_FALSE(core->StepFaulted(1));
  for (int t = 0; t < 30; ++t) step();  // a failure every 3rd step never reaches 2 in a row
  EXPECT_EQ(core->env_errors(), 11);
}

// A message left by a step that returned 0 (an ABI violation) is cleared, so a later failure of
// another env does not report this one as failed too.
TEST(PluginEnv, AMessageWithoutAFailureIsNotCountedLater) {
  auto core = MakeBatchEnv(kCounter + ":fail_every=3,fail_env=0,chatty_env=1", 2,
                           {.rank = 0, .max_consecutive_errors = 5});
  std::vector<float> obs(2), rewards(2);
  std::vector<std::uint8_t> terminated(2), truncated(2);
  const std::vector<std::int64_t> actions = {0, 0};
  for (int i = 0; i < 2; ++i) core->Reset(i, &obs[static_cast<std::size_t>(i)]);
  for (int t = 0; t < 3; ++t) {
    core->Step(actions.data(), /*auto_reset=*/true, obs.data(), rewards.data(),
               terminated.data(), truncated.data());
  }
  EXPECT_EQ(core->env_errors(), 1) << "only env 0 failed, at its 3rd step";
  EXPECT_EQ(truncated, (std::vector<std::uint8_t>{1, 0}));
  EXPECT_EQ(obs, (std::vector<float>{0, 3}));
}

TEST(PluginEnv, ConsecutiveFailuresEndTheRunWithTheMessage) {
  auto core = MakeBatchEnv(kCounter + ":fail_every=1", 1, {.rank = 3, .max_consecutive_errors = 3});
  float obs = 0, reward = 0;
  std::uint8_t terminated = 0, truncated = 0;
  const std::int64_t action = 1;
  core->Reset(0, &obs);
  for (int t = 0; t < 2; ++t) {
    core->Step(&action, /*auto_reset=*/true, &obs, &reward, &terminated, &truncated);
  }
  try {
    core->Step(&action, /*auto_reset=*/true, &obs, &reward, &terminated, &truncated);
    FAIL() << "expected EnvFault";
  } catch (const EnvFault& fault) {
    EXPECT_EQ(std::string(fault.what()),
              "3 consecutive environment steps or resets failed (--max-env-errors 3); the last: " +
                  kCounter + ":fail_every=1 env 0 on actor rank 3 failed in step():\n"
                  "boom at step 3 (action 1)");
  }
  auto no_reset = MakeBatchEnv(kCounter + ":fail_reset=1", 1,
                               {.rank = -1, .max_consecutive_errors = 2});
  try {
    no_reset->Reset(0, &obs);
    FAIL() << "expected EnvFault";
  } catch (const EnvFault& fault) {
    EXPECT_HAS(std::string(fault.what()), "env 0 failed in reset():\nreset refused on purpose");
  }
  auto batch = MakeBatchEnv(kCounter + ":batch_fail=1", 1);
  batch->Reset(0, &obs);
  try {
    batch->Step(&action, /*auto_reset=*/true, &obs, &reward, &terminated, &truncated);
    FAIL() << "expected EnvFault";
  } catch (const EnvFault& fault) {
    EXPECT_HAS(std::string(fault.what()), "the plugin's step failed for the whole batch "
                                          "(returned -1): the simulator lost its device");
  }
  auto silent = MakeBatchEnv(kCounter + ":fail_every=1,silent=1", 1);
  silent->Reset(0, &obs);
  try {
    silent->Step(&action, /*auto_reset=*/true, &obs, &reward, &terminated, &truncated);
    FAIL() << "expected EnvFault";
  } catch (const EnvFault& fault) {
    EXPECT_HAS(std::string(fault.what()), "returned 1 failed envs but wrote no message");
  }
}

// Same (run seed, rank, index), same episodes; another seed or rank, other starts.
TEST(PluginEnv, SeedsFixTheEpisodes) {
  const auto firsts = [](std::uint64_t seed, std::uint64_t rank) {
    VectorEnv envs(kCartPole, 3, seed, rank);
    std::vector<float> obs(12);
    std::vector<std::uint8_t> first(3);
    envs.Reset(obs.data(), first.data());
    return obs;
  };
  const auto a = firsts(1, 0);
  EXPECT_EQ(a, firsts(1, 0));
  EXPECT_NE(a, firsts(2, 0));
  EXPECT_NE(a, firsts(1, 1));
  for (const float value : a) EXPECT_LT(std::abs(value), 0.05f);
}

// The C plugin against the native kernel from the reference episodes' float64 starts (random
// starts, starts on the termination boundaries, runs to truncation): every observation, reward
// and flag identical, bit for bit.
TEST(PluginEnv, ExampleCartPoleRunsTheNativeDynamicsBitForBit) {
  Env plugin(MakeBatchEnv(kCartPole, 1));
  Env native = MakeEnv("CartPole-v1");
  plugin.Reset(/*seed=*/0);
  native.Reset(/*seed=*/0);
  std::int64_t compared = 0;
  const auto episodes = cartpole_reference::LoadReference();
  ASSERT_GE(episodes.size(), 60u);
  for (const auto& episode : episodes) {
    ASSERT_EQ(plugin.SetState(episode.start), native.SetState(episode.start));
    ASSERT_NO_FATAL_FAILURE(
        cartpole_reference::ExpectSameSteps(plugin, native, episode, &compared));
  }
  EXPECT_GT(compared, 1500);
}

// Auto-reset through VectorEnv (Colony resets ended envs, the plugin never does): every episode
// ends within the limit and pays 1 per step.
TEST(PluginEnv, ExampleCartPoleAutoResetsUnderVectorEnv) {
  constexpr int kEnvs = 8;
  VectorEnv envs(kCartPole, kEnvs, /*run_seed=*/5, /*rank=*/0);
  std::vector<float> obs(kEnvs * 4), rewards(kEnvs);
  std::vector<std::uint8_t> terminated(kEnvs), truncated(kEnvs), first(kEnvs);
  std::vector<std::int64_t> actions(kEnvs);
  envs.Reset(obs.data(), first.data());
  for (int t = 0; t < 3000; ++t) {
    for (int e = 0; e < kEnvs; ++e) actions[static_cast<std::size_t>(e)] = (t * 7 / 3 + e) % 2;
    envs.Step(actions.data(), obs.data(), rewards.data(), terminated.data(), truncated.data(),
              first.data());
  }
  const auto episodes = envs.DrainEpisodes();
  ASSERT_GT(episodes.size(), 50u);
  for (const auto& episode : episodes) {
    EXPECT_GE(episode.length, 1);
    EXPECT_LE(episode.length, 500);
    EXPECT_EQ(episode.episode_return, static_cast<double>(episode.length));
  }
}

}  // namespace
}  // namespace colony::env
