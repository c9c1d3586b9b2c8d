// Calibration: fit synthetic kvbench results generated from known parameters and recover them;
// refuse other GPUs, unknown schemas and too few points; validation of end-to-end points.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <random>

#include "kvscope/calibration/calibration.hpp"
#include "kvscope/core/error.hpp"
#include "kvscope/models/evaluate.hpp"
#include "kvscope/models/timing.hpp"

using namespace kvscope;
using namespace kvscope::models;
namespace bj = boost::json;

namespace {

GpuSpec h100() {
  GpuSpec g;
  g.id = "h100-sxm";
  g.name = "NVIDIA H100 SXM5 80GB";
  g.memory_B = 80e9;
  g.memory_usable_B = 81559.0 * 1048576;
  g.hbm_bandwidth_Bps = 3.35e12;
  g.bf16_flops = 989.4e12;
  g.l2_cache_B = 50.0 * 1048576;
  g.sm_count = 132;
  g.interconnect_Bps = 900e9;
  return g;
}

TimingParams truth() {
  TimingParams t = default_timing_params(h100());
  t.hbm_read_Bps = 3.05e12;
  t.hbm_copy_Bps = 2.90e12;
  t.l2_read_Bps = 9.1e12;
  t.l2_capacity_B = 38e6;
  t.l2_transition = 0.12;
  t.gemm_bw_fraction = 0.87;
  t.gemm_fixed_s = 4.5e-6;
  t.gemm_compute_fraction = 0.72;
  t.gemm_m_half = 40;
  t.attn_bw_fraction = 0.83;
  t.attn_fixed_s = 6e-6;
  t.attn_units_sat = 300;
  t.attn_compute_flops = 70e12;  // g = 32 (32 MMA rows per K/V head) is compute-bound at this rate
  t.attn_fp8_bw_fraction = 0.66;
  t.attn_combine_per_split_s = 0.14e-6;
  t.prefill_attn_compute_fraction = 0.12;
  t.compute_clock_ratio = 0.8;
  t.elementwise_bw_fraction = 0.7;
  t.elementwise_fixed_s = 1.2e-6;
  t.rope_bw_fraction = 0.4;
  t.rope_fixed_s = 3.5e-6;
  t.launch_event_s = 3e-6;
  t.launch_graph_s = 1.4e-6;
  t.launch_stream_s = 2.6e-6;
  t.launch_cpu_s = 3.2e-6;
  return t;
}

bj::object device_json(const GpuSpec& g) {
  return {{"name", "NVIDIA H100 80GB HBM3"},
          {"uuid", "GPU-test"},
          {"sm_count", g.sm_count},
          {"l2_cache_B", g.l2_cache_B},
          {"mem_total_B", *g.memory_usable_B},
          {"driver_peak_bandwidth_Bps", 3.352e12},
          {"sm_clock_max_kHz", 1980000}};
}

// A kvbench-result/1 document whose times follow `t` exactly, times (1 + noise).
std::string synthetic(const TimingParams& t, const GpuSpec& g, double noise, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> n(0.0, noise);
  auto jitter = [&](double v) { return v * (1.0 + n(rng)); };
  bj::array b;
  double clock_kHz = 1980000;  // the SM clock "read" during the next point added
  auto add = [&](const char* family, bj::object axes, double time, double bytes_r = 0, double bytes_w = 0,
                 const char* l2 = "cold") {
    b.push_back({{"family", family},
                 {"name", family},
                 {"axes", std::move(axes)},
                 {"l2_state", l2},
                 {"median_s", time},
                 {"bytes_read_B", bytes_r},
                 {"bytes_written_B", bytes_w},
                 {"flop_count", 0},
                 {"verified", true},
                 {"sm_clock_mean_kHz", clock_kHz}});
  };
  // One-launch microbenchmark samples carry the event timer's overhead (family 5, event_single).
  const double ev = t.launch_event_s;
  const double l2 = g.l2_cache_B;
  for (double f : {1e6, 4e6, 8e6, 16e6, 24e6, 32e6, 40e6, 48e6, 64e6, 96e6, 128e6, 256e6, 1e9, 4e9}) {
    // Warm re-read of a buffer of f bytes: L2 hit per the logistic model.
    const double h = l2_hit_fraction(t, f, 0);
    const double time = f * (h / t.l2_read_Bps + (1 - h) / t.hbm_read_Bps);
    add("memory", {{"kernel", "read"}, {"footprint_B", f}}, jitter(time), f, 0, f < 8 * l2 ? "warm" : "cold");
    if (f >= 8 * l2) add("memory", {{"kernel", "copy"}, {"footprint_B", f}}, jitter(f / t.hbm_copy_Bps), f / 2, f / 2);
  }
  for (double m : {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192}) {
    // Clocks fall with M as tensor load rises; from 2048 rows on, the sustained (power-limited) one.
    const double ratio = m >= 2048 ? t.compute_clock_ratio : 1.0 - (1.0 - t.compute_clock_ratio) * std::log2(m) / 11.0;
    clock_kHz = 1980000 * ratio;
    for (auto nk :
         std::vector<std::pair<double, double>>{{6144, 4096}, {4096, 4096}, {28672, 4096}, {4096, 14336}, {128256, 4096}}) {
      add("gemm", {{"M", m}, {"N", nk.first}, {"K", nk.second}, {"label", "x"}, {"weight_sets", 8}},
          jitter(ev + gemm_time(t, g.bf16_flops * ratio, m, nk.first, nk.second).time_s));
    }
  }
  clock_kHz = 1980000 * t.compute_clock_ratio;
  for (double batch : {1, 4}) {
    for (double p : {256, 512, 1024, 2048, 4096}) {
      for (double grp : {1, 4, 32}) {
        const double kvh = 32 / grp, qh = 32, d = 128;
        const double bytes = batch * p * 2 * kvh * d * 2 + 2 * 2.0 * batch * p * qh * d;
        add("attention_prefill",
            {{"batch", batch}, {"prompt", p}, {"n_kv_heads", kvh}, {"group_size", grp}, {"head_dim", d}, {"kv_dtype", "bf16"}},
            jitter(
                ev +
                prefill_attention_time(t, g.bf16_flops * t.compute_clock_ratio, batch, qh, p, p * (p + 1) / 2, d, bytes).time_s));
      }
    }
  }
  clock_kHz = 1980000;
  for (double rows : {1, 8, 32, 128, 512, 2048, 8192}) {
    for (const char* k : {"rmsnorm", "silu_mul", "rope_append"}) {
      const bool is_rope = std::string(k) == "rope_append";
      const double bytes = rows * (is_rope ? 12288 : std::string(k) == "rmsnorm" ? 16384 : 86016);
      const double per = (is_rope ? rope_time(t, bytes) : elementwise_time(t, bytes)).time_s + t.launch_graph_s;
      add("elementwise", {{"kernel", k}, {"model", "x"}, {"rows", rows}, {"kernels", 20}}, jitter(20 * per), 20 * bytes / 2,
          20 * bytes / 2, "warm");
    }
  }
  for (double batch : {1, 4, 16, 64}) {
    for (double s : {512, 2048, 8192, 32768}) {
      for (double kvh : {1, 8, 32}) {
        for (double grp : {1, 4, 8, 32}) {
          if (grp == 32 && kvh != 1) continue;
          for (const char* dt : {"bf16", "fp8"}) {
            const bool fp8 = std::string(dt) == "fp8";
            const double kv = batch * s * 2 * kvh * 128 * (fp8 ? 1 : 2);
            const double splits = attention_splits(t, batch, kvh, s);
            add("attention",
                {{"batch", batch},
                 {"kv_len", s},
                 {"n_kv_heads", kvh},
                 {"group_size", grp},
                 {"head_dim", 128},
                 {"kv_dtype", dt},
                 {"splits", splits},
                 {"variant", "full"}},
                jitter(ev + decode_attention_time_with_splits(t, batch, kvh, kvh * grp, s, 128, kv, fp8, splits).time_s));
          }
        }
      }
    }
  }
  for (double f : {4e6, 16e6, 32e6, 64e6}) {
    for (double w : {0.0, 8e6, 64e6, 256e6}) {
      const double t1 = 5e-6 + f / t.hbm_read_Bps;
      const double h = l2_hit_fraction(t, f, w);
      const double t2 = 5e-6 + f * (1 - h) / t.hbm_read_Bps + f * h / t.l2_read_Bps;
      add("cla_reuse", {{"kv_bytes", f}, {"intervening_B", w}, {"read", "first"}}, t1);
      add("cla_reuse", {{"kv_bytes", f}, {"intervening_B", w}, {"read", "second"}}, t2);
    }
  }
  add("launch", {{"mode", "graph"}, {"kernels", 1000}}, jitter(1000 * t.launch_graph_s));
  add("launch", {{"mode", "stream"}, {"kernels", 1000}}, jitter(1000 * t.launch_stream_s));
  add("launch", {{"mode", "host_cpu"}, {"kernels", 1000}}, jitter(1000 * t.launch_cpu_s));
  add("launch", {{"mode", "event_single"}, {"kernels", 1}}, jitter(t.launch_event_s));
  bj::object root = {{"schema", "kvbench-result/1"},
                     {"harness", {{"version", "0.1.0"}, {"git_sha", "test"}, {"mode", "full"}}},
                     {"device", device_json(g)},
                     {"run", {{"date_utc", "2026-11-23T00:00:00Z"}}},
                     {"benchmarks", std::move(b)}};
  return bj::serialize(root);
}

}  // namespace

