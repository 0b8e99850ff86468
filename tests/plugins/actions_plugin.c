/* A plugin for Colony's tests with a MultiDiscrete or a Box action space (colony_env_plugin.h's
 * action_space and step_box): every action is checked against the space and echoed back as the
 * next observation, so a test sees exactly what arrived, and an action outside the space fails
 * that env's step (with --max-env-errors 1 that ends a run).
 *
 * Parameters: kind=0 MultiDiscrete([2 3]) (default), kind=1 Box of `dims` (2) dimensions,
 * dimension j within [-1 - j, 1 + j]; length (10) steps per episode; bad=1 says an unknown
 * action kind, bad=2 Box bounds low > high, bad=3 MultiDiscrete nvec that do not multiply to
 * num_actions.
 * MultiDiscrete: observation [2] = the components (a / 3, a % 3); reward = their sum.
 * Box: observation [dims] = the action; reward = -sum(a_j^2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/env/plugin/colony_env_plugin.h"

typedef struct {
  int32_t num_envs;
  long long kind, dims, length, bad;
  long long* in_episode; /* [num_envs] */
} Echo;

static void* Create(int32_t num_envs, const ColonyEnvParamV1* params, int32_t num_params,
                    ColonyEnvSpecV1* spec, char* error) {
  Echo e = {num_envs, 0, 2, 10, 0, NULL};
  for (int32_t i = 0; i < num_params; ++i) {
    long long* slot = NULL;
    if (strcmp(params[i].key, "kind") == 0) slot = &e.kind;
    if (strcmp(params[i].key, "dims") == 0) slot = &e.dims;
    if (strcmp(params[i].key, "length") == 0) slot = &e.length;
    if (strcmp(params[i].key, "bad") == 0) slot = &e.bad;
    if (slot == NULL) {
      snprintf(error, COLONY_ENV_ERROR_SIZE, "unknown parameter '%s'; expected kind, dims, "
               "length or bad", params[i].key);
      return NULL;
    }
    *slot = strtoll(params[i].value, NULL, 10);
  }
  if (e.dims < 1 || e.dims > COLONY_ENV_MAX_ACTION_SIZE) {
    snprintf(error, COLONY_ENV_ERROR_SIZE, "parameter dims: expected 1..%d, got %lld",
             COLONY_ENV_MAX_ACTION_SIZE, e.dims);
    return NULL;
  }
  Echo* out = malloc(sizeof(Echo));
  *out = e;
  out->in_episode = calloc((size_t)num_envs, sizeof(long long));
  spec->obs_rank = 1;
  spec->obs_shape[0] = e.kind == 1 ? e.dims : 2;
  spec->num_actions = e.kind == 1 ? 0 : (e.bad == 3 ? 5 : 6);
  spec->max_episode_steps = e.length;
  return out;
}

static void Destroy(void* handle) {
  Echo* e = handle;
  free(e->in_episode);
  free(e);
}

static int32_t ActionSpace(void* handle, ColonyEnvActionsV1* actions, char* error) {
  (void)error;
  const Echo* e = handle;
  if (e->kind == 1) {
    actions->kind = COLONY_ENV_ACTIONS_BOX;
    actions->size = (int32_t)e->dims;
    for (int32_t j = 0; j < actions->size; ++j) {
      actions->low[j] = (float)(-1 - j);
      actions->high[j] = (float)(1 + j);
    }
    if (e->bad == 2) actions->low[0] = 5;
  } else {
    actions->kind = e->bad == 1 ? 7 : COLONY_ENV_ACTIONS_MULTI_DISCRETE;
    actions->size = 2;
    actions->nvec[0] = 2;
    actions->nvec[1] = 3;
  }
  return 0;
}

static int32_t Reset(void* handle, int32_t index, uint64_t seed, float* obs_row, char* error) {
  (void)seed;
  (void)error;
  Echo* e = handle;
  e->in_episode[index] = 0;
  memset(obs_row, 0, sizeof(float) * (size_t)(e->kind == 1 ? e->dims : 2));
  return 0;
}

static void EndStep(Echo* e, int32_t i, uint8_t* terminated, uint8_t* truncated) {
  e->in_episode[i] += 1;
  terminated[i] = 0;
  truncated[i] = e->in_episode[i] >= e->length;
}

static int32_t Step(void* handle, const int64_t* actions, float* obs, float* rewards,
                    uint8_t* terminated, uint8_t* truncated, char* errors) {
  Echo* e = handle;
  int32_t failed = 0;
  for (int32_t i = 0; i < e->num_envs; ++i) {
    const int64_t a = actions[i];
    EndStep(e, i, terminated, truncated);
    if (a < 0 || a >= 6) {
      ++failed;
      snprintf(errors + (size_t)i * COLONY_ENV_ERROR_SIZE, COLONY_ENV_ERROR_SIZE,
               "action %lld outside MultiDiscrete([2 3]) (0..5)", (long long)a);
      continue;
    }
    obs[2 * i] = (float)(a / 3);
    obs[2 * i + 1] = (float)(a % 3);
    rewards[i] = (float)(a / 3 + a % 3);
  }
  return failed;
}

static int32_t StepBox(void* handle, const float* actions, float* obs, float* rewards,
                       uint8_t* terminated, uint8_t* truncated, char* errors) {
  Echo* e = handle;
  int32_t failed = 0;
  for (int32_t i = 0; i < e->num_envs; ++i) {
    EndStep(e, i, terminated, truncated);
    float cost = 0;
    for (int32_t j = 0; j < e->dims; ++j) {
      const float a = actions[i * e->dims + j];
      if (!(a >= (float)(-1 - j) && a <= (float)(1 + j))) {
        ++failed;
        snprintf(errors + (size_t)i * COLONY_ENV_ERROR_SIZE, COLONY_ENV_ERROR_SIZE,
                 "action %g of dimension %d outside [%d, %d]", a, j, -1 - j, 1 + j);
        break;
      }
      obs[i * e->dims + j] = a;
      cost += a * a;
    }
    rewards[i] = -cost;
  }
  return failed;
}

COLONY_ENV_PLUGIN_EXPORT const ColonyEnvPluginV1* colony_env_plugin_v1(void) {
  static const ColonyEnvPluginV1 kPlugin = {COLONY_ENV_PLUGIN_ABI_VERSION,
                                            sizeof(ColonyEnvPluginV1),
                                            "test-actions",
                                            "echoes MultiDiscrete or Box actions",
                                            Create,
                                            Destroy,
                                            Reset,
                                            Step,
                                            NULL,
                                            ActionSpace,
                                            StepBox};
  return &kPlugin;
}
