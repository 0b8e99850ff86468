/* CartPole-v1 as a Colony environment plugin, in plain C: the example of
 * common/env/plugin/colony_env_plugin.h (read that header for the contract).
 *
 *   colony env spec  --env plugin:build/examples/cartpole_plugin.so
 *   colony train --serial --env plugin:build/examples/cartpole_plugin.so
 *
 * Parameters: max_steps=N (the episode limit, default 500, in [1, 1000000]) and stateless=0|1
 * (1: observe only [x, theta]). The physics is Gymnasium's CartPole-v1 operation for operation
 * in float64 (compiled with -ffp-contract=off), so from the same state and actions it gives the
 * same observations, rewards and flags as Colony's native CartPole-v1, bit for bit. Start states
 * are drawn uniformly in [-0.05, 0.05) from a SplitMix64 generator seeded by each reset's seed.
 *
 * Errors: bad parameters make create fail with a message; nothing in step can fail.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/env/plugin/colony_env_plugin.h"

#define GRAVITY 9.8
#define MASS_CART 1.0
#define MASS_POLE 0.1
#define TOTAL_MASS (MASS_POLE + MASS_CART)
#define HALF_LENGTH 0.5
#define POLE_MASS_LENGTH (MASS_POLE * HALF_LENGTH)
#define FORCE_MAG 10.0
#define TAU 0.02
#define X_THRESHOLD 2.4
#define RESET_BOUND 0.05

static const double kThetaThreshold = 12 * 2 * 3.141592653589793 / 360;

typedef struct {
  double x, x_dot, theta, theta_dot;
  int64_t elapsed;
} Pole;

typedef struct {
  int32_t num_envs;
  int64_t max_steps;
  int stateless;
  Pole* poles; /* [num_envs] */
} CartPoles;

static uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static double Uniform(uint64_t* state, double lo, double hi) {
  const double unit = (double)(SplitMix64(state) >> 11) * 0x1.0p-53;
  return lo + (hi - lo) * unit;
}

static void WriteObs(const CartPoles* envs, const Pole* p, float* row) {
  if (envs->stateless) {
    row[0] = (float)p->x;
    row[1] = (float)p->theta;
  } else {
    row[0] = (float)p->x;
    row[1] = (float)p->x_dot;
    row[2] = (float)p->theta;
    row[3] = (float)p->theta_dot;
  }
}

/* "123" -> 123 within [lo, hi]; otherwise writes an error naming the parameter. */
static int ParseInteger(const char* key, const char* text, int64_t lo, int64_t hi, int64_t* out,
                        char* error) {
  char* end = NULL;
  errno = 0;
  const long long value = strtoll(text, &end, 10);
  if (*text == '\0' || *end != '\0' || errno != 0 || value < lo || value > hi) {
    snprintf(error, COLONY_ENV_ERROR_SIZE,
             "parameter %s: expected an integer in [%lld, %lld], got '%s'", key, (long long)lo,
             (long long)hi, text);
    return -1;
  }
  *out = value;
  return 0;
}

static void* Create(int32_t num_envs, const ColonyEnvParamV1* params, int32_t num_params,
                    ColonyEnvSpecV1* spec, char* error) {
  int64_t max_steps = 500;
  int64_t stateless = 0;
  for (int32_t i = 0; i < num_params; ++i) {
    const char* key = params[i].key;
    if (strcmp(key, "max_steps") == 0) {
      if (ParseInteger(key, params[i].value, 1, 1000000, &max_steps, error) != 0) return NULL;
    } else if (strcmp(key, "stateless") == 0) {
      if (ParseInteger(key, params[i].value, 0, 1, &stateless, error) != 0) return NULL;
    } else {
      snprintf(error, COLONY_ENV_ERROR_SIZE,
               "unknown parameter '%s'; expected one of: max_steps, stateless", key);
      return NULL;
    }
  }
  CartPoles* envs = calloc(1, sizeof(CartPoles));
  Pole* poles = calloc((size_t)num_envs, sizeof(Pole));
  if (envs == NULL || poles == NULL) {
    free(envs);
    free(poles);
    snprintf(error, COLONY_ENV_ERROR_SIZE, "out of memory for %d envs", (int)num_envs);
    return NULL;
  }
  envs->num_envs = num_envs;
  envs->max_steps = max_steps;
  envs->stateless = (int)stateless;
  envs->poles = poles;
  spec->obs_rank = 1;
  spec->obs_shape[0] = stateless ? 2 : 4;
  spec->num_actions = 2;
  spec->max_episode_steps = max_steps;
  spec->state_names = "x,x_dot,theta,theta_dot";
  return envs;
}

