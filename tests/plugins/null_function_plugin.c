/* A plugin whose table lacks `step`: Colony must name the missing function. */
#include "common/env/plugin/colony_env_plugin.h"

static void* Create(int32_t n, const ColonyEnvParamV1* p, int32_t np, ColonyEnvSpecV1* s,
                    char* e) {
  (void)n, (void)p, (void)np, (void)s, (void)e;
  return 0;
}
static void Destroy(void* h) { (void)h; }
static int32_t Reset(void* h, int32_t i, uint64_t s, float* o, char* e) {
  (void)h, (void)i, (void)s, (void)o, (void)e;
  return 0;
}

COLONY_ENV_PLUGIN_EXPORT const ColonyEnvPluginV1* colony_env_plugin_v1(void) {
  static const ColonyEnvPluginV1 kPlugin = {COLONY_ENV_PLUGIN_ABI_VERSION,
                                            sizeof(ColonyEnvPluginV1),
                                            "no-step", "", Create, Destroy, Reset, 0, 0,
                                            0, 0};
  return &kPlugin;
}
