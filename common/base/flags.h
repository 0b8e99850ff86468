// Command-line flags for the `colony` subcommands.
//
// In:  argv after the subcommand name. Out: the variables the caller registered, set in place.
// Each flag is bound to a variable whose current value is its default, so `--help` always shows
// the real defaults. Accepted forms: `--name value`, `--name=value`, `--flag` / `--no-flag` for
// booleans, and `--` to end flags. Bad input throws FlagError whose message says which flag, what
// was given and what is allowed ("--unroll: expected an integer in [1, 4096], got 'abc'").
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace colony {

// A user's mistake on the command line; the message is meant to be shown as is.
class FlagError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

class Flags {
 public:
  // `usage` is the first line of --help, e.g. "colony env replay --env NAME --actions A,...".
  explicit Flags(std::string usage);

  void Add(const std::string& name, bool* value, std::string help);
  void Add(const std::string& name, std::string* value, std::string help);
  void Add(const std::string& name, std::int64_t* value, std::string help,
           std::int64_t min = std::numeric_limits<std::int64_t>::min(),
           std::int64_t max = std::numeric_limits<std::int64_t>::max());
  void Add(const std::string& name, double* value, std::string help,
           double min = -std::numeric_limits<double>::infinity(),
           double max = std::numeric_limits<double>::infinity());
  // A string flag restricted to `choices` (--model gtrxl|mlp).
  void AddChoice(const std::string& name, std::string* value, std::vector<std::string> choices,
                 std::string help);

  // Parses `args`; returns the positional arguments. Throws FlagError on an unknown flag, a
  // missing or malformed value, or a value out of range. `--help`/`-h` sets help_requested().
  std::vector<std::string> Parse(const std::vector<std::string>& args);
  std::vector<std::string> Parse(int argc, char** argv, int first = 1);

  bool help_requested() const { return help_requested_; }
  // Was `name` given explicitly (not just left at its default)?
  bool WasSet(const std::string& name) const;
  std::string Help() const;

 private:
  struct Spec {
    std::string name;
    std::string help;
    std::string kind;  // "bool", "int", "float", "string", or "a|b|c"
    std::function<std::string()> show_default;
    std::function<void(const std::string&)> set;  // throws FlagError with the reason
    bool is_bool = false;
    bool was_set = false;
  };
  Spec* Find(const std::string& name);
  void AddSpec(Spec spec);

  std::string usage_;
  std::vector<Spec> specs_;
  bool help_requested_ = false;
};

// A command-line program's main around `body`: its return value is the exit code; a FlagError
// (the user's mistake) prints "PROGRAM: message" and exits 2, any other exception prints
// "PROGRAM: error: message" and exits 1. Shared by `colony` and the benchmark programs.
int RunMain(const char* program, int (*body)(int, char**), int argc, char** argv);

// Splits "1,2,3" into {"1","2","3"}; an empty string gives an empty list.
std::vector<std::string> SplitComma(const std::string& text);

// Strict number parsing for user input: the whole string must be the number.
// Throw FlagError naming `what` on failure.
std::int64_t ParseInt(const std::string& text, const std::string& what);
double ParseDouble(const std::string& text, const std::string& what);

}  // namespace colony
