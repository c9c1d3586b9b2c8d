#pragma once
// The one way kvscope output reaches its destination (every command's -o, --plot, --out-dir
// files, calibrated profiles and stdout). Promises (docs/reliability.md):
//
//  * stdout ("" or "-"): written with every byte checked; a failed write (full disk, closed pipe
//    with SIGPIPE ignored, /dev/full) is an IoError "cannot write to stdout: <reason>".
//  * A regular file, new or existing, is never written in place: the bytes go to an exclusively
//    created temporary with an unpredictable name beside it (mkstemp: O_CREAT | O_EXCL, mode
//    0600), which commit() fsyncs, gives the mode of the file it replaces (or 0666 & ~umask for
//    a new one) and renames over the target. Readers see the old file or the whole new one; a
//    failure or an abandoned output leaves the old file untouched and no temporary behind.
//  * A symbolic link is followed: its final target is replaced (or created), the link stays.
//  * A non-regular file (FIFO, character device such as /dev/null, /dev/stdout, /proc/self/fd/N)
//    is written in place, never replaced. Block devices and directories are refused.
//  * Temporaries not yet committed are listed in an async-signal-safe registry, so a signal
//    handler (remove_output_temporaries) or a terminate handler removes them.
//
// Errors are IoError naming the path (as given), the step and the OS reason.
#include <cstdint>
#include <string>
#include <string_view>

namespace kvscope {

class OutputFile {
 public:
  // Opens the destination (creates the temporary). Throws IoError.
  explicit OutputFile(std::string path);
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  // Not committed: the temporary is removed, the target keeps its previous content.
  ~OutputFile();

  // Buffered; every underlying write is checked (IoError).
  void write(std::string_view bytes);
  // Flush, fsync, mode, rename over the target (or close the device). Throws IoError; after a
  // failure the target is untouched and the temporary removed.
  void commit();

  const std::string& path() const { return path_; }
  bool is_stdout() const { return kind_ == Kind::stdout_; }
  // What a message calls the destination: "stdout" or "'path'".
  std::string name() const;

 private:
  enum class Kind { stdout_, replace, direct };
  void flush_buffer();
  void write_fd(const char* data, std::size_t n);
  [[noreturn]] void fail(const std::string& step, int err);
  void discard() noexcept;

  std::string path_;    // as given
  std::string target_;  // the file a rename replaces (a symlink resolved)
  std::string tmp_;
  Kind kind_ = Kind::stdout_;
  int fd_ = -1;
  int slot_ = -1;  // temporary registry slot
  unsigned mode_ = 0644;
  bool keep_owner_ = false;
  unsigned owner_uid_ = 0, owner_gid_ = 0;
  bool committed_ = false;
  std::string buffer_;
};

// Checks, without creating or opening anything, that `path` can be written as OutputFile would
// (IoError with the same message otherwise). Commands call it for every output flag before any
// work, so a bad -o never costs a sweep.
void check_output_target(const std::string& path);

// Whole content in one go: OutputFile(path), write, commit.
void write_output(const std::string& path, std::string_view content);

// True when two output paths name the same file (after following symbolic links; for existing
// files by device and inode). "" / "-" (stdout) never equals a file.
bool same_output_file(const std::string& a, const std::string& b);

// Unlinks every registered (uncommitted) temporary. Async-signal-safe: only unlink(2) on
// fixed storage. Returns the number removed.
int remove_output_temporaries() noexcept;
// Async-signal-safe: a blocking open or write of an output (a FIFO without reader, a full pipe)
// that a signal interrupts (EINTR) then fails with IoError instead of retrying. Called by the
// CLI's signal handlers.
void request_output_stop() noexcept;
// Number of registered temporaries (tests).
int pending_output_temporaries() noexcept;

// Test and fuzzing hook: after `after_bytes` more bytes have been written by OutputFile (stdout
// included), writes fail with errno `err` (ENOSPC, EIO, EPIPE...). err = 0 disables it. Only
// OutputFile's own writes are affected.
void inject_output_write_failure(std::uint64_t after_bytes, int err) noexcept;
// Writes failed by the injection since it was last set.
std::uint64_t injected_output_failures() noexcept;

}  // namespace kvscope
