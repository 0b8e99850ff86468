// TFRecord framing and hand-encoded Event protobufs (common/metrics/tensorboard.h). The wire format
// follows the protobuf encoding spec: a key is (field_number << 3) | wire_type, with wire types
// 0 = varint, 1 = 64-bit, 2 = length-delimited, 5 = 32-bit, all little-endian.
#include "common/metrics/tensorboard.h"

#include "common/base/files.h"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <type_traits>

namespace colony {
namespace {

constexpr std::array<std::uint32_t, 256> MakeCrcTable() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1u) ? 0x82F63B78u : 0u);
    table[i] = crc;
  }
  return table;
}
constexpr std::array<std::uint32_t, 256> kCrcTable = MakeCrcTable();

void PutVarint(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

template <class T>
void PutLittleEndian(std::string& out, T value) {
  static_assert(std::is_unsigned_v<T>);
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  }
}

void PutKey(std::string& out, int field, int wire_type) {
  PutVarint(out, static_cast<std::uint64_t>((field << 3) | wire_type));
}

void PutBytes(std::string& out, int field, std::string_view bytes) {
  PutKey(out, field, /*wire_type=*/2);
  PutVarint(out, bytes.size());
  out.append(bytes);
}

void PutEventHeader(std::string& out, double wall_time, std::int64_t step) {
  std::uint64_t bits;
  std::memcpy(&bits, &wall_time, sizeof(bits));
  PutKey(out, /*field=*/1, /*wire_type=*/1);
  PutLittleEndian(out, bits);
  if (step != 0) {  // proto3 omits defaults; TensorBoard reads a missing step as 0
    PutKey(out, /*field=*/2, /*wire_type=*/0);
    PutVarint(out, static_cast<std::uint64_t>(step));  // negative int64: ten-byte varint
  }
}

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

}  // namespace

std::uint32_t Crc32c(std::string_view data) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (const char ch : data) {
    crc = kCrcTable[(crc ^ static_cast<unsigned char>(ch)) & 0xff] ^ (crc >> 8);
  }
  return crc ^ 0xFFFFFFFFu;
}

std::uint32_t MaskedCrc32c(std::string_view data) {
  const std::uint32_t crc = Crc32c(data);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

std::string EncodeScalarEvent(double wall_time, std::int64_t step, std::string_view tag,
                              float value) {
  std::string summary_value;
  PutBytes(summary_value, /*field=*/1, tag);
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  PutKey(summary_value, /*field=*/2, /*wire_type=*/5);
  PutLittleEndian(summary_value, bits);

  std::string summary;
  PutBytes(summary, /*field=*/1, summary_value);

  std::string event;
  PutEventHeader(event, wall_time, step);
  PutBytes(event, /*field=*/5, summary);
  return event;
}

std::string EncodeFileVersionEvent(double wall_time) {
  std::string event;
  PutEventHeader(event, wall_time, /*step=*/0);
  PutBytes(event, /*field=*/3, "brain.Event:2");
  return event;
}

std::string FrameRecord(std::string_view data) {
  std::string length;
  PutLittleEndian(length, static_cast<std::uint64_t>(data.size()));
  std::string out = length;
  PutLittleEndian(out, MaskedCrc32c(length));
  out.append(data);
  PutLittleEndian(out, MaskedCrc32c(data));
  return out;
}

TensorBoardWriter::TensorBoardWriter(const std::string& dir) {
  MakeDirectories(dir);
  const std::time_t now = std::time(nullptr);
  path_ = dir + "/events.out.tfevents." + std::to_string(static_cast<long long>(now)) + "." +
          HostName();
  file_ = std::fopen(path_.c_str(), "ab");
  if (file_ == nullptr) {
    throw std::runtime_error("cannot open TensorBoard event file " + path_ + ": " +
                             std::strerror(errno));
  }
  Append(EncodeFileVersionEvent(static_cast<double>(now)));
  Flush();
}

TensorBoardWriter::~TensorBoardWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

void TensorBoardWriter::AddScalar(std::string_view tag, std::int64_t step, double value,
                                  double wall_time) {
  Append(EncodeScalarEvent(wall_time, step, tag, static_cast<float>(value)));
}

void TensorBoardWriter::Append(const std::string& event) {
  const std::string record = FrameRecord(event);
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size()) {
    throw std::runtime_error("cannot write TensorBoard event file " + path_ + ": " +
                             std::strerror(errno));
  }
}

void TensorBoardWriter::Flush() {
  if (std::fflush(file_) != 0) {
    throw std::runtime_error("cannot write TensorBoard event file " + path_ + ": " +
                             std::strerror(errno));
  }
}

}  // namespace colony
