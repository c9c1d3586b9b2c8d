// Output files are written atomically, and an interrupted sweep (SIGINT) leaves either the
// previous file or a complete partial one that says it is partial: start `kvscope sweep` on a
// large design space in the background, interrupt it, and check the file.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli_runner.hpp"
#include "kvscope/core/csv.hpp"

namespace fs = std::filesystem;

namespace {

struct Interrupted {
  int status = -1;      // exit status, or 128 + signal
  bool killed = false;  // did not stop within the grace period after SIGINT
  std::string err;
};

// Runs kvscope with `args` in the background, sends SIGINT after `delay`, waits (at most 60 s).
Interrupted run_and_interrupt(const std::vector<std::string>& args, std::chrono::milliseconds delay, const std::string& dir) {
  const std::string err_path = dir + "/stderr";
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const int in = ::open("/dev/null", O_RDONLY);
    const int out = ::open((dir + "/stdout").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    std::vector<std::string> storage = {KVSCOPE_CLI_PATH};
    storage.insert(storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : storage) argv.push_back(s.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  std::this_thread::sleep_for(delay);
  ::kill(pid, SIGINT);
  Interrupted r;
  int raw = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (true) {
    const pid_t w = ::waitpid(pid, &raw, WNOHANG);
    if (w == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &raw, 0);
      r.killed = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + (WIFSIGNALED(raw) ? WTERMSIG(raw) : 0);
  r.err = slurp(err_path);
  return r;
}

// No temporary files left next to the output.
void check_no_temporaries(const std::string& dir, const std::string& name) {
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string f = e.path().filename().string();
    INFO(f);
    CHECK_FALSE((f.rfind(name + ".tmp", 0) == 0 || f.find(".tmp.") != std::string::npos));
  }
}

// A big design space: 4 x 8 x 20000 x 128 = 81.9M points, minutes of work, so that SIGINT
// always lands mid-sweep. The constraint keeps the rows written (and buffered) to a few per mille.
const std::vector<std::string> kBigSweep = {
    "sweep",     "--kv-heads",         "1,2,4,8",      "--cla",       "1..8",      "--batch", "1..20000",
    "--context", "1024..131072:+1024", "--constraint", "batch <= 32", "--threads", "2",       "-q"};

const std::string kPrevious = "previous content\n";

}  // namespace

TEST_CASE("sweep -o writes atomically: a complete file, no temporaries, the previous file kept on error", "[cli][sigint]") {
  const std::string dir = temp_dir();
  const std::string file = dir + "/out.csv";
  std::ofstream(file) << kPrevious;
  // A failing sweep (bad axis) leaves the previous file untouched.
  const CliResult bad = run_kvscope({"sweep", "--batch", "1..", "--format", "csv", "-o", file});
  CHECK(bad.status == 2);
  CHECK(slurp(file) == kPrevious);
  check_no_temporaries(dir, "out.csv");
  // A complete sweep replaces it, with no trailer.
  const CliResult ok = run_kvscope({"sweep", "--kv-heads", "1,2,4,8", "--batch", "1..16", "--format", "csv", "-o", file, "-q"});
  REQUIRE(ok.status == 0);
  const std::string text = slurp(file);
  CHECK(text.find("# partial") == std::string::npos);
  CHECK(text.rfind("# kvscope", 0) == 0);
  std::string body;
  std::istringstream lines(text);
  for (std::string l; std::getline(lines, l);) {
    if (!l.empty() && l[0] != '#') body += l + "\n";
  }
  const kvscope::CsvTable t = kvscope::parse_csv(body, file);
  CHECK(t.rows.size() == 64);
  check_no_temporaries(dir, "out.csv");
  fs::remove_all(dir);
}

TEST_CASE("SIGINT during sweep --format csv -o leaves the previous file or a complete partial one", "[cli][sigint]") {
  for (int delay_ms : {500, 1500}) {
    INFO("SIGINT after " << delay_ms << " ms");
    const std::string dir = temp_dir();
    const std::string file = dir + "/sweep.csv";
    std::ofstream(file) << kPrevious;
    std::vector<std::string> args = kBigSweep;
    for (const char* a : {"--format", "csv", "-o"}) args.push_back(a);
    args.push_back(file);
    const Interrupted r = run_and_interrupt(args, std::chrono::milliseconds(delay_ms), dir);
    INFO("stderr: " << r.err);
    REQUIRE_FALSE(r.killed);  // SIGINT stops the sweep promptly
    const std::string text = slurp(file);
    check_no_temporaries(dir, "sweep.csv");
    if (text == kPrevious) {
      // Interrupted before the sweep's handler was installed: the process died of SIGINT and the
      // previous file is intact.
      CHECK((r.status == 128 + SIGINT || r.status == 130));
      fs::remove_all(dir);
      continue;
    }
    CHECK(r.status == 130);  // partial result written, then 128 + SIGINT
    CHECK_THAT(r.err, Catch::Contains("interrupted") && Catch::Contains("partial"));
    REQUIRE(!text.empty());
    REQUIRE(text.back() == '\n');
    // Lines: "# kvscope ..." provenance, the header, complete rows, "# partial: N of M points".
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    REQUIRE(lines.size() >= 3);
    CHECK(lines.front().rfind("# kvscope", 0) == 0);
    const std::string& trailer = lines.back();
    INFO("trailer: " << trailer);
    REQUIRE(trailer.rfind("# partial: ", 0) == 0);
    CHECK_THAT(trailer, Catch::Contains(" of 81920000 points (interrupted)"));
    const unsigned long long completed = std::stoull(trailer.substr(11));
    CHECK(completed < 81920000ull);
    std::string body;
    for (std::size_t i = 1; i + 1 < lines.size(); ++i) {
      REQUIRE(lines[i].rfind("#", 0) != 0);  // no other comment lines in between
      body += lines[i] + "\n";
    }
    // Every row is complete: RFC 4180 parse with the header's field count (parse_csv checks it),
    // indices increasing and below the completed count, no empty required field.
    const kvscope::CsvTable t = kvscope::parse_csv(body, file);
    const std::size_t idx = t.column("index", file);
    const std::size_t batch = t.column("batch", file);
    const std::size_t step = t.column("decode_step_s", file);
    long long last = -1;
    for (const auto& row : t.rows) {
      REQUIRE(row.size() == t.header.size());
      const long long i = std::stoll(row[idx]);
      CHECK(i > last);
      CHECK(static_cast<unsigned long long>(i) < completed);
      last = i;
      CHECK(std::stoll(row[batch]) <= 32);
      CHECK_FALSE(row[step].empty());
    }
    fs::remove_all(dir);
  }
}

TEST_CASE("SIGINT during sweep --format json -o leaves valid JSON that says it is partial", "[cli][sigint]") {
  const std::string dir = temp_dir();
  const std::string file = dir + "/sweep.json";
  std::ofstream(file) << kPrevious;
  std::vector<std::string> args = kBigSweep;
  for (const char* a : {"--format", "json", "-o"}) args.push_back(a);
  args.push_back(file);
  const Interrupted r = run_and_interrupt(args, std::chrono::milliseconds(800), dir);
  INFO("stderr: " << r.err);
  REQUIRE_FALSE(r.killed);
  const std::string text = slurp(file);
  check_no_temporaries(dir, "sweep.json");
  if (text != kPrevious) {
    CHECK(r.status == 130);
    boost::json::value j;
    REQUIRE_NOTHROW(j = boost::json::parse(text));
    const auto& counts = j.at("counts");
    CHECK(counts.at("partial").as_bool());
    CHECK(counts.at("completed").to_number<double>() < counts.at("total").to_number<double>());
    CHECK(j.at("points").as_array().size() == counts.at("kept").to_number<std::size_t>());
  }
  fs::remove_all(dir);
}

TEST_CASE("SIGINT during simulate or a goodput search writes nothing and exits 130", "[cli][sigint][simulate]") {
  struct Row {
    const char* name;
    std::vector<std::string> args;  // each runs for many seconds uninterrupted
  };
  const Row rows[] = {
      {"simulation",
       {"simulate", "--rate", "1000", "--requests", "1000000", "--isl", "512", "--osl", "8192", "--format", "json"}},
      {"goodput search",
       {"simulate", "--isl", "16k", "--osl", "1024", "--requests", "100000", "--ttft-slo-ms", "2000", "--tpot-slo-ms", "50"}},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    const std::string dir = temp_dir();
    const std::string file = dir + "/sim.out", plot = dir + "/sim.svg";
    std::ofstream(file) << kPrevious;
    std::vector<std::string> args = row.args;
    for (const std::string& a : {std::string("-o"), file, std::string("--plot"), plot}) args.push_back(a);
    const Interrupted r = run_and_interrupt(args, std::chrono::milliseconds(700), dir);
    INFO("stderr: " << r.err);
    REQUIRE_FALSE(r.killed);  // stops promptly
    CHECK(r.status == 130);
    CHECK(slurp(file) == kPrevious);  // a partial simulation is no result: the previous file stays
    CHECK_FALSE(fs::exists(plot));
    CHECK(slurp(dir + "/stdout").empty());
    if (!r.err.empty()) CHECK_THAT(r.err, Catch::Contains("interrupted") && Catch::Contains("nothing written"));
    check_no_temporaries(dir, "sim.out");
    fs::remove_all(dir);
  }
}

TEST_CASE("SIGINT during a sweep's goodput searches writes a partial file with no points", "[cli][sigint][goodput]") {
  const std::string dir = temp_dir();
  const std::string file = dir + "/sweep.csv";
  const Interrupted r = run_and_interrupt(
      {"sweep",  "--kv-heads",    "1,2,4,8", "--cla",     "1,2", "--isl", "16k",      "--osl", "1024", "--requests",
       "100000", "--ttft-slo-ms", "2000",    "--threads", "2",   "-q",    "--format", "csv",   "-o",   file},
      std::chrono::milliseconds(700), dir);
  INFO("stderr: " << r.err);
  REQUIRE_FALSE(r.killed);
  CHECK(r.status == 130);
  const std::string text = slurp(file);
  if (!text.empty()) {  // empty: interrupted before the handler was installed
    CHECK(text.rfind("# kvscope", 0) == 0);
    CHECK_THAT(text, Catch::Contains("goodput_rps") && Catch::EndsWith("# partial: 0 of 8 points (interrupted)\n"));
  }
  check_no_temporaries(dir, "sweep.csv");
  fs::remove_all(dir);
}
