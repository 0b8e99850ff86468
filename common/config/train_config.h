// TrainConfig: every setting of a training run, shared by `colony train --serial`, the
// distributed runtime, checkpoints and the run directory's config.json.
//
// In:  command-line flags and --config files. Out: a validated struct, and its JSON for the run
//      dir (RUN_DIR/config.json, also stored in every checkpoint).
// Free of LibTorch: the learner turns the plain learning settings below into tensors' work.
//
// Each setting is declared once: a field below (whose initialiser is the default) and one row
// of the settings table in train_config.cc, which names its flag, its JSON key, the field, the
// allowed range and the help text. The flags (RegisterTrainFlags), config.json (ToJson) and
// the --config reader (ApplyConfigFile) are all derived from that table.
//
// To add a setting, e.g. `--algo impala|appo`:
//   1. add the field with its default here:   std::string algo = "impala";
//   2. add one row to kSettings in train_config.cc, where it should appear in --help and in
//      config.json:   Choice("algo", "algo", FIELD(algo), {"impala", "appo"}, "loss: ..."),
//      (Int/Real take a [min, max] range, Bool and Text none). The JSON key is the flag name
//      with '-' as '_' unless there is a reason otherwise; flag names and JSON keys are
//      contracts (scripts, old runs' config.json, checkpoints), so never rename one.
//   3. if it constrains another setting, check that in TrainConfig::Validate.
// Old config.json files without the new key still load: the setting keeps its default.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/base/flags.h"
#include "common/model/model_config.h"

