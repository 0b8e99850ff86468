// `colony env`: list the environments, show one's spaces, replay an action sequence as JSON
// lines, benchmark.
//
//   colony env list
//   colony env spec --env NAME          (also gym:ID and py:MODULE:FUNCTION: starts Python)
//   colony env replay --env NAME [--seed S] [--state v1,v2,...] --actions a0,a1,...
//   colony env bench --env NAME --envs E --seconds S
//
// In: argv with argv[0] == "env". Out: text on stdout; the exit code (0 ok). Bad usage (unknown
// subcommand or environment, bad parameter, action or state) throws colony::FlagError, which
// the `colony` main turns into exit code 2 with the message.
#pragma once

namespace colony {

int RunEnvCommand(int argc, char** argv);

}  // namespace colony
