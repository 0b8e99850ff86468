// The vectorised runner: auto-reset with the `first` flag, episode statistics, action checks,
// and seeding that is fixed by (run seed, rank, env index) and agrees with the one-env Env.
#include "common/env/vector_env.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/env/registry.h"

namespace colony::env {
namespace {

struct Buffers {
  explicit Buffers(const VectorEnv& envs)
      : n(static_cast<std::size_t>(envs.num_envs())),
        dim(static_cast<std::size_t>(envs.spec().obs_dim)),
        obs(n * dim), rewards(n), terminated(n), truncated(n), first(n) {}
  std::vector<float> Row(std::size_t e) const {
    return {obs.begin() + static_cast<std::ptrdiff_t>(e * dim),
            obs.begin() + static_cast<std::ptrdiff_t>((e + 1) * dim)};
  }
  std::size_t n, dim;
  std::vector<float> obs, rewards;
  std::vector<std::uint8_t> terminated, truncated, first;
};

void Step(VectorEnv& envs, Buffers& b, const std::vector<std::int64_t>& actions) {
  envs.Step(actions.data(), b.obs.data(), b.rewards.data(), b.terminated.data(),
            b.truncated.data(), b.first.data());
}

// Env e of (seed, rank) must be exactly Env::Reset(DeriveEnvSeed(seed, rank, e)) then Reset()
// at each episode end, whatever E is: checked on every env, for several hundred steps.
void ExpectMatchesScalar(const std::string& name, int num_envs, std::uint64_t seed,
                         std::uint64_t rank) {
  VectorEnv envs(name, num_envs, seed, rank);
  Buffers b(envs);
  std::vector<Env> singles;
  for (int e = 0; e < num_envs; ++e) singles.push_back(MakeEnv(name));
  envs.Reset(b.obs.data(), b.first.data());
  for (std::size_t e = 0; e < b.n; ++e) {
    ASSERT_EQ(b.Row(e), singles[e].Reset(DeriveEnvSeed(seed, rank, e))) << name << " env " << e;
    ASSERT_EQ(b.first[e], 1);
  }
  std::vector<std::int64_t> actions(b.n);
  for (int t = 0; t < 700; ++t) {
    for (std::size_t e = 0; e < b.n; ++e) {
      actions[e] = static_cast<std::int64_t>((t * 31 + e * 17 + t / 7) % static_cast<std::size_t>(envs.spec().num_actions));
    }
    Step(envs, b, actions);
    for (std::size_t e = 0; e < b.n; ++e) {
      Transition want = singles[e].Step(actions[e]);
      ASSERT_EQ(b.rewards[e], want.reward) << name << " env " << e << " t " << t;
      ASSERT_EQ(b.terminated[e] != 0, want.terminated);
      ASSERT_EQ(b.truncated[e] != 0, want.truncated);
      const bool done = want.terminated || want.truncated;
      ASSERT_EQ(b.first[e] != 0, done);
      if (done) want.obs = singles[e].Reset();  // auto-reset: obs starts the next episode
      ASSERT_EQ(b.Row(e), want.obs) << name << " env " << e << " t " << t;
    }
  }
}

TEST(VectorEnv, EachEnvIsTheScalarEnvWithItsDerivedSeed) {
  for (const std::string name :
       {"CartPole-v1", "StatelessCartPole", "RepeatPrevious:k=3", "RepeatFirst", "TMaze:length=4"}) {
    ExpectMatchesScalar(name, /*num_envs=*/5, /*seed=*/42, /*rank=*/3);
  }
}

TEST(VectorEnv, EpisodeStatsMatchTheRewardsAndFlags) {
  VectorEnv envs("CartPole-v1", 8, /*run_seed=*/1, /*rank=*/0);
  Buffers b(envs);
  envs.Reset(b.obs.data(), b.first.data());
  std::vector<double> running(b.n);
  std::vector<std::int64_t> lengths(b.n);
  std::vector<EpisodeStats> expected;
  for (int t = 0; t < 600; ++t) {
    std::vector<std::int64_t> actions(b.n);
    for (std::size_t e = 0; e < b.n; ++e) actions[e] = (t + static_cast<int>(e)) % 2;
    Step(envs, b, actions);
    for (std::size_t e = 0; e < b.n; ++e) {
      running[e] += b.rewards[e];
      ++lengths[e];
      if (b.terminated[e] || b.truncated[e]) {
        expected.push_back({static_cast<int>(e), running[e], lengths[e], b.truncated[e] != 0});
        running[e] = 0;
        lengths[e] = 0;
      }
    }
  }
  const auto got = envs.DrainEpisodes();
  ASSERT_EQ(got.size(), expected.size());
  ASSERT_GT(got.size(), 20u);
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].env_index, expected[i].env_index);
    EXPECT_EQ(got[i].episode_return, expected[i].episode_return);
    EXPECT_EQ(got[i].length, expected[i].length);
    EXPECT_EQ(got[i].episode_return, static_cast<double>(got[i].length));  // CartPole: 1/step
    EXPECT_EQ(got[i].truncated, expected[i].truncated);
  }
  EXPECT_TRUE(envs.DrainEpisodes().empty());
  EXPECT_EQ(envs.total_steps(), 600 * 8);
}

