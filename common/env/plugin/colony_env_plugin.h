/* colony_env_plugin.h: the C ABI of a Colony environment plugin, version 1.
 *
 * A simulator written in C or C++ becomes trainable with `colony train --env plugin:PATH.so`
 * by implementing this header in a shared library. This file is pure C (C99 and later, or any
 * C++), depends on nothing but <stddef.h> and <stdint.h>, and is the whole contract: copy it
 * into your project as it is.
 *
 * The library exports one function,
 *
 *     COLONY_ENV_PLUGIN_EXPORT const ColonyEnvPluginV1* colony_env_plugin_v1(void);
 *
 * returning a pointer to a static table of function pointers whose `abi_version` is
 * COLONY_ENV_PLUGIN_ABI_VERSION and `struct_size` is sizeof(ColonyEnvPluginV1). Colony loads
 * the library with dlopen(RTLD_NOW | RTLD_LOCAL) in every process that builds the environment
 * (each actor, and each learner once to read the spec) and never unloads it.
 *
 * Actions are Discrete(spec.num_actions) unless the plugin also says a MultiDiscrete or Box
 * space through `action_space` (and, for Box, steps through `step_box`); see ColonyEnvActionsV1.
 *
 * Data flow. `create` makes a batch of `num_envs` independent environments from the text
 * parameters of `plugin:PATH.so:key=value,...` and says their spec. Colony then calls `reset`
 * for each env, and `step` with one action per env; observations, rewards and flags go into
 * buffers Colony owns (row-major, env i's observation at obs[i * obs_dim]).
 *
 * Episode ends. `step` always writes the observation the step produced, also the final one of
 * an episode that ended; the plugin never resets by itself. Colony calls `reset(i)` for every
 * env whose episode ended (terminated or truncated) before it steps that env again; until then
 * the plugin may step it anyway (Colony ignores the result) but need not. So one code path
 * serves both of Colony's modes (auto-reset for actors, step-by-step for replay and tests).
 *
 * Seeds. Each reset carries a 64-bit seed, drawn by Colony from env i's own random stream
 * (fixed by the run seed, the actor rank and i). An env's episode must be a function of that
 * seed and the actions alone: draw every random number of the episode from a generator seeded
 * by it. Then a run seed fixes every episode, as for Colony's built-in environments.
 *
 * Errors. Every function that can fail writes a NUL-terminated message of at most
 * COLONY_ENV_ERROR_SIZE bytes (including the NUL) into a buffer Colony provides:
 *   - create: returns NULL and writes `error`. Colony refuses the run with the message (bad
 *     parameters are the common case: name the parameter, what is allowed and what was given).
 *   - reset: returns nonzero and writes `error`. Colony counts it and retries with the next seed.
 *   - step: a failure in env i is written to errors + i * COLONY_ENV_ERROR_SIZE (a nonempty
 *     message) and the function returns how many envs failed; the other envs' results stand.
 *     Colony drops that env's episode (the step counts as cut, reward 0; no return is
 *     reported for the episode) and resets that env. A
 *     negative return means the whole batch failed (message in the first row) and ends the run.
 * Colony prints each failure with the env text, the index, the actor rank and the message,
 * counts it in `env_errors`, and ends the run when --max-env-errors batch steps or resets in a
 * row failed. A plugin must never abort the process for a failure in one env.
 *
 * Threads. Colony never calls into one handle from two threads at once. Different handles
 * (one per process in practice) may be used from different threads: keep no unguarded global
 * mutable state.
 */
#ifndef COLONY_ENV_PLUGIN_H_
#define COLONY_ENV_PLUGIN_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define COLONY_ENV_PLUGIN_ABI_VERSION 1
#define COLONY_ENV_PLUGIN_SYMBOL "colony_env_plugin_v1"

/* Bytes of every error buffer, including the terminating NUL. */
#define COLONY_ENV_ERROR_SIZE 512
/* At most this many observation dimensions. */
#define COLONY_ENV_MAX_OBS_RANK 8
/* At most this many MultiDiscrete components or Box action dimensions. */
#define COLONY_ENV_MAX_ACTION_SIZE 64

/* Action kinds (ColonyEnvActionsV1.kind). Discrete needs no action_space function. */
#define COLONY_ENV_ACTIONS_DISCRETE 0
#define COLONY_ENV_ACTIONS_MULTI_DISCRETE 1
#define COLONY_ENV_ACTIONS_BOX 2

