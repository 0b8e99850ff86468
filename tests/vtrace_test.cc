// V-trace against an independent reference (tests/data/make_vtrace_reference.py: the paper's
// n-step sum in plain Python floats), and the truncation-is-not-termination rule of the loss.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <utility>

#include "learner/loss.h"
#include "learner/vtrace.h"

namespace colony {
namespace {

struct ReferenceCase {
  int64_t steps = 0;
  int64_t batch = 0;
  VTraceConfig config;
  torch::Tensor log_rhos, discounts, rewards, values, bootstrap, vs, pg_advantages;
};

torch::Tensor ReadGrid(std::istream& in, int64_t rows, int64_t cols) {
  auto grid = torch::empty({rows, cols}, torch::kDouble);
  auto a = grid.accessor<double, 2>();
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      if (!(in >> a[r][c])) throw std::runtime_error("vtrace_reference.txt is truncated");
    }
  }
  return grid;
}

std::vector<ReferenceCase> ReadReference() {
  std::ifstream in(COLONY_TEST_DATA_DIR "/vtrace_reference.txt");
  if (!in) throw std::runtime_error("cannot open " COLONY_TEST_DATA_DIR "/vtrace_reference.txt");
  std::vector<ReferenceCase> cases;
  std::string word;
  while (in >> word) {
    if (word != "case") throw std::runtime_error("expected 'case', got '" + word + "'");
    ReferenceCase c;
    in >> c.steps >> c.batch >> c.config.rho_bar >> c.config.c_bar >> c.config.lambda;
    c.log_rhos = ReadGrid(in, c.steps, c.batch);
    c.discounts = ReadGrid(in, c.steps, c.batch);
    c.rewards = ReadGrid(in, c.steps, c.batch);
    c.values = ReadGrid(in, c.steps, c.batch);
    c.bootstrap = ReadGrid(in, 1, c.batch).squeeze(0);
    c.vs = ReadGrid(in, c.steps, c.batch);
    c.pg_advantages = ReadGrid(in, c.steps, c.batch);
    cases.push_back(std::move(c));
  }
  return cases;
}

TEST(VTrace, MatchesThePapersSumOnEveryReferenceCase) {
  const auto cases = ReadReference();
  ASSERT_EQ(cases.size(), 8u);
  for (const auto& c : cases) {
    SCOPED_TRACE("T=" + std::to_string(c.steps) + " B=" + std::to_string(c.batch) +
                 " rho_bar=" + std::to_string(c.config.rho_bar) +
                 " c_bar=" + std::to_string(c.config.c_bar) +
                 " lambda=" + std::to_string(c.config.lambda));
    const auto out = ComputeVTrace(c.log_rhos, c.discounts, c.rewards, c.values, c.bootstrap,
                                   c.config);
    EXPECT_LT((out.vs - c.vs).abs().max().item<double>(), 1e-9);
    EXPECT_LT((out.pg_advantages - c.pg_advantages).abs().max().item<double>(), 1e-9);
    // The learner runs float32: same answer to float32 precision.
    const auto f = ComputeVTrace(c.log_rhos.to(torch::kFloat), c.discounts.to(torch::kFloat),
                                 c.rewards.to(torch::kFloat), c.values.to(torch::kFloat),
                                 c.bootstrap.to(torch::kFloat), c.config);
    const double scale = 1.0 + c.vs.abs().max().item<double>();
    EXPECT_LT((f.vs.to(torch::kDouble) - c.vs).abs().max().item<double>(), 1e-4 * scale);
  }
}

TEST(VTrace, OnPolicyWithoutEpisodeEndsIsTheDiscountedReturn) {
  // rho = c = 1: v_s is the n-step return bootstrapped from V(x_T), whatever V(x_s) is.
  const auto rewards = torch::tensor({{1.0}, {2.0}, {3.0}}, torch::kDouble);
  const auto values = torch::tensor({{10.0}, {-4.0}, {7.0}}, torch::kDouble);
  const auto discounts = torch::full({3, 1}, 0.5, torch::kDouble);
  const auto bootstrap = torch::tensor({8.0}, torch::kDouble);
  const auto out = ComputeVTrace(torch::zeros({3, 1}, torch::kDouble), discounts, rewards,
                                 values, bootstrap, VTraceConfig{});
  EXPECT_DOUBLE_EQ(out.vs[2][0].item<double>(), 3.0 + 0.5 * 8.0);
  EXPECT_DOUBLE_EQ(out.vs[1][0].item<double>(), 2.0 + 0.5 * 7.0);
  EXPECT_DOUBLE_EQ(out.vs[0][0].item<double>(), 1.0 + 0.5 * 5.5);
}

