// `kvscope compare` (cli/cmd_compare.cpp) through the real binary: designs side by side, each
// the point record eval writes for it, changes relative to the first, errors naming the design.
#include <algorithm>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "cli_runner.hpp"
#include "kvscope/core/csv.hpp"

namespace bj = boost::json;
using V = std::vector<std::string>;

namespace {

double num(const bj::value& v) {
  return v.to_number<double>();
}

}  // namespace

TEST_CASE("compare: each design is the point eval writes for it", "[cli][compare]") {
  struct Row {
    V common;              // flags shared by the designs
    V designs;             // --design texts
    std::vector<V> evals;  // the same designs as eval flags
  };
  const Row rows[] = {
      {{"--context", "32k"},
       {"kv_heads=8", "kv_heads=8,cla=2", "kv_heads=1"},
       {{"--kv-heads", "8"}, {"--kv-heads", "8", "--cla", "2"}, {"--kv-heads", "1"}}},
      {{"--model", "llama-3.2-1b", "--batch", "64"},
       {"kv_dtype=fp8", "kv-dtype=int4,stack=kvbench"},
       {{"--kv-dtype", "fp8"}, {"--kv-dtype", "int4", "--stack", "kvbench"}}},
      {{},
       {"model=llama-3-8b", "model=mistral-7b,gpu=h200", "tp=2,batch=300",
        "kv_producers=0,0,2,2,4,4,6,6,8,8,10,10,12,12,14,14,16,16,"
        "18,18,20,20,22,22,24,24,26,26,28,28,30,30"},
       {{"--model", "llama-3-8b"},
        {"--model", "mistral-7b", "--gpu", "h200"},
        {"--tp", "2", "--batch", "300"},
        {"--kv-producers", "0,0,2,2,4,4,6,6,8,8,10,10,12,12,14,14,16,16,18,18,20,20,22,22,24,24,26,26,28,28,30,30"}}},
  };
  for (const Row& row : rows) {
    V args = with({"compare"}, row.common);
    for (const std::string& d : row.designs) args = with(args, {"--design", d});
    const CliResult j = run_kvscope(with(args, {"--format", "json"}));
    INFO(row.designs[0] << " ...\n" << j.err);
    REQUIRE(j.status == 0);
    const bj::value v = bj::parse(j.out);
    const bj::array& designs = v.at("designs").as_array();
    REQUIRE(designs.size() == row.designs.size());
    const CliResult c = run_kvscope(with(args, {"--format", "csv"}));
    REQUIRE(c.status == 0);
    const kvscope::CsvTable t = csv_of(c.out);
    REQUIRE(t.header.size() == 1 + 2 * row.designs.size() - 1);
    for (std::size_t k = 0; k < row.designs.size(); ++k) {
      INFO("design " << k + 1);
      const CliResult e = run_kvscope(with(with({"eval"}, row.common), with(row.evals[k], {"--format", "csv"})));
      REQUIRE(e.status == 0);
      const kvscope::CsvTable te = csv_of(e.out);
      // CSV: one row per record column, design k's column is eval's row.
      REQUIRE(t.rows.size() == te.header.size());
      for (std::size_t r = 0; r < te.header.size(); ++r) {
        INFO(te.header[r]);
        CHECK(t.rows[r][0] == te.header[r]);
        CHECK(t.rows[r][1 + k] == te.rows[0][r]);
      }
      // JSON: the same record, after the design's text.
      const bj::object& d = designs[k].as_object();
      CHECK(d.at("design").as_string() == row.designs[k]);
      CHECK(d.at("configuration").as_string() == te.rows[0][te.column("configuration", "")]);
      CHECK(d.size() == te.header.size() + 1);
    }
  }
}