TEST_CASE("calibration recovers known parameters from synthetic kvbench results", "[calibration]") {
  const GpuSpec g = h100();
  const TimingParams t = truth();
  for (double noise : {0.0, 0.01}) {
    INFO("noise " << noise);
    const KvbenchResults r = parse_kvbench(synthetic(t, g, noise, 7), "synthetic.json");
    const CalibrationResult c = calibrate({r}, g);
    const TimingParams& f = c.calibration.params;
    const double tol = noise == 0 ? 0.01 : 0.05;
    CHECK(f.hbm_read_Bps == Approx(t.hbm_read_Bps).epsilon(tol));
    CHECK(f.hbm_copy_Bps == Approx(t.hbm_copy_Bps).epsilon(tol));
    CHECK(f.gemm_bw_fraction == Approx(t.gemm_bw_fraction).epsilon(tol));
    CHECK(f.gemm_compute_fraction == Approx(t.gemm_compute_fraction).epsilon(2 * tol));
    CHECK(f.attn_bw_fraction == Approx(t.attn_bw_fraction).epsilon(tol));
    CHECK(f.attn_fp8_bw_fraction == Approx(t.attn_fp8_bw_fraction).epsilon(tol));
    CHECK(f.launch_graph_s == Approx(t.launch_graph_s).epsilon(tol));
    CHECK(f.launch_stream_s == Approx(t.launch_stream_s).epsilon(tol));
    CHECK(f.l2_capacity_B == Approx(t.l2_capacity_B).epsilon(0.05));
    CHECK(f.launch_event_s == Approx(t.launch_event_s).epsilon(tol));
    CHECK(f.compute_clock_ratio == Approx(t.compute_clock_ratio).epsilon(tol));
    CHECK(f.prefill_attn_compute_fraction == Approx(t.prefill_attn_compute_fraction).epsilon(tol));
    CHECK(f.attn_compute_flops == Approx(t.attn_compute_flops).epsilon(2 * tol));
    CHECK(f.elementwise_bw_fraction == Approx(t.elementwise_bw_fraction).epsilon(2 * tol));
    CHECK(f.rope_bw_fraction == Approx(t.rope_bw_fraction).epsilon(2 * tol));
    if (noise == 0) {
      CHECK(f.gemm_fixed_s == Approx(t.gemm_fixed_s).epsilon(0.05));
      CHECK(f.attn_fixed_s == Approx(t.attn_fixed_s).epsilon(0.05));
      CHECK(f.gemm_m_half == Approx(t.gemm_m_half).epsilon(0.05));
      CHECK(f.attn_combine_per_split_s == Approx(t.attn_combine_per_split_s).epsilon(0.05));
      CHECK(f.elementwise_fixed_s == Approx(t.elementwise_fixed_s).epsilon(0.05));
      CHECK(f.rope_fixed_s == Approx(t.rope_fixed_s).epsilon(0.05));
    }
    for (const auto& fam : c.families) {
      INFO(fam.family << " worst " << fam.worst);
      if (fam.points > 0 && fam.family != "cla_reuse (L2 hit fraction, absolute)") CHECK(fam.rms_rel_error < 3 * noise + 1e-3);
    }
    CHECK_THAT(c.calibration.fitted_on, Catch::Contains("synthetic.json sha256:"));
  }
}

