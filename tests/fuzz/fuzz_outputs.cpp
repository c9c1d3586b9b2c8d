// Output-level fuzzer (issue #14): drives whole kvscope commands in-process (run_cli) at odd
// output targets with injected write failures, and checks the promises of docs/reliability.md
// after every run:
//  * the exit status is 0, 2 or (for an injected EPIPE on stdout, never) anything else: 3
//    (internal error) and aborts are findings;
//  * a failed run prints exactly one line "kvscope: ..." on stderr and leaves an existing regular
//    target byte-for-byte as it was;
//  * a run whose writes were cut short by the injected failure never exits 0;
//  * no temporary is left in the folder and none is still registered;
//  * a symlink stays a symlink, a FIFO a FIFO, /dev/null a character device; a replaced file
//    keeps its mode; a successful JSON output parses.
//
// Input bytes (FuzzedDataProvider): command and format, target kind, target mode, whether and
// after how many bytes a write fails with which errno.
#include <fcntl.h>
#include <fuzzer/FuzzedDataProvider.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "app.hpp"
#include "kvscope/core/output_file.hpp"

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "kvscope fuzz_outputs invariant broken: %s\n", what.c_str());
  std::abort();
}

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::string kKvbench = std::string(KVSCOPE_SOURCE_DIR) + "/data/calibration/h100-sxm/kvbench-full-2026-11-23.json";

struct Command {
  std::vector<std::string> args;  // "-o" is appended when the target is a file
  bool takes_output;
  bool json;
};

const std::vector<Command>& commands() {
  static const std::vector<Command> c = {
      {{"eval"}, true, false},
      {{"eval", "--format", "json"}, true, true},
      {{"eval", "--format", "csv", "--per-layer"}, true, false},
      {{"sweep", "--kv-heads", "1,2,4,8", "--batch", "1..64", "--format", "csv", "-q"}, true, false},
      {{"sweep", "--kv-heads", "1,2,4,8", "--cla", "1..4", "--batch", "1..256", "--format", "json", "-q", "--threads", "3"},
       true,
       true},
      {{"sweep", "--batch", "1..32", "-q"}, true, false},
      {{"pareto", "--kv-heads", "1,2,4,8", "--cla", "1..4", "--objectives", "kv_bytes_per_token:min,val_ppl:min", "--format",
        "json", "-q"},
       true,
       true},
      {{"pareto", "--batch", "1..200", "--objectives", "decode_tokens_per_s:max,tpot_s:min", "--format", "csv", "-q"},
       true,
       false},
      {{"paper"}, true, false},
      {{"paper", "--format", "json"}, true, true},
      {{"models"}, false, false},
      {{"gpus", "--format", "json"}, false, true},
      {{"stacks"}, false, false},
      {{"validate", kKvbench, "--gpu", "h100-sxm"}, false, false},
      {{"calibrate", kKvbench, "--gpu", "h100-sxm"}, true, false},
      {{"--help"}, false, false},
  };
  return c;
}

enum class Target {
  stdout_file,
  stdout_full,
  stdout_null,
  new_file,
  existing_file,
  symlink_file,
  dangling_symlink,
  symlink_null,
  symlink_full,
  fifo,
  directory,
  missing_dir,
  symlink_loop,
  count
};

