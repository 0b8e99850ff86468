// The policy network's defining properties (common/model/policy.h):
//   * unroll mode reproduces T calls of step mode, with resets inside the unroll, partly filled
//     memory, T = 1 and T > M, per column memory shipped through its wire form;
//   * nothing crosses an episode boundary (changing the past before a reset changes nothing
//     after it, in either mode);
//   * gates start near the identity; gradients match central differences in float64;
//   * parameters and gradients live in flat buffers that optimizers and to() respect;
//   * the default config's parameter count is the documented one.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "common/model/gtrxl.h"
#include "common/model/policy.h"
#include "tests/tensor_test_util.h"

namespace colony {
namespace {

ModelConfig Small(std::int64_t memory = 4) {
  ModelConfig c;
  c.obs_dim = 5;
  c.num_actions = 3;
  c.layers = 2;
  c.d_model = 16;
  c.heads = 4;
  c.d_ff = 32;
  c.memory = memory;
  return c;
}

// Runs `warmup` steps (first flags set at step 0) to fill memory partly or fully, then T steps
// with `first`, and compares those T steps with one Unroll from the memory held before them.
void ExpectAgreement(Policy& policy, std::int64_t warmup, const torch::Tensor& first) {
  const std::int64_t t = first.size(0), b = first.size(1);
  torch::manual_seed(7);
  const torch::Tensor obs = torch::randn({warmup + t, b, policy.config().obs_dim});
  Memory memory = policy.InitialMemory(b);
  for (std::int64_t i = 0; i < warmup; ++i) {
    policy.Step(obs[i], torch::full({b}, i == 0, torch::kBool), memory);
  }
  const Memory initial = memory.Clone();
  std::vector<torch::Tensor> logits, values;
  for (std::int64_t i = 0; i < t; ++i) {
    StepOutput s = policy.Step(obs[warmup + i], first[i], memory);
    logits.push_back(s.logits);
    values.push_back(s.values);
  }
  UnrollOutput u = policy.Unroll(obs.narrow(0, warmup, t), first, initial);
  ASSERT_EQ(u.logits.sizes(), (std::vector<int64_t>{t, b, policy.config().num_actions}));
  ASSERT_EQ(u.values.sizes(), (std::vector<int64_t>{t, b}));
  EXPECT_LE(MaxAbsDiff(u.logits, torch::stack(logits)), 1e-5);
  EXPECT_LE(MaxAbsDiff(u.values, torch::stack(values)), 1e-5);
  EXPECT_TRUE(torch::equal(u.final_memory.valid, memory.valid));
  if (memory.hidden.numel() > 0) {
    EXPECT_LE(MaxAbsDiff(u.final_memory.hidden, memory.hidden), 1e-5);
  }
}

// first flags [T, B]: column b resets at the steps listed for it.
torch::Tensor Firsts(std::int64_t t, const std::vector<std::vector<int>>& resets) {
  torch::Tensor f = torch::zeros({t, static_cast<std::int64_t>(resets.size())}, torch::kBool);
  for (std::size_t b = 0; b < resets.size(); ++b) {
    for (int step : resets[b]) f[step][static_cast<std::int64_t>(b)] = true;
  }
  return f;
}

TEST(ModelConfig, ValidateNamesFieldGivenAndAllowed) {
  ModelConfig c;
  c.heads = 5;
  try {
    c.Validate();
    FAIL() << "expected ModelConfigError";
  } catch (const ModelConfigError& e) {
    EXPECT_STREQ(e.what(), "model config: heads: expected a divisor of d_model 64, got 5");
  }
  c = ModelConfig{};
  c.kind = "rnn";
  try {
    c.Validate();
    FAIL() << "expected ModelConfigError";
  } catch (const ModelConfigError& e) {
    EXPECT_STREQ(e.what(), "model config: kind: expected one of gtrxl|gru|lstm|mlp, got 'rnn'");
  }
  c = ModelConfig{};
  c.memory = 0;
  EXPECT_THROW(MakePolicy(c), ModelConfigError);
  EXPECT_EQ(ModelConfig::FromJson(Small().ToJson()), Small());
  EXPECT_THROW(ModelConfig::FromJson("{\"kind\":\"gtrxl\"}"), ModelConfigError);
}

TEST(Gtrxl, DefaultConfigHasTheDocumentedParameterCount) {
  auto policy = MakePolicy(ModelConfig{});
  EXPECT_EQ(policy->parameter_count(), 207235);
  EXPECT_EQ(policy->parameter_count(), GtrxlParameterCount(ModelConfig{}));
  EXPECT_EQ(MakePolicy(Small())->parameter_count(), GtrxlParameterCount(Small()));
}

TEST(Gtrxl, StepAndUnrollAgreeWithResetsInsideTheUnroll) {
  auto policy = MakePolicy(Small(/*memory=*/4));
  // Columns: no reset; reset mid-unroll; two resets; reset at step 0; reset at the last step.
  ExpectAgreement(*policy, /*warmup=*/2, Firsts(7, {{}, {3}, {1, 5}, {0}, {6}}));
}

TEST(Gtrxl, StepAndUnrollAgreeFromEmptyPartlyAndFullyFilledMemory) {
  auto policy = MakePolicy(Small(/*memory=*/4));
  for (std::int64_t warmup : {0, 1, 3, 4, 9}) {
    SCOPED_TRACE("warmup " + std::to_string(warmup));
    ExpectAgreement(*policy, warmup, Firsts(5, {{}, {2}, {0}}));
  }
}

TEST(Gtrxl, StepAndUnrollAgreeForOneStepAndForUnrollsLongerThanMemory) {
  auto policy = MakePolicy(Small(/*memory=*/3));
  ExpectAgreement(*policy, /*warmup=*/2, Firsts(1, {{}, {0}}));
  ExpectAgreement(*policy, /*warmup=*/5, Firsts(13, {{}, {4}, {2, 9}, {12}}));
}

TEST(Gtrxl, DefaultConfigStepAndUnrollAgree) {
  auto policy = MakePolicy(ModelConfig{});
  ExpectAgreement(*policy, /*warmup=*/20, Firsts(40, {{}, {25}, {3, 38}}));
}

// Unrolls on float32 CPU tensors run attention through attention_kernel.h's loops; the op-by-op
// path (other devices; float64, which the finite-difference test below checks) is what they are
// held to: outputs, final memory and every parameter's gradient, with resets inside the unroll
// and partly filled memory, at head widths 16 and 32 and the default shape.
TEST(Gtrxl, FusedCpuAttentionMatchesTheOpByOpPath) {
  struct Shape {
    std::int64_t d_model, heads, memory;
  };
  for (const Shape& shape : {Shape{32, 2, 6}, Shape{64, 2, 9}, Shape{64, 4, 64}}) {
    SCOPED_TRACE("d_model " + std::to_string(shape.d_model) + ", heads " +
                 std::to_string(shape.heads) + ", memory " + std::to_string(shape.memory));
    ModelConfig c = Small(shape.memory);
    c.d_model = shape.d_model;
    c.heads = shape.heads;
    c.d_ff = 2 * shape.d_model;
    auto policy = MakePolicy(c);
    torch::manual_seed(3);
    {
      torch::NoGradGuard no_grad;  // gates away from the identity
      policy->flat_parameters().add_(torch::randn({policy->parameter_count()}) * 0.05);
    }
    const std::int64_t t = 12, b = 4;
    const torch::Tensor obs = torch::randn({t, b, c.obs_dim});
    const torch::Tensor first = Firsts(t, {{}, {4}, {0, 7}, {11}});
    Memory initial = policy->InitialMemory(b);
    for (int i = 0; i < 3; ++i) {
      policy->Step(torch::randn({b, c.obs_dim}), torch::full({b}, i == 0, torch::kBool), initial);
    }
    const torch::Tensor wl = torch::randn({t, b, c.num_actions}), wv = torch::randn({t, b});
    auto run = [&](bool fused, torch::Tensor* grad) {
      SetFusedCpuAttention(fused);
      policy->ZeroGradients();
      UnrollOutput u = policy->Unroll(obs, first, initial);
      ((u.logits * wl).sum() + (u.values * wv).sum()).backward();
      *grad = policy->flat_gradients().clone();
      return u;
    };
    torch::Tensor ref_grad, fused_grad;
    const std::int64_t runs = FusedCpuAttentionRuns();
    const UnrollOutput ref = run(false, &ref_grad);
    EXPECT_EQ(FusedCpuAttentionRuns(), runs);
    const UnrollOutput fused = run(true, &fused_grad);
    EXPECT_EQ(FusedCpuAttentionRuns(), runs + c.layers) << "the loops ran, once per layer";
    EXPECT_LE(MaxAbsDiff(fused.logits, ref.logits), 1e-5);
    EXPECT_LE(MaxAbsDiff(fused.values, ref.values), 1e-5);
    EXPECT_LE(MaxAbsDiff(fused.final_memory.hidden, ref.final_memory.hidden), 1e-5);
    EXPECT_TRUE(torch::equal(fused.final_memory.valid, ref.final_memory.valid));
    const double scale = std::max(1.0, ref_grad.abs().max().item<double>());
    EXPECT_LE(MaxAbsDiff(fused_grad, ref_grad), 1e-5 * scale);
    EXPECT_GT(ref_grad.abs().sum().item<double>(), 0.0);
  }
  SetFusedCpuAttention(true);
  // Head width 4: the op-by-op path.
  auto small = MakePolicy(Small());
  const std::int64_t runs = FusedCpuAttentionRuns();
  small->Unroll(torch::randn({3, 2, 5}), Firsts(3, {{}, {1}}), small->InitialMemory(2));
  EXPECT_EQ(FusedCpuAttentionRuns(), runs);
}

TEST(Mlp, StepAndUnrollAgree) {
  ModelConfig c = Small();
  c.kind = "mlp";
  auto policy = MakePolicy(c);
  EXPECT_EQ(policy->InitialMemory(3).Flatten().sizes(), (std::vector<int64_t>{3, 0}));
  ExpectAgreement(*policy, /*warmup=*/1, Firsts(4, {{}, {2}, {0}}));
}

// --normalize-obs: the statistics are the first three parameters, constants at init (so the
// rest of the weights are those of the same seed without them); the network reads
// clip((x - mean) / sqrt(var + 1e-8), +-10); step and unroll still agree; a batch's statistics
// are taken in as the mixture of the old and the new.
TEST(ObsNormalization, StandardisesWithTheRunningStatisticsItKeeps) {
  ModelConfig plain = Small();
  ModelConfig normalized = plain;
  normalized.normalize_obs = true;
  torch::manual_seed(3);
  auto with = MakePolicy(normalized);
  torch::manual_seed(3);
  auto without = MakePolicy(plain);
  ASSERT_EQ(with->parameter_count(), without->parameter_count() + 2 * plain.obs_dim + 1);
  EXPECT_EQ(with->layout()[0].name, "obs_mean");
  EXPECT_EQ(with->layout()[1].name, "obs_var");
  EXPECT_EQ(with->layout()[2].name, "obs_count");
  EXPECT_TRUE(torch::equal(with->flat_parameters().narrow(0, 2 * plain.obs_dim + 1,
                                                          without->parameter_count()),
                           without->flat_parameters()));
  EXPECT_EQ(with->obs_stats_batches(), 0);

  // The first batch is taken whole; the second (min_rate 0.25 < 1/2) at weight 1/2.
  const auto mean1 = torch::tensor({1.0f, -2.0f, 0.0f, 100.0f, 0.5f});
  const auto var1 = torch::tensor({4.0f, 0.25f, 1.0f, 0.0f, 9.0f});
  with->UpdateObsStats(mean1, var1, 0.25);
  const auto mean2 = torch::tensor({3.0f, -2.0f, 0.0f, 100.0f, 0.5f});
  const auto var2 = torch::tensor({2.0f, 0.25f, 1.0f, 0.0f, 1.0f});
  with->UpdateObsStats(mean2, var2, 0.25);
  EXPECT_EQ(with->obs_stats_batches(), 2);
  const auto flat = with->flat_parameters();
  const auto mean = flat.narrow(0, 0, 5), var = flat.narrow(0, 5, 5);
  // Dimension 0: mean (1 + 3) / 2 = 2, variance (4 + 2) / 2 + (1/2)(1/2)(3 - 1)^2 = 4.
  EXPECT_NEAR(mean[0].item<double>(), 2.0, 1e-6);
  EXPECT_NEAR(var[0].item<double>(), 4.0, 1e-6);
  EXPECT_NEAR(var[4].item<double>(), 5.0, 1e-6);
  EXPECT_NEAR(mean[3].item<double>(), 100.0, 1e-6);
  EXPECT_NEAR(var[3].item<double>(), 0.0, 1e-6);
  // A third batch at min_rate 0.25 (1/3 is more): weight 1/3.
  with->UpdateObsStats(torch::tensor({5.0f, -2.0f, 0.0f, 100.0f, 0.5f}), var2, 0.25);
  EXPECT_NEAR(mean[0].item<double>(), 2.0 + (5.0 - 2.0) / 3.0, 1e-5);

  // What the network reads: the plain policy given the standardised, clipped rows.
  torch::manual_seed(11);
  const auto obs = torch::randn({4, 5}) * 3 + torch::tensor({2.0f, -2.0f, 0.0f, 100.0f, 0.5f});
  auto expected_in = ((obs - mean) / (var + 1e-8).sqrt()).clamp(-10.0, 10.0);
  const auto first = torch::ones({4}, torch::kBool);
  Memory m_with = with->InitialMemory(4), m_without = without->InitialMemory(4);
  const StepOutput a = with->Step(obs, first, m_with);
  const StepOutput b = without->Step(expected_in, first, m_without);
  EXPECT_LE(MaxAbsDiff(a.logits, b.logits), 1e-5);
  EXPECT_LE(MaxAbsDiff(a.values, b.values), 1e-5);
  ExpectAgreement(*with, /*warmup=*/2, Firsts(6, {{}, {3}, {0}}));

  // The statistics get no gradient: the optimiser never moves them.
  const auto out = with->Unroll(obs.unsqueeze(0), first.unsqueeze(0), with->InitialMemory(4));
  with->ZeroGradients();
  (out.logits.sum() + out.values.sum()).backward();
  EXPECT_EQ(with->flat_gradients().narrow(0, 0, 2 * 5 + 1).abs().sum().item<double>(), 0.0);

  // In the config's JSON (absent in older files: off); refused for byte observations.
  EXPECT_EQ(ModelConfig::FromJson(normalized.ToJson()), normalized);
  EXPECT_NE(normalized.ToJson().find("\"normalize_obs\":true"), std::string::npos);
  ModelConfig bytes = normalized;
  bytes.observations = "uint8";
  try {
    bytes.Validate();
    FAIL() << "expected ModelConfigError";
  } catch (const ModelConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("normalize_obs: expected false for byte observations"),
              std::string::npos)
        << e.what();
  }
}

TEST(Gtrxl, NothingLeaksAcrossAReset) {
  auto policy = MakePolicy(Small(/*memory=*/6));
  const std::int64_t t = 10, b = 2, reset = 4;
  torch::manual_seed(3);
  torch::Tensor obs_a = torch::randn({t, b, 5});
  torch::Tensor obs_b = obs_a.clone();
  obs_b.narrow(0, 0, reset).normal_();  // a different past in every column
  torch::Tensor first = Firsts(t, {{reset}, {reset}});
  // Different (full) memories before the unroll, too.
  Memory mem_a = policy->InitialMemory(b), mem_b = policy->InitialMemory(b);
  for (int i = 0; i < 8; ++i) {
    policy->Step(torch::randn({b, 5}), torch::full({b}, i == 0, torch::kBool), mem_a);
    policy->Step(torch::randn({b, 5}), torch::full({b}, i == 0, torch::kBool), mem_b);
  }
  UnrollOutput a = policy->Unroll(obs_a, first, mem_a);
  UnrollOutput u = policy->Unroll(obs_b, first, mem_b);
  EXPECT_GT(MaxAbsDiff(a.logits.narrow(0, 0, reset), u.logits.narrow(0, 0, reset)), 1e-4);
  EXPECT_TRUE(torch::equal(a.logits.narrow(0, reset, t - reset), u.logits.narrow(0, reset, t - reset)));
  EXPECT_TRUE(torch::equal(a.values.narrow(0, reset, t - reset), u.values.narrow(0, reset, t - reset)));
  // Step mode: the same after the reset.
  for (std::int64_t i = 0; i < t; ++i) {
    StepOutput sa = policy->Step(obs_a[i], first[i], mem_a);
    StepOutput sb = policy->Step(obs_b[i], first[i], mem_b);
    if (i >= reset) {
      EXPECT_TRUE(torch::equal(sa.logits, sb.logits)) << "step " << i;
      EXPECT_TRUE(torch::equal(sa.values, sb.values)) << "step " << i;
    }
  }
}

TEST(Gtrxl, ColumnsShippedThroughTheWireFormUnrollLikeTheActorStepped) {
  // The actor/learner path: select one column's memory, flatten it, rebuild, stack B columns.
  auto policy = MakePolicy(Small(/*memory=*/4));
  const std::int64_t e = 3, t = 6;
  torch::manual_seed(5);
  Memory memory = policy->InitialMemory(e);
  for (int i = 0; i < 3; ++i) {
    policy->Step(torch::randn({e, 5}), torch::full({e}, i == 0, torch::kBool), memory);
  }
  std::vector<Memory> shipped;
  for (std::int64_t col : {2, 0}) {
    torch::Tensor row = memory.Select(col).Flatten();
    ASSERT_EQ(row.sizes(), (std::vector<int64_t>{1, policy->memory_flat_size()}));
    shipped.push_back(policy->MemoryFromFlat(row));
  }
  const Memory stacked = Memory::Stack(shipped);
  const torch::Tensor obs = torch::randn({t, e, 5});
  const torch::Tensor first = Firsts(t, {{}, {3}, {1}});
  UnrollOutput all = policy->Unroll(obs, first, memory);
  const torch::Tensor cols = torch::tensor({2, 0}, torch::kLong);
  UnrollOutput two = policy->Unroll(obs.index_select(1, cols), first.index_select(1, cols), stacked);
  EXPECT_LE(MaxAbsDiff(two.logits, all.logits.index_select(1, cols)), 1e-5);
  EXPECT_THROW(policy->MemoryFromFlat(torch::zeros({1, 3})), std::invalid_argument);
  torch::Tensor bad = memory.Flatten();
  bad[0][-1] = 0.5;
  EXPECT_THROW(policy->MemoryFromFlat(bad), std::invalid_argument);
}

TEST(Gtrxl, StepCacheIsDroppedWhenWeightsChange) {
  // Step mode reuses the keys and values of memory rows; after any kind of weight change it must
  // compute what a memory without a cache (a copy) gives.
  auto policy = MakePolicy(Small(/*memory=*/4));
  const std::int64_t e = 3;
  torch::manual_seed(9);
  Memory memory = policy->InitialMemory(e);
  for (int i = 0; i < 6; ++i) {
    policy->Step(torch::randn({e, 5}), torch::full({e}, i == 0, torch::kBool), memory);
  }
  ASSERT_TRUE(memory.cache.defined()) << "step mode leaves a cache";
  const torch::Tensor all = torch::arange(e, torch::kLong);
  ASSERT_FALSE(memory.Select(all).cache.defined()) << "copies drop it";
  auto expect_same_as_uncached = [&](const std::string& change) {
    const torch::Tensor obs = torch::randn({e, 5});
    const torch::Tensor first = torch::zeros({e}, torch::kBool);
    Memory copy = memory.Select(all);
    const StepOutput fresh = policy->Step(obs, first, copy);
    const StepOutput cached = policy->Step(obs, first, memory);
    EXPECT_LE(MaxAbsDiff(fresh.logits, cached.logits), 1e-6) << change;
    EXPECT_LE(MaxAbsDiff(fresh.values, cached.values), 1e-6) << change;
  };
  expect_same_as_uncached("no change");
  {
    torch::NoGradGuard no_grad;
    policy->named_parameters()["blocks.0.key_value.weight"].add_(0.3);  // as an optimizer does
  }
  expect_same_as_uncached("in-place parameter update");
  policy->flat_parameters().mul_(1.1);
  expect_same_as_uncached("in-place flat buffer update");
  auto other = MakePolicy(Small(/*memory=*/4));
  policy->LoadFlat(other->flat_parameters(), /*version=*/5);
  expect_same_as_uncached("LoadFlat");
  // A raw write, as an MPI receive does, into a tensor the cache depends on; then set_version.
  std::int64_t offset = -1;
  for (const auto& slot : policy->layout()) {
    if (slot.name == "blocks.1.key_value.weight") offset = slot.offset;
  }
  ASSERT_GE(offset, 0);
  std::memset(policy->flat_parameters().data_ptr<float>() + offset, 0, 64 * sizeof(float));
  policy->set_version(6);
  expect_same_as_uncached("raw write + set_version");
}

TEST(Gtrxl, BadInputIsRejectedWithExpectedAndGot) {
  auto policy = MakePolicy(Small());
  Memory memory = policy->InitialMemory(2);
  try {
    policy->Step(torch::zeros({2, 4}), torch::zeros({2}, torch::kBool), memory);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("obs: expected a floating-point tensor shaped [E, 5], got [2, 4]"),
              std::string::npos) << e.what();
  }
  EXPECT_THROW(policy->Step(torch::zeros({2, 5}), torch::zeros({2}), memory), std::invalid_argument);
  EXPECT_THROW(policy->Unroll(torch::zeros({0, 2, 5}), torch::zeros({0, 2}, torch::kBool), memory),
               std::invalid_argument);
  EXPECT_THROW(policy->Step(torch::zeros({3, 5}), torch::zeros({3}, torch::kBool), memory),
               std::invalid_argument);
}

