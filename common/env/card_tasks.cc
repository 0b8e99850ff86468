// RepeatPrevious and RepeatFirst, POPGym's card-memory games (popgym/envs/repeat_previous.py
// and repeat_first.py, version 1.0.7), as one structure-of-arrays kernel.
//
// POPGym deals from a shuffled deck: reset deals card 0 and shows its suit; each step scores
// the action, then deals the next card and shows its suit; the episode terminates on the step
// that deals the last card. We keep each env's shuffled suits in a flat [num_envs, cards]
// array and deal by index, so a step reads one byte of deck and a reset is one Fisher-Yates
// shuffle from the env's own stream.
#include <string>
#include <utility>
#include <vector>

#include "common/base/check.h"
#include "common/env/memory_tasks.h"

namespace colony::env {
namespace {

class CardTask final : public BatchEnv {
 public:
  // `lag` is the distance back from the current card that is scored (k-1 for RepeatPrevious);
  // `repeat_first` scores against card 0 instead.
  CardTask(int num_envs, EnvSpec spec, std::int64_t decks, std::int64_t lag, bool repeat_first)
      : BatchEnv(std::move(spec), num_envs),
        cards_(decks * kCardsPerDeck),
        lag_(lag),
        repeat_first_(repeat_first),
        // POPGym's scale: every scored step is worth 1/(number of scored steps).
        reward_scale_(static_cast<float>(1.0 / static_cast<double>(cards_ - 1 - lag))),
        suits_(static_cast<std::size_t>(num_envs * cards_)),
        elapsed_(static_cast<std::size_t>(num_envs)) {}

  void Reset(int i, float* obs_row) override {
    const auto e = static_cast<std::size_t>(i);
    Shuffle(e);
    WriteObs(suits_[e * static_cast<std::size_t>(cards_)], obs_row);
  }

  void Step(const std::int64_t* actions, bool auto_reset, float* obs, float* rewards,
            std::uint8_t* terminated, std::uint8_t* truncated) override {
    const auto n = static_cast<std::size_t>(num_envs());
    const auto cards = static_cast<std::size_t>(cards_);
    for (std::size_t e = 0; e < n; ++e) {
      const std::uint8_t* deck = &suits_[e * cards];
      const std::int32_t t = elapsed_[e];
      float reward = 0.0f;
      if (repeat_first_ || t >= lag_) {
        const std::uint8_t target = deck[repeat_first_ ? 0 : t - lag_];
        reward = actions[e] == target ? reward_scale_ : -reward_scale_;
      }
      const std::int32_t dealt = t + 1;
      elapsed_[e] = dealt;
      const bool term = dealt == cards_ - 1;
      rewards[e] = reward;
      terminated[e] = term;
      truncated[e] = 0;
      if (term && auto_reset) Shuffle(e);
      WriteObs(deck[elapsed_[e]], obs + e * kSuits);
    }
  }

 private:
  static void WriteObs(std::uint8_t suit, float* row) {
    for (std::int64_t s = 0; s < kSuits; ++s) row[s] = 0.0f;
    row[suit] = 1.0f;
  }

  // Fisher-Yates over a fresh deck (card c has suit c % 4, as in POPGym's Deck).
  void Shuffle(std::size_t e) {
    std::uint8_t* deck = &suits_[e * static_cast<std::size_t>(cards_)];
    for (std::int64_t c = 0; c < cards_; ++c) deck[c] = static_cast<std::uint8_t>(c % kSuits);
    Rng& r = rng(static_cast<int>(e));
    for (auto c = static_cast<std::uint32_t>(cards_ - 1); c > 0; --c) {
      const std::uint32_t j = r.Below(c + 1);
      std::swap(deck[c], deck[j]);
    }
    elapsed_[e] = 0;
  }

  std::int64_t cards_;
  std::int64_t lag_;
  bool repeat_first_;
  float reward_scale_;
  std::vector<std::uint8_t> suits_;    // [num_envs, cards]: the shuffled deck, dealt in order
  std::vector<std::int32_t> elapsed_;  // index of the card on show = steps taken
};

EnvSpec CardSpec(std::string name, std::int64_t decks) {
  EnvSpec spec;
  spec.name = std::move(name);
  spec.obs_shape = {kSuits};
  spec.obs_dim = kSuits;
  spec.num_actions = kSuits;
  spec.max_episode_steps = decks * kCardsPerDeck - 1;
  return spec;
}

}  // namespace

std::unique_ptr<BatchEnv> MakeRepeatPrevious(int num_envs, std::int64_t decks, std::int64_t k) {
  COLONY_CHECK(decks >= 1 && k >= 1 && k < decks * kCardsPerDeck) << decks << " " << k;
  auto spec = CardSpec("RepeatPrevious:decks=" + std::to_string(decks) +
                       ",k=" + std::to_string(k), decks);
  return std::make_unique<CardTask>(num_envs, std::move(spec), decks, /*lag=*/k - 1,
                                    /*repeat_first=*/false);
}

std::unique_ptr<BatchEnv> MakeRepeatFirst(int num_envs, std::int64_t decks) {
  COLONY_CHECK(decks >= 1) << decks;
  auto spec = CardSpec("RepeatFirst:decks=" + std::to_string(decks), decks);
  return std::make_unique<CardTask>(num_envs, std::move(spec), decks, /*lag=*/0,
                                    /*repeat_first=*/true);
}

}  // namespace colony::env