TEST_CASE("compare: changes are relative to the first design", "[cli][compare]") {
  struct Row {
    V designs;
    const char* field;
    double relative;  // of the last design against the first
  };
  const Row rows[] = {
      {{"kv_heads=8", "kv_heads=8,cla=2"}, "kv_bytes_per_token", -0.5},
      {{"kv_heads=8", "kv_heads=1"}, "kv_bytes_per_token", -0.875},
      {{"kv_heads=8", "kv_heads=4", "kv_heads=2", "kv_heads=1"}, "kv_cache_bytes", -0.875},
      {{"batch=1", "batch=4"}, "kv_cache_bytes", 3.0},
  };
  for (const Row& row : rows) {
    V args = {"compare", "--format", "json"};
    for (const std::string& d : row.designs) args = with(args, {"--design", d});
    const CliResult j = run_kvscope(args);
    INFO(row.designs.back() << " " << row.field << "\n" << j.err);
    REQUIRE(j.status == 0);
    const bj::value v = bj::parse(j.out);
    const bj::array& changes = v.at("changes").as_array();
    REQUIRE(changes.size() == row.designs.size() - 1);
    const bj::object& last = changes.back().as_object();
    CHECK(last.at("relative_to").as_string() == row.designs[0]);
    const bj::value& ch = last.at("changes").at(row.field);
    CHECK(num(ch.at("relative")) == Approx(row.relative));
    CHECK(num(ch.at("delta")) == Approx(num(ch.at("to")) - num(ch.at("from"))));
    CHECK_FALSE(last.at("changes").as_object().contains("model"));  // unchanged fields are not listed
    // The table marks the change; --only-changed leaves out what did not change.
    V table = {"compare", "--only-changed"};
    for (const std::string& d : row.designs) table = with(table, {"--design", d});
    const CliResult t = run_kvscope(table);
    REQUIRE(t.status == 0);
    CHECK_THAT(t.out, Catch::Contains(row.field) && Catch::Contains(" %)") && !Catch::Contains("\nmodel "));
  }
}

TEST_CASE("compare: errors exit 2 with one line naming the design", "[cli][compare]") {
  struct Row {
    V designs;
    const char* message;
  };
  const Row rows[] = {
      {{"kv_heads=8"}, "kvscope: --design: expected 2 to 4 designs (one --design 'field=value,...' each), found 1"},
      {{"a=1", "b=1", "c=1", "d=1", "e=1"},
       "kvscope: --design: expected 2 to 4 designs (one --design 'field=value,...' each), found 5"},
      {{"kv_heads=8", "kv_heads=3"},
       "kvscope: --design 2 'kv_heads=3': --kv-heads: expected a divisor of n_q_heads (32), found 3"},
      {{"kv_headz=8", "cla=2"},
       "kvscope: --design 1 'kv_headz=8': --kv-headz: expected a design field (`kvscope fields` lists them), found 'kv_headz'"},
      {{"cla=2", "kv_heads=1,8"}, "kvscope: --design 2 'kv_heads=1,8': --kv-heads: expected a single value here"},
      {{"cla=2", "model=nosuch"}, "kvscope: --design 2 'model=nosuch': unknown model preset 'nosuch'"},
      {{"8", "cla=2"}, "kvscope: --design 1 '8': expected design fields as 'field=value,...', e.g. 'kv_heads=8,cla=2'"},
      {{"cla=2", ""}, "kvscope: --design 2 '': expected design fields as 'field=value,...'"},
      {{"cla=2", "batch=0"}, "kvscope: --design 2 'batch=0': --batch: expected"},
      {{"cla=2", "context=1q"}, "kvscope: --design 2 'context=1q': --context: expected"},
  };
  for (const Row& row : rows) {
    V args = {"compare"};
    for (const std::string& d : row.designs) args = with(args, {"--design", d});
    const CliResult r = run_kvscope(args);
    INFO(row.message);
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Catch::StartsWith(row.message));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
  const CliResult none = run_kvscope({"compare"});
  CHECK(none.status == 2);
  CHECK_THAT(none.err, Catch::Contains("--design is required"));
}
