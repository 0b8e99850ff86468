// Wire framing shared by every Colony message (common/wire/wire.h builds trajectories, weights and
// stop messages on it): the fixed 16-byte prefix, the Cereal binary header with its tensor table,
// and the checks that the table describes a payload that really lies inside the message.
//
// Out (encoding): WritePrefix and HeaderWriter fill a caller-owned buffer. In (decoding):
// ReadPrefix, HeaderReader and CheckTable take untrusted bytes straight from MPI. Every count and
// length in a header is bounded by a small constant or by the message length before anything is
// allocated, so a corrupt header cannot ask for gigabytes. Reading failures are WireError
// exceptions, which common/wire/wire.cc turns into the error strings its API returns.
//
// Integers are in host byte order, which must be little-endian (x86-64, AArch64): mixed-endian
// clusters are unsupported, and wire_header.cc refuses to compile on a big-endian host.
// docs/wire.md has the byte layout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace colony::wire {

inline constexpr std::uint32_t kFormatVersion = 3;  // common/wire/wire.h's kWireFormatVersion
inline constexpr std::size_t kPrefixBytes = 16;       // "CLNY", version, header length, kind
inline constexpr std::size_t kPayloadAlignment = 8;   // payload start and every tensor offset
inline constexpr std::uint32_t kMaxHeaderBytes = 1u << 16;
inline constexpr std::uint64_t kMaxTensors = 32;      // entries in one tensor table
inline constexpr std::uint64_t kMaxNameBytes = 64;    // tensor name or dtype string
inline constexpr std::uint64_t kMaxRank = 8;          // dimensions of one tensor

// A malformed message; what() is the text a receiver logs.
class WireError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Prefix {
  std::uint32_t version = 0;
  std::uint32_t header_length = 0;
  std::uint32_t kind = 0;
};

// Writes the prefix into out[0, 16).
void WritePrefix(std::uint32_t kind, std::uint32_t header_length, std::byte* out);
// Checks magic, format version, a known kind (1..3) and that the header fits in the message.
// Throws WireError.
Prefix ReadPrefix(std::span<const std::byte> bytes);
const char* KindName(std::uint32_t kind);  // "trajectory", "weights", "stop" or "unknown"

// Where the payload starts for a header of `header_length` bytes: the next multiple of 8.
std::size_t PayloadStart(std::uint32_t header_length);
std::size_t AlignUp(std::size_t n);

// One row of the tensor table: where a raw tensor lies, relative to the payload start.
struct TensorEntry {
  std::string name;
  std::string dtype;  // "float32", "int64" or "bool" (one byte, 0 or 1)
  std::vector<std::int64_t> shape;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;  // bytes
};

// What a receiver requires of one entry (the length follows from dtype and shape).
struct ExpectedTensor {
  const char* name;
  const char* dtype;
  std::size_t element_bytes;
  std::vector<std::int64_t> shape;
};

// Builds the table an encoder sends for `expected`: tensors in order, each at the next aligned
// offset. Returns the payload size in bytes.
std::uint64_t LayOut(const std::vector<ExpectedTensor>& expected, std::vector<TensorEntry>& table);

// Checks the received table against `expected` entry by entry (name, dtype, shape, length), then
// that every tensor lies inside the `payload_bytes`-byte payload, no two overlap and the last one
// ends exactly at the message end. Throws WireError naming the first thing wrong.
void CheckTable(const std::vector<TensorEntry>& table, const std::vector<ExpectedTensor>& expected,
                std::uint64_t payload_bytes);

// Appends Cereal binary fields to `out` from byte 16 on (the prefix is written afterwards, once
// the header length is known). Writes over existing bytes instead of clearing the buffer, so a
// reused buffer is neither reallocated nor zero-filled again.
class HeaderWriter {
 public:
  explicit HeaderWriter(std::vector<std::byte>& out);
  ~HeaderWriter();
  HeaderWriter(const HeaderWriter&) = delete;
  HeaderWriter& operator=(const HeaderWriter&) = delete;

  void Int32(std::int32_t value);
  void Int64(std::int64_t value);
  void Uint64(std::uint64_t value);
  void Table(const std::vector<TensorEntry>& table);
  // Header bytes written so far (the prefix's header length once all fields are in).
  std::uint32_t Length() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Reads the fields HeaderWriter wrote, from exactly the header's bytes. Each call names what it
// reads, so that a header that ends early says where ("header ends inside the tensor table").
class HeaderReader {
 public:
  explicit HeaderReader(std::span<const std::byte> header);
  ~HeaderReader();
  HeaderReader(const HeaderReader&) = delete;
  HeaderReader& operator=(const HeaderReader&) = delete;

  std::int32_t Int32(const char* what);
  std::int64_t Int64(const char* what);
  std::uint64_t Uint64(const char* what);
  std::vector<TensorEntry> Table();
  // The header must hold nothing after its last field.
  void ExpectEnd();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace colony::wire
