/* A plugin of a future ABI version: Colony must refuse it, naming both versions. */
#include "common/env/plugin/colony_env_plugin.h"

COLONY_ENV_PLUGIN_EXPORT const ColonyEnvPluginV1* colony_env_plugin_v1(void) {
  static const ColonyEnvPluginV1 kPlugin = {COLONY_ENV_PLUGIN_ABI_VERSION + 1,
                                            sizeof(ColonyEnvPluginV1),
                                            "future", "", 0, 0, 0, 0, 0, 0, 0};
  return &kPlugin;
}
