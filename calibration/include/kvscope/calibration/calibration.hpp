#pragma once
// Calibration and validation against kvbench results (schema "kvbench-result/1", written by
// harness/). `calibrate` fits TimingParams to microbenchmark families 1-5 (memory ceilings,
// GEMMs, decode attention, cross-layer L2 reuse, launch cost) with robust least squares;
// `validate` predicts every end-to-end point of family 6 (decode steps, prefills), which the fit
// never sees, and reports the error. docs/model.md §4 says what each family pins down.
#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kvscope/core/architecture.hpp"
#include "kvscope/core/gpu.hpp"
#include "kvscope/core/workload.hpp"
#include "kvscope/models/timing.hpp"

namespace kvscope::models {

struct KvbenchDevice {
  std::string name, uuid;
  int sm_count = 0;
  double l2_cache_B = 0;
  double mem_total_B = 0;
  double driver_peak_bandwidth_Bps = 0;
  double sm_clock_max_Hz = 0;  // 0 = not recorded
};

struct KvbenchPoint {
  std::string family;  // memory, gemm, attention, attention_sdpa, cla_reuse, launch, decode_step, prefill
  std::string name;
  boost::json::object axes;
  std::string l2_state;
  double bytes_read_B = 0, bytes_written_B = 0, flop_count = 0;
  double median_s = 0;
  double rel_stdev = 0;
  double sm_clock_mean_Hz = 0;  // mean SM clock over the accepted samples; 0 = not recorded
  // torch_bench's sleep before each sample, in SM cycles (timer_lead_cycles, end-to-end records of
  // 0.6.0 onwards); 0 = not recorded (the 200000-cycle lead of earlier versions)
  double lead_cycles = 0;
  bool verified = true;

  double num(const char* key, const std::string& where) const;  // axis as a number; throws when absent
  std::string str(const char* key, const std::string& where) const;
  bool has(const char* key) const { return axes.contains(key); }
};

struct KvbenchResults {
  std::string path;
  std::string sha256;  // of the file's bytes (provenance)
  std::string harness_version, git_sha, mode, date_utc;
  KvbenchDevice device;
  std::vector<KvbenchPoint> points;
  std::vector<const KvbenchPoint*> family(const std::string& f) const;
};

KvbenchResults parse_kvbench(const std::string& text, const std::string& where);
KvbenchResults load_kvbench(const std::string& path);

// Throws InputError when the results were measured on a different GPU than `gpu` describes
// (SM count, L2 size and memory size compared with the profile).
void check_same_gpu(const KvbenchResults& r, const GpuSpec& gpu);

struct FamilyFit {
  std::string family;
  int points = 0;
  double rms_rel_error = 0;  // of time, relative
  double max_rel_error = 0;
  std::string worst;                // label of the worst point
  std::vector<std::string> params;  // which parameters this family set
  // Every point's label and relative error (predicted / measured - 1; for cla_reuse the
  // absolute error of the hit fraction), in the order the results listed them.
  std::vector<std::pair<std::string, double>> residuals;
};

struct CalibrationResult {
  GpuCalibration calibration;
  std::vector<FamilyFit> families;
};

// Fits on families 1-5 of every file (all from the same GPU). `base` supplies the datasheet
// peak FLOP/s and the default parameters for anything a family does not determine.
CalibrationResult calibrate(const std::vector<KvbenchResults>& results, const GpuSpec& base);
// Fits a kernel stack other than kvbench (torch-flash, torch-cudnn) on the torch families of
// `results` (torch_gemm, torch_elementwise, and torch_attention / torch_attention_prefill records
// whose axes.stack is `stack`). The hardware part (memory, L2, clock, launch) is `base`'s own
// calibration, which must exist. The result's calibration holds the full parameter set.
CalibrationResult calibrate_stack(const std::vector<KvbenchResults>& results, const GpuSpec& base, const std::string& stack);
// Family torch_power (bursts of back-to-back GEMMs / attentions): sets t's power_busy,
// power_per_tensor, power_rested_headroom_s and power_gap_headroom_s; FLOPs are counted over
// `dense_peak_flops` (the GPU's bf16 dense peak). Used by calibrate_stack; exposed for tests.
FamilyFit fit_power_family(const std::vector<const KvbenchPoint*>& points, double dense_peak_flops, TimingParams& t);

// Family torch_elementwise: each eager op class's law (models::eager_op_law) fitted on per-op
// times less `gap` per kernel; decode-sized ops (rows <= 1024) on the "step" points where the files
// hold them, else "cold", else warm; larger ops on the warm ones. Sets t's members of each class and
// returns one FamilyFit per class. Used by calibrate_stack; exposed for tests.
std::vector<FamilyFit> fit_torch_elementwise(const std::vector<const KvbenchPoint*>& points, double gap, TimingParams& t);

// A family-6 point turned back into kvscope's inputs.
struct E2ePoint {
  std::string label;
  std::string phase;  // "decode" or "prefill"
  Architecture arch;
  Workload workload;
  double measured_s = 0;
  double kernels = 0;
  std::string stack = "kvbench";  // the kernel stack that ran it (axes.stack)
  // Steps replayed back to back (axes.power_state "sustained"): no idle between steps, so the
  // power model's headroom is 0; otherwise the headroom after the harness's lead before each sample.
  bool sustained = false;
  // The GPU's idle before each sample: the timer's sleep (timer_lead_cycles at the maximum SM
  // clock), models::kPowerGapRest_s where the file does not record it. The headroom the prediction
  // starts with is models::power_headroom_after_s of it.
  double rest_s = 0;
};
std::vector<E2ePoint> e2e_points(const KvbenchResults& r);

struct ValidationRow {
  E2ePoint point;
  double predicted_s = 0;
  double error_pct = 0;  // 100 (predicted - measured) / measured
  PhaseCost predicted;   // the prediction op by op (predicted_s = predicted.time_s)
};
struct ValidationReport {
  std::vector<ValidationRow> rows;
  double mape_pct = 0;
  double worst_abs_pct = 0;
  std::string worst_label;
  double decode_mape_pct = 0, prefill_mape_pct = 0;
};
// Predicts the end-to-end points of `r` measured with `stack` (axes.stack; points without one are
// kvbench's) using stack_timing(gpu, stack).
ValidationReport validate_against(const KvbenchResults& r, const GpuSpec& gpu, const std::string& stack = "kvbench");

}  // namespace kvscope::models
