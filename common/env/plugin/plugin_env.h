// Environment plugins as BatchEnvs: `plugin:PATH.so[:key=value,...]`, a shared library that
// implements the C ABI of colony_env_plugin.h (read that header first: it is the contract).
//
// In: the env text, E, EnvOptions (rank, fault limit), then per step E actions.
// Out: the BatchEnv contract of env.h: float32 observation rows, rewards, flags.
//
// Loading: PATH is made absolute against the working directory (so `plugin:foo.so` never
// searches LD_LIBRARY_PATH), opened with dlopen(RTLD_NOW | RTLD_LOCAL) once per process and
// never closed. A missing file, a library that does not load, a missing colony_env_plugin_v1, a
// wrong abi_version or struct_size, a missing function, bad parameters (the plugin's create
// failed) or a bad spec throw EnvError naming what was expected.
//
// Seeding: each Reset(i) passes the plugin a seed drawn from env i's stream (rng.h), so (run
// seed, rank, i) fixes the episodes, as for the built-in environments.
//
// Faults mirror the Python path (python/python_env.h): a failed step in env i is printed with
// the env text, the index, the rank and the plugin's message, reported as terminated with
// reward 0, and the env is reset; a failed reset is retried with the next seed. `env_errors()`
// counts them; EnvOptions::max_consecutive_errors batch steps or resets in a row that failed
// throw EnvFault, as does a negative return from step (the whole batch failed).
#pragma once

#include <memory>
#include <string>

#include "common/env/env.h"

namespace colony::env {

// True for texts this module handles: "plugin:...".
bool IsPluginEnvName(const std::string& text);

// Loads the library (once per process) and builds E copies; throws EnvError for bad input.
std::unique_ptr<BatchEnv> MakePluginEnv(const std::string& text, int num_envs,
                                        const EnvOptions& options);

}  // namespace colony::env
