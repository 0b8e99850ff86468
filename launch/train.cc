// `colony train` (launch/train.h): flags, then the serial trainer or, under mpirun, the role
// this rank plays. Configuration mistakes are caught before any MPI traffic, so every rank of
// a misconfigured job exits 2 with the same one-line message (printed once, by rank 0).
#include "launch/train.h"

#include <cstdio>
#include <exception>

#include "actors/actor_runtime.h"
#include "common/base/check.h"
#include "common/base/flags.h"
#include "common/base/mpi_session.h"
#include "common/base/runtime.h"
#include "common/config/train_config.h"
#include "common/env/registry.h"
#include "launch/train_serial.h"
#include "learner/checkpoint.h"
#include "learner/learner_runtime.h"
#include "learner/training_run.h"

namespace colony {
namespace {

// Everything that can be checked without running: flags, environment name, model shape.
void CheckConfig(const TrainConfig& config) {
  config.Validate();
  try {
    ResolveModelConfig(config).Validate();
  } catch (const env::EnvError& error) {
    throw FlagError(std::string("--env: ") + error.what());
  } catch (const ModelConfigError& error) {
    throw FlagError(error.what());
  }
}

// --resume auto|PATH -> the checkpoint directory every rank will load, checked (state.bin and
// the weights' checksum) before any MPI traffic; "" stays "".
std::string ResolveResume(const TrainConfig& config) {
  if (config.resume.empty()) return "";
  try {
    if (config.resume == "auto") return FindResumeCheckpoint(config.run_dir);
    ReadCheckpointState(config.resume);
    return config.resume;
  } catch (const CheckpointError& error) {
    throw FlagError(std::string("--resume ") + config.resume + ": " + error.what());
  }
}

int RunDistributed(int argc, char** argv, const TrainConfig& config) {
  MpiSession mpi(&argc, &argv);
  InstallStopSignalHandlers();
  const auto layout = [&] {
    try {
      return RoleLayout(mpi.rank(), mpi.size(), static_cast<int>(config.learners));
    } catch (const FlagError& error) {
      if (mpi.rank() == 0) std::fprintf(stderr, "colony: %s\n", error.what());
      throw ExitCode{2};
    }
  }();
  // Collective over the world: learners get a communicator of their own for gradients.
  MPI_Comm role_comm = MPI_COMM_NULL;
  MPI_CHECK(MPI_Comm_split(MPI_COMM_WORLD, layout.is_learner() ? 0 : 1, mpi.rank(), &role_comm));
  // A role that throws (e.g. the learner's receive thread failed, re-raised by the trainer)
  // ends the whole job with the message: unwinding into MPI_Finalize would leave this rank
  // waiting there for peers that are still waiting for it.
  int code = 1;
  try {
    code = layout.is_learner() ? RunLearnerRole(config, layout, role_comm, mpi.local_rank())
                               : RunActorRole(config, layout);
  } catch (const std::exception& error) {
    FailAndAbort("Colony", layout.is_learner() ? "learner role" : "actor role", error.what(),
                 __FILE__, __LINE__);
  }
  MPI_CHECK(MPI_Comm_free(&role_comm));
  return code;
}

}  // namespace

int RunTrainCommand(int argc, char** argv) {
  TrainConfig config;
  bool help = false;
  std::string help_text;
  const auto positional = ParseTrainFlags(
      "colony train [--serial] [--config FILE] [flags]   (distributed: mpirun -n N colony "
      "train ...)",
      argc, argv, &config, &help, &help_text);
  if (help) {
    std::fputs(help_text.c_str(), stdout);
    return 0;
  }
  if (!positional.empty()) {
    throw FlagError("unexpected argument '" + positional.front() + "' (flags start with --)");
  }
  CheckConfig(config);
  config = WithModelDefaults(config);  // config.json and checkpoints record the numbers used
  config.resume = ResolveResume(config);
  if (config.serial) {
    RunSerialTraining(config);
    return 0;
  }
  try {
    return RunDistributed(argc, argv, config);
  } catch (const ExitCode& exit) {
    return exit.code;
  }
}

}  // namespace colony
