// `kvscope simulate` through the real binary: output keys and formats, traces, goodput, plots, and
// bad input (exit 2, one line naming the flag or the trace line).
#include <algorithm>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli_runner.hpp"
#include "kvscope/core/csv.hpp"

namespace bj = boost::json;
namespace fs = std::filesystem;

namespace {
double num(const bj::value& v, const char* key) {
  const auto& x = v.at(key);
  return x.is_int64() ? double(x.get_int64()) : x.is_uint64() ? double(x.get_uint64()) : x.get_double();
}
std::string write(const std::string& name, const std::string& content) {
  const std::string path = temp_dir() + "/" + name;
  std::ofstream(path) << content;
  return path;
}
}  // namespace

TEST_CASE("simulate: JSON keys, provenance and the engine", "[cli][simulate]") {
  const CliResult r = run_kvscope(
      {"simulate", "--rate", "3", "--requests", "100", "--isl", "uniform:500..1500", "--osl", "64", "--format", "json"});
  INFO(r.err);
  REQUIRE(r.status == 0);
  const bj::value j = bj::parse(r.out);
  for (const char* key : {"ttft_s", "tpot_s", "e2e_s"}) {
    INFO(key);
    const auto& o = j.at(key).as_object();
    CHECK(o.size() == 4);
    for (const char* stat : {"mean", "p50", "p90", "p99"}) CHECK(num(o, stat) > 0);
    CHECK(num(o, "p50") <= num(o, "p90"));
    CHECK(num(o, "p90") <= num(o, "p99"));
  }
  CHECK(num(j, "throughput_tokens_per_s") == Approx(num(j, "request_throughput_per_s") * 64).epsilon(1e-9));
  CHECK(num(j, "mean_running_requests") > 0);
  CHECK(num(j, "max_running_requests") >= 1);
  CHECK(num(j, "mean_kv_block_utilization") > 0);
  CHECK(num(j, "max_kv_block_utilization") <= 1);
  CHECK(num(j, "preemptions") == 0);
  CHECK(num(j, "completed_requests") == 100);
  CHECK(j.at("provenance").at("tool").as_string() == "kvscope");
  CHECK(std::string(j.at("provenance").at("command").as_string().c_str()).find("--rate 3") != std::string::npos);
  CHECK(j.at("load").at("mode").as_string() == "poisson");
  CHECK(j.at("load").at("isl").as_string() == "uniform:500..1500");
  CHECK(num(j.at("kv_pool"), "blocks") > 0);
  CHECK(num(j.at("scheduler"), "max_num_batched_tokens") == 8192);
  CHECK(j.at("stack").as_string() == "torch-flash");
}

TEST_CASE("simulate: table and CSV formats, design flags as in eval", "[cli][simulate]") {
  const CliResult t =
      run_kvscope({"simulate", "--kv-heads", "1", "--cla", "2", "--gpu", "h200", "--concurrency", "8", "--requests", "40"});
  INFO(t.err);
  REQUIRE(t.status == 0);
  CHECK_THAT(t.out, Catch::Contains("H128-MQA-CLA2"));
  CHECK_THAT(t.out, Catch::Contains("closed loop, 8 clients"));
  CHECK_THAT(t.out, Catch::Contains("TTFT mean / p50 / p90 / p99"));
  CHECK_THAT(t.out, Catch::Contains("Maximum concurrency"));
  const CliResult c = run_kvscope({"simulate", "--rate", "1", "--requests", "20", "--format", "csv"});
  REQUIRE(c.status == 0);
  const kvscope::CsvTable csv = kvscope::parse_csv(c.out, "out");
  REQUIRE(csv.rows.size() == 1);
  CHECK(std::stod(csv.rows[0][csv.column("ttft_s_p90", "out")]) > 0);
  CHECK(std::stod(csv.rows[0][csv.column("completed_requests", "out")]) == 20);
}

