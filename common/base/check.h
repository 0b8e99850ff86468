// Check macros: the "broken invariant or failed library call" channel of error handling.
//
// MPI_CHECK(call)  - an MPI call that must return MPI_SUCCESS.
// COLONY_CHECK(cond) << "context" - an internal invariant (never for user or peer input: those
//                    get an exception with "expected X, got Y"; see common/base/flags.h).
// CUDA_CHECK and NCCL_CHECK live in common/base/cuda_check.h, so that this header stays free
// of CUDA.
//
// On failure each prints one line to stderr naming the rank, host, file:line, the call and the
// library's own error string, then calls MPI_Abort so that no other rank waits forever on this
// one. Outside MPI (before MPI_Init, after MPI_Finalize) it calls std::abort instead.
#pragma once

#include <mpi.h>

#include <sstream>
#include <string>

namespace colony {

// Prints the failure with rank and host, then aborts the whole MPI job. Never returns.
[[noreturn]] void FailAndAbort(const char* library, const char* expression,
                               const std::string& detail, const char* file, int line);

// The text MPI gives for an error code ("MPI_ERR_RANK: invalid rank").
std::string MpiErrorString(int code);

// "rank 3 of 8 on host node17", or "rank ? (MPI not initialised) on host node17".
std::string WhoAmI();

namespace internal {
// Collects the streamed context of COLONY_CHECK, then fails in its destructor.
class CheckFailure {
 public:
  CheckFailure(const char* expression, const char* file, int line)
      : expression_(expression), file_(file), line_(line) {}
  CheckFailure(const CheckFailure&) = delete;
  CheckFailure& operator=(const CheckFailure&) = delete;
  [[noreturn]] ~CheckFailure() { FailAndAbort("Colony", expression_, stream_.str(), file_, line_); }
  std::ostringstream& stream() { return stream_; }

 private:
  const char* expression_;
  const char* file_;
  int line_;
  std::ostringstream stream_;
};
}  // namespace internal

}  // namespace colony

#define MPI_CHECK(call)                                                                     \
  do {                                                                                      \
    const int colony_mpi_rc_ = (call);                                                      \
    if (colony_mpi_rc_ != MPI_SUCCESS) {                                                    \
      ::colony::FailAndAbort("MPI", #call, ::colony::MpiErrorString(colony_mpi_rc_), __FILE__, \
                             __LINE__);                                                     \
    }                                                                                       \
  } while (0)

// Variadic so that a condition with unparenthesised commas (braced initialisers) still works.
#define COLONY_CHECK(...) \
  if (__VA_ARGS__) {      \
  } else                  \
    ::colony::internal::CheckFailure(#__VA_ARGS__, __FILE__, __LINE__).stream()
