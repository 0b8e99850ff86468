// Action distributions over the policy head's outputs (common/model/action_dist.h).
#include "common/model/action_dist.h"

#include <cmath>
#include <numbers>

#include "common/base/check.h"

namespace colony {

ActionDist::ActionDist(const ModelConfig& config) : outputs_(config.num_actions) {
  if (config.actions == "box") {
    kind_ = Kind::kBox;
  } else if (config.actions == "discrete") {
    kind_ = Kind::kDiscrete;
    range_ = outputs_;
  } else {
    kind_ = Kind::kMultiDiscrete;
    nvec_ = config.MultiDiscreteNvec();
    range_ = 1;
    for (const std::int64_t n : nvec_) {
      offsets_.push_back(offsets_.empty() ? 0 : offsets_.back() + nvec_[offsets_.size() - 1]);
      range_ *= n;
    }
  }
}

torch::Tensor ActionDist::LogSoftmax(const torch::Tensor& logits) const {
  if (kind_ != Kind::kMultiDiscrete) return torch::log_softmax(logits, -1);
  std::vector<torch::Tensor> parts;
  for (std::size_t k = 0; k < nvec_.size(); ++k) {
    parts.push_back(torch::log_softmax(logits.narrow(-1, offsets_[k], nvec_[k]), -1));
  }
  return torch::cat(parts, -1);
}

torch::Tensor ActionDist::Components(const torch::Tensor& actions) const {
  std::vector<torch::Tensor> parts(nvec_.size());
  auto rest = actions.to(torch::kLong);
  for (std::size_t k = nvec_.size(); k-- > 0;) {  // the last component varies fastest
    parts[k] = rest.remainder(nvec_[k]);
    rest = rest.div(nvec_[k], "floor");
  }
  return torch::stack(parts, -1);
}

namespace {

struct Gaussian {
  torch::Tensor mean, log_std;
};
// The log-std outputs bounded softly to (kMinLogStd, kMaxLogStd): within 1e-4 of the identity
// more than 1.5 away from both bounds, and a gradient everywhere, so a log-std pushed past a
// bound can always come back (a hard clamp would leave it there with no gradient).
Gaussian SplitGaussian(const torch::Tensor& logits) {
  constexpr double kSharpness = 5;  // softplus's beta: the bend is ~1/5 wide
  const std::int64_t d = logits.size(-1) / 2;
  const auto raw = logits.narrow(-1, d, d);
  const auto below_max =
      ActionDist::kMaxLogStd - torch::softplus(ActionDist::kMaxLogStd - raw, kSharpness);
  return {logits.narrow(-1, 0, d),
          ActionDist::kMinLogStd + torch::softplus(below_max - ActionDist::kMinLogStd, kSharpness)};
}

}  // namespace

torch::Tensor ActionDist::Sample(const torch::Tensor& logits, at::Generator& generator) const {
  torch::NoGradGuard no_grad;
  if (kind_ == Kind::kBox) {
    const Gaussian g = SplitGaussian(logits);
    const auto noise = at::normal(0.0, 1.0, g.mean.sizes(), generator, g.mean.options());
    return (g.mean + g.log_std.exp() * noise).contiguous();
  }
  const auto draw = [&](const torch::Tensor& part) {
    return torch::multinomial(torch::softmax(part, -1), /*num_samples=*/1,
                              /*replacement=*/true, generator)
        .squeeze(-1);
  };
  if (kind_ == Kind::kDiscrete) return draw(logits);
  torch::Tensor action = torch::zeros({logits.size(0)}, torch::kLong);
  for (std::size_t k = 0; k < nvec_.size(); ++k) {
    action = action * nvec_[k] + draw(logits.narrow(-1, offsets_[k], nvec_[k]));
  }
  return action;
}

torch::Tensor ActionDist::Greedy(const torch::Tensor& logits) const {
  torch::NoGradGuard no_grad;
  if (kind_ == Kind::kBox) return SplitGaussian(logits).mean.contiguous();
  if (kind_ == Kind::kDiscrete) return logits.argmax(-1).contiguous();
  torch::Tensor action = torch::zeros(logits.sizes().slice(0, logits.dim() - 1), torch::kLong);
  for (std::size_t k = 0; k < nvec_.size(); ++k) {
    action = action * nvec_[k] + logits.narrow(-1, offsets_[k], nvec_[k]).argmax(-1);
  }
  return action;
}

torch::Tensor ActionDist::LogProb(const torch::Tensor& logits, const torch::Tensor& actions) const {
  if (kind_ == Kind::kBox) {
    const Gaussian g = SplitGaussian(logits);
    const auto z = (actions.to(logits.dtype()) - g.mean) * (-g.log_std).exp();
    return (-0.5 * z.pow(2) - g.log_std - 0.5 * std::log(2 * std::numbers::pi)).sum(-1);
  }
  const auto log_p = LogSoftmax(logits);
  if (kind_ == Kind::kDiscrete) {
    return log_p.gather(-1, actions.to(torch::kLong).unsqueeze(-1)).squeeze(-1);
  }
  // Component k's index into the concatenated logits: its offset plus its value.
  const auto index = Components(actions) + torch::tensor(offsets_, torch::kLong);
  return log_p.gather(-1, index).sum(-1);
}

torch::Tensor ActionDist::Entropy(const torch::Tensor& logits) const {
  if (kind_ == Kind::kBox) {
    const Gaussian g = SplitGaussian(logits);
    return (g.log_std + 0.5 * (1.0 + std::log(2 * std::numbers::pi))).sum(-1);
  }
  const auto log_p = LogSoftmax(logits);
  return -(log_p.exp() * log_p).sum(-1);  // per component, summed: the components are independent
}

torch::Tensor ActionDist::BonusEntropy(const torch::Tensor& logits, double max_std) const {
  if (kind_ != Kind::kBox || max_std <= 0) return Entropy(logits);
  const auto log_std = SplitGaussian(logits).log_std.clamp_max(std::log(max_std));
  return (log_std + 0.5 * (1.0 + std::log(2 * std::numbers::pi))).sum(-1);
}

torch::Tensor ActionDist::Kl(const torch::Tensor& mu_logits, const torch::Tensor& pi_logits) const {
  if (kind_ == Kind::kBox) {
    const Gaussian mu = SplitGaussian(mu_logits);
    const Gaussian pi = SplitGaussian(pi_logits);
    // KL(N(m1, s1) || N(m2, s2)) = log(s2/s1) + (s1^2 + (m1 - m2)^2) / (2 s2^2) - 1/2, per dim.
    const auto ratio = (2 * (mu.log_std - pi.log_std)).exp();
    const auto shift = (mu.mean - pi.mean).pow(2) * (-2 * pi.log_std).exp();
    return (pi.log_std - mu.log_std + 0.5 * (ratio + shift) - 0.5).sum(-1);
  }
  const auto log_mu = LogSoftmax(mu_logits);
  const auto log_pi = LogSoftmax(pi_logits);
  return (log_mu.exp() * (log_mu - log_pi)).sum(-1);
}

void ToEnvUnits(const torch::Tensor& actions, std::span<const float> low,
                std::span<const float> high, float* out) {
  const auto a = actions.contiguous();
  COLONY_CHECK(a.dim() == 2 && a.scalar_type() == torch::kFloat &&
               a.size(1) == static_cast<std::int64_t>(low.size()) && low.size() == high.size())
      << "box actions must be float32 [N, D] with D bounds";
  const float* in = a.data_ptr<float>();
  const std::int64_t n = a.size(0);
  const std::size_t d = low.size();
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < d; ++j) {
      const float v = in[static_cast<std::size_t>(i) * d + j];
      float& o = out[static_cast<std::size_t>(i) * d + j];
      if (std::isfinite(low[j]) && std::isfinite(high[j])) {
        const float c = std::fmin(std::fmax(v, -1.0f), 1.0f);
        o = low[j] + 0.5f * (c + 1.0f) * (high[j] - low[j]);
      } else {
        o = v;
      }
    }
  }
}

}  // namespace colony
