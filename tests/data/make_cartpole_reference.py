#!/usr/bin/env python3
"""Records CartPole-v1 trajectories from the real Gymnasium for tests/cartpole_reference_test.cc.

Runs gymnasium.make("CartPole-v1") (CartPoleEnv inside TimeLimit(500), the whole wrapper stack)
from chosen float64 start states, set through env.unwrapped.state right after reset, and writes
every step with full precision: the action, the float32 observation (shortest float32 text),
reward, terminated, truncated and the float64 internal state (repr, which round-trips).

Starts: Gymnasium's own random starts; starts on, just inside and just outside the
termination boundaries |x| = 2.4 and |theta| = 12 * 2 * pi / 360 (neighbouring doubles via
numpy.nextafter); fast-moving starts; and balanced runs long enough to hit the 500-step
truncation. Actions are random except in the balanced runs, which use a linear controller.

Usage: python tests/data/make_cartpole_reference.py > tests/data/cartpole_reference.txt
The output is committed, so the C++ test needs no Python.
"""
import math
import sys

import gymnasium
import numpy as np

from reference_text import f32, f64

X_LIMIT = 2.4
THETA_LIMIT = 12 * 2 * math.pi / 360


def run_episode(env, out, label, start, policy, rng):
    env.reset(seed=int(rng.integers(2**31)))
    if start is not None:
        env.unwrapped.state = np.array(start, dtype=np.float64)
    state = np.array(env.unwrapped.state, dtype=np.float64)
    out.append(f"episode {label}")
    out.append("start " + " ".join(f64(v) for v in state))
    done = False
    steps = 0
    while not done:
        action = policy(state, rng)
        obs, reward, terminated, truncated, _ = env.step(action)
        state = np.array(env.unwrapped.state, dtype=np.float64)
        assert obs.dtype == np.float32
        out.append("step %d %s %s %d %d %s" % (
            action, " ".join(f32(v) for v in obs), f64(reward), int(terminated),
            int(truncated), " ".join(f64(v) for v in state)))
        done = terminated or truncated
        steps += 1
    out.append("end")
    return steps


def random_policy(_state, rng):
    return int(rng.integers(2))


def balancing_policy(state, _rng):
    x, x_dot, theta, theta_dot = state
    return int(0.05 * x + 0.3 * x_dot + 8.0 * theta + 1.5 * theta_dot > 0)


def main():
    env = gymnasium.make("CartPole-v1")
    rng = np.random.default_rng(20240601)
    out = [
        f"# CartPole-v1 reference from gymnasium {gymnasium.__version__}, numpy {np.__version__}",
        "# episode LABEL / start x x_dot theta theta_dot (float64) / step action obs0..obs3 "
        "(float32) reward terminated truncated x x_dot theta theta_dot (float64) / end",
    ]
    for i in range(30):
        run_episode(env, out, f"random_start_{i}", None, random_policy, rng)

    up = lambda v: np.nextafter(v, math.inf)
    down = lambda v: np.nextafter(v, -math.inf)
    boundary = []
    for sign in (1.0, -1.0):
        for x in (X_LIMIT, down(X_LIMIT), up(X_LIMIT), X_LIMIT - 1e-3):
            boundary.append((f"x_{sign:+.0f}_{x!r}", [sign * x, 0.0, 0.0, 0.0]))
            boundary.append((f"x_{sign:+.0f}_{x!r}_moving_out",
                             [sign * x, sign * 0.05, 0.0, 0.0]))
        for th in (THETA_LIMIT, down(THETA_LIMIT), up(THETA_LIMIT), THETA_LIMIT - 1e-3):
            boundary.append((f"theta_{sign:+.0f}_{th!r}", [0.0, 0.0, sign * th, 0.0]))
            boundary.append((f"theta_{sign:+.0f}_{th!r}_falling",
                             [0.0, 0.0, sign * th, sign * 0.05]))
        # One Euler step lands exactly on the limit: x + 0.02 * x_dot == 2.4 in float64 or
        # a neighbour of it; the strict inequality decides.
        boundary.append((f"x_{sign:+.0f}_lands_on_limit", [sign * (X_LIMIT - 0.02), sign * 1.0,
                                                            0.0, 0.0]))
        boundary.append((f"theta_{sign:+.0f}_lands_on_limit",
                         [0.0, 0.0, sign * (THETA_LIMIT - 0.02), sign * 1.0]))
        boundary.append((f"far_outside_{sign:+.0f}", [sign * 3.0, 0.0, sign * 0.5, 0.0]))
        boundary.append((f"fast_{sign:+.0f}", [sign * 0.01, sign * 2.0, -sign * 0.1,
                                               sign * 3.0]))
    for label, start in boundary:
        run_episode(env, out, label, start, random_policy, rng)

    long_runs = 0
    for i, start in enumerate(([0.0, 0.0, 0.0, 0.0], [0.03, -0.02, 0.04, -0.01])):
        steps = run_episode(env, out, f"balanced_{i}", start, balancing_policy, rng)
        long_runs += steps == 500
    assert long_runs == 2, "the balancing controller must reach the 500-step truncation"
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
