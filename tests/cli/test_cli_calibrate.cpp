// `kvscope calibrate` and `kvscope validate` through the real binary, on the committed kvbench
// results (data/calibration/): the JSON report, the written profile and its use by `eval`.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
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
  const CliResult r =
      run_kvscope({"calibrate", kDir + "kvbench-full-2026-11-23.json", kDir + "kvbench-elementwise-2026-11-23.json", "--gpu",
                   "h100-sxm", "--format", "json", "-o", profile});
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
  CHECK_THAT(std::string(p.at("calibration").at("fitted_on").as_string()),
             Catch::Contains("kvbench-full-2026-11-23.json sha256:"));
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
  const CliResult bad =
      run_kvscope({"validate", kDir + "kvbench-full-2026-11-23.json", "--gpu", "h100-sxm", "--max-mape", "0.5"});
  CHECK(bad.status == 2);
  CHECK_THAT(bad.err, Catch::Contains("validation error above the limit (mean <= 0.5 %)"));
  // Results from another GPU are refused.
  const CliResult other = run_kvscope({"validate", kDir + "kvbench-full-2026-11-23.json", "--gpu", "h200"});
  CHECK(other.status == 2);
  CHECK_THAT(other.err, Catch::Contains("expected results from a NVIDIA H200"));
}

TEST_CASE("calibrate --stack fits the fp8 GEMMs and the activation cast when the runs have them", "[cli][calibrate][weights]") {
  const std::string h200 = std::string(KVSCOPE_SOURCE_DIR) + "/data/calibration/h200/";
  const std::string gpu = std::string(KVSCOPE_SOURCE_DIR) + "/data/gpus/h200.json";
  const std::string dir = temp_dir();
  const std::string profile = dir + "/h200.json";
  struct Row {
    std::vector<std::string> files;
    bool fp8;
  };
  // Without the fp8 run the two fp8 families are absent and the profile carries no fp8 GEMM
  // fraction (fp8 weights then say "estimate"); with it both are fitted and written.
  for (const Row& row : {Row{{h200 + "torch-micro-v3-2026-12-01.json"}, false},
                         Row{{h200 + "torch-micro-v3-2026-12-01.json", h200 + "torch-gemm-fp8-2026-12-01.json"}, true}}) {
    std::vector<std::string> args = {"calibrate"};
    args.insert(args.end(), row.files.begin(), row.files.end());
    for (const char* a : {"--gpu", gpu.c_str(), "--stack", "torch-flash", "--format", "json", "-o", profile.c_str()})
      args.emplace_back(a);
    const CliResult r = run_kvscope(args);
    INFO(r.err);
    REQUIRE(r.status == 0);
    const bj::value j = bj::parse(r.out);
    double gemm8_rms = -1, cast_rms = -1;
    for (const auto& f : j.at("families").as_array()) {
      if (f.at("family").as_string() == "torch_gemm_fp8") gemm8_rms = f.at("rms_rel_error").to_number<double>();
      if (f.at("family").as_string() == "torch_fp8_cast") cast_rms = f.at("rms_rel_error").to_number<double>();
    }
    std::ifstream in(profile);
    std::stringstream ss;
    ss << in.rdbuf();
    const bj::value written = bj::parse(ss.str());
    const bj::object& st = written.at("stacks").at("torch-flash").as_object();
    if (row.fp8) {
      CHECK(gemm8_rms > 0);
      CHECK(gemm8_rms < 0.15);  // 292 points of cuBLASLt fp8 GEMMs: 8.4 % rms when committed
      CHECK(cast_rms > 0);
      CHECK(cast_rms < 0.10);
      const double c = st.at("gemm_fp8_compute_fraction").to_number<double>();
      CHECK(c > 0.2);
      CHECK(c < 1.0);
      CHECK(st.contains("cast_bw_fraction"));
    } else {
      CHECK(gemm8_rms < 0);
      CHECK(cast_rms < 0);
      CHECK_FALSE(st.contains("gemm_fp8_compute_fraction"));
    }
  }
  fs::remove_all(dir);
}
