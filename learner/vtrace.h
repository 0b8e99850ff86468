// V-trace off-policy targets (Espeholt et al. 2018, IMPALA, section 4.1).
//
// In:  time-major [T, B] tensors from one batch of trajectories, any floating dtype, any device.
// Out: the value targets v_s and the policy-gradient advantages, [T, B], without gradient.
//
// Episode ends are carried by `discounts` (gamma_t = gamma, or 0 where the episode terminated
// at step t), so a trace never crosses into the next episode. Truncation is not termination:
// the loss (learner/loss.h) folds the value of the truncated episode's last observation into
// the reward and cuts the trace there, so this function stays the paper's formula.
#pragma once

#include <torch/types.h>

#include "common/config/train_config.h"  // VTraceConfig

namespace colony {

struct VTraceReturns {
  torch::Tensor vs;             // [T, B] value targets
  torch::Tensor pg_advantages;  // [T, B] rho_s * (r_s + gamma_s v_{s+1} - V(x_s))
};

// log_rhos = log pi(a_t|x_t) - log mu(a_t|x_t) for the taken actions; values = V(x_t);
// bootstrap_value = V(x_T) [B]. Shapes are checked: a mismatch throws std::invalid_argument.
VTraceReturns ComputeVTrace(const torch::Tensor& log_rhos, const torch::Tensor& discounts,
                            const torch::Tensor& rewards, const torch::Tensor& values,
                            const torch::Tensor& bootstrap_value, const VTraceConfig& config);

}  // namespace colony
