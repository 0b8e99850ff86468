// `colony train --serial`: one actor and one learner in one process, no MPI. The debugging mode
// a user reaches for first: deterministic for a given seed (one torch thread, seeded envs,
// seeded sampling, seeded initial weights).
//
// In: a validated TrainConfig. Out: RUN_DIR/config.json, RUN_DIR/metrics.jsonl (one record
// every --report-every seconds and a final one), a status line per record on stdout, and the
// final weights in RUN_DIR/final.safetensors; checkpoints every --checkpoint-every seconds, at
// the end and on SIGUSR1/SIGTERM/SIGINT (which then stop the run); --resume continues one.
#pragma once

#include "common/config/train_config.h"

namespace colony {

struct SerialResult {
  std::int64_t frames = 0;
  std::int64_t learner_steps = 0;
  std::int64_t episodes = 0;
  double episode_return_mean = 0;  // over the last 100 episodes (NaN if none finished)
  int stop_signal = 0;              // the signal that stopped the run early, or 0
};

SerialResult RunSerialTraining(const TrainConfig& config);

}  // namespace colony
