// Issue #14: kvscope under hostile conditions outside the parsers, through the real binary. One
// section per class of docs/reliability.md: (1) exceptions while sweep threads run, (2) what -o
// replaces, (3) temporaries, (4) write errors, (5) degenerate harness input, (6) unbounded work,
// (7) output hygiene, (8) small contract breaks. Every case failed on the code before the fix.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli_runner.hpp"
#include "kvscope/core/csv.hpp"

namespace fs = std::filesystem;
using V = std::vector<std::string>;

namespace {

void spit(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// Names in `dir` that look like an output temporary (".x.tmp.ABC123", "x.tmp.1234").
std::vector<std::string> temporaries(const std::string& dir) {
  std::vector<std::string> t;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string f = e.path().filename().string();
    if (f.find(".tmp.") != std::string::npos) t.push_back(f);
  }
  return t;
}

// A sweep of 81.9M points (minutes), keeping a few rows per mille: signals land mid-sweep.
const V kBigSweep = {"sweep",     "--kv-heads",         "1,2,4,8",      "--cla",       "1..8",      "--batch", "1..20000",
                     "--context", "1024..131072:+1024", "--constraint", "batch <= 32", "--threads", "2",       "-q"};
// ~0.3M points, every one written: enough rows that writes happen while the workers run.
const V kMidSweep = {"sweep", "--kv-heads", "1,2,4,8", "--cla", "1..8", "--batch", "1..10000", "--format", "csv", "-q"};

// One kvbench file with one benchmark's key replaced (JSON pointer-like: family, key path).
std::string patched_kvbench(const std::string& dir, const std::string& family, const std::string& key,
                            const boost::json::value& v, const std::string& source = "kvbench-full-2026-11-23.json") {
  boost::json::value root = boost::json::parse(slurp(std::string(KVSCOPE_SOURCE_DIR) + "/data/calibration/h100-sxm/" + source));
  for (auto& b : root.at("benchmarks").as_array()) {
    if (b.at("family").as_string() != family) continue;
    if (key.rfind("axes.", 0) == 0)
      b.at("axes").as_object()[key.substr(5)] = v;
    else
      b.as_object()[key] = v;
    break;
  }
  const std::string path = dir + "/" + family + "-" + key + ".json";
  spit(path, boost::json::serialize(root));
  return path;
}

}  // namespace

// ---- 1. Exceptions while sweep threads run: a clean error, never SIGABRT ---------------------------

TEST_CASE("reliability 1: write errors while sweep threads run exit 2 with one line, never abort", "[cli][reliability]") {
  const std::string dir = temp_dir();
  fs::create_symlink("/dev/full", dir + "/full");
  SECTION("-o on a full device (a symlink to /dev/full)") {
    const CliResult r = run_kvscope_spec({with(kMidSweep, {"-o", dir + "/full"})});
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Catch::Contains("cannot write '" + dir + "/full': No space left on device"));
    CHECK(fs::is_symlink(dir + "/full"));
  }
  SECTION("stdout on /dev/full") {
    RunSpec s{kMidSweep};
    s.stdout_path = "/dev/full";
    const CliResult r = run_kvscope_spec(s);
    CHECK(r.status == 2);
    CHECK(r.err == "kvscope: cannot write to stdout: No space left on device\n");
  }
  SECTION("stdout a pipe whose reader is gone, SIGPIPE ignored") {
    RunSpec s{kMidSweep};
    s.stdout_broken_pipe = true;
    s.ignore_sigpipe = true;
    const CliResult r = run_kvscope_spec(s);
    CHECK(r.status == 2);
    CHECK(r.err == "kvscope: cannot write to stdout: Broken pipe\n");
  }
  SECTION("the same pipe with SIGPIPE at its default: the process dies of SIGPIPE, as `| head` expects") {
    RunSpec s{kMidSweep};
    s.stdout_broken_pipe = true;
    const CliResult r = run_kvscope_spec(s);
    CHECK(r.status == 128 + SIGPIPE);
  }
  fs::remove_all(dir);
}

