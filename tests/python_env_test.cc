// Gymnasium environments through the bridge (common/env/python/): spaces flattened in the
// documented order, one-hot encodings, kwargs, refusals with what is supported, the fault path
// (exception -> terminated step, reset, counted; N in a row -> EnvFault), seeding, and
// gym:CartPole-v1 running the same dynamics as the native CartPole-v1.
//
// The py: factories live in tests/python/colony_test_envs.py, found through COLONY_PYTHONPATH
// (set below before the first Python environment starts the interpreter). Gymnasium comes from
// the venv launch/setup makes.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/env/registry.h"
#include "tests/cartpole_reference.h"
#include "common/env/throughput.h"
#include "common/env/vector_env.h"

namespace colony::env {
namespace {

class PythonPath : public ::testing::Environment {
 public:
  void SetUp() override { setenv("COLONY_PYTHONPATH", COLONY_TEST_PYTHON_DIR, /*overwrite=*/1); }
};
const auto* const kPythonPath = ::testing::AddGlobalTestEnvironment(new PythonPath);

std::string ErrorOf(const std::string& name) {
  try {
    MakeBatchEnv(name, /*num_envs=*/1);
  } catch (const EnvError& error) {
    return error.what();
  }
  return "(no error)";
}

TEST(PythonEnv, GymCartPoleHasGymnasiumsSpaces) {
  const auto env = MakeBatchEnv("gym:CartPole-v1", 2);
  const EnvSpec& spec = env->spec();
  EXPECT_EQ(spec.name, "gym:CartPole-v1");
  EXPECT_EQ(spec.obs_dim, 4);
  EXPECT_EQ(spec.obs_shape, (std::vector<std::int64_t>{4}));
  EXPECT_EQ(spec.num_actions, 2);
  EXPECT_EQ(spec.max_episode_steps, 500);
  ASSERT_FALSE(spec.details.empty());
  EXPECT_NE(spec.details.back().find("episode limit: 500"), std::string::npos);
  std::string all;
  for (const auto& line : spec.details) all += line + "\n";
  EXPECT_NE(all.find("action space: Discrete(2)"), std::string::npos) << all;
}

// Box actions arrive in the space's shape and dtype, exactly as the actor mapped them
// (common/model/action_dist.h's ToEnvUnits does the clipping and scaling, tested there).
TEST(PythonEnv, GymPendulumHasABoxActionSpace) {
  const auto env = MakeBatchEnv("gym:Pendulum-v1", 1);
  EXPECT_EQ(ActionSpaceText(env->spec()), "Box(-2, 2, (1,))");
  EXPECT_EQ(env->spec().max_episode_steps, 200);
}

// VectorEnv (what `colony env bench` steps) takes Box actions within the bounds and names the
// first one outside them; the benchmark measures Box environments with uniform actions.
TEST(PythonEnv, VectorEnvStepsBoxActionsAndTheBenchMeasuresThem) {
  VectorEnv envs("gym:Pendulum-v1", 2, /*run_seed=*/1, /*rank=*/0);
  std::vector<float> obs(6), rewards(2);
  std::vector<std::uint8_t> terminated(2), truncated(2), first(2);
  envs.Reset(obs.data(), first.data());
  const float good[] = {2.0f, -1.5f};
  envs.StepBox(good, obs.data(), rewards.data(), terminated.data(), truncated.data(),
               first.data());
  EXPECT_EQ(envs.total_steps(), 2);
  const float bad[] = {0.0f, 2.5f};
  try {
    envs.StepBox(bad, obs.data(), rewards.data(), terminated.data(), truncated.data(),
                 first.data());
    FAIL() << "expected EnvError";
  } catch (const EnvError& e) {
    EXPECT_NE(std::string(e.what()).find("action for env 1, dimension 0: expected a finite value "
                                         "in [-2.000000, 2.000000], got 2.500000"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(envs.total_steps(), 2);  // the bad batch changed nothing
  std::vector<std::int64_t> integer(2, 0);
  EXPECT_THROW(envs.Step(integer.data(), obs.data(), rewards.data(), terminated.data(),
                         truncated.data(), first.data()),
               EnvError);
  const Throughput measured = MeasureThroughput("gym:Pendulum-v1", 4, 0.05);
  EXPECT_GT(measured.steps, 0);
}

TEST(PythonEnv, BoxActionsReachTheEnvironment) {
  const auto env = MakeBatchEnv("py:colony_test_envs:echo_actions:box=true", 2);
  const EnvSpec& spec = env->spec();
  EXPECT_EQ(spec.num_actions, 0);
  EXPECT_EQ(spec.action_dim, 2);
  EXPECT_EQ(spec.action_low, (std::vector<float>{-2, 0}));
  EXPECT_EQ(spec.action_high, (std::vector<float>{2, 10}));
  EXPECT_EQ(ActionSpaceText(spec), "Box([-2 0], [2 10], (2,))");
  const PolicyShape shape = PolicyShapeOf(spec);
  EXPECT_EQ(shape.outputs, 4);
  EXPECT_EQ(shape.actions, "box");
  float obs[4];
  env->Reset(0, obs);
  env->Reset(1, obs + 2);
  const float actions[] = {1.5f, 7.25f, -2.0f, 0.0f};
  float rewards[2];
  std::uint8_t terminated[2], truncated[2];
  env->StepBox(actions, /*auto_reset=*/false, obs, rewards, terminated, truncated);
  EXPECT_EQ(std::vector<float>(obs, obs + 4), std::vector<float>(actions, actions + 4));
  EXPECT_EQ(env->env_errors(), 0);
  const std::int64_t integer[] = {0, 1};
  EXPECT_THROW(env->Step(integer, false, obs, rewards, terminated, truncated), EnvError);
}

// A MultiDiscrete action is one integer, the components in mixed radix (last fastest): 5 in
// MultiDiscrete([2, 3]) is (1, 2), plus the space's start (0, 1).
TEST(PythonEnv, MultiDiscreteActionsAreMixedRadixIndices) {
  Env env(MakeBatchEnv("py:colony_test_envs:echo_actions:box=false", 1));
  EXPECT_EQ(env.spec().num_actions, 6);
  EXPECT_EQ(env.spec().action_nvec, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(ActionSpaceText(env.spec()), "MultiDiscrete([2 3])");
  EXPECT_EQ(PolicyShapeOf(env.spec()).actions, "multi_discrete:2,3");
  env.Reset(1);
  for (std::int64_t a = 0; a < 6; ++a) {
    EXPECT_EQ(env.Step(a).obs, (std::vector<float>{static_cast<float>(a / 3),
                                                   static_cast<float>(a % 3 + 1)}))
        << "action " << a;
  }
  EXPECT_THROW(env.Step(6), EnvError);
}

// Dict keys in Gymnasium's (sorted) order: cell, flags, pos; Tuple items in order.
TEST(PythonEnv, DictAndTupleFlattenInTheDocumentedOrder) {
  Env env(MakeBatchEnv("py:colony_test_envs:nested", 1));
  ASSERT_EQ(env.spec().obs_dim, 3 + 5 + 2 + 2);
  EXPECT_EQ(env.spec().obs_shape, (std::vector<std::int64_t>{12}));
  const auto row = [](int t) {
    std::vector<float> r(12, 0.0f);
    r[static_cast<std::size_t>(t % 3)] = 1;          // cell = 1 + t % 3, Discrete(3, start=1)
    r[3 + static_cast<std::size_t>(t % 2)] = 1;      // flags[0][0] in MultiDiscrete([2, 3])
    r[5 + static_cast<std::size_t>(t % 3)] = 1;      // flags[0][1]
    r[8] = 1;                                        // flags[1] = MultiBinary [1, 0]
    r[10] = 0.5f * static_cast<float>(t);            // pos, float64 -> float32
    r[11] = -0.5f * static_cast<float>(t);
    return r;
  };
  EXPECT_EQ(env.Reset(/*seed=*/1), row(0));
  for (int t = 1; t <= 5; ++t) {
    const Transition step = env.Step(1);
    EXPECT_EQ(step.obs, row(t)) << "step " << t;
    EXPECT_EQ(step.reward, static_cast<float>(t));
    EXPECT_EQ(step.terminated, t == 5);
    EXPECT_FALSE(step.truncated);
  }
  std::string details;
  for (const auto& line : env.spec().details) details += line + "\n";
  EXPECT_NE(details.find("[0, 3) obs['cell']: Discrete(3, start=1) (one-hot)"), std::string::npos)
      << details;
  EXPECT_NE(details.find("[10, 12) obs['pos']"), std::string::npos) << details;
}

// A lone uint8 Box keeps its shape and is marked as bytes: the actor's rows are floats of the
// same values, the trajectory and the wire keep uint8, and the policy reads it as an image.
TEST(PythonEnv, Uint8BoxBecomesFloatsAndKeepsItsShape) {
  Env env(MakeBatchEnv("py:colony_test_envs:image", 1));
  EXPECT_EQ(env.spec().obs_shape, (std::vector<std::int64_t>{2, 3, 1}));
  EXPECT_TRUE(env.spec().obs_uint8);
  EXPECT_EQ(PolicyShapeOf(env.spec()).observations, "image:2,3,1");
  EXPECT_FALSE(MakeBatchEnv("py:colony_test_envs:nested", 1)->spec().obs_uint8);
  EXPECT_EQ(PolicyShapeOf(MakeBatchEnv("py:colony_test_envs:nested", 1)->spec()).observations,
            "float32");
  EXPECT_EQ(env.Reset(), std::vector<float>(6, 1.0f));
  EXPECT_EQ(env.Step(0).obs, std::vector<float>(6, 11.0f));
}

TEST(PythonEnv, ParametersAreJsonLiteralsPassedAsKeywords) {
  Env env(MakeBatchEnv("py:colony_test_envs:sized:size=3,label=\"a:b,c\"", 1));
  EXPECT_EQ(env.Reset(), std::vector<float>(3, 5.0f));  // len("a:b,c") == 5
  EXPECT_EQ(MakeBatchEnv("gym:FrozenLake-v1:is_slippery=false,map_name=\"8x8\"", 1)->spec().obs_dim,
            64);
}

TEST(PythonEnv, BadInputNamesWhatIsAllowed) {
  EXPECT_NE(ErrorOf("gym:CartPol-v1").find("unknown Gymnasium id 'CartPol-v1'; close matches: "
                                           "CartPole-v1"),
            std::string::npos);
  const std::string int_box = ErrorOf("py:colony_test_envs:integer_box_actions");
  EXPECT_NE(int_box.find("action space Box(0, 3, (2,), int64) is not supported; supported: "
                         "Discrete, MultiDiscrete (one categorical per component) "
                         "and Box of float dtype"),
            std::string::npos)
      << int_box;
  const std::string text = ErrorOf("py:colony_test_envs:text_obs");
  EXPECT_NE(text.find("obs: observation space Text("), std::string::npos) << text;
  EXPECT_NE(text.find("supported: Box (any shape"), std::string::npos) << text;
  EXPECT_NE(ErrorOf("gym:CartPole-v1:x=abc").find("parameter x: expected a JSON literal"),
            std::string::npos);
  EXPECT_NE(ErrorOf("gym:CartPole-v1:").find("expected gym:ID[:key=value,...]"),
            std::string::npos);
  EXPECT_NE(ErrorOf("py:colony_test_envs").find("expected py:MODULE:FUNCTION"), std::string::npos);
  EXPECT_NE(ErrorOf("py:colony_test_envs:x=1").find("expected py:MODULE:FUNCTION"),
            std::string::npos);
  EXPECT_NE(ErrorOf("py:my-envs:make").find("expected py:MODULE:FUNCTION"), std::string::npos);
  EXPECT_NE(ErrorOf("py:no_such_module:make").find("cannot import module 'no_such_module'"),
            std::string::npos);
  EXPECT_NE(ErrorOf("py:colony_test_envs:nope").find("has no function 'nope'; its callables: "),
            std::string::npos);
  EXPECT_NE(ErrorOf("py:colony_test_envs:not_an_env").find("expected a Gymnasium environment"),
            std::string::npos);
  EXPECT_NE(ErrorOf("py:colony_test_envs:sized:size=\"x\"").find("creating environment 0 failed"),
            std::string::npos);
}

// An exception in env 1's step: that step reads truncated with reward 0 and is marked as a
// fault (its episode is dropped), the env restarts, the others are untouched, and env_errors
// counts it. VectorEnv auto-resets as for built-ins.
TEST(PythonEnv, ExceptionCutsTheEpisodeResetsAndCounts) {
  auto core = MakeBatchEnv("py:colony_test_envs:raising:every=3", 2,
                           {.rank = 7, .max_consecutive_errors = 5});
  std::vector<float> obs(2);
  for (int i = 0; i < 2; ++i) core->Reset(i, &obs[static_cast<std::size_t>(i)]);
  std::vector<float> rewards(2);
  std::vector<std::uint8_t> terminated(2), truncated(2);
  const std::vector<std::int64_t> actions = {0, 1};
  for (int t = 1; t <= 2; ++t) {
    core->Step(actions.data(), /*auto_reset=*/true, obs.data(), rewards.data(),
               terminated.data(), truncated.data());
    EXPECT_EQ(obs, (std::vector<float>{static_cast<float>(t), static_cast<float>(t)}));
  }
  EXPECT_EQ(core->env_errors(), 0);
  // Step 3 of every env raises ("every=3" counts each env's own steps).
  core->Step(actions.data(), /*auto_reset=*/true, obs.data(), rewards.data(), terminated.data(),
             truncated.data());
  EXPECT_EQ(core->env_errors(), 2);
  EXPECT_EQ(terminated, (std::vector<std::uint8_t>{0, 0}));
  EXPECT_EQ(truncated, (std::vector<std::uint8_t>{1, 1}));
  EXPECT_TRUE(core->StepFaulted(0) && core->StepFaulted(1));
  EXPECT_EQ(rewards, (std::vector<float>{0, 0}));
  EXPECT_EQ(obs, (std::vector<float>{0, 0})) << "reset: the first observation of a new episode";
  core->Step(actions.data(), /*auto_reset=*/true, obs.data(), rewards.data(), terminated.data(),
             truncated.data());
  EXPECT_EQ(obs, (std::vector<float>{1, 1}));
  EXPECT_EQ(terminated, (std::vector<std::uint8_t>{0, 0}));
  EXPECT_FALSE(core->StepFaulted(0) || core->StepFaulted(1)) << "marks last one step";
}

TEST(PythonEnv, ConsecutiveErrorsEndTheRunWithTheTraceback) {
  auto core = MakeBatchEnv("py:colony_test_envs:raising:every=1", 1,
                           {.rank = 3, .max_consecutive_errors = 3});
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
    const std::string message = fault.what();
    EXPECT_NE(message.find("3 consecutive environment steps or resets raised "
                           "(--max-env-errors 3)"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("py:colony_test_envs:raising:every=1 env 0 on actor rank 3 raised in "
                           "step()"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("Traceback (most recent call last)"), std::string::npos) << message;
    EXPECT_NE(message.find("RuntimeError: boom at step 3 (action 1)"), std::string::npos)
        << message;
  }
  auto no_reset = MakeBatchEnv("py:colony_test_envs:raising:in_reset=true", 1,
                               {.rank = -1, .max_consecutive_errors = 2});
  try {
    no_reset->Reset(0, &obs);
    FAIL() << "expected EnvFault";
  } catch (const EnvFault& fault) {
    EXPECT_NE(std::string(fault.what()).find("raised in reset():"), std::string::npos);
    EXPECT_NE(std::string(fault.what()).find("reset refused on purpose"), std::string::npos);
  }
}

// Same (run seed, rank, index), same episodes; another index, another start.
TEST(PythonEnv, SeedsFixTheEpisodes) {
  const auto firsts = [](std::uint64_t seed, std::uint64_t rank) {
    VectorEnv envs("gym:CartPole-v1", 3, seed, rank);
    std::vector<float> obs(12);
    std::vector<std::uint8_t> first(3);
    envs.Reset(obs.data(), first.data());
    return obs;
  };
  const auto a = firsts(1, 0);
  EXPECT_EQ(a, firsts(1, 0));
  EXPECT_NE(a, firsts(2, 0));
  EXPECT_NE(a, firsts(1, 1));
  EXPECT_NE(std::vector<float>(a.begin(), a.begin() + 4),
            std::vector<float>(a.begin() + 4, a.begin() + 8));
}

// The real gymnasium CartPole-v1 (gymnasium.make, with its TimeLimit) stepped through the bridge,
// against the native kernel, from the same float64 start states (the reference episodes of
// tests/data: random starts, starts on the termination boundaries, two runs to truncation):
// every observation, reward and flag identical, bit for bit. The py: wrapper only overwrites
// the start state CartPole's reset drew; the steps are gymnasium's.
TEST(PythonEnv, GymCartPoleRunsTheNativeDynamicsBitForBit) {
  const auto episodes = cartpole_reference::LoadReference();
  ASSERT_GE(episodes.size(), 60u);
  std::ostringstream starts;
  starts.precision(17);
  for (const auto& episode : episodes) {
    starts << (starts.tellp() == 0 ? "[[" : ",[");
    for (std::size_t i = 0; i < episode.start.size(); ++i) {
      starts << (i ? "," : "") << episode.start[i];
    }
    starts << "]";
  }
  starts << "]";
  Env bridged(MakeBatchEnv("py:colony_test_envs:cartpole_from:starts=" + starts.str(), 1));
  Env native = MakeEnv("CartPole-v1");
  native.Reset(/*seed=*/0);
  std::int64_t compared = 0;
  for (const auto& episode : episodes) {
    const std::vector<float> first = bridged.Reset();
    ASSERT_EQ(first, native.SetState(episode.start));
    ASSERT_NO_FATAL_FAILURE(
        cartpole_reference::ExpectSameSteps(bridged, native, episode, &compared));
  }
  EXPECT_GT(compared, 1500);
}

// Plain gym:CartPole-v1 from its own random starts: each step agrees with the native kernel
// started from the bridge's previous observation (float32, so to ~1e-6, not bit for bit), and
// episodes end on the same steps.
TEST(PythonEnv, PlainGymCartPoleStepsLikeNative) {
  Env bridged(MakeBatchEnv("gym:CartPole-v1", 1));
  Env native = MakeEnv("CartPole-v1");
  std::vector<float> obs = bridged.Reset(/*seed=*/5);
  int steps = 0, episodes = 0;
  for (int t = 0; t < 2000; ++t) {
    const std::int64_t action = (t * 7 / 3) % 2;
    native.SetState(std::vector<double>(obs.begin(), obs.end()));
    const Transition want = native.Step(action);
    const Transition got = bridged.Step(action);
    for (std::size_t i = 0; i < 4; ++i) {
      ASSERT_NEAR(got.obs[i], want.obs[i], 1e-5 * (1 + std::abs(want.obs[i]))) << "step " << t;
    }
    ASSERT_EQ(got.reward, want.reward);
    ASSERT_EQ(got.terminated, want.terminated) << "step " << t;
    ++steps;
    obs = got.obs;
    if (got.terminated || got.truncated) {
      obs = bridged.Reset();
      ++episodes;
    }
  }
  EXPECT_GT(episodes, 10) << steps;
}

}  // namespace
}  // namespace colony::env
