// `kvscope explore` (cli/cmd_explore.cpp) through the real binary: it takes the design, output
// and run flags eval / sweep / pareto take (design_flags.hpp), and they act on both of its sweeps.
#include <algorithm>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli_runner.hpp"

namespace bj = boost::json;
using V = std::vector<std::string>;

namespace {

// Every long flag a --help text lists.
std::set<std::string> help_flags(const std::string& help) {
  std::set<std::string> out;
  const std::regex flag("(^|[ ,])(--[a-z][a-z0-9-]*)");
  for (auto it = std::sregex_iterator(help.begin(), help.end(), flag); it != std::sregex_iterator(); ++it) out.insert((*it)[2]);
  return out;
}

// A small explore: two K/V-head counts, CLA 1-2, two batches.
const V kSmall = {"explore", "--kv-heads", "1,8", "--cla", "1,2", "--batch", "1,8", "-q"};

}  // namespace

TEST_CASE("explore lists every flag eval and sweep take (one definition: design_flags.hpp)", "[cli][explore]") {
  const CliResult e = run_kvscope({"eval", "--help"});
  const CliResult s = run_kvscope({"sweep", "--help"});
  const CliResult x = run_kvscope({"explore", "--help"});
  REQUIRE(e.status == 0);
  REQUIRE(x.status == 0);
  const std::set<std::string> explore = help_flags(x.out);
  std::set<std::string> wanted = help_flags(e.out);
  for (const std::string& f : help_flags(s.out)) wanted.insert(f);
  // What explore has no use for: eval's per-layer table, sweep's table length and its one plot
  // (explore draws its three into --out-dir).
  for (const char* f : {"--per-layer", "--rows", "--plot", "--plot-x", "--plot-y", "--help"}) wanted.erase(f);
  REQUIRE(wanted.size() > 30);
  for (const std::string& f : wanted) {
    INFO(f);
    CHECK(explore.count(f) == 1);
  }
  CHECK_THAT(x.out, Catch::Contains("explore's defaults where a flag is not given"));
}

TEST_CASE("explore's design flags act on both sweeps", "[cli][explore]") {
  struct Row {
    V flags;
    const char* key;    // a point-record key of memory_vs_quality and the frontier
    std::string value;  // what every record holds there (a number as text)
  };
  const Row rows[] = {
      {{"--tp", "2"}, "tp", "2"},
      {{"--kv-dtype", "fp8"}, "kv_dtype", "fp8"},
      {{"--weight-dtype", "fp8"}, "weight_dtype", "fp8"},
      {{"--stack", "kvbench"}, "stack", "kvbench"},
      {{"--context", "16k"}, "context", "16384"},
      {{"--gpu", "h200"}, "gpu", "h200"},
      {{"--runtime", "eager"}, "runtime", "eager"},
      {{"--model", "llama-3.2-1b"}, "model", "llama-3.2-1b"},
  };
  for (const Row& row : rows) {
    const std::string dir = temp_dir();
    const CliResult r =
        run_kvscope(with(kSmall, with(row.flags, {"--out-dir", dir, "--format", "json", "-o", dir + "/stdout.json"})));
    INFO(row.flags[0] << " " << row.flags[1] << "\n" << r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out.empty());  // -o took what stdout would have got
    const std::string json = slurp(dir + "/explore.json");
    const bj::value j = bj::parse(json);
    CHECK(bj::parse(slurp(dir + "/stdout.json")) == j);
    std::size_t seen = 0;
    std::set<double> kv_heads;
    for (const char* part : {"memory_vs_quality", "throughput_vs_latency_frontier"}) {
      for (const bj::value& p : j.at(part).as_array()) {
        const bj::value& v = p.at(row.key);
        const std::string text = v.is_string() ? std::string(v.as_string()) : bj::serialize(v);
        CHECK(text == row.value);
        kv_heads.insert(p.at("n_kv_heads").to_number<double>());
        ++seen;
      }
    }
    CHECK(seen > 4);
    CHECK(kv_heads == std::set<double>{1, 8});  // --kv-heads replaced explore's default axis
    std::filesystem::remove_all(dir);
  }
  // The throughput sweep runs over the given batches only.
  const std::string dir = temp_dir();
  REQUIRE(run_kvscope(with(kSmall, {"--out-dir", dir})).status == 0);
  const bj::value j = bj::parse(slurp(dir + "/explore.json"));
  REQUIRE(!j.at("throughput_vs_latency_frontier").as_array().empty());
  for (const bj::value& p : j.at("throughput_vs_latency_frontier").as_array()) {
    const double b = p.at("batch").to_number<double>();
    CHECK((b == 1 || b == 8));
  }
  // -o takes the report in table format.
  const CliResult t = run_kvscope(with(kSmall, {"--out-dir", dir, "-o", dir + "/report.txt"}));
  REQUIRE(t.status == 0);
  CHECK_THAT(slurp(dir + "/report.txt"),
             Catch::StartsWith("kvscope explore: ") && Catch::Contains("K/V heads {1,8} x CLA factor {1,2}"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("explore flag errors exit 2 naming the flag", "[cli][explore]") {
  const std::string dir = temp_dir();
  struct Row {
    V flags;
    const char* message;
  };
  const Row rows[] = {
      {{"--model", "llama-3-8b,llama-3.2-1b"},
       "kvscope: --model: expected one value for explore (sweep and pareto take lists), found 'llama-3-8b,llama-3.2-1b'"},
      {{"--gpu", "h100-sxm,h200"}, "kvscope: --gpu: expected one value for explore"},
      {{"--format", "csv"}, "kvscope: --format: expected table or json for explore"},
      {{"--format", "xml"}, "kvscope: --format: expected table, json or csv, found 'xml'"},
      {{"--batch", "0"}, "kvscope: --batch: expected integers in 1..1000000, found 0 in '0'"},
      {{"--tp", "0"}, "kvscope: --tp: expected integers in 1..1024"},
      {{"--kv-dtype", "fp4"}, "'fp4'"},
      {{"-o", dir + "/explore.json"}, "kvscope: -o: expected a file other than those --out-dir holds"},
      {{"--constraint", "nosuch > 1"}, "expected a known output field"},
  };
  for (const Row& row : rows) {
    const CliResult r = run_kvscope(with({"explore", "-q"}, with(row.flags, {"--out-dir", dir})));
    INFO(row.flags[0] << " " << row.flags[1]);
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Catch::Contains(row.message));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
  std::filesystem::remove_all(dir);
}
