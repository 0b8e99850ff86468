// The safetensors file format (Hugging Face), written and read without the Python library:
//
//   [8 bytes: little-endian u64 N][N bytes: JSON header, space-padded][raw tensor bytes]
//   header = {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
//             "__metadata__": {"key": "string value", ...}}
// Offsets count from the first byte after the header; tensors are packed back to back, so
// Python's `safetensors` (which insists on that) reads what we write (tests/check_safetensors.py),
// and our reader insists on it too: the tensors must tile the data section exactly (no
// overlap, no gap, no trailing bytes).
//
// In: named tensors and string metadata (Policy::SaveSafetensors). Out: a file written
// atomically (temp file in the same folder, fsync, rename, fsync of the folder), so a crash never
// leaves a half-written checkpoint under the real name. Reading validates every byte it trusts
// and throws ModelFileError naming the file (and the tensor) with expected vs got.
#pragma once

#include <torch/torch.h>

#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace colony {

// A model file that cannot be written, read or used; the message starts with the path.
class ModelFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

struct SafetensorsContents {
  NamedTensors tensors;  // in file order
  std::map<std::string, std::string> metadata;
};

// The safetensors dtype name ("F32") for a torch dtype; throws ModelFileError for others.
std::string SafetensorsDtype(torch::ScalarType type);

// Writes `tensors` (any device; copied to the CPU) and `metadata` to `path` atomically.
void WriteSafetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata);

// Reads and validates the whole file into CPU tensors.
SafetensorsContents ReadSafetensors(const std::string& path);

}  // namespace colony
