"""Colony's side of the Gymnasium bridge: python_env.cc embeds this file and drives it.

In:  an environment text already split by python_env.cc ("gym", ID, params) or ("py",
     "MODULE:FUNCTION", params), the number of envs E, then per batch step E actions written
     into `Batch.actions` (int64 [E]).
Out: numpy arrays that python_env.cc reads through the buffer protocol after each call:
     `obs` float32 [E, obs_dim], `rewards` float32 [E], `terminated` / `truncated` uint8 [E].

One call per batch step: `Batch.step()` loops over the E environments here, in Python, and
writes every observation into its row of `obs` with numpy (no per-element Python work). An
exception inside environment i does not escape: that step is reported as truncated with
reward 0 (the episode is dropped) and `step()` returns [(i, traceback), ...] for the C++ side to
count and report.

Observations are flattened to one float32 row (the `Layout` below): Box as is (integers and
bools converted to float32, e.g. uint8 images keep their 0..255 values), Discrete and
MultiDiscrete one-hot, MultiBinary as 0/1, and Dict / Tuple of these in the order the space
iterates them (Gymnasium sorts a plain dict's keys unless the space was built with
sort_keys=False). A lone uint8 Box is marked (`Layout.uint8`): the C++ side keeps its rows as
bytes from the trajectory on. Actions: Discrete, MultiDiscrete and Box (`ActionLayout`).
Anything else raises SpecError at construction.
"""
import difflib
import importlib
import json
import traceback

import numpy as np

SUPPORTED_OBS = ("Box (any shape; float as is, integer and bool dtypes such as uint8 converted "
                 "to float32), Discrete and MultiDiscrete (one-hot), MultiBinary, and Dict or "
                 "Tuple of these")
SUPPORTED_ACTIONS = ("Discrete, MultiDiscrete (one categorical per component) and Box of float "
                     "dtype with any shape (a diagonal Gaussian; flattened)")


class SpecError(Exception):
    """Bad input from the user (name, parameters, spaces); the message says what and why."""


def split_params(text):
    """'a=1,b=[1,2],c="x,y"' -> [('a', '1'), ('b', '[1,2]'), ('c', '"x,y"')]: commas inside
    brackets, braces or strings do not split."""
    items, depth, quoted, start = [], 0, False, 0
    i = 0
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == "\\":
                i += 1
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
        i += 1
    items.append(text[start:])
    pairs = []
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise SpecError(f"expected key=value, got '{item}'")
        pairs.append((key, value))
    return pairs


def parse_params(text, where):
    """The `key=value,...` part of an env text -> kwargs; values are JSON literals."""
    kwargs = {}
    if text is None:
        return kwargs
    for key, value in split_params(text):
        if not key.isidentifier():
            raise SpecError(f"{where}: parameter '{key}': expected a Python identifier as key")
        if key in kwargs:
            raise SpecError(f"{where}: parameter {key} given twice")
        try:
            kwargs[key] = json.loads(value)
        except ValueError:
            raise SpecError(
                f"{where}: parameter {key}: expected a JSON literal (a number, true, false, "
                f"null, a \"quoted string\", a [list] or an {{object}}), got '{value}'") from None
    return kwargs


def import_namespace_package(env_id):
    """Packages register their ids on import, under a prefix that names them ("popgym-...",
    "MiniGrid-...", "ALE/..."). For an id not registered yet, import the package its prefix
    names (lower-cased; ALE -> ale_py), if there is one; a missing package is not an error here
    (the caller reports the unknown id)."""
    for separator in ("/", "-"):
        prefix, found, _ = env_id.partition(separator)
        if found and prefix:
            break
    else:
        return
    module = {"ale": "ale_py"}.get(prefix.lower(), prefix.lower())
    if not module.isidentifier():
        return
    try:
        importlib.import_module(module)
    except ImportError:
        pass


def close_gym_ids(env_id, registry):
    matches = difflib.get_close_matches(env_id, list(registry.keys()), n=5, cutoff=0.6)
    if not matches:
        lowered = env_id.lower()
        matches = sorted(k for k in registry.keys() if lowered.split("-v")[0] in k.lower())[:5]
    return matches


