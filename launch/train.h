// `colony train`: parses the training flags and runs the serial trainer (--serial) or, under
// mpirun, the distributed runtime.
#pragma once

namespace colony {

// Thrown to leave a subcommand with an exit code after the message was already printed.
struct ExitCode {
  int code;
};

// argv[0] is "train". Returns the process exit code.
int RunTrainCommand(int argc, char** argv);

}  // namespace colony
