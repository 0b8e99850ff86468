"""PufferLib 3's trainer (pufferl, PPO with its V-trace-style importance weights), unchanged from
its PyPI package, on a Gymnasium id (bench/run's peer).

  python puffer_ppo.py --env CartPole-v1 --frames 500000 --seed 1 [--num-envs 128]

Its settings are its own config for classic control (config/classic_control.ini over
config/default.ini), read by its own load_config, with the CPU device, the budget, the seed and
--vec.num-envs (128: its defaults, 2 envs x bptt 64, give a batch below its own minibatch of 8192,
which it refuses). The environment is built by its own classic_control env_creator (Gymnasium's
env, observations and rewards clipped to [-1, 1], its episode statistics), only for the id given
instead of its 'cartpole' alias (CartPole-v0, 200 steps). Prints one JSON line per log:
{"frames", "return"} (its mean episode return since the last log), then {"done": frames}.
"""
import argparse, json, os, sys


class JsonLogger:
    run_id = "bench"

    def log(self, logs, step):
        ret = logs.get("environment/episode_return")
        if ret is not None:
            print(json.dumps({"frames": int(step), "return": float(ret)}), flush=True)

    def close(self, model_path):
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--env", default="CartPole-v1")
    ap.add_argument("--frames", type=int, default=500_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--num-envs", type=int, default=128)
    a = ap.parse_args()
    sys.argv = [sys.argv[0], "--train.device", "cpu", "--train.total-timesteps", str(a.frames),
                "--train.seed", str(a.seed), "--vec.seed", str(a.seed),
                "--vec.num-envs", str(a.num_envs)]
    import pufferlib.vector
    from pufferlib import pufferl
    from pufferlib.environments import classic_control
    args = pufferl.load_config("cartpole")
    vecenv = pufferlib.vector.make(classic_control.env_creator(a.env), env_kwargs=args["env"],
                                   **args["vec"])
    policy = classic_control.torch.Policy(vecenv.driver_env, **args["policy"])
    config = dict(**args["train"], env="cartpole")
    trainer = pufferl.PuffeRL(config, vecenv, policy, JsonLogger())
    while trainer.global_step < config["total_timesteps"]:
        trainer.evaluate()
        trainer.train()
    print(json.dumps({"done": int(trainer.global_step)}), flush=True)
    trainer.vecenv.close()
    trainer.utilization.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
