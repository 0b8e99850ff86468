// IMPALA loss (learner/loss.h). Means over the T*B samples, so that the learning rate does not
// depend on the batch shape.
#include "learner/loss.h"

#include <torch/torch.h>

#include <cmath>

namespace colony {

FoldedRewards FoldEpisodeEnds(const LossBatch& batch, double gamma, double reward_scale) {
  const auto rewards = batch.rewards.to(torch::kFloat) * reward_scale;
  const auto terminated = batch.terminated.to(torch::kFloat);
  const auto truncated = batch.truncated.to(torch::kFloat);
  FoldedRewards folded;
  folded.discounts = gamma * (1.0 - terminated) * (1.0 - truncated);
  // At a truncation the episode's future is estimated by the value of its last observation;
  // where() keeps a NaN or garbage truncation value of other steps from leaking in.
  const auto bootstrap = torch::where(batch.truncated.to(torch::kBool),
                                      batch.truncation_values.to(torch::kFloat),
                                      torch::zeros_like(rewards));
  folded.rewards = rewards + gamma * bootstrap;
  return folded;
}

LossOutput ImpalaLoss(const torch::Tensor& logits, const torch::Tensor& values,
                      const torch::Tensor& bootstrap_value, const LossBatch& batch,
                      const LossConfig& config) {
  ModelConfig categorical;  // for a batch without a distribution: Discrete over the logits
  categorical.num_actions = logits.size(-1);
  const ActionDist fallback(categorical);
  const ActionDist& dist = batch.dist != nullptr ? *batch.dist : fallback;
  const auto behaviour_logits = batch.behaviour_logits.to(logits.dtype());
  const auto log_pi_a = dist.LogProb(logits, batch.actions);
  const auto log_mu_a = dist.LogProb(behaviour_logits, batch.actions);
  const auto log_rhos = (log_pi_a - log_mu_a).detach();

  const FoldedRewards folded = FoldEpisodeEnds(batch, config.gamma, config.reward_scale);
  const VTraceReturns targets = ComputeVTrace(log_rhos, folded.discounts, folded.rewards, values,
                                              bootstrap_value, config.vtrace);

  auto advantages = targets.pg_advantages;
  const auto advantage_mean = advantages.mean();
  const auto advantage_std = (advantages - advantage_mean).pow(2).mean().sqrt();
  if (config.normalize_advantages || config.center_advantages) {
    advantages = advantages - advantage_mean;
  }
  if (config.normalize_advantages) {
    auto scale = advantage_std + 1e-8;
    if (config.advantage_max_gain > 0) scale = scale.clamp_min(1.0 / config.advantage_max_gain);
    advantages = advantages / scale;
  }
  torch::Tensor policy_loss;
  LossOutput out;
  if (config.algo == "appo") {
    // The ratio carries the gradient; the clipped branch has none outside [1 - e, 1 + e], so a
    // sample whose ratio has already moved past the clip in the direction its advantage favours
    // stops pulling.
    const auto ratio = (log_pi_a - log_mu_a).exp();
    const auto clipped = ratio.clamp(1.0 - config.ppo_clip, 1.0 + config.ppo_clip);
    policy_loss = -torch::min(ratio * advantages, clipped * advantages).mean();
    out.ppo_clip_fraction =
        ((ratio.detach() - 1.0).abs() > config.ppo_clip).to(torch::kFloat).mean().item<double>();
  } else {
    policy_loss = -(log_pi_a * advantages).mean();
    out.ppo_clip_fraction = std::nan("");
  }
  const auto baseline_loss = 0.5 * (targets.vs - values).pow(2).mean();
  const auto entropy = dist.Entropy(logits).mean();
  // The bonus's entropy differs only for capped Box actions; elsewhere it is the same tensor.
  const auto bonus_entropy = dist.continuous() && config.entropy_max_std > 0
                                 ? dist.BonusEntropy(logits, config.entropy_max_std).mean()
                                 : entropy;

  out.entropy_weight =
      config.policy_cost *
      (config.entropy_cost + config.entropy_per_advantage * advantage_std.item<double>());
  out.total = config.policy_cost * policy_loss + config.baseline_cost * baseline_loss -
              out.entropy_weight * bonus_entropy;
  out.policy = policy_loss.item<double>();
  out.baseline = baseline_loss.item<double>();
  out.entropy = entropy.item<double>();
  out.mean_rho = log_rhos.exp().mean().item<double>();

  torch::NoGradGuard no_grad;
  out.kl = dist.Kl(behaviour_logits, logits.detach()).mean().item<double>();
  // By more than 0.1%: on-policy ratios are 1 give or take float rounding, and half of them
  // would otherwise count as clipped.
  out.rho_clip_fraction = (log_rhos.exp() > config.vtrace.rho_bar * (1.0 + 1e-3))
                              .to(torch::kFloat)
                              .mean()
                              .item<double>();
  out.advantage_mean = advantage_mean.item<double>();
  out.advantage_std = advantage_std.item<double>();
  const auto error = targets.vs - values.detach();
  const double target_var = (targets.vs - targets.vs.mean()).pow(2).mean().item<double>();
  const double error_var = (error - error.mean()).pow(2).mean().item<double>();
  out.explained_variance = target_var > 0 ? 1.0 - error_var / target_var : std::nan("");
  out.target_mean_square = targets.vs.pow(2).mean().item<double>();
  return out;
}

}  // namespace colony
