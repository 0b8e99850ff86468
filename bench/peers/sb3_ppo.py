"""Stable-Baselines3 PPO, unchanged from its PyPI package, on a Gymnasium id (bench/run's peer).

  python sb3_ppo.py --env CartPole-v1 --frames 500000 --seed 1 [--settings zoo|speed]

zoo:   rl-baselines3-zoo's published PPO settings for CartPole-v1 (hyperparams/ppo.yml: 8 envs,
       n_steps 32, batch 256, gae_lambda 0.8, gamma 0.98, 20 epochs, no entropy bonus, learning
       rate and clip range falling linearly from 1e-3 and 0.2), with SubprocVecEnv.
speed: for throughput only: 16 envs in one process (DummyVecEnv), n_steps 256, batch 4096,
       one epoch.
Prints one JSON line per rollout: {"frames", "return"} (the mean of the last 100 episodes, as
SB3's own ep_rew_mean), then {"done": frames}. Observations from Discrete spaces are one-hot
(SB3 does that itself).
"""
import argparse, json, sys

import gymnasium as gym
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv


class Report(BaseCallback):
    def _on_step(self):
        return True

    def _on_rollout_end(self):
        eps = self.model.ep_info_buffer
        if eps:
            ret = sum(e["r"] for e in eps) / len(eps)
            print(json.dumps({"frames": self.num_timesteps, "return": ret}), flush=True)


def linear(start):
    return lambda progress_remaining: progress_remaining * start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--env", default="CartPole-v1")
    ap.add_argument("--frames", type=int, default=500_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--settings", choices=["zoo", "speed"], default="zoo")
    a = ap.parse_args()
    if a.env.startswith("popgym-"):
        import popgym  # noqa: F401  (registers the popgym-* ids)
    if a.settings == "zoo":
        env = make_vec_env(a.env, n_envs=8, seed=a.seed, vec_env_cls=SubprocVecEnv)
        kw = dict(n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20,
                  ent_coef=0.0, learning_rate=linear(1e-3), clip_range=linear(0.2))
    else:
        env = make_vec_env(a.env, n_envs=16, seed=a.seed, vec_env_cls=DummyVecEnv)
        kw = dict(n_steps=256, batch_size=4096, n_epochs=1)
    model = PPO("MlpPolicy", env, seed=a.seed, device="cpu", verbose=0, **kw)
    model.learn(total_timesteps=a.frames, callback=Report())
    print(json.dumps({"done": model.num_timesteps}), flush=True)
    env.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
