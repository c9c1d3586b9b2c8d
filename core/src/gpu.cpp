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
  // docs/references.md [HG] §2: STREAM-like kernels reach 85-93 % of the datasheet on NVIDIA HBM
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

GpuCalibration borrow_stack_calibration(const GpuSpec& target, const GpuSpec& ref, const GpuCalibration& stack_cal) {
  GpuCalibration c = stack_cal;
  TimingParams& p = c.params;
  // The efficiencies (fractions, fixed costs) are the reference's; the parallelism and per-clock
  // compute ceilings scale with SMs and datasheet peak; the hardware part is the target's own.
  p.attn_units_sat *= static_cast<double>(target.sm_count) / ref.sm_count;
  if (p.prefill_attn_units_sat > 0) p.prefill_attn_units_sat *= static_cast<double>(target.sm_count) / ref.sm_count;
  p.attn_compute_flops *= target.bf16_flops / ref.bf16_flops;
  const TimingParams hw = target.calibration ? target.calibration->params : borrow_calibration(target, ref).params;
  copy_hardware(p, hw);
  c.borrowed = true;
  c.borrowed_from = ref.id;
  c.source = fmt::format("borrowed from {} ({})", ref.id, stack_cal.source);
  return c;
}

void copy_hardware(TimingParams& t, const TimingParams& hw) {
  // The GPU's own ceilings (kvbench families 1, 4, 5 and the all-reduce): never a stack's.
  using T = TimingParams;
  static constexpr double T::*kHardware[] = {&T::hbm_read_Bps,   &T::hbm_copy_Bps,        &T::l2_read_Bps,
                                             &T::l2_capacity_B,  &T::l2_transition,       &T::compute_clock_ratio,
                                             &T::launch_graph_s, &T::launch_stream_s,     &T::launch_cpu_s,
                                             &T::launch_event_s, &T::allreduce_latency_s, &T::allreduce_bus_Bps};
  for (double T::*f : kHardware) t.*f = hw.*f;
}

namespace {
void set_structure(TimingParams& t, const StackDef& s, const GpuSpec& g) {
  t.attn_kernel = s.decode_attn;
  t.prefill_kernel = s.prefill_attn;
  t.fused_elementwise = s.fused_elementwise;
  t.quantized_kv_kernel = s.quantized_kv_kernel;
  t.sm_count = g.sm_count;
}
}  // namespace

StackTiming stack_timing(const GpuSpec& g, const std::string& stack) {
  const StackDef& def = find_stack(stack, "--stack");
  StackTiming r;
  r.stack = def.id;
  if (def.id == "kvbench") {
    r.params = timing_params(g);
    r.calibrated = g.calibration && !g.calibration->borrowed;
    r.borrowed = g.calibration && g.calibration->borrowed;
    r.borrowed_from = r.borrowed ? g.calibration->borrowed_from : "";
    r.origin = fmt::format("stack kvbench: {}", timing_params_origin(g));
  } else if (auto it = g.stack_calibrations.find(def.id); it != g.stack_calibrations.end()) {
    const GpuCalibration& c = it->second;
    r.params = c.params;
    // The hardware part always comes from this GPU's own (kvbench) calibration when it has one.
    if (g.calibration) copy_hardware(r.params, g.calibration->params);
    r.calibrated = !c.borrowed;
    r.borrowed = c.borrowed;
    r.borrowed_from = c.borrowed_from;
    r.origin = c.borrowed
                   ? fmt::format("stack {}: efficiencies borrowed from {} (measured there); {}", def.id, c.borrowed_from,
                                 g.calibration && !g.calibration->borrowed ? "this GPU's ceilings " + timing_params_origin(g)
                                                                           : "ceilings scaled by datasheet")
                   : fmt::format("stack {}: calibrated: {}", def.id, c.source);
  } else {
    // No GPU measured this stack: the kvbench stack's parameters with the stack's structure. Said
    // in every output; efficiencies of FA2-class kernels are then not measured.
    r.params = timing_params(g);
    r.origin = fmt::format("stack {}: NOT measured on any GPU; kvbench efficiencies with the stack's kernel structure ({})",
                           def.id, timing_params_origin(g));
  }
  set_structure(r.params, def, g);
  return r;
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
