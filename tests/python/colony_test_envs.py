"""Small Gymnasium environments for Colony's bridge tests (tests/python_env_test.cc and the
`py:colony_test_envs:...` CTests). Every observation is a known function of the step count, so
the C++ side can check the flattened rows exactly."""
import gymnasium as gym
import numpy as np
from gymnasium import spaces


class Scripted(gym.Env):
    """Step t of an episode observes observe(t); reward t; terminated after `length` steps.
    Raises RuntimeError on every `fail_every`-th step of the whole run (0: never), and in
    reset when fail_reset is set."""

    def __init__(self, observation_space, observe, length=5, fail_every=0, fail_reset=False,
                 action_space=None):
        self.observation_space = observation_space
        self.action_space = action_space or spaces.Discrete(2)
        self.observe = observe
        self.length = length
        self.fail_every = fail_every
        self.fail_reset = fail_reset
        self.t = 0
        self.total = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        if self.fail_reset:
            raise RuntimeError("reset refused on purpose")
        self.t = 0
        return self.observe(0), {}

    def step(self, action):
        self.total += 1
        if self.fail_every and self.total % self.fail_every == 0:
            raise RuntimeError(f"boom at step {self.total} (action {action})")
        self.t += 1
        return self.observe(self.t), float(self.t), self.t >= self.length, False, {}


def nested():
    space = spaces.Dict({
        "pos": spaces.Box(-100, 100, (2,), np.float64),
        "cell": spaces.Discrete(3, start=1),
        "flags": spaces.Tuple((spaces.MultiDiscrete([2, 3]), spaces.MultiBinary(2))),
    })
    return Scripted(space, lambda t: {
        "pos": np.array([0.5 * t, -0.5 * t]),
        "cell": 1 + t % 3,
        "flags": (np.array([t % 2, t % 3]), np.array([1, 0], np.int8)),
    })


def image():
    space = spaces.Box(0, 255, (2, 3, 1), np.uint8)
    return Scripted(space, lambda t: np.full((2, 3, 1), 10 * t + 1, np.uint8))


def sized(size=1, label="a"):
    """kwargs reach the factory: obs = [len(label)] * size."""
    return Scripted(spaces.Box(0, 100, (size,), np.float32),
                    lambda t: np.full(size, len(label), np.float32))


def raising(every=1, in_reset=False, length=5):
    return Scripted(spaces.Box(0, 1000, (1,), np.float32),
                    lambda t: np.array([t], np.float32), length=length, fail_every=every,
                    fail_reset=in_reset)


def text_obs():
    return Scripted(spaces.Text(5), lambda t: "hello")


def integer_box_actions():
    return Scripted(spaces.Box(0, 1, (1,), np.float32), lambda t: np.zeros(1, np.float32),
                    action_space=spaces.Box(0, 3, (2,), np.int64))


class EchoAction(gym.Env):
    """Observes the last action it was given (as float32, flattened), so a test can see what
    reached the environment; raises on an action outside its space; episodes of 10 steps."""

    def __init__(self, action_space, dim):
        self.action_space = action_space
        self.observation_space = spaces.Box(-100, 100, (dim,), np.float32)
        self.dim = dim

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(self.dim, np.float32), {}

    def step(self, action):
        if not self.action_space.contains(action):
            raise ValueError(f"{action!r} not in {self.action_space}")
        self.t += 1
        return np.asarray(action, np.float32).reshape(self.dim), 0.0, self.t >= 10, False, {}


def echo_actions(box=True):
    """box: Box([-2, 0], [2, 10]) of shape (2, 1); otherwise MultiDiscrete([2, 3]) with start
    [0, 1]."""
    if box:
        space = spaces.Box(np.array([[-2], [0]], np.float32), np.array([[2], [10]], np.float32))
        return EchoAction(space, 2)
    return EchoAction(spaces.MultiDiscrete([2, 3], start=[0, 1]), 2)


def not_an_env():
    return 42


class StartFrom(gym.Wrapper):
    """gymnasium.make("CartPole-v1") whose episodes start from the given float64 states in turn
    (CartPoleEnv.reset draws a random state; this overwrites it, nothing else changes)."""

    def __init__(self, starts):
        super().__init__(gym.make("CartPole-v1"))
        self.starts = [np.array(s, dtype=np.float64) for s in starts]
        self.next = 0

    def reset(self, **kwargs):
        self.env.reset(**kwargs)
        start = self.starts[self.next % len(self.starts)]
        self.next += 1
        self.env.unwrapped.state = start.copy()
        return np.array(start, dtype=np.float32), {}


def cartpole_from(starts):
    return StartFrom(starts)


def minigrid_image(env_id="MiniGrid-Empty-5x5-v0"):
    """A MiniGrid task seen through its 7x7x3 uint8 view alone: ImgObsWrapper drops the mission
    text (a Text space, which Colony refuses) and the direction. Colony keeps the view as uint8
    and reads it with its image torso."""
    import minigrid  # noqa: F401  (registers the MiniGrid-* ids)
    from minigrid.wrappers import ImgObsWrapper
    return ImgObsWrapper(gym.make(env_id))
