"""Sample Factory APPO, unchanged from its PyPI package, on any Gymnasium id (bench/run's peer).

  python sf_appo.py <Sample Factory flags, e.g. --env=CartPole-v1 --algo=APPO ...>

The same as Sample Factory's own sf_examples/train_gym_env.py (which registers CartPole-v1
only), for any id: popgym-* ids are registered by importing popgym first, and Discrete
observations (POPGym's cards) are one-hot encoded by Gymnasium's FlattenObservation, since
Sample Factory's encoders take Box observations.
"""
import sys

import gymnasium as gym
from sample_factory.cfg.arguments import parse_full_cfg, parse_sf_args
from sample_factory.envs.env_utils import register_env
from sample_factory.train import run_rl


def make_env(full_env_name, cfg=None, env_config=None, render_mode=None):
    if full_env_name.startswith("popgym-"):
        import popgym  # noqa: F401  (in each of Sample Factory's worker processes too)
    # POPGym's environments take no render_mode argument at all, so pass it only when asked for.
    kwargs = {"render_mode": render_mode} if render_mode is not None else {}
    env = gym.make(full_env_name, **kwargs)
    if isinstance(env.observation_space, gym.spaces.Discrete):
        env = gym.wrappers.FlattenObservation(env)
    return env


def main():
    env = next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--env=")), None)
    if env is None:
        print("sf_appo.py: --env=<Gymnasium id> is required", file=sys.stderr)
        return 2
    register_env(env, make_env)
    parser, _ = parse_sf_args(argv=sys.argv[1:])
    cfg = parse_full_cfg(parser, sys.argv[1:])
    return run_rl(cfg)


if __name__ == "__main__":
    sys.exit(main())
