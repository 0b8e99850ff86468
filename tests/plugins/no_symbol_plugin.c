/* A shared library without colony_env_plugin_v1 (a typo in the name): Colony must say which
 * symbol it looked for. */
#include "common/env/plugin/colony_env_plugin.h"

COLONY_ENV_PLUGIN_EXPORT int colony_env_plugin_v1_typo(void) { return 1; }
