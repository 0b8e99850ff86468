// The environment interface: what an environment is (EnvSpec), the batched core every
// environment implements (BatchEnv), and a one-episode-at-a-time view of it (Env) for replay,
// tests and anything that wants Gymnasium's reset/step shape.
//
// In: actions (integers in [0, num_actions)), seeds, and for physical environments a state.
// Out: observations as plain float32 rows (no LibTorch here: callers wrap the buffers), a
// reward and the terminated/truncated flags of each step.
//
// Built-in environments are C++ kernels (registry.h); Gymnasium environments (`gym:ID`,
// `py:MODULE:FUNCTION`) are the same interface over an embedded Python (python/python_env.h).
//
// Why two layers: an actor steps thousands of envs per batch, and a virtual call, an allocation
// or an RNG draw per env-step would cost more than CartPole's physics. So each environment is
// written once as a structure-of-arrays kernel that steps all of its envs in one call
// (BatchEnv::Step, one virtual call per batch) and resets inline when an episode ends.
// The scalar Env is that same kernel with one env, so the single-env path used to check
// trajectories against other implementations runs exactly the code that actors run.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/env/rng.h"

namespace colony::env {

// Bad input to an environment from a user or a config: unknown name, bad parameter, action out
// of range, malformed state. The message says what was expected and what was given.
class EnvError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct EnvSpec {
  std::string name;                     // canonical, with every parameter: "TMaze:length=10"
  std::vector<std::int64_t> obs_shape;  // the shape of one observation, e.g. {4}
  std::int64_t obs_dim = 0;             // floats per observation row: product of obs_shape
  // Every observation value is an integer in [0, 255] (a Gymnasium uint8 Box, e.g. an image):
  // rows are still float32 here, but the trajectory, the wire and the learner's batch keep them
  // as uint8 (a quarter of the bytes), and a [H, W, C] or [H, W] shape is read by the policy's
  // image torso (PolicyShape::observations).
  bool obs_uint8 = false;
  // Actions are the integers [0, num_actions) (Discrete), except:
  //   MultiDiscrete: action_nvec holds the components' sizes, and an action is their mixed-radix
  //     index (the last component varying fastest) in [0, num_actions = product of action_nvec);
  //     the environment splits it (common/model/action_dist.h samples it that way);
  //   Box: action_dim floats, dimension j within [action_low[j], action_high[j]] (bounds may be
  //     infinite); num_actions is 0 and Step is StepBox.
  std::int64_t num_actions = 0;
  std::vector<std::int64_t> action_nvec;
  std::int64_t action_dim = 0;
  std::vector<float> action_low, action_high;
  // The episode limit: no episode has more steps. 0: none known (a Gymnasium environment
  // without a TimeLimit).
  std::int64_t max_episode_steps = 0;
  // Names of the physical state SetState accepts (CartPole: x, x_dot, theta, theta_dot);
  // empty for environments without one.
  std::vector<std::string> state_names;
  // For environments defined elsewhere (Gymnasium): their own spaces and how observations
  // are flattened into the float32 row, one line each, for `colony env spec`. Empty for
  // built-ins, whose obs_shape and num_actions say it all.
  std::vector<std::string> details;
};

// How a process hosts its environments. Only environments that run user code (gym:, py:) use
// it: faults there are survived, counted and reported, not bad input.
struct EnvOptions {
  int rank = -1;  // the actor rank named in fault reports; -1 = not a distributed run
  // A run ends (EnvFault) when this many consecutive steps (or resets) raised in some env.
  std::int64_t max_consecutive_errors = 100;
};

// User code inside an environment failed too often in a row (EnvOptions); the message names
// the environment, the env index, the rank and the last traceback. Not bad input: a runtime
// failure (exit 1), not a usage error.
class EnvFault : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The batched core of an environment: `num_envs` independent copies stepped together.
//
// Buffers are caller-provided and row-major: obs is [num_envs, obs_dim] float32, the others
// are [num_envs]. Actions passed to Step must already be in [0, num_actions): checking is the
// caller's job (VectorEnv and Env do it) so that the kernel's loop stays branch-light.
class BatchEnv {
 public:
  BatchEnv(EnvSpec spec, int num_envs);
  virtual ~BatchEnv() = default;
  BatchEnv(const BatchEnv&) = delete;
  BatchEnv& operator=(const BatchEnv&) = delete;

  const EnvSpec& spec() const { return spec_; }
  int num_envs() const { return num_envs_; }

  // Restarts env i's random stream from `seed`; the next Reset(i) draws from it.
  virtual void Seed(int i, std::uint64_t seed) { rngs_[static_cast<std::size_t>(i)] = Rng(seed); }

  // Starts a new episode in env i with a start drawn from env i's stream; writes its first
  // observation to `obs_row` (obs_dim floats).
  virtual void Reset(int i, float* obs_row) = 0;

  // Advances every env by one step. With auto_reset, an env whose episode ends (terminated or
  // truncated) is reset at once and `obs` holds the first observation of its next episode;
  // without it, `obs` holds the final observation and that env must be Reset before its next
  // Step (the caller enforces this).
  virtual void Step(const std::int64_t* actions, bool auto_reset, float* obs, float* rewards,
                    std::uint8_t* terminated, std::uint8_t* truncated) = 0;
  // Step for Box action spaces: `actions` is [num_envs, action_dim] float32, already within the
  // bounds. Environments with integer actions throw EnvError.
  virtual void StepBox(const float* actions, bool auto_reset, float* obs, float* rewards,
                       std::uint8_t* terminated, std::uint8_t* truncated);

