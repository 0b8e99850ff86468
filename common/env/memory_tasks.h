// Memory tasks: environments where what the agent must do depends on something it saw earlier
// and no longer sees, so a memoryless policy is stuck near chance. docs/environments.md has the
// exact rules and the return a memoryless policy can reach; in short:
//
//   RepeatPrevious:decks=D,k=K   POPGym's card game. A shuffled deck of 52*D cards is dealt one
//                                card per step; the observation is the card's suit (one-hot, 4
//                                floats); the action names a suit. From step K-1 on, the action
//                                at step t is scored against the suit dealt at step t-K+1
//                                (POPGym's convention: K=1 is the current card), +-1/(52*D-K)
//                                per step, so returns lie in [-1, 1]. 52*D-1 steps.
//   RepeatFirst:decks=D          The same deck; every action is scored against the first card's
//                                suit, +-1/(52*D-1) per step.
//   TMaze:length=L               A passive T-maze: a cue (up or down) shown only at the first
//                                step, L corridor steps the agent is carried along, then the
//                                junction, where the action picks an arm: +1 right, -1 wrong.
//
// In: actions in [0, num_actions). Out: observations, rewards, terminated (these tasks end by
// themselves at a fixed length and never truncate).
#pragma once

#include <cstdint>
#include <memory>

#include "common/env/env.h"

namespace colony::env {

inline constexpr std::int64_t kCardsPerDeck = 52;
inline constexpr std::int64_t kSuits = 4;

// `k` is POPGym's: the action is compared with the k-th most recent card, the current one
// being the first. Requires 1 <= k < 52 * decks (checked by the registry).
std::unique_ptr<BatchEnv> MakeRepeatPrevious(int num_envs, std::int64_t decks, std::int64_t k);
std::unique_ptr<BatchEnv> MakeRepeatFirst(int num_envs, std::int64_t decks);
std::unique_ptr<BatchEnv> MakeTMaze(int num_envs, std::int64_t length);

}  // namespace colony::env