TEST_CASE("simulate: traces in CSV and JSON lines; impossible requests are reported, not fatal", "[cli][simulate]") {
  const std::string csv = write("t.csv", "arrival_s,input_tokens,output_tokens\n0,1000,20\n0.5,90000000,5\n1.0,2000,30\n");
  const CliResult r = run_kvscope({"simulate", "--trace", csv, "--format", "json"});
  INFO(r.err);
  REQUIRE(r.status == 0);
  const bj::value j = bj::parse(r.out);
  CHECK(num(j, "completed_requests") == 2);
  REQUIRE(j.at("rejections").as_array().size() == 1);
  CHECK(num(j.at("rejections").at(0), "request") == 1);
  CHECK_THAT(std::string(j.at("rejections").at(0).at("reason").as_string().c_str()), Catch::Contains("the pool holds"));
  const std::string jl = write("t.jsonl", "{\"arrival_s\": 0, \"input_tokens\": 100, \"output_tokens\": 3}\n");
  const CliResult t = run_kvscope({"simulate", "--trace", jl});
  REQUIRE(t.status == 0);
  CHECK_THAT(t.out, Catch::Contains("requests completed / rejected"));
}

TEST_CASE("simulate: goodput search and SLO checks", "[cli][simulate]") {
  const CliResult r = run_kvscope({"simulate", "--isl", "4096", "--osl", "64", "--requests", "200", "--ttft-slo-ms", "1000",
                                   "--tpot-slo-ms", "40", "--format", "json"});
  INFO(r.err);
  REQUIRE(r.status == 0);
  const bj::value j = bj::parse(r.out);
  const double g = num(j, "goodput_rps");
  CHECK(g > 0);
  CHECK(num(j.at("goodput_search"), "hi_rps") > g);
  CHECK(num(j.at("ttft_s"), "p90") <= 1.0);
  // At the goodput rate the SLO holds; at twice it, not.
  const CliResult at = run_kvscope({"simulate", "--isl", "4096", "--osl", "64", "--requests", "200", "--ttft-slo-ms", "1000",
                                    "--tpot-slo-ms", "40", "--rate", std::to_string(g), "--format", "json"});
  REQUIRE(at.status == 0);
  CHECK(bj::parse(at.out).at("meets_slo").as_bool());
  const CliResult over = run_kvscope({"simulate", "--isl", "4096", "--osl", "64", "--requests", "200", "--ttft-slo-ms", "1000",
                                      "--tpot-slo-ms", "40", "--rate", std::to_string(2 * g)});
  REQUIRE(over.status == 0);
  CHECK_THAT(over.out, Catch::Contains(": missed"));
}

TEST_CASE("simulate: --plot writes the latency distributions and running requests over time", "[cli][simulate][plot]") {
  const std::string dir = temp_dir();
  const CliResult r = run_kvscope({"simulate", "--rate", "4", "--requests", "100", "--plot", dir + "/sim.svg"});
  if (r.status == 2 && r.err.find("built with Qt") != std::string::npos)
    SUCCEED("built without Qt");
  else {
    INFO(r.err);
    REQUIRE(r.status == 0);
    for (const char* f : {"/sim.svg", "/sim-running.svg"}) {
      std::ifstream in(dir + f);
      const std::string svg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      CHECK_THAT(svg, Catch::Contains("kvscope-plot series="));
    }
  }
}