TEST_CASE("reliability 1: --threads is capped with a message, and thread counts above the cores work", "[cli][reliability]") {
  const unsigned cap = 4 * std::max(1u, std::thread::hardware_concurrency());
  for (const V& cmd : {V{"sweep"}, V{"pareto", "--kv-heads", "1,8", "--objectives", "kv_bytes_per_token:min,val_ppl:min"},
                       V{"explore", "--out-dir", temp_dir()}}) {
    INFO(cmd[0]);
    const CliResult r = run_kvscope(with(cmd, {"--threads", std::to_string(cap + 1)}));
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Catch::Contains("--threads: expected 0 (all cores) or 1..") && Catch::Contains("hardware threads"));
    CHECK_THAT(r.err, Catch::Contains("found " + std::to_string(cap + 1)));
  }
  const CliResult ok =
      run_kvscope({"sweep", "--kv-heads", "1,2,4,8", "--batch", "1..64", "--threads", std::to_string(cap), "-q"});
  CHECK(ok.status == 0);
}

TEST_CASE("reliability 1: running out of memory is a clean error (exit 2), not an abort", "[cli][reliability]") {
  if (kSanitized) {
    WARN("skipped: address-space limits do not work under the sanitizers' runtimes");
    return;
  }
  // 1.4 GiB of address space (set by the shell, for the child only): a million-point frontier
  // (every batch value is on the batch vs. TPOT front; most do not fit, so --include-infeasible)
  // is re-evaluated and formatted in memory.
  const std::string dir = temp_dir();
  const std::string cmd =
      "ulimit -v 1500000; exec '" + std::string(KVSCOPE_CLI_PATH) +
      "' pareto --batch 1..1000000 --objectives batch:max,tpot_s:min --max-frontier 10000000 --include-infeasible -q "
      "--format csv >/dev/null 2>'" +
      dir + "/err'";
  const int raw = std::system(cmd.c_str());
  const int status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  const std::string err = slurp(dir + "/err");
  INFO(err);
  CHECK(status == 2);
  CHECK_THAT(err, Catch::StartsWith("kvscope: out of memory"));
  fs::remove_all(dir);
}

// ---- 2. What -o replaces -----------------------------------------------------------------------