TEST(VTrace, RejectsBadShapesAndRhoBarBelowCBar) {
  const auto x = torch::zeros({4, 2});
  try {
    ComputeVTrace(x, x, x, torch::zeros({4, 3}), torch::zeros({2}), VTraceConfig{});
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "V-trace: expected values of shape [4, 2], got [4, 3]");
  }
  EXPECT_THROW(ComputeVTrace(x, x, x, x, torch::zeros({3}), VTraceConfig{}),
               std::invalid_argument);
  VTraceConfig bad;
  bad.rho_bar = 0.5;
  bad.c_bar = 1.0;
  EXPECT_THROW(ComputeVTrace(x, x, x, x, torch::zeros({2}), bad), std::invalid_argument);
}

// Two steps, three envs, on-policy: env 0 runs on, env 1 terminates at step 0, env 2 is
// truncated at step 0. The step-1 value belongs to the next episode for envs 1 and 2.
struct EpisodeEndFixture {
  LossBatch batch;
  torch::Tensor values = torch::tensor({{1.0f, 1.0f, 1.0f}, {5.0f, 5.0f, 5.0f}});
  torch::Tensor bootstrap = torch::tensor({2.0f, 2.0f, 2.0f});
  // Non-uniform logits [2, 3, 2] (the entropy's gradient is 0 at the uniform policy).
  torch::Tensor logits =
      torch::tensor({0.3, -0.2, 0.1, 0.4, -0.5, 0.0, 0.2, 0.1, -0.3, 0.6, 0.0, -0.1})
          .reshape({2, 3, 2});
  EpisodeEndFixture() {
    batch.actions = torch::zeros({2, 3}, torch::kLong);
    batch.behaviour_logits = torch::zeros({2, 3, 2});
    batch.rewards = torch::ones({2, 3});
    batch.terminated = torch::tensor({{false, true, false}, {false, false, false}});
    batch.truncated = torch::tensor({{false, false, true}, {false, false, false}});
    batch.truncation_values = torch::tensor({{99.0f, 99.0f, 10.0f}, {99.0f, 99.0f, 99.0f}});
  }
};

TEST(Loss, TruncationBootstrapsFromTheLastObservationAndTerminationDoesNot) {
  EpisodeEndFixture f;
  const double gamma = 0.9;
  const auto folded = FoldEpisodeEnds(f.batch, gamma);
  const auto out = ComputeVTrace(torch::zeros({2, 3}), folded.discounts, folded.rewards,
                                 f.values, f.bootstrap, VTraceConfig{});
  const auto vs = out.vs.accessor<float, 2>();
  EXPECT_FLOAT_EQ(vs[1][0], 1 + 0.9f * 2);
  EXPECT_FLOAT_EQ(vs[0][0], 1 + 0.9f * (1 + 0.9f * 2));      // runs on into step 1
  EXPECT_FLOAT_EQ(vs[0][1], 1.0f);                           // terminated: reward only
  EXPECT_FLOAT_EQ(vs[0][2], 1 + 0.9f * 10);                  // truncated: V(last obs)
  for (int b = 1; b < 3; ++b) EXPECT_FLOAT_EQ(vs[1][b], 1 + 0.9f * 2);
}

TEST(Loss, IsFiniteAndOnPolicyAndPushesTowardPositiveAdvantages) {
  EpisodeEndFixture f;
  auto logits = torch::zeros({2, 3, 2}, torch::requires_grad());
  auto values = f.values.clone().requires_grad_();
  LossConfig config;
  const auto out = ImpalaLoss(logits, values, f.bootstrap, f.batch, config);
  ASSERT_TRUE(std::isfinite(out.total.item<double>()));
  EXPECT_DOUBLE_EQ(out.mean_rho, 1.0);
  EXPECT_NEAR(out.entropy, std::log(2.0), 1e-6);
  out.total.backward();
  // Env 2 at step 0 has advantage 1 + 0.9*10 - 1 > 0: descending the loss raises logit 0.
  EXPECT_LT(logits.grad()[0][2][0].item<float>(), 0.0f);
  // Its value (1) is below the target (10): descending raises it.
  EXPECT_LT(values.grad()[0][2].item<float>(), 0.0f);
}