static void Destroy(void* handle) {
  CartPoles* envs = handle;
  free(envs->poles);
  free(envs);
}

static int32_t Reset(void* handle, int32_t index, uint64_t seed, float* obs_row, char* error) {
  (void)error;
  CartPoles* envs = handle;
  Pole* p = &envs->poles[index];
  uint64_t state = seed;
  /* numpy's uniform(size=(4,)) order: x, x_dot, theta, theta_dot. */
  p->x = Uniform(&state, -RESET_BOUND, RESET_BOUND);
  p->x_dot = Uniform(&state, -RESET_BOUND, RESET_BOUND);
  p->theta = Uniform(&state, -RESET_BOUND, RESET_BOUND);
  p->theta_dot = Uniform(&state, -RESET_BOUND, RESET_BOUND);
  p->elapsed = 0;
  WriteObs(envs, p, obs_row);
  return 0;
}

static int32_t Step(void* handle, const int64_t* actions, float* obs, float* rewards,
                    uint8_t* terminated, uint8_t* truncated, char* errors) {
  (void)errors;
  CartPoles* envs = handle;
  const int64_t dim = envs->stateless ? 2 : 4;
  for (int32_t i = 0; i < envs->num_envs; ++i) {
    Pole* p = &envs->poles[i];
    /* Gymnasium's step(): the parenthesised groups are its Python evaluation order. */
    const double force = actions[i] == 1 ? FORCE_MAG : -FORCE_MAG;
    const double costheta = cos(p->theta);
    const double sintheta = sin(p->theta);
    const double temp =
        (force + POLE_MASS_LENGTH * (p->theta_dot * p->theta_dot) * sintheta) / TOTAL_MASS;
    const double thetaacc =
        (GRAVITY * sintheta - costheta * temp) /
        (HALF_LENGTH * (4.0 / 3.0 - MASS_POLE * (costheta * costheta) / TOTAL_MASS));
    const double xacc = temp - POLE_MASS_LENGTH * thetaacc * costheta / TOTAL_MASS;
    p->x = p->x + TAU * p->x_dot;
    p->x_dot = p->x_dot + TAU * xacc;
    p->theta = p->theta + TAU * p->theta_dot;
    p->theta_dot = p->theta_dot + TAU * thetaacc;
    terminated[i] = p->x < -X_THRESHOLD || p->x > X_THRESHOLD || p->theta < -kThetaThreshold ||
                    p->theta > kThetaThreshold;
    p->elapsed += 1;
    truncated[i] = p->elapsed >= envs->max_steps; /* TimeLimit: also when the pole fell */
    rewards[i] = 1.0f;
    WriteObs(envs, p, obs + i * dim);
  }
  return 0;
}

static int32_t SetState(void* handle, int32_t index, const double* state, int32_t num_values,
                        float* obs_row, char* error) {
  CartPoles* envs = handle;
  if (num_values != 4) {
    snprintf(error, COLONY_ENV_ERROR_SIZE,
             "expected 4 values (x,x_dot,theta,theta_dot), got %d", (int)num_values);
    return -1;
  }
  Pole* p = &envs->poles[index];
  p->x = state[0];
  p->x_dot = state[1];
  p->theta = state[2];
  p->theta_dot = state[3];
  p->elapsed = 0;
  WriteObs(envs, p, obs_row);
  return 0;
}

COLONY_ENV_PLUGIN_EXPORT const ColonyEnvPluginV1* colony_env_plugin_v1(void) {
  static const ColonyEnvPluginV1 kPlugin = {
      COLONY_ENV_PLUGIN_ABI_VERSION,
      sizeof(ColonyEnvPluginV1),
      "cartpole",
      "CartPole-v1 in C (examples/plugin_cartpole): obs [x, x_dot, theta, theta_dot], reward 1 "
      "per step, truncated at max_steps (500)",
      Create,
      Destroy,
      Reset,
      Step,
      SetState,
      NULL, /* action_space: Discrete(2) from the spec */
      NULL, /* step_box: no Box actions */
  };
  return &kPlugin;
}
