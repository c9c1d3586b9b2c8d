#include "kvscope/core/output_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <limits.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "kvscope/core/error.hpp"

namespace kvscope {

namespace {

// ---- Registry of uncommitted temporaries (read by signal handlers) -------------------------

constexpr int kSlots = 32;
constexpr std::size_t kSlotChars = 4096;
char g_paths[kSlots][kSlotChars];
std::atomic<int> g_used[kSlots];  // 0 free, 1 being filled, 2 registered
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler reads the registry");

int register_temp(const std::string& path) {
  if (path.size() >= kSlotChars) return -2;
  for (int i = 0; i < kSlots; ++i) {
    int expected = 0;
    if (g_used[i].compare_exchange_strong(expected, 1)) {
      std::memcpy(g_paths[i], path.c_str(), path.size() + 1);
      g_used[i].store(2);
      return i;
    }
  }
  return -1;
}

void unregister_temp(int slot) {
  if (slot >= 0) g_used[slot].store(0);
}

// ---- Injected write failures (tests, fuzzers) --------------------------------------------

std::atomic<bool> g_stop{false};

std::atomic<std::uint64_t> g_fail_after{0};
std::atomic<int> g_fail_errno{0};
std::atomic<std::uint64_t> g_fail_hits{0};

// How many of `n` bytes may be written before the injected failure; sets errno when none.
std::size_t allowed_bytes(std::size_t n) {
  const int err = g_fail_errno.load();
  if (err == 0) return n;
  const std::uint64_t left = g_fail_after.load();
  if (left == 0) {
    g_fail_hits.fetch_add(1);
    errno = err;
    return 0;
  }
  const std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(left, n));
  g_fail_after.store(left - k);
  return k;
}

std::string dir_of(const std::string& p) {
  const auto slash = p.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return p.substr(0, slash);
}

std::string base_of(const std::string& p) {
  const auto slash = p.find_last_of('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

// Follows a chain of symbolic links that ends at a path that does not exist yet (a dangling
// link): returns that final path. Loops and overlong chains are errors (ELOOP).
std::string follow_dangling(const std::string& path, const std::string& shown) {
  std::string p = path;
  for (int hop = 0; hop < 40; ++hop) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) {
      if (errno == ENOENT) return p;
      throw IoError(fmt::format("cannot write '{}': {}", shown, std::strerror(errno)));
    }
    if (!S_ISLNK(st.st_mode)) return p;
    std::vector<char> buf(PATH_MAX + 1);
    const ssize_t n = ::readlink(p.c_str(), buf.data(), buf.size() - 1);
    if (n < 0) throw IoError(fmt::format("cannot write '{}': readlink: {}", shown, std::strerror(errno)));
    std::string link(buf.data(), static_cast<std::size_t>(n));
    p = !link.empty() && link[0] == '/' ? link : dir_of(p) + "/" + link;
  }
  throw IoError(fmt::format("cannot write '{}': {}", shown, std::strerror(ELOOP)));
}

bool is_proc_path(const std::string& p) {
  return p.rfind("/proc/", 0) == 0 || p.rfind("/dev/fd/", 0) == 0;
}

}  // namespace

// ---- OutputFile --------------------------------------------------------------------------------

namespace {

// Where the bytes of an output path go, decided without creating anything.
struct Resolved {
  enum class Kind { stdout_, replace, direct } kind = Kind::stdout_;
  std::string target;  // replace: the regular file renamed over (symlinks resolved)
  bool exists = false;
  struct stat st {};
};

Resolved resolve(const std::string& path) {
  Resolved r;
  if (path.empty() || path == "-") return r;
  if (path.find('\0') != std::string::npos) throw IoError("cannot write a path that contains a NUL byte");
  struct stat& st = r.st;
  r.target = path;
  bool direct = is_proc_path(path);
  if (::lstat(path.c_str(), &st) == 0) {
    r.exists = true;
    if (S_ISLNK(st.st_mode)) {
      if (::stat(path.c_str(), &st) == 0) {
        if (S_ISREG(st.st_mode)) {
          char* real = ::realpath(path.c_str(), nullptr);
          if (!real) throw IoError(fmt::format("cannot write '{}': {}", path, std::strerror(errno)));
          r.target = real;
          std::free(real);
          // /dev/stdout -> /proc/self/fd/1 -> a file: write through the descriptor's link.
          if (is_proc_path(r.target)) r.target = path, direct = true;
        }
      } else if (errno == ENOENT) {
        r.target = follow_dangling(path, path);  // a link to a file yet to be created
        r.exists = false;
      } else {
        throw IoError(fmt::format("cannot write '{}': {}", path, std::strerror(errno)));
      }
    }
  } else if (errno != ENOENT) {
    throw IoError(fmt::format("cannot write '{}': {}", path, std::strerror(errno)));
  }
  if (r.exists) {
    if (S_ISDIR(st.st_mode)) throw IoError(fmt::format("cannot write '{}': is a directory", path));
    if (S_ISBLK(st.st_mode)) throw IoError(fmt::format("cannot write '{}': refusing to write to a block device", path));
    if (!S_ISREG(st.st_mode) || direct) {
      // FIFO, character device, socket, /proc/self/fd/N: written in place, never replaced.
      r.kind = Resolved::Kind::direct;
      r.target = path;
      return r;
    }
  }
  r.kind = Resolved::Kind::replace;
  const std::string dir = dir_of(r.target);
  struct stat dst {};
  if (::stat(dir.c_str(), &dst) != 0) {
    throw IoError(fmt::format("cannot write '{}': folder '{}': {}", path, dir, std::strerror(errno)));
  }
  if (!S_ISDIR(dst.st_mode)) throw IoError(fmt::format("cannot write '{}': '{}' is not a folder", path, dir));
  return r;
}

}  // namespace

