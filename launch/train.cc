// `colony train` flag handling (launch/train.h).
#include "launch/train.h"

#include <cstdio>

#include "common/env/env.h"
#include "common/flags.h"
#include "common/train_config.h"
#include "launch/train_serial.h"

namespace colony {

int RunTrainCommand(int argc, char** argv) {
  TrainConfig config;
  Flags flags("colony train [--serial] [flags]");
  RegisterTrainFlags(flags, &config);
  const auto positional = flags.Parse(argc, argv);
  if (flags.help_requested()) {
    std::fputs(flags.Help().c_str(), stdout);
    return 0;
  }
  if (!positional.empty()) {
    throw FlagError("unexpected argument '" + positional.front() + "' (flags start with --)");
  }
  config.Validate();
  if (!config.serial) {
    std::fprintf(stderr, "colony train: only --serial is available in this build; the "
                         "distributed runtime (mpirun) is not implemented yet\n");
    return 2;
  }
  try {
    RunSerialTraining(config);
  } catch (const env::EnvError& error) {
    throw FlagError(std::string("--env: ") + error.what());
  } catch (const ModelConfigError& error) {
    throw FlagError(error.what());
  }
  return 0;
}

}  // namespace colony
