// PythonEnv: the BatchEnv over bridge.py's Batch (python_env.h). All Python calls happen with
// the GIL held and inside this file; the hot path is Step: copy actions in, one call, copy
// observations, rewards and flags out of the arrays bridge.py owns (pinned by Py_buffer views
// for the env's lifetime, so the copies are plain memcpy).
#include "common/env/python/python_env.h"

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cctype>
#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

#include "common/base/check.h"
#include "common/env/env_faults.h"
#include "common/env/python/python_interpreter.h"

namespace colony::env {
namespace py = pybind11;
namespace {

struct ParsedText {
  std::string kind;    // "gym" or "py"
  std::string target;  // the Gymnasium id, or MODULE:FUNCTION
  std::string params;  // "key=value,..." or "" (none)
  bool has_params = false;
};

// `name` is a Python identifier, or with `dotted` a dotted module path ("pkg.envs").
bool IsPythonName(const std::string& name, bool dotted) {
  bool at_start = true;
  for (const char c : name) {
    if (dotted && c == '.' && !at_start) {
      at_start = true;
      continue;
    }
    if (!IsIdentifierChar(c) || (at_start && std::isdigit(static_cast<unsigned char>(c)) != 0)) {
      return false;
    }
    at_start = false;
  }
  return !at_start;
}

// "gym:ID[:params]" or "py:MODULE:FUNCTION[:params]" (IsPythonEnvName holds) -> its parts.
ParsedText Parse(const std::string& text) {
  ParsedText parsed;
  const auto colon = text.find(':');
  parsed.kind = text.substr(0, colon);
  const std::string rest = text.substr(colon + 1);
  const bool py = parsed.kind == "py";
  // py's target has a colon of its own, so its parameters start after that one.
  const auto target_colon = py ? rest.find(':') : std::string::npos;
  const auto params = ParamsColon(rest, target_colon == std::string::npos ? 0 : target_colon + 1);
  parsed.target = rest.substr(0, params);
  if (params != std::string::npos) {
    parsed.params = rest.substr(params + 1);
    parsed.has_params = true;
  }
  bool valid = !parsed.target.empty() && parsed.target.back() != ':';
  if (py) {
    valid = target_colon != std::string::npos &&
            IsPythonName(parsed.target.substr(0, target_colon), /*dotted=*/true) &&
            IsPythonName(parsed.target.substr(target_colon + 1), /*dotted=*/false);
  }
  if (!valid) {
    throw EnvError("environment '" + text + "': expected " +
                   (py ? "py:MODULE:FUNCTION[:key=value,...], e.g. py:my_envs:make_env:size=8"
                       : "gym:ID[:key=value,...], e.g. gym:CartPole-v1 or "
                         "gym:FrozenLake-v1:is_slippery=false") +
                   " (values are JSON literals)");
  }
  return parsed;
}

// A Py_buffer over one of bridge.py's numpy arrays, held for the env's lifetime so the array's
// memory stays where it is.
class PinnedArray {
 public:
  PinnedArray(const py::object& array, const char* name, std::size_t bytes) {
    if (PyObject_GetBuffer(array.ptr(), &view_, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) != 0) {
      throw py::error_already_set();
    }
    COLONY_CHECK(static_cast<std::size_t>(view_.len) == bytes)
        << "bridge.py's " << name << " has " << view_.len << " bytes, expected " << bytes;
  }
  ~PinnedArray() { PyBuffer_Release(&view_); }  // with the GIL held (see ~PythonEnv)
  PinnedArray(const PinnedArray&) = delete;
  PinnedArray& operator=(const PinnedArray&) = delete;

  void* data() const { return view_.buf; }

 private:
  Py_buffer view_{};
};

// What a PythonEnv holds of Python; destroyed with the GIL held (~PythonEnv).
struct PythonSide {
  PythonSide(py::object batch_object, std::size_t envs, std::size_t dim, std::size_t action_bytes)
      : batch(std::move(batch_object)),
        reset(batch.attr("reset")),
        step(batch.attr("step")),
        obs(batch.attr("obs"), "obs", envs * dim * sizeof(float)),
        rewards(batch.attr("rewards"), "rewards", envs * sizeof(float)),
        terminated(batch.attr("terminated"), "terminated", envs),
        truncated(batch.attr("truncated"), "truncated", envs),
        actions(batch.attr("actions"), "actions", envs * action_bytes) {}

  py::object batch, reset, step;
  PinnedArray obs, rewards, terminated, truncated, actions;
};

class PythonEnv final : public BatchEnv {
 public:
  PythonEnv(EnvSpec spec, int num_envs, py::object batch, const EnvOptions& options)
      : BatchEnv(std::move(spec), num_envs),
        faults_(this->spec().name, options, "raised"),
        seed_pending_(static_cast<std::size_t>(num_envs), 1) {
    const std::size_t action_bytes =
        this->spec().action_dim > 0
            ? static_cast<std::size_t>(this->spec().action_dim) * sizeof(float)
            : sizeof(std::int64_t);
    python_ = std::make_unique<PythonSide>(std::move(batch), Count(), Dim(), action_bytes);
  }

  ~PythonEnv() override {
    py::gil_scoped_acquire gil;
    python_.reset();
  }

  void Seed(int i, std::uint64_t seed) override {
    BatchEnv::Seed(i, seed);
    seed_pending_[static_cast<std::size_t>(i)] = 1;
  }

  void Reset(int i, float* obs_row) override {
    py::gil_scoped_acquire gil;
    ResetHoldingGil(i, obs_row);
  }