void check_output_target(const std::string& path) {
  const Resolved r = resolve(path);
  if (r.kind == Resolved::Kind::replace) {
    const std::string dir = dir_of(r.target);
    if (::access(dir.c_str(), W_OK | X_OK) != 0) {
      throw IoError(fmt::format("cannot write '{}': folder '{}': {}", path, dir, std::strerror(errno)));
    }
  } else if (r.kind == Resolved::Kind::direct && ::access(path.c_str(), W_OK) != 0) {
    throw IoError(fmt::format("cannot write '{}': {}", path, std::strerror(errno)));
  }
}

OutputFile::OutputFile(std::string path) : path_(std::move(path)) {
  const Resolved r = resolve(path_);
  if (r.kind == Resolved::Kind::stdout_) {
    kind_ = Kind::stdout_;
    fd_ = STDOUT_FILENO;
    std::fflush(stdout);  // anything printed through stdio goes first
    return;
  }
  if (r.kind == Resolved::Kind::direct) {
    kind_ = Kind::direct;
    // Blocks while a FIFO has no reader, like a shell redirection; a signal ends the wait.
    while ((fd_ = ::open(path_.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC | O_APPEND)) < 0 && errno == EINTR && !g_stop.load()) {
    }
    if (fd_ < 0) throw IoError(fmt::format("cannot write '{}': {}", path_, std::strerror(errno)));
    return;
  }
  if (r.exists) {
    mode_ = r.st.st_mode & 07777;
    keep_owner_ = r.st.st_uid != ::geteuid() || r.st.st_gid != ::getegid();
    owner_uid_ = r.st.st_uid, owner_gid_ = r.st.st_gid;
  } else {
    const mode_t mask = ::umask(0);
    ::umask(mask);
    mode_ = 0666 & ~mask;
  }
  kind_ = Kind::replace;
  target_ = r.target;
  const std::string dir = dir_of(target_);
  // Beside the target (rename stays in one file system); the name is cut so that it fits NAME_MAX.
  std::string base = base_of(target_);
  if (base.size() > 200) base.resize(200);
  std::string tmpl = (dir == "/" ? "/" : dir + "/") + "." + base + ".tmp.XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  fd_ = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd_ < 0) {
    throw IoError(fmt::format("cannot write '{}': cannot create a temporary file in '{}': {}", path_, dir, std::strerror(errno)));
  }
  tmp_ = name.data();
  slot_ = register_temp(tmp_);
  if (slot_ < 0) {
    ::close(fd_), fd_ = -1;
    ::unlink(tmp_.c_str());
    throw IoError(fmt::format("cannot write '{}': {}", path_, slot_ == -2 ? "path too long" : "too many outputs open at once"));
  }
}

OutputFile::~OutputFile() {
  if (!committed_) discard();
}

void OutputFile::discard() noexcept {
  if (kind_ == Kind::replace) {
    if (fd_ >= 0) ::close(fd_);
    if (!tmp_.empty()) ::unlink(tmp_.c_str());
    unregister_temp(slot_);
    slot_ = -1;
    tmp_.clear();
  } else if (kind_ == Kind::direct && fd_ >= 0) {
    ::close(fd_);
  }
  fd_ = -1;
}

std::string OutputFile::name() const {
  return kind_ == Kind::stdout_ ? std::string("stdout") : fmt::format("'{}'", path_);
}

void OutputFile::fail(const std::string& step, int err) {
  discard();
  committed_ = true;  // nothing left to clean
  if (kind_ == Kind::stdout_) throw IoError(fmt::format("cannot write to stdout: {}", std::strerror(err)));
  throw IoError(fmt::format("cannot write '{}': {}{}", path_, step.empty() ? "" : step + ": ", std::strerror(err)));
}

