// Trajectory: what an actor records over T steps of E envs and a learner trains on; the unit
// that crosses MPI (the wire format serialises exactly these tensors).
//
// Time-major. Step t's action was taken on obs[t]; obs[T] is the observation after the last
// step, whose value bootstraps the V-trace targets. first[t] marks obs[t] as the first
// observation of an episode (common/model/policy.h's convention); terminated/truncated[t] say
// how step t ended, and where it was truncated, truncation_values[t] holds the acting policy's
// value of that episode's last observation (learner/loss.h folds it into the target).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "common/model/memory.h"

namespace colony {

struct Trajectory {
  torch::Tensor obs;                // [T+1, E, obs_dim] float32
  torch::Tensor first;              // [T+1, E] bool
  torch::Tensor actions;            // [T, E] int64
  torch::Tensor rewards;            // [T, E] float32
  torch::Tensor terminated;         // [T, E] bool
  torch::Tensor truncated;          // [T, E] bool
  torch::Tensor truncation_values;  // [T, E] float32, 0 where not truncated
  torch::Tensor behaviour_logits;   // [T, E, A] float32
  torch::Tensor policy_version;     // [T, E] int64: weights version that chose each action
  Memory initial_memory;            // the memory the actor held before obs[0], E columns

  std::int64_t steps() const { return actions.size(0); }    // T
  std::int64_t columns() const { return actions.size(1); }  // E (or B after batching)

  // The env columns `begin .. begin+count-1`, sharing no storage with this trajectory.
  Trajectory Columns(std::int64_t begin, std::int64_t count) const;
  // Every tensor (and the memory) on `device`.
  Trajectory To(const torch::Device& device) const;
  // Joins trajectories of equal T side by side: the learner's [T, B] batch.
  static Trajectory Concat(const std::vector<Trajectory>& parts);
};

}  // namespace colony
