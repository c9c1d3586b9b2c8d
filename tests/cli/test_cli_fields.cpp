// `kvscope fields` and the design flags generated from the field registry, through the binary.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <set>

#include "cli_runner.hpp"

namespace bj = boost::json;

TEST_CASE("fields --format json lists every design and output field with unit and meaning", "[cli][fields]") {
  const CliResult r = run_kvscope({"fields", "--format", "json"});
  REQUIRE(r.status == 0);
  const bj::value j = bj::parse(r.out);
  CHECK(j.at("provenance").as_object().contains("version"));
  std::set<std::string> design, output;
  for (const auto& f : j.at("design_fields").as_array()) {
    design.emplace(f.at("name").as_string());
    CHECK(f.as_object().contains("unit"));
    CHECK_FALSE(f.at("description").as_string().empty());
    CHECK(std::string(f.at("flag").as_string()).rfind("--", 0) == 0);
  }
  for (const auto& f : j.at("output_fields").as_array()) {
    output.emplace(f.at("name").as_string());
    CHECK(f.as_object().contains("unit"));
    CHECK_FALSE(f.at("description").as_string().empty());
  }
  for (const char* n : {"model", "n_layers", "n_kv_heads", "cla_factor", "kv_dtype", "gpu", "tp", "batch", "context", "stack"}) {
    CHECK(design.count(n));
  }
  for (const char* n : {"kv_bytes_per_token", "max_batch", "decode_step_s", "val_ppl", "n_kv_heads", "kv_layers"})
    CHECK(output.count(n));
  // A knob that is reported names its output column, and the column exists.
  for (const auto& f : j.at("design_fields").as_array()) {
    const std::string out(f.at("output").as_string());
    if (!out.empty()) CHECK(output.count(out));
  }
  const auto& kv = j.at("design_fields").as_array()[4].as_object();
  CHECK(kv.at("name").as_string() == "n_kv_heads");
  CHECK(kv.at("aliases").as_array().at(0).as_string() == "kv_heads");
  CHECK(kv.at("min").as_int64() == 1);
}

TEST_CASE("fields: table and csv formats, bad format is one line", "[cli][fields]") {
  const CliResult t = run_kvscope({"fields"});
  REQUIRE(t.status == 0);
  CHECK_THAT(t.out, Catch::Contains("n_kv_heads") && Catch::Contains("kv_bytes_per_token") && Catch::Contains("kv_heads"));
  const CliResult c = run_kvscope({"fields", "--format", "csv"});
  REQUIRE(c.status == 0);
  CHECK_THAT(c.out,
             Catch::StartsWith("table,name,unit,kind,") && Catch::Contains("\ndesign,n_kv_heads,,sharing,integer,1..65536,"));
  const CliResult b = run_kvscope({"fields", "--format", "xml"});
  CHECK(b.status == 2);
  CHECK(b.err == "kvscope: --format: expected table, json or csv, found 'xml'\n");
}

TEST_CASE("design flags: the name and every earlier spelling set one field", "[cli][fields]") {
  struct Row {
    std::vector<std::string> args;
    std::string in_out;
  };
  const Row rows[] = {
      {{"--kv-heads", "4"}, "\"n_kv_heads\": 4"},
      {{"--n-kv-heads", "4"}, "\"n_kv_heads\": 4"},
      {{"--cla", "2"}, "\"cla_factor\": 2"},
      {{"--cla-factor", "2"}, "\"cla_factor\": 2"},
      {{"--layers", "16"}, "\"kv_layers\": 16"},
      {{"--n-layers", "16"}, "\"kv_layers\": 16"},
      {{"--q-heads", "16", "--kv-heads", "16"}, "\"n_q_heads\": 16"},
  };
  for (const Row& r : rows) {
    std::vector<std::string> args = {"eval", "--format", "json"};
    args.insert(args.end(), r.args.begin(), r.args.end());
    const CliResult c = run_kvscope(args);
    INFO(r.args.front());
    REQUIRE(c.status == 0);
    CHECK_THAT(c.out, Catch::Contains(r.in_out));
  }
  // Messages name the spelling typed.
  CHECK(run_kvscope({"eval", "--n-layers", "0"}).err == "kvscope: --n-layers: expected an integer in 1..10000, found 0\n");
  CHECK(run_kvscope({"eval", "--layers", "0"}).err == "kvscope: --layers: expected an integer in 1..10000, found 0\n");
}