// On-policy (ratio 1, inside the clip) the clipped surrogate's gradient is IMPALA's: d r/d theta
// = d log pi/d theta at r = 1. The diagnostics: KL 0, nothing clipped, explained variance by hand.
TEST(Loss, AppoOnPolicyMatchesImpalaAndDiagnosticsAreExact) {
  EpisodeEndFixture f;
  LossConfig impala;
  impala.algo = "impala";
  LossConfig appo;
  appo.algo = "appo";
  auto logits_i = torch::zeros({2, 3, 2}, torch::requires_grad());
  auto logits_a = torch::zeros({2, 3, 2}, torch::requires_grad());
  const auto out_i = ImpalaLoss(logits_i, f.values, f.bootstrap, f.batch, impala);
  const auto out_a = ImpalaLoss(logits_a, f.values, f.bootstrap, f.batch, appo);
  out_i.total.backward();
  out_a.total.backward();
  EXPECT_TRUE(torch::allclose(logits_i.grad(), logits_a.grad(), 1e-6, 1e-7));
  EXPECT_NEAR(out_a.kl, 0.0, 1e-7);
  EXPECT_DOUBLE_EQ(out_a.rho_clip_fraction, 0.0);
  EXPECT_DOUBLE_EQ(out_a.ppo_clip_fraction, 0.0);
  EXPECT_TRUE(std::isnan(out_i.ppo_clip_fraction));
  // Targets from the truncation test above; advantages = targets' one-step form minus values.
  const auto folded = FoldEpisodeEnds(f.batch, impala.gamma);
  const auto ref = ComputeVTrace(torch::zeros({2, 3}), folded.discounts, folded.rewards, f.values,
                                 f.bootstrap, VTraceConfig{});
  const auto err = ref.vs - f.values;
  const double ev = 1.0 - ((err - err.mean()).pow(2).mean() /
                           (ref.vs - ref.vs.mean()).pow(2).mean()).item<double>();
  EXPECT_NEAR(out_a.explained_variance, ev, 1e-6);
  EXPECT_NEAR(out_a.advantage_mean, ref.pg_advantages.mean().item<double>(), 1e-6);
}

// Off-policy by a known amount: mu = (0.5, 0.5), pi = softmax(0, log 3) = (0.25, 0.75).
// KL(mu || pi) = 0.5 ln(0.5/0.25) + 0.5 ln(0.5/0.75); action 1 has ratio 1.5 (clipped by both
// rho_bar 1 and ppo_clip 0.2), action 0 has ratio 0.5 (clipped by ppo_clip only).
TEST(Loss, KlAndClipFractionsOffPolicy) {
  EpisodeEndFixture f;
  f.batch.actions = torch::tensor({{1, 1, 1}, {0, 0, 0}}, torch::kLong);
  auto logits = torch::zeros({2, 3, 2});
  logits.select(2, 1).fill_(std::log(3.0));
  LossConfig appo;
  appo.algo = "appo";
  appo.normalize_advantages = true;
  const auto out = ImpalaLoss(logits, f.values, f.bootstrap, f.batch, appo);
  EXPECT_NEAR(out.kl, 0.5 * std::log(2.0) + 0.5 * std::log(0.5 / 0.75), 1e-6);
  EXPECT_DOUBLE_EQ(out.rho_clip_fraction, 0.5);
  EXPECT_DOUBLE_EQ(out.ppo_clip_fraction, 1.0);
  EXPECT_TRUE(std::isfinite(out.total.item<double>()));
}

// --advantage-max-gain floors the std that normalised advantages are divided by at 1 / gain:
// a cap above 1 / std changes nothing, a cap at 1 / (2 std) halves the policy gradient.
TEST(Loss, AdvantageGainCapFloorsTheStd) {
  EpisodeEndFixture f;
  LossConfig config;
  config.algo = "impala";
  config.normalize_advantages = true;
  config.baseline_cost = 0.0;
  config.entropy_cost = 0.0;
  auto policy_grad = [&](double max_gain) {
    config.advantage_max_gain = max_gain;
    auto logits = torch::zeros({2, 3, 2}, torch::requires_grad());
    const auto out = ImpalaLoss(logits, f.values, f.bootstrap, f.batch, config);
    out.total.backward();
    return std::make_pair(logits.grad(), out.advantage_std);
  };
  const auto [uncapped, std_a] = policy_grad(0.0);
  ASSERT_GT(std_a, 0.0);
  const auto [loose, std_b] = policy_grad(2.0 / std_a);
  const auto [tight, std_c] = policy_grad(0.5 / std_a);
  EXPECT_TRUE(torch::allclose(loose, uncapped, 1e-5, 1e-7));
  EXPECT_TRUE(torch::allclose(tight, uncapped * 0.5, 1e-5, 1e-7));
  EXPECT_GT(uncapped.abs().max().item<double>(), 1e-3);  // the comparison has something to compare
}

