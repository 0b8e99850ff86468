// Checkpoints of a training run: the weights plus everything needed to continue the run where
// it stopped (docs/checkpoints.md).
//
// Layout: RUN_DIR/checkpoints/ckpt-<frames, 12 digits>/ holding
//   weights.safetensors  Policy::SaveSafetensors (model config and version in its metadata)
//   state.bin            header "COLONYCK", format version, payload size, FNV-1a of the
//                        payload, then the payload: a Cereal binary archive of frames,
//                        learner_steps, version, the effective TrainConfig JSON, the FNV-1a of
//                        weights.safetensors, the optimiser state (torch::serialize archive)
//                        the CPU RNG state and (format 2) the learner's return statistic.
// In: the learner's Policy and Optimizer and the run's counters. Out: a checkpoint directory,
// written into ckpt-...tmp.PID and renamed into place (a reader sees a whole checkpoint or
// none), and on load the same Policy, Optimizer, counters and RNG state.
#pragma once

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace colony {

class Policy;
class Optimizer;

// A checkpoint that cannot be used; the message names the file and what is wrong with it.
class CheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct CheckpointCounters {
  std::int64_t frames = 0;
  std::int64_t learner_steps = 0;
  std::int64_t version = 0;   // the policy's weights version
  std::string config_json;    // TrainConfig::ToJson() of the run that wrote it
  // --normalize-returns' running mean square of the value targets (Learner), which the value
  // head's outputs are scaled by; NaN before the first update and in format-1 checkpoints.
  double return_mean_square = std::numeric_limits<double>::quiet_NaN();
};

// 2 added return_mean_square at the end of the payload; format-1 checkpoints are still read.
inline constexpr std::uint32_t kCheckpointFormatVersion = 2;

// RUN_DIR/checkpoints/ckpt-000000012345 for 12345 frames.
std::string CheckpointPath(const std::string& run_dir, std::int64_t frames);

// Writes a checkpoint of `policy`, `optimizer`, the counters and the CPU RNG, then deletes the
// oldest checkpoints beyond `keep`. Returns the new checkpoint's directory. Throws
// std::runtime_error (naming the path) if the disk refuses; older checkpoints stay as they were.
std::string SaveCheckpoint(const std::string& run_dir, Policy& policy, Optimizer& optimizer,
                           const CheckpointCounters& counters, std::int64_t keep);

// Reads and checks state.bin and the weights file's checksum, without touching any model.
// Throws CheckpointError naming the file: missing, truncated, checksum mismatch, bad format.
CheckpointCounters ReadCheckpointState(const std::string& checkpoint_dir);

// Restores `policy` (weights, version), `optimizer` and the CPU RNG from a checkpoint. Every
// part is loaded into temporaries and checked first (including the model's shape), so on a
// CheckpointError nothing was changed.
CheckpointCounters LoadCheckpoint(const std::string& checkpoint_dir, Policy& policy,
                                  Optimizer& optimizer);

// Checkpoint directories in RUN_DIR/checkpoints, newest (most frames) first.
std::vector<std::string> ListCheckpoints(const std::string& run_dir);

// The newest checkpoint in `run_dir` that passes ReadCheckpointState; each bad one is reported
// on stderr ("skipping DIR: state.bin: checksum mismatch ..."). Throws CheckpointError naming
// the run directory if there is none.
std::string FindResumeCheckpoint(const std::string& run_dir);

}  // namespace colony
