#!/usr/bin/env python3
"""Records Gymnasium v5 MuJoCo episodes for tests/mujoco_test.cc (Colony's native kernels).

For HalfCheetah-v5, Hopper-v5, Walker2d-v5 and Ant-v5 as gymnasium.make builds them (the v5
classes inside TimeLimit(1000)), on the `mujoco` Python package of the MuJoCo version Colony
links: each episode starts from a recorded state (qpos, qvel), set through
env.unwrapped.set_state right after reset, and plays recorded float32 actions, uniform in the
action bounds (a tenth of them in "gentle" episodes, so that an Ant lives to the time limit), until terminated or truncated. Written per step: the actions (float32), the reward
(float64, repr), terminated, truncated, and for the first 100 steps and the last one the
observation (Gymnasium's float64 values rounded to float32, shortest text).

Starts: Gymnasium's own random starts, and starts that put the health checks at work (a Hopper
tilted to just inside its angle limit, a Walker2d and an Ant dropped from above their height
limits, fast spins). Whole episodes, so truncation at 1000 steps and every termination rule are
compared.

Usage: python tests/data/make_mujoco_reference.py > tests/data/mujoco_reference.txt
The output is committed, so the C++ test needs no Python.
"""
import sys

import gymnasium
import mujoco
import numpy as np

from reference_text import f32, f64

OBS_STEPS = 100


def run_episode(env, out, label, state, rng, scale):
    env.reset(seed=int(rng.integers(2**31)))
    u = env.unwrapped
    if state is None:
        qpos, qvel = u.data.qpos.copy(), u.data.qvel.copy()
    else:
        qpos, qvel = state
    u.set_state(np.asarray(qpos, dtype=np.float64), np.asarray(qvel, dtype=np.float64))
    out.append(f"episode {label}")
    out.append("start " + " ".join(f64(v) for v in np.concatenate([u.data.qpos, u.data.qvel])))
    low, high = env.action_space.low, env.action_space.high
    steps = 0
    done = False
    while not done:
        action = (scale * rng.uniform(low, high)).astype(np.float32)
        obs, reward, terminated, truncated, _ = env.step(action)
        steps += 1
        done = terminated or truncated
        fields = ["step", " ".join(f32(a) for a in action), f64(reward), str(int(terminated)),
                  str(int(truncated))]
        if steps <= OBS_STEPS or done:
            fields.append(" ".join(f32(v) for v in obs))
        out.append(" ".join(fields))
    out.append("end")
    return steps


def with_changes(env, rng, changes):
    """Gymnasium's start with some qpos/qvel entries replaced: {("qpos", i): value}."""
    env.reset(seed=int(rng.integers(2**31)))
    qpos = env.unwrapped.data.qpos.copy()
    qvel = env.unwrapped.data.qvel.copy()
    for (kind, index), value in changes.items():
        (qpos if kind == "qpos" else qvel)[index] = value
    return qpos, qvel


def main():
    rng = np.random.default_rng(20261129)
    out = [
        f"# Gymnasium v5 MuJoCo reference from gymnasium {gymnasium.__version__}, mujoco "
        f"{mujoco.__version__}, numpy {np.__version__}",
        "# task NAME / episode LABEL / start qpos... qvel... (float64) / step actions... "
        "(float32) reward (float64) terminated truncated [obs... (float32), first "
        f"{OBS_STEPS} steps and the last] / end",
    ]
    plans = {
        "HalfCheetah-v5": [("random_0", {}), ("fast_spin", {("qvel", 2): 8.0})],
        "Hopper-v5": [(f"random_{i}", {}) for i in range(4)] + [
            ("tilted", {("qpos", 2): 0.19}), ("low", {("qpos", 1): 1.0}),
            ("fast", {("qvel", 0): 3.0})],
        "Walker2d-v5": [(f"random_{i}", {}) for i in range(4)] + [
            ("above_z_limit", {("qpos", 1): 2.1}), ("tilted", {("qpos", 2): 0.95})],
        "Ant-v5": [("random_0", {}), ("gentle_0", {}), ("above_z_limit", {("qpos", 2): 1.2}),
                   ("dropped", {("qpos", 2): 0.99, ("qvel", 2): -3.0})],
    }
    for name, episodes in plans.items():
        env = gymnasium.make(name)
        out.append(f"task {name}")
        for label, changes in episodes:
            scale = 0.1 if label.startswith("gentle") else 1.0
            state = with_changes(env, rng, changes) if changes else None
            steps = run_episode(env, out, label, state, rng, scale)
            print(f"{name} {label}: {steps} steps", file=sys.stderr)
        env.close()
    print("\n".join(out))


if __name__ == "__main__":
    main()
