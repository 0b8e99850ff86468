// Actor: steps E environments with the current policy in step mode and cuts trajectories.
//
// In:  an environment name, the shared Policy (its weights and version), a seed.
// Out: Trajectory objects of T steps (common/wire/trajectory.h) and the episodes that finished.
//
// Per step: the policy sees the batch of observations with their first-of-episode flags,
// returns logits and values; an action is sampled per env from its own seeded generator; the
// environments step. An env whose episode ended is reset here, not inside the environment,
// because a truncated episode's last observation is still needed: its value (computed on a
// copy of that env's memory) bootstraps the target, since truncation is not termination.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/env/env.h"
#include "common/env/vector_env.h"  // EpisodeStats
#include "common/model/action_dist.h"
#include "common/model/policy.h"
#include "common/wire/trajectory.h"

namespace colony {

using env::EpisodeStats;  // {env_index, episode_return, length}

// Steps every env of `env` (without auto-reset) with `actions`, one per env as `dist` samples
// them: integer actions as they are, Box actions mapped into the environment's bounds
// (ToEnvUnits) through `box_buffer` (resized as needed).
void StepWithActions(env::BatchEnv& env, const ActionDist& dist, const torch::Tensor& actions,
                     std::vector<float>& box_buffer, float* obs, float* rewards,
                     std::uint8_t* terminated, std::uint8_t* truncated);

class Actor {
 public:
  // Env i gets the seed env::DeriveEnvSeed(seed, rank, i); action sampling is seeded from
  // (seed, rank) as well, so a run is reproducible per actor. `env_options` say how faults in
  // gym:/py: environments are reported and when they end the run (env::EnvFault).
  Actor(const std::string& env_name, int num_envs, std::uint64_t seed, int rank,
        std::shared_ptr<Policy> policy, const env::EnvOptions& env_options = {});

  const env::EnvSpec& spec() const { return env_->spec(); }
  int num_envs() const { return env_->num_envs(); }

  // Runs `steps` steps of every env and returns them as one trajectory of E columns.
  // `before_step`, if given, runs before each step: the distributed actor polls for newer
  // weights there, so a new version takes effect at a step boundary.
  Trajectory Rollout(std::int64_t steps, const std::function<void()>& before_step = {});

  // Episodes finished since the last call, in the order they finished.
  std::vector<EpisodeStats> DrainEpisodes();

  // Faults survived in gym:/py:/plugin: environments. Each dropped its episode: the failed step
  // is recorded as truncated with reward 0, bootstrapping from the value of its own
  // observation, and the episode's partial return is not reported (DrainEpisodes).
  std::int64_t env_errors() const { return env_->env_errors(); }

 private:
  // Value of each listed env's last observation (in obs_), on a copy of its memory.
  torch::Tensor TruncationValues(const std::vector<std::int64_t>& envs);

  std::unique_ptr<env::BatchEnv> env_;
  std::shared_ptr<Policy> policy_;
  ActionDist dist_;
  torch::Generator generator_;
  std::vector<float> box_actions_;  // Box: the sampled actions in the environment's units
  Memory memory_;
  torch::Tensor obs_;    // [E, obs_dim] float32, the environments write here
  torch::Tensor first_;  // [E] bool
  torch::Tensor rewards_, terminated_, truncated_;  // [E] step outputs
  std::vector<double> running_return_;
  std::vector<std::int64_t> running_length_;
  std::vector<EpisodeStats> finished_;
};

}  // namespace colony