TEST(GruGate, StartsNearTheIdentity) {
  torch::manual_seed(1);
  GruGate gate(64);
  const torch::Tensor x = torch::randn({256, 64}), y = torch::randn({256, 64});
  torch::NoGradGuard no_grad;
  const double z = gate->UpdateGate(x, y).mean().item<double>();
  EXPECT_NEAR(z, 1.0 / (1.0 + std::exp(2.0)), 0.03);
  const double change = ((gate->forward(x, y) - x).norm() / x.norm()).item<double>();
  EXPECT_LT(change, 0.25);
  // A whole fresh model: the residual stream is mostly the embedding, so outputs are finite and
  // the first policy tries every action (the policy head is not shrunk: docs/learning.md).
  auto policy = MakePolicy(ModelConfig{});
  Memory memory = policy->InitialMemory(8);
  StepOutput s = policy->Step(torch::randn({8, 4}), torch::ones({8}, torch::kBool), memory);
  EXPECT_TRUE(torch::isfinite(s.logits).all().item<bool>());
  EXPECT_GT(torch::softmax(s.logits, -1).min().item<double>(), 0.1);
}

TEST(Gtrxl, GradientsMatchFiniteDifferencesInFloat64) {
  ModelConfig c;
  c.obs_dim = 3;
  c.num_actions = 2;
  c.layers = 2;
  c.d_model = 4;
  c.heads = 2;
  c.d_ff = 6;
  c.memory = 2;
  auto policy = MakePolicy(c);
  policy->to(torch::kFloat64);
  ASSERT_EQ(policy->flat_parameters().scalar_type(), torch::kFloat64);
  torch::manual_seed(11);
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  const torch::Tensor obs = torch::randn({5, 2, 3}, f64);
  const torch::Tensor first = Firsts(5, {{}, {2}});
  Memory initial = policy->InitialMemory(2);
  policy->Step(torch::randn({2, 3}, f64), torch::ones({2}, torch::kBool), initial);
  initial.hidden.requires_grad_(true);
  const torch::Tensor wl = torch::randn({5, 2, 2}, f64), wv = torch::randn({5, 2}, f64);
  auto loss = [&]() {
    UnrollOutput u = policy->Unroll(obs, first, initial);
    return (u.logits * wl).sum() + (u.values * wv).sum();
  };
  policy->ZeroGradients();
  loss().backward();
  EXPECT_FALSE(initial.hidden.grad().defined()) << "no gradient may flow into memory";
  const torch::Tensor grad = policy->flat_gradients().clone();
  torch::Tensor flat = policy->flat_parameters();
  const double eps = 1e-6;
  torch::NoGradGuard no_grad;
  double worst = 0;
  for (std::int64_t i = 0; i < flat.numel(); ++i) {
    const double saved = flat[i].item<double>();
    flat[i] = saved + eps;
    const double up = loss().item<double>();
    flat[i] = saved - eps;
    const double down = loss().item<double>();
    flat[i] = saved;
    const double numeric = (up - down) / (2 * eps);
    const double analytic = grad[i].item<double>();
    worst = std::max(worst, std::abs(numeric - analytic) / std::max(1.0, std::abs(numeric)));
  }
  EXPECT_LT(worst, 1e-6) << "over " << flat.numel() << " parameters";
}

