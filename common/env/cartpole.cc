// The CartPole kernel: structure-of-arrays float64 state, one loop over the envs per step,
// random numbers only on reset. See cartpole.h for what makes it identical to Gymnasium.
#include "common/env/cartpole.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "common/base/check.h"

namespace colony::env {
namespace {

// Gymnasium's constants, and the derived ones computed with the same operations it uses.
constexpr double kGravity = 9.8;
constexpr double kMassCart = 1.0;
constexpr double kMassPole = 0.1;
constexpr double kTotalMass = kMassPole + kMassCart;
constexpr double kLength = 0.5;  // half the pole's length
constexpr double kPoleMassLength = kMassPole * kLength;
constexpr double kForceMag = 10.0;
constexpr double kTau = 0.02;
constexpr double kThetaThreshold = 12 * 2 * std::numbers::pi / 360;
constexpr double kXThreshold = 2.4;
constexpr double kResetBound = 0.05;

class CartPole final : public BatchEnv {
 public:
  CartPole(int num_envs, bool stateless)
      : BatchEnv(MakeSpec(stateless), num_envs),
        stateless_(stateless),
        x_(static_cast<std::size_t>(num_envs)),
        x_dot_(x_.size()),
        theta_(x_.size()),
        theta_dot_(x_.size()),
        elapsed_(x_.size()) {}

  void Reset(int i, float* obs_row) override {
    ResetOne(static_cast<std::size_t>(i));
    WriteObs(static_cast<std::size_t>(i), obs_row);
  }

  void Step(const std::int64_t* actions, bool auto_reset, float* obs, float* rewards,
            std::uint8_t* terminated, std::uint8_t* truncated) override {
    // Both choices are made once per batch so the per-env loop has no mode branches.
    if (stateless_) {
      auto_reset ? StepAll<true, true>(actions, obs, rewards, terminated, truncated)
                 : StepAll<true, false>(actions, obs, rewards, terminated, truncated);
    } else {
      auto_reset ? StepAll<false, true>(actions, obs, rewards, terminated, truncated)
                 : StepAll<false, false>(actions, obs, rewards, terminated, truncated);
    }
  }

  void SetState(int i, std::span<const double> state, float* obs_row) override {
    COLONY_CHECK(state.size() == 4) << state.size();
    const auto e = static_cast<std::size_t>(i);
    x_[e] = state[0];
    x_dot_[e] = state[1];
    theta_[e] = state[2];
    theta_dot_[e] = state[3];
    elapsed_[e] = 0;
    WriteObs(e, obs_row);
  }

  std::vector<double> GetState(int i) const override {
    const auto e = static_cast<std::size_t>(i);
    return {x_[e], x_dot_[e], theta_[e], theta_dot_[e]};
  }

 private:
  static EnvSpec MakeSpec(bool stateless) {
    EnvSpec spec;
    spec.name = stateless ? "StatelessCartPole" : "CartPole-v1";
    spec.obs_dim = stateless ? 2 : 4;
    spec.obs_shape = {spec.obs_dim};
    spec.num_actions = 2;
    spec.max_episode_steps = kCartPoleMaxSteps;
    spec.state_names = {"x", "x_dot", "theta", "theta_dot"};
    return spec;
  }

  // numpy's uniform(size=(4,)) fills x, x_dot, theta, theta_dot in that order; so do we.
  void ResetOne(std::size_t e) {
    Rng& r = rng(static_cast<int>(e));
    x_[e] = r.Uniform(-kResetBound, kResetBound);
    x_dot_[e] = r.Uniform(-kResetBound, kResetBound);
    theta_[e] = r.Uniform(-kResetBound, kResetBound);
    theta_dot_[e] = r.Uniform(-kResetBound, kResetBound);
    elapsed_[e] = 0;
  }

  void WriteObs(std::size_t e, float* row) const {
    if (stateless_) {
      row[0] = static_cast<float>(x_[e]);
      row[1] = static_cast<float>(theta_[e]);
    } else {
      row[0] = static_cast<float>(x_[e]);
      row[1] = static_cast<float>(x_dot_[e]);
      row[2] = static_cast<float>(theta_[e]);
      row[3] = static_cast<float>(theta_dot_[e]);
    }
  }