TEST_CASE("reliability 2: -o writes FIFOs and devices in place, follows symlinks, keeps the mode", "[cli][reliability]") {
  const std::string dir = temp_dir();
  SECTION("a FIFO stays a FIFO and its reader gets the result") {
    const std::string fifo = dir + "/fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
    // The reader opens read-write so that it never blocks and the writer always finds it.
    const int rd = ::open(fifo.c_str(), O_RDWR | O_NONBLOCK);
    REQUIRE(rd >= 0);
    const CliResult r = run_kvscope({"eval", "--format", "json", "-o", fifo});
    CHECK(r.status == 0);
    std::string got(1 << 16, '\0');
    const ssize_t n = ::read(rd, got.data(), got.size());
    ::close(rd);
    REQUIRE(n > 0);
    got.resize(static_cast<std::size_t>(n));
    CHECK_NOTHROW(boost::json::parse(got));
    struct stat st {};
    REQUIRE(::lstat(fifo.c_str(), &st) == 0);
    CHECK(S_ISFIFO(st.st_mode));
  }
  SECTION("a symlink to /dev/null stays a link and /dev/null a character device") {
    const std::string link = dir + "/null";
    fs::create_symlink("/dev/null", link);
    for (const V& cmd :
         {V{"eval", "-o", link}, V{"sweep", "--batch", "1..8", "--format", "csv", "-o", link}, V{"paper", "-o", link}}) {
      INFO(cmd[0]);
      const CliResult r = run_kvscope(cmd);
      CHECK(r.status == 0);
      CHECK(fs::is_symlink(link));
      CHECK(fs::is_character_file("/dev/null"));
    }
  }
  SECTION("a symlink to a file: the file is replaced, the link stays, the mode is kept") {
    const std::string target = dir + "/real.json", link = dir + "/link.json";
    spit(target, "old\n");
    ::chmod(target.c_str(), 0600);
    fs::create_symlink("real.json", link);
    const CliResult r = run_kvscope({"eval", "--format", "json", "-o", link});
    REQUIRE(r.status == 0);
    CHECK(fs::is_symlink(link));
    CHECK_NOTHROW(boost::json::parse(slurp(target)));
    struct stat st {};
    REQUIRE(::stat(target.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    CHECK(temporaries(dir).empty());
  }
  SECTION("a dangling symlink: its target is created") {
    const std::string link = dir + "/dangling.csv";
    fs::create_symlink("made.csv", link);
    const CliResult r = run_kvscope({"eval", "--format", "csv", "-o", link});
    REQUIRE(r.status == 0);
    CHECK(fs::is_symlink(link));
    CHECK(fs::is_regular_file(dir + "/made.csv"));
  }
  SECTION("a 0640 regular file keeps its mode when replaced; a directory is refused") {
    const std::string f = dir + "/keep.txt";
    spit(f, "old\n");
    ::chmod(f.c_str(), 0640);
    REQUIRE(run_kvscope({"eval", "-o", f}).status == 0);
    struct stat st {};
    REQUIRE(::stat(f.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0640);
    const CliResult d = run_kvscope({"eval", "-o", dir});
    CHECK(d.status == 2);
    CHECK_THAT(d.err, Catch::Contains("is a directory"));
  }
  fs::remove_all(dir);
}

// ---- 3. Temporaries: exclusive, unpredictable, removed on every exit path -------------------------

TEST_CASE("reliability 3: a symlink planted at the old temporary name is not followed", "[cli][reliability]") {
  const std::string dir = temp_dir();
  const std::string victim = dir + "/victim.txt", out = dir + "/out.csv";
  spit(victim, "precious\n");
  RunSpec s{{"sweep", "--batch", "1..64", "--format", "csv", "-q", "-o", out}};
  // The old name was "<out>.tmp.<pid>": plant it for the child's pid before it starts.
  s.before_start = [&](pid_t pid) { fs::create_symlink(victim, out + ".tmp." + std::to_string(pid)); };
  const CliResult r = run_kvscope_spec(s);
  CHECK(r.status == 0);
  CHECK(slurp(victim) == "precious\n");
  CHECK_THAT(slurp(out), Catch::StartsWith("# kvscope"));
  fs::remove_all(dir);
}

TEST_CASE("reliability 3: SIGTERM and SIGHUP during a streaming sweep leave no temporary", "[cli][reliability]") {
  for (const int sig : {SIGTERM, SIGHUP, SIGINT}) {
    for (const char* format : {"csv", "json"}) {
      INFO("signal " << sig << ", " << format);
      const std::string dir = temp_dir();
      const std::string out = dir + "/sweep." + format;
      spit(out, "previous\n");
      RunSpec s{with(kBigSweep, {"--format", format, "-o", out})};
      s.signal = sig;
      s.delay_ms = 700;
      s.timeout_s = 60;
      const CliResult r = run_kvscope_spec(s);
      INFO(r.err);
      CHECK(r.status == 128 + sig);
      CHECK(temporaries(dir).empty());
      const std::string text = slurp(out);
      if (text != "previous\n") {
        // A partial file says so.
        if (std::string(format) == "csv") {
          CHECK_THAT(text, Catch::Contains("# partial: "));
        } else {
          CHECK(boost::json::parse(text).at("counts").at("partial").as_bool());
        }
      }
      fs::remove_all(dir);
    }
  }
}

TEST_CASE("reliability 3: a second signal stops at once and still removes the temporary", "[cli][reliability]") {
  const std::string dir = temp_dir();
  const std::string fifo = dir + "/fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
  // A FIFO nobody reads: kvscope blocks in open(); SIGTERM ends the wait.
  RunSpec s{{"eval", "-o", fifo}};
  s.signal = SIGTERM;
  s.delay_ms = 500;
  s.timeout_s = 30;
  const CliResult r = run_kvscope_spec(s);
  CHECK(r.status == 128 + SIGTERM);
  CHECK(temporaries(dir).empty());
  fs::remove_all(dir);
}

// ---- 4. Write errors are reported ------------------------------------------------------------------

TEST_CASE("reliability 4: every command reports a failed write to stdout or -o and exits 2", "[cli][reliability]") {
  const std::string dir = temp_dir();
  const std::string full = dir + "/full";
  fs::create_symlink("/dev/full", full);
  const std::string kv = std::string(KVSCOPE_SOURCE_DIR) + "/data/calibration/h100-sxm/kvbench-full-2026-11-23.json";
  const std::vector<V> to_stdout = {{"eval"},
                                    {"eval", "--format", "json"},
                                    {"sweep", "--batch", "1..8"},
                                    {"pareto", "--kv-heads", "1,8", "--objectives", "kv_bytes_per_token:min,val_ppl:min"},
                                    {"models"},
                                    {"gpus"},
                                    {"stacks"},
                                    {"paper"},
                                    {"validate", kv, "--gpu", "h100-sxm"},
                                    {"--help"},
                                    {"--version"}};
  for (const V& cmd : to_stdout) {
    INFO(cmd[0]);
    RunSpec s{cmd};
    s.stdout_path = "/dev/full";
    const CliResult r = run_kvscope_spec(s);
    CHECK(r.status == 2);
    CHECK(r.err == "kvscope: cannot write to stdout: No space left on device\n");
  }
  for (const V& cmd : {V{"eval", "-o", full}, V{"paper", "-o", full}, V{"sweep", "--batch", "1..8", "-o", full},
                       V{"pareto", "--kv-heads", "1,8", "--objectives", "kv_bytes_per_token:min,val_ppl:min", "-o", full}}) {
    INFO(cmd[0]);
    const CliResult r = run_kvscope(cmd);
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Catch::Contains("No space left on device"));
  }
  fs::remove_all(dir);
}

TEST_CASE("reliability 4: a plot that cannot be written whole keeps the previous file", "[cli][reliability]") {
  const std::string dir = temp_dir();
  const std::string good = dir + "/frontier.svg";
  spit(good, "<svg>previous good plot</svg>\n");
  const V pareto = {"pareto", "--kv-heads", "1,2,4,8", "--cla", "1..4", "--objectives", "kv_bytes_per_token:min,ppl_delta:min"};
  SECTION("to a full device") {
    fs::create_symlink("/dev/full", dir + "/full.svg");
    const CliResult r = run_kvscope(with(pareto, {"--plot", dir + "/full.svg"}));
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Catch::Contains("No space left on device"));
  }
  SECTION("on a file system that fills up (RLIMIT_FSIZE, SIGXFSZ ignored)") {
    if (kSanitized) {
      WARN("skipped under the sanitizers: their runtimes write files of their own under the limit");
      return;
    }
    RunSpec s{with(pareto, {"--plot", good})};
    s.fsize_limit_B = 4096;  // an SVG is ~100 kB
    const CliResult r = run_kvscope_spec(s);
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Catch::Contains("File too large"));
    CHECK(slurp(good) == "<svg>previous good plot</svg>\n");
    CHECK(temporaries(dir).empty());
  }
  fs::remove_all(dir);
}