def gym_factory(env_id, kwargs):
    try:
        import gymnasium
    except ImportError as error:
        raise SpecError(f"gym:{env_id}: the gymnasium package is not importable ({error}); "
                        "install it into the venv Colony uses (launch/setup does, or "
                        "$COLONY_VENV/bin/pip install gymnasium)") from None
    name = env_id
    if ":" in env_id:  # "module:Id": import the module that registers Id, as gymnasium.make does
        module, _, name = env_id.rpartition(":")
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise SpecError(f"gym:{env_id}: cannot import module '{module}' that should register "
                            f"'{name}': {error}") from None
    elif name not in gymnasium.registry:
        import_namespace_package(name)
    if name not in gymnasium.registry:
        matches = close_gym_ids(name, gymnasium.registry)
        hint = ("close matches: " + ", ".join(matches)) if matches else "no close match"
        raise SpecError(f"unknown Gymnasium id '{name}'; {hint} (all ids: python -c 'import "
                        "gymnasium; gymnasium.pprint_registry()'; ids that a package registers "
                        "on import: gym:PACKAGE:ID)")

    def make():
        return gymnasium.make(env_id, **kwargs)
    return make


def py_factory(target, kwargs):
    module_name, sep, function_name = target.partition(":")
    if not sep or not module_name or not function_name or ":" in function_name:
        raise SpecError(f"py:{target}: expected py:MODULE:FUNCTION[:key=value,...]")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        import sys
        raise SpecError(f"py:{target}: cannot import module '{module_name}': {error}; searched "
                        "the working directory, $COLONY_PYTHONPATH, $PYTHONPATH and the venv: "
                        f"{sys.path}") from None
    factory = getattr(module, function_name, None)
    if not callable(factory):
        names = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_"))
        raise SpecError(f"py:{target}: module '{module_name}' ({getattr(module, '__file__', '?')}) "
                        f"has no function '{function_name}'; its callables: "
                        f"{', '.join(names) or 'none'}")

    def make():
        return factory(**kwargs)
    return make


class Layout:
    """How one observation becomes a float32 row: a list of leaves (where, space, offset,
    width), in flattening order."""

    def __init__(self, space):
        self.leaves = []
        self.dim = 0
        self._add(space, "obs", ())
        if self.dim == 0:
            raise SpecError(f"observation space {space} flattens to 0 floats")
        self.single_box = len(self.leaves) == 1 and self.leaves[0][0] == "box"
        # A lone uint8 Box (an image, or bytes): Colony keeps it as uint8 on the wire and in the
        # learner's batch, and reads a rank-2 or rank-3 one with its image torso.
        self.uint8 = self.single_box and self.leaves[0][3].dtype == np.uint8

    def _add(self, space, where, path):
        from gymnasium import spaces
        if isinstance(space, spaces.Box):
            if not (np.issubdtype(space.dtype, np.floating) or
                    np.issubdtype(space.dtype, np.integer) or space.dtype == np.bool_):
                raise SpecError(f"{where}: Box of dtype {space.dtype} is not supported; "
                                f"supported observation spaces: {SUPPORTED_OBS}")
            width = int(np.prod(space.shape, dtype=np.int64))
            self.leaves.append(("box", where, path, space, self.dim, width, None))
        elif isinstance(space, spaces.Discrete):
            self.leaves.append(("discrete", where, path, space, self.dim, int(space.n),
                                int(space.start)))
            width = int(space.n)
        elif isinstance(space, spaces.MultiDiscrete):
            nvec = np.asarray(space.nvec, dtype=np.int64).reshape(-1)
            starts = np.cumsum(np.concatenate([[0], nvec[:-1]])).astype(np.int64)
            width = int(nvec.sum())
            self.leaves.append(("multidiscrete", where, path, space, self.dim, width,
                                (nvec, starts, np.asarray(space.start, np.int64).reshape(-1))))
        elif isinstance(space, spaces.MultiBinary):
            width = int(np.prod(space.shape, dtype=np.int64))
            self.leaves.append(("multibinary", where, path, space, self.dim, width, None))
        elif isinstance(space, spaces.Dict):
            for key, sub in space.spaces.items():
                self._add(sub, f"{where}[{key!r}]", path + (key,))
            return
        elif isinstance(space, spaces.Tuple):
            for index, sub in enumerate(space.spaces):
                self._add(sub, f"{where}[{index}]", path + (index,))
            return
        else:
            raise SpecError(f"{where}: observation space {space} is not supported; supported: "
                            f"{SUPPORTED_OBS}")
        self.dim += width

    def shape(self):
        """The observation's shape as `colony env spec` shows it: a lone Box keeps its own."""
        if self.single_box:
            return list(self.leaves[0][3].shape) or [1]
        return [self.dim]

    def describe(self):
        lines = []
        for kind, where, _, space, offset, width, _ in self.leaves:
            how = {"box": ("as is" if space.dtype == np.float32 or self.uint8 else
                           f"{space.dtype} as float32"),
                   "discrete": "one-hot", "multidiscrete": "one-hot per component",
                   "multibinary": "0/1"}[kind]
            lines.append(f"[{offset}, {offset + width}) {where}: {space} ({how})")
        return lines

    def write(self, value, row):
        """Flattens one observation into `row` (a float32 view of length dim)."""
        if self.single_box:
            row[:] = np.asarray(value).reshape(self.dim)
            return
        for leaf in self.leaves:
            part = value
            for key in leaf[2]:
                part = part[key]
            self._write_leaf(leaf, part, row)

    @staticmethod
    def _write_leaf(leaf, value, row):
        kind, where, _, space, offset, width, extra = leaf
        out = row[offset:offset + width]
        if kind in ("box", "multibinary"):
            out[:] = np.asarray(value).reshape(width)
        elif kind == "discrete":
            k = int(value) - extra
            if not 0 <= k < width:
                raise ValueError(f"{where}: value {value} outside {space}")
            out[:] = 0
            out[k] = 1
        else:
            nvec, starts, base = extra
            k = np.asarray(value, dtype=np.int64).reshape(-1) - base
            if k.shape != nvec.shape or np.any(k < 0) or np.any(k >= nvec):
                raise ValueError(f"{where}: value {value} outside {space}")
            out[:] = 0
            out[starts + k] = 1


