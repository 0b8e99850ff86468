// TMaze:length=L, a passive T-maze (the "passive" variant of Ni et al. 2023, after Bakker
// 2001): the agent is carried down a corridor and only has to remember a one-bit cue.
//
// Observation, 3 floats: [cue says up, cue says down, at the junction]. The cue bits are set
// only on the first observation of an episode; the junction bit only on the last.
// Actions: 0 = up, 1 = down. During the L corridor steps the action is ignored (reward 0);
// the step taken at the junction picks an arm: +1 if it matches the cue, -1 if not, and the
// episode terminates. Every episode has exactly L + 1 steps. A memoryless policy sees the same
// observation at the junction whatever the cue was, so its expected return is 0; memory of
// L + 1 steps gives +1.
#include <string>
#include <utility>
#include <vector>

#include "common/base/check.h"
#include "common/env/memory_tasks.h"

namespace colony::env {
namespace {

constexpr std::int64_t kTMazeObsDim = 3;

class TMaze final : public BatchEnv {
 public:
  TMaze(int num_envs, std::int64_t length)
      : BatchEnv(MakeSpec(length), num_envs),
        length_(length),
        cue_(static_cast<std::size_t>(num_envs)),
        elapsed_(static_cast<std::size_t>(num_envs)) {}

  void Reset(int i, float* obs_row) override {
    const auto e = static_cast<std::size_t>(i);
    ResetOne(e);
    WriteObs(e, obs_row);
  }

  void Step(const std::int64_t* actions, bool auto_reset, float* obs, float* rewards,
            std::uint8_t* terminated, std::uint8_t* truncated) override {
    const auto n = static_cast<std::size_t>(num_envs());
    for (std::size_t e = 0; e < n; ++e) {
      const bool at_junction = elapsed_[e] == length_;
      float reward = 0.0f;
      if (at_junction) reward = actions[e] == cue_[e] ? 1.0f : -1.0f;
      ++elapsed_[e];
      rewards[e] = reward;
      terminated[e] = at_junction;
      truncated[e] = 0;
      if (at_junction && auto_reset) ResetOne(e);
      WriteObs(e, obs + e * kTMazeObsDim);
    }
  }

 private:
  static EnvSpec MakeSpec(std::int64_t length) {
    EnvSpec spec;
    spec.name = "TMaze:length=" + std::to_string(length);
    spec.obs_shape = {kTMazeObsDim};
    spec.obs_dim = kTMazeObsDim;
    spec.num_actions = 2;
    spec.max_episode_steps = length + 1;
    return spec;
  }

  void ResetOne(std::size_t e) {
    cue_[e] = static_cast<std::uint8_t>(rng(static_cast<int>(e)).Next() >> 63);
    elapsed_[e] = 0;
  }

  // After the terminal step (without auto-reset) elapsed is L + 1: nothing is shown then.
  void WriteObs(std::size_t e, float* row) const {
    const bool start = elapsed_[e] == 0;
    row[0] = start && cue_[e] == 0 ? 1.0f : 0.0f;
    row[1] = start && cue_[e] == 1 ? 1.0f : 0.0f;
    row[2] = elapsed_[e] == length_ ? 1.0f : 0.0f;
  }

  std::int64_t length_;
  std::vector<std::uint8_t> cue_;      // 0 = up, 1 = down: the arm that pays
  std::vector<std::int64_t> elapsed_;  // steps taken; the agent is at the junction when == L
};

}  // namespace

std::unique_ptr<BatchEnv> MakeTMaze(int num_envs, std::int64_t length) {
  COLONY_CHECK(length >= 1) << length;
  return std::make_unique<TMaze>(num_envs, length);
}

}  // namespace colony::env
