// The actor's trajectories and the serial trainer, end to end on small budgets:
//   * a rollout's flags, versions and observations fit together (first[t+1] marks exactly the
//     steps that ended an episode; truncation values only where truncated);
//   * the learner's update changes the weights and bumps the version;
//   * `colony train --serial` is deterministic for a seed and differs between seeds.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <string>

#include "actors/actor.h"
#include "common/base/files.h"
#include "common/env/registry.h"
#include "launch/train_serial.h"
#include "learner/learner.h"
#include "learner/optimizer.h"
#include "learner/training_run.h"
#include "tests/tensor_test_util.h"

namespace colony {
namespace {

std::shared_ptr<Policy> PolicyFor(const std::string& env_name, const std::string& kind,
                                  bool normalize_obs = false) {
  const auto probe = env::MakeBatchEnv(env_name, 1);
  ModelConfig config;
  config.kind = kind;
  config.normalize_obs = normalize_obs;
  config.obs_dim = probe->spec().obs_dim;
  config.num_actions = probe->spec().num_actions;
  config.layers = 1;
  config.d_model = 16;
  config.heads = 2;
  config.d_ff = 32;
  config.memory = 8;
  return MakePolicy(config);
}

// A second policy for the same environment and model, with `policy`'s weights.
std::shared_ptr<Policy> TwinOf(const std::shared_ptr<Policy>& policy, const std::string& env_name,
                               const std::string& kind) {
  auto twin = PolicyFor(env_name, kind);
  twin->flat_parameters().copy_(policy->flat_parameters());
  return twin;
}

// The arrangement several learner tests share: torch seeded with 5, an MLP for CartPole-v1, one
// batch of 16 steps from 4 environments acted on by it, and a config for that model.
struct CartPoleMlp {
  CartPoleMlp()
      : policy((torch::manual_seed(5), PolicyFor("CartPole-v1", "mlp"))),
        actor("CartPole-v1", 4, 1, 0, policy),
        batch(actor.Rollout(16)) {
    config.model.kind = "mlp";
  }
  std::shared_ptr<Policy> policy;
  Actor actor;
  const Trajectory batch;
  TrainConfig config;
};

TEST(Actor, RolloutFlagsObservationsAndVersionsAgree) {
  torch::manual_seed(3);
  auto policy = PolicyFor("CartPole-v1", "gtrxl");
  policy->set_version(7);
  Actor actor("CartPole-v1", /*num_envs=*/6, /*seed=*/11, /*rank=*/0, policy);
  const Trajectory first_part = actor.Rollout(40);
  const Trajectory second_part = actor.Rollout(40);
  for (const Trajectory* t : {&first_part, &second_part}) {
    EXPECT_EQ(t->obs.sizes(), (std::vector<int64_t>{41, 6, 4}));
    EXPECT_EQ(t->behaviour_logits.sizes(), (std::vector<int64_t>{40, 6, 2}));
    EXPECT_TRUE(t->policy_version.eq(7).all().item<bool>());
    EXPECT_TRUE((t->first.slice(0, 1) == (t->terminated | t->truncated)).all().item<bool>());
    EXPECT_TRUE(t->truncation_values.masked_select(t->truncated.logical_not()).eq(0).all()
                    .item<bool>());
    EXPECT_TRUE(t->rewards.eq(1).all().item<bool>()) << "CartPole pays 1 every step";
    EXPECT_EQ(t->initial_memory.batch(), 6);
  }
  EXPECT_TRUE(first_part.first[0].all().item<bool>()) << "every env starts an episode";
  // The second rollout continues where the first stopped.
  EXPECT_TRUE(second_part.obs[0].equal(first_part.obs[40]));
  EXPECT_TRUE(second_part.first[0].equal(first_part.first[40]));
  // Random CartPole episodes last ~20 steps: some ended within 80 steps, and were counted.
  EXPECT_GT(first_part.terminated.sum().item<int64_t>(), 0);
  EXPECT_EQ(static_cast<int64_t>(actor.DrainEpisodes().size()),
            (first_part.terminated | first_part.truncated).sum().item<int64_t>() +
                (second_part.terminated | second_part.truncated).sum().item<int64_t>());
  EXPECT_TRUE(actor.DrainEpisodes().empty());
}

// A fault in env 1 (the test plugin fails every 3rd step of that env) drops its episode: the
// step is recorded as truncated with reward 0 and the value of its own observation as the
// bootstrap, and no return is reported for it; env 0's 10-step episode is reported as usual.
TEST(Actor, AFaultDropsTheEpisode) {
  const std::string env = std::string("plugin:") + COLONY_TEST_PLUGIN_DIR +
                          "/test_plugin.so:fail_every=3,fail_env=1,length=10";
  torch::manual_seed(4);
  auto policy = PolicyFor(env, "mlp");
  Actor actor(env, /*num_envs=*/2, /*seed=*/5, /*rank=*/0, policy);
  const Trajectory t = actor.Rollout(12);
  EXPECT_EQ(actor.env_errors(), 4);
  for (int step : {2, 5, 8, 11}) {
    SCOPED_TRACE("step " + std::to_string(step));
    EXPECT_TRUE(t.truncated[step][1].item<bool>());
    EXPECT_FALSE(t.terminated[step][1].item<bool>());
    EXPECT_EQ(t.rewards[step][1].item<float>(), 0.0f);
    EXPECT_TRUE(t.first[step + 1][1].item<bool>()) << "the env was reset";
    Memory none = policy->InitialMemory(1);
    const float own_value =
        policy->Step(t.obs[step].slice(0, 1, 2), torch::zeros({1}, torch::kBool), none)
            .values[0]
            .item<float>();
    EXPECT_FLOAT_EQ(t.truncation_values[step][1].item<float>(), own_value);
  }
  const auto episodes = actor.DrainEpisodes();
  ASSERT_EQ(episodes.size(), 1u) << "only env 0's episode; env 1's four were dropped";
  EXPECT_EQ(episodes[0].env_index, 0);
  EXPECT_EQ(episodes[0].length, 10);
  EXPECT_EQ(episodes[0].episode_return, 10.0);
}

TEST(Learner, UpdateChangesWeightsAndBumpsTheVersion) {
  torch::manual_seed(5);
  auto policy = PolicyFor("RepeatPrevious:k=2", "gtrxl");
  Actor actor("RepeatPrevious:k=2", 4, 1, 0, policy);
  TrainConfig config;
  Learner learner(policy, config, /*collective=*/nullptr);
  const auto before = policy->flat_parameters().clone();
  const UpdateStats stats = learner.Update(actor.Rollout(16), /*frames=*/64);
  EXPECT_EQ(stats.version, 1);
  EXPECT_EQ(policy->version(), 1);
  EXPECT_TRUE(std::isfinite(stats.total_loss));
  EXPECT_GT(stats.grad_norm, 0.0);
  EXPECT_NEAR(stats.mean_rho, 1.0, 1e-5) << "the actor acted with these very weights";
  EXPECT_GT(stats.advantage_std, 0.0);
  EXPECT_NEAR(stats.entropy_weight,
              config.loss.entropy_cost + config.loss.entropy_per_advantage * stats.advantage_std,
              1e-12);
  EXPECT_FALSE(policy->flat_parameters().equal(before));
}

// --epochs N is N optimiser steps on one batch: the same weights as N updates on that batch
// (return normalisation off, so nothing else differs), but one version.
TEST(Learner, EpochsAreOptimiserStepsOnTheSameBatch) {
  torch::manual_seed(6);
  auto policy = PolicyFor("RepeatPrevious:k=2", "gtrxl");
  auto twin = TwinOf(policy, "RepeatPrevious:k=2", "gtrxl");
  Actor actor("RepeatPrevious:k=2", 4, 1, 0, policy);
  const Trajectory batch = actor.Rollout(16);
  TrainConfig config;
  config.loss.normalize_returns = false;
  TrainConfig three_epochs = config;
  three_epochs.epochs = 3;
  Learner learner(policy, three_epochs, /*collective=*/nullptr);
  Learner one_pass(twin, config, /*collective=*/nullptr);

  const UpdateStats stats = learner.Update(batch, /*frames=*/64);
  EXPECT_EQ(stats.version, 1) << "one batch, one version however many passes";
  EXPECT_NEAR(stats.mean_rho, 1.0, 1e-5) << "the first pass's numbers: on-policy";
  for (int pass = 0; pass < 3; ++pass) one_pass.Update(batch, /*frames=*/64);
  EXPECT_EQ(twin->version(), 3);
  EXPECT_TRUE(torch::allclose(policy->flat_parameters(), twin->flat_parameters(), 1e-6, 1e-7))
      << "three passes = three updates on the same batch";
  // A second pass starts off-policy: its ratios are no longer 1.
  EXPECT_GT(learner.Update(batch, 64).kl, 0.0);
}

// --epochs left at its default is the model's (WithModelDefaults): four passes for the mlp, the
// same weights as an explicit --epochs 4, and not those of one pass.
TEST(Learner, DefaultEpochsAreTheModels) {
  torch::manual_seed(7);
  auto policy = PolicyFor("CartPole-v1", "mlp");
  auto four = TwinOf(policy, "CartPole-v1", "mlp");
  auto one = TwinOf(policy, "CartPole-v1", "mlp");
  Actor actor("CartPole-v1", 4, 1, 0, policy);
  const Trajectory batch = actor.Rollout(16);
  TrainConfig config;
  config.model.kind = "mlp";
  config.loss.normalize_returns = false;
  ASSERT_EQ(config.epochs, TrainConfig::kModelDefault);
  TrainConfig explicit_four = config, explicit_one = config;
  explicit_four.epochs = 4;
  explicit_one.epochs = 1;
  Learner(policy, config, /*collective=*/nullptr).Update(batch, /*frames=*/64);
  Learner(four, explicit_four, /*collective=*/nullptr).Update(batch, /*frames=*/64);
  Learner(one, explicit_one, /*collective=*/nullptr).Update(batch, /*frames=*/64);
  EXPECT_TRUE(torch::allclose(policy->flat_parameters(), four->flat_parameters(), 1e-6, 1e-7));
  EXPECT_FALSE(torch::allclose(policy->flat_parameters(), one->flat_parameters(), 1e-6, 1e-7));
}

// --popart is on by default for discrete action spaces only; Box ones need --popart-box too, and
// neither applies without --normalize-returns (there is no statistic to follow).
TEST(Learner, PopartAppliesToDiscreteActionsUnlessBoxIsAsked) {
  LossConfig loss;
  EXPECT_TRUE(UsesPopart(loss, /*continuous_actions=*/false));
  EXPECT_FALSE(UsesPopart(loss, /*continuous_actions=*/true));
  loss.popart_box = true;
  EXPECT_TRUE(UsesPopart(loss, /*continuous_actions=*/true));
  loss.normalize_returns = false;
  EXPECT_FALSE(UsesPopart(loss, /*continuous_actions=*/false));
  EXPECT_FALSE(UsesPopart(loss, /*continuous_actions=*/true));
  loss.normalize_returns = true;
  loss.popart = false;
  EXPECT_FALSE(UsesPopart(loss, /*continuous_actions=*/false));
  EXPECT_FALSE(UsesPopart(loss, /*continuous_actions=*/true));
}

// --popart: with the learning rate at 0 an update changes nothing but the value head's scale,
// so the values times the return scale the next update will use stay what they were in reward
// units (the first update used scale 1); without it the head keeps its normalised outputs.
TEST(Learner, PopartKeepsTheValuesInRewardUnits) {
  CartPoleMlp arranged;
  auto& [policy, actor, batch, config] = arranged;
  auto values = [&] {
    torch::NoGradGuard no_grad;
    return policy->Unroll(batch.obs, batch.first, batch.initial_memory).values.clone();
  };
  config.optimizer.learning_rate = 0.0;
  for (const bool popart : {false, true}) {
    SCOPED_TRACE(popart ? "--popart" : "--no-popart");
    config.loss.popart = popart;
    Learner learner(policy, config, /*collective=*/nullptr);
    const torch::Tensor before = values();
    learner.Update(batch, /*frames=*/64);
    const double scale = std::sqrt(learner.return_mean_square());
    ASSERT_GT(scale, 2.0) << "CartPole's returns: the scale must move for the test to mean much";
    const torch::Tensor after = values();
    if (popart) {
      EXPECT_TRUE(torch::allclose(after * scale, before, 1e-5, 1e-6));
      // Another batch moves the statistic a little (the same batch would not: its targets in
      // reward units are what they were), and again the values follow.
      learner.Update(actor.Rollout(16), /*frames=*/128);
      const double next = std::sqrt(learner.return_mean_square());
      EXPECT_NE(next, scale);
      EXPECT_TRUE(torch::allclose(values() * next, after * scale, 1e-5, 1e-6));
    } else {
      EXPECT_TRUE(torch::equal(after, before));
    }
  }
}

// A checkpoint carries --normalize-returns' statistic: a learner resumed from it takes the same
// next step as the one that wrote it. (Before checkpoint format 2 a resumed learner divided its
// first batch's rewards by 1, a jolt to a value head trained at another scale.)
TEST(Learner, ResumedLearnerKeepsTheReturnScale) {
  CartPoleMlp arranged;
  auto& [policy, actor, batch, config] = arranged;
  config.env = "CartPole-v1";
  config.run_dir = TempPath("colony_resume_return_scale");
  RemoveTree(config.run_dir);
  Learner learner(policy, config, /*collective=*/nullptr);
  for (int update = 1; update <= 3; ++update) learner.Update(batch, /*frames=*/64 * update);
  ASSERT_GT(learner.return_mean_square(), 4.0) << "the scale must differ from 1 to matter";
  TrainConfig resume = config;
  {
    TrainingRun run(config, learner, /*lead=*/true, /*learners=*/1, "test run", {});
    resume.resume = run.Checkpoint();
  }
  auto twin = PolicyFor("CartPole-v1", "mlp");
  Learner resumed(twin, resume, /*collective=*/nullptr);
  TrainingRun::Resume(resume, resumed);
  EXPECT_EQ(resumed.return_mean_square(), learner.return_mean_square());
  learner.Update(batch, /*frames=*/256);
  resumed.Update(batch, /*frames=*/256);
  EXPECT_TRUE(torch::equal(twin->flat_parameters(), policy->flat_parameters()));
  RemoveTree(config.run_dir);
}

// --value-warmup-frames N: an update at fewer than N frames trains the value function alone,
// so the policy's head (its own weights; the trunk is shared) is untouched; from N frames on
// it learns again.
TEST(Learner, ValueWarmupHoldsThePolicyHeadUntilItsFrames) {
  CartPoleMlp arranged;
  auto& [policy, actor, batch, config] = arranged;
  config.epochs = 1;
  config.loss.value_warmup_frames = 128;
  Learner learner(policy, config, /*collective=*/nullptr);
  auto head = [&] { return policy->named_parameters()["policy_head.weight"].detach().clone(); };
  const torch::Tensor before = head();
  const torch::Tensor all_before = policy->flat_parameters().clone();
  EXPECT_EQ(learner.Update(batch, /*frames=*/64).entropy_weight, 0.0);
  EXPECT_TRUE(torch::equal(head(), before));
  EXPECT_FALSE(torch::equal(policy->flat_parameters(), all_before));  // the value learned
  learner.Update(batch, /*frames=*/128);
  EXPECT_FALSE(torch::equal(head(), before));
}

// --entropy-decay: the bonus's weight (fixed part and per-advantage part) is the undecayed one
// times the budget left, as the lr: whole at frame 0, a quarter at 3/4 of the budget, 0 at the end.
TEST(Learner, EntropyDecayScalesTheBonusByTheBudgetLeft) {
  CartPoleMlp arranged;
  auto& [policy, actor, batch, config] = arranged;
  config.epochs = 1;
  config.total_frames = 1000;
  config.loss.entropy_cost = 0.002;
  config.loss.entropy_decay = true;
  Learner learner(policy, config, /*collective=*/nullptr);
  const auto expected = [&](const UpdateStats& stats, double left) {
    return left * (0.002 + config.loss.entropy_per_advantage * stats.advantage_std);
  };
  const UpdateStats first = learner.Update(batch, /*frames=*/0);
  EXPECT_GT(first.entropy_weight, 0.002);
  EXPECT_NEAR(first.entropy_weight, expected(first, 1.0), 1e-12);
  const UpdateStats late = learner.Update(batch, /*frames=*/750);
  EXPECT_NEAR(late.entropy_weight, expected(late, 0.25), 1e-12);
  EXPECT_EQ(learner.Update(batch, /*frames=*/1000).entropy_weight, 0.0);
  EXPECT_EQ(learner.Update(batch, /*frames=*/1200).entropy_weight, 0.0) << "past the budget";
}

// --normalize-obs: after its passes an update takes the batch's observation statistics in (the
// first batch whole), and the optimiser leaves them alone: the passes trained with the old ones.
TEST(Learner, NormalizeObsTakesTheBatchStatisticsAfterItsPasses) {
  torch::manual_seed(8);
  auto policy = PolicyFor("CartPole-v1", "mlp", /*normalize_obs=*/true);
  Actor actor("CartPole-v1", 4, 1, 0, policy);
  const Trajectory batch = actor.Rollout(16);
  TrainConfig config;
  config.epochs = 2;
  Learner learner(policy, config, /*collective=*/nullptr);
  learner.Update(batch, /*frames=*/64);
  const auto rows = batch.obs.reshape({-1, 4});
  const auto flat = policy->flat_parameters();
  EXPECT_LE(MaxAbsDiff(flat.narrow(0, 0, 4), rows.mean(0)), 1e-5);
  EXPECT_LE(MaxAbsDiff(flat.narrow(0, 4, 4), rows.var(0, /*unbiased=*/false)), 1e-5);
  EXPECT_EQ(policy->obs_stats_batches(), 1);
  learner.Update(actor.Rollout(16), /*frames=*/128);
  EXPECT_EQ(policy->obs_stats_batches(), 2);
}

// --grad-clip-ratio: a gradient far above the running mean of recent norms is clipped to that
// multiple of it; the norm reported is the one before clipping, and the first step (no mean
// yet) and steps near the mean are left alone.
TEST(Optimizer, GradClipRatioBoundsASpikeByTheRecentNorms) {
  torch::Tensor weight = torch::zeros({4}, torch::requires_grad());
  OptimizerConfig config;
  config.grad_clip = 40.0;
  config.grad_clip_ratio = 3.0;
  Optimizer optimizer({weight}, config, /*total_frames=*/0);
  auto step = [&](double norm) {
    weight.mutable_grad() = torch::full({4}, norm / 2.0);  // |(n/2, n/2, n/2, n/2)| = n
    const Optimizer::StepInfo info = optimizer.Step(0);
    EXPECT_NEAR(info.grad_norm, norm, 1e-4 * norm);
    return std::make_pair(weight.grad().norm().item<double>(), info.clip_norm);
  };
  EXPECT_NEAR(step(5.0).first, 5.0, 1e-4) << "the first step has no mean to compare with";
  for (int i = 0; i < 150; ++i) EXPECT_NEAR(step(1.0).first, 1.0, 1e-4);
  // The mean is now 1 + 4 * 0.95^150 = 1.002, so a norm of 30 is clipped to ~3.
  const auto [after, limit] = step(30.0);
  EXPECT_NEAR(limit, 3.0, 0.05);
  EXPECT_NEAR(after, limit, 1e-3);
  // The fixed clip still applies where it is lower.
  config.grad_clip_ratio = 0.0;
  config.grad_clip = 2.0;
  Optimizer fixed({weight}, config, 0);
  weight.mutable_grad() = torch::full({4}, 15.0);
  EXPECT_NEAR(fixed.Step(0).grad_norm, 30.0, 1e-3);
  EXPECT_NEAR(weight.grad().norm().item<double>(), 2.0, 1e-4);
}

// --target-kl: the learner measures how far each update moved the policy on its batch, and
// brakes the learning rate (x1/1.5, down to 0.01x) while that is above twice the target; below
// half of it the scale comes back, never above 1. Off, nothing is measured and the lr is the
// schedule's.
TEST(Learner, TargetKlScalesTheLearningRate) {
  torch::manual_seed(9);
  auto policy = PolicyFor("CartPole-v1", "mlp");
  auto twin = TwinOf(policy, "CartPole-v1", "mlp");
  Actor actor("CartPole-v1", 4, 1, 0, policy);
  const Trajectory batch = actor.Rollout(16);
  TrainConfig config;
  config.model.kind = "mlp";
  config.epochs = 1;
  config.optimizer.linear_decay = false;
  config.optimizer.learning_rate = 0.01;

  Learner off(twin, config, /*collective=*/nullptr);
  const UpdateStats plain = off.Update(batch, /*frames=*/64);
  EXPECT_TRUE(std::isnan(plain.update_kl));
  EXPECT_DOUBLE_EQ(plain.learning_rate, 0.01);
  EXPECT_DOUBLE_EQ(off.optimizer().learning_rate_scale(), 1.0);

  config.optimizer.target_kl = 1e-12;  // any step moves the policy more than this
  Learner braked(policy, config, /*collective=*/nullptr);
  const UpdateStats first = braked.Update(batch, 64);
  EXPECT_GT(first.update_kl, 2e-12);
  EXPECT_TRUE(std::isfinite(first.update_kl));
  EXPECT_DOUBLE_EQ(first.learning_rate, 0.01) << "the scale acts from the next update on";
  EXPECT_NEAR(braked.optimizer().learning_rate_scale(), 1 / 1.5, 1e-12);
  EXPECT_NEAR(braked.Update(batch, 64).learning_rate, 0.01 / 1.5, 1e-12);
  for (int i = 0; i < 20; ++i) braked.Update(batch, 64);
  EXPECT_NEAR(braked.optimizer().learning_rate_scale(), 0.01, 1e-12) << "the floor";

  // A target far above what a step moves: the scale climbs back by 1.5x per update, up to 1.
  TrainConfig loose = config;
  loose.optimizer.target_kl = 1e6;
  Learner loose_learner(policy, loose, /*collective=*/nullptr);
  loose_learner.optimizer().set_learning_rate_scale(0.5);
  loose_learner.Update(batch, 64);
  EXPECT_NEAR(loose_learner.optimizer().learning_rate_scale(), 0.75, 1e-12);
  loose_learner.Update(batch, 64);
  EXPECT_DOUBLE_EQ(loose_learner.optimizer().learning_rate_scale(), 1.0);
}

// --max-kl: an update that moved the policy by more than max_kl on its batch keeps only
// sqrt(max_kl / KL) of its step, exactly that fraction of the unbounded update; one below the
// bound is left whole.
TEST(Learner, MaxKlShrinksAStepThatMovedThePolicyTooFar) {
  torch::manual_seed(10);
  auto bounded = PolicyFor("CartPole-v1", "mlp");
  auto plain = TwinOf(bounded, "CartPole-v1", "mlp");
  const torch::Tensor before = bounded->flat_parameters().clone();
  Actor actor("CartPole-v1", 4, 1, 0, bounded);
  const Trajectory batch = actor.Rollout(16);
  TrainConfig config;
  config.model.kind = "mlp";
  config.epochs = 1;
  config.optimizer.learning_rate = 0.01;
  config.loss.popart = false;  // the optimiser's step alone: no value-head rescale after it
  const UpdateStats unbounded = Learner(plain, config, /*collective=*/nullptr).Update(batch, 64);
  EXPECT_TRUE(std::isnan(unbounded.update_kl));
  EXPECT_EQ(unbounded.step_fraction, 1.0);

  config.optimizer.max_kl = 1e-6;
  const UpdateStats stats = Learner(bounded, config, /*collective=*/nullptr).Update(batch, 64);
  ASSERT_GT(stats.update_kl, 1e-6) << "the test needs a step that moves the policy more";
  EXPECT_NEAR(stats.step_fraction, std::sqrt(1e-6 / stats.update_kl), 1e-12);
  const torch::Tensor step = plain->flat_parameters() - before;
  EXPECT_LE(MaxAbsDiff(bounded->flat_parameters() - before, step * stats.step_fraction), 1e-7);
  EXPECT_GT(step.abs().max().item<double>(), 1e-4);

  auto roomy = PolicyFor("CartPole-v1", "mlp");
  roomy->flat_parameters().copy_(before);
  config.optimizer.max_kl = 1e6;
  const UpdateStats whole = Learner(roomy, config, /*collective=*/nullptr).Update(batch, 64);
  EXPECT_TRUE(std::isfinite(whole.update_kl));
  EXPECT_EQ(whole.step_fraction, 1.0);
  EXPECT_LE(MaxAbsDiff(roomy->flat_parameters(), plain->flat_parameters()), 1e-7);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TrainConfig SmallRun(const std::string& dir, std::int64_t seed) {
  TrainConfig config;
  config.serial = true;
  config.env = "CartPole-v1";
  config.model.kind = "gtrxl";
  config.model.layers = 1;
  config.model.d_model = 16;
  config.model.heads = 2;
  config.model.d_ff = 32;
  config.model.memory = 8;
  config.envs_per_actor = 8;
  config.unroll = 8;
  config.batch = 4;  // two updates per rollout: the second one is off-policy by one version
  config.total_frames = 2048;
  config.seed = seed;
  config.report_every_s = 1e9;  // only the final record
  config.run_dir = TempPath(dir);
  RemoveTree(config.run_dir);
  return config;
}

TEST(SerialTraining, IsDeterministicPerSeedAndWritesTheRunDirectory) {
  const auto a = SmallRun("colony_serial_a", 42);
  const auto b = SmallRun("colony_serial_b", 42);
  const auto c = SmallRun("colony_serial_c", 43);
  const SerialResult ra = RunSerialTraining(a);
  const SerialResult rb = RunSerialTraining(b);
  RunSerialTraining(c);
  EXPECT_EQ(ra.frames, 2048);
  EXPECT_EQ(ra.learner_steps, 2048 / 32);
  EXPECT_EQ(ra.episodes, rb.episodes);
  EXPECT_EQ(ra.episode_return_mean, rb.episode_return_mean);
  EXPECT_EQ(ReadFile(a.run_dir + "/final.safetensors"), ReadFile(b.run_dir + "/final.safetensors"));
  EXPECT_NE(ReadFile(a.run_dir + "/final.safetensors"), ReadFile(c.run_dir + "/final.safetensors"));

  const std::string metrics = ReadFile(a.run_dir + "/metrics.jsonl");
  for (const char* key : {"\"frames\":2048", "\"wall_s\":", "\"learner_steps\":64",
                          "\"episode_return_mean\":", "\"episodes\":", "\"fps\":",
                          "\"policy_lag_max\":1", "\"entropy_weight\":"}) {
    EXPECT_NE(metrics.find(key), std::string::npos) << key << " missing in " << metrics;
  }
  EXPECT_NE(ReadFile(a.run_dir + "/config.json").find("\"unroll\": 8"), std::string::npos);
}

// config.json records the policy's shape as the environment gave it, not the flags' defaults
// (CartPole's 4 observations and 2 actions, which it recorded for every environment before).
TEST(SerialTraining, ConfigJsonRecordsTheEnvironmentsShape) {
  const auto config_json_of = [](const std::string& env) {
    auto config = SmallRun("colony_serial_shape", 1);
    config.env = env;
    config.total_frames = 256;
    RunSerialTraining(config);
    return ReadFile(config.run_dir + "/config.json");
  };
  const std::string repeat = config_json_of("RepeatPrevious:k=4");  // 4 floats, Discrete(4)
  EXPECT_NE(repeat.find("\"num_actions\": 4"), std::string::npos) << repeat;
  const std::string tmaze = config_json_of("TMaze:length=10");  // 3 floats, Discrete(2)
  EXPECT_NE(tmaze.find("\"obs_dim\": 3"), std::string::npos) << tmaze;
}

}  // namespace
}  // namespace colony
