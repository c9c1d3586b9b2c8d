#include "cli_runner.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace {
std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'')
      q += "'\\''";
    else
      q += c;
  }
  return q + "'";
}
}  // namespace

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& more) {
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

kvscope::CsvTable csv_of(const std::string& out) {
  std::string body;
  std::istringstream lines(out);
  for (std::string l; std::getline(lines, l);) {
    if (!l.empty() && l[0] != '#') body += l + "\n";
  }
  return kvscope::parse_csv(body, "output");
}

std::string temp_dir() {
  char tmpl[] = "/tmp/kvscope-test-XXXXXX";
  const char* d = mkdtemp(tmpl);
  return d ? std::string(d) : std::string("/tmp");
}

CliResult run_kvscope(const std::vector<std::string>& args, const std::string& stdin_text) {
  const std::string dir = temp_dir();
  std::string cmd = quote(KVSCOPE_CLI_PATH);
  for (const auto& a : args) cmd += " " + quote(a);
  const std::string in = dir + "/stdin", out = dir + "/stdout", err = dir + "/stderr";
  std::ofstream(in) << stdin_text;
  cmd += " <" + quote(in) + " >" + quote(out) + " 2>" + quote(err);
  const int raw = std::system(cmd.c_str());
  CliResult r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + (WIFSIGNALED(raw) ? WTERMSIG(raw) : 0);
  r.out = slurp(out);
  r.err = slurp(err);
  std::system(("rm -rf " + quote(dir)).c_str());
  return r;
}

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>

#include <chrono>
#include <thread>

CliResult run_kvscope_spec(const RunSpec& spec) {
  const std::string dir = temp_dir();
  const std::string out_path = spec.stdout_path.empty() ? dir + "/stdout" : spec.stdout_path;
  const std::string err_path = dir + "/stderr";
  int sync[2];
  int broken[2] = {-1, -1};
  if (::pipe(sync) != 0) return {};
  if (spec.stdout_broken_pipe && ::pipe(broken) != 0) return {};
  const pid_t pid = ::fork();
  if (pid < 0) return {};
  if (pid == 0) {
    ::close(sync[1]);
    char c;
    if (::read(sync[0], &c, 1) != 1) ::_exit(126);
    ::close(sync[0]);
    const int in = ::open("/dev/null", O_RDONLY);
    int out = -1;
    if (spec.stdout_broken_pipe) {
      ::close(broken[0]);  // no reader: every write is EPIPE (or SIGPIPE)
      out = broken[1];
    } else {
      out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    }
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::signal(SIGPIPE, spec.ignore_sigpipe ? SIG_IGN : SIG_DFL);
    if (spec.fsize_limit_B >= 0) {
      ::signal(SIGXFSZ, SIG_IGN);
      rlimit rl{static_cast<rlim_t>(spec.fsize_limit_B), static_cast<rlim_t>(spec.fsize_limit_B)};
      ::setrlimit(RLIMIT_FSIZE, &rl);
    }
    std::vector<std::string> storage = {KVSCOPE_CLI_PATH};
    storage.insert(storage.end(), spec.args.begin(), spec.args.end());
    std::vector<char*> argv;
    for (auto& s : storage) argv.push_back(s.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(sync[0]);
  if (spec.stdout_broken_pipe) ::close(broken[0]), ::close(broken[1]);
  if (spec.before_start) spec.before_start(pid);
  const char go = 'g';
  (void)!::write(sync[1], &go, 1);
  ::close(sync[1]);
  if (spec.signal != 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(spec.delay_ms));
    ::kill(pid, spec.signal);
  }
  int raw = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(spec.timeout_s);
  while (::waitpid(pid, &raw, WNOHANG) != pid) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &raw, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CliResult r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + (WIFSIGNALED(raw) ? WTERMSIG(raw) : 0);
  if (spec.stdout_path.empty()) r.out = slurp(out_path);
  r.err = slurp(err_path);
  std::system(("rm -rf " + quote(dir)).c_str());
  return r;
}
