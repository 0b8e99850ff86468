// Small file-system helpers on POSIX calls. std::filesystem is avoided on purpose: LibTorch's
// shared libraries export their own copies of its symbols, the dynamic linker may bind ours to
// those, and calls like remove_all then crash (seen with the torch 2.11 wheel).
//
// Errors throw std::runtime_error naming the path and the system's reason.
#pragma once

#include <span>
#include <string>

namespace colony {

// Creates `dir` and any missing parents (like mkdir -p).
void MakeDirectories(const std::string& dir);
// "a/b/c.txt" -> "a/b"; "c.txt" -> "."; "/c" -> "/".
std::string ParentDirectory(const std::string& path);
// Writes the pieces, in order, to `path` atomically: a temporary file in the same folder,
// fsync, rename over `path`, fsync of the folder. A reader sees the old file or the new one,
// never a mix; a failure leaves the old file as it was.
void WriteFileAtomically(const std::string& path, std::span<const std::span<const char>> pieces);
void WriteFileAtomically(const std::string& path, const std::string& text);
// Deletes `path` and everything below it; a missing path is not an error (like rm -rf).
void RemoveTree(const std::string& path);
// A directory name under $TMPDIR (or /tmp) for tests and scratch files; not created.
std::string TempPath(const std::string& name);

}  // namespace colony
