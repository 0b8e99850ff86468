// Wire framing (common/wire/wire_header.h): the prefix, the Cereal header and tensor-table checks.
//
// The header is written with Cereal's own vector and string serialisation, but read back field
// by field: Cereal's loaders resize a vector to whatever count the bytes claim before reading
// its elements, which on a corrupt message would be an allocation of any size. Reading the size
// tag ourselves lets every count be bounded first; the bytes on the wire are the same.
#include "common/wire/wire_header.h"

#include "common/base/shape_text.h"

#include <cereal/archives/binary.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include <algorithm>
#include <bit>
#include <cstring>
#include <istream>
#include <ostream>
#include <streambuf>

static_assert(std::endian::native == std::endian::little,
              "the Colony wire format is little-endian host order; big-endian hosts are "
              "unsupported");

namespace colony::wire {
namespace {

constexpr char kMagic[4] = {'C', 'L', 'N', 'Y'};
constexpr std::uint32_t kLastKind = 3;

// Streams Cereal's output into the message buffer, overwriting from `pos_` on.
class BufferOut : public std::streambuf {
 public:
  BufferOut(std::vector<std::byte>& out, std::size_t pos) : out_(out), pos_(pos) {}
  std::size_t pos() const { return pos_; }

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    const auto count = static_cast<std::size_t>(n);
    if (pos_ + count > out_.size()) out_.resize(pos_ + count);
    std::memcpy(out_.data() + pos_, s, count);
    pos_ += count;
    return n;
  }
  int_type overflow(int_type c) override {
    if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
    const char ch = traits_type::to_char_type(c);
    xsputn(&ch, 1);
    return c;
  }

