// ActionDist (common/model/action_dist.h): each kind's log-probability, entropy and KL against
// their closed forms, sampling against the probabilities it claims, and the Box mapping into an
// environment's bounds.
#include "common/model/action_dist.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <numbers>

#include "common/model/model_config.h"

namespace colony {
namespace {

ModelConfig Actions(const std::string& actions, std::int64_t outputs) {
  ModelConfig config;
  config.actions = actions;
  config.num_actions = outputs;
  config.Validate();
  return config;
}

TEST(ActionDist, DiscreteIsOneCategorical) {
  const ActionDist dist(Actions("discrete", 3));
  EXPECT_FALSE(dist.continuous());
  EXPECT_EQ(dist.action_range(), 3);
  const auto logits = torch::tensor({{0.0f, 1.0f, 2.0f}, {3.0f, -1.0f, 0.5f}});
  const auto actions = torch::tensor({2, 1}, torch::kLong);
  const auto log_p = torch::log_softmax(logits, -1);
  EXPECT_TRUE(torch::allclose(dist.LogProb(logits, actions),
                              torch::stack({log_p[0][2], log_p[1][1]})));
  EXPECT_TRUE(torch::allclose(dist.Entropy(logits), -(log_p.exp() * log_p).sum(-1)));
  EXPECT_TRUE(torch::equal(dist.Greedy(logits), torch::tensor({2, 0}, torch::kLong)));
  EXPECT_NEAR(dist.Kl(logits, logits).abs().max().item<double>(), 0.0, 1e-6);
}

// MultiDiscrete([2 3]): component 0 has logits [0, 1), component 1 [2, 5); action = c0 * 3 + c1.
TEST(ActionDist, MultiDiscreteIsIndependentCategoricalsInMixedRadix) {
  const ActionDist dist(Actions("multi_discrete:2,3", 5));
  EXPECT_EQ(dist.action_range(), 6);
  const auto logits = torch::tensor({{0.3f, -0.2f, 1.0f, 0.0f, -1.0f}});
  const auto p0 = torch::softmax(logits.narrow(-1, 0, 2), -1)[0];
  const auto p1 = torch::softmax(logits.narrow(-1, 2, 3), -1)[0];
  for (std::int64_t c0 = 0; c0 < 2; ++c0) {
    for (std::int64_t c1 = 0; c1 < 3; ++c1) {
      const auto action = torch::tensor({c0 * 3 + c1}, torch::kLong);
      EXPECT_NEAR(dist.LogProb(logits, action).item<double>(),
                  std::log(p0[c0].item<double>() * p1[c1].item<double>()), 1e-5)
          << c0 << ", " << c1;
    }
  }
  const double h0 = -(p0 * p0.log()).sum().item<double>();
  const double h1 = -(p1 * p1.log()).sum().item<double>();
  EXPECT_NEAR(dist.Entropy(logits).item<double>(), h0 + h1, 1e-5);
  EXPECT_EQ(dist.Greedy(logits).item<std::int64_t>(), 0 * 3 + 0);

  // Sampled frequencies match p0 x p1 (40,000 draws: each within 5 standard errors).
  constexpr int kDraws = 40000;
  torch::Generator generator = at::detail::createCPUGenerator(7);
  const auto drawn = dist.Sample(logits.expand({kDraws, 5}).contiguous(), generator);
  ASSERT_EQ(drawn.sizes(), torch::IntArrayRef({kDraws}));
  const auto counts = torch::bincount(drawn, {}, 6).to(torch::kDouble) / kDraws;
  for (std::int64_t a = 0; a < 6; ++a) {
    const double p = p0[a / 3].item<double>() * p1[a % 3].item<double>();
    EXPECT_NEAR(counts[a].item<double>(), p, 5 * std::sqrt(p * (1 - p) / kDraws)) << a;
  }
}

TEST(ActionDist, BoxIsADiagonalGaussian) {
  const ActionDist dist(Actions("box", 4));
  EXPECT_TRUE(dist.continuous());
  EXPECT_EQ(dist.action_dim(), 2);
  // Means (0.5, -1), log-stds (log 0.2, 0.3).
  const auto logits = torch::tensor({{0.5f, -1.0f, std::log(0.2f), 0.3f}});
  const auto action = torch::tensor({{0.7f, -0.4f}});
  const double s0 = 0.2, s1 = std::exp(0.3);
  const auto normal = [](double x, double m, double s) {
    return -0.5 * std::pow((x - m) / s, 2) - std::log(s) - 0.5 * std::log(2 * std::numbers::pi);
  };
  // Log-stds this far inside the bounds pass through within 1e-4.
  EXPECT_NEAR(dist.LogProb(logits, action).item<double>(),
              normal(0.7, 0.5, s0) + normal(-0.4, -1.0, s1), 1e-4);
  const double half_log_2pie = 0.5 * (1 + std::log(2 * std::numbers::pi));
  EXPECT_NEAR(dist.Entropy(logits).item<double>(),
              std::log(s0) + std::log(s1) + 2 * half_log_2pie, 1e-4);
  EXPECT_TRUE(torch::allclose(dist.Greedy(logits), torch::tensor({{0.5f, -1.0f}})));

  constexpr int kDraws = 40000;
  torch::Generator generator = at::detail::createCPUGenerator(3);
  const auto drawn = dist.Sample(logits.expand({kDraws, 4}).contiguous(), generator);
  ASSERT_EQ(drawn.sizes(), torch::IntArrayRef({kDraws, 2}));
  const auto mean = drawn.mean(0), std = drawn.std(0);
  EXPECT_NEAR(mean[0].item<double>(), 0.5, 5 * s0 / std::sqrt(kDraws));
  EXPECT_NEAR(mean[1].item<double>(), -1.0, 5 * s1 / std::sqrt(kDraws));
  EXPECT_NEAR(std[0].item<double>(), s0, 0.02 * s0);
  EXPECT_NEAR(std[1].item<double>(), s1, 0.02 * s1);

  // The closed-form KL against a Monte Carlo estimate E_mu[log mu(a) - log pi(a)].
  const auto other = torch::tensor({{0.0f, -0.5f, -1.0f, 0.0f}});
  const auto mc = (dist.LogProb(logits.expand({kDraws, 4}), drawn) -
                   dist.LogProb(other.expand({kDraws, 4}), drawn))
                      .mean()
                      .item<double>();
  const double kl = dist.Kl(logits, other).item<double>();
  EXPECT_NEAR(kl, mc, 0.05 * kl);
  EXPECT_NEAR(dist.Kl(logits, logits).item<double>(), 0.0, 1e-6);
}

// Far outside the bounds the log-std sits at them, and still has a gradient back.
TEST(ActionDist, BoxLogStdIsBoundedSoftly) {
  const ActionDist dist(Actions("box", 2));
  const auto wide = torch::tensor({{0.0f, 50.0f}});
  const auto narrow = torch::tensor({{0.0f, -50.0f}});
  const double half_log_2pie = 0.5 * (1 + std::log(2 * std::numbers::pi));
  EXPECT_NEAR(dist.Entropy(wide).item<double>(), ActionDist::kMaxLogStd + half_log_2pie, 1e-5);
  EXPECT_NEAR(dist.Entropy(narrow).item<double>(), ActionDist::kMinLogStd + half_log_2pie, 1e-5);
  const auto beyond = torch::tensor({{0.0f, 3.0f}}, torch::requires_grad());
  dist.Entropy(beyond).backward();
  EXPECT_GT(beyond.grad()[0][1].item<double>(), 1e-3);
  EXPECT_LT(dist.Entropy(beyond).item<double>(), ActionDist::kMaxLogStd + half_log_2pie);
}

// The bonus's entropy counts a box dimension's std up to the cap and no further: equal to the
// entropy below it, constant (and without gradient) above it; the integer kinds are uncapped.
TEST(ActionDist, BonusEntropyCapsTheBoxStd) {
  const ActionDist box(Actions("box", 4));
  const double half_log_2pie = 0.5 * (1 + std::log(2 * std::numbers::pi));
  // Log-stds log 0.5 (under a cap of 1) and 1.0 (std e, over it).
  const auto logits =
      torch::tensor({{0.0f, 0.0f, std::log(0.5f), 1.0f}}, torch::requires_grad());
  EXPECT_NEAR(box.BonusEntropy(logits, 1.0).item<double>(),
              std::log(0.5) + 0.0 + 2 * half_log_2pie, 1e-4);
  EXPECT_NEAR(box.BonusEntropy(logits, 0.0).item<double>(), box.Entropy(logits).item<double>(),
              1e-6);
  box.BonusEntropy(logits, 1.0).backward();
  EXPECT_NEAR(logits.grad()[0][2].item<double>(), 1.0, 1e-3);  // under the cap: d/d log-std = 1
  EXPECT_EQ(logits.grad()[0][3].item<double>(), 0.0);          // over it: no push
  EXPECT_EQ(logits.grad()[0][0].item<double>(), 0.0);          // means: none either way

  const ActionDist discrete(Actions("discrete", 3));
  const auto categorical = torch::tensor({{0.1f, 2.0f, -1.0f}});
  EXPECT_NEAR(discrete.BonusEntropy(categorical, 0.01).item<double>(),
              discrete.Entropy(categorical).item<double>(), 1e-7);
}

TEST(ActionDist, BoxActionsAreClippedAndScaledIntoFiniteBounds) {
  const auto actions = torch::tensor({{-3.0f, 0.0f, 0.5f}, {1.0f, 2.0f, -7.0f}});
  const float low[] = {-2.0f, 0.0f, -INFINITY};
  const float high[] = {2.0f, 10.0f, INFINITY};
  float out[6];
  ToEnvUnits(actions, low, high, out);
  EXPECT_FLOAT_EQ(out[0], -2.0f);  // clipped to -1, then to low
  EXPECT_FLOAT_EQ(out[1], 5.0f);   // 0 is the middle of [0, 10]
  EXPECT_FLOAT_EQ(out[2], 0.5f);   // infinite bounds: as sampled
  EXPECT_FLOAT_EQ(out[3], 2.0f);
  EXPECT_FLOAT_EQ(out[4], 10.0f);  // 2 clipped to 1: high
  EXPECT_FLOAT_EQ(out[5], -7.0f);
}

TEST(ActionDist, ModelConfigChecksTheActionKind) {
  EXPECT_NO_THROW(Actions("multi_discrete:3,4", 7));
  EXPECT_EQ(Actions("multi_discrete:3,4", 7).MultiDiscreteNvec(),
            (std::vector<std::int64_t>{3, 4}));
  const auto error = [](const std::string& actions, std::int64_t outputs) {
    try {
      Actions(actions, outputs);
    } catch (const ModelConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error("multi_discrete:3,4", 8).find("adding up to num_actions 8"), std::string::npos)
      << error("multi_discrete:3,4", 8);
  EXPECT_NE(error("box", 3).find("an even number"), std::string::npos) << error("box", 3);
  EXPECT_NE(error("gaussian", 2).find("discrete, box or multi_discrete:N1,N2,..."),
            std::string::npos);
  EXPECT_NE(error("multi_discrete:3,,4", 7).find("multi_discrete"), std::string::npos);
  EXPECT_NE(error("multi_discrete:0,7", 7).find("multi_discrete"), std::string::npos);

  ModelConfig box = Actions("box", 6);
  EXPECT_EQ(ModelConfig::FromJson(box.ToJson()), box);
  // Checkpoints written before the field existed hold Discrete policies.
  std::string old = ModelConfig().ToJson();
  old.erase(old.find(",\"actions\":\"discrete\""), std::string(",\"actions\":\"discrete\"").size());
  EXPECT_EQ(ModelConfig::FromJson(old).actions, "discrete");
}

}  // namespace
}  // namespace colony
