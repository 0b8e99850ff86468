// JSONL metrics and status lines (common/metrics.h), and the small file helpers they need.
#include "common/metrics.h"

#include "common/files.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace colony {
namespace {

std::string FormatNumber(double value) {
  if (!std::isfinite(value)) return "null";
  char text[64];
  std::snprintf(text, sizeof(text), "%.10g", value);
  return text;
}

std::string ErrnoText() { return std::strerror(errno); }

}  // namespace

MetricsRecord& MetricsRecord::Add(const std::string& key, double value) {
  fields_.emplace_back(key, FormatNumber(value));
  return *this;
}

MetricsRecord& MetricsRecord::Add(const std::string& key, std::int64_t value) {
  fields_.emplace_back(key, std::to_string(value));
  return *this;
}

std::string MetricsRecord::ToJson() const {
  std::string out = "{";
  for (const auto& [key, value] : fields_) {
    if (out.size() > 1) out += ",";
    out += "\"" + key + "\":" + value;  // keys are fixed identifiers: no escaping needed
  }
  return out + "}";
}

std::string MetricsRecord::ToStatusLine(const std::vector<std::string>& keys) const {
  std::string out;
  for (const auto& want : keys) {
    for (const auto& [key, value] : fields_) {
      if (key != want) continue;
      if (!out.empty()) out += " | ";
      out += key + " " + (value == "null" ? "-" : value);
    }
  }
  return out;
}

MetricsWriter::MetricsWriter(const std::string& path) : path_(path) {
  MakeDirectories(ParentDirectory(path));
  file_ = std::fopen(path.c_str(), "a");
  if (file_ == nullptr) {
    throw std::runtime_error("cannot open metrics file " + path + ": " + ErrnoText());
  }
}

MetricsWriter::~MetricsWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

void MetricsWriter::Write(const MetricsRecord& record) {
  const std::string line = record.ToJson() + "\n";
  if (std::fputs(line.c_str(), file_) < 0 || std::fflush(file_) != 0) {
    throw std::runtime_error("cannot write metrics file " + path_ + ": " + ErrnoText());
  }
}

}  // namespace colony
