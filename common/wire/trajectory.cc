// Column slicing and joining of trajectories (common/wire/trajectory.h).
#include "common/wire/trajectory.h"

#include <stdexcept>

namespace colony {

Trajectory Trajectory::Columns(std::int64_t begin, std::int64_t count) const {
  if (begin < 0 || count < 0 || begin + count > columns()) {
    throw std::out_of_range("trajectory columns [" + std::to_string(begin) + ", " +
                            std::to_string(begin + count) + ") outside [0, " +
                            std::to_string(columns()) + ")");
  }
  auto cut = [&](const torch::Tensor& t) { return t.slice(1, begin, begin + count).clone(); };
  Trajectory out;
  out.obs = cut(obs);
  out.first = cut(first);
  out.actions = cut(actions);
  out.rewards = cut(rewards);
  out.terminated = cut(terminated);
  out.truncated = cut(truncated);
  out.truncation_values = cut(truncation_values);
  out.behaviour_logits = cut(behaviour_logits);
  out.policy_version = cut(policy_version);
  out.initial_memory =
      initial_memory.Select(torch::arange(begin, begin + count, torch::kLong));
  return out;
}

Trajectory Trajectory::To(const torch::Device& device) const {
  Trajectory out;
  out.obs = obs.to(device);
  out.first = first.to(device);
  out.actions = actions.to(device);
  out.rewards = rewards.to(device);
  out.terminated = terminated.to(device);
  out.truncated = truncated.to(device);
  out.truncation_values = truncation_values.to(device);
  out.behaviour_logits = behaviour_logits.to(device);
  out.policy_version = policy_version.to(device);
  out.initial_memory = initial_memory.To(torch::TensorOptions().device(device));
  return out;
}

Trajectory Trajectory::Concat(const std::vector<Trajectory>& parts) {
  if (parts.empty()) throw std::invalid_argument("Trajectory::Concat: no trajectories");
  auto join = [&](torch::Tensor Trajectory::*field) {
    std::vector<torch::Tensor> pieces;
    pieces.reserve(parts.size());
    for (const auto& part : parts) pieces.push_back(part.*field);
    return torch::cat(pieces, /*dim=*/1);
  };
  Trajectory out;
  out.obs = join(&Trajectory::obs);
  out.first = join(&Trajectory::first);
  out.actions = join(&Trajectory::actions);
  out.rewards = join(&Trajectory::rewards);
  out.terminated = join(&Trajectory::terminated);
  out.truncated = join(&Trajectory::truncated);
  out.truncation_values = join(&Trajectory::truncation_values);
  out.behaviour_logits = join(&Trajectory::behaviour_logits);
  out.policy_version = join(&Trajectory::policy_version);
  std::vector<Memory> memories;
  memories.reserve(parts.size());
  for (const auto& part : parts) memories.push_back(part.initial_memory);
  out.initial_memory = Memory::Stack(memories);
  return out;
}

}  // namespace colony
