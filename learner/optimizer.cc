// RMSProp / Adam with linear learning-rate decay and global gradient-norm clipping.
#include "learner/optimizer.h"

#include <torch/torch.h>

#include <algorithm>
#include <stdexcept>

namespace colony {

Optimizer::Optimizer(std::vector<torch::Tensor> parameters, const OptimizerConfig& config,
                     std::int64_t total_frames)
    : parameters_(std::move(parameters)), config_(config), total_frames_(total_frames) {
  if (config_.kind == "rmsprop") {
    impl_ = std::make_unique<torch::optim::RMSprop>(
        parameters_, torch::optim::RMSpropOptions(config_.learning_rate)
                         .alpha(config_.rmsprop_alpha)
                         .eps(config_.rmsprop_epsilon)
                         .momentum(config_.rmsprop_momentum));
  } else if (config_.kind == "adam") {
    impl_ = std::make_unique<torch::optim::Adam>(
        parameters_, torch::optim::AdamOptions(config_.learning_rate)
                         .betas({config_.adam_beta1, config_.adam_beta2})
                         .eps(config_.adam_epsilon));
  } else {
    throw std::invalid_argument("optimizer: expected rmsprop or adam, got '" + config_.kind +
                                "'");
  }
}

Optimizer::~Optimizer() = default;

double Optimizer::LearningRateAt(std::int64_t frames) const {
  if (!config_.linear_decay || total_frames_ <= 0) return config_.learning_rate;
  const double left = 1.0 - static_cast<double>(frames) / static_cast<double>(total_frames_);
  return config_.learning_rate * std::clamp(left, 0.0, 1.0);
}

Optimizer::StepInfo Optimizer::Step(std::int64_t frames) {
  StepInfo info;
  info.learning_rate = LearningRateAt(frames);
  const double max_norm = config_.grad_clip > 0 ? config_.grad_clip
                                                : std::numeric_limits<double>::infinity();
  info.grad_norm = torch::nn::utils::clip_grad_norm_(parameters_, max_norm);
  for (auto& group : impl_->param_groups()) group.options().set_lr(info.learning_rate);
  impl_->step();
  return info;
}

void Optimizer::ZeroGrad() { impl_->zero_grad(/*set_to_none=*/false); }

}  // namespace colony