  // Starts an episode in env i from the given physical state (spec().state_names values) and
  // writes its observation. Throws EnvError for environments without a physical state.
  virtual void SetState(int i, std::span<const double> state, float* obs_row);
  // The current physical state of env i (empty if there is none); for tests and replay.
  virtual std::vector<double> GetState(int i) const;

  // Faults in user code survived so far (a Python exception or a plugin error in step or
  // reset): each one dropped its env's episode (the step reads truncated with reward 0, and
  // StepFaulted says why) and the env was reset. Always 0 for built-in environments.
  virtual std::int64_t env_errors() const { return 0; }

  // Whether env i's latest batch step failed in user code. Its step then reads truncated with
  // reward 0 and a zero observation, not a real end of episode: callers drop the episode (no
  // return statistics; the learner bootstraps from the value of the step's own observation
  // instead of a made-up terminal). Always false for built-in environments.
  bool StepFaulted(int i) const {
    return !step_faults_.empty() && step_faults_[static_cast<std::size_t>(i)] != 0;
  }

 protected:
  Rng& rng(int i) { return rngs_[static_cast<std::size_t>(i)]; }
  // For environments with faults: clear the marks at the start of a batch step, mark env i's.
  void ClearStepFaults() {
    if (!step_faults_.empty()) std::fill(step_faults_.begin(), step_faults_.end(), 0);
  }
  void MarkStepFault(int i) {
    step_faults_.resize(static_cast<std::size_t>(num_envs_), 0);
    step_faults_[static_cast<std::size_t>(i)] = 1;
  }

 private:
  EnvSpec spec_;
  int num_envs_;
  std::vector<Rng> rngs_;  // one stream per env: draws never depend on other envs
  std::vector<std::uint8_t> step_faults_;  // [num_envs] once a fault happened, else empty
};

// One step as Gymnasium returns it.
struct Transition {
  std::vector<float> obs;
  float reward = 0;
  bool terminated = false;
  bool truncated = false;
};

// One environment, one episode at a time: Gymnasium's reset(seed)/step(action). Stepping after
// the episode ended (or before the first Reset) throws instead of inventing an outcome.
class Env {
 public:
  explicit Env(std::unique_ptr<BatchEnv> core);  // core must hold exactly one env

  const EnvSpec& spec() const { return core_->spec(); }

  // Starts an episode. With a seed the random stream restarts from it (same seed, same start);
  // without one it continues, so consecutive episodes differ.
  std::vector<float> Reset(std::optional<std::uint64_t> seed = std::nullopt);
  // Throws EnvError if `action` is outside [0, num_actions) or no episode is running.
  Transition Step(std::int64_t action);
  // For Box action spaces: action_dim floats, each finite and within its bounds. Throws EnvError
  // otherwise, for integer action spaces, or when no episode is running.
  Transition StepBox(std::span<const float> action);
  // Starts an episode from a physical state; throws EnvError if the environment has none or
  // the number of values is wrong.
  std::vector<float> SetState(std::span<const double> state);
  std::vector<double> GetState() const { return core_->GetState(0); }

 private:
  // Throws unless an episode is running; after the step, whether one still is.
  void ExpectRunning() const;
  Transition Finish(Transition out, std::uint8_t terminated, std::uint8_t truncated);

  std::unique_ptr<BatchEnv> core_;
  bool running_ = false;
};

// "action: expected an integer in [0, 2), got 5" unless 0 <= action < num_actions.
void CheckAction(const EnvSpec& spec, std::int64_t action);
// "Hopper-v5: action: expected 3 values (Box(-1, 1, (3,))), got 2", or "... action dimension 1:
// expected a finite value in [-1, 1], got 2" unless `action` is in the Box.
void CheckBoxAction(const EnvSpec& spec, std::span<const float> action);

// The policy an environment needs: its observation length, the width of the policy head and
// what those outputs mean (ModelConfig::actions: "discrete", "multi_discrete:N1,N2,...", "box").
// And how it reads observations (ModelConfig::observations): "float32", "uint8" (bytes, not an
// image) or "image:H,W,C" (uint8 of rank 3, or rank 2 as C = 1).
struct PolicyShape {
  std::int64_t obs_dim = 0;
  std::int64_t outputs = 0;
  std::string actions;
  std::string observations = "float32";
};
PolicyShape PolicyShapeOf(const EnvSpec& spec);

// The action space for people: "Discrete(2)", "MultiDiscrete([3 4])", "Box(-2, 2, (1,))" (bounds
// shown once when all dimensions share them).
std::string ActionSpaceText(const EnvSpec& spec);

// A letter, digit or '_'.
bool IsIdentifierChar(char c);

// Where the parameters of an external environment's text start ("gym:ID:k=v",
// "plugin:PATH.so:k=v"): the first ':' at or after `from` that is followed by `identifier=`;
// npos if none. Ids, module names and paths may contain ':' anywhere else, and a parameter
// value ("label=\"a:b\"") only after it.
std::string::size_type ParamsColon(const std::string& text, std::string::size_type from = 0);

}  // namespace colony::env
