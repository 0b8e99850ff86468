// ActionDist: what the policy head's outputs mean, for every kind of action space.
//
// The networks (gtrxl.cc, mlp.cc) end in one linear head of ModelConfig::num_actions outputs and
// know nothing else about actions; this file turns those outputs ("logits" throughout the code,
// [..., P]) into a distribution, for the actors (sample, greedy) and the learner (log-probability,
// entropy, KL), on any leading shape:
//
//   discrete          P = n          one categorical over [0, n); an action is an int64 in [0, n)
//   multi_discrete    P = sum(nvec)  one categorical per component k over [0, nvec[k]); an action
//                                    is one int64 in [0, prod(nvec)): the components in mixed
//                                    radix, the last varying fastest (C order, as numpy's
//                                    ravel_multi_index); log-probabilities and entropies add up
//   box               P = 2 D        a diagonal Gaussian over R^D: the first D outputs are the
//                                    means, the last D the log standard deviations (bounded
//                                    softly to (kMinLogStd, kMaxLogStd), the identity well
//                                    inside); an action is D float32s
//
// Box actions live in the policy's own units: the actor hands the environment
// low + (clip(a, -1, 1) + 1) / 2 * (high - low) per dimension with finite bounds (the raw value
// where a bound is infinite), but the trajectory keeps the unclipped sample, whose log-probability
// V-trace uses (ToEnvUnits below).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/model/model_config.h"

namespace colony {

class ActionDist {
 public:
  static constexpr double kMinLogStd = -5.0;
  static constexpr double kMaxLogStd = 2.0;

  // From a validated config (ModelConfig::actions and num_actions).
  explicit ActionDist(const ModelConfig& config);

  bool continuous() const { return kind_ == Kind::kBox; }
  // Box: D floats per action; 0 for the integer kinds.
  std::int64_t action_dim() const { return continuous() ? outputs_ / 2 : 0; }
  // Integer kinds: actions are in [0, action_range()); 0 for box.
  std::int64_t action_range() const { return range_; }
  std::int64_t outputs() const { return outputs_; }  // P

  // One action per row of logits [N, P]: int64 [N], or float32 [N, D] for box.
  torch::Tensor Sample(const torch::Tensor& logits, at::Generator& generator) const;
  // The most likely action (each component's argmax; the Gaussian's mean): for evaluation.
  torch::Tensor Greedy(const torch::Tensor& logits) const;
  // log pi(action) for logits [..., P] and actions [...] (int64) or [..., D] (float): [...].
  torch::Tensor LogProb(const torch::Tensor& logits, const torch::Tensor& actions) const;
  // Entropy of each distribution: [...] (nats; for box the differential entropy).
  torch::Tensor Entropy(const torch::Tensor& logits) const;
  // The entropy an exploration bonus rewards: Entropy(), except that for box each dimension
  // counts its std only up to max_std (0: no cap), with no gradient above it. Past the action
  // bounds (+-1 in the policy's units) a wider Gaussian only puts more mass on the clipped ends;
  // an uncapped bonus drives the std there, and the policy acts as bang-bang noise.
  torch::Tensor BonusEntropy(const torch::Tensor& logits, double max_std) const;
  // KL(mu || pi) for each pair of distributions: [...].
  torch::Tensor Kl(const torch::Tensor& mu_logits, const torch::Tensor& pi_logits) const;

 private:
  enum class Kind { kDiscrete, kMultiDiscrete, kBox };
  // Per-component log-softmax of logits [..., P] -> [..., P].
  torch::Tensor LogSoftmax(const torch::Tensor& logits) const;
  // int64 actions [...] -> their components [..., K].
  torch::Tensor Components(const torch::Tensor& actions) const;

  Kind kind_ = Kind::kDiscrete;
  std::int64_t outputs_ = 0;
  std::int64_t range_ = 0;
  std::vector<std::int64_t> nvec_;     // multi_discrete: the components' sizes
  std::vector<std::int64_t> offsets_;  // and where each one's logits start
};

// Box actions into the environment's units (see the file comment): `actions` [N, D] float32 ->
// `out` (N * D floats). `low` and `high` hold D bounds each.
void ToEnvUnits(const torch::Tensor& actions, std::span<const float> low,
                std::span<const float> high, float* out);

}  // namespace colony
