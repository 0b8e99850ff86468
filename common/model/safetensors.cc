// Safetensors writer and validating reader. See safetensors.h for the format.
#include "common/model/safetensors.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <span>
#include <stdexcept>

#include "common/base/files.h"
#include "common/base/json.h"
#include "common/base/shape_text.h"

namespace colony {
namespace {

static_assert(std::endian::native == std::endian::little,
              "safetensors is little-endian and Colony writes raw host bytes");

// Python's safetensors refuses headers above 100 MB; so do we, before allocating.
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;

struct DtypeName {
  torch::ScalarType type;
  const char* name;
};
constexpr DtypeName kDtypes[] = {
    {torch::kFloat32, "F32"}, {torch::kFloat64, "F64"}, {torch::kFloat16, "F16"},
    {torch::kBFloat16, "BF16"}, {torch::kInt64, "I64"}, {torch::kInt32, "I32"},
    {torch::kInt16, "I16"},   {torch::kInt8, "I8"},     {torch::kUInt8, "U8"},
    {torch::kBool, "BOOL"}};

[[noreturn]] void Fail(const std::string& path, const std::string& what) {
  throw ModelFileError(path + ": " + what);
}

std::string BuildHeader(const NamedTensors& tensors, const std::vector<uint64_t>& offsets,
                        const std::map<std::string, std::string>& metadata) {
  json::StringBuffer buffer;
  json::Writer<json::StringBuffer> w(buffer);
  w.StartObject();
  if (!metadata.empty()) {
    w.Key("__metadata__");
    w.StartObject();
    for (const auto& [key, value] : metadata) {
      w.Key(key.c_str(), static_cast<json::SizeType>(key.size()));
      w.String(value.c_str(), static_cast<json::SizeType>(value.size()));
    }
    w.EndObject();
  }
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& [name, tensor] = tensors[i];
    w.Key(name.c_str(), static_cast<json::SizeType>(name.size()));
    w.StartObject();
    w.Key("dtype");
    w.String(SafetensorsDtype(tensor.scalar_type()).c_str());
    w.Key("shape");
    w.StartArray();
    for (int64_t d : tensor.sizes()) w.Int64(d);
    w.EndArray();
    w.Key("data_offsets");
    w.StartArray();
    w.Uint64(offsets[i]);
    w.Uint64(offsets[i + 1]);
    w.EndArray();
    w.EndObject();
  }
  w.EndObject();
  std::string header(buffer.GetString(), buffer.GetSize());
  // Pad with spaces (valid JSON whitespace) so tensor data starts 8-byte aligned.
  header.append((8 - header.size() % 8) % 8, ' ');
  return header;
}

}  // namespace

std::string SafetensorsDtype(torch::ScalarType type) {
  for (const DtypeName& d : kDtypes) {
    if (d.type == type) return d.name;
  }
  throw ModelFileError(std::string("safetensors: expected one of F32|F64|F16|BF16|I64|I32|I16|"
                                   "I8|U8|BOOL tensors, got dtype ") +
                       c10::toString(type));
}

void WriteSafetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
  NamedTensors cpu;
  std::vector<uint64_t> offsets = {0};
  std::set<std::string> names;
  for (const auto& [name, tensor] : tensors) {
    if (name == "__metadata__") Fail(path, "'__metadata__' is reserved, not a tensor name");
    if (!names.insert(name).second) Fail(path, "tensor '" + name + "': given twice");
    cpu.emplace_back(name, tensor.detach().to(torch::kCPU).contiguous());
    offsets.push_back(offsets.back() + cpu.back().second.nbytes());
  }
  const std::string header = BuildHeader(cpu, offsets, metadata);
  const uint64_t header_size = header.size();

  // One atomic write (common/base/files.h): temp file beside the target, fsync, rename, fsync of
  // the folder; a failure leaves any previous file as it was.
  std::vector<std::span<const char>> pieces;
  pieces.emplace_back(reinterpret_cast<const char*>(&header_size), sizeof(header_size));
  pieces.emplace_back(header.data(), header.size());
  for (const auto& [name, tensor] : cpu) {
    pieces.emplace_back(static_cast<const char*>(tensor.const_data_ptr()), tensor.nbytes());
  }
  try {
    WriteFileAtomically(path, pieces);
  } catch (const std::runtime_error& error) {
    Fail(path, std::string("write failed: ") + error.what());
  }
}

