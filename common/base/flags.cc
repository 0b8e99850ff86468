// Command-line flag parsing; see flags.h for the accepted forms and error contract.
#include "common/base/flags.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iomanip>
#include <sstream>

namespace colony {
namespace {

std::string Quote(const std::string& text) { return "'" + text + "'"; }

std::string FormatDouble(double value) {
  std::ostringstream out;
  out << std::setprecision(10) << value;
  return out.str();
}

template <typename T>
std::string RangeText(T min, T max, std::string (*format)(T)) {
  const bool has_min = min != std::numeric_limits<T>::lowest() &&
                       !(std::numeric_limits<T>::has_infinity && std::isinf(min));
  const bool has_max = max != std::numeric_limits<T>::max() &&
                       !(std::numeric_limits<T>::has_infinity && std::isinf(max));
  if (has_min && has_max) return " in [" + format(min) + ", " + format(max) + "]";
  if (has_min) return " >= " + format(min);
  if (has_max) return " <= " + format(max);
  return "";
}

std::string FormatInt(std::int64_t value) { return std::to_string(value); }

}  // namespace

std::int64_t ParseInt(const std::string& text, const std::string& what) {
  errno = 0;
  char* end = nullptr;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE) {
    throw FlagError(what + ": expected an integer, got " + Quote(text));
  }
  return value;
}

double ParseDouble(const std::string& text, const std::string& what) {
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE ||
      !std::isfinite(value)) {
    throw FlagError(what + ": expected a finite number, got " + Quote(text));
  }
  return value;
}

int RunMain(const char* program, int (*body)(int, char**), int argc, char** argv) {
  try {
    return body(argc, argv);
  } catch (const FlagError& error) {
    std::fprintf(stderr, "%s: %s\n", program, error.what());
    return 2;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "%s: error: %s\n", program, error.what());
    return 1;
  }
}

std::vector<std::string> SplitComma(const std::string& text) {
  std::vector<std::string> parts;
  if (text.empty()) return parts;
  std::string::size_type start = 0;
  while (true) {
    const auto comma = text.find(',', start);
    parts.push_back(text.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return parts;
}

Flags::Flags(std::string usage) : usage_(std::move(usage)) {}

void Flags::AddSpec(Spec spec) {
  if (Find(spec.name) != nullptr) {
    throw std::logic_error("flag --" + spec.name + " registered twice");
  }
  specs_.push_back(std::move(spec));
}

void Flags::Add(const std::string& name, bool* value, std::string help) {
  Spec spec{name, std::move(help), "bool", nullptr, nullptr};
  spec.is_bool = true;
  spec.show_default = [value] { return *value ? std::string("true") : std::string("false"); };
  spec.set = [name, value](const std::string& text) {
    if (text == "true" || text == "1" || text == "yes") {
      *value = true;
    } else if (text == "false" || text == "0" || text == "no") {
      *value = false;
    } else {
      throw FlagError("--" + name + ": expected true or false, got " + Quote(text));
    }
  };
  AddSpec(std::move(spec));
}

void Flags::Add(const std::string& name, std::string* value, std::string help) {
  Spec spec{name, std::move(help), "string", nullptr, nullptr};
  spec.show_default = [value] { return value->empty() ? std::string("\"\"") : *value; };
  spec.set = [value](const std::string& text) { *value = text; };
  AddSpec(std::move(spec));
}

void Flags::Add(const std::string& name, std::int64_t* value, std::string help, std::int64_t min,
                std::int64_t max) {
  Spec spec{name, std::move(help), "int", nullptr, nullptr};
  spec.show_default = [value] { return std::to_string(*value); };
  spec.set = [name, value, min, max](const std::string& text) {
    const std::string allowed = "an integer" + RangeText<std::int64_t>(min, max, FormatInt);
    std::int64_t parsed = 0;
    try {
      parsed = ParseInt(text, "--" + name);
    } catch (const FlagError&) {
      throw FlagError("--" + name + ": expected " + allowed + ", got " + Quote(text));
    }
    if (parsed < min || parsed > max) {
      throw FlagError("--" + name + ": expected " + allowed + ", got " + text);
    }
    *value = parsed;
  };
  AddSpec(std::move(spec));
}

void Flags::Add(const std::string& name, double* value, std::string help, double min, double max) {
  Spec spec{name, std::move(help), "float", nullptr, nullptr};
  spec.show_default = [value] { return FormatDouble(*value); };
  spec.set = [name, value, min, max](const std::string& text) {
    const std::string allowed = "a number" + RangeText<double>(min, max, FormatDouble);
    double parsed = 0;
    try {
      parsed = ParseDouble(text, "--" + name);
    } catch (const FlagError&) {
      throw FlagError("--" + name + ": expected " + allowed + ", got " + Quote(text));
    }
    if (parsed < min || parsed > max) {
      throw FlagError("--" + name + ": expected " + allowed + ", got " + text);
    }
    *value = parsed;
  };
  AddSpec(std::move(spec));
}

void Flags::AddChoice(const std::string& name, std::string* value,
                      std::vector<std::string> choices, std::string help) {
  std::string joined;
  for (const auto& choice : choices) joined += (joined.empty() ? "" : "|") + choice;
  Spec spec{name, std::move(help), joined, nullptr, nullptr};
  spec.show_default = [value] { return *value; };
  spec.set = [name, value, choices, joined](const std::string& text) {
    for (const auto& choice : choices) {
      if (text == choice) {
        *value = text;
        return;
      }
    }
    throw FlagError("--" + name + ": expected one of " + joined + ", got " + Quote(text));
  };
  AddSpec(std::move(spec));
}

Flags::Spec* Flags::Find(const std::string& name) {
  for (auto& spec : specs_) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

bool Flags::WasSet(const std::string& name) const {
  for (const auto& spec : specs_) {
    if (spec.name == name) return spec.was_set;
  }
  return false;
}

std::vector<std::string> Flags::Parse(int argc, char** argv, int first) {
  std::vector<std::string> args;
  for (int i = first; i < argc; ++i) args.emplace_back(argv[i]);
  return Parse(args);
}

std::vector<std::string> Flags::Parse(const std::vector<std::string>& args) {
  std::vector<std::string> positional;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      positional.insert(positional.end(), args.begin() + i + 1, args.end());
      break;
    }
    if (arg == "--help" || arg == "-h") {
      help_requested_ = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0 || arg.size() == 2) {
      positional.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    Spec* spec = Find(name);
    if (spec == nullptr && !has_value && name.rfind("no-", 0) == 0) {
      Spec* negated = Find(name.substr(3));
      if (negated != nullptr && negated->is_bool) {
        negated->set("false");
        negated->was_set = true;
        continue;
      }
    }
    if (spec == nullptr) {
      throw FlagError("unknown flag --" + name + " (see --help for the flags of " + usage_ + ")");
    }
    if (!has_value) {
      if (spec->is_bool) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        throw FlagError("--" + name + ": expected a value (" + spec->kind + ") after it");
      }
    }
    spec->set(value);
    spec->was_set = true;
  }
  return positional;
}

std::string Flags::Help() const {
  std::ostringstream out;
  out << "usage: " << usage_ << "\n";
  if (specs_.empty()) return out.str();
  out << "\nflags:\n";
  for (const auto& spec : specs_) {
    std::string head = "  --" + spec.name + (spec.is_bool ? "" : " <" + spec.kind + ">");
    out << std::left << std::setw(34) << head << " " << spec.help
        << " (default: " << spec.show_default() << ")\n";
  }
  return out.str();
}

}  // namespace colony