  // Three passes over chunks of envs: sin/cos (C library calls, independent so they
  // pipeline), the physics (branch-free, so the compiler vectorises it), then the rare resets
  // and the observations. Splitting them keeps the physics free of calls and branches.
  template <bool kStateless, bool kAutoReset>
  void StepAll(const std::int64_t* actions, float* obs, float* rewards,
               std::uint8_t* terminated, std::uint8_t* truncated) {
    constexpr std::size_t kObsDim = kStateless ? 2 : 4;
    constexpr std::size_t kChunk = 128;
    const std::size_t n = x_.size();
    double sin_theta[kChunk];
    double cos_theta[kChunk];
    for (std::size_t base = 0; base < n; base += kChunk) {
      const std::size_t m = std::min(kChunk, n - base);
      double* x = &x_[base];
      double* x_dot = &x_dot_[base];
      double* theta = &theta_[base];
      double* theta_dot = &theta_dot_[base];
      std::int32_t* elapsed = &elapsed_[base];
      const std::int64_t* action = actions + base;
      std::uint8_t* term = terminated + base;
      std::uint8_t* trunc = truncated + base;
      for (std::size_t j = 0; j < m; ++j) {
        sin_theta[j] = std::sin(theta[j]);
        cos_theta[j] = std::cos(theta[j]);
      }
      for (std::size_t j = 0; j < m; ++j) {
        // Gymnasium's step(), operation for operation: the parenthesised groups below are the
        // left-to-right evaluation order of its Python expressions.
        const double force = action[j] == 1 ? kForceMag : -kForceMag;
        const double costheta = cos_theta[j];
        const double sintheta = sin_theta[j];
        const double temp =
            (force + kPoleMassLength * (theta_dot[j] * theta_dot[j]) * sintheta) / kTotalMass;
        const double thetaacc =
            (kGravity * sintheta - costheta * temp) /
            (kLength * (4.0 / 3.0 - kMassPole * (costheta * costheta) / kTotalMass));
        const double xacc = temp - kPoleMassLength * thetaacc * costheta / kTotalMass;
        const double new_x = x[j] + kTau * x_dot[j];
        const double new_theta = theta[j] + kTau * theta_dot[j];
        x[j] = new_x;
        x_dot[j] = x_dot[j] + kTau * xacc;
        theta[j] = new_theta;
        theta_dot[j] = theta_dot[j] + kTau * thetaacc;
        term[j] = (new_x < -kXThreshold) | (new_x > kXThreshold) |
                  (new_theta < -kThetaThreshold) | (new_theta > kThetaThreshold);
        // TimeLimit truncates on step 500 whether or not the pole also fell on it.
        elapsed[j] += 1;
        trunc[j] = elapsed[j] >= kCartPoleMaxSteps;
        rewards[base + j] = 1.0f;
      }
      for (std::size_t j = 0; j < m; ++j) {
        if (kAutoReset && (term[j] | trunc[j])) ResetOne(base + j);
        float* row = obs + (base + j) * kObsDim;
        if constexpr (kStateless) {
          row[0] = static_cast<float>(x[j]);
          row[1] = static_cast<float>(theta[j]);
        } else {
          row[0] = static_cast<float>(x[j]);
          row[1] = static_cast<float>(x_dot[j]);
          row[2] = static_cast<float>(theta[j]);
          row[3] = static_cast<float>(theta_dot[j]);
        }
      }
    }
  }

  bool stateless_;
  std::vector<double> x_, x_dot_, theta_, theta_dot_;  // float64 physical state, one per env
  std::vector<std::int32_t> elapsed_;                  // steps in the current episode
};

}  // namespace

std::unique_ptr<BatchEnv> MakeCartPole(int num_envs, bool stateless) {
  return std::make_unique<CartPole>(num_envs, stateless);
}

}  // namespace colony::env
