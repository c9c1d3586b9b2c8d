// kvbench results loader (kvbench-result/1) and what calibrate/validate do with the points:
// the end-to-end points turned back into architectures and workloads, the GPU check, the fit.
#include "fuzz_common.hpp"
#include "kvscope/calibration/calibration.hpp"

using namespace kvscope;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text = fuzz::as_text(data, size);
  models::KvbenchResults r;
  try {
    r = models::parse_kvbench(text, "kvbench.json");
  } catch (const Error& e) {
    fuzz::check_message(e);
    return 0;
  }
  KVSCOPE_FUZZ_EXPECT_ERRORS({
    for (const auto& e : models::e2e_points(r)) {
      if (!std::isfinite(e.measured_s) || e.measured_s <= 0) fuzz::fail("e2e point with a non-positive time");
    }
  });
  KVSCOPE_FUZZ_EXPECT_ERRORS({
    const models::ValidationReport rep = models::validate_against(r, fuzz::h100());
    for (const auto& row : rep.rows) {
      if (!std::isfinite(row.predicted_s) || !std::isfinite(row.error_pct)) fuzz::fail("validation row not finite");
    }
    if (!std::isfinite(rep.mape_pct)) fuzz::fail("validation MAPE not finite");
  });
  KVSCOPE_FUZZ_EXPECT_ERRORS({
    const models::CalibrationResult c = models::calibrate({r}, fuzz::h100());
    // A fit the loader accepts must be a valid profile.
    GpuSpec g = fuzz::h100();
    g.calibration = c.calibration;
    validate(g, "calibrated");
  });
  return 0;
}
