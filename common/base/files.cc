// POSIX implementations of common/files.h.
#include "common/base/files.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace colony {
namespace {

[[noreturn]] void Fail(const std::string& what, const std::string& path) {
  throw std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}

bool WriteAll(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

std::string ParentDirectory(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

void MakeDirectories(const std::string& dir) {
  if (dir.empty()) return;
  struct stat info {};
  if (::stat(dir.c_str(), &info) == 0) {
    if (S_ISDIR(info.st_mode)) return;
    errno = ENOTDIR;
    Fail("cannot create directory", dir);
  }
  const std::string parent = ParentDirectory(dir);
  if (parent != dir) MakeDirectories(parent);
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) Fail("cannot create directory", dir);
}

void WriteFileAtomically(const std::string& path, std::span<const std::span<const char>> pieces) {
  const std::string temp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) Fail("cannot create", temp);
  bool ok = true;
  for (const auto& piece : pieces) ok = ok && WriteAll(fd, piece.data(), piece.size());
  ok = ok && ::fsync(fd) == 0;
  const int saved_errno = errno;
  ok = ::close(fd) == 0 && ok;
  if (!ok || ::rename(temp.c_str(), path.c_str()) != 0) {
    if (!ok) errno = saved_errno;
    const int reason = errno;
    ::unlink(temp.c_str());
    errno = reason;
    Fail("cannot write", path);
  }
  // Make the rename itself durable.
  const int folder = ::open(ParentDirectory(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (folder >= 0) {
    ::fsync(folder);
    ::close(folder);
  }
}

void WriteFileAtomically(const std::string& path, const std::string& text) {
  const std::span<const char> piece(text.data(), text.size());
  WriteFileAtomically(path, std::span<const std::span<const char>>(&piece, 1));
}

void RemoveTree(const std::string& path) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) return;
  auto remove_one = [](const char* entry, const struct stat*, int, struct FTW*) {
    return ::remove(entry);
  };
  if (::nftw(path.c_str(), remove_one, /*nopenfd=*/16, FTW_DEPTH | FTW_PHYS) != 0) {
    Fail("cannot remove", path);
  }
}

std::string TempPath(const std::string& name) {
  const char* tmp = std::getenv("TMPDIR");
  return std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/" + name;
}

}  // namespace colony