namespace colony {

struct VTraceConfig {
  double rho_bar = 1.0;  // clips the importance weight in the TD error and the advantage
  double c_bar = 1.0;    // clips the trace-cutting weight c_i
  double lambda = 1.0;   // multiplies c_i; 1 is the paper's V-trace
};

// One set of defaults for every task, no per-task settings; docs/learning.md has the seed tables
// they were chosen by, and the tasks they do not learn reliably yet.
struct LossConfig {
  // "impala": the policy gradient -log pi(a) * A of IMPALA. "appo": PPO's clipped surrogate
  // min(r A, clip(r, 1 - ppo_clip, 1 + ppo_clip) A) with r = pi(a) / mu(a) and A the V-trace
  // advantage (as Sample Factory trains); it bounds how far one update moves the policy away
  // from the one that acted. On-policy (serial) r = 1 and both give the same gradient.
  std::string algo = "appo";
  double ppo_clip = 0.2;
  // Per batch: A <- (A - mean A) / (std A + 1e-8) before the policy term. Off by default: once
  // a task is solved the advantages are noise, and scaling noise up to unit size made
  // CartPole collapse from 500 to 9 (docs/learning.md).
  bool normalize_advantages = false;
  // With normalize_advantages: the std is floored at 1 / advantage_max_gain, so a batch is never
  // amplified more than that many times. 0 = no cap.
  double advantage_max_gain = 0.0;
  // Per batch: A <- A - mean A before the policy term, no scaling. The mean is the batch's
  // shared surprise (the value function lagging the policy) and says nothing about which
  // action was better: left in, it pushes every sampled action up or down together, which for a
  // confident policy means sharpening or flattening it as a whole. Implied by
  // normalize_advantages.
  bool center_advantages = false;
  // Rewards are divided by a running root-mean-square of the value targets (all-reduced over
  // learners), so values, the value loss and the advantages are O(1) for rewards of any scale:
  // CartPole's returns of ~100 and RepeatPrevious's steps of +-1/48 alike.
  bool normalize_returns = true;
  // With normalize_returns: when the running RMS moves from s to s', the value head's weight and
  // bias are multiplied by s / s', so its outputs in reward units do not change (PopArt's
  // "preserving outputs", Hessel et al. 2019, for a scale without a shift). Without it every
  // rise of the returns leaves the values wrong by the ratio until the head catches up. On by
  // default since 2026-12-03, for discrete action spaces: with Adam beta2 0.99 it took serial
  // StatelessCartPole's falls on seeds 1-10 from 3 runs to 1 and left RepeatFirst's at none, at
  // the price of finding the cards later (RepeatFirst's median bar ~430k frames against ~290k).
  bool popart = true;
  // With popart: rescale on Box (continuous) action spaces too. Off by default: on Pendulum,
  // seeds 1-3, it made the learning phase fall 8 times against once without it, and Hopper's
  // seed 1 missed its bar (docs/learning.md, "PopArt with Adam beta2 0.99").
  bool popart_box = false;
  double gamma = 0.99;
  // IMPALA's 0.5: with normalised returns the value loss no longer dominates the gradient.
  double baseline_cost = 0.5;
  // A fixed weight, 0 by default: the bonus's weight comes from entropy_per_advantage. (With
  // normalised returns a fixed 0.01 kept CartPole noisy, ~470, once solved, while 0.001 let
  // RepeatPrevious commit to a 75 %-right answer: docs/learning.md.)
  double entropy_cost = 0.0;
  // Added to entropy_cost: this times the batch's advantage std (in the loss's units), so the
  // bonus keeps its weight against the advantages it competes with: ~0.01-0.02 while a task is
  // being learned, ~0.0003 once CartPole's advantages are noise. 0.05: at 0.1 StatelessCartPole
  // stayed too random to reach 475 within 1M under mpirun on 3 seeds of 5 (docs/learning.md).
  double entropy_per_advantage = 0.05;
  // Both entropy weights times (1 - frames / total_frames), like the learning rate: the bonus
  // explores early and lets the policy sharpen towards the end of the budget. Off by default.
  bool entropy_decay = false;
  // Box actions: the bonus rewards each dimension's std only up to this, in the policy's units
  // (the action bounds are +-1); 0 = no cap. Uncapped, the bonus drove HalfCheetah's stds to
  // their bound (~7): clipped bang-bang noise, return -600 (docs/learning.md). `colony train`
  // picks it per model (WithModelDefaults); 1 for a LossConfig used on its own.
  double entropy_max_std = 1.0;
  double reward_scale = 1.0;  // rewards are multiplied by this in the loss (not in the metrics)
  // For the first this many frames only the value function learns: the policy term and the
  // entropy bonus are off, so the first updates, while the value head still outputs ~0 and
  // every advantage shares the targets' sign, do not push every sampled action the same way.
  // 0 = off. (Acrobot-v1's MLP: docs/learning.md, "The MLP on a sparse task".)
  std::int64_t value_warmup_frames = 0;
  // The policy term's weight; the learner sets it to 0 during value_warmup_frames.
  double policy_cost = 1.0;
  VTraceConfig vtrace;
};

struct OptimizerConfig {
  std::string kind = "adam";  // "rmsprop" | "adam"
  double learning_rate = 0.001;
  double rmsprop_alpha = 0.99;  // IMPALA: decay 0.99, epsilon 0.01, momentum 0
  double rmsprop_epsilon = 0.01;
  double rmsprop_momentum = 0.0;
  double adam_beta1 = 0.9;
  // 0.99, not PyTorch's 0.999: the second moment then averages ~100 updates (~25k frames)
  // instead of ~1,000, so each step's size follows the gradients' current scale. With 0.999 the
  // GTrXL's RepeatFirst learned and forgot the card several times on some seeds (one of 20 never
  // met its bar; falls in 4 of 20); with 0.99 20 of 20 met it with a fall in 1
  // (docs/learning.md, "Adam's second moment over ~100 updates").
  double adam_beta2 = 0.99;
  // 1e-4, not PyTorch's 1e-8: once a task is solved its gradients are noise with a tiny running
  // RMS, Adam still takes full-size steps on them, and the first larger gradient after such a
  // calm takes a step that can halve the return. Epsilon is the floor of that divisor: 1e-8
  // halved StatelessCartPole's return, 1e-5 still let 5 of 50 GTrXL runs fall, 1e-4 1 of 50
  // (docs/learning.md, "A lead for the dips"); 1e-3 learned too slowly.
  double adam_epsilon = 1e-4;
  double grad_clip = 40.0;   // max global L2 norm of the gradient; 0 disables
  // Also clip the norm at this multiple of its running mean (over ~20 updates; 0 disables), so
  // that a gradient far larger than recent ones (a solved task failing again after a long calm)
  // moves the weights less. Off: at 3 it prevented one StatelessCartPole fall but slowed the
  // task on other seeds (docs/learning.md).
  double grad_clip_ratio = 0.0;
  // A brake on the step size: after each update the learner measures the mean KL between the
  // policy before and after it on the batch (one more forward pass); above 2x this target the
  // learning rate's multiplier is divided by 1.5, below half of it multiplied by 1.5, within
  // [0.01, 1] (it never raises the lr above the schedule's). 0 = off. Not in checkpoints: a
  // resumed run starts at 1.
  double target_kl = 0.0;
  // A bound on each update: when the mean KL between the policy before and after it on the
  // batch is above this, the weights are moved back to before + sqrt(max_kl / KL) x the step
  // (KL grows with the square of a small step). 0 = off.
  double max_kl = 0.0;
  bool linear_decay = true;  // lr * (1 - frames / total_frames)
};

struct TrainConfig {
  // The value of a setting whose default depends on --model (epochs, entropy_max_std): flags
  // and config.json may give it too; WithModelDefaults replaces it with the model's number.
  static constexpr int kModelDefault = -1;

