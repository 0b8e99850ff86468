// The actor role of `colony train` under mpirun: roll out, send trajectories to this actor's
// learner, adopt newer weights, stop when told.
//
// In:  weights and the stop message from learner rank LearnerOf(rank) on kTagControl.
// Out: trajectories (wire format, common/wire/wire.h) on kTagTrajectory; after a stop, one final
//      "done" message on the same tag, which MPI keeps behind every trajectory sent before it.
//
// Sends are non-blocking and double-buffered with a bounded number in flight (credits): while
// a learner keeps up, acting never waits for the network; when it falls behind, the actor
// blocks on its oldest send, so a slow learner throttles actors instead of growing memory.
// Every wait is bounded by --peer-timeout and ends the job with a message naming the learner.
#pragma once

#include "common/base/runtime.h"
#include "common/config/train_config.h"

namespace colony {

// Returns the process exit code (0 after an orderly stop).
int RunActorRole(const TrainConfig& config, const RoleLayout& layout);

}  // namespace colony
