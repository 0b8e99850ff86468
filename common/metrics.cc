// JSONL metrics and status lines (common/metrics.h), and the small file helpers they need.
#include "common/metrics.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
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
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) MakeDirectories(parent.string());
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

void MakeDirectories(const std::string& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error || !std::filesystem::is_directory(dir)) {
    throw std::runtime_error("cannot create directory " + dir + ": " +
                             (error ? error.message() : std::string("not a directory")));
  }
}

void WriteFileAtomically(const std::string& path, const std::string& text) {
  const std::string temp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw std::runtime_error("cannot create " + temp + ": " + ErrnoText());
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string reason = ErrnoText();
      ::close(fd);
      ::unlink(temp.c_str());
      throw std::runtime_error("cannot write " + temp + ": " + reason);
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const std::string reason = ErrnoText();
    ::unlink(temp.c_str());
    throw std::runtime_error("cannot flush " + temp + ": " + reason);
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string reason = ErrnoText();
    ::unlink(temp.c_str());
    throw std::runtime_error("cannot rename " + temp + " to " + path + ": " + reason);
  }
}

}  // namespace colony
