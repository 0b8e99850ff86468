// Gymnasium v5's MuJoCo locomotion tasks as native batched environments: HalfCheetah-v5, Hopper-v5,
// Walker2d-v5 and Ant-v5, on the MuJoCo C library (PyPI's `mujoco`/`mujoco-core` wheel in Colony's
// venv, or a MuJoCo of your own: see CMake's COLONY_MUJOCO_DIR).
//
// In: Box actions (one float per actuator, within the actuators' control ranges). Out: float32
// observations laid out as Gymnasium's float64 ones (qpos without the root's x (Ant: x and y), qvel
// (clipped to +-10 for Hopper and Walker2d), Ant's clipped external contact forces), the v5 reward
// terms (forward velocity, control cost, Ant's contact cost, healthy reward), the v5 termination
// rules and TimeLimit's truncation at 1000 steps.
//
// What "the same as Gymnasium" takes (tests/mujoco_test.cc checks it against recorded episodes,
// tests/data/make_mujoco_reference.py):
//   * the models are Gymnasium's own XML files, read at run time from the installed package
//     (nothing of them is copied here): COLONY_MUJOCO_ASSETS overrides where;
//   * the same MuJoCo calls in the same order: mj_resetData, the state set, mj_forward on reset;
//     frame_skip x mj_step per step, then mj_rnePostConstraint where contact forces are read (Ant;
//     the other tasks read nothing it computes, so it is skipped);
//   * the rewards computed in Gymnasium's precision and order: the control cost in float32 (the
//     action is float32, and under numpy 2's promotion rules so is the cost), sums in numpy's
//     pairwise order, everything else in float64.
// Starts: qpos0 plus uniform noise in [-scale, scale] per coordinate, qvel uniform (Hopper,
// Walker2d) or scale times a standard normal (HalfCheetah, Ant), drawn from our own generator
// (rng.h), so they cannot match numpy's; comparisons set the state with SetState (qpos, qvel).
//
// Unstable physics (MuJoCo's "bad qpos/qvel/qacc" warnings, which make MuJoCo reset the data
// itself) ends the episode as truncated with reward 0, counted in env_errors() and marked by
// StepFaulted, like a fault in user code: the episode is dropped, never a crash.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/env/env.h"
#include "common/env/registry.h"

namespace colony::env {

enum class LocomotionTask { kHalfCheetah, kHopper, kWalker2d, kAnt };

// Every setting of a task; Gymnasium v5's keyword arguments of the same names (its range tuples as
// _min/_max pairs). Defaults are per task (LocomotionEnvs()).
struct LocomotionConfig {
  LocomotionTask task = LocomotionTask::kHalfCheetah;
  std::string name;      // canonical: "Hopper-v5" or "Hopper-v5:ctrl_cost_weight=0.01"
  std::string xml_file;  // in Gymnasium's assets folder
  int frame_skip = 5;
  std::int64_t max_episode_steps = 1000;
  double forward_reward_weight = 1.0;
  double ctrl_cost_weight = 0.1;
  double contact_cost_weight = 0.0;  // Ant
  double healthy_reward = 0.0;       // Hopper, Walker2d, Ant
  bool terminate_when_unhealthy = false;
  double healthy_z_min = 0, healthy_z_max = 0;
  double healthy_angle_min = 0, healthy_angle_max = 0;  // Hopper, Walker2d
  double healthy_state_min = 0, healthy_state_max = 0;  // Hopper
  double contact_force_min = 0, contact_force_max = 0;  // Ant
  double reset_noise_scale = 0.1;
  bool exclude_current_positions_from_observation = true;
  bool include_cfrc_ext_in_observation = true;  // Ant
  int main_body = 1;                            // Ant: the body whose x-y velocity is rewarded
};

// The four tasks' registry entries (names, summaries, parameters with Gymnasium's defaults). They
// are listed whether or not this build has MuJoCo; making one without it throws EnvError naming
// what to install.
std::vector<EnvInfo> LocomotionEnvs();

// Whether this binary was built with MuJoCo, and which version ("" without).
bool HaveMujoco();
std::string MujocoVersion();

std::unique_ptr<BatchEnv> MakeLocomotion(const LocomotionConfig& config, int num_envs);

// The physical limit for env_bench: env-steps per second of a bare loop of frame_skip x mj_step on
// one mjData of the task's model, with uniform random controls (a new row each step) and a restart
// from qpos0 every max_episode_steps: no observations, rewards, health checks or early resets. Over
// about `seconds`. `env_text` is a locomotion task name as --env takes it.
double BareMujocoStepsPerSecond(const std::string& env_text, double seconds);

// Whether `env_text` names one of the four tasks (with or without parameters).
bool IsLocomotionEnvName(const std::string& env_text);

}  // namespace colony::env