#if defined(_WIN32)
#define COLONY_ENV_PLUGIN_EXPORT __declspec(dllexport)
#else
#define COLONY_ENV_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/* What `create` says about the environments it made. Colony zeroes it before the call. */
typedef struct ColonyEnvSpecV1 {
  /* Observations: float32 arrays of this shape (rank 1..COLONY_ENV_MAX_OBS_RANK, every
   * dimension >= 1); a row holds the product of the dimensions. */
  int32_t obs_rank;
  int64_t obs_shape[COLONY_ENV_MAX_OBS_RANK];
  /* Actions: Discrete(num_actions), the integers [0, num_actions); num_actions >= 1. Colony
   * checks every action before it calls step. For MultiDiscrete the product of nvec, for Box 0
   * (ColonyEnvActionsV1). */
  int64_t num_actions;
  /* No episode has more steps; 0 when there is no limit. */
  int64_t max_episode_steps;
  /* Optional: the names of the physical state `set_state` accepts, comma-separated
   * ("x,x_dot,theta,theta_dot"), a string with static lifetime; NULL when set_state is NULL. */
  const char* state_names;
} ColonyEnvSpecV1;

/* An action space other than Discrete, said by the optional `action_space` function. Colony
 * zeroes it before the call.
 *   MultiDiscrete(nvec[0..size)): `step` receives one integer per env, the components'
 *     mixed-radix index (the last component fastest, as numpy's ravel_multi_index), in
 *     [0, product of nvec); spec.num_actions must be that product. Each nvec[k] >= 1.
 *   Box(low, high), `size` = D float32 values per action: Colony calls `step_box` instead of
 *     `step`, with every value within [low[j], high[j]] (bounds may be infinite; low <= high);
 *     spec.num_actions must be 0 (so that a Colony without Box support refuses the plugin). */
typedef struct ColonyEnvActionsV1 {
  int32_t kind; /* COLONY_ENV_ACTIONS_* */
  int32_t size; /* components or dimensions, 1..COLONY_ENV_MAX_ACTION_SIZE */
  int64_t nvec[COLONY_ENV_MAX_ACTION_SIZE];
  float low[COLONY_ENV_MAX_ACTION_SIZE];
  float high[COLONY_ENV_MAX_ACTION_SIZE];
} ColonyEnvActionsV1;

/* The parameters of `plugin:PATH.so:key=value,...`, in the order written, as C strings (keys
 * are identifiers, each at most once; values are the text after '=' and contain no ','). */
typedef struct ColonyEnvParamV1 {
  const char* key;
  const char* value;
} ColonyEnvParamV1;

typedef struct ColonyEnvPluginV1 {
  uint32_t abi_version; /* COLONY_ENV_PLUGIN_ABI_VERSION */
  uint32_t struct_size; /* sizeof(ColonyEnvPluginV1) */
  const char* name;     /* short name, e.g. "cartpole" */
  const char* summary;  /* one line for `colony env spec` and `colony env list` */

  /* Makes num_envs (>= 1) environments; fills *spec. On failure returns NULL and writes
   * `error`. Parameters the plugin does not know must be refused, naming the known ones. */
  void* (*create)(int32_t num_envs, const ColonyEnvParamV1* params, int32_t num_params,
                  ColonyEnvSpecV1* spec, char* error);

  /* Frees everything create made. Never fails. */
  void (*destroy)(void* handle);

  /* Starts a new episode in env `index` from `seed` and writes its first observation to
   * obs_row. Returns 0, or nonzero after writing `error`. */
  int32_t (*reset)(void* handle, int32_t index, uint64_t seed, float* obs_row, char* error);

  /* Steps every env with actions[i]. Writes obs [num_envs * obs_dim], rewards, terminated and
   * truncated [num_envs] (0 or 1; both may be 1). Returns 0, the number of failed envs (each
   * with a message in its row of `errors`, [num_envs * COLONY_ENV_ERROR_SIZE], whose first
   * bytes are 0 on entry), or a negative number if the whole batch failed. */
  int32_t (*step)(void* handle, const int64_t* actions, float* obs, float* rewards,
                  uint8_t* terminated, uint8_t* truncated, char* errors);

  /* Optional (NULL if none): starts an episode in env `index` from a physical state of
   * `num_values` doubles (spec.state_names) and writes its observation; for tests and
   * `colony env replay --state`. Returns 0, or nonzero after writing `error`. */
  int32_t (*set_state)(void* handle, int32_t index, const double* state, int32_t num_values,
                       float* obs_row, char* error);
  /* --- Added 2026-11-29 (same abi_version): present when struct_size covers them. A table
   * that ends at set_state (built with the older header) has Discrete actions. --- */
  /* Optional (NULL: Discrete(spec.num_actions)): says a MultiDiscrete or Box action space
   * into *actions; called once, right after create. Returns 0, or nonzero after writing
   * `error` (Colony then refuses the run with it). */
  int32_t (*action_space)(void* handle, ColonyEnvActionsV1* actions, char* error);
  /* Required for Box actions, NULL otherwise: `step` with actions [num_envs * D] float32 (env
   * i's at actions[i * D]); everything else as for `step`. */
  int32_t (*step_box)(void* handle, const float* actions, float* obs, float* rewards,
                      uint8_t* terminated, uint8_t* truncated, char* errors);
} ColonyEnvPluginV1;

/* The one symbol a plugin exports. */
typedef const ColonyEnvPluginV1* (*ColonyEnvPluginEntryV1)(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* COLONY_ENV_PLUGIN_H_ */