TEST(VectorEnv, FixedLengthTasksEndTogetherAndReportFullLength) {
  VectorEnv envs("TMaze:length=3", 4, /*run_seed=*/0, /*rank=*/0);
  Buffers b(envs);
  envs.Reset(b.obs.data(), b.first.data());
  const std::vector<std::int64_t> up(4, 0);
  for (int t = 0; t < 4; ++t) Step(envs, b, up);
  for (std::size_t e = 0; e < 4; ++e) {
    EXPECT_EQ(b.terminated[e], 1);
    EXPECT_EQ(b.first[e], 1);
    EXPECT_EQ(b.obs[e * 3] + b.obs[e * 3 + 1], 1.0f);  // a fresh cue is showing
  }
  const auto stats = envs.DrainEpisodes();
  ASSERT_EQ(stats.size(), 4u);
  for (const auto& s : stats) {
    EXPECT_EQ(s.length, 4);
    EXPECT_TRUE(s.episode_return == 1.0 || s.episode_return == -1.0);
  }
}

TEST(VectorEnv, SeedsDependOnRunSeedRankAndIndex) {
  auto first_obs = [](std::uint64_t seed, std::uint64_t rank) {
    VectorEnv envs("CartPole-v1", 4, seed, rank);
    Buffers b(envs);
    envs.Reset(b.obs.data(), b.first.data());
    return b.obs;
  };
  const auto base = first_obs(1, 0);
  EXPECT_EQ(base, first_obs(1, 0));  // deterministic
  EXPECT_NE(base, first_obs(2, 0));  // run seed matters
  EXPECT_NE(base, first_obs(1, 1));  // rank matters
  for (std::size_t a = 0; a < 4; ++a) {
    for (std::size_t b = a + 1; b < 4; ++b) {  // envs of one actor differ from each other
      EXPECT_FALSE(std::equal(base.begin() + static_cast<std::ptrdiff_t>(a * 4),
                              base.begin() + static_cast<std::ptrdiff_t>(a * 4 + 4),
                              base.begin() + static_cast<std::ptrdiff_t>(b * 4)));
    }
  }
  // Env 2 of a batch of 4 is env 2 of a batch of 3: E does not change an env's stream.
  VectorEnv three("CartPole-v1", 3, 1, 0);
  Buffers b3(three);
  three.Reset(b3.obs.data(), b3.first.data());
  EXPECT_EQ(b3.Row(2), std::vector<float>(base.begin() + 8, base.begin() + 12));
}

TEST(VectorEnv, BadActionIsAnErrorAndChangesNothing) {
  VectorEnv envs("RepeatFirst", 3, 5, 0);
  Buffers b(envs);
  EXPECT_THROW(Step(envs, b, {0, 0, 0}), EnvError);  // before Reset
  envs.Reset(b.obs.data(), b.first.data());
  const auto before = b.obs;
  try {
    Step(envs, b, {0, 4, 0});
    FAIL() << "no error";
  } catch (const EnvError& error) {
    EXPECT_STREQ(error.what(),
                 "RepeatFirst:decks=1: action for env 1: expected an integer in [0, 4), got 4");
  }
  EXPECT_THROW(Step(envs, b, {-1, 0, 0}), EnvError);
  EXPECT_EQ(b.obs, before);
  EXPECT_EQ(envs.total_steps(), 0);
}

}  // namespace
}  // namespace colony::env
