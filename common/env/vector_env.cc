// The vectorised runner: action checks, the batched step and episode bookkeeping; see
// vector_env.h for the buffer and seeding contract.
#include "common/env/vector_env.h"

#include <cmath>

#include <utility>

#include "common/env/registry.h"
#include "common/env/rng.h"

namespace colony::env {

VectorEnv::VectorEnv(const std::string& env_name, int num_envs, std::uint64_t run_seed,
                     std::uint64_t rank)
    : core_(MakeBatchEnv(env_name, num_envs)),
      running_return_(static_cast<std::size_t>(num_envs)),
      running_length_(static_cast<std::size_t>(num_envs)) {
  for (int e = 0; e < num_envs; ++e) {
    core_->Seed(e, DeriveEnvSeed(run_seed, rank, static_cast<std::uint64_t>(e)));
  }
  // Room for every env to finish one episode between drains without reallocating.
  completed_.reserve(static_cast<std::size_t>(num_envs) * 2);
}

void VectorEnv::Reset(float* obs, std::uint8_t* first) {
  const int n = num_envs();
  const auto dim = static_cast<std::size_t>(spec().obs_dim);
  for (int e = 0; e < n; ++e) core_->Reset(e, obs + static_cast<std::size_t>(e) * dim);
  for (auto& value : running_return_) value = 0;
  for (auto& value : running_length_) value = 0;
  if (first != nullptr) {
    for (int e = 0; e < n; ++e) first[e] = 1;
  }
  started_ = true;
}

void VectorEnv::Step(const std::int64_t* actions, float* obs, float* rewards,
                     std::uint8_t* terminated, std::uint8_t* truncated, std::uint8_t* first) {
  const auto n = static_cast<std::size_t>(num_envs());
  const std::int64_t num_actions = spec().num_actions;
  // One pass that only compares, so it vectorises; the slow path names the culprit.
  bool all_valid = true;
  for (std::size_t e = 0; e < n; ++e) {
    all_valid &= static_cast<std::uint64_t>(actions[e]) < static_cast<std::uint64_t>(num_actions);
  }
  if (!all_valid) {
    for (std::size_t e = 0; e < n; ++e) {
      if (actions[e] < 0 || actions[e] >= num_actions) {
        throw EnvError(spec().name + ": action for env " + std::to_string(e) +
                       ": expected an integer in [0, " + std::to_string(num_actions) +
                       "), got " + std::to_string(actions[e]));
      }
    }
  }
  if (!started_) throw EnvError(spec().name + ": expected Reset before the first Step");

  core_->Step(actions, /*auto_reset=*/true, obs, rewards, terminated, truncated);
  Record(rewards, terminated, truncated, first);
}

void VectorEnv::StepBox(const float* actions, float* obs, float* rewards,
                        std::uint8_t* terminated, std::uint8_t* truncated, std::uint8_t* first) {
  const EnvSpec& s = spec();
  if (s.action_dim == 0) {
    throw EnvError(s.name + " takes integer actions (" + ActionSpaceText(s) + "), not Box actions");
  }
  const auto dim = static_cast<std::size_t>(s.action_dim);
  for (std::size_t e = 0; e < static_cast<std::size_t>(num_envs()); ++e) {
    for (std::size_t j = 0; j < dim; ++j) {
      const float a = actions[e * dim + j];
      if (!std::isfinite(a) || a < s.action_low[j] || a > s.action_high[j]) {
        throw EnvError(s.name + ": action for env " + std::to_string(e) + ", dimension " +
                       std::to_string(j) + ": expected a finite value in [" +
                       std::to_string(s.action_low[j]) + ", " + std::to_string(s.action_high[j]) +
                       "], got " + std::to_string(a));
      }
    }
  }
  if (!started_) throw EnvError(s.name + ": expected Reset before the first Step");
  core_->StepBox(actions, /*auto_reset=*/true, obs, rewards, terminated, truncated);
  Record(rewards, terminated, truncated, first);
}

void VectorEnv::Record(const float* rewards, const std::uint8_t* terminated,
                       const std::uint8_t* truncated, std::uint8_t* first) {
  const auto n = static_cast<std::size_t>(num_envs());
  total_steps_ += static_cast<std::int64_t>(n);
  for (std::size_t e = 0; e < n; ++e) {
    running_return_[e] += rewards[e];
    running_length_[e] += 1;
    const bool done = (terminated[e] | truncated[e]) != 0;
    first[e] = done;
    if (done && core_->StepFaulted(static_cast<int>(e))) {  // a dropped episode: no statistics
      running_return_[e] = 0;
      running_length_[e] = 0;
    } else if (done) {
      completed_.push_back({static_cast<int>(e), running_return_[e], running_length_[e],
                            truncated[e] != 0});
      running_return_[e] = 0;
      running_length_[e] = 0;
    }
  }
}

std::vector<EpisodeStats> VectorEnv::DrainEpisodes() {
  std::vector<EpisodeStats> out;
  out.reserve(completed_.capacity());
  std::swap(out, completed_);
  return out;
}

}  // namespace colony::env