// ---- 5. Degenerate harness input -------------------------------------------------------------------

TEST_CASE("reliability 5: calibrate range-checks every field the fit reads", "[cli][reliability]") {
  const std::string dir = temp_dir();
  struct Row {
    const char* family;
    const char* key;
    boost::json::value value;
    const char* message;
  };
  const std::vector<Row> rows = {
      {"launch", "axes.kernels", 0, "axes.kernels': expected a whole number in [1, 1e+12], found 0"},
      // an op run as a graph memcpy node lists no kernel: 0 is a count, -1 and 0.5 are not
      {"launch", "axes.kernels_per_op", -1, "axes.kernels_per_op': expected a whole number in [0, 1e+12], found -1"},
      {"launch", "axes.kernels_per_op", 0.5, "axes.kernels_per_op': expected a whole number in [0, 1e+12], found 0.5"},
      {"memory", "axes.footprint_B", -4096, "axes.footprint_B': expected a positive number"},
      {"gemm", "axes.M", 0.5, "axes.M': expected a whole number in [1, 1e+12], found 0.5"},
      {"gemm", "median_s", 1e-310, "median_s': expected a time in seconds in [1e-09, 86400]"},
      {"attention", "median_s", 1e-12, "median_s': expected a time in seconds in [1e-09, 86400]"},
      {"memory", "bytes_read_B", -1, "bytes_read_B': expected a number in [0, 1e+18], found -1"},
      {"attention", "verified", "false", "verified': expected true or false, found \"false\""},
  };
  for (const Row& row : rows) {
    INFO(row.family << " " << row.key);
    const std::string path = patched_kvbench(dir, row.family, row.key, row.value);
    const std::string out = dir + "/profile.json";
    const CliResult r = run_kvscope({"calibrate", path, "--gpu", "h100-sxm", "-o", out});
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Catch::Contains(row.message));
    CHECK_FALSE(fs::exists(out));
  }
  fs::remove_all(dir);
}

