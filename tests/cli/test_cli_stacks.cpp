// `kvscope stacks`, --stack on eval / sweep, validate --stack, through the real binary.
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "cli_runner.hpp"

namespace bj = boost::json;

TEST_CASE("stacks --format json lists every stack and its status per GPU", "[cli][stack]") {
  const CliResult r = run_kvscope({"stacks", "--format", "json"});
  REQUIRE(r.status == 0);
  const bj::value j = bj::parse(r.out);
  CHECK(j.at("default").as_string() == "torch-flash");
  std::vector<std::string> ids;
  for (const auto& s : j.at("stacks").as_array()) {
    ids.emplace_back(s.at("id").as_string());
    for (const auto& g : s.at("gpus").as_array()) {
      if (g.at("gpu").as_string() == "h200") CHECK(g.at("calibrated").as_bool());
      if (g.at("gpu").as_string() == "h100-sxm" && s.at("id").as_string() != "kvbench") {
        CHECK_FALSE(g.at("calibrated").as_bool());
        CHECK(g.at("borrowed_from").as_string() == "h200");
      }
    }
  }
  CHECK(ids == std::vector<std::string>{"kvbench", "torch-flash", "torch-cudnn"});
  CHECK(j.at("provenance").as_object().contains("version"));
}

TEST_CASE("stack flag: every output names the stack, a bad one is one clear line", "[cli][stack]") {
  const CliResult e = run_kvscope({"eval", "--gpu", "h200", "--stack", "torch-cudnn", "--format", "json"});
  REQUIRE(e.status == 0);
  const bj::value j = bj::parse(e.out);
  CHECK(j.at("stack").as_string() == "torch-cudnn");
  CHECK_THAT(std::string(j.at("timing_params").as_string()), Catch::Contains("stack torch-cudnn: calibrated"));
  const CliResult t = run_kvscope({"eval", "--gpu", "h200"});
  CHECK_THAT(t.out, Catch::Contains("stack torch-flash"));
  struct Bad {
    std::vector<std::string> args;
  };
  for (const Bad& b : {Bad{{"eval", "--stack", "fa3"}}, Bad{{"sweep", "--stack", "kvbench,fa3"}}}) {
    const CliResult r = run_kvscope(b.args);
    INFO(r.err);
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Catch::Contains("--stack") && Catch::Contains("torch-flash"));
  }
}

TEST_CASE("sweep --stack is an axis: one row per stack, stack column in CSV and JSON", "[cli][stack]") {
  const CliResult r =
      run_kvscope({"sweep", "--gpu", "h200", "--stack", "torch-flash,kvbench", "--batch", "1,64", "--format", "json"});
  REQUIRE(r.status == 0);
  const bj::value j = bj::parse(r.out);
  const auto& pts = j.at("points").as_array();
  REQUIRE(pts.size() == 4);
  CHECK(pts[0].at("stack").as_string() == "torch-flash");
  CHECK(pts[2].at("stack").as_string() == "kvbench");
  // Same capacity, different step times.
  CHECK(pts[0].at("max_batch") == pts[2].at("max_batch"));
  CHECK(pts[0].at("decode_step_s") != pts[2].at("decode_step_s"));
  const CliResult c = run_kvscope({"sweep", "--gpu", "h200", "--stack", "torch-cudnn", "--format", "csv"});
  REQUIRE(c.status == 0);
  CHECK_THAT(c.out, Catch::Contains("index,configuration,model,variant,gpu,stack,") && Catch::Contains(",h200,torch-cudnn,"));
}

TEST_CASE("validate --stack predicts that stack's end-to-end points only", "[cli][stack][validate]") {
  const std::string f = std::string(KVSCOPE_SOURCE_DIR) + "/data/calibration/h200/torch-e2e-holdout-2026-12-01.json";
  const CliResult r = run_kvscope({"validate", f, "--gpu", "h200", "--stack", "torch-flash", "--format", "json"});
  REQUIRE(r.status == 0);
  const bj::value j = bj::parse(r.out);
  CHECK(j.at("stack").as_string() == "torch-flash");
  CHECK(j.at("rows").as_array().size() == 136);
  const CliResult k = run_kvscope({"validate", f, "--gpu", "h200"});
  CHECK(k.status == 2);
  CHECK_THAT(k.err, Catch::Contains("end-to-end points (family decode_step / prefill)"));
}