TEST_CASE("calibration refuses other GPUs, unknown schemas and too few points", "[calibration][errors]") {
  const GpuSpec g = h100();
  const std::string good = synthetic(truth(), g, 0, 1);
  GpuSpec h200 = g;
  h200.id = "h200";
  h200.name = "NVIDIA H200 SXM 141GB";
  h200.memory_usable_B = 143771.0 * 1048576;
  h200.l2_cache_B = 60.0 * 1048576;
  REQUIRE_THROWS_WITH(calibrate({parse_kvbench(good, "h100.json")}, h200),
                      Catch::Contains("h100.json: 'device': expected results from a NVIDIA H200 SXM 141GB") &&
                          Catch::Contains("found 'NVIDIA H100 80GB HBM3'"));
  std::string bad = good;
  bad.replace(bad.find("kvbench-result/1"), 16, "kvbench-result/9");
  REQUIRE_THROWS_WITH(
      parse_kvbench(bad, "r.json"),
      Catch::Contains(
          "r.json: 'schema': expected 'kvbench-result/1' (the schema this kvscope understands), found 'kvbench-result/9'"));
  bj::object few = {{"schema", "kvbench-result/1"},
                    {"harness", {{"version", "0.1.0"}}},
                    {"device", device_json(g)},
                    {"benchmarks", bj::array{}}};
  REQUIRE_THROWS_WITH(calibrate({parse_kvbench(bj::serialize(few), "few.json")}, g),
                      Catch::Contains("kvbench family 'memory': expected at least 4 measured points to fit, found 0"));
  REQUIRE_THROWS_WITH(parse_kvbench("{\"schema\": \"kvbench-result/1\"}", "x.json"), Catch::Contains("x.json: 'harness'"));
  REQUIRE_THROWS_WITH(parse_kvbench("[1,2]", "y.json"), Catch::Contains("y.json: expected a kvbench result object"));
}

