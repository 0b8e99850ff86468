// Learning tests: `colony train --serial` must solve the task within a stated frame budget,
// with fixed seeds (checked on several seeds before the budget was fixed: docs/learning.md).
// Each test is registered as its own CTest (label "slow") so that they run in parallel.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "common/base/files.h"
#include "launch/train_serial.h"

namespace colony {
namespace {

TrainConfig LearningRun(const std::string& name, const std::string& env, const std::string& model,
                std::int64_t frames, std::int64_t seed) {
  TrainConfig config;
  config.serial = true;
  config.env = env;
  config.model.kind = model;
  config.total_frames = frames;
  config.seed = seed;
  config.report_every_s = 10;
  config.run_dir = TempPath("colony_learning_" + name);
  RemoveTree(config.run_dir);
  return config;
}

// Trains `model` on `env` serially (seed 1) for `frames` and expects a final mean return of at
// least `bar`.
void ExpectReaches(const std::string& tag, const std::string& env, const std::string& model,
                   std::int64_t frames, double bar) {
  const SerialResult result = RunSerialTraining(LearningRun(tag, env, model, frames, 1));
  EXPECT_GE(result.episode_return_mean, bar)
      << env << ", " << model << ", after " << result.frames << " frames";
}

// Every run below uses the default settings: only the task, the model, the seed and the frame
// budget are chosen here. A default that needs per-task flags is not a default.
TEST(Learning, GtrxlSolvesCartPole) {
  ExpectReaches("cartpole_gtrxl", "CartPole-v1", "gtrxl", COLONY_CARTPOLE_FRAMES, 475.0);
}

// The same task through the Gymnasium bridge: gymnasium.make("CartPole-v1") stepped in the
// embedded Python (common/env/python/), same budget.
TEST(Learning, GtrxlSolvesGymCartPole) {
  ExpectReaches("gym_cartpole_gtrxl", "gym:CartPole-v1", "gtrxl", COLONY_CARTPOLE_FRAMES, 475.0);
}

// The same task as a C plugin (examples/plugin_cartpole, the native dynamics bit for bit, its
// own start draws), loaded with dlopen: a smaller budget, to keep CI short (docs/learning.md).
TEST(Learning, GtrxlSolvesPluginCartPole) {
  ExpectReaches("plugin_cartpole_gtrxl", COLONY_CARTPOLE_PLUGIN_ENV, "gtrxl",
                COLONY_PLUGIN_CARTPOLE_FRAMES, 475.0);
}

// Trains the GTrXL (`gtrxl_frames`) and the memoryless MLP (COLONY_MEMORY_FRAMES) on `env`,
// seed 1: the GTrXL must reach `with_memory_min`, the MLP stay at or below `without_max`.
void ExpectMemoryMatters(const std::string& tag, const std::string& env,
                         std::int64_t gtrxl_frames, double with_memory_min, double without_max) {
  const SerialResult with_memory =
      RunSerialTraining(LearningRun(tag + "_gtrxl", env, "gtrxl", gtrxl_frames, 1));
  EXPECT_GE(with_memory.episode_return_mean, with_memory_min)
      << env << ", GTrXL, after " << with_memory.frames << " frames";
  const SerialResult without =
      RunSerialTraining(LearningRun(tag + "_mlp", env, "mlp", COLONY_MEMORY_FRAMES, 1));
  EXPECT_LE(without.episode_return_mean, without_max)
      << env << ": a memoryless policy stays near chance";
}

// TMaze:length=10 shows a cue only at the first step and asks for it 10 steps later, at the
// junction: +1 for the cued arm, -1 for the other. A memoryless policy is at chance (0); one with
// memory reaches +1.
TEST(Learning, GtrxlRemembersWhereMlpCannot) {
  ExpectMemoryMatters("tmaze", "TMaze:length=10", COLONY_MEMORY_FRAMES, 0.9, 0.3);
}

// RepeatPrevious:k=4 (POPGym): at every step, name the suit of the card dealt 3 steps before;
// +-1/48 per step, so chance is -0.5 and a perfect memory +1. Unlike TMaze, the value function
// has no use for the memory (future cards are random): only the policy's gradient can teach the
// transformer to look back, which is what this test guards (docs/learning.md).
TEST(Learning, GtrxlRepeatsThePreviousCardWhereMlpCannot) {
  ExpectMemoryMatters("repeat_previous", "RepeatPrevious:k=4", COLONY_CARD_FRAMES, 0.9, -0.3);
}

// The same task from the real POPGym package (PyPI `popgym`, installed by launch/setup) through
// the Gymnasium bridge: gym:popgym-RepeatPreviousEasy-v0 imports popgym to find the id.
TEST(Learning, GtrxlRepeatsThePopgymCardWhereMlpCannot) {
  ExpectMemoryMatters("popgym_repeat_previous", "gym:popgym-RepeatPreviousEasy-v0",
                      COLONY_CARD_FRAMES, 0.9, -0.3);
}

// A Box action space: Gymnasium's Pendulum-v1 (torque in [-2, 2]) through the bridge, with the
// diagonal Gaussian head (common/model/action_dist.h). A random policy scores about -1200 per
// 200-step episode; swinging up and balancing, -150 to -300.
TEST(Learning, GtrxlSwingsUpGymPendulum) {
  ExpectReaches("gym_pendulum_gtrxl", "gym:Pendulum-v1", "gtrxl", COLONY_PENDULUM_FRAMES, -300.0);
}

// The recurrent baseline (--model gru, common/model/recurrent.h) on the same TMaze: its state,
// carried in the memory slot and shipped with each trajectory, must hold the cue for 10 steps.
TEST(Learning, GruRemembersTheTMazeCue) {
  ExpectReaches("tmaze_gru", "TMaze:length=10", "gru", COLONY_MEMORY_FRAMES, 0.9);
}

// An image task: MiniGrid-Empty-5x5-v0 seen through its 7x7x3 uint8 view alone (a py: factory
// in tests/python), kept as bytes on the way to the learner and read by the IMPALA ResNet torso.
// Reward 1 - 0.9 x steps / 100 at the goal: the shortest path (5 steps) scores 0.955, a random
// policy 0.19 (39 % of its episodes reach the goal before the 100-step limit).
TEST(Learning, GtrxlFindsTheMiniGridGoalFromPixels) {
  ExpectReaches("minigrid_gtrxl", "py:colony_test_envs:minigrid_image", "gtrxl",
                COLONY_MINIGRID_FRAMES, 0.9);
}

}  // namespace
}  // namespace colony