  void Step(const std::int64_t* actions, bool auto_reset, float* obs, float* rewards,
            std::uint8_t* terminated, std::uint8_t* truncated) override {
    if (spec().action_dim > 0) {
      throw EnvError(spec().name + " takes Box actions (" + ActionSpaceText(spec()) +
                     "), not integers");
    }
    py::gil_scoped_acquire gil;
    std::memcpy(python_->actions.data(), actions, Count() * sizeof(std::int64_t));
    StepHoldingGil(auto_reset, obs, rewards, terminated, truncated);
  }

  void StepBox(const float* actions, bool auto_reset, float* obs, float* rewards,
               std::uint8_t* terminated, std::uint8_t* truncated) override {
    if (spec().action_dim == 0) {
      BatchEnv::StepBox(actions, auto_reset, obs, rewards, terminated, truncated);
    }
    py::gil_scoped_acquire gil;
    std::memcpy(python_->actions.data(), actions,
                Count() * static_cast<std::size_t>(spec().action_dim) * sizeof(float));
    StepHoldingGil(auto_reset, obs, rewards, terminated, truncated);
  }

  std::int64_t env_errors() const override { return faults_.count(); }

 private:
  // One call into bridge.py's step with the actions already in its buffer.
  void StepHoldingGil(bool auto_reset, float* obs, float* rewards, std::uint8_t* terminated,
                      std::uint8_t* truncated) {
    const std::size_t n = Count();
    ClearStepFaults();
    py::object errors;
    try {
      errors = python_->step();
    } catch (py::error_already_set& error) {  // bridge.py itself failed: not survivable
      throw EnvFault(spec().name + ": the Python bridge failed in step:\n" +
                     FormatPythonError(error));
    }
    std::memcpy(obs, python_->obs.data(), n * Dim() * sizeof(float));
    std::memcpy(rewards, python_->rewards.data(), n * sizeof(float));
    std::memcpy(terminated, python_->terminated.data(), n);
    std::memcpy(truncated, python_->truncated.data(), n);
    if (py::len(errors) == 0) {
      faults_.Succeeded();
    } else {
      for (const py::handle item : errors) {
        const auto pair = item.cast<py::tuple>();
        faults_.Fault(pair[0].cast<int>(), "step", pair[1].cast<std::string>());
        MarkStepFault(pair[0].cast<int>());
      }
      faults_.FailedInARow();
    }
    if (!auto_reset) return;
    for (std::size_t e = 0; e < n; ++e) {
      if (terminated[e] != 0 || truncated[e] != 0) {
        ResetHoldingGil(static_cast<int>(e), obs + e * Dim());
      }
    }
  }

  std::size_t Count() const { return static_cast<std::size_t>(num_envs()); }
  std::size_t Dim() const { return static_cast<std::size_t>(spec().obs_dim); }

  // A failed reset is retried: the env has no observation to give until one succeeds. Each
  // failure counts towards the consecutive limit, so an env that cannot reset ends the run.
  void ResetHoldingGil(int i, float* obs_row) {
    const auto e = static_cast<std::size_t>(i);
    while (true) {
      py::object seed = py::none();
      if (seed_pending_[e] != 0) seed = py::int_(rng(i).Next() >> 32);
      seed_pending_[e] = 0;
      py::object failure;
      try {
        failure = python_->reset(i, seed);
      } catch (py::error_already_set& error) {
        throw EnvFault(spec().name + ": the Python bridge failed in reset:\n" +
                       FormatPythonError(error));
      }
      if (failure.is_none()) break;
      faults_.Fault(i, "reset", failure.cast<std::string>());
      faults_.FailedInARow();
    }
    std::memcpy(obs_row, static_cast<const float*>(python_->obs.data()) + e * Dim(),
                Dim() * sizeof(float));
  }

  FaultLog faults_;
  std::unique_ptr<PythonSide> python_;
  std::vector<std::uint8_t> seed_pending_;  // [E]: next reset passes a seed
};

}  // namespace

bool IsPythonEnvName(const std::string& text) {
  return text.rfind("gym:", 0) == 0 || text.rfind("py:", 0) == 0;
}

std::unique_ptr<BatchEnv> MakePythonEnv(const std::string& text, int num_envs,
                                        const EnvOptions& options) {
  const ParsedText parsed = Parse(text);
  EnsurePythonStarted();
  py::gil_scoped_acquire gil;
  py::module_& bridge = BridgeModule();
  py::object batch;
  try {
    batch = bridge.attr("Batch")(parsed.kind, parsed.target,
                                 parsed.has_params ? py::object(py::str(parsed.params))
                                                   : py::object(py::none()),
                                 num_envs);
  } catch (py::error_already_set& error) {
    if (error.matches(bridge.attr("SpecError"))) {
      throw EnvError(py::str(error.value()).cast<std::string>());
    }
    throw EnvError(text + ": " + FormatPythonError(error));
  }
  EnvSpec spec;
  spec.name = text;
  spec.obs_dim = batch.attr("obs_dim").cast<std::int64_t>();
  spec.obs_shape = batch.attr("layout").attr("shape")().cast<std::vector<std::int64_t>>();
  spec.obs_uint8 = batch.attr("layout").attr("uint8").cast<bool>();
  spec.num_actions = batch.attr("num_actions").cast<std::int64_t>();
  spec.action_nvec = batch.attr("action_nvec").cast<std::vector<std::int64_t>>();
  spec.action_dim = batch.attr("action_dim").cast<std::int64_t>();
  spec.action_low = batch.attr("action_low").cast<std::vector<float>>();
  spec.action_high = batch.attr("action_high").cast<std::vector<float>>();
  spec.max_episode_steps = batch.attr("max_episode_steps").cast<std::int64_t>();
  spec.details = batch.attr("describe")().cast<std::vector<std::string>>();
  return std::make_unique<PythonEnv>(std::move(spec), num_envs, std::move(batch), options);
}

}  // namespace colony::env
