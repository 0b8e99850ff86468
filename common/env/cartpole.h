// CartPole-v1, step for step identical to Gymnasium 1.x (`gymnasium.make("CartPole-v1")`:
// CartPoleEnv inside TimeLimit(500)), and StatelessCartPole, the same system observed through
// cart position and pole angle only.
//
// In: actions 0 (push left) / 1 (push right). Out: float32 observations
// [x, x_dot, theta, theta_dot] (StatelessCartPole: [x, theta]), reward 1 on every step
// including the last, terminated when |x| > 2.4 or |theta| > 12 degrees, truncated at step 500.
//
// What "identical" takes (tests/cartpole_reference_test.cc checks it bit for bit against
// trajectories recorded from the real Gymnasium):
//   * float64 state, the same constants computed the same way (total_mass = 0.1 + 1.0, the
//     angle limit 12 * 2 * pi / 360), explicit Euler updating x, x_dot, theta, theta_dot in that
//     order from the old values;
//   * every expression evaluated in Gymnasium's order and with no fused multiply-add (this
//     library is compiled with -ffp-contract=off), sin and cos from the C library as numpy uses;
//   * termination decided on the float64 state with strict inequalities, observations rounded
//     to float32 only on the way out.
// Starts are uniform in [-0.05, 0.05) per component, drawn from our own generator (rng.h), so
// they cannot match numpy's; comparisons against Gymnasium set the start with SetState.
#pragma once

#include <memory>

#include "common/env/env.h"

namespace colony::env {

inline constexpr std::int64_t kCartPoleMaxSteps = 500;

// `stateless`: observe [x, theta] instead of the full state (StatelessCartPole).
std::unique_ptr<BatchEnv> MakeCartPole(int num_envs, bool stateless);

}  // namespace colony::env
