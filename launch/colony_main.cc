// `colony`: the one binary. Picks the subcommand, and for `train` the role by rank; it sits
// above common/, actors/ and learner/, which meet only through common/.
//
// In: argv. Out: the subcommand's exit code. 0 success, 1 runtime failure, 2 bad usage.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common/base/flags.h"
#include "launch/env_command.h"
#include "launch/eval.h"
#include "launch/train.h"
#include "launch/version.h"

namespace colony {
namespace {

struct Subcommand {
  const char* name;
  const char* summary;
  int (*run)(int argc, char** argv);  // argv[0] is the subcommand name
};

int RunVersion(int argc, char** argv) {
  Flags flags("colony version");
  flags.Parse(argc, argv);
  if (flags.help_requested()) {
    std::fputs(flags.Help().c_str(), stdout);
    return 0;
  }
  std::fputs(FormatVersionInfo(GetVersionInfo()).c_str(), stdout);
  return 0;
}


const std::vector<Subcommand>& Subcommands() {
  static const std::vector<Subcommand> kSubcommands = {
      {"train", "train a policy: actors and learners under mpirun, or --serial", RunTrainCommand},
      {"eval", "evaluate a checkpoint on an environment", RunEvalCommand},
      {"env", "list, replay and benchmark environments", RunEnvCommand},
      {"version", "versions of Colony, LibTorch, MPI and NCCL; CUDA availability", RunVersion},
  };
  return kSubcommands;
}

void PrintUsage(std::FILE* out) {
  std::fprintf(out, "usage: colony <subcommand> [flags]   (colony <subcommand> --help)\n\n"
                    "subcommands:\n");
  for (const auto& sub : Subcommands()) std::fprintf(out, "  %-9s %s\n", sub.name, sub.summary);
}

int Main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    PrintUsage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (std::strcmp(argv[1], "--version") == 0) return RunVersion(1, argv);
  for (const auto& sub : Subcommands()) {
    if (std::strcmp(argv[1], sub.name) == 0) return sub.run(argc - 1, argv + 1);
  }
  std::fprintf(stderr, "colony: unknown subcommand '%s'; expected one of:", argv[1]);
  for (const auto& sub : Subcommands()) std::fprintf(stderr, " %s", sub.name);
  std::fprintf(stderr, "\n");
  return 2;
}

}  // namespace
}  // namespace colony

int main(int argc, char** argv) {
  return colony::RunMain("colony", colony::Main, argc, argv);
}
