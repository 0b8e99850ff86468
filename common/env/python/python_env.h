// Gymnasium environments as BatchEnvs: `gym:ID[:key=value,...]` (gymnasium.make(ID, **kwargs))
// and `py:MODULE:FUNCTION[:key=value,...]` (the user's factory, FUNCTION(**kwargs), returning
// one Gymnasium environment). Values are JSON literals: `gym:FrozenLake-v1:is_slippery=false`,
// `py:my_envs:make:size=8,mode="hard"`. An ID that a package registers on import is written
// `gym:PACKAGE:ID` (gymnasium.make's own "module:id" form).
//
// In: the env text, E, EnvOptions (rank, fault limit), then per step E actions.
// Out: the BatchEnv contract of env.h: float32 observation rows, rewards, flags.
//
// Each process embeds one CPython interpreter (python_interpreter.h), started on the first
// gym:/py: env it builds; processes that never ask for one never start it. A batch step is one
// call into Python (bridge.py steps the E envs in a loop and flattens observations with numpy
// into arrays this side reads through the buffer protocol); a reset is one call per env.
//
// Seeding: Seed(i, s) makes env i's next reset call reset(seed=d), d drawn from env i's stream
// (32 bits, since many environments pass seeds to 32-bit generators); later resets pass no
// seed and continue the environment's own generator, as Gymnasium intends. So (run seed, rank,
// index) fixes an env's episodes, as for the built-in environments.
//
// Faults: an exception in env i's step or reset is printed with the env text, the index, the
// rank and the Python traceback; the episode is dropped (the step reads truncated with reward 0
// and BatchEnv::StepFaulted marks it) and the env is reset. `env_errors()` counts them. When
// EnvOptions::max_consecutive_errors consecutive steps or resets raised, Step/Reset throw
// EnvFault. Bad names, parameters or unsupported spaces throw EnvError at construction.
#pragma once

#include <memory>
#include <string>

#include "common/env/env.h"

namespace colony::env {

// True for texts this module handles: "gym:..." or "py:...".
bool IsPythonEnvName(const std::string& text);

// Builds E copies of the environment; throws EnvError for bad input (unknown id with close
// matches, bad parameters, unsupported spaces, a factory that raised or returned no env).
std::unique_ptr<BatchEnv> MakePythonEnv(const std::string& text, int num_envs,
                                        const EnvOptions& options);

}  // namespace colony::env
