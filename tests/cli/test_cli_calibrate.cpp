// `kvscope calibrate` and `kvscope validate` through the real binary, on the committed kvbench
// results (data/calibration/): the JSON report, the written profile and its use by `eval`.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli_runner.hpp"

namespace bj = boost::json;
namespace fs = std::filesystem;

namespace {
const std::string kDir = std::string(KVSCOPE_SOURCE_DIR) + "/data/calibration/h100-sxm/";
}  // namespace

TEST_CASE("calibrate reports every family with per-point residuals and writes a usable profile", "[cli][calibrate]") {
  const std::string dir = temp_dir();
  const std::string profile = dir + "/h100.json";
  const CliResult r = run_kvscope({"calibrate", kDir + "kvbench-full-2026-11-23.json", kDir + "kvbench-elementwise-2026-11-23.json",
                                   "--gpu", "h100-sxm", "--format", "json", "-o", profile});
  INFO(r.err);
  REQUIRE(r.status == 0);
  const bj::value j = bj::parse(r.out);
  std::vector<std::string> names;
  for (const auto& f : j.at("families").as_array()) {
    names.emplace_back(f.at("family").as_string());
    const auto points = f.at("points").as_int64();
    CHECK(f.at("residuals").as_array().size() == static_cast<std::size_t>(points));
  }
  for (const char* want : {"memory", "launch", "elementwise", "gemm", "attention", "attention_prefill"}) {
    CHECK(std::find(names.begin(), names.end(), want) != names.end());
  }
  // The profile records what it was fitted on and is accepted by eval, which says so.
  std::ifstream in(profile);
  std::stringstream ss;
  ss << in.rdbuf();
  const bj::value p = bj::parse(ss.str());
  CHECK_THAT(std::string(p.at("calibration").at("fitted_on").as_string()), Catch::Contains("kvbench-full-2026-11-23.json sha256:"));
  const CliResult e = run_kvscope({"eval", "--gpu", profile});
  REQUIRE(e.status == 0);
  CHECK_THAT(e.out, Catch::Contains("calibrated: kvbench"));
  fs::remove_all(dir);
}

TEST_CASE("validate prints the error summary and enforces its limits", "[cli][validate]") {
  const CliResult ok = run_kvscope({"validate", kDir + "kvbench-full-2026-11-23.json", "--gpu", "h100-sxm", "--format", "json"});
  INFO(ok.err);
  REQUIRE(ok.status == 0);
  const bj::value j = bj::parse(ok.out);
  const double mape = j.at("summary").as_array().at(0).at("mape_pct").as_double();
  CHECK(mape > 0);
  CHECK(mape < 5);
  // A limit below the measured error fails with exit status 2 and names the limit.
  const CliResult bad = run_kvscope({"validate", kDir + "kvbench-full-2026-11-23.json", "--gpu", "h100-sxm", "--max-mape", "0.5"});
  CHECK(bad.status == 2);
  CHECK_THAT(bad.err, Catch::Contains("validation error above the limit (mean <= 0.5 %)"));
  // Results from another GPU are refused.
  const CliResult other = run_kvscope({"validate", kDir + "kvbench-full-2026-11-23.json", "--gpu", "h200"});
  CHECK(other.status == 2);
  CHECK_THAT(other.err, Catch::Contains("expected results from a NVIDIA H200"));
}