TEST_CASE("simulate: bad input exits 2 with one line", "[cli][simulate][errors]") {
  const std::string empty = write("empty.csv", "");
  const std::string bad = write("bad.csv", "arrival_s,input_tokens,output_tokens\n0,10,10\n1,ten,10\n");
  struct Row {
    std::vector<std::string> args;
    std::string fragment;
  };
  const Row rows[] = {
      {{"simulate", "--rate", "0"}, "--rate: expected a request rate > 0 (requests/s), found 0"},
      {{"simulate", "--rate", "-2"}, "'--rate': expected a request rate > 0 (requests/s), found -2"},
      {{"simulate", "--concurrency", "0"}, "--concurrency: expected a number of clients >= 1, found 0"},
      {{"simulate"}, "expected exactly one of --rate, --concurrency, --trace, found none"},
      {{"simulate", "--rate", "1", "--concurrency", "4"}, "found 2 of them"},
      {{"simulate", "--trace", empty}, "empty.csv: expected at least one request"},
      {{"simulate", "--trace", bad}, "bad.csv line 3: 'input_tokens': expected a token count in 1..100000000, found 'ten'"},
      {{"simulate", "--rate", "1", "--isl", "uniform:10..5"}, "--isl: expected uniform:A..B with A <= B, found 'uniform:10..5'"},
      {{"simulate", "--rate", "1", "--osl", "0"}, "--osl: expected a token count >= 1"},
      {{"simulate", "--rate", "1", "--batch", "8"}, "--batch: expected no value in `kvscope simulate`"},
      {{"simulate", "--rate", "1", "--max-num-seqs", "512", "--max-num-batched-tokens", "256"},
       "'--max-num-batched-tokens': expected at least --max-num-seqs (512)"},
      {{"simulate", "--ttft-slo-ms", "-5"}, "--ttft-slo-ms: expected a number in 0..1e+09, found '-5'"},
      {{"simulate", "--ttft-slo-ms", "500", "--slo-percentile", "0"},
       "'slo_percentile': expected a percentile in (0, 100], found 0"},
      {{"simulate", "--rate", "1", "--goodput-precision", "1"},
       "'goodput_precision': expected a relative precision in (0, 1), found 1"},
      {{"simulate", "--rate", "1", "--requests", "0"}, "--requests: expected an integer in 1..100000000, found 0"},
      {{"simulate", "--rate", "1", "--seed", "-1"}, "--seed: expected an integer in 0..9007199254740991, found -1"},
      {{"simulate", "--rate", "1", "--format", "xml"}, "--format: expected table, json or csv, found 'xml'"},
  };
  for (const Row& row : rows) {
    const CliResult r = run_kvscope(row.args);
    INFO(row.fragment << "\nstderr: " << r.err);
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Catch::Contains(row.fragment));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
}

// ---- goodput_rps in eval / sweep / pareto ------------------------------------------------------

namespace {
// The CSV body (no '#' lines) of a sweep / pareto run.
kvscope::CsvTable csv_body(const std::string& text) {
  std::string body;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (!l.empty() && l[0] != '#') body += l + "\n";
  }
  return kvscope::parse_csv(body, "stdout");
}
const std::vector<std::string> kLoad = {"--isl", "4096",          "--osl", "128",           "--requests",
                                        "200",   "--ttft-slo-ms", "1000",  "--tpot-slo-ms", "40"};
std::vector<std::string> with_load(std::vector<std::string> args) {
  args.insert(args.end(), kLoad.begin(), kLoad.end());
  return args;
}
}  // namespace

TEST_CASE("sweep, pareto and eval: goodput_rps is simulate's goodput of each design", "[cli][simulate][goodput]") {
  const CliResult sw =
      run_kvscope(with_load({"sweep", "--kv-heads", "1,8", "--cla", "1,2", "--batch", "1,32", "--format", "csv", "-q"}));
  INFO(sw.err);
  REQUIRE(sw.status == 0);
  const kvscope::CsvTable t = csv_body(sw.out);
  REQUIRE(t.rows.size() == 8);
  const std::size_t g = t.column("goodput_rps", "sweep"), kv = t.column("n_kv_heads", "sweep"),
                    cla = t.column("cla_factor", "sweep");
  for (std::size_t i = 0; i < t.rows.size(); i += 2) {
    const auto& row = t.rows[i];
    INFO(row[kv] << " K/V heads, CLA " << row[cla]);
    CHECK(row[g] == t.rows[i + 1][g]);  // batch does not enter the search
    const CliResult sim = run_kvscope(with_load({"simulate", "--kv-heads", row[kv], "--cla", row[cla], "--format", "json"}));
    REQUIRE(sim.status == 0);
    CHECK(std::stod(row[g]) == num(bj::parse(sim.out), "goodput_rps"));
    const CliResult ev = run_kvscope(with_load({"eval", "--kv-heads", row[kv], "--cla", row[cla], "--format", "json"}));
    REQUIRE(ev.status == 0);
    CHECK(std::stod(row[g]) == num(bj::parse(ev.out), "goodput_rps"));
  }
  // The table shows the goodput column only with a target.
  const CliResult table = run_kvscope(with_load({"sweep", "--kv-heads", "1,8", "-q"}));
  REQUIRE(table.status == 0);
  CHECK_THAT(table.out, Catch::Contains("goodput req/s"));
  CHECK_THAT(run_kvscope({"sweep", "--kv-heads", "1,8", "-q"}).out, !Catch::Contains("goodput"));
  // Without a target the column is there and empty: no search ran.
  const CliResult plain = run_kvscope({"sweep", "--kv-heads", "1,8", "--format", "csv", "-q"});
  REQUIRE(plain.status == 0);
  for (const auto& row : csv_body(plain.out).rows) CHECK(row[csv_body(plain.out).column("goodput_rps", "sweep")].empty());
  // A Pareto objective: MQA (the highest goodput here) is on the frontier; the table shows the rate.
  const CliResult pa =
      run_kvscope(with_load({"pareto", "--kv-heads", "1,2,4,8", "--objectives", "goodput_rps:max,ppl_delta:min", "-q"}));
  INFO(pa.err);
  REQUIRE(pa.status == 0);
  CHECK_THAT(pa.out, Catch::Contains("goodput_rps (max)") && Catch::Contains("kv_heads=1 "));
  // A design with no pool: goodput 0 and the reason in the row.
  const CliResult big = run_kvscope(with_load({"sweep", "--model", "llama-3-70b", "--format", "csv", "-q"}));
  REQUIRE(big.status == 0);
  const kvscope::CsvTable bt = csv_body(big.out);
  REQUIRE(bt.rows.size() == 1);
  CHECK(bt.rows[0][bt.column("goodput_rps", "sweep")] == "0");
  CHECK_THAT(bt.rows[0][bt.column("reason", "sweep")],
             Catch::Contains("goodput 0: needs") && Catch::Contains("the pool holds 0"));
}

