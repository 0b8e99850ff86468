// Starting the embedded interpreter and loading bridge.py (python_interpreter.h).
#include "common/env/python/python_interpreter.h"

#include <pybind11/embed.h>
#include <sys/stat.h>

#include <cstdlib>
#include <mutex>
#include <string>

#include "common/env/env.h"
#include "common/env/python/bridge_source.h"  // kBridgeSource: bridge.py, embedded by CMake

namespace colony::env {
namespace py = pybind11;
namespace {

// The Python this binary links against, e.g. "3.11": a venv must be of the same version.
const std::string kPythonVersion =
    std::to_string(PY_MAJOR_VERSION) + "." + std::to_string(PY_MINOR_VERSION);

bool IsDirectory(const std::string& path) {
  struct stat info {};
  return stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

std::string Getenv(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

// The venv launch/setup makes (COLONY_VENV overrides, as it does for launch/setup and
// launch/build).
std::string VenvPath() {
  std::string venv = Getenv("COLONY_VENV");
  if (!venv.empty()) return venv;
  std::string data = Getenv("XDG_DATA_HOME");
  if (data.empty()) data = Getenv("HOME") + "/.local/share";
  return data + "/colony/venv";
}

struct State {
  std::string site_packages;  // "" = the system's site-packages (no venv found)
  std::string description;
  py::module_* bridge = nullptr;  // leaked on purpose: the interpreter is never finalised
};

State& TheState() {
  static State state;
  return state;
}

// Runs once, on the first thread that needs Python; throws EnvError.
void Start() {
  State& state = TheState();
  const std::string venv = VenvPath();
  const std::string site = venv + "/lib/python" + kPythonVersion + "/site-packages";
  const bool explicit_venv = !Getenv("COLONY_VENV").empty();
  if (IsDirectory(site)) {
    state.site_packages = site;
  } else if (explicit_venv || IsDirectory(venv)) {
    throw EnvError("Python environments: expected a venv of Python " + kPythonVersion +
                   " (the Python Colony was built with) at " + venv + ", but " + site +
                   " does not exist; make one with python" + kPythonVersion +
                   " -m venv (launch/setup does) or point COLONY_VENV at one");
  }

  // numpy's OpenBLAS would otherwise start a thread per core in every actor process; an actor
  // is one rank on one core. The user's own setting wins.
  setenv("OPENBLAS_NUM_THREADS", "1", /*overwrite=*/0);
  setenv("MKL_NUM_THREADS", "1", /*overwrite=*/0);

  PyConfig config;
  PyConfig_InitPythonConfig(&config);
  config.install_signal_handlers = 0;  // Colony's own handlers stop runs in order
  config.parse_argv = 0;
  // With a venv, skip the system's site-packages (Debian's dist-packages may hold other
  // versions of numpy & co.); the venv's are added below, as the venv's own python would.
  config.site_import = state.site_packages.empty() ? 1 : 0;
  py::initialize_interpreter(&config, 0, nullptr, /*add_program_dir_to_path=*/false);

  try {
    py::dict scope;
    scope["site_packages"] = state.site_packages;
    scope["extra_path"] = Getenv("COLONY_PYTHONPATH");
    py::exec(R"(
import os, sys
if site_packages:
    import site
    site.addsitedir(site_packages)
front = [p for p in extra_path.split(os.pathsep) if p] + [os.getcwd()]
sys.path[:0] = [p for p in front if p not in sys.path]
)", scope);
    py::module_ module = py::module_::import("types").attr("ModuleType")("colony_bridge");
    py::object code = py::module_::import("builtins")
                          .attr("compile")(kBridgeSource, "colony/common/env/python/bridge.py",
                                           "exec");
    py::module_::import("builtins").attr("exec")(code, module.attr("__dict__"));
    py::module_::import("sys").attr("modules")["colony_bridge"] = module;
    state.bridge = new py::module_(std::move(module));
    const std::string version = py::str(py::module_::import("platform").attr("python_version")());
    state.description = "Python " + version + " with " +
                        (state.site_packages.empty() ? "the system's site-packages"
                                                     : state.site_packages);
  } catch (py::error_already_set& error) {
    const std::string text = FormatPythonError(error);
    PyEval_SaveThread();
    throw EnvError("Python environments: the bridge needs numpy and gymnasium in " +
                   (state.site_packages.empty()
                        ? "the system's Python (there is no venv at " + venv +
                              "; launch/setup makes one there, or set COLONY_VENV)"
                        : state.site_packages + " (launch/setup installs them)") +
                   ": " + text);
  }
  PyEval_SaveThread();  // release the GIL: every user takes it with gil_scoped_acquire
}

}  // namespace

void EnsurePythonStarted() {
  // call_once rethrows and lets the next caller try again; a failed Start leaves the
  // interpreter running but without the bridge, so report the first error every time.
  static std::mutex mutex;
  static std::string failure;
  std::lock_guard<std::mutex> lock(mutex);
  if (TheState().bridge != nullptr) return;
  if (!failure.empty()) throw EnvError(failure);
  try {
    Start();
  } catch (const EnvError& error) {
    failure = error.what();
    throw;
  }
}

py::module_& BridgeModule() { return *TheState().bridge; }

std::string FormatPythonError(py::error_already_set& error) {
  try {
    py::object lines = py::module_::import("traceback")
                           .attr("format_exception")(error.type(), error.value(), error.trace());
    return py::str("").attr("join")(lines).cast<std::string>();
  } catch (py::error_already_set&) {
    return error.what();
  }
}

std::string PythonDescription() {
  EnsurePythonStarted();
  return TheState().description;
}

}  // namespace colony::env
