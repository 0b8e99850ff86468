// Helpers shared by the wire tests (tests/wire_test.cc, tests/wire_malformed_test.cc): random
// valid trajectories, and an independent encoder written from docs/wire.md whose inputs (the
// prefix fields, the header's tensor table, the payload blobs) malformed cases can bend.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cereal/archives/binary.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <algorithm>
#include <cstring>
#include <sstream>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "common/wire/wire.h"

namespace colony::wire_test {

using Bytes = std::vector<std::byte>;

inline const TrajectoryGeometry kSmall{2, 2, 3, 2, 1, 2, 4};
inline const TrajectoryGeometry kDefault{32, 16, 4, 2, 2, 32, 64};
inline const TrajectoryGeometry kMlp{32, 16, 4, 2, 0, 0, 0};

template <typename T>
std::string ErrorOf(const std::variant<T, std::string>& result) {
  return std::holds_alternative<std::string>(result) ? std::get<std::string>(result) : "";
}

#define EXPECT_ERROR(result, text)                                          \
  do {                                                                      \
    const std::string error_ = ErrorOf(result);                             \
    EXPECT_NE(error_, "") << "decoded, but expected an error with: " << (text); \
    EXPECT_NE(error_.find(text), std::string::npos) << "error was: " << error_; \
  } while (0)

inline void ExpectSameTrajectory(const Trajectory& a, const Trajectory& b) {
  auto same = [](const torch::Tensor& x, const torch::Tensor& y) {
    return x.scalar_type() == y.scalar_type() && x.sizes() == y.sizes() && torch::equal(x, y);
  };
  EXPECT_TRUE(same(a.obs, b.obs));
  EXPECT_TRUE(same(a.first, b.first));
  EXPECT_TRUE(same(a.actions, b.actions));
  EXPECT_TRUE(same(a.rewards, b.rewards));
  EXPECT_TRUE(same(a.terminated, b.terminated));
  EXPECT_TRUE(same(a.truncated, b.truncated));
  EXPECT_TRUE(same(a.truncation_values, b.truncation_values));
  EXPECT_TRUE(same(a.behaviour_logits, b.behaviour_logits));
  EXPECT_TRUE(same(a.policy_version, b.policy_version));
  EXPECT_TRUE(same(a.initial_memory.hidden, b.initial_memory.hidden));
  EXPECT_TRUE(same(a.initial_memory.valid, b.initial_memory.valid));
}

// ---- An independent encoder, from docs/wire.md, that malformed cases can bend. ----

struct Entry {
  std::string name, dtype;
  std::vector<std::int64_t> shape;
  std::uint64_t offset = 0, length = 0;
  template <class Archive>
  void save(Archive& ar) const { ar(name, dtype, shape, offset, length); }
};

struct Spec {
  char magic[4] = {'C', 'L', 'N', 'Y'};
  std::uint32_t version = 3, kind = 1;
  std::vector<std::int64_t> geometry;
  std::int32_t rank = 0;
  std::uint64_t sequence = 0;
  std::int64_t env_errors = 0;
  std::vector<Entry> entries;
  std::vector<Bytes> blobs;       // one per entry, placed at its offset
  std::string header_suffix;     // extra bytes after the last header field
};

inline Bytes BytesOf(const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous();
  Bytes b(c.nbytes());
  std::memcpy(b.data(), c.data_ptr(), b.size());
  return b;
}

inline std::uint64_t Align8(std::uint64_t n) { return (n + 7) / 8 * 8; }

inline Spec SpecOf(const Trajectory& tr, const TrajectoryGeometry& g, std::int32_t rank,
            std::uint64_t sequence) {
  Spec s;
  s.geometry = {g.steps,         g.columns,       g.obs_dim,      g.num_actions,
                g.memory_layers, g.memory_length, g.memory_width, g.action_dim,
                g.obs_uint8};
  s.rank = rank;
  s.sequence = sequence;
  const std::pair<const char*, torch::Tensor> tensors[] = {
      {"obs", tr.obs}, {"first", tr.first}, {"actions", tr.actions}, {"rewards", tr.rewards},
      {"terminated", tr.terminated}, {"truncated", tr.truncated},
      {"truncation_values", tr.truncation_values}, {"behaviour_logits", tr.behaviour_logits},
      {"policy_version", tr.policy_version}, {"initial_memory", tr.initial_memory.Flatten()}};
  std::uint64_t end = 0;
  for (const auto& [name, t] : tensors) {
    const std::string dtype = t.scalar_type() == torch::kFloat32 ? "float32"
                              : t.scalar_type() == torch::kInt64 ? "int64"
                              : t.scalar_type() == torch::kUInt8 ? "uint8"
                                                                 : "bool";
    s.blobs.push_back(BytesOf(t));
    s.entries.push_back({name, dtype, t.sizes().vec(), Align8(end), s.blobs.back().size()});
    end = s.entries.back().offset + s.entries.back().length;
  }
  return s;
}

inline Bytes Build(const Spec& s) {
  std::ostringstream header;
  {
    cereal::BinaryOutputArchive ar(header);
    for (std::int64_t v : s.geometry) ar(v);
    ar(s.rank, s.sequence, s.env_errors, s.entries);
  }
  const std::string h = header.str() + s.header_suffix;
  const auto header_length = static_cast<std::uint32_t>(h.size());
  const std::uint64_t start = Align8(16 + h.size());
  std::uint64_t payload = 0;
  for (std::size_t i = 0; i < s.entries.size(); ++i) {
    // A test that moves an entry far away clears its blob: nothing is placed there.
    if (!s.blobs[i].empty() || s.entries[i].length == 0) {
      payload = std::max(payload, s.entries[i].offset + s.blobs[i].size());
    }
  }
  Bytes out(start + payload);
  std::memcpy(out.data(), s.magic, 4);
  std::memcpy(out.data() + 4, &s.version, 4);
  std::memcpy(out.data() + 8, &header_length, 4);
  std::memcpy(out.data() + 12, &s.kind, 4);
  std::memcpy(out.data() + 16, h.data(), h.size());
  for (std::size_t i = 0; i < s.entries.size(); ++i) {
    if (!s.blobs[i].empty()) {
      std::memcpy(out.data() + start + s.entries[i].offset, s.blobs[i].data(), s.blobs[i].size());
    }
  }
  return out;
}

// Where tensor `name`'s first byte lies in Build(s)'s message.
inline std::size_t ByteOf(const Spec& s, const std::string& name) {
  std::ostringstream header;
  {
    cereal::BinaryOutputArchive ar(header);
    for (std::int64_t v : s.geometry) ar(v);
    ar(s.rank, s.sequence, s.env_errors, s.entries);
  }
  const std::uint64_t start = Align8(16 + header.str().size() + s.header_suffix.size());
  for (const Entry& e : s.entries) {
    if (e.name == name) return start + e.offset;
  }
  ADD_FAILURE() << "no tensor " << name;
  return 0;
}

inline std::size_t EntryIndex(const Spec& s, const std::string& name) {
  for (std::size_t i = 0; i < s.entries.size(); ++i) {
    if (s.entries[i].name == name) return i;
  }
  ADD_FAILURE() << "no tensor " << name;
  return 0;
}

}  // namespace colony::wire_test
