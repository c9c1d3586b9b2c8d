#include "kvscope/core/gpu.hpp"

#include <fmt/format.h>

#include <cmath>

#include "kvscope/core/error.hpp"

namespace kvscope {

void validate(const GpuSpec& g, const std::string& where) {
  auto positive = [&](const char* key, double v, double max, bool allow_zero = false) {
    if (!std::isfinite(v) || v < 0 || (!allow_zero && v == 0) || v > max) {
      throw ConfigError(where, key, fmt::format("a {} number <= {:g}", allow_zero ? "non-negative" : "positive", max),
                        fmt::format("{:g}", v));
    }
  };
  positive("memory_GB", g.memory_B, 1e15);
  positive("hbm_bandwidth_GBps", g.hbm_bandwidth_Bps, 1e15);
  positive("bf16_dense_TFLOPS", g.bf16_flops, 1e18);
  positive("fp8_dense_TFLOPS", g.fp8_flops, 1e18, true);
  positive("l2_cache_MiB", g.l2_cache_B, 1e12);
  positive("sm_count", g.sm_count, 1e6);
  positive("tdp_W", g.tdp_W, 1e5, true);
  positive("interconnect_GBps", g.interconnect_Bps, 1e15, true);
  if (g.memory_usable_B) positive("memory_usable_MiB", *g.memory_usable_B, 1e15);
}

TimingParams default_timing_params(const GpuSpec& g) {
  TimingParams p;
  // harness_and_gpus.md §2: STREAM-like kernels reach 85-93 % of the datasheet on NVIDIA HBM
  // parts, pure reads more; §9 recommends 0.90 x datasheet until measured.
  p.hbm_read_Bps = 0.90 * g.hbm_bandwidth_Bps;
  p.hbm_copy_Bps = 0.88 * g.hbm_bandwidth_Bps;
  // §3: L2 read bandwidth is 2.5-3.5 x HBM on A100/H100/H200; the transition to HBM starts near
  // 0.7-0.8 x the nominal size.
  p.l2_read_Bps = 2.5 * p.hbm_read_Bps;
  p.l2_capacity_B = 0.75 * g.l2_cache_B;
  // All-reduce bus bandwidth: NVLink totals are bidirectional; nccl-tests bus bandwidth on
  // NVLink 4 reaches roughly 80 % of one direction -> 0.40 x the total. Assumption until measured.
  p.allreduce_bus_Bps = g.interconnect_Bps > 0 ? 0.40 * g.interconnect_Bps : 25e9;
  p.attn_units_sat = 2.0 * g.sm_count;
  return p;
}

GpuCalibration borrow_calibration(const GpuSpec& target, const GpuSpec& ref) {
  GpuCalibration c = *ref.calibration;
  TimingParams& p = c.params;
  const double bw = target.hbm_bandwidth_Bps / ref.hbm_bandwidth_Bps;
  p.hbm_read_Bps *= bw;
  p.hbm_copy_Bps *= bw;
  p.l2_read_Bps *= bw;
  p.l2_capacity_B *= target.l2_cache_B / ref.l2_cache_B;
  p.attn_units_sat *= static_cast<double>(target.sm_count) / ref.sm_count;
  // Per-clock compute rates scale with the datasheet peak; the clock ratio (power limit under
  // tensor load) is kept: same architecture family.
  p.attn_compute_flops *= target.bf16_flops / ref.bf16_flops;
  p.allreduce_bus_Bps = default_timing_params(target).allreduce_bus_Bps;
  c.borrowed = true;
  c.borrowed_from = ref.id;
  c.source = fmt::format("borrowed from {} ({}), scaled by datasheet ratios", ref.id, ref.calibration->source);
  return c;
}

TimingParams timing_params(const GpuSpec& g) {
  return g.calibration ? g.calibration->params : default_timing_params(g);
}

std::string timing_params_origin(const GpuSpec& g) {
  if (!g.calibration) return "datasheet defaults (uncalibrated)";
  if (g.calibration->borrowed) {
    return fmt::format("efficiencies borrowed from calibrated {}, ceilings scaled by datasheet", g.calibration->borrowed_from);
  }
  return fmt::format("calibrated: {}", g.calibration->source);
}

}  // namespace kvscope
