// `colony eval --checkpoint PATH [--env NAME] [--episodes N] [--seed S] [--greedy]`: plays N
// episodes with a trained policy on the CPU and prints the mean and standard deviation of the
// return and of the episode length, then the same as one JSON line.
//
// In: a checkpoint directory (RUN_DIR/checkpoints/ckpt-...; its state names the environment)
// or a .safetensors file (then --env is required); the model's shape comes from the weights'
// metadata (colony.config). Out: stdout. Exit 0, or 2 with a message naming the file for a
// missing or damaged checkpoint, or an environment the model does not fit.
#pragma once

namespace colony {

int RunEvalCommand(int argc, char** argv);

}  // namespace colony