TEST_CASE("validation predicts end-to-end points with the profile's parameters", "[calibration][validate]") {
  GpuSpec g = h100();
  const TimingParams t = truth();
  GpuCalibration cal;
  cal.params = t;
  g.calibration = cal;
  // Build family-6 points whose measured time is the model's own prediction: zero error.
  bj::array b;
  Architecture a;
  a.n_layers = 16, a.d_model = 2048, a.n_q_heads = 32, a.n_kv_heads = 8, a.head_dim = 64, a.ffn_dim = 8192, a.vocab = 128256;
  a.tied_embeddings = true;
  a.kv_producer = cla_producers(16, 2);
  const ArchProfile p = make_profile(a, 1);
  bj::array prod;
  for (int v : a.kv_producer) prod.push_back(v);
  for (double batch : {1, 32}) {
    const double step = decode_step(p, g, t, batch, 2048, Runtime::graph).time_s;
    b.push_back({{"family", "decode_step"},
                 {"name", "e2e"},
                 {"median_s", step},
                 {"axes",
                  {{"model_label", "llama-3.2-1b-GQA8-CLA2"},
                   {"n_layers", 16},
                   {"d_model", 2048},
                   {"n_q_heads", 32},
                   {"n_kv_heads", 8},
                   {"head_dim", 64},
                   {"ffn_dim", 8192},
                   {"vocab", 128256},
                   {"tied_embeddings", true},
                   {"kv_producers", prod},
                   {"batch", batch},
                   {"context", 2048},
                   {"prompt", 0},
                   {"kv_dtype", "bf16"},
                   {"runtime", "graph"}}}});
  }
  bj::object root = {{"schema", "kvbench-result/1"},
                     {"harness", {{"version", "0.1.0"}}},
                     {"device", device_json(g)},
                     {"benchmarks", std::move(b)}};
  const ValidationReport rep = validate_against(parse_kvbench(bj::serialize(root), "e2e.json"), g);
  REQUIRE(rep.rows.size() == 2);
  CHECK(rep.mape_pct == Approx(0).margin(1e-9));
  CHECK(rep.rows[0].point.arch.kv_producer == a.kv_producer);
}

TEST_CASE("e2e points: numbers outside an integer's range are errors, not casts", "[calibration][errors]") {
  // Fuzzer regression (UBSan float-cast-overflow): values are range-checked before the cast.
  struct Row {
    const char* key;
    double value;
  };
  for (const Row& row :
       {Row{"n_layers", 7.8e95}, Row{"d_model", -1}, Row{"batch", 2.5}, Row{"context", 1e300}, Row{"head_dim", 1e10}}) {
    CAPTURE(row.key, row.value);
    bj::object axes = {{"model_label", "m"}, {"n_layers", 2},  {"d_model", 256}, {"n_q_heads", 4}, {"n_kv_heads", 2},
                       {"head_dim", 64},     {"ffn_dim", 512}, {"vocab", 1000},  {"batch", 1},     {"context", 128}};
    axes[row.key] = row.value;
    bj::array b;
    b.push_back({{"family", "decode_step"}, {"name", "e2e"}, {"median_s", 1e-3}, {"axes", axes}});
    bj::object root = {{"schema", "kvbench-result/1"},
                       {"harness", {{"version", "0.1.0"}}},
                       {"device", device_json(h100())},
                       {"benchmarks", std::move(b)}};
    // The loader's range checks (counts >= 1, whole) catch most; e2e_points' own bounds the rest.
    CHECK_THROWS_WITH(e2e_points(parse_kvbench(bj::serialize(root), "bad.json")),
                      Catch::Matchers::Contains(std::string("axes.") + row.key) && Catch::Matchers::Contains("a whole number"));
  }
}

