// The learner role of `colony train` under mpirun.
//
// In:  trajectories from this learner's actors (via Receiver), gradients of the other learners
//      (via Collective: NCCL on GPUs, MPI on CPUs). Out: weights to its actors after every
//      update; on learner 0, the status line, RUN_DIR/metrics.jsonl, config.json and
//      final.safetensors.
//
// Learners move in lockstep (one gradient all-reduce per update), so they agree on frames
// without talking; a small control all-reduce per update carries "a stop signal arrived" and
// "learner 0 wants a report", so every learner stops at the same update.
#pragma once

#include <mpi.h>

#include "common/base/runtime.h"
#include "common/config/train_config.h"

namespace colony {

// `learner_comm` holds exactly the learner ranks. Returns the process exit code.
int RunLearnerRole(const TrainConfig& config, const RoleLayout& layout, MPI_Comm learner_comm,
                   int local_rank);

}  // namespace colony
