// V-trace by the backward recursion of Espeholt et al. (2018), remark 1:
//   v_s - V(x_s) = delta_s + gamma_s c_s (v_{s+1} - V(x_{s+1})),  v_T - V(x_T) = 0.
// tests/data/make_vtrace_reference.py checks it against the paper's n-step sum instead.
#include "learner/vtrace.h"

#include <torch/torch.h>

#include <stdexcept>
#include <string>

#include "common/base/shape_text.h"

namespace colony {
namespace {

void ExpectShape(const torch::Tensor& t, torch::IntArrayRef shape, const char* name) {
  if (!t.defined() || t.sizes() != shape) {
    throw std::invalid_argument(std::string("V-trace: expected ") + name + " of shape " +
                                ShapeText(shape) + ", got " +
                                (t.defined() ? ShapeText(t.sizes())
                                             : std::string("an undefined tensor")));
  }
}

}  // namespace

VTraceReturns ComputeVTrace(const torch::Tensor& log_rhos, const torch::Tensor& discounts,
                            const torch::Tensor& rewards, const torch::Tensor& values,
                            const torch::Tensor& bootstrap_value, const VTraceConfig& config) {
  if (log_rhos.dim() != 2) {
    throw std::invalid_argument("V-trace: expected log_rhos of shape [T, B], got " +
                                ShapeText(log_rhos.sizes()));
  }
  if (config.rho_bar < config.c_bar) {
    throw std::invalid_argument("V-trace: expected rho_bar >= c_bar, got rho_bar " +
                                std::to_string(config.rho_bar) + " < c_bar " +
                                std::to_string(config.c_bar));
  }
  const int64_t steps = log_rhos.size(0);
  ExpectShape(discounts, log_rhos.sizes(), "discounts");
  ExpectShape(rewards, log_rhos.sizes(), "rewards");
  ExpectShape(values, log_rhos.sizes(), "values");
  ExpectShape(bootstrap_value, {log_rhos.size(1)}, "bootstrap_value");

  torch::NoGradGuard no_grad;
  const auto rhos = log_rhos.detach().exp();
  const auto clipped_rhos = rhos.clamp_max(config.rho_bar);
  const auto cs = rhos.clamp_max(config.c_bar) * config.lambda;
  const auto v = values.detach();
  // V(x_{t+1}) for every t, with the bootstrap value after the last step.
  const auto next_values = torch::cat({v.slice(0, 1), bootstrap_value.detach().unsqueeze(0)});
  const auto deltas = clipped_rhos * (rewards + discounts * next_values - v);

  // The recursion runs over T only; each step is a [B] vector operation.
  auto vs_minus_v = torch::empty_like(v);
  auto acc = torch::zeros_like(bootstrap_value);
  const auto decay = discounts * cs;
  for (int64_t t = steps - 1; t >= 0; --t) {
    acc = deltas[t] + decay[t] * acc;
    vs_minus_v[t] = acc;
  }
  VTraceReturns out;
  out.vs = vs_minus_v + v;
  const auto next_vs = torch::cat({out.vs.slice(0, 1), bootstrap_value.detach().unsqueeze(0)});
  out.pg_advantages = clipped_rhos * (rewards + discounts * next_vs - v);
  return out;
}

}  // namespace colony
