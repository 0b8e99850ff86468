// Memory tasks: the rules of RepeatPrevious, RepeatFirst and TMaze (what is scored, reward
// scale, episode length), that perfect memory earns +1, and that the best memoryless policy is
// near the documented value (-0.49 for the card games, 0 for the T-maze).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "common/env/registry.h"

namespace colony::env {
namespace {

std::int64_t Suit(const std::vector<float>& obs) {
  std::int64_t suit = -1;
  for (std::size_t s = 0; s < obs.size(); ++s) {
    EXPECT_TRUE(obs[s] == 0.0f || obs[s] == 1.0f);
    if (obs[s] == 1.0f) {
      EXPECT_EQ(suit, -1) << "two suits set";
      suit = static_cast<std::int64_t>(s);
    }
  }
  EXPECT_GE(suit, 0);
  return suit;
}

// Plays one episode of a card game with `policy(history)`, where history holds every suit seen
// so far (the last is the current one). Returns the return; checks length and reward scale.
template <typename Policy>
double PlayCards(Env& env, std::int64_t scored_steps, Policy policy) {
  std::vector<std::int64_t> history = {Suit(env.Reset())};
  double total = 0;
  for (std::int64_t t = 0;; ++t) {
    const Transition step = env.Step(policy(history));
    EXPECT_FALSE(step.truncated);
    const float scale = static_cast<float>(1.0 / static_cast<double>(scored_steps));
    EXPECT_TRUE(step.reward == 0.0f || std::fabs(step.reward) == scale) << step.reward;
    total += step.reward;
    history.push_back(Suit(step.obs));
    if (step.terminated) {
      EXPECT_EQ(t + 1, env.spec().max_episode_steps);
      return total;
    }
  }
}

TEST(RepeatPrevious, PerfectMemoryScoresOneAndPopGymsKCountsTheCurrentCard) {
  for (std::int64_t k : {1, 2, 4, 51}) {
    Env env = MakeEnv("RepeatPrevious:k=" + std::to_string(k));
    env.Reset(/*seed=*/k);
    const double perfect = PlayCards(env, 52 - k, [k](const std::vector<std::int64_t>& h) {
      const auto n = static_cast<std::int64_t>(h.size());
      return n >= k ? h[static_cast<std::size_t>(n - k)] : 0;
    });
    EXPECT_NEAR(perfect, 1.0, 1e-5) << "k=" << k;
  }
}

TEST(RepeatPrevious, UnscoredStepsBeforeKAndWrongAnswersCostTheScale) {
  Env env = MakeEnv("RepeatPrevious:k=3");
  env.Reset(/*seed=*/9);
  // Always wrong on purpose: one suit off the card 2 steps back.
  const double worst = PlayCards(env, 49, [](const std::vector<std::int64_t>& h) {
    const auto n = h.size();
    return n >= 3 ? (h[n - 3] + 1) % 4 : 0;
  });
  EXPECT_NEAR(worst, -1.0, 1e-5);
  Env again = MakeEnv("RepeatPrevious:k=3");
  again.Reset(/*seed=*/9);
  EXPECT_EQ(again.Step(0).reward, 0.0f);  // steps 0 and 1 have no card 2 back
  EXPECT_EQ(again.Step(0).reward, 0.0f);
  EXPECT_NE(again.Step(0).reward, 0.0f);
}

TEST(RepeatPrevious, MemorylessPolicyScoresAboutMinusHalf) {
  // The best a policy seeing only the current card can do: name another suit (13/51 right).
  Env env = MakeEnv("RepeatPrevious:k=4");
  env.Reset(/*seed=*/1);
  double total = 0;
  constexpr int kEpisodes = 2000;
  for (int i = 0; i < kEpisodes; ++i) {
    total += PlayCards(env, 48, [](const std::vector<std::int64_t>& h) {
      return (h.back() + 1) % 4;
    });
  }
  // Expected 2*13/51 - 1 = -0.490; per-episode sd ~0.125, so the mean's sd is ~0.003.
  EXPECT_NEAR(total / kEpisodes, -25.0 / 51.0, 0.015);
}

TEST(RepeatFirst, PerfectMemoryScoresOneMemorylessAboutMinusHalf) {
  Env env = MakeEnv("RepeatFirst:decks=2");
  env.Reset(/*seed=*/2);
  EXPECT_NEAR(PlayCards(env, 103, [](const std::vector<std::int64_t>& h) { return h[0]; }), 1.0,
              1e-5);
  Env one = MakeEnv("RepeatFirst");
  one.Reset(/*seed=*/3);
  double total = 0;
  constexpr int kEpisodes = 2000;
  for (int i = 0; i < kEpisodes; ++i) {
    total += PlayCards(one, 51, [](const std::vector<std::int64_t>& h) { return h.back(); });
  }
  // Repeating the current card: right at step 0, then 12/51 of the time: (1 - 50*27/51)/51.
  EXPECT_NEAR(total / kEpisodes, (1.0 - 50.0 * 27.0 / 51.0) / 51.0, 0.015);
}

TEST(CardGames, EachEpisodeDealsAWholeShuffledDeck) {
  Env env = MakeEnv("RepeatFirst");
  env.Reset(/*seed=*/4);
  std::vector<int> counts(4);
  std::vector<std::int64_t> first_episode;
  ++counts[static_cast<std::size_t>(Suit(env.Reset(/*seed=*/4)))];
  for (int t = 0; t < 51; ++t) {
    const auto suit = Suit(env.Step(0).obs);
    ++counts[static_cast<std::size_t>(suit)];
    first_episode.push_back(suit);
  }
  EXPECT_EQ(counts, (std::vector<int>{13, 13, 13, 13}));
  env.Reset();
  std::vector<std::int64_t> second_episode;
  for (int t = 0; t < 51; ++t) second_episode.push_back(Suit(env.Step(0).obs));
  EXPECT_NE(first_episode, second_episode);
}

TEST(TMaze, CueOnlyAtStartJunctionAtTheEnd) {
  Env env = MakeEnv("TMaze:length=5");
  int up = 0;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    const std::vector<float> first = env.Reset(seed);
    ASSERT_EQ(first[0] + first[1], 1.0f);
    ASSERT_EQ(first[2], 0.0f);
    const std::int64_t cue = first[0] == 1.0f ? 0 : 1;
    up += cue == 0;
    for (int t = 0; t < 5; ++t) {
      const Transition step = env.Step(1 - cue);  // corridor: the action does not matter
      ASSERT_EQ(step.reward, 0.0f);
      ASSERT_FALSE(step.terminated);
      ASSERT_EQ(step.obs, (std::vector<float>{0, 0, t == 4 ? 1.0f : 0.0f}));
    }
    const Transition last = env.Step(seed % 2 == 0 ? cue : 1 - cue);
    ASSERT_TRUE(last.terminated);
    ASSERT_FALSE(last.truncated);
    ASSERT_EQ(last.reward, seed % 2 == 0 ? 1.0f : -1.0f);
  }
  EXPECT_GT(up, 70);  // the cue is a fair coin (binomial sd ~7)
  EXPECT_LT(up, 130);
}

}  // namespace
}  // namespace colony::env