  std::string env = "CartPole-v1";  // registry name with parameters, e.g. RepeatPrevious:k=4
  ModelConfig model;                // obs_dim, num_actions, actions: from the environment
  std::int64_t envs_per_actor = 8;
  std::int64_t unroll = 32;         // T: steps per trajectory
  std::int64_t batch = 8;           // B: trajectories (env columns) per learner step
  // Optimiser steps per batch: each pass unrolls the batch again with the updated weights, so
  // from the second pass on pi != mu and (appo) the clip bounds how far the batch moves pi.
  // kModelDefault: WithModelDefaults picks it.
  std::int64_t epochs = kModelDefault;
  std::int64_t total_frames = 1'000'000;  // environment steps over all actors
  std::int64_t seed = 1;
  std::string run_dir = "runs/colony";
  double report_every_s = 5.0;      // seconds between status lines / metrics.jsonl records
  // Learner 0's HTTP endpoint (docs/observability.md): /metrics (Prometheus) and /status (JSON).
  std::string metrics_addr = "127.0.0.1:0";  // HOST:PORT; port 0 = any free port, printed
  bool metrics_server = true;
  bool serial = false;              // actors and learner in one process, no MPI
  std::int64_t learners = 1;        // first L ranks under mpirun
  std::int64_t threads = 1;         // torch intra-op threads per rank
  double peer_timeout_s = 120.0;    // bound on every wait for another rank
  // A run ends (exit 1) when an environment running user code (gym:, py:) raised in this many
  // consecutive steps; fewer are survived: the episode is cut and the env reset.
  std::int64_t max_env_errors = 100;
  std::int64_t max_policy_lag = 0;  // drop trajectories staler than this many versions; 0 = keep
  std::int64_t send_credits = 1;    // trajectory sends an actor keeps in flight
  // Trajectories a learner keeps received and ready for its next batch; 0 = one batch's worth
  // (ceil(B / E)). Each one buffered is data acted on by older weights (docs/runtime.md).
  std::int64_t receive_queue = 0;
  // Fault injection for tests: actor 0 sends this many corrupted trajectories; each learner
  // update sleeps this long (a slow learner, to show back-pressure).
  std::int64_t inject_malformed = 0;
  double learner_delay_ms = 0.0;
  // Checkpoints (docs/checkpoints.md): seconds between them (0 = only at the end and on
  // SIGUSR1/SIGTERM/SIGINT), how many to keep, and where to resume from ("" = a fresh run,
  // "auto" = the newest good checkpoint in run_dir, or a checkpoint directory).
  double checkpoint_every_s = 600.0;
  std::int64_t keep_checkpoints = 3;
  std::string resume;
  LossConfig loss{.entropy_max_std = kModelDefault};
  OptimizerConfig optimizer;

  // Cross-field checks the flags cannot express (rho_bar >= c_bar, heads divide d_model, ...).
  // Throws FlagError naming the flags involved.
  void Validate() const;
  // Every setting as pretty-printed JSON, one key per line in the table's order, ending in a
  // newline: RUN_DIR/config.json, and the config stored in checkpoints.
  std::string ToJson() const;
};

// `config` with each kModelDefault replaced by --model's number, as measured on #17's MuJoCo
// rows (docs/learning.md, "Defaults per model"). epochs: 4 for the mlp, whose update is cheap
// (4 passes met both MuJoCo bars at ~1.3x the wall time), 1 for the sequence models (the
// GTrXL's learner is already the bottleneck: 4 passes ran 3x slower on staler data).
// entropy_max_std: 0.7 for the gtrxl (at 1 most HalfCheetah seeds turned over and ran on their
// back; at 0.5 Hopper's missed its bar), 1 for the others (the mlp did worse at 0.5). Explicit
// values are kept.
TrainConfig WithModelDefaults(TrainConfig config);

// Binds every TrainConfig field to a flag (--env, --model, --unroll, --batch, ...).
void RegisterTrainFlags(Flags& flags, TrainConfig* config);

// Applies a JSON object in config.json's format to the flags RegisterTrainFlags bound: each key
// sets its setting's flag (obs_dim, num_actions and actions, which come from the environment, are
// skipped). Every key and value type is checked before any is applied. Throws FlagError naming
// the file and the key for an unknown key, a value of the wrong type or out of range, or a file
// that is not a JSON object.
void ApplyConfigFile(const std::string& path, Flags& flags);

// `colony train`'s flags in order of precedence: defaults < --config FILE < the command line.
// Returns the positional arguments; `config` holds the result (not yet validated).
std::vector<std::string> ParseTrainFlags(const std::string& usage, int argc, char** argv,
                                         TrainConfig* config, bool* help_requested,
                                         std::string* help_text);

}  // namespace colony
