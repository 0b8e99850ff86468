// `colony train`: parses the training flags and runs the serial trainer (--serial) or, under
// mpirun, the distributed runtime.
#pragma once

namespace colony {

// argv[0] is "train". Returns the process exit code.
int RunTrainCommand(int argc, char** argv);

}  // namespace colony