namespace {
// torch_power bursts generated from known power constants with the model's own law.
// decode_weight > 0 adds a decode-attention group whose tensor work counts decode_weight times.
std::vector<KvbenchPoint> synthetic_power(const TimingParams& truth, double peak, bool with_gemm_group, double decode_weight = 0,
                                          std::vector<double> rests = {1e-4, 20e-3}) {
  struct Group {
    const char* op;
    double m, t_unit, flops, filler_flops;
    const char* filler;
    double weight = 1;
  };
  const double gemm_flops = 2.0 * 2048 * 14336 * 4096;
  std::vector<Group> groups = {{"gemm", 256, 45e-6, 2.0 * 256 * 14336 * 4096, 0, "none"},
                               {"prefill_attention", 0, 500e-6, 1.1e11, 0, "none"},
                               {"prefill_attention", 0, 800e-6, 1.1e11, gemm_flops, "gemm"}};
  if (with_gemm_group) {
    groups.push_back({"gemm", 2048, 300e-6, gemm_flops, 0, "none"});
    groups.push_back({"gemm", 2048, 460e-6, gemm_flops, 0, "copy"});
  }
  if (decode_weight > 0) groups.push_back({"decode_attention", 0, 1.55e-3, 5.5e11, 0, "none", decode_weight});
  std::vector<KvbenchPoint> out;
  for (const Group& g : groups) {
    for (double rest : rests) {
      for (double n : {1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0}) {
        TimingParams tt = truth;
        tt.power_headroom_s = power_headroom_after_s(truth, rest);
        const double busy = n * g.t_unit;
        KvbenchPoint p;
        p.family = "torch_power";
        p.axes = boost::json::object{{"op", g.op}, {"filler", g.filler}, {"n", n}, {"rest_s", rest}};
        if (g.m > 0) p.axes["M"] = g.m;
        p.flop_count = g.flops;
        p.median_s = (busy + power_stretch_s(tt, busy, g.weight * n * (g.flops + g.filler_flops) / peak)) / n;
        out.push_back(std::move(p));
      }
    }
  }
  return out;
}
}  // namespace

TEST_CASE("power fit recovers the governor's constants from synthetic bursts", "[calibration][power]") {
  TimingParams truth;
  truth.power_busy = 0.9, truth.power_per_tensor = 0.36;
  truth.power_rested_headroom_s = 6e-3, truth.power_gap_headroom_s = 0.4e-3;
  const double peak = 989e12;
  const auto pts = synthetic_power(truth, peak, true);
  std::vector<const KvbenchPoint*> ptr;
  for (const auto& p : pts) ptr.push_back(&p);
  TimingParams t;
  const FamilyFit f = fit_power_family(ptr, peak, t);
  CHECK(f.points == static_cast<int>(pts.size()));
  CHECK(f.rms_rel_error < 1e-3);
  CHECK(t.power_busy == Approx(truth.power_busy).epsilon(0.01));
  CHECK(t.power_per_tensor == Approx(truth.power_per_tensor).epsilon(0.02));
  CHECK(t.power_rested_headroom_s == Approx(truth.power_rested_headroom_s).epsilon(0.05));
  CHECK(t.power_gap_headroom_s == Approx(truth.power_gap_headroom_s).epsilon(0.05));
}

