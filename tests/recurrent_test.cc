// The GRU and LSTM baselines (common/model/recurrent.h) keep the policy's defining properties:
//   * unroll mode reproduces step mode to 1e-5, with resets inside the unroll and from a state
//     carried over earlier steps, and leaves the same final state;
//   * nothing crosses an episode boundary (a different past before a reset changes nothing
//     after it, in either mode);
//   * the state travels in the Memory slot: shipped per column through its wire form, it
//     unrolls like the actor stepped; the parameter count is the documented formula.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "common/model/policy.h"
#include "common/model/recurrent.h"
#include "tests/tensor_test_util.h"

namespace colony {
namespace {

ModelConfig Recurrent(const std::string& kind) {
  ModelConfig c;
  c.kind = kind;
  c.obs_dim = 5;
  c.num_actions = 3;
  c.layers = 2;
  c.d_model = 16;
  return c;
}

class RecurrentTest : public ::testing::TestWithParam<std::string> {};

TEST_P(RecurrentTest, StepAndUnrollAgreeWithResetsAndCarriedState) {
  auto policy = MakePolicy(Recurrent(GetParam()));
  const std::int64_t warmup = 3, t = 7, b = 4;
  torch::manual_seed(2);
  const torch::Tensor obs = torch::randn({warmup + t, b, 5});
  torch::Tensor first = torch::zeros({t, b}, torch::kBool);
  first[2][1] = true;
  first[0][2] = true;
  first[1][3] = true;
  first[5][3] = true;
  Memory memory = policy->InitialMemory(b);
  EXPECT_EQ(memory.hidden.sizes(),
            (std::vector<std::int64_t>{2, RecurrentStateRows(GetParam()), b, 16}));
  for (std::int64_t i = 0; i < warmup; ++i) {
    policy->Step(obs[i], torch::full({b}, i == 0, torch::kBool), memory);
  }
  const Memory initial = memory.Clone();
  std::vector<torch::Tensor> logits, values;
  for (std::int64_t i = 0; i < t; ++i) {
    const StepOutput s = policy->Step(obs[warmup + i], first[i], memory);
    logits.push_back(s.logits);
    values.push_back(s.values);
  }
  const UnrollOutput u = policy->Unroll(obs.narrow(0, warmup, t), first, initial);
  EXPECT_LE(MaxAbsDiff(u.logits, torch::stack(logits)), 1e-5);
  EXPECT_LE(MaxAbsDiff(u.values, torch::stack(values)), 1e-5);
  EXPECT_LE(MaxAbsDiff(u.final_memory.hidden, memory.hidden), 1e-5);
  EXPECT_TRUE(torch::equal(u.final_memory.valid, memory.valid));
  EXPECT_GT(MaxAbsDiff(logits[0], logits[1]), 1e-6);
}

TEST_P(RecurrentTest, NothingLeaksAcrossAReset) {
  auto policy = MakePolicy(Recurrent(GetParam()));
  const std::int64_t t = 8, b = 2, reset = 3;
  torch::manual_seed(4);
  const torch::Tensor obs_a = torch::randn({t, b, 5});
  torch::Tensor obs_b = obs_a.clone();
  obs_b.narrow(0, 0, reset).normal_();
  torch::Tensor first = torch::zeros({t, b}, torch::kBool);
  first[reset].fill_(true);
  Memory mem_a = policy->InitialMemory(b), mem_b = policy->InitialMemory(b);
  for (int i = 0; i < 4; ++i) {  // different states before the unroll, too
    policy->Step(torch::randn({b, 5}), torch::full({b}, i == 0, torch::kBool), mem_a);
    policy->Step(torch::randn({b, 5}), torch::full({b}, i == 0, torch::kBool), mem_b);
  }
  const UnrollOutput a = policy->Unroll(obs_a, first, mem_a);
  const UnrollOutput u = policy->Unroll(obs_b, first, mem_b);
  EXPECT_GT(MaxAbsDiff(a.logits.narrow(0, 0, reset), u.logits.narrow(0, 0, reset)), 1e-4);
  EXPECT_TRUE(torch::equal(a.logits.narrow(0, reset, t - reset),
                           u.logits.narrow(0, reset, t - reset)));
  for (std::int64_t i = 0; i < t; ++i) {
    const StepOutput sa = policy->Step(obs_a[i], first[i], mem_a);
    const StepOutput sb = policy->Step(obs_b[i], first[i], mem_b);
    if (i >= reset) {
      EXPECT_TRUE(torch::equal(sa.logits, sb.logits)) << "step " << i;
    }
  }
}

TEST_P(RecurrentTest, ColumnsShippedThroughTheWireFormUnrollLikeTheActorStepped) {
  auto policy = MakePolicy(Recurrent(GetParam()));
  const std::int64_t e = 3, t = 5;
  torch::manual_seed(6);
  Memory memory = policy->InitialMemory(e);
  for (int i = 0; i < 3; ++i) {
    policy->Step(torch::randn({e, 5}), torch::full({e}, i == 0, torch::kBool), memory);
  }
  std::vector<Memory> shipped;
  for (std::int64_t col : {2, 0}) shipped.push_back(policy->MemoryFromFlat(memory.Select(col).Flatten()));
  const torch::Tensor obs = torch::randn({t, e, 5});
  torch::Tensor first = torch::zeros({t, e}, torch::kBool);
  first[3][0] = true;
  const UnrollOutput all = policy->Unroll(obs, first, memory);
  const torch::Tensor cols = torch::tensor({2, 0}, torch::kLong);
  const UnrollOutput two = policy->Unroll(obs.index_select(1, cols), first.index_select(1, cols),
                                          Memory::Stack(shipped));
  EXPECT_LE(MaxAbsDiff(two.logits, all.logits.index_select(1, cols)), 1e-5);
}

TEST_P(RecurrentTest, ParameterCountIsTheFormulaAndGradientsReachEveryCell) {
  const ModelConfig config = Recurrent(GetParam());
  auto policy = MakePolicy(config);
  EXPECT_EQ(policy->parameter_count(), RecurrentParameterCount(config));
  policy->ZeroGradients();
  torch::manual_seed(8);
  const UnrollOutput u = policy->Unroll(torch::randn({4, 2, 5}), torch::zeros({4, 2}, torch::kBool),
                                        policy->InitialMemory(2));
  (u.logits.sum() + u.values.sum()).backward();
  for (const Policy::Slot& slot : policy->layout()) {
    if (slot.name.rfind("cells.", 0) != 0) continue;
    EXPECT_GT(policy->flat_gradients()
                  .narrow(0, slot.offset, torch::tensor(slot.shape).prod().item<std::int64_t>())
                  .abs()
                  .sum()
                  .item<double>(),
              0.0)
        << slot.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, RecurrentTest, ::testing::Values("gru", "lstm"));

}  // namespace
}  // namespace colony