 private:
  std::vector<std::byte>& out_;
  std::size_t pos_;
};

// Lets Cereal read a span without copying it; it never writes through the pointers.
class SpanIn : public std::streambuf {
 public:
  explicit SpanIn(std::span<const std::byte> bytes) {
    char* begin = const_cast<char*>(reinterpret_cast<const char*>(bytes.data()));
    setg(begin, begin, begin + bytes.size());
  }
  std::size_t unread() const { return static_cast<std::size_t>(egptr() - gptr()); }
};

std::uint32_t ReadU32(const std::byte* p) {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace

// Found by Cereal through argument-dependent lookup, so it lives beside TensorEntry.
template <class Archive>
void save(Archive& ar, const TensorEntry& entry) {
  ar(entry.name, entry.dtype, entry.shape, entry.offset, entry.length);
}

const char* KindName(std::uint32_t kind) {
  switch (kind) {
    case 1: return "trajectory";
    case 2: return "weights";
    case 3: return "stop";
    default: return "unknown";
  }
}

void WritePrefix(std::uint32_t kind, std::uint32_t header_length, std::byte* out) {
  std::memcpy(out, kMagic, 4);
  std::memcpy(out + 4, &kFormatVersion, 4);
  std::memcpy(out + 8, &header_length, 4);
  std::memcpy(out + 12, &kind, 4);
}

Prefix ReadPrefix(std::span<const std::byte> bytes) {
  if (bytes.size() < kPrefixBytes) {
    throw WireError("message of " + std::to_string(bytes.size()) +
                    " bytes is shorter than the 16-byte prefix");
  }
  if (std::memcmp(bytes.data(), kMagic, 4) != 0) {
    throw WireError("bad magic: expected \"CLNY\" at the start of the message");
  }
  Prefix p{ReadU32(bytes.data() + 4), ReadU32(bytes.data() + 8), ReadU32(bytes.data() + 12)};
  if (p.version != kFormatVersion) {
    throw WireError("format version " + std::to_string(p.version) + ", expected " +
                    std::to_string(kFormatVersion));
  }
  if (p.kind < 1 || p.kind > kLastKind) {
    throw WireError("message kind " + std::to_string(p.kind) +
                    ", expected 1 (trajectory), 2 (weights) or 3 (stop)");
  }
  if (p.header_length > bytes.size() - kPrefixBytes) {
    throw WireError("header length " + std::to_string(p.header_length) +
                    " beyond the message: only " + std::to_string(bytes.size() - kPrefixBytes) +
                    " bytes follow the prefix");
  }
  return p;
}

std::size_t AlignUp(std::size_t n) {
  return (n + kPayloadAlignment - 1) / kPayloadAlignment * kPayloadAlignment;
}

std::size_t PayloadStart(std::uint32_t header_length) {
  return AlignUp(kPrefixBytes + header_length);
}

std::uint64_t LayOut(const std::vector<ExpectedTensor>& expected, std::vector<TensorEntry>& table) {
  table.resize(expected.size());
  std::uint64_t end = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    std::uint64_t bytes = expected[i].element_bytes;
    for (std::int64_t d : expected[i].shape) bytes *= static_cast<std::uint64_t>(d);
    table[i] = {expected[i].name, expected[i].dtype, expected[i].shape, AlignUp(end), bytes};
    end = table[i].offset + bytes;
  }
  return end;
}

void CheckTable(const std::vector<TensorEntry>& table, const std::vector<ExpectedTensor>& expected,
                std::uint64_t payload_bytes) {
  if (table.size() != expected.size()) {
    throw WireError("tensor count " + std::to_string(table.size()) + ", expected " +
                    std::to_string(expected.size()));
  }
  std::uint64_t promised = 0;  // where the furthest tensor ends
  const TensorEntry* furthest = nullptr;
  for (std::size_t i = 0; i < table.size(); ++i) {
    const TensorEntry& got = table[i];
    const ExpectedTensor& want = expected[i];
    if (got.name != want.name) {
      throw WireError("tensor " + std::to_string(i) + " is '" + got.name + "', expected '" +
                      want.name + "'");
    }
    if (got.dtype != want.dtype) {
      throw WireError(got.name + " dtype " + got.dtype + ", expected " + want.dtype);
    }
    if (got.shape != want.shape) {
      throw WireError(got.name + " shape " + ShapeText(got.shape) + ", expected " +
                      ShapeText(want.shape));
    }
    // The expected shape is the receiver's own geometry, so this product cannot overflow.
    std::uint64_t bytes = want.element_bytes;
    for (std::int64_t d : want.shape) bytes *= static_cast<std::uint64_t>(d);
    if (got.length != bytes) {
      throw WireError(got.name + " byte length " + std::to_string(got.length) + ", expected " +
                      std::to_string(bytes));
    }
    // A bound far past any real message keeps offset + length from overflowing.
    if (got.offset > payload_bytes + (std::uint64_t{1} << 40)) {
      throw WireError(got.name + " offset " + std::to_string(got.offset) +
                      " outside the payload of " + std::to_string(payload_bytes) + " bytes");
    }
    if (got.offset + got.length > promised) {
      promised = got.offset + got.length;
      furthest = &got;
    }
  }
  if (payload_bytes < promised) {
    throw WireError("payload truncated: " + std::to_string(payload_bytes) +
                    " bytes, header promises " + std::to_string(promised) + " (" +
                    furthest->name + " at [" + std::to_string(furthest->offset) + ", " +
                    std::to_string(promised) + "))");
  }
  if (payload_bytes > promised) {
    throw WireError(std::to_string(payload_bytes - promised) +
                    " trailing bytes after the last tensor (payload " +
                    std::to_string(payload_bytes) + " bytes, header promises " +
                    std::to_string(promised) + ")");
  }
  // All in range now; sort by offset to find overlaps (empty tensors overlap nothing).
  std::vector<const TensorEntry*> by_offset;
  for (const TensorEntry& e : table) {
    if (e.length > 0) by_offset.push_back(&e);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorEntry* a, const TensorEntry* b) { return a->offset < b->offset; });
  for (std::size_t i = 1; i < by_offset.size(); ++i) {
    const TensorEntry& a = *by_offset[i - 1];
    const TensorEntry& b = *by_offset[i];
    if (a.offset + a.length > b.offset) {
      throw WireError(a.name + " bytes [" + std::to_string(a.offset) + ", " +
                      std::to_string(a.offset + a.length) + ") overlap " + b.name + " bytes [" +
                      std::to_string(b.offset) + ", " + std::to_string(b.offset + b.length) + ")");
    }
  }
}