// A FIFO with a reader that drains it (so writes never block).
struct FifoReader {
  int fd = -1;
  std::atomic<bool> stop{false};
  std::thread t;
  explicit FifoReader(const std::string& path) {
    fd = ::open(path.c_str(), O_RDWR | O_NONBLOCK);
    t = std::thread([this] {
      char buf[65536];
      while (!stop.load()) {
        if (::read(fd, buf, sizeof buf) <= 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    });
  }
  ~FifoReader() {
    stop.store(true);
    t.join();
    ::close(fd);
  }
};

// Runs run_cli with stdout and stderr redirected; returns the status and stderr's text.
int run(const std::vector<std::string>& args, const std::string& stdout_path, const std::string& err_path) {
  std::vector<std::string> storage = {"kvscope"};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : storage) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::fflush(stdout);
  std::fflush(stderr);
  const int saved_out = ::dup(1), saved_err = ::dup(2);
  const int out = ::open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ::dup2(out, 1);
  ::dup2(err, 2);
  ::close(out), ::close(err);
  // run_cli installs kvscope's signal handlers; libFuzzer's come back afterwards.
  struct sigaction old[4];
  const int sigs[4] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
  for (int i = 0; i < 4; ++i) ::sigaction(sigs[i], nullptr, &old[i]);
  const int status = kvscope::cli::run_cli(static_cast<int>(storage.size()), argv.data());
  for (int i = 0; i < 4; ++i) ::sigaction(sigs[i], &old[i], nullptr);
  std::fflush(stdout);
  std::fflush(stderr);
  ::dup2(saved_out, 1);
  ::dup2(saved_err, 2);
  ::close(saved_out), ::close(saved_err);
  return status;
}

std::string make_dir() {
  char t[] = "/tmp/kvscope-fuzz-out-XXXXXX";
  const char* d = ::mkdtemp(t);
  if (!d) fail("mkdtemp");
  return d;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // A run with SIGPIPE at its default would kill the fuzzer on an EPIPE target: kvscope's
  // contract for an ignored SIGPIPE (an error, exit 2) is the one checked here.
  ::signal(SIGPIPE, SIG_IGN);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const Command& cmd = commands()[in.ConsumeIntegralInRange<std::size_t>(0, commands().size() - 1)];
  auto target = static_cast<Target>(in.ConsumeIntegralInRange<int>(0, static_cast<int>(Target::count) - 1));
  if (!cmd.takes_output && target > Target::stdout_null) target = Target::stdout_file;
  const mode_t mode = static_cast<mode_t>(in.ConsumeIntegralInRange<int>(0, 0777)) | 0600;  // we must be able to read it back
  const bool inject = in.ConsumeBool();
  const std::uint64_t fail_after = in.ConsumeIntegralInRange<std::uint64_t>(0, 300000);
  const int errnos[] = {ENOSPC, EIO, EFBIG, EPIPE, EDQUOT, EROFS};
  const int err = errnos[in.ConsumeIntegralInRange<std::size_t>(0, std::size(errnos) - 1)];

  const std::string dir = make_dir();
  const std::string errf = dir + "/.stderr", outf = dir + "/.stdout";
  std::string path;      // the -o argument
  std::string real;      // the regular file behind it, if any
  std::string previous;  // its content before the run ("" when new)
  bool existed = false;
  std::string stdout_path = outf;
  std::unique_ptr<FifoReader> reader;
  switch (target) {
    case Target::stdout_file:
      break;
    case Target::stdout_full:
      stdout_path = "/dev/full";
      break;
    case Target::stdout_null:
      stdout_path = "/dev/null";
      break;
    case Target::new_file:
      path = real = dir + "/new.out";
      break;
    case Target::existing_file:
    case Target::symlink_file:
      real = dir + "/old.out";
      previous = "previous content\n";
      std::ofstream(real) << previous;
      ::chmod(real.c_str(), mode);
      existed = true;
      path = real;
      if (target == Target::symlink_file) {
        path = dir + "/link.out";
        fs::create_symlink("old.out", path);
      }
      break;
    case Target::dangling_symlink:
      path = dir + "/dangling.out";
      real = dir + "/made.out";
      fs::create_symlink("made.out", path);
      break;
    case Target::symlink_null:
      path = dir + "/null";
      fs::create_symlink("/dev/null", path);
      break;
    case Target::symlink_full:
      path = dir + "/full";
      fs::create_symlink("/dev/full", path);
      break;
    case Target::fifo:
      path = dir + "/fifo";
      if (::mkfifo(path.c_str(), 0644) != 0) fail("mkfifo");
      reader = std::make_unique<FifoReader>(path);
      break;
    case Target::directory:
      path = dir;
      break;
    case Target::missing_dir:
      path = dir + "/no/such/dir/out";
      break;
    case Target::symlink_loop:
      path = dir + "/loop1";
      fs::create_symlink("loop2", path);
      fs::create_symlink("loop1", dir + "/loop2");
      break;
    case Target::count:
      break;
  }
  std::vector<std::string> args = cmd.args;
  if (!path.empty()) {
    args.push_back("-o");
    args.push_back(path);
  }
  kvscope::inject_output_write_failure(inject ? fail_after : 0, inject ? err : 0);
  const int status = run(args, stdout_path, errf);
  const bool cut_short = kvscope::injected_output_failures() > 0;
  kvscope::inject_output_write_failure(0, 0);
  const std::string e = slurp(errf);

  if (cut_short && status == 0) fail("exit 0 although a write failed (injected errno " + std::to_string(err) + ")");
  if (status != 0 && status != 2) fail("exit status " + std::to_string(status) + " (stderr: " + e + ")");
  if (status == 2) {
    if (e.rfind("kvscope: ", 0) != 0 || e.find('\n') != e.size() - 1) fail("not one 'kvscope: ' line on stderr: " + e);
    if (existed && slurp(real) != previous) fail("a failed run changed the existing file " + real);
  }
  const bool bad_target = target == Target::stdout_full || target == Target::symlink_full || target == Target::directory ||
                          target == Target::missing_dir || target == Target::symlink_loop;
  if (bad_target && status == 0) fail("exit 0 although the target cannot be written: " + path + stdout_path);
  if (kvscope::pending_output_temporaries() != 0) fail("temporaries still registered after the run");
  for (const auto& de : fs::directory_iterator(dir)) {
    if (de.path().filename().string().find(".tmp.") != std::string::npos) fail("temporary left behind: " + de.path().string());
  }
  if ((target == Target::symlink_file || target == Target::dangling_symlink || target == Target::symlink_null) &&
      !fs::is_symlink(path)) {
    fail("the symlink was replaced: " + path);
  }
  if (target == Target::fifo) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISFIFO(st.st_mode)) fail("the FIFO was replaced");
  }
  if (!fs::is_character_file("/dev/null")) fail("/dev/null is no longer a character device");
  if (status == 0 && existed) {
    struct stat st {};
    if (::stat(real.c_str(), &st) != 0 || (st.st_mode & 07777) != mode) fail("the replaced file lost its mode");
  }
  if (status == 0 && cmd.json && !real.empty()) {
    boost::system::error_code ec;
    (void)boost::json::parse(slurp(real), ec);
    if (ec) fail("a successful JSON output does not parse: " + real);
  }
  reader.reset();
  fs::remove_all(dir);
  return 0;
}
