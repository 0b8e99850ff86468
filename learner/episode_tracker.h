// EpisodeTracker: rebuilds finished episodes (return, length) from the trajectories a learner
// receives, so actors need not send statistics of their own.
//
// In: each actor's trajectories in the order it sent them (MPI keeps that order per pair of
// ranks), with their sequence numbers. Out: finished episodes. A gap in an actor's sequence (a
// dropped message) makes every partial episode of that actor unknown; those columns are
// ignored until their next first-of-episode flag, so no return is ever made up.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <map>
#include <vector>

#include "common/env/vector_env.h"  // env::EpisodeStats
#include "common/wire/trajectory.h"

namespace colony {

class EpisodeTracker {
 public:
  // Returns the episodes that ended inside `trajectory`.
  std::vector<env::EpisodeStats> Add(int actor_rank, std::uint64_t sequence,
                                     const Trajectory& trajectory);

 private:
  struct Column {
    bool known = false;  // the current episode was seen from its first step
    double episode_return = 0;
    std::int64_t length = 0;
  };
  struct ActorState {
    std::uint64_t next_sequence = 0;
    std::vector<Column> columns;
  };
  std::map<int, ActorState> actors_;
};

}  // namespace colony