TEST_CASE("power fit: bursts after idles between 0.1 and 20 ms set the headroom's refill time constant", "[calibration][power]") {
  TimingParams truth;
  truth.power_busy = 0.9, truth.power_per_tensor = 0.36;
  truth.power_rested_headroom_s = 6e-3, truth.power_gap_headroom_s = 0.4e-3;
  const double peak = 989e12;
  const std::vector<double> ten = {1e-4, 0.3e-3, 0.6e-3, 1e-3, 1.5e-3, 2e-3, 3e-3, 5e-3, 10e-3, 20e-3};
  struct Row {
    double tau_s;
  };
  for (const Row& r : {Row{8e-3}, Row{50e-3}, Row{2e-3}}) {
    INFO("tau " << r.tau_s);
    truth.power_refill_tau_s = r.tau_s;
    const auto pts = synthetic_power(truth, peak, true, 0, ten);
    std::vector<const KvbenchPoint*> ptr;
    for (const auto& p : pts) ptr.push_back(&p);
    TimingParams t;
    const FamilyFit f = fit_power_family(ptr, peak, t);
    CHECK(f.rms_rel_error < 1e-3);
    CHECK(t.power_refill_tau_s == Approx(r.tau_s).epsilon(0.05));
    CHECK(t.power_gap_headroom_s == Approx(truth.power_gap_headroom_s).epsilon(0.05));
    CHECK(t.power_rested_headroom_s == Approx(truth.power_rested_headroom_s).epsilon(0.05));
    CHECK(std::find(f.params.begin(), f.params.end(), "power_refill_tau_s") != f.params.end());
  }
  // The two default idles alone do not identify it: it stays 0 (the step) and is not reported.
  truth.power_refill_tau_s = 8e-3;
  const auto two = synthetic_power(truth, peak, true);
  std::vector<const KvbenchPoint*> ptr;
  for (const auto& p : two) ptr.push_back(&p);
  TimingParams t;
  const FamilyFit f = fit_power_family(ptr, peak, t);
  CHECK(t.power_refill_tau_s == 0);
  CHECK(std::find(f.params.begin(), f.params.end(), "power_refill_tau_s") == f.params.end());
}

TEST_CASE("e2e points: the idle before each sample is the timer's lead at the maximum SM clock", "[calibration][power]") {
  struct Row {
    const char* what;
    bj::value lead;  // timer_lead_cycles; null = absent
    double want_rest_s;
    const char* error;  // substring of the error, or nullptr
  };
  const Row rows[] = {
      {"0.6.0 onwards: recorded", 2.97e6, 2.97e6 / 1.98e9, nullptr},
      {"the 0.1 ms minimum", 200000, 200000 / 1.98e9, nullptr},
      {"earlier files: not recorded", nullptr, kPowerGapRest_s, nullptr},
      {"negative", -5, 0, "SM cycles in [0, 1e11]"},
      {"absurd", 1e15, 0, "SM cycles in [0, 1e11]"},
      {"not a number", "2e6", 0, "timer_lead_cycles"},
  };
  for (const Row& r : rows) {
    INFO(r.what);
    bj::object axes = {{"model_label", "m"}, {"n_layers", 2},  {"d_model", 256}, {"n_q_heads", 4}, {"n_kv_heads", 2},
                       {"head_dim", 64},     {"ffn_dim", 512}, {"vocab", 1000},  {"batch", 1},     {"context", 128}};
    bj::object rec = {{"family", "decode_step"}, {"name", "e2e"}, {"median_s", 1e-3}, {"axes", axes}};
    if (!r.lead.is_null()) rec["timer_lead_cycles"] = r.lead;
    bj::array b;
    b.push_back(rec);
    bj::object root = {{"schema", "kvbench-result/1"},
                       {"harness", {{"version", "0.8.16"}}},
                       {"device", device_json(h100())},
                       {"benchmarks", std::move(b)}};
    if (r.error) {
      CHECK_THROWS_WITH(e2e_points(parse_kvbench(bj::serialize(root), "lead.json")),
                        Catch::Matchers::Contains("timer_lead_cycles") && Catch::Matchers::Contains(r.error));
      continue;
    }
    const auto pts = e2e_points(parse_kvbench(bj::serialize(root), "lead.json"));
    REQUIRE(pts.size() == 1);
    CHECK(pts[0].rest_s == Approx(r.want_rest_s).epsilon(1e-12));
  }
}

TEST_CASE("power fit: decode-attention bursts set their own weight and leave the four constants as they were",
          "[calibration][power]") {
  TimingParams truth;
  truth.power_busy = 0.9, truth.power_per_tensor = 0.36;
  truth.power_rested_headroom_s = 6e-3, truth.power_gap_headroom_s = 0.4e-3;
  const double peak = 989e12;
  struct Row {
    double weight;
  };
  // Weights whose bursts go over the limit (under about 0.75 here no burst is slowed: not identifiable).
  for (const Row& r : {Row{2.0}, Row{1.5}, Row{3.0}}) {
    INFO("decode weight " << r.weight);
    const auto with = synthetic_power(truth, peak, true, r.weight);
    const auto without = synthetic_power(truth, peak, true);
    std::vector<const KvbenchPoint*> pw, po;
    for (const auto& p : with) pw.push_back(&p);
    for (const auto& p : without) po.push_back(&p);
    TimingParams tw, to;
    const FamilyFit f = fit_power_family(pw, peak, tw);
    fit_power_family(po, peak, to);
    CHECK(f.points == static_cast<int>(with.size()));
    CHECK(tw.power_decode_attn_weight == Approx(r.weight).epsilon(0.03));
    CHECK(to.power_decode_attn_weight == 0);  // not measured
    CHECK(tw.power_busy == to.power_busy);
    CHECK(tw.power_per_tensor == to.power_per_tensor);
    CHECK(tw.power_rested_headroom_s == to.power_rested_headroom_s);
    CHECK(tw.power_gap_headroom_s == to.power_gap_headroom_s);
  }
}