// --center-advantages: the policy term sees A - mean A, unscaled. Its gradient is the one of
// -log pi(a) * (A - mean A) computed by hand, and it differs from the uncentred gradient
// exactly by the mean's term -mean A * d/dlogits log pi(a).
TEST(Loss, CenteredAdvantagesDropTheBatchMean) {
  EpisodeEndFixture f;
  LossConfig config;
  config.algo = "impala";
  config.baseline_cost = 0.0;
  config.entropy_cost = 0.0;
  config.entropy_per_advantage = 0.0;
  auto policy_grad = [&](bool center, double* mean_a) {
    config.center_advantages = center;
    auto logits = f.logits.clone().requires_grad_(true);
    const auto out = ImpalaLoss(logits, f.values, f.bootstrap, f.batch, config);
    out.total.backward();
    *mean_a = out.advantage_mean;
    return logits.grad();
  };
  double mean_plain = 0.0, mean_centered = 0.0;
  const auto plain = policy_grad(false, &mean_plain);
  const auto centered = policy_grad(true, &mean_centered);
  EXPECT_DOUBLE_EQ(mean_plain, mean_centered);  // reported before centring, as documented
  ASSERT_GT(std::abs(mean_plain), 0.1);         // the fixture's advantages have a mean to drop
  // d/dlogits of mean(-log pi(a)) over the 6 samples, times the mean advantage.
  auto logits = f.logits.clone().requires_grad_(true);
  const auto log_pi = torch::log_softmax(logits, -1).gather(-1, f.batch.actions.unsqueeze(-1));
  (-log_pi.mean()).backward();
  EXPECT_TRUE(torch::allclose(plain - centered, logits.grad() * mean_plain, 1e-5, 1e-6));
  EXPECT_FALSE(torch::allclose(plain, centered, 1e-3, 1e-4));
  // Normalising implies centring: the flag changes nothing there.
  config.normalize_advantages = true;
  double unused = 0.0;
  EXPECT_TRUE(torch::allclose(policy_grad(false, &unused), policy_grad(true, &unused)));
}

// --entropy-per-advantage adds k * (the batch's advantage std) to the entropy bonus's weight:
// with entropy_cost c the bonus's gradient is (c + k std) times that of a unit bonus.
TEST(Loss, EntropyWeightFollowsTheAdvantageStd) {
  EpisodeEndFixture f;
  LossConfig config;
  config.algo = "impala";
  config.baseline_cost = 0.0;
  auto grad = [&](double cost, double per_advantage, double* weight, double* std_a) {
    config.entropy_cost = cost;
    config.entropy_per_advantage = per_advantage;
    auto logits = f.logits.clone().requires_grad_(true);
    const auto out = ImpalaLoss(logits, f.values, f.bootstrap, f.batch, config);
    out.total.backward();
    *weight = out.entropy_weight;
    *std_a = out.advantage_std;
    return logits.grad();
  };
  double weight = 0, std_a = 0;
  const auto policy_only = grad(0.0, 0.0, &weight, &std_a);
  EXPECT_EQ(weight, 0.0);
  const auto unit = grad(1.0, 0.0, &weight, &std_a) - policy_only;  // a unit bonus's gradient
  EXPECT_EQ(weight, 1.0);
  ASSERT_GT(unit.abs().max().item<double>(), 1e-3);
  ASSERT_GT(std_a, 0.0);
  const auto both = grad(0.01, 0.5, &weight, &std_a) - policy_only;
  EXPECT_NEAR(weight, 0.01 + 0.5 * std_a, 1e-12);
  EXPECT_TRUE(torch::allclose(both, unit * (0.01 + 0.5 * std_a), 1e-5, 1e-7));
}

// The learner's value warm-up (--value-warmup-frames) sets policy_cost to 0: no gradient
// reaches the logits (policy term and entropy bonus both off), the value's is unchanged.
TEST(Loss, ZeroPolicyCostLeavesOnlyTheValueLoss) {
  EpisodeEndFixture f;
  LossConfig config;
  config.entropy_cost = 0.01;
  auto grads = [&](double policy_cost) {
    config.policy_cost = policy_cost;
    auto logits = f.logits.clone().requires_grad_(true);
    auto values = f.values.clone().requires_grad_(true);
    const auto out = ImpalaLoss(logits, values, f.bootstrap, f.batch, config);
    out.total.backward();
    if (policy_cost == 0.0) {
      EXPECT_EQ(out.entropy_weight, 0.0);
    }
    return std::make_pair(logits.grad(), values.grad());
  };
  const auto [policy_on, value_on] = grads(1.0);
  const auto [policy_off, value_off] = grads(0.0);
  ASSERT_GT(policy_on.abs().max().item<double>(), 1e-3);
  EXPECT_EQ(policy_off.abs().max().item<double>(), 0.0);
  EXPECT_TRUE(torch::allclose(value_on, value_off));
}

}  // namespace
}  // namespace colony
