// The actor's step loop (actors/actor.h).
#include "actors/actor.h"

#include "common/base/check.h"
#include "common/env/registry.h"
#include "common/env/rng.h"

namespace colony {

void StepWithActions(env::BatchEnv& env, const ActionDist& dist, const torch::Tensor& actions,
                     std::vector<float>& box_buffer, float* obs, float* rewards,
                     std::uint8_t* terminated, std::uint8_t* truncated) {
  if (!dist.continuous()) {
    env.Step(actions.data_ptr<std::int64_t>(), /*auto_reset=*/false, obs, rewards, terminated,
             truncated);
    return;
  }
  const env::EnvSpec& spec = env.spec();
  box_buffer.resize(static_cast<std::size_t>(env.num_envs() * spec.action_dim));
  ToEnvUnits(actions, spec.action_low, spec.action_high, box_buffer.data());
  env.StepBox(box_buffer.data(), /*auto_reset=*/false, obs, rewards, terminated, truncated);
}

Actor::Actor(const std::string& env_name, int num_envs, std::uint64_t seed, int rank,
             std::shared_ptr<Policy> policy, const env::EnvOptions& env_options)
    : env_(env::MakeBatchEnv(env_name, num_envs, env_options)),
      policy_(std::move(policy)),
      dist_(policy_->config()),
      generator_(at::detail::createCPUGenerator(
          env::DeriveEnvSeed(seed, static_cast<std::uint64_t>(rank), /*index=*/~0ULL))),
      memory_(policy_->InitialMemory(num_envs)),
      obs_(torch::zeros({num_envs, env_->spec().obs_dim})),
      first_(torch::ones({num_envs}, torch::kBool)),
      rewards_(torch::zeros({num_envs})),
      terminated_(torch::zeros({num_envs}, torch::kUInt8)),
      truncated_(torch::zeros({num_envs}, torch::kUInt8)),
      running_return_(num_envs, 0.0),
      running_length_(num_envs, 0) {
  const auto& spec = env_->spec();
  const env::PolicyShape shape = env::PolicyShapeOf(spec);
  const ModelConfig& model = policy_->config();
  COLONY_CHECK(shape.obs_dim == model.obs_dim && shape.outputs == model.num_actions &&
               shape.actions == model.actions && shape.observations == model.observations)
      << "policy built for obs_dim " << model.obs_dim << " (" << model.observations << "), "
      << model.num_actions << " outputs, actions " << model.actions << "; environment "
      << spec.name << " needs " << shape.obs_dim << " (" << shape.observations << "), "
      << shape.outputs << ", " << shape.actions;
  float* obs = obs_.data_ptr<float>();
  for (int i = 0; i < num_envs; ++i) {
    env_->Seed(i, env::DeriveEnvSeed(seed, static_cast<std::uint64_t>(rank),
                                     static_cast<std::uint64_t>(i)));
    env_->Reset(i, obs + i * spec.obs_dim);
  }
}

torch::Tensor Actor::TruncationValues(const std::vector<std::int64_t>& envs) {
  const auto index = torch::tensor(envs, torch::kLong);
  Memory copy = memory_.Select(index);
  const auto not_first = torch::zeros({index.size(0)}, torch::kBool);
  return policy_->Step(obs_.index_select(0, index), not_first, copy).values;
}

Trajectory Actor::Rollout(std::int64_t steps, const std::function<void()>& before_step) {
  const std::int64_t num_envs = env_->num_envs();
  const std::int64_t obs_dim = env_->spec().obs_dim;
  Trajectory out;
  // Byte observations are kept as bytes (the float rows hold exact integers 0..255).
  out.obs = torch::empty({steps + 1, num_envs, obs_dim},
                         env_->spec().obs_uint8 ? torch::kUInt8 : torch::kFloat32);
  out.first = torch::empty({steps + 1, num_envs}, torch::kBool);
  out.actions = dist_.continuous()
                    ? torch::empty({steps, num_envs, dist_.action_dim()})
                    : torch::empty({steps, num_envs}, torch::kLong);
  out.rewards = torch::empty({steps, num_envs});
  out.terminated = torch::empty({steps, num_envs}, torch::kBool);
  out.truncated = torch::empty({steps, num_envs}, torch::kBool);
  out.truncation_values = torch::zeros({steps, num_envs});
  out.behaviour_logits = torch::empty({steps, num_envs, dist_.outputs()});
  out.policy_version = torch::empty({steps, num_envs}, torch::kLong);
  out.initial_memory = memory_.Clone();

  float* obs = obs_.data_ptr<float>();
  float* rewards = rewards_.data_ptr<float>();
  std::uint8_t* terminated = terminated_.data_ptr<std::uint8_t>();
  std::uint8_t* truncated = truncated_.data_ptr<std::uint8_t>();
  for (std::int64_t t = 0; t < steps; ++t) {
    if (before_step) before_step();
    out.obs[t].copy_(obs_);
    out.first[t].copy_(first_);
    const StepOutput step = policy_->Step(obs_, first_, memory_);
    const torch::Tensor actions = dist_.Sample(step.logits, generator_);
    out.actions[t].copy_(actions);
    out.behaviour_logits[t].copy_(step.logits);
    out.policy_version[t].fill_(policy_->version());

    StepWithActions(*env_, dist_, actions, box_actions_, obs, rewards, terminated, truncated);
    out.rewards[t].copy_(rewards_);
    out.terminated[t].copy_(terminated_.to(torch::kBool));
    out.truncated[t].copy_(truncated_.to(torch::kBool));

    std::vector<std::int64_t> ended, cut;
    for (std::int64_t i = 0; i < num_envs; ++i) {
      running_return_[i] += rewards[i];
      running_length_[i] += 1;
      if (!terminated[i] && !truncated[i]) continue;
      ended.push_back(i);
      if (env_->StepFaulted(static_cast<int>(i))) {
        // User code failed in this step: the episode is dropped. No return is reported for it,
        // and the step bootstraps from the value of its own observation (the step's reward is
        // 0 and its outcome unknown): no made-up terminal teaches the value function a 0.
        out.truncation_values[t][i] = step.values[i];
      } else {
        if (truncated[i] && !terminated[i]) cut.push_back(i);
        finished_.push_back({static_cast<int>(i), running_return_[i], running_length_[i]});
      }
      running_return_[i] = 0;
      running_length_[i] = 0;
    }
    if (!cut.empty()) {
      const auto values = TruncationValues(cut);
      for (std::size_t k = 0; k < cut.size(); ++k) {
        out.truncation_values[t][cut[k]] = values[static_cast<std::int64_t>(k)];
      }
    }
    first_.zero_();
    bool* first = first_.data_ptr<bool>();
    for (const std::int64_t i : ended) {
      env_->Reset(static_cast<int>(i), obs + i * obs_dim);
      first[i] = true;
    }
  }
  out.obs[steps].copy_(obs_);
  out.first[steps].copy_(first_);
  return out;
}

std::vector<EpisodeStats> Actor::DrainEpisodes() {
  std::vector<EpisodeStats> out;
  out.swap(finished_);
  return out;
}

}  // namespace colony