void OutputFile::write_fd(const char* data, std::size_t n) {
  while (n > 0) {
    const std::size_t allowed = allowed_bytes(n);
    if (allowed == 0) fail("", errno);
    const ssize_t w = ::write(fd_, data, allowed);
    if (w < 0) {
      if (errno == EINTR && !g_stop.load()) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {  // a non-blocking stdout: wait for room
        pollfd p{fd_, POLLOUT, 0};
        ::poll(&p, 1, 1000);
        continue;
      }
      fail("", errno);
    }
    if (w == 0) fail("", EIO);
    // Give back what the injected budget charged for bytes not written.
    if (g_fail_errno.load() != 0 && static_cast<std::size_t>(w) < allowed)
      g_fail_after.fetch_add(allowed - static_cast<std::size_t>(w));
    data += w;
    n -= static_cast<std::size_t>(w);
  }
}

void OutputFile::flush_buffer() {
  if (buffer_.empty()) return;
  std::string b;
  b.swap(buffer_);
  write_fd(b.data(), b.size());
  b.clear();
  buffer_.swap(b);  // keep the capacity
}

void OutputFile::write(std::string_view bytes) {
  if (committed_) throw IoError(fmt::format("cannot write {}: already closed", name()));
  constexpr std::size_t kBuffer = 1 << 16;
  if (buffer_.size() + bytes.size() > kBuffer) flush_buffer();
  if (bytes.size() >= kBuffer) {
    write_fd(bytes.data(), bytes.size());
  } else {
    buffer_.append(bytes);
  }
}

void OutputFile::commit() {
  if (committed_) return;
  flush_buffer();
  if (kind_ == Kind::stdout_) {
    // A regular file or device behind stdout reports deferred errors (NFS, quota) on fsync only.
    if (::fsync(fd_) != 0 && errno != EINVAL && errno != EROFS && errno != ENOTSUP && errno != EBADF) fail("fsync", errno);
    committed_ = true;
    return;
  }
  if (kind_ == Kind::direct) {
    const int fd = fd_;
    fd_ = -1;
    committed_ = true;
    if (::close(fd) != 0 && errno != EINTR) {
      const int err = errno;
      throw IoError(fmt::format("cannot write '{}': close: {}", path_, std::strerror(err)));
    }
    return;
  }
  if (::fchmod(fd_, static_cast<mode_t>(mode_)) != 0) fail("chmod", errno);
  if (keep_owner_ && ::fchown(fd_, owner_uid_, owner_gid_) != 0) {
    // Only a privileged process may give a file away; keep ours then, as editors do.
  }
  if (::fsync(fd_) != 0 && errno != EINVAL && errno != ENOTSUP) fail("fsync", errno);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0 && errno != EINTR) fail("close", errno);
  if (::rename(tmp_.c_str(), target_.c_str()) != 0) fail("rename", errno);
  unregister_temp(slot_);
  slot_ = -1;
  tmp_.clear();
  committed_ = true;
  const int dfd = ::open(dir_of(target_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);  // best effort: some file systems refuse fsync on directories
    ::close(dfd);
  }
}

void write_output(const std::string& path, std::string_view content) {
  OutputFile f(path);
  f.write(content);
  f.commit();
}

bool same_output_file(const std::string& a, const std::string& b) {
  auto is_out = [](const std::string& p) { return p.empty() || p == "-"; };
  if (is_out(a) || is_out(b)) return false;
  if (a == b) return true;
  struct stat sa {
  }, sb{};
  if (::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  // Not both existing: compare the folders' identities and the (dangling-link resolved) names.
  auto key = [](const std::string& p) -> std::pair<std::string, std::string> {
    std::string f;
    try {
      f = follow_dangling(p, p);
    } catch (const IoError&) {
      f = p;
    }
    struct stat sd {};
    const std::string d = dir_of(f);
    if (::stat(d.c_str(), &sd) != 0) return {d, base_of(f)};
    return {fmt::format("{}:{}", sd.st_dev, sd.st_ino), base_of(f)};
  };
  return key(a) == key(b);
}

int remove_output_temporaries() noexcept {
  int n = 0;
  for (int i = 0; i < kSlots; ++i) {
    if (g_used[i].load() == 2 && ::unlink(g_paths[i]) == 0) ++n;
  }
  return n;
}

void request_output_stop() noexcept {
  g_stop.store(true);
}

int pending_output_temporaries() noexcept {
  int n = 0;
  for (int i = 0; i < kSlots; ++i) n += g_used[i].load() == 2 ? 1 : 0;
  return n;
}

void inject_output_write_failure(std::uint64_t after_bytes, int err) noexcept {
  g_fail_after.store(after_bytes);
  g_fail_errno.store(err);
  g_fail_hits.store(0);
}

std::uint64_t injected_output_failures() noexcept {
  return g_fail_hits.load();
}

}  // namespace kvscope
