// CartPole-v1 against the real Gymnasium, bit for bit: trajectories recorded by
// tests/data/make_cartpole_reference.py (gymnasium.make("CartPole-v1"), random starts, starts
// on and around the termination boundaries, balanced runs to the 500-step truncation) are
// replayed here from the same float64 start states with the same actions. Every float32
// observation, reward, flag and float64 state must be identical. Plus StatelessCartPole and
// the reset distribution.
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

namespace colony::env {
namespace {

using cartpole_reference::LoadReference;
using cartpole_reference::RefStep;

TEST(CartPoleReference, DataCoversBoundariesAndTruncation) {
  const auto episodes = LoadReference();
  ASSERT_GE(episodes.size(), 60u);
  int truncated = 0;
  int terminated_on_first_step = 0;
  for (const auto& episode : episodes) {
    truncated += episode.steps.back().truncated;
    terminated_on_first_step += episode.steps.size() == 1 && episode.steps[0].terminated;
  }
  EXPECT_EQ(truncated, 2);
  EXPECT_GE(terminated_on_first_step, 4);
}

TEST(CartPoleReference, MatchesGymnasiumBitForBit) {
  Env env = MakeEnv("CartPole-v1");
  env.Reset(/*seed=*/0);
  std::int64_t compared = 0;
  for (const auto& episode : LoadReference()) {
    const std::vector<float> first = env.SetState(episode.start);
    for (int i = 0; i < 4; ++i) {
      ASSERT_EQ(std::bit_cast<std::uint32_t>(first[static_cast<std::size_t>(i)]),
                std::bit_cast<std::uint32_t>(static_cast<float>(episode.start[static_cast<std::size_t>(i)])));
    }
    for (std::size_t t = 0; t < episode.steps.size(); ++t) {
      const RefStep& want = episode.steps[t];
      const Transition got = env.Step(want.action);
      const std::string where = episode.label + " step " + std::to_string(t);
      for (std::size_t i = 0; i < 4; ++i) {
        ASSERT_EQ(std::bit_cast<std::uint32_t>(got.obs[i]), std::bit_cast<std::uint32_t>(want.obs[i]))
            << where << " obs[" << i << "]: " << got.obs[i] << " vs " << want.obs[i];
      }
      const std::vector<double> state = env.GetState();
      for (std::size_t i = 0; i < 4; ++i) {
        ASSERT_EQ(std::bit_cast<std::uint64_t>(state[i]), std::bit_cast<std::uint64_t>(want.state[i]))
            << where << " state[" << i << "]";
      }
      ASSERT_EQ(got.reward, want.reward) << where;
      ASSERT_EQ(got.terminated, want.terminated) << where;
      ASSERT_EQ(got.truncated, want.truncated) << where;
      ++compared;
    }
  }
  EXPECT_GT(compared, 1500);
}

TEST(CartPole, StatelessObservesPositionAndAngleOfTheSameSystem) {
  Env full = MakeEnv("CartPole-v1");
  Env stateless = MakeEnv("StatelessCartPole");
  full.Reset(/*seed=*/7);
  stateless.Reset(/*seed=*/7);
  for (int t = 0; t < 500; ++t) {
    const std::int64_t action = (t * 7 / 3) % 2;
    const Transition a = full.Step(action);
    const Transition b = stateless.Step(action);
    ASSERT_EQ(b.obs.size(), 2u);
    ASSERT_EQ(b.obs[0], a.obs[0]);
    ASSERT_EQ(b.obs[1], a.obs[2]);
    ASSERT_EQ(a.reward, b.reward);
    ASSERT_EQ(a.terminated, b.terminated);
    ASSERT_EQ(a.truncated, b.truncated);
    if (a.terminated || a.truncated) return;
  }
  FAIL() << "episode did not end";
}

TEST(CartPole, ResetIsUniformInTheStartBoxAndSeeded) {
  Env env = MakeEnv("CartPole-v1");
  double lo = 1;
  double hi = -1;
  double sum = 0;
  constexpr int kResets = 4000;
  env.Reset(/*seed=*/11);
  for (int i = 0; i < kResets; ++i) {
    env.Reset();
    for (double v : env.GetState()) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
      sum += v;
    }
  }
  EXPECT_GE(lo, -0.05);
  EXPECT_LT(hi, 0.05);
  EXPECT_LT(lo, -0.049);  // the whole box is used
  EXPECT_GT(hi, 0.049);
  EXPECT_NEAR(sum / (4 * kResets), 0.0, 0.002);  // sd of the mean ~0.00046
  EXPECT_EQ(env.Reset(/*seed=*/5), env.Reset(/*seed=*/5));
  EXPECT_NE(env.Reset(/*seed=*/5), env.Reset(/*seed=*/6));
}

TEST(CartPole, RewardIsOneEveryStepAndTruncatesAt500) {
  Env env = MakeEnv("CartPole-v1");
  env.Reset(/*seed=*/1);
  // Pushing against the pole's lean keeps it up for a while but not forever; either way the
  // episode ends by step 500 and every reward, the last included, is 1.
  std::vector<float> obs = env.SetState(std::vector<double>{0.0, 0.0, 0.0, 0.0});
  for (int t = 1; t <= 500; ++t) {
    const Transition step = env.Step(obs[2] + 0.5f * obs[3] > 0 ? 1 : 0);
    ASSERT_EQ(step.reward, 1.0f);
    obs = step.obs;
    if (step.terminated || step.truncated) {
      EXPECT_EQ(step.truncated, t == 500);
      return;
    }
  }
  FAIL() << "no end by step 500";
}

}  // namespace
}  // namespace colony::env