class ActionLayout:
    """How Colony's actions map onto the action space: Discrete -> an integer in [0, n) (plus
    the space's start); MultiDiscrete -> one integer in [0, prod(nvec)), the components in
    mixed radix, last fastest (numpy's C order); Box -> dim float32s (already clipped and
    scaled into the bounds by the actor), reshaped to the space's shape and dtype."""

    def __init__(self, space, where):
        from gymnasium import spaces
        self.space = space
        self.nvec, self.dim, self.low, self.high = [], 0, [], []
        if isinstance(space, spaces.Discrete):
            self.kind = "discrete"
            self.num_actions = int(space.n)
            self.start = int(space.start)
        elif isinstance(space, spaces.MultiDiscrete):
            self.kind = "multidiscrete"
            nvec = np.asarray(space.nvec, dtype=np.int64)
            self.shape = nvec.shape
            self.nvec = [int(n) for n in nvec.reshape(-1)]
            self.start = np.asarray(space.start, dtype=np.int64).reshape(-1)
            self.num_actions = int(np.prod(self.nvec, dtype=np.float64))
            if not self.nvec or min(self.nvec) < 1 or self.num_actions >= 2 ** 62:
                raise SpecError(f"{where}: action space {space}: expected components of size "
                                ">= 1 whose product is below 2^62")
        elif isinstance(space, spaces.Box) and np.issubdtype(space.dtype, np.floating):
            self.kind = "box"
            self.num_actions = 0
            self.shape = space.shape
            self.dim = int(np.prod(space.shape, dtype=np.int64))
            if self.dim < 1:
                raise SpecError(f"{where}: action space {space} has no dimensions")
            self.low = [float(v) for v in np.asarray(space.low, np.float64).reshape(-1)]
            self.high = [float(v) for v in np.asarray(space.high, np.float64).reshape(-1)]
            self.dtype = space.dtype
        else:
            raise SpecError(f"{where}: action space {space} is not supported; supported: "
                            f"{SUPPORTED_ACTIONS}")

    def to_env(self, actions):
        """Colony's actions for all envs -> the list of actions env.step takes."""
        if self.kind == "discrete":
            return (actions + self.start).tolist()
        if self.kind == "multidiscrete":
            parts = np.stack(np.unravel_index(actions, self.nvec), axis=-1) + self.start
            return [row.reshape(self.shape) for row in parts]
        return [row.reshape(self.shape).astype(self.dtype) for row in actions]


