// FaultLog: counting, printing and the consecutive limit; see env_faults.h.
#include "common/env/env_faults.h"

#include <cstdio>
#include <cstring>
#include <utility>

namespace colony::env {
namespace {

// Full messages are printed for this many faults per env batch; after that, a line every
// kReportEvery faults (the counts are still exact).
constexpr std::int64_t kTracebacksPrinted = 10;
constexpr std::int64_t kReportEvery = 100;

}  // namespace

FaultLog::FaultLog(std::string env_name, const EnvOptions& options, std::string verb)
    : env_name_(std::move(env_name)), options_(options), verb_(std::move(verb)) {}

std::string FaultLog::Where(int i) const {
  return env_name_ + " env " + std::to_string(i) +
         (options_.rank >= 0 ? " on actor rank " + std::to_string(options_.rank) : "");
}

void FaultLog::Fault(int i, const char* call, const std::string& message) {
  ++count_;
  last_ = Where(i) + " " + verb_ + " in " + call + "():\n" + message;
  if (count_ <= kTracebacksPrinted) {
    const bool in_step = std::strcmp(call, "step") == 0;
    std::fprintf(stderr,
                 "[colony] env error %lld: %s %s in %s(); %s (%lld in a row; "
                 "--max-env-errors %lld ends the run)%s:\n%s%s",
                 static_cast<long long>(count_), Where(i).c_str(), verb_.c_str(), call,
                 in_step ? "the episode is dropped and the env reset"
                         : "the reset is retried",
                 static_cast<long long>(consecutive_ + 1),
                 static_cast<long long>(options_.max_consecutive_errors),
                 count_ == kTracebacksPrinted ? "; later messages are not printed" : "",
                 message.c_str(), !message.empty() && message.back() == '\n' ? "" : "\n");
  } else if (count_ % kReportEvery == 0) {
    std::fprintf(stderr, "[colony] %s: %lld env errors so far\n", Where(i).c_str(),
                 static_cast<long long>(count_));
  }
}

void FaultLog::FailedInARow() {
  ++consecutive_;
  if (consecutive_ < options_.max_consecutive_errors) return;
  throw EnvFault(std::to_string(consecutive_) + " consecutive environment steps or resets " +
                 verb_ + " (--max-env-errors " +
                 std::to_string(options_.max_consecutive_errors) + "); the last: " + last_);
}

}  // namespace colony::env