TEST_CASE("reliability 5: validate rejects wrong-typed producer maps and flags, gates need positive finite limits",
          "[cli][reliability]") {
  const std::string dir = temp_dir();
  const std::string kv = std::string(KVSCOPE_SOURCE_DIR) + "/data/calibration/h100-sxm/kvbench-full-2026-11-23.json";
  struct Row {
    const char* key;
    boost::json::value value;
    const char* message;
  };
  const std::vector<Row> rows = {
      {"axes.kv_producers", "0,0,2,2", "axes.kv_producers': expected an array of layer indices, found \"0,0,2,2\""},
      {"axes.kv_producers", 7, "axes.kv_producers': expected an array of layer indices, found 7"},
      {"verified", "false", "verified': expected true or false, found \"false\""},
      {"verified", 0, "verified': expected true or false, found 0"},
      {"axes.tied_embeddings", "yes", "axes.tied_embeddings': expected true or false"},
  };
  for (const Row& row : rows) {
    INFO(row.key);
    const CliResult r = run_kvscope({"validate", patched_kvbench(dir, "decode_step", row.key, row.value), "--gpu", "h100-sxm"});
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Catch::Contains(row.message));
  }
  for (const char* bad : {"nan", "-1", "", "inf", "0", "1e999", "5%"}) {
    INFO("--max-mape '" << bad << "'");
    const CliResult r = run_kvscope({"validate", kv, "--gpu", "h100-sxm", "--max-mape", bad});
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Catch::Contains("expected a positive finite percentage"));
    CHECK(run_kvscope({"validate", kv, "--gpu", "h100-sxm", "--max-worst", bad}).status == 2);
  }
  fs::remove_all(dir);
}

// ---- 6. Unbounded work -----------------------------------------------------------------------------