TEST_CASE("power fit: invalid burst sets are errors that say what is missing", "[calibration][power][errors]") {
  TimingParams truth;
  truth.power_busy = 0.9, truth.power_per_tensor = 0.36;
  truth.power_rested_headroom_s = 6e-3, truth.power_gap_headroom_s = 0.4e-3;
  struct Row {
    const char* name;
    bool gemm_group;
    std::size_t keep;  // first points kept
    const char* message;
  };
  const Row rows[] = {{"GEMM filler without the GEMM group", false, 1000, "GEMM filler"},
                      {"too few bursts", true, 3, "at least"}};
  for (const Row& r : rows) {
    INFO(r.name);
    const auto pts = synthetic_power(truth, 989e12, r.gemm_group);
    std::vector<const KvbenchPoint*> ptr;
    for (std::size_t i = 0; i < pts.size() && i < r.keep; ++i) ptr.push_back(&pts[i]);
    TimingParams t;
    CHECK_THROWS_WITH(fit_power_family(ptr, 989e12, t), Catch::Contains(r.message));
  }
}

namespace {
// torch_elementwise records following `t`'s eager laws exactly: decode-layout ops at B 1-512 in
// `small_state` ("step" or "cold") and prefill-layout ops at 2048-16384 rows warm, per op class,
// at two widths; one launch gap of `gap` per kernel added, as the harness's in-graph times hold.
std::vector<KvbenchPoint> synthetic_elementwise(const TimingParams& t, double gap, const char* small_state) {
  struct Op {
    const char* kernel;
    EagerOp op;
    double kernels;
  };
  const Op ops[] = {{"rms_norm", EagerOp::rms_norm, 1},  {"residual_add", EagerOp::residual_add, 1},
                    {"silu_mul", EagerOp::silu_mul, 2},  {"rope_q", EagerOp::rope, 5},
                    {"rope_k", EagerOp::rope, 5},        {"kv_append", EagerOp::kv_append, 2},
                    {"embedding", EagerOp::embedding, 1}};
  std::vector<KvbenchPoint> out;
  for (const Op& o : ops) {
    for (double d : {2048.0, 4096.0}) {
      const double hq = d / 128, hkv = d == 2048 ? 1 : 8;  // an MQA width and a GQA one
      for (double rows : {1.0, 2.0, 8.0, 64.0, 512.0, 2048.0, 16384.0}) {
        const bool small = rows <= 1024;
        const std::string k = o.kernel;
        const double heads = k == "rope_q" ? hq : (k == "rope_k" || k == "kv_append") ? hkv : 1;
        const double bytes = rows * (k == "rms_norm" ? 4 * d : k == "silu_mul" ? 35 * d : 20 * heads * 128);
        // one-row views exist only in the decode layout (B requests x 1 token)
        const double view_rows = small ? rows * heads : 2;
        const double time =
            eager_op_time(eager_op_law(t, o.op), t.hbm_copy_Bps, bytes, view_rows, k == "rms_norm" ? d : 0).time_s;
        // a copy_ run as a memcpy node (one row) lists no kernel; it still pays its graph gaps
        const bool memcpy = k == "kv_append" && view_rows == 1;
        KvbenchPoint p;
        p.family = "torch_elementwise";
        p.l2_state = small ? small_state : "warm";
        p.axes = bj::object{{"kernel", k},
                            {"model", "x"},
                            {"rows", rows},
                            {"d_model", d},
                            {"n_q_heads", hq},
                            {"n_kv_heads", hkv},
                            {"kernels_per_op", memcpy ? 0.0 : o.kernels}};
        p.bytes_read_B = bytes;
        p.median_s = time + o.kernels * gap;
        out.push_back(std::move(p));
      }
    }
  }
  return out;
}

TimingParams elementwise_truth() {
  TimingParams t;
  t.hbm_copy_Bps = 3.9e12;
  t.elementwise_bw_fraction = 0.9, t.elementwise_fixed_s = 0.5e-6, t.norm_row_s_per_elem = 1.1e-9;
  t.add_bw_fraction = 1.1, t.add_fixed_s = 0.9e-6;
  t.act_bw_fraction = 0.5, t.act_fixed_s = 4.4e-6, t.act_fixed_one_row_s = 2.3e-6;
  t.rope_bw_fraction = 0.45, t.rope_fixed_s = 8.3e-6, t.rope_fixed_one_row_s = 3.9e-6;
  t.append_bw_fraction = 0.44, t.append_fixed_s = 3.7e-6, t.append_fixed_one_row_s = 1.0e-6;
  t.embed_bw_fraction = 1.0, t.embed_fixed_s = 2.4e-6;
  return t;
}
}  // namespace

