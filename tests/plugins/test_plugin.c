/* A plugin for Colony's tests (common/env/plugin/): a counter environment whose failures are
 * chosen by parameters, to drive the fault path of plugin_env.cc.
 *
 * Observation [1]: steps since the env's reset. Reward 1 per step; terminated after `length`
 * steps. Parameters (integers): length (10); fail_every=N: env i's step fails on each N-th step
 * it takes (counted since create, across episodes; 0 = never); fail_env=K: only env K fails
 * (-1: all); fail_reset=1: every reset fails; batch_fail=1: step fails for the whole batch;
 * silent=1: failures write no message (an ABI violation); chatty_env=K: env K writes a message
 * on its first step without failing (an ABI violation too); bad_spec=1: num_actions 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/env/plugin/colony_env_plugin.h"

typedef struct {
  int32_t num_envs;
  long long length, fail_every, fail_env, fail_reset, batch_fail, silent, chatty_env;
  long long* in_episode; /* [num_envs] */
  long long* total;      /* [num_envs] */
} Counters;

static void* Create(int32_t num_envs, const ColonyEnvParamV1* params, int32_t num_params,
                    ColonyEnvSpecV1* spec, char* error) {
  Counters c = {num_envs, 10, 0, -1, 0, 0, 0, -1, NULL, NULL};
  long long bad_spec = 0;
  for (int32_t i = 0; i < num_params; ++i) {
    long long* slot = NULL;
    if (strcmp(params[i].key, "length") == 0) slot = &c.length;
    if (strcmp(params[i].key, "fail_every") == 0) slot = &c.fail_every;
    if (strcmp(params[i].key, "fail_env") == 0) slot = &c.fail_env;
    if (strcmp(params[i].key, "fail_reset") == 0) slot = &c.fail_reset;
    if (strcmp(params[i].key, "batch_fail") == 0) slot = &c.batch_fail;
    if (strcmp(params[i].key, "silent") == 0) slot = &c.silent;
    if (strcmp(params[i].key, "chatty_env") == 0) slot = &c.chatty_env;
    if (strcmp(params[i].key, "bad_spec") == 0) slot = &bad_spec;
    char* end = NULL;
    if (slot == NULL) {
      snprintf(error, COLONY_ENV_ERROR_SIZE, "unknown parameter '%s'", params[i].key);
      return NULL;
    }
    *slot = strtoll(params[i].value, &end, 10);
    if (*params[i].value == '\0' || *end != '\0') {
      snprintf(error, COLONY_ENV_ERROR_SIZE, "parameter %s: expected an integer, got '%s'",
               params[i].key, params[i].value);
      return NULL;
    }
  }
  Counters* out = malloc(sizeof(Counters));
  *out = c;
  out->in_episode = calloc((size_t)num_envs, sizeof(long long));
  out->total = calloc((size_t)num_envs, sizeof(long long));
  spec->obs_rank = 1;
  spec->obs_shape[0] = 1;
  spec->num_actions = bad_spec ? 0 : 2;
  spec->max_episode_steps = c.length;
  return out;
}

static void Destroy(void* handle) {
  Counters* c = handle;
  free(c->in_episode);
  free(c->total);
  free(c);
}

static int32_t Reset(void* handle, int32_t index, uint64_t seed, float* obs_row, char* error) {
  (void)seed;
  Counters* c = handle;
  if (c->fail_reset) {
    snprintf(error, COLONY_ENV_ERROR_SIZE, "reset refused on purpose");
    return 1;
  }
  c->in_episode[index] = 0;
  obs_row[0] = 0;
  return 0;
}

static int32_t Step(void* handle, const int64_t* actions, float* obs, float* rewards,
                    uint8_t* terminated, uint8_t* truncated, char* errors) {
  Counters* c = handle;
  if (c->batch_fail) {
    snprintf(errors, COLONY_ENV_ERROR_SIZE, "the simulator lost its device");
    return -1;
  }
  int32_t failed = 0;
  for (int32_t i = 0; i < c->num_envs; ++i) {
    c->total[i] += 1;
    c->in_episode[i] += 1;
    obs[i] = (float)c->in_episode[i];
    rewards[i] = 1;
    terminated[i] = c->in_episode[i] >= c->length;
    truncated[i] = 0;
    if (c->chatty_env == i && c->total[i] == 1) {
      snprintf(errors + (size_t)i * COLONY_ENV_ERROR_SIZE, COLONY_ENV_ERROR_SIZE, "just saying");
    }
    if (c->fail_every > 0 && c->total[i] % c->fail_every == 0 &&
        (c->fail_env < 0 || c->fail_env == i)) {
      ++failed;
      if (!c->silent) {
        snprintf(errors + (size_t)i * COLONY_ENV_ERROR_SIZE, COLONY_ENV_ERROR_SIZE,
                 "boom at step %lld (action %lld)", c->total[i], (long long)actions[i]);
      }
    }
  }
  return failed;
}

COLONY_ENV_PLUGIN_EXPORT const ColonyEnvPluginV1* colony_env_plugin_v1(void) {
  /* struct_size as a plugin built with the header before action_space and step_box: such a
   * table still loads, with Discrete actions. */
  static const ColonyEnvPluginV1 kPlugin = {COLONY_ENV_PLUGIN_ABI_VERSION,
                                            offsetof(ColonyEnvPluginV1, action_space),
                                            "test-counter",
                                            "a counter that fails on request",
                                            Create,
                                            Destroy,
                                            Reset,
                                            Step,
                                            NULL,
                                            NULL,  /* beyond struct_size: never read */
                                            NULL};
  return &kPlugin;
}