TEST(FlatParameters, ViewsSurviveOptimizersZeroGradAndTo) {
  auto policy = MakePolicy(Small());
  torch::Tensor flat = policy->flat_parameters();
  ASSERT_EQ(flat.numel(), policy->parameter_count());
  ASSERT_TRUE(flat.is_contiguous());
  auto concat = [&](bool grads) {
    std::vector<torch::Tensor> parts;
    for (const auto& p : policy->parameters()) parts.push_back((grads ? p.grad() : p).reshape(-1));
    return torch::cat(parts).detach();
  };
  EXPECT_TRUE(torch::equal(concat(false), flat));

  torch::optim::Adam adam(policy->parameters(), torch::optim::AdamOptions(1e-2));
  Memory memory = policy->InitialMemory(4);
  const torch::Tensor obs = torch::randn({3, 4, 5});
  const torch::Tensor first = Firsts(3, {{0}, {0}, {1}, {}});
  for (int iteration = 0; iteration < 3; ++iteration) {
    adam.zero_grad();  // sets gradients to none; flat_gradients() must still see the new ones
    UnrollOutput u = policy->Unroll(obs, first, memory);
    (u.logits.pow(2).sum() + u.values.sum()).backward();
    torch::Tensor grads = policy->flat_gradients();
    EXPECT_TRUE(torch::equal(concat(true), grads));
    EXPECT_GT(grads.abs().sum().item<double>(), 0);
    grads.mul_(0.5);  // what an all-reduce average does in place; the optimizer must see it
    EXPECT_TRUE(torch::equal(concat(true), grads));
    const torch::Tensor before = flat.clone();
    adam.step();
    EXPECT_FALSE(torch::equal(before, policy->flat_parameters()));
    EXPECT_TRUE(torch::equal(concat(false), policy->flat_parameters()));
    EXPECT_EQ(policy->flat_parameters().data_ptr(), flat.data_ptr()) << "no re-flatten needed";
  }

  // The actor side: another model adopts the buffer and acts identically.
  auto actor = MakePolicy(Small());
  actor->LoadFlat(policy->flat_parameters(), /*version=*/42);
  EXPECT_EQ(actor->version(), 42);
  Memory m1 = policy->InitialMemory(4), m2 = actor->InitialMemory(4);
  const torch::Tensor o = torch::randn({4, 5});
  EXPECT_TRUE(torch::equal(policy->Step(o, first[0], m1).logits, actor->Step(o, first[0], m2).logits));
  EXPECT_THROW(actor->LoadFlat(torch::zeros({3}), 1), std::invalid_argument);

  // to(): a new buffer on the new dtype, parameters still views into it.
  policy->to(torch::kFloat64);
  EXPECT_EQ(policy->flat_parameters().scalar_type(), torch::kFloat64);
  EXPECT_TRUE(torch::equal(concat(false), policy->flat_parameters()));
  policy->flat_parameters().fill_(0.25);
  for (const auto& p : policy->parameters()) EXPECT_EQ(p.max().item<double>(), 0.25);
}

}  // namespace
}  // namespace colony
