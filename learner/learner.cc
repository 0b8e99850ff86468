// One IMPALA update (learner/learner.h).
#include "learner/learner.h"

#include <chrono>

#include "learner/loss.h"

namespace colony {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

Learner::Learner(std::shared_ptr<Policy> policy, const TrainConfig& config,
                 Collective* collective)
    : policy_(std::move(policy)),
      loss_config_(config.loss),
      collective_(collective),
      optimizer_(policy_->parameters(), config.optimizer, config.total_frames) {}

UpdateStats Learner::Update(const Trajectory& batch, std::int64_t frames) {
  UpdateStats stats;
  const std::int64_t steps = batch.steps();

  auto clock = std::chrono::steady_clock::now();
  const UnrollOutput out = policy_->Unroll(batch.obs, batch.first, batch.initial_memory);
  const auto logits = out.logits.slice(0, 0, steps);
  const auto values = out.values.slice(0, 0, steps);
  const auto bootstrap = out.values[steps];
  LossBatch loss_batch{batch.actions, batch.behaviour_logits, batch.rewards, batch.terminated,
                       batch.truncated, batch.truncation_values};
  const LossOutput loss = ImpalaLoss(logits, values, bootstrap, loss_batch, loss_config_);
  stats.forward_s = SecondsSince(clock);

  clock = std::chrono::steady_clock::now();
  policy_->ZeroGradients();
  loss.total.backward();
  stats.backward_s = SecondsSince(clock);

  if (collective_ != nullptr && collective_->size() > 1) {
    clock = std::chrono::steady_clock::now();
    // One call for every gradient: the buffer is contiguous (common/model/policy.h).
    torch::Tensor grads = policy_->flat_gradients();
    collective_->AllReduceSum(grads.data_ptr<float>(), static_cast<std::size_t>(grads.numel()));
    grads.div_(static_cast<double>(collective_->size()));
    stats.allreduce_s = SecondsSince(clock);
  }

  clock = std::chrono::steady_clock::now();
  const Optimizer::StepInfo step = optimizer_.Step(frames);
  policy_->set_version(policy_->version() + 1);
  stats.optimizer_s = SecondsSince(clock);

  stats.total_loss = loss.total.item<double>();
  stats.policy_loss = loss.policy;
  stats.baseline_loss = loss.baseline;
  stats.entropy = loss.entropy;
  stats.mean_rho = loss.mean_rho;
  stats.learning_rate = step.learning_rate;
  stats.grad_norm = step.grad_norm;
  stats.version = policy_->version();
  return stats;
}

}  // namespace colony
