// The one CPython interpreter of a process, for Gymnasium environments (python_env.h).
//
// Started lazily by the first caller (any thread), never finalised (extension modules such as
// numpy do not survive Py_Finalize, and the process exit cleans up). After start-up the GIL is
// released; every use takes it with pybind11::gil_scoped_acquire.
//
// Where packages come from: Colony embeds the Python it was built against (Debian's python3,
// 3.11 on Debian 12) and gives it the site-packages of the venv that launch/setup makes,
// ${COLONY_VENV:-${XDG_DATA_HOME:-$HOME/.local/share}/colony/venv}, instead of the system's (the
// venv must be of the same Python minor version). Modules of `py:MODULE:FUNCTION` are searched
// in $COLONY_PYTHONPATH (colon-separated), then the working directory, then $PYTHONPATH, the
// standard library and the venv. OPENBLAS_NUM_THREADS and MKL_NUM_THREADS default to 1 (an
// actor is one rank on one core); set them to override.
//
// Only this folder includes this header (it brings pybind11); python_env.h is plain C++.
#pragma once

#include <pybind11/pybind11.h>

#include <string>

namespace colony::env {

// Starts the interpreter if needed and loads bridge.py; throws EnvError naming what is missing
// (a venv of another Python version, numpy or gymnasium not importable).
void EnsurePythonStarted();

// bridge.py as a module. Call with the GIL held, after EnsurePythonStarted.
pybind11::module_& BridgeModule();

// The Python exception being handled, formatted as Python prints it (with the traceback).
std::string FormatPythonError(pybind11::error_already_set& error);

// "Python 3.11.2 with /root/.local/share/colony/venv/lib/python3.11/site-packages", for messages.
std::string PythonDescription();

}  // namespace colony::env