struct HeaderWriter::Impl {
  Impl(std::vector<std::byte>& out) : buffer(out, kPrefixBytes), stream(&buffer), archive(stream) {}
  BufferOut buffer;
  std::ostream stream;
  cereal::BinaryOutputArchive archive;
};

HeaderWriter::HeaderWriter(std::vector<std::byte>& out) : impl_(std::make_unique<Impl>(out)) {}
HeaderWriter::~HeaderWriter() = default;
void HeaderWriter::Int32(std::int32_t value) { impl_->archive(value); }
void HeaderWriter::Int64(std::int64_t value) { impl_->archive(value); }
void HeaderWriter::Uint64(std::uint64_t value) { impl_->archive(value); }
void HeaderWriter::Table(const std::vector<TensorEntry>& table) { impl_->archive(table); }
std::uint32_t HeaderWriter::Length() const {
  return static_cast<std::uint32_t>(impl_->buffer.pos() - kPrefixBytes);
}

struct HeaderReader::Impl {
  explicit Impl(std::span<const std::byte> header)
      : buffer(header), stream(&buffer), archive(stream) {}
  SpanIn buffer;
  std::istream stream;
  cereal::BinaryInputArchive archive;

  // Cereal throws on a short read; say which field the header ended in.
  template <typename T>
  void Read(T&& field, const std::string& what) {
    try {
      archive(std::forward<T>(field));
    } catch (const cereal::Exception&) {
      throw WireError("header ends early, inside " + what);
    }
  }
  std::uint64_t Count(std::uint64_t limit, const std::string& what) {
    cereal::size_type n = 0;
    Read(cereal::make_size_tag(n), what);
    if (n > limit) {
      throw WireError(what + " " + std::to_string(n) + ", at most " + std::to_string(limit));
    }
    return n;
  }
  std::string String(const std::string& what) {
    std::string s(Count(kMaxNameBytes, what + " length"), '\0');
    Read(cereal::binary_data(s.data(), s.size()), what);
    return s;
  }
};

HeaderReader::HeaderReader(std::span<const std::byte> header)
    : impl_(std::make_unique<Impl>(header)) {}
HeaderReader::~HeaderReader() = default;

std::int32_t HeaderReader::Int32(const char* what) {
  std::int32_t v = 0;
  impl_->Read(v, what);
  return v;
}
std::int64_t HeaderReader::Int64(const char* what) {
  std::int64_t v = 0;
  impl_->Read(v, what);
  return v;
}
std::uint64_t HeaderReader::Uint64(const char* what) {
  std::uint64_t v = 0;
  impl_->Read(v, what);
  return v;
}

std::vector<TensorEntry> HeaderReader::Table() {
  std::vector<TensorEntry> table(impl_->Count(kMaxTensors, "tensor table size"));
  for (std::size_t i = 0; i < table.size(); ++i) {
    const std::string where = "tensor table entry " + std::to_string(i);
    TensorEntry& e = table[i];
    e.name = impl_->String(where + " name");
    e.dtype = impl_->String(where + " dtype");
    e.shape.resize(impl_->Count(kMaxRank, where + " shape rank"));
    impl_->Read(cereal::binary_data(e.shape.data(), e.shape.size() * sizeof(std::int64_t)),
                where + " shape");
    impl_->Read(e.offset, where + " offset");
    impl_->Read(e.length, where + " length");
  }
  return table;
}

void HeaderReader::ExpectEnd() {
  if (impl_->buffer.unread() != 0) {
    throw WireError("header has " + std::to_string(impl_->buffer.unread()) +
                    " unread bytes after its last field");
  }
}

}  // namespace colony::wire
