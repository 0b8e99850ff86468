// Implementation of the failure path shared by MPI_CHECK, CUDA_CHECK, NCCL_CHECK and
// COLONY_CHECK: one line to stderr with rank and host, then MPI_Abort.
#include "common/base/check.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace colony {
namespace {

bool MpiIsUsable() {
  int initialized = 0;
  int finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  return initialized && !finalized;
}

std::string HostName() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) return "unknown-host";
  return host;
}

}  // namespace

std::string MpiErrorString(int code) {
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) {
    return "unknown MPI error " + std::to_string(code);
  }
  return std::string(text, length) + " (code " + std::to_string(code) + ")";
}

std::string WhoAmI() {
  std::string who;
  if (MpiIsUsable()) {
    int rank = -1;
    int size = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    who = "rank " + std::to_string(rank) + " of " + std::to_string(size);
  } else {
    who = "rank ? (MPI not initialised)";
  }
  return who + " on host " + HostName();
}

void FailAndAbort(const char* library, const char* expression, const std::string& detail,
                  const char* file, int line) {
  std::fprintf(stderr, "[colony] %s error on %s at %s:%d: `%s` failed: %s\n", library,
               WhoAmI().c_str(), file, line, expression, detail.c_str());
  std::fflush(stderr);
  if (MpiIsUsable()) MPI_Abort(MPI_COMM_WORLD, /*errorcode=*/70);
  std::abort();
}

}  // namespace colony
