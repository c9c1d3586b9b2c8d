#pragma once
// Runs the kvscope binary with arguments and captures stdout, stderr and the exit status.
#include <string>
#include <vector>

#include "kvscope/core/csv.hpp"

struct CliResult {
  int status = -1;
  std::string out;
  std::string err;
};

CliResult run_kvscope(const std::vector<std::string>& args, const std::string& stdin_text = "");
std::string temp_dir();  // a fresh directory for one test

// Small helpers every CLI test file uses.
std::string slurp(const std::string& path);  // a file's bytes ("" when it cannot be read)
std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& more);  // a followed by more
kvscope::CsvTable csv_of(const std::string& out);  // the CSV body of an output ('#' comment lines dropped)

// Runs kvscope as a child process with the hostile conditions of the reliability tests
// (test_cli_reliability.cpp): stdout to a chosen file or device or a pipe whose reader is gone,
// SIGPIPE ignored, a file-size limit, a signal sent after a delay, a hook that runs once the
// child's pid is known but before it starts (to plant files named after the pid).
#include <sys/types.h>

#include <functional>

struct RunSpec {
  RunSpec(std::vector<std::string> a) : args(std::move(a)) {}  // NOLINT: implicit, RunSpec{args}
  std::vector<std::string> args;
  std::string stdout_path;          // "" = a temporary file, read back into CliResult::out
  bool stdout_broken_pipe = false;  // stdout = a pipe whose read end is closed
  bool ignore_sigpipe = false;
  long long fsize_limit_B = -1;  // RLIMIT_FSIZE in the child (SIGXFSZ ignored), -1 = none
  int signal = 0;                // sent after delay_ms (0 = none)
  int delay_ms = 0;
  std::function<void(pid_t)> before_start;
  int timeout_s = 120;  // then SIGKILL; CliResult::status = 128 + SIGKILL
};

CliResult run_kvscope_spec(const RunSpec& spec);

// True when this test binary (and so the kvscope beside it) is built with a sanitizer: resource
// limits (RLIMIT_FSIZE, RLIMIT_AS) and allocation counting do not mix with their runtimes.
constexpr bool kSanitized =
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
    true;
#else
    false;
#endif
#else
    false;
#endif
