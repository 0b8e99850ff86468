// The vectorised runner actors use: E environments of one kind stepped as a batch, with
// auto-reset, per-episode return and length, and seeding fixed by (run seed, rank, env index).
//
// In: one action per env. Out, into caller-provided contiguous buffers (so an actor can wrap
// them in tensors without a copy):
//   obs         float32 [E, obs_dim], row-major: env e's observation is obs[e*obs_dim, ...).
//   rewards     float32 [E]   reward of the step just taken.
//   terminated  uint8   [E]   1 if that step ended the episode by the task's own rule.
//   truncated   uint8   [E]   1 if it ended it by the episode limit (both can be 1).
//   first       uint8   [E]   1 if obs[e] is the first observation of an episode. After Reset
//                             all are 1; after Step, first[e] = terminated[e] | truncated[e].
// Auto-reset: after a step that ends env e's episode, obs[e] is the first observation of its
// next episode, not the final one of the old (that one is not kept; bootstrap from it is not
// possible, which IMPALA does not need: a truncated step is treated as a cut). This is why
// `first` exists: the policy's memory must not cross it.
//
// Seeding: env e of actor `rank` gets the stream DeriveEnvSeed(run_seed, rank, e) (rng.h) at
// construction and draws each reset from it, so its episodes do not depend on E, on the other
// envs or on when episodes end elsewhere. The same (run seed, rank, e) gives the same episodes
// as Env::Reset(DeriveEnvSeed(run_seed, rank, e)) followed by Reset() at each episode end.
//
// Cost: one virtual call per batch step, no allocation (except when the completed-episode
// list must grow: drain it), random numbers only on reset.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/env/env.h"

namespace colony::env {

struct EpisodeStats {
  int env_index = 0;
  double episode_return = 0;  // sum of rewards, accumulated in float64
  std::int64_t length = 0;    // steps
  bool truncated = false;     // ended by the episode limit (and possibly also terminated)
};

class VectorEnv {
 public:
  // `env_name` as the registry parses it ("RepeatPrevious:k=8"); throws EnvError if bad.
  VectorEnv(const std::string& env_name, int num_envs, std::uint64_t run_seed,
            std::uint64_t rank);

  const EnvSpec& spec() const { return core_->spec(); }
  int num_envs() const { return core_->num_envs(); }

  // Starts an episode in every env (continuing each env's stream) and sets every `first`.
  // Discards the running returns of unfinished episodes. `first` may be null.
  void Reset(float* obs, std::uint8_t* first);

  // Advances every env one step; see the buffer contract above. Throws EnvError (and changes
  // nothing) if any action is outside [0, num_actions), or if Reset was never called.
  void Step(const std::int64_t* actions, float* obs, float* rewards, std::uint8_t* terminated,
            std::uint8_t* truncated, std::uint8_t* first);

  // Step for Box action spaces: `actions` is [num_envs, action_dim] float32. Throws EnvError
  // (and changes nothing) if a value is outside its dimension's bounds or not finite.
  void StepBox(const float* actions, float* obs, float* rewards, std::uint8_t* terminated,
               std::uint8_t* truncated, std::uint8_t* first);

  // Episodes completed since the last call, in completion order (by env index within a step).
  std::vector<EpisodeStats> DrainEpisodes();

  // Total env-steps taken since construction.
  std::int64_t total_steps() const { return total_steps_; }

 private:
  // After a batch step: running returns, episode ends and first flags.
  void Record(const float* rewards, const std::uint8_t* terminated, const std::uint8_t* truncated,
              std::uint8_t* first);

  std::unique_ptr<BatchEnv> core_;
  bool started_ = false;
  std::vector<double> running_return_;        // [E] return of the episode in progress
  std::vector<std::int64_t> running_length_;  // [E] its length so far
  std::vector<EpisodeStats> completed_;       // finished since the last DrainEpisodes
  std::int64_t total_steps_ = 0;
};

}  // namespace colony::env