TEST_CASE("reliability 6: a design space past --max-points is refused before any work", "[cli][reliability]") {
  const std::string dir = temp_dir();
  const CliResult r = run_kvscope({"sweep", "--kv-heads", "1..8", "--batch", "1..1000000", "--context", "1..10000000:+1",
                                   "--format", "csv", "-o", dir + "/out.csv"});
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Catch::Contains("expected at most 1000000000 points (raise the limit with --max-points N), found a design "
                                    "space of 80000000000000 points"));
  CHECK_FALSE(fs::exists(dir + "/out.csv"));
  // The limit can be lowered (and raised); explore has its own.
  CHECK(run_kvscope({"sweep", "--batch", "1..100", "--max-points", "99"}).status == 2);
  CHECK(run_kvscope({"sweep", "--batch", "1..100", "--max-points", "100", "-q"}).status == 0);
  const CliResult e = run_kvscope({"explore", "--batch", "1..1000000", "--out-dir", dir});
  CHECK(e.status == 2);
  CHECK_THAT(e.err, Catch::Contains("explore: expected at most 2000000 points"));
  // A large accepted sweep says its size first.
  RunSpec big{{"sweep", "--kv-heads", "1,2,4,8", "--cla", "1..8", "--batch", "1..20000", "--context", "1024..131072:+1024",
               "--format", "csv", "-o", dir + "/big.csv"}};
  big.signal = SIGINT;
  big.delay_ms = 300;
  const CliResult b = run_kvscope_spec(big);
  CHECK_THAT(b.err, Catch::Contains("kvscope: sweep: 81920000 points, output up to"));
  fs::remove_all(dir);
}

TEST_CASE("reliability 6: a frontier past --max-frontier is an error, and plots sample what they draw", "[cli][reliability]") {
  const std::string dir = temp_dir();
  // A larger batch always takes longer: every batch value is on the frontier (those past the
  // pool's 54 too, with --include-infeasible).
  const V front = {"pareto", "--batch", "1..3000", "--objectives", "batch:max,tpot_s:min", "--include-infeasible", "-q"};
  const CliResult r = run_kvscope(with(front, {"--max-frontier", "1000"}));
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Catch::Contains("expected a Pareto frontier of at most 1000 points (raise the limit: --max-frontier)"));
  const CliResult p = run_kvscope(with(front, {"--format", "csv", "-o", dir + "/f.csv", "--plot", dir + "/f.svg"}));
  REQUIRE(p.status == 0);
  CHECK_THAT(p.err, Catch::Contains("sampled: ") && Catch::Contains("labelled 40 of"));
  CHECK_THAT(slurp(dir + "/f.svg"), Catch::Contains("sampled: "));
  fs::remove_all(dir);
}

TEST_CASE("reliability 6: SIGINT in every phase exits 130 promptly and marks what it wrote", "[cli][reliability]") {
  const std::string dir = temp_dir();
  SECTION("set-up: 1.6M architectures to build") {
    RunSpec s{{"sweep", "--kv-heads", "1..64", "--cla", "1..50", "--layers", "1..500", "--threads", "2", "-q", "--format", "csv",
               "-o", dir + "/setup.csv"}};
    s.signal = SIGINT;
    s.delay_ms = 1000;
    s.timeout_s = 15;  // set-up alone takes far longer: only a set-up that polls the flag stops in time
    const CliResult r = run_kvscope_spec(s);
    INFO(r.err);
    CHECK(r.status == 130);
    CHECK(temporaries(dir).empty());
    if (fs::exists(dir + "/setup.csv")) CHECK_THAT(slurp(dir + "/setup.csv"), Catch::Contains("# partial: 0 of"));
  }
  SECTION("explore") {
    // Ten times the work a quiet machine finishes in 1.5 s, one thread: the signal lands mid-sweep however fast the machine is.
    RunSpec s{{"explore", "--batch", "1..1000000", "--max-points", "100000000", "--threads", "1", "--out-dir", dir}};
    s.signal = SIGINT;
    s.delay_ms = 1500;
    s.timeout_s = 30;
    const CliResult r = run_kvscope_spec(s);
    INFO(r.err);
    CHECK(r.status == 130);
    CHECK(temporaries(dir).empty());
    if (fs::exists(dir + "/explore.json")) {
      const auto j = boost::json::parse(slurp(dir + "/explore.json"));
      CHECK(j.at("partial").as_bool());
      CHECK_THAT(slurp(dir + "/explore.txt"), Catch::Contains("PARTIAL: interrupted during"));
    }
  }
  fs::remove_all(dir);
}

