// GPU profiles' "stacks" block: round trip, and invalid rows with their messages.
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "kvscope/core/error.hpp"
#include "kvscope/core/json_util.hpp"
#include "kvscope/core/loaders.hpp"

using namespace kvscope;
namespace bj = boost::json;

TEST_CASE("GPU profile stacks: written, read back, borrowed ones not written", "[loaders][stack]") {
  const GpuSpec h200 = load_gpu("h200");
  REQUIRE(h200.stack_calibrations.count("torch-flash") == 1);
  const bj::value j = to_json(h200);
  REQUIRE(j.as_object().contains("stacks"));
  const GpuSpec back = parse_gpu(j, "round-trip");
  CHECK(back.stack_calibrations.at("torch-flash").params.act_bw_fraction ==
        Approx(h200.stack_calibrations.at("torch-flash").params.act_bw_fraction).epsilon(1e-12));
  CHECK(back.stack_calibrations.at("torch-flash").params.prefill_attn_fraction_d256 ==
        Approx(h200.stack_calibrations.at("torch-flash").params.prefill_attn_fraction_d256).epsilon(1e-12));
  // The H100's torch stacks are borrowed at load time: its profile does not carry them.
  const GpuSpec h100 = load_gpu("h100-sxm");
  REQUIRE(h100.stack_calibrations.count("torch-flash") == 1);
  CHECK(h100.stack_calibrations.at("torch-flash").borrowed);
  CHECK_FALSE(to_json(h100).as_object().contains("stacks"));
}

TEST_CASE("GPU profile stacks: invalid rows name the key", "[loaders][stack]") {
  const bj::value base = to_json(load_gpu("h200"));
  struct Row {
    const char* stack_key;  // key inside "stacks" to (re)write
    const char* mutate;     // "copy": copy torch-flash's block there; "drop": remove a parameter; "bad": non-number
    const char* fragment;
  };
  for (const Row& r : {Row{"kvbench", "copy", "a stack other than kvbench"}, Row{"fa3", "copy", "'fa3'"},
                       Row{"torch-flash", "drop", "stacks.torch-flash.gemm_fixed_us"},
                       Row{"torch-flash", "bad", "stacks.torch-flash.act_bw_fraction"}}) {
    INFO(r.stack_key << " " << r.mutate);
    bj::value v = base;
    bj::object& st = v.as_object()["stacks"].as_object();
    bj::value block = st["torch-flash"];
    if (std::string(r.mutate) == "drop") block.as_object().erase("gemm_fixed_us");
    if (std::string(r.mutate) == "bad") block.as_object()["act_bw_fraction"] = "fast";
    st[r.stack_key] = block;
    try {
      parse_gpu(v, "profile.json");
      FAIL("accepted");
    } catch (const InputError& e) {
      CHECK_THAT(e.what(), Catch::Contains("profile.json") && Catch::Contains(r.fragment));
    }
  }
}

TEST_CASE("GPU loading: borrowing is its own named step, and the file as written has none", "[loaders][stacks]") {
  struct Row {
    const char* gpu;
    bool calibrated_as_written;
    const char* hardware_from;  // after resolve_borrowing: "" = its own calibration
  };
  for (const Row& r :
       {Row{"h200", true, ""}, Row{"h100-sxm", true, ""}, Row{"a100-sxm-80gb", false, "h100-sxm"}, Row{"b200", false, "h200"}}) {
    INFO(r.gpu);
    const GpuSpec written = load_gpu_as_written(r.gpu);
    CHECK(written.calibration.has_value() == r.calibrated_as_written);
    for (const auto& [id, sc] : written.stack_calibrations) CHECK_FALSE(sc.borrowed);
    GpuSpec resolved = written;
    resolve_borrowing(resolved);
    REQUIRE(resolved.calibration.has_value());
    CHECK(resolved.calibration->borrowed == !r.calibrated_as_written);
    CHECK(resolved.calibration->borrowed_from == r.hardware_from);
    // Every stack some preset measured is there, whole: measured here or marked borrowed.
    CHECK(resolved.stack_calibrations.count("torch-flash") == 1);
    for (const auto& [id, sc] : resolved.stack_calibrations) CHECK((sc.borrowed == !written.stack_calibrations.count(id)));
    // load_gpu is the two steps.
    const GpuSpec loaded = load_gpu(r.gpu);
    CHECK(loaded.calibration->source == resolved.calibration->source);
    CHECK(loaded.stack_calibrations.size() == resolved.stack_calibrations.size());
  }
}