class Batch:
    """E copies of one environment, stepped together. Buffers are allocated once."""

    def __init__(self, kind, target, params, num_envs):
        where = f"{kind}:{target}"
        kwargs = parse_params(params, where)
        factory = gym_factory(target, kwargs) if kind == "gym" else py_factory(target, kwargs)
        self.envs = []
        for i in range(num_envs):
            try:
                env = factory()
            except Exception as error:
                detail = (f"{type(error).__name__}: {error}" if kind == "gym" else
                          traceback.format_exc())
                raise SpecError(f"{where}: creating environment {i} failed: {detail}") from None
            if not (hasattr(env, "observation_space") and hasattr(env, "action_space") and
                    callable(getattr(env, "step", None)) and callable(getattr(env, "reset", None))):
                raise SpecError(f"{where}: expected a Gymnasium environment (observation_space, "
                                f"action_space, reset, step), got {type(env).__name__}")
            if hasattr(env, "num_envs") and hasattr(env, "single_observation_space"):
                raise SpecError(f"{where}: got a vector environment; return one environment, "
                                "Colony steps --envs-per-actor copies of it")
            self.envs.append(env)
        first = self.envs[0]
        from gymnasium import spaces
        self.observation_space = first.observation_space
        self.action_space = first.action_space
        self.layout = Layout(self.observation_space)
        self.action = ActionLayout(self.action_space, where)
        self.num_actions = self.action.num_actions
        self.action_nvec = self.action.nvec
        self.action_dim = self.action.dim
        self.action_low = self.action.low
        self.action_high = self.action.high
        spec = getattr(first, "spec", None)
        limit = getattr(spec, "max_episode_steps", None) if spec is not None else None
        self.max_episode_steps = int(limit) if limit else 0
        self.obs_dim = self.layout.dim
        self.obs = np.zeros((num_envs, self.obs_dim), np.float32)
        self.rewards = np.zeros(num_envs, np.float32)
        self.terminated = np.zeros(num_envs, np.uint8)
        self.truncated = np.zeros(num_envs, np.uint8)
        self.actions = (np.zeros((num_envs, self.action_dim), np.float32) if self.action_dim
                        else np.zeros(num_envs, np.int64))

    def describe(self):
        limit = self.max_episode_steps or "none known"
        return ([f"observation space: {self.observation_space}",
                 (f"kept as uint8[{self.obs_dim}]:" if self.layout.uint8 else
                  f"flattened to float32[{self.obs_dim}]:")] +
                ["  " + line for line in self.layout.describe()] +
                [f"action space: {self.action_space}", f"episode limit: {limit}"])

    def reset(self, i, seed):
        """Starts an episode in env i (seed None: continue its own random stream) and writes
        its first observation. Returns None, or the traceback if it raised."""
        try:
            value, _ = self.envs[i].reset(seed=seed)
            self.layout.write(value, self.obs[i])
            return None
        except Exception:
            self.obs[i] = 0
            return traceback.format_exc()

    def step(self):
        """Steps every env with `actions`; returns [(i, traceback)] for those that raised."""
        actions = self.action.to_env(self.actions)
        rewards = [0.0] * len(self.envs)
        terminated = [False] * len(self.envs)
        truncated = [False] * len(self.envs)
        errors = []
        write = self.layout.write
        obs = self.obs
        for i, env in enumerate(self.envs):
            try:
                value, reward, term, trunc, _ = env.step(actions[i])
                write(value, obs[i])
                rewards[i] = float(reward)
                terminated[i] = bool(term)
                truncated[i] = bool(trunc)
            except Exception:  # the episode is dropped: cut, not ended (python_env.cc)
                obs[i] = 0
                rewards[i] = 0.0
                terminated[i] = False
                truncated[i] = True
                errors.append((i, traceback.format_exc()))
        self.rewards[:] = rewards
        self.terminated[:] = terminated
        self.truncated[:] = truncated
        return errors
