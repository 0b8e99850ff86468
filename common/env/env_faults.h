// Fault accounting for environments that run user code (gym:, py:, plugin:): one place that
// counts failures, prints them (the first kTracebacksPrinted in full, then a line every
// kReportEvery), tracks how many batch steps or resets failed in a row, and throws EnvFault when
// that reaches EnvOptions::max_consecutive_errors.
//
// In: one Fault() per failed env, then FailedInARow() once per failed batch step or reset and
// Succeeded() once per clean batch step. Out: stderr lines, count(), EnvFault.
#pragma once

#include <cstdint>
#include <string>

#include "common/env/env.h"

namespace colony::env {

class FaultLog {
 public:
  // `env_name` names the environment in messages; `verb` is how a failure reads: "raised" for
  // Python exceptions, "failed" for plugin errors.
  FaultLog(std::string env_name, const EnvOptions& options, std::string verb);

  // Env i failed in `call` ("step" or "reset") with `message` (a traceback or the plugin's
  // text): counted, and printed with what happens next (a failed step: the env is reset; a
  // failed reset: it is retried).
  void Fault(int i, const char* call, const std::string& message);
  // A batch step or reset had a failure: throws EnvFault at the limit, with the last message.
  void FailedInARow();
  // A batch step had none.
  void Succeeded() { consecutive_ = 0; }

  std::int64_t count() const { return count_; }
  // "NAME env I on actor rank R" (no rank outside distributed runs).
  std::string Where(int i) const;

 private:
  const std::string env_name_;
  const EnvOptions options_;
  const std::string verb_;
  std::int64_t count_ = 0;
  std::int64_t consecutive_ = 0;  // batch steps (or resets) in a row that failed
  std::string last_;
};

}  // namespace colony::env
