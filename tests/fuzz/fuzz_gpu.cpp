// GPU profile loader (kvscope-gpu/1, with an optional calibration block). An accepted profile
// must round-trip through to_json and give finite, non-negative evaluations.
#include "fuzz_common.hpp"
#include "kvscope/core/json_util.hpp"

using namespace kvscope;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text = fuzz::as_text(data, size);
  GpuSpec gpu;
  try {
    gpu = parse_gpu(parse_json_text(text, "gpu.json"), "gpu.json");
  } catch (const Error& e) {
    fuzz::check_message(e);
    return 0;
  }
  const GpuSpec back = parse_gpu(to_json(gpu), "roundtrip.json");
  if (back.sm_count != gpu.sm_count || back.calibration.has_value() != gpu.calibration.has_value()) {
    fuzz::fail("to_json/parse_gpu round trip changed the profile");
  }
  fuzz::evaluate_and_check(fuzz::llama3_8b(), gpu);
  return 0;
}