TEST_CASE("torch elementwise fit recovers each class's law, one-row variants and the norm's row walk",
          "[calibration][elementwise]") {
  const TimingParams truth = elementwise_truth();
  const double gap = 0.54e-6;
  const auto pts = synthetic_elementwise(truth, gap, "step");
  std::vector<const KvbenchPoint*> ptr;
  for (const auto& p : pts) ptr.push_back(&p);
  TimingParams t;
  t.hbm_copy_Bps = truth.hbm_copy_Bps;
  const auto fits = fit_torch_elementwise(ptr, gap, t);
  REQUIRE(fits.size() == 6);
  for (const auto& f : fits) {
    INFO(f.family);
    CHECK_THAT(f.family, Catch::Contains("step below 1024 rows"));
    CHECK(f.rms_rel_error < 1e-3);
  }
  struct Row {
    const char* name;
    double TimingParams::*member;
  };
  const Row rows[] = {
      {"elementwise_bw_fraction", &TimingParams::elementwise_bw_fraction},
      {"elementwise_fixed_s", &TimingParams::elementwise_fixed_s},
      {"norm_row_s_per_elem", &TimingParams::norm_row_s_per_elem},
      {"add_bw_fraction", &TimingParams::add_bw_fraction},
      {"add_fixed_s", &TimingParams::add_fixed_s},
      {"act_bw_fraction", &TimingParams::act_bw_fraction},
      {"act_fixed_s", &TimingParams::act_fixed_s},
      {"act_fixed_one_row_s", &TimingParams::act_fixed_one_row_s},
      {"rope_bw_fraction", &TimingParams::rope_bw_fraction},
      {"rope_fixed_s", &TimingParams::rope_fixed_s},
      {"rope_fixed_one_row_s", &TimingParams::rope_fixed_one_row_s},
      {"append_fixed_s", &TimingParams::append_fixed_s},
      {"append_fixed_one_row_s", &TimingParams::append_fixed_one_row_s},
      {"embed_fixed_s", &TimingParams::embed_fixed_s},
  };
  for (const Row& r : rows) {
    INFO(r.name);
    CHECK(t.*r.member == Approx(truth.*r.member).epsilon(0.02));
  }
}

TEST_CASE("torch elementwise fit: older files fit their cold points; too few points are an error",
          "[calibration][elementwise][errors]") {
  const TimingParams truth = elementwise_truth();
  const auto pts = synthetic_elementwise(truth, 0.5e-6, "cold");
  std::vector<const KvbenchPoint*> ptr;
  for (const auto& p : pts) ptr.push_back(&p);
  TimingParams t;
  t.hbm_copy_Bps = truth.hbm_copy_Bps;
  const auto fits = fit_torch_elementwise(ptr, 0.5e-6, t);
  CHECK_THAT(fits.front().family, Catch::Contains("cold below 1024 rows"));
  CHECK(t.act_fixed_one_row_s == Approx(truth.act_fixed_one_row_s).epsilon(0.02));
  struct Row {
    const char* what;
    const char* drop;  // every point of this kernel removed
    const char* message;
  };
  const Row bad[] = {{"no norm points", "rms_norm", "torch_elementwise (rms_norm)"},
                     {"no K/V append points", "kv_append", "torch_elementwise (kv_append)"}};
  for (const Row& r : bad) {
    INFO(r.what);
    std::vector<const KvbenchPoint*> kept;
    for (const auto* p : ptr)
      if (p->str("kernel", "test") != r.drop) kept.push_back(p);
    TimingParams tt;
    tt.hbm_copy_Bps = truth.hbm_copy_Bps;
    CHECK_THROWS_WITH(fit_torch_elementwise(kept, 0.5e-6, tt), Catch::Contains(r.message) && Catch::Contains("at least"));
  }
}