// ---- 7. Output hygiene -----------------------------------------------------------------------------

TEST_CASE("reliability 7: control characters from input never reach the terminal or a CSV comment raw", "[cli][reliability]") {
  const std::string dir = temp_dir();
  boost::json::value m = boost::json::parse(slurp(std::string(KVSCOPE_SOURCE_DIR) + "/data/models/llama-3-8b.json"));
  m.as_object()["name"] = "evil\x1b[31m red\nnext line\xc2\x9b";  // ESC, newline, U+009B (CSI)
  m.as_object()["id"] = "evil-id";
  // The folder name carries a newline and an escape: it reaches the command line recorded in
  // every output's provenance.
  const std::string sub = dir + "/a\nb\x1b[2J";
  fs::create_directories(sub);
  const std::string model = sub + "/model.json";
  spit(model, boost::json::serialize(m));
  for (const V& cmd : {V{"eval", "--model", model}, V{"sweep", "--model", model, "--batch", "1..4", "--format", "csv"},
                       V{"pareto", "--model", model, "--kv-heads", "1,8", "--objectives", "kv_bytes_per_token:min,val_ppl:min",
                         "--format", "csv"}}) {
    INFO(cmd[0]);
    const CliResult r = run_kvscope(cmd);
    REQUIRE(r.status == 0);
    CHECK(r.out.find('\x1b') == std::string::npos);
    CHECK(r.out.find("\xc2\x9b") == std::string::npos);
    CHECK(r.out.find("red\nnext") == std::string::npos);
    if (cmd[0] != "eval") {
      // Every line is a "# ..." comment or a CSV record: the newline in the path stayed escaped.
      std::string body;
      std::istringstream in(r.out);
      for (std::string l; std::getline(in, l);) {
        if (l.rfind("#", 0) != 0) body += l + "\n";
      }
      CHECK_NOTHROW(kvscope::parse_csv(body, "out"));
      CHECK_THAT(r.out, Catch::Contains("a\\nb\\x1b[2J"));
    }
  }
  const CliResult e = run_kvscope({"eval", "--model", "\x1b]0;owned\x07x"});
  CHECK(e.status == 2);
  CHECK(e.err.find('\x1b') == std::string::npos);
  CHECK(e.err.find('\x07') == std::string::npos);
  CHECK(std::count(e.err.begin(), e.err.end(), '\n') == 1);
  fs::remove_all(dir);
}

TEST_CASE("reliability 7: names and strings in loaded files are bounded", "[cli][reliability]") {
  const std::string dir = temp_dir();
  boost::json::value m = boost::json::parse(slurp(std::string(KVSCOPE_SOURCE_DIR) + "/data/models/llama-3-8b.json"));
  m.as_object()["name"] = std::string(100000, 'x');
  spit(dir + "/long.json", boost::json::serialize(m));
  const CliResult r = run_kvscope({"eval", "--model", dir + "/long.json"});
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Catch::Contains("'name': expected a non-empty string of at most 256 bytes, found a string of 100000 bytes"));
  CHECK(r.err.size() < 600);
  // An argument that long is quoted elided.
  const CliResult a = run_kvscope({"eval", "--model", std::string(100000, 'y')});
  CHECK(a.status == 2);
  CHECK(a.err.size() < 2500);
  CHECK_THAT(a.err, Catch::Contains("more)…"));
  fs::remove_all(dir);
}

// ---- 8. Small contract breaks ----------------------------------------------------------------------