SafetensorsContents ReadSafetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Fail(path, std::string("cannot open for reading: ") + std::strerror(errno));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 8) {
    Fail(path, "expected at least 8 bytes (the header length), got " + std::to_string(bytes.size()));
  }
  uint64_t header_size = 0;
  std::memcpy(&header_size, bytes.data(), 8);
  if (header_size > kMaxHeaderBytes || header_size > bytes.size() - 8) {
    Fail(path, "header length " + std::to_string(header_size) + " exceeds the " +
                   std::to_string(bytes.size() - 8) + " bytes after it (corrupt or truncated)");
  }
  json::Document doc;
  doc.Parse(bytes.data() + 8, header_size);
  if (doc.HasParseError()) {
    Fail(path, std::string("corrupt header: expected JSON, got a parse error (") +
                   json::GetParseError_En(doc.GetParseError()) + ") at byte " +
                   std::to_string(doc.GetErrorOffset()));
  }
  if (!doc.IsObject()) Fail(path, "corrupt header: expected a JSON object, got another value");

  const char* data = bytes.data() + 8 + header_size;
  const uint64_t data_size = bytes.size() - 8 - header_size;
  SafetensorsContents contents;
  struct Entry {
    std::string name;
    torch::ScalarType type;
    std::vector<int64_t> shape;
    uint64_t begin, end;
  };
  std::vector<Entry> entries;
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    const std::string name(it->name.GetString(), it->name.GetStringLength());
    const json::Value& v = it->value;
    if (name == "__metadata__") {
      if (!v.IsObject()) Fail(path, "corrupt header: expected __metadata__ to be an object");
      for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
        if (!m->value.IsString()) {
          Fail(path, std::string("corrupt header: expected a string for metadata '") +
                         m->name.GetString() + "', got another JSON value");
        }
        contents.metadata[m->name.GetString()] = m->value.GetString();
      }
      continue;
    }
    const std::string where = "tensor '" + name + "': ";
    // rapidjson keeps duplicate keys; Python's reader refuses them, and so do we.
    for (const Entry& seen : entries) {
      if (seen.name == name) Fail(path, "corrupt header: " + where + "expected once, got twice");
    }
    if (!v.IsObject() || !v.HasMember("dtype") || !v["dtype"].IsString() ||
        !v.HasMember("shape") || !v["shape"].IsArray() || !v.HasMember("data_offsets") ||
        !v["data_offsets"].IsArray() || v["data_offsets"].Size() != 2 ||
        !v["data_offsets"][0].IsUint64() || !v["data_offsets"][1].IsUint64()) {
      Fail(path, "corrupt header: " + where +
                     "expected {dtype: string, shape: [ints], data_offsets: [begin, end]}");
    }
    Entry e{name, torch::kFloat32, {}, v["data_offsets"][0].GetUint64(),
            v["data_offsets"][1].GetUint64()};
    const std::string dtype = v["dtype"].GetString();
    const auto known = std::find_if(std::begin(kDtypes), std::end(kDtypes),
                                     [&](const DtypeName& d) { return dtype == d.name; });
    if (known == std::end(kDtypes)) {
      Fail(path, where + "expected a dtype of F32|F64|F16|BF16|I64|I32|I16|I8|U8|BOOL, got '" +
                     dtype + "'");
    }
    e.type = known->type;
    uint64_t numel = 1;
    for (const json::Value& d : v["shape"].GetArray()) {
      if (!d.IsInt64() || d.GetInt64() < 0 || d.GetInt64() > (int64_t{1} << 40)) {
        Fail(path, "corrupt header: " + where + "expected non-negative integer dimensions");
      }
      e.shape.push_back(d.GetInt64());
      numel *= static_cast<uint64_t>(d.GetInt64());
      if (numel > (uint64_t{1} << 40)) Fail(path, "corrupt header: " + where + "shape too large");
    }
    const uint64_t expected_bytes = numel * c10::elementSize(e.type);
    if (e.end < e.begin || e.end - e.begin != expected_bytes) {
      Fail(path, "corrupt header: " + where + "expected data_offsets spanning " +
                     std::to_string(expected_bytes) + " bytes for shape " +
                     ShapeText(e.shape) + " " + dtype + ", got [" + std::to_string(e.begin) +
                     ", " + std::to_string(e.end) + "]");
    }
    if (e.end > data_size) {
      Fail(path, "truncated: " + where + "expected tensor data up to byte " +
                     std::to_string(e.end) + ", got only " + std::to_string(data_size) +
                     " bytes of data");
    }
    entries.push_back(std::move(e));
  }
  // Tensors must tile the data section exactly, as Python's reader demands: in offset order,
  // each begins where the previous one ends and the last ends at the end of the file. An
  // overlap would alias two tensors' bytes; a gap or a tail is bytes nobody accounts for.
  std::vector<const Entry*> by_offset;
  for (const Entry& e : entries) by_offset.push_back(&e);
  std::stable_sort(by_offset.begin(), by_offset.end(), [](const Entry* x, const Entry* y) {
    return x->begin != y->begin ? x->begin < y->begin : x->end < y->end;
  });
  const Entry* previous = nullptr;
  uint64_t covered = 0;  // bytes of the data section accounted for so far
  for (const Entry* e : by_offset) {
    const std::string range = "[" + std::to_string(e->begin) + ", " + std::to_string(e->end) + "]";
    if (e->begin < covered) {
      Fail(path, "corrupt header: tensor '" + e->name + "': data_offsets " + range +
                     " overlap tensor '" + previous->name + "' at [" +
                     std::to_string(previous->begin) + ", " + std::to_string(previous->end) +
                     "]; expected tensors packed back to back without overlap");
    }
    if (e->begin > covered) {
      Fail(path, "corrupt header: tensor '" + e->name + "': expected data_offsets to begin at "
                     "byte " + std::to_string(covered) + ", where the previous tensor ends, got " +
                     range + " (a gap of " + std::to_string(e->begin - covered) + " bytes)");
    }
    covered = e->end;
    previous = e;
  }
  if (covered != data_size) {
    Fail(path, "corrupt file: expected tensor data to end at byte " + std::to_string(covered) +
                   " of the data section, got " + std::to_string(data_size - covered) +
                   " trailing bytes no tensor accounts for");
  }
  for (const Entry& e : entries) {
    torch::Tensor t = torch::empty(e.shape, torch::TensorOptions().dtype(e.type));
    if (e.end > e.begin) std::memcpy(t.data_ptr(), data + e.begin, e.end - e.begin);
    contents.tensors.emplace_back(e.name, std::move(t));
  }
  return contents;
}

}  // namespace colony