TEST_CASE("sweep, pareto and eval: bad SLO and load flags exit 2 with one line", "[cli][simulate][goodput][errors]") {
  struct Row {
    std::vector<std::string> args;
    std::string fragment;
  };
  const Row rows[] = {
      {{"sweep", "--ttft-slo-ms", "-5"}, "--ttft-slo-ms: expected a number in 0..1e+09, found '-5'"},
      {{"pareto", "--tpot-slo-ms", "fast", "--objectives", "goodput_rps:max,ppl_delta:min"},
       "--tpot-slo-ms: expected a number in 0..1e+09, found 'fast'"},
      {{"eval", "--ttft-slo-ms", "100,200"}, "--ttft-slo-ms: expected a number in 0..1e+09, found '100,200'"},
      {{"sweep", "--ttft-slo-ms", "100", "--slo-percentile", "0"},
       "'slo_percentile': expected a percentile in (0, 100], found 0"},
      {{"sweep", "--ttft-slo-ms", "100", "--slo-percentile", "101"},
       "--slo-percentile: expected a number in 0..100, found '101'"},
      {{"sweep", "--ttft-slo-ms", "100", "--goodput-precision", "0"},
       "'goodput_precision': expected a relative precision in (0, 1), found 0"},
      {{"sweep", "--ttft-slo-ms", "100", "--isl", "uniform:9..3"},
       "--isl: expected uniform:A..B with A <= B, found 'uniform:9..3'"},
      {{"eval", "--tpot-slo-ms", "50", "--osl", "0"}, "--osl: expected a token count >= 1"},
      {{"sweep", "--ttft-slo-ms", "100", "--requests", "0"}, "--requests: expected an integer in 1..100000000, found 0"},
      {{"pareto", "--objectives", "goodput_rps:max,ppl_delta:min"},
       "objectives: 'goodput_rps': expected a TTFT or TPOT target (--ttft-slo-ms, --tpot-slo-ms) for the goodput search, found "
       "neither"},
      {{"sweep", "--constraint", "goodput_rps >= 1"}, "constraint: 'goodput_rps': expected a TTFT or TPOT target"},
      {{"sweep", "--ttft-slo-ms", "100", "--max-num-seqs", "512", "--max-num-batched-tokens", "256"},
       "'--max-num-batched-tokens': expected at least --max-num-seqs (512)"},
  };
  for (const Row& row : rows) {
    const CliResult r = run_kvscope(row.args);
    INFO(row.fragment << "\nstderr: " << r.err);
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Catch::Contains(row.fragment));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
}
