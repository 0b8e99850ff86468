// IMPALA loss (learner/loss.h). Means over the T*B samples, so that the learning rate does not
// depend on the batch shape.
#include "learner/loss.h"

#include <torch/torch.h>

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
  const auto log_pi = torch::log_softmax(logits, /*dim=*/-1);
  const auto log_mu = torch::log_softmax(batch.behaviour_logits.to(logits.dtype()), -1);
  const auto actions = batch.actions.to(torch::kLong).unsqueeze(-1);
  const auto log_pi_a = log_pi.gather(-1, actions).squeeze(-1);
  const auto log_mu_a = log_mu.gather(-1, actions).squeeze(-1);
  const auto log_rhos = (log_pi_a - log_mu_a).detach();

  const FoldedRewards folded = FoldEpisodeEnds(batch, config.gamma, config.reward_scale);
  const VTraceReturns targets = ComputeVTrace(log_rhos, folded.discounts, folded.rewards, values,
                                              bootstrap_value, config.vtrace);

  const auto policy_loss = -(log_pi_a * targets.pg_advantages).mean();
  const auto baseline_loss = 0.5 * (targets.vs - values).pow(2).mean();
  const auto entropy = -(log_pi.exp() * log_pi).sum(-1).mean();

  LossOutput out;
  out.total = policy_loss + config.baseline_cost * baseline_loss - config.entropy_cost * entropy;
  out.policy = policy_loss.item<double>();
  out.baseline = baseline_loss.item<double>();
  out.entropy = entropy.item<double>();
  out.mean_rho = log_rhos.exp().mean().item<double>();
  return out;
}

}  // namespace colony
