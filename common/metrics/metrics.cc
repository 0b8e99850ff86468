// JSONL metrics and status lines (common/metrics/metrics.h), and the small file helpers they need.
#include "common/metrics/metrics.h"

#include "common/base/files.h"
#include "common/base/json.h"
#include "common/metrics/metrics_server.h"
#include "common/metrics/tensorboard.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <sys/time.h>

namespace colony {
namespace {

std::string ErrnoText() { return std::strerror(errno); }

double ParseNumber(const std::string& json) {
  return json == "null" ? std::nan("") : std::strtod(json.c_str(), nullptr);
}

double UnixTime() {
  timeval now{};
  gettimeofday(&now, nullptr);
  return static_cast<double>(now.tv_sec) + 1e-6 * static_cast<double>(now.tv_usec);
}

// " | name value" for `key` if present; "-" for null.
void AppendField(std::string& out, const MetricsRecord& record, const std::string& key,
                 const char* name, const char* format) {
  for (const auto& [k, value] : record.fields()) {
    if (k != key) continue;
    if (!out.empty()) out += " | ";
    out += name;
    out += " ";
    if (value == "null") {
      out += "-";
    } else {
      char text[64];
      std::snprintf(text, sizeof(text), format, ParseNumber(value));
      out += text;
    }
    return;
  }
}

std::string Milliseconds(double seconds) {
  if (!std::isfinite(seconds)) return "-";
  char text[32];
  std::snprintf(text, sizeof(text), seconds < 0.01 ? "%.1f" : "%.0f", 1000 * seconds);
  return text;
}

}  // namespace

MetricsRecord& MetricsRecord::Add(const std::string& key, double value) {
  fields_.emplace_back(key, JsonNumber(value));  // null if not finite
  return *this;
}

MetricsRecord& MetricsRecord::Add(const std::string& key, std::int64_t value) {
  fields_.emplace_back(key, std::to_string(value));
  return *this;
}

std::string MetricsRecord::ToJson() const {
  JsonObjectWriter out;
  for (const auto& [key, value] : fields_) out.AddRaw(key, value);
  return out.Finish();
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

double MetricsRecord::Number(const std::string& key, double fallback) const {
  for (const auto& [k, value] : fields_) {
    if (k == key) return ParseNumber(value);
  }
  return fallback;
}

std::string StatusLine(const MetricsRecord& record) {
  std::string out;
  AppendField(out, record, "frames", "frames", "%.0f");
  AppendField(out, record, "fps", "fps", "%.0f");
  AppendField(out, record, "episodes", "episodes", "%.0f");
  AppendField(out, record, "episode_return_mean", "return", "%.1f");
  AppendField(out, record, "policy_lag_mean", "lag", "%.2f");
  AppendField(out, record, "policy_lag_max", "lag_max", "%.0f");
  AppendField(out, record, "queue_depth", "queue", "%.1f");
  AppendField(out, record, "dropped_trajectories", "dropped", "%.0f");
  AppendField(out, record, "entropy", "entropy", "%.3f");
  AppendField(out, record, "kl", "kl", "%.4f");
  AppendField(out, record, "explained_variance", "ev", "%.2f");
  // The step split: learner_step_s (distributed) is the whole update; the serial trainer has
  // only the parts, so their sum stands in.
  const double nan = std::nan("");
  const double wait = record.Number("learner_wait_s", nan);
  const double fwd = record.Number("forward_s", nan);
  const double bwd = record.Number("backward_s", nan);
  const double ar = record.Number("allreduce_s", nan);
  const double opt = record.Number("optimizer_s", nan);
  double step = record.Number("learner_step_s", nan);
  if (!std::isfinite(step)) step = fwd + bwd + ar + opt;
  if (std::isfinite(step) || std::isfinite(fwd)) {
    if (!out.empty()) out += " | ";
    out += "step " + Milliseconds(step) + "ms (";
    if (std::isfinite(wait)) out += "wait " + Milliseconds(wait) + " ";
    out += "fwd " + Milliseconds(fwd) + " bwd " + Milliseconds(bwd) + " ar " + Milliseconds(ar) +
           " opt " + Milliseconds(opt) + ")";
  }
  return out;
}

MetricsWriter::MetricsWriter(const std::string& path) : path_(path) {
  MakeDirectories(ParentDirectory(path));
  file_ = std::fopen(path.c_str(), "a");
  if (file_ == nullptr) {
    throw std::runtime_error("cannot open metrics file " + path + ": " + ErrnoText());
  }
  tensorboard_ = std::make_unique<TensorBoardWriter>(ParentDirectory(path) + "/tensorboard");
}

MetricsWriter::~MetricsWriter() {
  if (server_ != nullptr) server_->Stop();
  if (file_ != nullptr) std::fclose(file_);
}

void MetricsWriter::ServeHttp(const std::string& address) {
  server_ = std::make_unique<MetricsServer>(address);
  const std::string bound = server_->bound_address();
  WriteFileAtomically(ParentDirectory(path_) + "/metrics_address", bound + "\n");
  std::printf("metrics: http://%s/metrics (Prometheus) and http://%s/status (JSON)\n",
              bound.c_str(), bound.c_str());
  std::fflush(stdout);
}

void MetricsWriter::Write(const MetricsRecord& record) {
  const std::string line = record.ToJson() + "\n";
  if (std::fputs(line.c_str(), file_) < 0 || std::fflush(file_) != 0) {
    throw std::runtime_error("cannot write metrics file " + path_ + ": " + ErrnoText());
  }
  const double wall_time = UnixTime();
  const auto step = static_cast<std::int64_t>(record.Number("frames", 0.0));
  for (const auto& [key, value] : record.fields()) {
    const double number = ParseNumber(value);
    if (std::isfinite(number)) tensorboard_->AddScalar(key, step, number, wall_time);
  }
  tensorboard_->Flush();
  if (server_ != nullptr) server_->Publish(record);
}

}  // namespace colony
