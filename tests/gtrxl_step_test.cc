// The GTrXL's fast step (common/model/gtrxl_step.h) against the reference step: GtrxlPolicy's
// Forward with T = 1, reached here through Unroll under NoGradGuard (what Step ran before the
// fast path existed). Checked over many steps with resets, at E = 1 and E > 1, across weight
// changes of every kind (the actor loads new weights between steps), and for Memory's value
// semantics (copies never change under a later step of the original).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "common/model/gtrxl.h"
#include "common/model/policy.h"
#include "tests/tensor_test_util.h"

namespace colony {
namespace {

ModelConfig Config(std::int64_t memory, std::int64_t d_model = 16) {
  ModelConfig c;
  c.obs_dim = 5;
  c.num_actions = 3;
  c.layers = 2;
  c.d_model = d_model;
  c.heads = 4;
  c.d_ff = 2 * d_model;
  c.memory = memory;
  return c;
}

// The reference step: Forward with T = 1 and no gradient, keeping its own key/value cache, with
// attention op by op (not attention_kernel.h's loops, which model_test holds to it).
StepOutput ReferenceStep(Policy& policy, const torch::Tensor& obs, const torch::Tensor& first,
                         Memory& memory) {
  torch::NoGradGuard no_grad;
  SetFusedCpuAttention(false);
  UnrollOutput u = policy.Unroll(obs.unsqueeze(0), first.unsqueeze(0), memory);
  SetFusedCpuAttention(true);
  memory = std::move(u.final_memory);
  return {u.logits.squeeze(0), u.values.squeeze(0)};
}

void ExpectSame(const StepOutput& fast, const Memory& fast_memory, const StepOutput& ref,
                const Memory& ref_memory, const std::string& where) {
  EXPECT_LE(MaxAbsDiff(fast.logits, ref.logits), 1e-5) << where;
  EXPECT_LE(MaxAbsDiff(fast.values, ref.values), 1e-5) << where;
  EXPECT_LE(MaxAbsDiff(fast_memory.hidden, ref_memory.hidden), 1e-5) << where;
  EXPECT_TRUE(torch::equal(fast_memory.valid, ref_memory.valid)) << where;
}

// Steps both paths side by side for `steps` steps with resets at rate 0.1, calling
// `between(step)` before each step (weight changes go there).
void RunSideBySide(Policy& policy, std::int64_t envs, int steps,
                   const std::function<void(int)>& between) {
  torch::manual_seed(envs * 31 + policy.config().memory);
  Memory fast = policy.InitialMemory(envs), ref = policy.InitialMemory(envs);
  for (int i = 0; i < steps; ++i) {
    between(i);
    const torch::Tensor obs = torch::randn({envs, policy.config().obs_dim});
    const torch::Tensor first = i == 0 ? torch::ones({envs}, torch::kBool)
                                       : torch::rand({envs}) < 0.1;
    const StepOutput f = policy.Step(obs, first, fast);
    const StepOutput r = ReferenceStep(policy, obs, first, ref);
    ASSERT_TRUE(fast.ring) << "the fast path ran";
    ExpectSame(f, fast, r, ref, "E = " + std::to_string(envs) + ", step " + std::to_string(i));
    if (::testing::Test::HasFailure()) return;
  }
}

TEST(GtrxlStep, MatchesTheReferenceOverManyStepsWithResets) {
  for (const std::int64_t memory : {1, 4, 9}) {
    auto policy = MakePolicy(Config(memory));
    for (const std::int64_t envs : {1, 7}) {
      RunSideBySide(*policy, envs, /*steps=*/3 * static_cast<int>(memory) + 40, [](int) {});
    }
  }
  // Widths the attention kernel reads in plain loops (24: not a multiple of 16) and in vectors
  // with two 16-row blocks per head (128: head width 32), and a memory of one 16-slot block plus
  // four single slots.
  for (const std::int64_t d_model : {24, 128}) {
    auto policy = MakePolicy(Config(/*memory=*/20, d_model));
    RunSideBySide(*policy, /*envs=*/5, /*steps=*/50, [](int) {});
  }
  // The default model's shape (d_model 64, memory 64), with gate weights away from the identity.
  ModelConfig c;
  c.obs_dim = 5;
  auto policy = MakePolicy(c);
  {
    torch::NoGradGuard no_grad;
    policy->flat_parameters().add_(torch::randn({policy->parameter_count()}) * 0.05);
  }
  RunSideBySide(*policy, /*envs=*/16, /*steps=*/80, [](int) {});
}

TEST(GtrxlStep, FollowsEveryKindOfWeightChange) {
  auto policy = MakePolicy(Config(/*memory=*/6));
  auto other = MakePolicy(Config(/*memory=*/6));
  std::int64_t offset = -1;
  for (const auto& slot : policy->layout()) {
    if (slot.name == "blocks.1.key_value.weight") offset = slot.offset;
  }
  ASSERT_GE(offset, 0);
  for (const std::int64_t envs : {1, 5}) {
    RunSideBySide(*policy, envs, /*steps=*/60, [&](int step) {
      torch::NoGradGuard no_grad;
      if (step == 10) policy->LoadFlat(other->flat_parameters(), /*version=*/step);
      if (step == 20) policy->named_parameters()["blocks.0.key_value.weight"].add_(0.3);
      if (step == 30) policy->named_parameters()["blocks.1.position.weight"].mul_(1.5);
      if (step == 40) policy->flat_parameters().mul_(0.9);
      if (step == 50) {  // a raw write, as an MPI receive does, then set_version
        std::memset(policy->flat_parameters().data_ptr<float>() + offset, 0, 64 * sizeof(float));
        policy->set_version(step);
      }
    });
  }
}

TEST(GtrxlStep, CopiesOfMemoryNeverChangeUnderLaterSteps) {
  auto policy = MakePolicy(Config(/*memory=*/4));
  const std::int64_t envs = 3;
  torch::manual_seed(2);
  Memory memory = policy->InitialMemory(envs);
  for (int i = 0; i < 6; ++i) {
    policy->Step(torch::randn({envs, 5}), torch::full({envs}, i == 0, torch::kBool), memory);
  }
  const Memory shallow = memory;          // shares tensors, as a struct copy does
  const torch::Tensor row = memory.hidden[1];  // a view someone kept
  const Memory deep = memory.Clone();
  const torch::Tensor first = torch::tensor({true, false, false});  // a reset zeroes a column
  for (int i = 0; i < 8; ++i) {
    policy->Step(torch::randn({envs, 5}), i == 0 ? first : torch::zeros({envs}, torch::kBool),
                 memory);
  }
  EXPECT_TRUE(torch::equal(shallow.hidden, deep.hidden));
  EXPECT_TRUE(torch::equal(shallow.valid, deep.valid));
  EXPECT_TRUE(torch::equal(row, deep.hidden[1]));
  // And stepping the copy continues from where it was, like the reference does.
  Memory copy = shallow, ref = deep.Clone();
  const torch::Tensor obs = torch::randn({envs, 5});
  const torch::Tensor none = torch::zeros({envs}, torch::kBool);
  const StepOutput f = policy->Step(obs, none, copy);
  const StepOutput r = ReferenceStep(*policy, obs, none, ref);
  ExpectSame(f, copy, r, ref, "stepping a copy");
  // Edits to the memory a step handed out are seen by the next step.
  Memory edited = memory.Clone(), ref_edited = memory.Clone();
  policy->Step(obs, none, edited);
  ReferenceStep(*policy, obs, none, ref_edited);
  {
    torch::NoGradGuard no_grad;
    edited.hidden[0][2].mul_(2.0);
    ref_edited.hidden[0][2].mul_(2.0);
  }
  const StepOutput fe = policy->Step(obs, none, edited);
  const StepOutput re = ReferenceStep(*policy, obs, none, ref_edited);
  ExpectSame(fe, edited, re, ref_edited, "after an in-place edit");
}

}  // namespace
}  // namespace colony