TEST_CASE("reliability 8: small contract breaks", "[cli][reliability]") {
  const std::string dir = temp_dir();
  SECTION("--head-dim alone must divide d_model") {
    const CliResult r = run_kvscope({"eval", "--head-dim", "96"});
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Catch::Contains("expected a divisor of d_model (4096) when --q-heads is not given, found 96"));
    CHECK(run_kvscope({"eval", "--head-dim", "96", "--q-heads", "32", "--kv-heads", "8"}).status == 0);
    CHECK(run_kvscope({"eval", "--head-dim", "64"}).status == 0);
  }
  SECTION("calibrate -o X --format bad writes nothing") {
    const std::string kv = std::string(KVSCOPE_SOURCE_DIR) + "/data/calibration/h100-sxm/kvbench-full-2026-11-23.json";
    const CliResult r = run_kvscope({"calibrate", kv, "--gpu", "h100-sxm", "-o", dir + "/x.json", "--format", "bad"});
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Catch::Contains("--format"));
    CHECK_FALSE(fs::exists(dir + "/x.json"));
  }
  SECTION("an unwritable -o or --plot is found before any work") {
    // 64M points: minutes of work if it started before looking at its outputs.
    const V big = {"pareto", "--kv-heads", "1..64", "--batch", "1..1000000", "--objectives", "batch:max,tpot_s:min", "-q"};
    for (const V& out : {V{"-o", dir + "/no/such/f.csv"}, V{"--plot", dir + "/no/such/f.svg"}, V{"-o", dir}}) {
      INFO(out[1]);
      RunSpec s{with(big, out)};
      s.timeout_s = 30;
      const CliResult r = run_kvscope_spec(s);
      CHECK(r.status == 2);
      CHECK_THAT(r.err, Catch::StartsWith("kvscope: cannot write '" + out[1] + "'"));
    }
  }
  SECTION("pareto -o F --plot F is refused before the sweep") {
    const std::string f = dir + "/same.svg";
    spit(f, "previous\n");
    fs::create_symlink("same.svg", dir + "/alias.svg");
    for (const std::string& plot : {f, dir + "/alias.svg", dir + "/./same.svg"}) {
      const CliResult r = run_kvscope(
          {"pareto", "--kv-heads", "1,8", "--objectives", "kv_bytes_per_token:min,val_ppl:min", "-o", f, "--plot", plot});
      CHECK(r.status == 2);
      CHECK_THAT(r.err, Catch::Contains("--plot: expected a file other than the one -o writes"));
      CHECK(slurp(f) == "previous\n");
    }
    const CliResult ext = run_kvscope(
        {"pareto", "--kv-heads", "1,8", "--objectives", "kv_bytes_per_token:min,val_ppl:min", "--plot", dir + "/plot.jpg"});
    CHECK(ext.status == 2);
    CHECK_THAT(ext.err, Catch::Contains("--plot: expected a file name ending in .svg or .png"));
  }
  SECTION("explore where nothing fits writes all five files and exits 0") {
    const CliResult r = run_kvscope({"explore", "--model", "llama-3-70b", "--gpu", "l4", "--out-dir", dir + "/ex"});
    INFO(r.err);
    CHECK(r.status == 0);
    for (const char* f : {"explore-memory-quality.svg", "explore-throughput-latency.svg", "explore-throughput-vs-batch.svg",
                          "explore.json", "explore.txt"}) {
      CHECK(fs::exists(dir + "/ex/" + f));
    }
    CHECK_THAT(r.out, Catch::Contains("no (sharing choice, batch) fits in memory"));
  }
  SECTION("--out-dir errors are input/IO errors (exit 2), not internal errors") {
    spit(dir + "/file", "x");
    for (const std::string& bad : {dir + "/file", dir + "/file/sub", std::string("")}) {
      const CliResult r = run_kvscope({"explore", "--out-dir", bad});
      CHECK(r.status == 2);
      CHECK_THAT(r.err, Catch::StartsWith("kvscope: --out-dir"));
    }
  }
  fs::remove_all(dir);
}
