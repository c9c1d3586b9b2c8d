#include "kvscope/calibration/calibration.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "kvscope/core/error.hpp"
#include "kvscope/core/json_util.hpp"
#include "kvscope/core/sha256.hpp"
#include "kvscope/core/stack.hpp"
#include "kvscope/models/evaluate.hpp"
#include "kvscope/models/fit.hpp"
#include "kvscope/models/timing.hpp"

namespace kvscope::models {

namespace bj = boost::json;

namespace {
constexpr int kMinPoints = 4;

double as_number(const bj::value& v, const std::string& where, const std::string& key) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  if (v.is_double() && std::isfinite(v.get_double())) return v.get_double();
  throw InputError(where, key, "a finite number", bj::serialize(v));
}

const bj::value& member(const bj::object& o, const char* key, const std::string& where, const std::string& path) {
  auto it = o.find(key);
  if (it == o.end()) throw InputError(where, path.empty() ? std::string(key) : path + "." + key, "a value", "missing key");
  return it->value();
}

std::string as_string(const bj::value& v, const std::string& where, const std::string& key) {
  if (!v.is_string()) throw InputError(where, key, "a string", bj::serialize(v));
  return std::string(v.get_string());
}

// A JSON number that must be a whole number in [lo, hi]: checked before the cast, since a
// double outside the integer's range makes the cast undefined behaviour.
std::int64_t as_whole(double v, std::int64_t lo, std::int64_t hi, const std::string& where, const std::string& key) {
  if (!(v >= static_cast<double>(lo) && v <= static_cast<double>(hi)) || v != std::floor(v)) {
    throw InputError(where, key, fmt::format("a whole number in [{}, {}]", lo, hi), fmt::format("{}", v));
  }
  return static_cast<std::int64_t>(v);
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

FamilyFit summarize(const std::string& family, const std::vector<double>& rel_errors, const std::vector<std::string>& labels,
                    std::vector<std::string> params) {
  FamilyFit f;
  f.family = family;
  f.points = static_cast<int>(rel_errors.size());
  f.params = std::move(params);
  double ss = 0;
  for (std::size_t i = 0; i < rel_errors.size(); ++i) {
    ss += rel_errors[i] * rel_errors[i];
    if (std::abs(rel_errors[i]) >= f.max_rel_error) {
      f.max_rel_error = std::abs(rel_errors[i]);
      f.worst = labels[i];
    }
  }
  f.rms_rel_error = rel_errors.empty() ? 0 : std::sqrt(ss / static_cast<double>(rel_errors.size()));
  for (std::size_t i = 0; i < rel_errors.size(); ++i) f.residuals.emplace_back(labels[i], rel_errors[i]);
  return f;
}

// A one-launch sample less what the event timer adds (family 5, event_single); never below
// 10 % of the sample, so a noisy timer measurement cannot make a time negative.
double event_corrected(const KvbenchPoint& p, const TimingParams& t) {
  return std::max(p.median_s - t.launch_event_s, 0.1 * p.median_s);
}

// The SM clock kvbench read during the point over the device's maximum clock (1 when unknown).
double clock_ratio(const KvbenchPoint& p, double clock_max_Hz) {
  if (!(p.sm_clock_mean_Hz > 0) || !(clock_max_Hz > 0)) return 1.0;
  return std::clamp(p.sm_clock_mean_Hz / clock_max_Hz, 0.2, 1.2);
}

// Fills date_utc (the newest run) and fitted_on (every file with its hash); returns the runs'
// dates, sorted and comma-separated, for the source line.
std::string set_provenance(GpuCalibration& c, const std::vector<KvbenchResults>& results) {
  std::vector<std::string> dates;
  for (const auto& r : results) {
    if (std::find(dates.begin(), dates.end(), r.date_utc) == dates.end()) dates.push_back(r.date_utc);
  }
  std::sort(dates.begin(), dates.end());
  c.date_utc = dates.back();
  c.fitted_on.clear();
  for (const auto& r : results) {
    if (!c.fitted_on.empty()) c.fitted_on += "; ";
    c.fitted_on += fmt::format("{} sha256:{}", r.path, r.sha256);
  }
  return fmt::format("{}", fmt::join(dates, ", "));
}

void require_points(const std::string& family, std::size_t n, int min = kMinPoints) {
  if (static_cast<int>(n) < min) {
    throw InputError(fmt::format("kvbench family '{}'", family), "", fmt::format("at least {} measured points to fit", min),
                     fmt::format("{}", n));
  }
}
}  // namespace

double KvbenchPoint::num(const char* key, const std::string& where) const {
  auto it = axes.find(key);
  if (it == axes.end()) throw InputError(where, fmt::format("axes.{}", key), "a number", "missing key");
  return as_number(it->value(), where, fmt::format("axes.{}", key));
}

std::string KvbenchPoint::str(const char* key, const std::string& where) const {
  auto it = axes.find(key);
  if (it == axes.end()) throw InputError(where, fmt::format("axes.{}", key), "a string", "missing key");
  return as_string(it->value(), where, fmt::format("axes.{}", key));
}

std::vector<const KvbenchPoint*> KvbenchResults::family(const std::string& f) const {
  std::vector<const KvbenchPoint*> out;
  for (const auto& p : points) {
    if (p.family == f) out.push_back(&p);
  }
  return out;
}

namespace {
// Ranges of what the fits read (calibrate divides by counts and sizes, takes logarithms of times):
// a zero kernel count, a negative size or a subnormal time would give Infinity / NaN parameters.
// Times: no GPU measurement kvbench or torch_bench makes is below 1 ns (CUDA events resolve
// ~0.5 us) or above a day.
constexpr double kMinMedian_s = 1e-9, kMaxMedian_s = 86400;
constexpr double kMaxAmount = 1e18;  // bytes, FLOPs
constexpr double kMaxCount = 1e12;   // kernels, rows, positions: far above any real run
// Axes that count something (kernels, rows, heads, positions): whole numbers >= 1.
constexpr const char* kCountAxes[] = {"K",
                                      "M",
                                      "N",
                                      "attention_splits",
                                      "batch",
                                      "cla_factor",
                                      "context",
                                      "ctas",
                                      "ctas_per_sm",
                                      "d_model",
                                      "ffn_dim",
                                      "group_size",
                                      "head_dim",
                                      "kernels",
                                      "kernels_per_step",
                                      "kv_len",
                                      "mma_rows_per_cta",
                                      "n",
                                      "n_kv_heads",
                                      "n_layers",
                                      "n_q_heads",
                                      "back_to_back_steps",
                                      "reps_per_launch",
                                      "rotation_sets",
                                      "rows",
                                      "split_heuristic_ctas_per_sm",
                                      "splits",
                                      "tokens_per_cta",
                                      "vocab",
                                      "weight_sets"};
// Counts that may be 0: an op whose copy_ PyTorch runs as a cudaMemcpyAsync (one contiguous row)
// launches no kernel the profiler lists, only a graph memcpy node (torch_bench >= 0.8.0).
constexpr const char* kCountOrZeroAxes[] = {"kernels_per_op"};
// Sizes in bytes that must be positive; and axes that may be 0.
constexpr const char* kPositiveAxes[] = {"array_B", "footprint_B", "kv_bytes", "footprint_over_l2"};
constexpr const char* kNonNegativeAxes[] = {"prompt",       "intervening_B", "rest_s",     "op_alone_s",
                                            "copy_alone_s", "gemm_alone_s",  "copy_bytes", "host_gap_s"};

void check_axes(const bj::object& axes, const std::string& where, const std::string& key) {
  for (const auto& kv : axes) {
    const std::string name(kv.key());
    const std::string path = key + ".axes." + name;
    if (kv.value().is_null() || kv.value().is_string() || kv.value().is_bool() || kv.value().is_array()) continue;
    if (kv.value().is_object()) throw InputError(where, path, "a number, string, boolean or array", "an object");
    const double v = as_number(kv.value(), where, path);
    auto in = [&](const char* const* b, const char* const* e) {
      return std::any_of(b, e, [&](const char* k) { return name == k; });
    };
    if (in(std::begin(kCountAxes), std::end(kCountAxes))) {
      if (!(v >= 1 && v <= kMaxCount && v == std::floor(v))) {
        throw InputError(where, path, fmt::format("a whole number in [1, {:g}]", kMaxCount), fmt::format("{}", v));
      }
    } else if (in(std::begin(kCountOrZeroAxes), std::end(kCountOrZeroAxes))) {
      if (!(v >= 0 && v <= kMaxCount && v == std::floor(v))) {
        throw InputError(where, path, fmt::format("a whole number in [0, {:g}]", kMaxCount), fmt::format("{}", v));
      }
    } else if (in(std::begin(kPositiveAxes), std::end(kPositiveAxes))) {
      if (!(v > 0 && v <= kMaxAmount))
        throw InputError(where, path, fmt::format("a positive number <= {:g}", kMaxAmount), fmt::format("{}", v));
    } else if (in(std::begin(kNonNegativeAxes), std::end(kNonNegativeAxes))) {
      if (!(v >= 0 && v <= kMaxAmount))
        throw InputError(where, path, fmt::format("a number in [0, {:g}]", kMaxAmount), fmt::format("{}", v));
    }
  }
}
}  // namespace

KvbenchResults parse_kvbench(const std::string& text, const std::string& where) {
  const bj::value root = parse_json_text(text, where);
  if (!root.is_object()) throw InputError(where, "", "a kvbench result object", "another JSON value");
  const bj::object& o = root.get_object();
  const std::string schema = as_string(member(o, "schema", where, ""), where, "schema");
  if (schema != "kvbench-result/1") {
    throw InputError(where, "schema", "'kvbench-result/1' (the schema this kvscope understands)", fmt::format("'{}'", schema));
  }
  KvbenchResults r;
  r.path = where;
  r.sha256 = sha256_hex(text);
  const auto& h = member(o, "harness", where, "");
  if (!h.is_object()) throw InputError(where, "harness", "an object", bj::serialize(h));
  r.harness_version = as_string(member(h.get_object(), "version", where, "harness"), where, "harness.version");
  if (auto* g = h.get_object().if_contains("git_sha"); g && g->is_string()) r.git_sha = std::string(g->get_string());
  if (auto* m = h.get_object().if_contains("mode"); m && m->is_string()) r.mode = std::string(m->get_string());
  const auto& d = member(o, "device", where, "");
  if (!d.is_object()) throw InputError(where, "device", "an object", bj::serialize(d));
  const auto& dev = d.get_object();
  r.device.name = as_string(member(dev, "name", where, "device"), where, "device.name");
  if (auto* u = dev.if_contains("uuid"); u && u->is_string()) r.device.uuid = std::string(u->get_string());
  r.device.sm_count = static_cast<int>(as_whole(as_number(member(dev, "sm_count", where, "device"), where, "device.sm_count"), 1,
                                                1 << 20, where, "device.sm_count"));
  r.device.l2_cache_B = as_number(member(dev, "l2_cache_B", where, "device"), where, "device.l2_cache_B");
  r.device.mem_total_B = as_number(member(dev, "mem_total_B", where, "device"), where, "device.mem_total_B");
  if (auto* p = dev.if_contains("driver_peak_bandwidth_Bps"); p && !p->is_null()) {
    r.device.driver_peak_bandwidth_Bps = as_number(*p, where, "device.driver_peak_bandwidth_Bps");
  }
  if (auto* c = dev.if_contains("sm_clock_max_kHz"); c && !c->is_null()) {
    r.device.sm_clock_max_Hz = 1e3 * as_number(*c, where, "device.sm_clock_max_kHz");
  }
  if (auto* run = o.if_contains("run"); run && run->is_object()) {
    if (auto* dt = run->get_object().if_contains("date_utc"); dt && dt->is_string()) r.date_utc = std::string(dt->get_string());
  }
  const auto& b = member(o, "benchmarks", where, "");
  if (!b.is_array()) throw InputError(where, "benchmarks", "an array", bj::serialize(b).substr(0, 40));
  std::size_t i = 0;
  for (const auto& v : b.get_array()) {
    const std::string key = fmt::format("benchmarks[{}]", i++);
    if (!v.is_object()) throw InputError(where, key, "an object", bj::serialize(v).substr(0, 40));
    const auto& e = v.get_object();
    KvbenchPoint p;
    p.family = as_string(member(e, "family", where, key), where, key + ".family");
    if (auto* n = e.if_contains("name"); n && n->is_string()) p.name = std::string(n->get_string());
    const auto& axes = member(e, "axes", where, key);
    if (!axes.is_object()) throw InputError(where, key + ".axes", "an object", bj::serialize(axes).substr(0, 40));
    p.axes = axes.get_object();
    if (auto* l = e.if_contains("l2_state"); l && l->is_string()) p.l2_state = std::string(l->get_string());
    check_axes(p.axes, where, key);
    p.median_s = as_number(member(e, "median_s", where, key), where, key + ".median_s");
    if (!(p.median_s >= kMinMedian_s && p.median_s <= kMaxMedian_s)) {
      throw InputError(where, key + ".median_s", fmt::format("a time in seconds in [{:g}, {:g}]", kMinMedian_s, kMaxMedian_s),
                       fmt::format("{}", p.median_s));
    }
    auto amount = [&](const char* name, double& out) {
      if (auto* x = e.if_contains(name); x && !x->is_null()) {
        out = as_number(*x, where, key + "." + name);
        if (!(out >= 0 && out <= kMaxAmount)) {
          throw InputError(where, key + "." + name, fmt::format("a number in [0, {:g}]", kMaxAmount), fmt::format("{}", out));
        }
      }
    };
    amount("bytes_read_B", p.bytes_read_B);
    amount("bytes_written_B", p.bytes_written_B);
    amount("flop_count", p.flop_count);
    amount("rel_stdev", p.rel_stdev);
    if (auto* x = e.if_contains("verified"); x && !x->is_null()) {
      // "false" (a string) is not true: anything but a boolean is an error, never "verified".
      if (!x->is_bool()) throw InputError(where, key + ".verified", "true or false", describe_json(*x));
      p.verified = x->get_bool();
    }
    if (auto* x = e.if_contains("sm_clock_mean_kHz"); x && !x->is_null()) {
      const double khz = as_number(*x, where, key + ".sm_clock_mean_kHz");
      if (!(khz >= 0 && khz < 1e8))
        throw InputError(where, key + ".sm_clock_mean_kHz", "a clock in kHz (0 to 1e8)", fmt::format("{}", khz));
      p.sm_clock_mean_Hz = 1e3 * khz;
    }
    if (auto* x = e.if_contains("timer_lead_cycles"); x && !x->is_null()) {
      const double cyc = as_number(*x, where, key + ".timer_lead_cycles");
      // 1e11 cycles is 50 s of sleep at 2 GHz: past any timer's lead
      if (!(cyc >= 0 && cyc <= 1e11))
        throw InputError(where, key + ".timer_lead_cycles", "SM cycles in [0, 1e11]", fmt::format("{}", cyc));
      p.lead_cycles = cyc;
    }
    r.points.push_back(std::move(p));
  }
  return r;
}

KvbenchResults load_kvbench(const std::string& path) {
  return parse_kvbench(read_text_file(path), path);
}

void check_same_gpu(const KvbenchResults& r, const GpuSpec& g) {
  const double mem = memory_capacity_B(g);
  const bool sm_ok = r.device.sm_count == g.sm_count;
  const bool l2_ok = std::abs(r.device.l2_cache_B / g.l2_cache_B - 1.0) < 0.10;
  const bool mem_ok = std::abs(r.device.mem_total_B / mem - 1.0) < 0.10;
  if (!(sm_ok && l2_ok && mem_ok)) {
    throw InputError(r.path, "device",
                     fmt::format("results from a {} ({} SMs, {:.0f} MiB L2, {:.1f} GB)", g.name, g.sm_count,
                                 g.l2_cache_B / 1048576.0, mem / 1e9),
                     fmt::format("'{}' ({} SMs, {:.0f} MiB L2, {:.1f} GB)", r.device.name, r.device.sm_count,
                                 r.device.l2_cache_B / 1048576.0, r.device.mem_total_B / 1e9));
  }
}

namespace {
// One calibrate() call: the verified points of a family (`all`), the GPU, the parameters fitted
// so far, the result being built; one member per kvbench family, each fitting its parameters into
// `t` and adding its residuals to `out`.
struct KvbenchFit {
  std::function<std::vector<const KvbenchPoint*>(const std::string&)> all;
  const GpuSpec& base;
  TimingParams& t;
  CalibrationResult& out;
  double l2, clock_max;
  std::string where;
  void memory();
  void l2_residency();
  void launch();
  void elementwise();
  void gemm();
  void attention();
  void prefill_attention();
};

// Family 1: memory ceilings. Plateaus = medians over footprints far beyond (HBM) or well
// inside (L2) the cache.
void KvbenchFit::memory() {
  const auto mem = all("memory");
  require_points("memory", mem.size());
  std::vector<double> read_hbm, copy_hbm, read_l2;
  for (const auto* p : mem) {
    const double f = p->num("footprint_B", where);
    const std::string k = p->str("kernel", where);
    const double bw = (p->bytes_read_B + p->bytes_written_B) / p->median_s;
    if (f >= 8 * l2 && k == "read") read_hbm.push_back(bw);
    if (f >= 8 * l2 && k == "copy") copy_hbm.push_back(bw);
    if (f <= 0.25 * l2 && k == "read" && p->l2_state != "cold") read_l2.push_back(bw);
  }
  require_points("memory (read, footprint >= 8 x L2)", read_hbm.size(), 1);
  t.hbm_read_Bps = median(read_hbm);
  if (!copy_hbm.empty()) t.hbm_copy_Bps = median(copy_hbm);
  if (!read_l2.empty()) t.l2_read_Bps = std::max(median(read_l2), t.hbm_read_Bps);
  // Residuals: each read point against the fitted curve (L2 residency below).
  out.families.push_back(summarize("memory", {}, {}, {"hbm_read_Bps", "hbm_copy_Bps", "l2_read_Bps"}));
}

// Family 4 (and 1's warm footprint sweep): L2 residency C, tau of the logistic hit model.
void KvbenchFit::l2_residency() {
  struct Obs {
    double footprint, intervening, hit;
    std::string label;
  };
  std::vector<Obs> obs;
  const auto reuse = all("cla_reuse");
  std::map<std::pair<double, double>, double> first;
  for (const auto* p : reuse) {
    if (p->str("read", where) == "first") first[{p->num("kv_bytes", where), p->num("intervening_B", where)}] = p->median_s;
  }
  for (const auto* p : reuse) {
    if (p->str("read", where) != "second") continue;
    const double f = p->num("kv_bytes", where), w = p->num("intervening_B", where);
    auto it = first.find({f, w});
    if (it == first.end()) continue;
    // t1 = t0 + F/BW_hbm, t2 = t0 + F (1-h)/BW_hbm + F h/BW_l2 -> h = (t1 - t2) / (F/BW_hbm - F/BW_l2).
    const double denom = f / t.hbm_read_Bps - f / t.l2_read_Bps;
    const double h = std::clamp((it->second - p->median_s) / denom, 0.0, 1.0);
    obs.push_back({f, w, h, fmt::format("reuse F={:.0f} MiB W={:.0f} MiB", f / 1048576, w / 1048576)});
  }
  if (obs.empty()) {
    // Fall back on the warm read sweep of family 1: time(F) = F (h/BW_l2 + (1-h)/BW_hbm).
    for (const auto* p : all("memory")) {
      if (p->str("kernel", where) != "read" || p->l2_state == "cold") continue;
      const double f = p->num("footprint_B", where);
      if (f < 0.1 * l2 || f > 8 * l2) continue;
      const double inv = p->median_s / f;  // s per byte
      const double h = std::clamp((1 / t.hbm_read_Bps - inv) / (1 / t.hbm_read_Bps - 1 / t.l2_read_Bps), 0.0, 1.0);
      obs.push_back({f, 0, h, fmt::format("read F={:.0f} MiB", f / 1048576)});
    }
  }
  if (obs.size() >= 3) {
    auto res = [&](std::span<const double> q, std::span<double> r) {
      TimingParams tt = t;
      tt.l2_capacity_B = q[0];
      tt.l2_transition = q[1];
      for (std::size_t i = 0; i < obs.size(); ++i) r[i] = l2_hit_fraction(tt, obs[i].footprint, obs[i].intervening) - obs[i].hit;
    };
    const std::vector<double> lo = {0.2 * l2, 0.02}, hi = {2.0 * l2, 1.0};
    const NonlinearFit fit = robust_least_squares(res, {0.75 * l2, 0.15}, lo, hi, obs.size(), 0.1);
    t.l2_capacity_B = fit.params[0];
    t.l2_transition = fit.params[1];
    std::vector<double> errs(obs.size());
    res(fit.params, errs);
    std::vector<std::string> labels;
    for (const auto& o : obs) labels.push_back(o.label);
    out.families.push_back(summarize("cla_reuse (L2 hit fraction, absolute)", errs, labels, {"l2_capacity_B", "l2_transition"}));
  }
}

// Family 5 first: launch cost per kernel, and what the timer adds to one-launch samples (taken
// off the family 2/3 samples below, so that their fixed costs are in-graph costs).
void KvbenchFit::launch() {
  std::vector<double> graph, stream, cpu, event;
  for (const auto* p : all("launch")) {
    const double kernels = p->has("kernels") ? p->num("kernels", where) : 1.0;
    const std::string mode = p->str("mode", where);
    const double per = p->median_s / kernels;
    if (mode == "graph") graph.push_back(per);
    if (mode == "stream") stream.push_back(per);
    if (mode == "host_cpu") cpu.push_back(per);
    if (mode == "event_single") event.push_back(per);
  }
  require_points("launch (graph)", graph.size(), 1);
  t.launch_graph_s = median(graph);
  if (!stream.empty()) t.launch_stream_s = median(stream);
  if (!cpu.empty()) t.launch_cpu_s = median(cpu);
  // Older result files lack event_single: then nothing is taken off the samples below.
  t.launch_event_s = event.empty() ? 0.0 : median(event);
  out.families.push_back(summarize("launch", {}, {}, {"launch_graph_s", "launch_stream_s", "launch_cpu_s", "launch_event_s"}));
}

// Family 5b: the stack's elementwise kernels, 20 per CUDA graph. Per-kernel time less the
// graph launch gap (added back per kernel by the timing model) against fixed + bytes / rate.
void KvbenchFit::elementwise() {
  for (const bool is_rope : {false, true}) {
    std::vector<double> bytes, y;
    std::vector<std::string> labels;
    for (const auto* p : all("elementwise")) {
      const std::string k = p->str("kernel", where);
      if ((k == "rope_append") != is_rope) continue;
      const double n = p->num("kernels", where);
      bytes.push_back((p->bytes_read_B + p->bytes_written_B) / n);
      y.push_back(std::max(p->median_s / n - t.launch_graph_s, 0.05 * p->median_s / n));
      labels.push_back(fmt::format("{} {} rows={}", k, p->str("model", where), p->num("rows", where)));
    }
    if (y.empty()) continue;
    require_points(is_rope ? "elementwise (rope_append)" : "elementwise", y.size(), 3);
    auto res = [&](std::span<const double> q, std::span<double> r) {
      TimingParams tt = t;
      tt.elementwise_bw_fraction = tt.rope_bw_fraction = q[0];
      tt.elementwise_fixed_s = tt.rope_fixed_s = q[1];
      for (std::size_t i = 0; i < y.size(); ++i) r[i] = std::log(elementwise_time(tt, bytes[i]).time_s / y[i]);
    };
    const std::vector<double> x0 = {0.8, 1e-6}, lo = {0.05, 0.0}, hi = {2.0, 50e-6};
    const NonlinearFit fit = robust_least_squares(res, x0, lo, hi, y.size());
    (is_rope ? t.rope_bw_fraction : t.elementwise_bw_fraction) = fit.params[0];
    (is_rope ? t.rope_fixed_s : t.elementwise_fixed_s) = fit.params[1];
    std::vector<double> errs(y.size());
    res(fit.params, errs);
    for (auto& e : errs) e = std::expm1(e);
    out.families.push_back(is_rope ? summarize("elementwise (rope_append)", errs, labels, {"rope_bw_fraction", "rope_fixed_s"})
                                   : summarize("elementwise", errs, labels, {"elementwise_bw_fraction", "elementwise_fixed_s"}));
  }
}

// Family 2: weight GEMMs, cold weights. Residual = log(predicted / measured).
void KvbenchFit::gemm() {
  const auto g = all("gemm");
  require_points("gemm", g.size());
  std::vector<double> m, n, k, y, clock, sustained;
  std::vector<std::string> labels;
  for (const auto* p : g) {
    m.push_back(p->num("M", where));
    n.push_back(p->num("N", where));
    k.push_back(p->num("K", where));
    y.push_back(event_corrected(*p, t));
    clock.push_back(clock_ratio(*p, clock_max));
    if (m.back() >= 2048 && p->sm_clock_mean_Hz > 0) sustained.push_back(clock.back());
    labels.push_back(fmt::format("gemm M={} N={} K={}", m.back(), n.back(), k.back()));
  }
  // The clock compute-bound work settles at (power limit): GEMMs of >= 2048 rows run long
  // enough at full tensor load. Without such points the datasheet clock is kept.
  if (!sustained.empty()) t.compute_clock_ratio = median(sustained);
  // Fitted per clock: each point's compute term at the clock kvbench read during it.
  auto res = [&](std::span<const double> q, std::span<double> r) {
    TimingParams tt = t;
    tt.gemm_bw_fraction = q[0], tt.gemm_fixed_s = q[1], tt.gemm_compute_fraction = q[2], tt.gemm_m_half = q[3];
    for (std::size_t i = 0; i < y.size(); ++i) {
      r[i] = std::log(gemm_time(tt, base.bf16_flops * clock[i], m[i], n[i], k[i]).time_s / y[i]);
    }
  };
  const std::vector<double> lo = {0.2, 0.0, 0.05, 0.0}, hi = {1.2, 50e-6, 1.0, 4096};
  const NonlinearFit fit =
      robust_least_squares(res, {t.gemm_bw_fraction, t.gemm_fixed_s, t.gemm_compute_fraction, t.gemm_m_half}, lo, hi, y.size());
  t.gemm_bw_fraction = fit.params[0], t.gemm_fixed_s = fit.params[1], t.gemm_compute_fraction = fit.params[2];
  t.gemm_m_half = fit.params[3];
  std::vector<double> errs(y.size());
  res(fit.params, errs);
  for (double& e : errs) e = std::expm1(e);
  out.families.push_back(summarize(
      "gemm", errs, labels, {"gemm_bw_fraction", "gemm_fixed_s", "gemm_compute_fraction", "gemm_m_half", "compute_clock_ratio"}));
}

// Family 3: decode attention, with the split count the harness used.
void KvbenchFit::attention() {
  struct A {
    double b, kvh, qh, s, d, kv_bytes, splits, y;
    bool fp8;
    std::string label;
  };
  std::vector<A> pts;
  for (const auto* p : all("attention")) {
    if (p->has("variant") && p->str("variant", where) != "full") continue;
    A a;
    a.b = p->num("batch", where), a.kvh = p->num("n_kv_heads", where), a.s = p->num("kv_len", where);
    a.qh = a.kvh * p->num("group_size", where), a.d = p->num("head_dim", where);
    a.fp8 = p->str("kv_dtype", where) == "fp8";
    a.kv_bytes = a.b * a.s * 2 * a.kvh * a.d * (a.fp8 ? 1.0 : 2.0);
    a.splits = p->has("splits") ? p->num("splits", where) : 1.0;
    a.y = event_corrected(*p, t);
    a.label = fmt::format("attn B={} S={} kv={} g={} d={} {}", a.b, a.s, a.kvh, a.qh / a.kvh, a.d, a.fp8 ? "fp8" : "bf16");
    pts.push_back(a);
  }
  require_points("attention", pts.size());
  // Start the compute ceiling just above the highest padded-MMA rate any bf16 point reached: it
  // binds only where a point is compute-bound, so a start below that rate can leave the fit in
  // a local minimum where fp8 points (limited by their own dequantization rate) hold it down.
  for (const A& a : pts) {
    if (a.fp8) continue;
    const double rows = 16.0 * std::ceil(a.qh / a.kvh / 16.0);
    t.attn_compute_flops = std::max(t.attn_compute_flops, 1.1 * 4.0 * a.b * a.kvh * rows * a.s * a.d / a.y);
  }
  auto res = [&](std::span<const double> q, std::span<double> r) {
    TimingParams tt = t;
    tt.attn_bw_fraction = q[0], tt.attn_fixed_s = q[1], tt.attn_units_sat = q[2], tt.attn_compute_flops = q[3];
    tt.attn_fp8_bw_fraction = q[4], tt.attn_combine_per_split_s = q[5];
    for (std::size_t i = 0; i < pts.size(); ++i) {
      const A& a = pts[i];
      r[i] =
          std::log(decode_attention_time_with_splits(tt, a.b, a.kvh, a.qh, a.s, a.d, a.kv_bytes, a.fp8, a.splits).time_s / a.y);
    }
  };
  const std::vector<double> lo = {0.2, 0.0, 8, 1e12, 0.1, 0.0}, hi = {1.2, 100e-6, 8.0 * base.sm_count, 1e15, 1.2, 5e-6};
  // The max() of memory and compute terms makes the loss kinked: start from three compute
  // ceilings around the data-driven one and keep the best fit.
  NonlinearFit fit;
  for (const double scale : {1.0, 0.8, 1.5}) {
    const std::vector<double> x0 = {t.attn_bw_fraction,           t.attn_fixed_s,         t.attn_units_sat,
                                    t.attn_compute_flops * scale, t.attn_fp8_bw_fraction, t.attn_combine_per_split_s};
    NonlinearFit f = robust_least_squares(res, x0, lo, hi, pts.size(), 0.05, 500);
    if (fit.params.empty() || f.rms < fit.rms) fit = std::move(f);
  }
  t.attn_bw_fraction = fit.params[0], t.attn_fixed_s = fit.params[1], t.attn_units_sat = fit.params[2];
  t.attn_compute_flops = fit.params[3], t.attn_fp8_bw_fraction = fit.params[4], t.attn_combine_per_split_s = fit.params[5];
  std::vector<double> errs(pts.size());
  res(fit.params, errs);
  std::vector<std::string> labels;
  for (auto& e : errs) e = std::expm1(e);
  for (const auto& a : pts) labels.push_back(a.label);
  out.families.push_back(summarize("attention", errs, labels,
                                   {"attn_bw_fraction", "attn_fixed_s", "attn_units_sat", "attn_compute_flops",
                                    "attn_fp8_bw_fraction", "attn_combine_per_split_s"}));
}

// Family 3b: causal prefill attention (the same kernel in prefill mode); compute-bound, so one
// parameter: the fraction of the clock-scaled dense peak its executed FLOPs reach.
void KvbenchFit::prefill_attention() {
  struct P {
    double b, qh, prompt, d, kv_bytes, clock, y;
    std::string label;
  };
  std::vector<P> pts;
  for (const auto* p : all("attention_prefill")) {
    P a;
    a.b = p->num("batch", where), a.prompt = p->num("prompt", where), a.d = p->num("head_dim", where);
    const double kvh = p->num("n_kv_heads", where);
    a.qh = kvh * p->num("group_size", where);
    a.kv_bytes = a.b * a.prompt * 2 * kvh * a.d * 2.0;
    a.clock = clock_ratio(*p, clock_max);
    a.y = event_corrected(*p, t);
    a.label = fmt::format("prefill attn B={} P={} kv={} g={} d={}", a.b, a.prompt, kvh, a.qh / kvh, a.d);
    pts.push_back(a);
  }
  if (!pts.empty()) {
    require_points("attention_prefill", pts.size(), 3);
    auto res = [&](std::span<const double> q, std::span<double> r) {
      TimingParams tt = t;
      tt.prefill_attn_compute_fraction = q[0];
      for (std::size_t i = 0; i < pts.size(); ++i) {
        const P& a = pts[i];
        const double bytes = a.kv_bytes + 2 * 2.0 * a.b * a.prompt * a.qh * a.d;
        const double pairs = a.prompt * (a.prompt + 1) / 2;
        r[i] =
            std::log(prefill_attention_time(tt, base.bf16_flops * a.clock, a.b, a.qh, a.prompt, pairs, a.d, bytes).time_s / a.y);
      }
    };
    const std::vector<double> x0 = {t.prefill_attn_compute_fraction}, lo = {0.01}, hi = {1.5};
    const NonlinearFit fit = robust_least_squares(res, x0, lo, hi, pts.size());
    t.prefill_attn_compute_fraction = fit.params[0];
    std::vector<double> errs(pts.size());
    res(fit.params, errs);
    std::vector<std::string> labels;
    for (auto& e : errs) e = std::expm1(e);
    for (const auto& a : pts) labels.push_back(a.label);
    out.families.push_back(summarize("attention_prefill", errs, labels, {"prefill_attn_compute_fraction"}));
  }
}
}  // namespace

CalibrationResult calibrate(const std::vector<KvbenchResults>& results, const GpuSpec& base) {
  if (results.empty()) throw InputError("kvscope calibrate", "", "at least one kvbench result file", "none");
  for (const auto& r : results) check_same_gpu(r, base);
  auto all = [&](const std::string& family) {
    std::vector<const KvbenchPoint*> out;
    for (const auto& r : results) {
      for (const auto* p : r.family(family)) {
        if (p->verified) out.push_back(p);
      }
    }
    return out;
  };
  CalibrationResult out;
  TimingParams t = default_timing_params(base);
  // Each family reads the points and what the families before it fitted (the order matters:
  // launch and its event cost before the GEMMs and attention that subtract them).
  KvbenchFit fit{all, base, t, out, results.front().device.l2_cache_B, results.front().device.sm_clock_max_Hz, "kvbench"};

  fit.memory();
  fit.l2_residency();
  fit.launch();
  fit.elementwise();
  fit.gemm();
  fit.attention();
  fit.prefill_attention();

  GpuCalibration& cal = out.calibration;
  cal.params = t;
  const std::string runs = set_provenance(cal, results);
  cal.source = fmt::format("kvbench {} on {} (runs {})", results.front().harness_version, results.front().device.name, runs);
  return out;
}

std::vector<FamilyFit> fit_torch_elementwise(const std::vector<const KvbenchPoint*>& ew, double gap, TimingParams& t) {
  const std::string where = "torch_bench";
  // Each class's law is eager_op_law / eager_op_time (models/timing.hpp); the members it fits.
  struct Class {
    const char* kernel;
    const char* alias;  // a second kernel name of the class (RoPE of the K view)
    EagerOp op;
    double TimingParams::*frac;
    double TimingParams::*fixed;
    double TimingParams::*one_row;  // nullptr: the class's views are contiguous at any size
    double TimingParams::*row;      // nullptr: no per-row walk
    std::vector<std::string> names;
    double kernels;  // kernels (graph nodes) per op where the profiler counted none (copy_ as a memcpy node)
  };
  using T = TimingParams;
  const Class classes[] = {
      {"rms_norm",
       "",
       EagerOp::rms_norm,
       &T::elementwise_bw_fraction,
       &T::elementwise_fixed_s,
       nullptr,
       &T::norm_row_s_per_elem,
       {"elementwise_bw_fraction", "elementwise_fixed_s", "norm_row_s_per_elem"},
       1},
      {"residual_add",
       "",
       EagerOp::residual_add,
       &T::add_bw_fraction,
       &T::add_fixed_s,
       nullptr,
       nullptr,
       {"add_bw_fraction", "add_fixed_s"},
       1},
      {"silu_mul",
       "",
       EagerOp::silu_mul,
       &T::act_bw_fraction,
       &T::act_fixed_s,
       &T::act_fixed_one_row_s,
       nullptr,
       {"act_bw_fraction", "act_fixed_s", "act_fixed_one_row_s"},
       2},
      {"rope_q",
       "rope_k",
       EagerOp::rope,
       &T::rope_bw_fraction,
       &T::rope_fixed_s,
       &T::rope_fixed_one_row_s,
       nullptr,
       {"rope_bw_fraction", "rope_fixed_s", "rope_fixed_one_row_s"},
       5},
      {"kv_append",
       "",
       EagerOp::kv_append,
       &T::append_bw_fraction,
       &T::append_fixed_s,
       &T::append_fixed_one_row_s,
       nullptr,
       {"append_bw_fraction", "append_fixed_s", "append_fixed_one_row_s"},
       2},
      {"embedding",
       "",
       EagerOp::embedding,
       &T::embed_bw_fraction,
       &T::embed_fixed_s,
       nullptr,
       nullptr,
       {"embed_bw_fraction", "embed_fixed_s"},
       1},
  };
  // Decode-sized ops (rows <= 1024) are fitted on the regime closest to a step's that the files
  // hold: "step" (torch_bench >= 0.8.0: behind the GEMM and ops that precede them in a step), else
  // "cold" (after an L2 flush that also evicts the op's input: 1-2 us slow for small ops), else
  // warm. Larger ops are bandwidth-bound and use the warm points.
  constexpr double kDecodeRows = 1024;
  std::vector<FamilyFit> out;
  for (const Class& c : classes) {
    auto is_class = [&](const KvbenchPoint* p) {
      const std::string k = p->str("kernel", where);
      return k == c.kernel || (*c.alias && k == c.alias);
    };
    bool have_step = false, have_cold = false;
    for (const auto* p : ew) {
      if (!is_class(p) || p->num("rows", where) > kDecodeRows) continue;
      have_step |= p->l2_state == "step";
      have_cold |= p->l2_state == "cold";
    }
    const std::string small_regime = have_step ? "step" : have_cold ? "cold" : "warm";
    std::vector<double> bytes, y, view_rows, row_elems;
    std::vector<bool> is_large;
    std::vector<std::string> labels;
    for (const auto* p : ew) {
      if (!is_class(p)) continue;
      const double rows = p->num("rows", where);
      if (p->l2_state != (rows <= kDecodeRows ? small_regime : std::string("warm"))) continue;
      double k = p->has("kernels_per_op") && !p->axes.at("kernels_per_op").is_null() ? p->num("kernels_per_op", where) : 1.0;
      if (k == 0) k = c.kernels;
      const std::string kern = p->str("kernel", where);
      const char* heads = kern == "rope_q" ? "n_q_heads" : (kern == "rope_k" || kern == "kv_append") ? "n_kv_heads" : "";
      bytes.push_back(p->bytes_read_B + p->bytes_written_B);
      y.push_back(std::max(p->median_s - k * gap, 0.05 * p->median_s));
      // the op's view rows in the decode layout (B requests x heads); the prefill layout's large
      // ops never have one row
      view_rows.push_back(rows * (*heads && p->has(heads) ? p->num(heads, where) : 1.0));
      row_elems.push_back(c.row && p->has("d_model") ? p->num("d_model", where) : 0.0);
      labels.push_back(fmt::format("{} {} rows={} {}", kern, p->str("model", where), rows, p->l2_state));
      is_large.push_back(rows > kDecodeRows);
    }
    require_points(fmt::format("torch_elementwise ({})", c.kernel), y.size(), 3);
    const bool one_row = c.one_row && std::count(view_rows.begin(), view_rows.end(), 1.0) > 0;
    // q = fraction, fixed (us), [one-row fixed (us)], [per-row walk (ns per element)]
    std::vector<double> init{0.8, 2.0}, lo{0.05, 0.0}, hi{3.0, 100.0};
    std::vector<std::string> names{c.names[0], c.names[1]};
    const std::size_t i_one = init.size();
    if (one_row) init.push_back(2.0), lo.push_back(0.0), hi.push_back(100.0), names.push_back(c.names[2]);
    const std::size_t i_row = init.size();
    if (c.row) init.push_back(0.5), lo.push_back(0.0), hi.push_back(100.0), names.push_back(c.names[2]);
    auto law = [&](std::span<const double> q) {
      EagerOpLaw l;
      l.bw_fraction = q[0];
      l.fixed_s = q[1] * 1e-6;
      l.one_row_fixed_s = one_row ? q[i_one] * 1e-6 : 0.0;
      l.row_s_per_elem = c.row ? q[i_row] * 1e-9 : 0.0;
      return l;
    };
    auto res = [&](std::span<const double> q, std::span<double> r) {
      const EagerOpLaw l = law(q);
      for (std::size_t i = 0; i < y.size(); ++i) {
        r[i] = std::log(eager_op_time(l, t.hbm_copy_Bps, bytes[i], view_rows[i], row_elems[i]).time_s / y[i]);
      }
    };
    NonlinearFit fit;
    if (small_regime == "step" && std::count(is_large.begin(), is_large.end(), true) >= 3) {
      // Two stages: the streaming fraction is the prefill-layout kernels' (warm, rows > 1024: the
      // bytes dominate), the small ops' fixed costs, one-row variant and row walk are the step's
      // with that fraction held. Fitted together, the decode layout's faster RoPE / add at
      // B 256-512 pulled the fraction every prefill uses (prefills 2-5 % fast, session 11).
      auto res_large = [&](std::span<const double> q2, std::span<double> r) {
        std::vector<double> q = init;
        q[0] = q2[0], q[1] = q2[1];
        std::vector<double> all(y.size());
        res(q, all);
        std::size_t j = 0;
        for (std::size_t i = 0; i < y.size(); ++i)
          if (is_large[i]) r[j++] = all[i];
      };
      const std::size_t n_large = static_cast<std::size_t>(std::count(is_large.begin(), is_large.end(), true));
      const NonlinearFit large = robust_least_squares(res_large, {init[0], init[1]}, std::vector<double>{lo[0], lo[1]},
                                                      std::vector<double>{hi[0], hi[1]}, n_large);
      // stage 2: every parameter but the fraction (q2 = q without q[0]) on the small ops
      const double frac = large.params[0];
      auto full = [&](std::span<const double> q2) {
        std::vector<double> q{frac};
        q.insert(q.end(), q2.begin(), q2.end());
        return q;
      };
      auto res_small = [&](std::span<const double> q2, std::span<double> r) {
        std::vector<double> all(y.size());
        res(full(q2), all);
        std::size_t j = 0;
        for (std::size_t i = 0; i < y.size(); ++i)
          if (!is_large[i]) r[j++] = all[i];
      };
      const NonlinearFit small = robust_least_squares(res_small, std::vector<double>(init.begin() + 1, init.end()),
                                                      std::vector<double>(lo.begin() + 1, lo.end()),
                                                      std::vector<double>(hi.begin() + 1, hi.end()), y.size() - n_large);
      fit = small;
      fit.params = full(small.params);
    } else {
      fit = robust_least_squares(res, init, lo, hi, y.size());
    }
    const EagerOpLaw l = law(fit.params);
    t.*c.frac = l.bw_fraction;
    t.*c.fixed = l.fixed_s;
    if (c.one_row) t.*c.one_row = l.one_row_fixed_s;
    if (c.row) t.*c.row = l.row_s_per_elem;
    std::vector<double> errs(y.size());
    res(fit.params, errs);
    for (auto& e : errs) e = std::expm1(e);
    out.push_back(summarize(fmt::format("torch_elementwise ({}, {} below {} rows)", c.kernel, small_regime, kDecodeRows), errs,
                            labels, std::move(names)));
  }
  return out;
}

FamilyFit fit_power_family(const std::vector<const KvbenchPoint*>& pw, double dense_peak_flops, TimingParams& t) {
  // Bursts of n back-to-back GEMMs / prefill attentions, alone or each followed by a DRAM copy or
  // a GEMM, after ~0.1 ms or 20 ms of idle. Each group's n = 8 burst after the longest idle is its
  // time at the maximum clock (short enough never to be throttled: its excess is under a tenth of
  // the rested headroom); the fit sets the four constants of power_stretch_s from how longer
  // bursts slow down (docs/model.md §3b, "Board power limit").
  const std::string where = "torch_bench torch_power";
  require_points("torch_power", pw.size());
  struct Burst {
    double n, rest, t_unit, tensor_unit, y;
    std::string label;
    bool decode = false;  // decode attention: its tensor work weighted by power_decode_attn_weight
  };
  std::map<std::string, std::pair<double, double>> ref;  // group -> (rest, per-unit s of its n = 8 burst)
  // A group: one op at one shape with one filler (decode attention at several shapes, torch_bench 0.7.0).
  auto group = [&](const KvbenchPoint* p) {
    if (p->str("op", where) == "decode_attention") {
      std::string shape;  // the shape keys a burst records (all of them since torch_bench 0.6.0)
      for (const char* k : {"batch", "kv_len", "n_q_heads", "n_kv_heads", "head_dim"})
        if (p->has(k)) shape += fmt::format(" {}={}", k, p->num(k, where));
      return fmt::format("decode_attention{} {}", shape, p->str("filler", where));
    }
    return fmt::format("{} M={} {}", p->str("op", where), p->has("M") ? p->num("M", where) : 0.0, p->str("filler", where));
  };
  for (const auto* p : pw) {
    if (p->num("n", where) != 8) continue;
    auto& r = ref[group(p)];
    if (p->num("rest_s", where) >= r.first) r = {p->num("rest_s", where), p->median_s};
  }
  // FLOPs of the GEMM filler: the M = 2048 GEMM group's own op (torch_bench.py fam_power).
  double gemm_filler_flops = 0;
  for (const auto* p : pw) {
    if (p->str("op", where) == "gemm" && p->has("M") && p->num("M", where) == 2048) gemm_filler_flops = p->flop_count;
  }
  std::vector<Burst> pts, dec;
  for (const auto* p : pw) {
    const auto it = ref.find(group(p));
    if (it == ref.end()) continue;  // a group without its n = 8 reference burst cannot be placed
    const std::string filler = p->str("filler", where);
    if (filler == "gemm" && gemm_filler_flops == 0) {
      throw InputError(where, "axes.filler", "a GEMM filler with the M = 2048 GEMM group measured beside it", "'gemm' alone");
    }
    Burst b;
    b.n = p->num("n", where), b.rest = p->num("rest_s", where), b.t_unit = it->second.second, b.y = p->median_s;
    b.tensor_unit = (p->flop_count + (filler == "gemm" ? gemm_filler_flops : 0.0)) / dense_peak_flops;
    b.label = fmt::format("power {} n={} rest={:g} ms", group(p), b.n, 1e3 * b.rest);
    b.decode = p->str("op", where) == "decode_attention";
    (b.decode ? dec : pts).push_back(b);
  }
  require_points("torch_power (bursts with an n = 8 reference)", pts.size());
  // The refill's time constant is fitted only where bursts follow idles between the gap and rested
  // ones (torch_bench --power-rests); with the two alone it is not identified and stays 0 (the step).
  bool between = false;
  for (const Burst& b : pts) between |= b.rest > 2 * kPowerGapRest_s && b.rest < 0.75 * kPowerRestedRest_s;
  // log(model / measured) of one burst under tt's power law: its headroom by the idle before it
  // (power_headroom_after_s), its tensor work counted `weight` times.
  auto log_ratio = [](TimingParams& tt, const Burst& b, double weight) {
    tt.power_headroom_s = power_headroom_after_s(tt, b.rest);
    const double busy = b.n * b.t_unit;
    return std::log((busy + power_stretch_s(tt, busy, weight * b.n * b.tensor_unit)) / (b.n * b.y));
  };
  auto res = [&](std::span<const double> q, std::span<double> r) {
    TimingParams tt = t;
    tt.power_busy = q[0], tt.power_per_tensor = q[1];
    tt.power_rested_headroom_s = q[2] * 1e-3, tt.power_gap_headroom_s = q[3] * 1e-3;
    tt.power_refill_tau_s = between ? q[4] * 1e-3 : 0.0;
    for (std::size_t i = 0; i < pts.size(); ++i) r[i] = log_ratio(tt, pts[i], 1.0);
  };
  std::vector<double> init = {0.9, 0.35, 6.0, 0.4}, lo = {0.3, 0.01, 0.0, 0.0}, hi = {1.5, 3.0, 1000.0, 100.0};
  if (between) init.push_back(5.0), lo.push_back(0.05), hi.push_back(1000.0);
  const NonlinearFit fit = robust_least_squares(res, init, lo, hi, pts.size());
  t.power_busy = fit.params[0], t.power_per_tensor = fit.params[1];
  t.power_rested_headroom_s = fit.params[2] * 1e-3, t.power_gap_headroom_s = fit.params[3] * 1e-3;
  t.power_refill_tau_s = between ? fit.params[4] * 1e-3 : 0.0;
  std::vector<double> errs(pts.size());
  res(fit.params, errs);
  // Decode-attention bursts, when measured: the one weight of their tensor work, the four constants
  // above held (so a profile without them keeps its fit to the last bit).
  if (!dec.empty()) {
    auto res_dec = [&](std::span<const double> q, std::span<double> r) {
      TimingParams tt = t;
      for (std::size_t i = 0; i < dec.size(); ++i) r[i] = log_ratio(tt, dec[i], q[0]);
    };
    const NonlinearFit wf =
        robust_least_squares(res_dec, std::vector<double>{1.0}, std::vector<double>{0.05}, std::vector<double>{50.0}, dec.size());
    t.power_decode_attn_weight = wf.params[0];
    std::vector<double> e(dec.size());
    res_dec(wf.params, e);
    errs.insert(errs.end(), e.begin(), e.end());
    pts.insert(pts.end(), dec.begin(), dec.end());
  }
  for (double& e : errs) e = std::expm1(e);
  std::vector<std::string> labels;
  for (const auto& b : pts) labels.push_back(b.label);
  std::vector<std::string> params = {"power_busy", "power_per_tensor", "power_rested_headroom_s", "power_gap_headroom_s"};
  if (between) params.push_back("power_refill_tau_s");
  if (!dec.empty()) params.push_back("power_decode_attn_weight");
  return summarize("torch_power", errs, labels, params);
}

namespace {
// torch_attention: SDPA decode of this stack's backend; the kernel's structure (row packing,
// tiles, splits) is in packed_decode_attention_time, the fit sets its efficiencies. Two stages:
// the head_dims FA2 runs at its kernels' own width (64, 128, 192, 256 and beyond) fit the kernel's
// efficiencies; then, those fixed, the head_dims it pads or (its 96 kernel) moves in 32-column blocks
// (decode_layout_efficiency) fit the two layout efficiencies alone, so that they cannot move the
// prediction of a shape at 64 / 128 / 256. cuDNN's padded head_dims (80-112, 160, 192) stay in the
// first stage: a padded-column efficiency of its own fitted 0.79 on them and made its end-to-end
// holdout7 / holdout9 worse (3.4 -> 4.2 %, 2.4 -> 2.9 %; session 14).
// `points`: the stack's torch_attention records; `t` holds the fits so far and gets the decode
// attention's; `gap` is the in-graph launch cost every record holds; `sm_count` scales the
// saturation point.
FamilyFit fit_stack_decode_attention(const std::vector<const KvbenchPoint*>& points, const std::string& stack_id, double sm_count,
                                     double gap, TimingParams& t) {
  const std::string where = "torch_bench";
  struct A {
    double b, kvh, qh, s, d, kv_bytes, y;
    std::string label;
  };
  std::vector<A> pts, layout_pts;
  bool narrow = false, padded = false;
  for (const auto* p : points) {
    A a;
    a.b = p->num("batch", where), a.kvh = p->num("n_kv_heads", where), a.s = p->num("kv_len", where);
    a.qh = a.kvh * p->num("group_size", where), a.d = p->num("head_dim", where);
    a.kv_bytes = a.b * a.s * 2 * a.kvh * a.d * 2.0;
    a.y = p->median_s;
    a.label = fmt::format("attn B={} S={} kv={} g={} d={}", a.b, a.s, a.kvh, a.qh / a.kvh, a.d);
    const bool fa2 = t.attn_kernel == DecodeAttnKernel::fa2 && a.d <= 256;
    const bool is_narrow = fa2 && std::fmod(fa2_kernel_head_dim(a.d), 64.0) != 0;
    const bool is_padded = fa2 && a.d < fa2_kernel_head_dim(a.d);
    narrow |= is_narrow, padded |= is_padded;
    (is_narrow || is_padded ? layout_pts : pts).push_back(a);
  }
  require_points(fmt::format("torch_attention (stack {})", stack_id), pts.size());
  bool a64 = false, a256 = false;
  for (const A& a : pts) a64 |= a.d <= 64, a256 |= a.d >= 256;
  // Saturation counts of their own at 64 and 256 for cuDNN only: its 256-wide kernel holds one CTA
  // per SM (packed_decode_attention_time), so it has no lone CTAs there, and its 64-wide CTAs stream
  // less each than its 128-wide ones; FA2's share the 128 saturation count. cuDNN keeps one lone-CTA
  // efficiency (its decode is memory-bound where CTAs run alone: no point constrains a width's own).
  const bool sat256 = a256 && t.attn_kernel == DecodeAttnKernel::cudnn;
  const bool sat64 = a64 && t.attn_kernel == DecodeAttnKernel::cudnn;
  // The tile re-read fraction only where some point's KV head spans several of the kernel's tiles.
  bool multi_tile = false;
  for (const A& a : pts) multi_tile |= a.qh / a.kvh > (t.attn_kernel == DecodeAttnKernel::cudnn ? 16.0 : 64.0);
  auto residuals = [&](const TimingParams& tt, const std::vector<A>& set, std::span<double> r) {
    for (std::size_t i = 0; i < set.size(); ++i) {
      const A& a = set[i];
      double splits = 1;
      const double model = packed_decode_attention_time(tt, a.b, a.kvh, a.qh, a.s, a.d, a.kv_bytes, &splits).time_s;
      r[i] = std::log((model + (splits > 1 ? 2.0 : 1.0) * gap) / a.y);
    }
  };
  auto res = [&](std::span<const double> q, std::span<double> r) {
    TimingParams tt = t;
    tt.attn_bw_fraction = q[0], tt.attn_fixed_s = q[1] * 1e-6, tt.attn_units_sat = q[2] * sm_count;
    tt.attn_compute_flops = q[3] * 1e12, tt.attn_combine_per_split_s = q[4] * 1e-6;
    tt.attn_bw_fraction_d64 = a64 ? q[5] : 0, tt.attn_bw_fraction_d256 = a256 ? q[6] : 0;
    tt.attn_cta_fixed_s = q[7] * 1e-6, tt.attn_lone_cta_efficiency = q[8];
    tt.attn_compute_flops_d64 = a64 ? q[9] * 1e12 : 0, tt.attn_compute_flops_d256 = a256 ? q[10] * 1e12 : 0;
    tt.attn_lone_cta_efficiency_d64 = a64 && !sat64 ? q[11] : 0, tt.attn_lone_cta_efficiency_d256 = a256 && !sat256 ? q[12] : 0;
    tt.attn_units_sat_d256 = sat256 ? q[13] * sm_count : 0, tt.attn_units_sat_d64 = sat64 ? q[14] * sm_count : 0;
    tt.attn_tile_reread_fraction = multi_tile ? q[15] : 0;
    residuals(tt, pts, r);
  };
  // Wave terms (packed_decode_attention_time): a wave's fixed cost in µs, a lone CTA's share of
  // its SM in [0.5, 1] (at head_dim 128, 64 and 256); the saturation counts at 256 and 64 (SMs) as at 128;
  // the share of a later tile's K/V that comes from HBM again, in [0, 1] (fitted where some point's KV
  // head spans several tiles: cuDNN past g 16, FA2 past its 64-row blocks).
  const std::vector<double> lo = {0.2, 0.0, 0.05, 10, 0.0, 0.2, 0.2, 0.0, 0.5, 10, 10, 0.5, 0.5, 0.05, 0.05, 0.0},
                            hi = {1.3, 100.0, 8.0, 2000, 5.0, 1.3, 1.3, 20.0, 1.0, 2000, 2000, 1.0, 1.0, 8.0, 8.0, 1.0};
  // Starts over the compute rates and, where fitted (cuDNN), the per-width saturation counts: the
  // grid holds no unsplit cuDNN point between 64 and 128 CTAs, so those counts have more than one
  // local optimum; the best fit to the grid is kept.
  // The saturation curve's sharpness (attn_sat_sharpness) comes from a grid, 0 being the sharp knee:
  // each value gets the full multi-start fit and the best rms over the grid is kept.
  NonlinearFit fit;
  double best_p = 0;
  for (const double p_sat : {0.0, 1.25, 1.5, 2.0, 3.0}) {
    t.attn_sat_sharpness = p_sat;
    for (const double c0 : {300.0, 600.0, 150.0}) {
      for (const double s0 : {0.6, 1.0}) {
        if (!sat64 && !sat256 && s0 != 0.6) continue;
        NonlinearFit f = robust_least_squares(
            res, std::vector<double>{0.9, 5.0, 1.0, c0, 0.2, 0.9, 0.9, 1.0, 0.7, c0, c0, 0.7, 0.7, s0, s0, 0.2}, lo, hi,
            pts.size(), 0.05, 500);
        if (fit.params.empty() || f.rms < fit.rms) fit = std::move(f), best_p = p_sat;
      }
    }
  }
  t.attn_sat_sharpness = best_p;
  t.attn_bw_fraction = fit.params[0], t.attn_fixed_s = fit.params[1] * 1e-6, t.attn_units_sat = fit.params[2] * sm_count;
  t.attn_compute_flops = fit.params[3] * 1e12, t.attn_combine_per_split_s = fit.params[4] * 1e-6;
  t.attn_bw_fraction_d64 = a64 ? fit.params[5] : 0, t.attn_bw_fraction_d256 = a256 ? fit.params[6] : 0;
  t.attn_cta_fixed_s = fit.params[7] * 1e-6, t.attn_lone_cta_efficiency = fit.params[8];
  t.attn_compute_flops_d64 = a64 ? fit.params[9] * 1e12 : 0, t.attn_compute_flops_d256 = a256 ? fit.params[10] * 1e12 : 0;
  t.attn_lone_cta_efficiency_d64 = a64 && !sat64 ? fit.params[11] : 0,
  t.attn_lone_cta_efficiency_d256 = a256 && !sat256 ? fit.params[12] : 0;
  t.attn_units_sat_d256 = sat256 ? fit.params[13] * sm_count : 0, t.attn_units_sat_d64 = sat64 ? fit.params[14] * sm_count : 0;
  t.attn_tile_reread_fraction = multi_tile ? fit.params[15] : 0;
  std::vector<std::string> params = {"attn_bw_fraction",
                                     "attn_fixed_s",
                                     "attn_units_sat",
                                     "attn_compute_flops",
                                     "attn_combine_per_split_s",
                                     "attn_bw_fraction_d64",
                                     "attn_bw_fraction_d256",
                                     "attn_cta_fixed_s",
                                     "attn_lone_cta_efficiency",
                                     "attn_compute_flops_d64",
                                     "attn_compute_flops_d256",
                                     "attn_lone_cta_efficiency_d64",
                                     "attn_lone_cta_efficiency_d256",
                                     "attn_units_sat_d256",
                                     "attn_units_sat_d64",
                                     "attn_tile_reread_fraction",
                                     "attn_sat_sharpness"};
  if (!layout_pts.empty()) {
    // Stage 2: the layout efficiencies in [0.3, 1.2] (1 where the points hold no such head_dim).
    auto res2 = [&](std::span<const double> q, std::span<double> r) {
      TimingParams tt = t;
      tt.attn_narrow_smem_efficiency = narrow ? q[0] : 0, tt.attn_padded_efficiency = padded ? q[1] : 0;
      residuals(tt, layout_pts, r);
    };
    const NonlinearFit f2 = robust_least_squares(res2, std::vector<double>{0.9, 0.9}, std::vector<double>{0.3, 0.3},
                                                 std::vector<double>{1.2, 1.2}, layout_pts.size(), 0.05, 500);
    t.attn_narrow_smem_efficiency = narrow ? f2.params[0] : 0;
    t.attn_padded_efficiency = padded ? f2.params[1] : 0;
    if (narrow) params.push_back("attn_narrow_smem_efficiency");
    if (padded) params.push_back("attn_padded_efficiency");
  }
  std::vector<A> every = pts;
  every.insert(every.end(), layout_pts.begin(), layout_pts.end());
  std::vector<double> errs(every.size());
  residuals(t, every, errs);
  std::vector<std::string> labels;
  for (auto& e : errs) e = std::expm1(e);
  for (const auto& a : every) labels.push_back(a.label);
  return summarize("torch_attention", errs, labels, std::move(params));
}

// torch_attention_prefill: causal SDPA; compute fraction per head_dim at each point's clock,
// CTA parallelism and fixed cost; the attention clock = median over prompts >= 16384.
// `points`: the stack's torch_attention_prefill records; `per_rep_s` is one repetition's time in
// its sample (the power law's stretch shared by the repetitions of a replay).
// Fitted on the head_dims its fractions stand at (<= 64, 128, >= 256); the points between (80-160,
// torch-attention-prefill-dims) test the log2 interpolation: their residuals come back as a second,
// unfitted family.
std::vector<FamilyFit> fit_stack_prefill_attention(const std::vector<const KvbenchPoint*>& points, const std::string& stack_id,
                                                   const GpuSpec& base, double clock_max, double gap,
                                                   const std::function<double(const KernelTime&, double)>& per_rep_s,
                                                   TimingParams& t) {
  const std::string where = "torch_bench";
  struct P {
    double b, qh, prompt, d, bytes, clock, reps, y;
    std::string label;
  };
  std::vector<P> pts, between;
  std::vector<double> long_clock;
  for (const auto* p : points) {
    P a;
    a.b = p->num("batch", where), a.prompt = p->num("prompt", where), a.d = p->num("head_dim", where);
    const bool at_fraction = a.d <= 64 || a.d == 128 || a.d >= 256;
    const double kvh = p->num("n_kv_heads", where);
    a.qh = kvh * p->num("group_size", where);
    a.bytes = p->bytes_read_B + p->bytes_written_B;
    a.clock = clock_ratio(*p, clock_max);
    if (a.prompt >= 16384 && p->sm_clock_mean_Hz > 0) long_clock.push_back(a.clock);
    // torch_bench.py one_prefill_attention: R = clamp(ceil(2e11 / FLOPs), 1, 16) per replay.
    a.reps = std::clamp(std::ceil(2e11 / std::max(p->flop_count, 1.0)), 1.0, 16.0);
    a.y = std::max(p->median_s - gap, 0.1 * p->median_s);
    a.label = fmt::format("prefill attn B={} P={} kv={} g={} d={}", a.b, a.prompt, kvh, a.qh / kvh, a.d);
    (at_fraction ? pts : between).push_back(a);
  }
  require_points(fmt::format("torch_attention_prefill (stack {})", stack_id), pts.size());
  bool has64 = false, has256 = false;
  for (const P& a : pts) has64 |= a.d <= 64, has256 |= a.d >= 256;
  // FA2 (its launch order is public): q[3] is the lone-CTA efficiency of the causal CTA schedule
  // (causal_cta_tail_factor); cuDNN (its order is not): the CTA count at which the rate saturates.
  const bool schedule = t.prefill_kernel == PrefillAttnKernel::fa2;
  auto set_par = [&](TimingParams& tt, double q3) {
    if (schedule) {
      tt.prefill_attn_lone_cta_efficiency = q3, tt.prefill_attn_units_sat = 0;
    } else {
      tt.prefill_attn_units_sat = q3 * base.sm_count, tt.prefill_attn_lone_cta_efficiency = 0;
    }
  };
  auto res_on = [&](const std::vector<P>& set, std::span<const double> q, std::span<double> r) {
    TimingParams tt = t;
    tt.prefill_attn_compute_fraction = q[0], tt.prefill_attn_fraction_d64 = has64 ? q[1] : 0;
    tt.prefill_attn_fraction_d256 = has256 ? q[2] : 0;
    set_par(tt, q[3]);
    tt.prefill_attn_fixed_s = q[4] * 1e-6;
    for (std::size_t i = 0; i < set.size(); ++i) {
      const P& a = set[i];
      tt.prefill_attn_clock_ratio = a.clock;
      const double pairs = a.prompt * (a.prompt + 1) / 2;
      r[i] = std::log(
          per_rep_s(tiled_prefill_attention_time(tt, base.bf16_flops, a.b, a.qh, a.prompt, pairs, a.d, a.bytes), a.reps) / a.y);
    }
  };
  auto res = [&](std::span<const double> q, std::span<double> r) { res_on(pts, q, r); };
  const NonlinearFit fit = robust_least_squares(res, std::vector<double>{0.4, 0.4, 0.4, schedule ? 0.8 : 1.0, 5.0},
                                                std::vector<double>{0.02, 0.02, 0.02, schedule ? 0.5 : 0.05, 0.0},
                                                std::vector<double>{1.5, 1.5, 1.5, schedule ? 1.0 : 20.0, 200.0}, pts.size());
  t.prefill_attn_compute_fraction = fit.params[0];
  t.prefill_attn_fraction_d64 = has64 ? fit.params[1] : 0;
  t.prefill_attn_fraction_d256 = has256 ? fit.params[2] : 0;
  set_par(t, fit.params[3]);
  t.prefill_attn_fixed_s = fit.params[4] * 1e-6;
  t.prefill_attn_clock_ratio = long_clock.empty() ? t.compute_clock_ratio : median(long_clock);
  std::vector<double> errs(pts.size());
  res(fit.params, errs);
  std::vector<std::string> labels;
  for (auto& e : errs) e = std::expm1(e);
  for (const auto& a : pts) labels.push_back(a.label);
  std::vector<FamilyFit> out = {
      summarize("torch_attention_prefill", errs, labels,
                {"prefill_attn_compute_fraction", "prefill_attn_fraction_d64", "prefill_attn_fraction_d256",
                 schedule ? "prefill_attn_lone_cta_efficiency" : "prefill_attn_units_sat", "prefill_attn_fixed_s",
                 "prefill_attn_clock_ratio"})};
  if (!between.empty()) {
    // The fitted law at the head_dims between (each point at its own clock, as in the fit).
    std::vector<double> e(between.size());
    res_on(between, fit.params, e);
    std::vector<std::string> lb;
    for (auto& x : e) x = std::expm1(x);
    for (const auto& a : between) lb.push_back(a.label);
    out.push_back(summarize("torch_attention_prefill (head_dims 80-224, not fitted)", e, lb, {}));
  }
  return out;
}
}  // namespace

CalibrationResult calibrate_stack(const std::vector<KvbenchResults>& results, const GpuSpec& base, const std::string& stack) {
  const StackDef& def = find_stack(stack, "--stack");
  if (def.id == "kvbench") return calibrate(results, base);
  if (results.empty()) throw InputError("kvscope calibrate", "", "at least one torch_bench result file", "none");
  if (!base.calibration || base.calibration->borrowed) {
    throw InputError("--gpu", "",
                     fmt::format("a GPU whose hardware ceilings are calibrated (kvbench) before stack {} is fitted", def.id),
                     fmt::format("'{}' ({})", base.id, timing_params_origin(base)));
  }
  for (const auto& r : results) check_same_gpu(r, base);
  const std::string where = "torch_bench";
  auto all = [&](const std::string& family, bool stack_only) {
    std::vector<const KvbenchPoint*> out;
    for (const auto& r : results) {
      for (const auto* p : r.family(family)) {
        if (!p->verified) continue;
        if (stack_only && (!p->has("stack") || p->str("stack", where) != def.id)) continue;
        out.push_back(p);
      }
    }
    return out;
  };
  CalibrationResult out;
  // Start from the GPU's own kvbench parameters (whatever stacks the profile already holds, so the
  // fit does not depend on them) with this stack's kernel structure.
  TimingParams t = base.calibration->params;
  {
    const TimingParams s = stack_timing(base, def.id).params;
    t.attn_kernel = s.attn_kernel, t.prefill_kernel = s.prefill_kernel, t.fused_elementwise = s.fused_elementwise;
    t.quantized_kv_kernel = s.quantized_kv_kernel, t.sm_count = s.sm_count;
  }
  const double clock_max = results.front().device.sm_clock_max_Hz;
  const double gap = t.launch_graph_s;  // every torch record is an in-graph time: kernels x gap included

  // A streaming kernel class: t = fixed + bytes / (fraction x copy ceiling), fitted on per-op
  // times less their launch gaps; writes the fraction and the fixed cost.
  auto fit_streaming = [&](const std::string& family, const std::vector<double>& bytes, const std::vector<double>& y,
                           const std::vector<std::string>& labels, double& frac, double& fixed, std::vector<std::string> names) {
    require_points(family, y.size(), 3);
    auto res = [&](std::span<const double> q, std::span<double> r) {
      for (std::size_t i = 0; i < y.size(); ++i) r[i] = std::log((q[1] * 1e-6 + bytes[i] / (q[0] * t.hbm_copy_Bps)) / y[i]);
    };
    const NonlinearFit fit = robust_least_squares(res, std::vector<double>{0.8, 2.0}, std::vector<double>{0.05, 0.0},
                                                  std::vector<double>{3.0, 100.0}, y.size());
    frac = fit.params[0];
    fixed = fit.params[1] * 1e-6;
    std::vector<double> errs(y.size());
    res(fit.params, errs);
    for (auto& e : errs) e = std::expm1(e);
    out.families.push_back(summarize(family, errs, labels, std::move(names)));
  };
  // torch_elementwise: each op class as the step runs it (fit_torch_elementwise).
  for (auto& f : fit_torch_elementwise(all("torch_elementwise", false), gap, t)) out.families.push_back(std::move(f));

  // torch_power (optional): the board power limit (fit_power_family).
  if (const auto pw = all("torch_power", false); !pw.empty()) out.families.push_back(fit_power_family(pw, base.bf16_flops, t));
  // A microbenchmark sample is one graph replay of `reps` repetitions after the timer's short idle:
  // under the power model the burst pays the limit's stretch, shared by its repetitions. Without
  // a power measurement each point is modelled at the SM clock the harness read.
  TimingParams burst_t = t;
  burst_t.power_headroom_s = t.power_gap_headroom_s;
  auto per_rep_s = [&](const KernelTime& k, double reps) {
    return k.time_s + power_stretch_s(burst_t, reps * k.time_s, reps * k.tensor_s) / reps;
  };
  auto gemm_reps = [&](const KvbenchPoint* p, double m, double n, double k) {
    // torch_bench.py fam_gemm / fam_gemm_fp8: all weight sets when M N K < 2e11, else 2.
    return m * n * k < 2e11 && p->has("weight_sets") ? p->num("weight_sets", where) : 2.0;
  };
  const bool governed = t.power_governed();

  // One GEMM family: per point (M, N, K, time less one launch gap, clock, repetitions per
  // sample); `set` writes the fitted parameters q into a TimingParams, `time` is the model.
  auto fit_gemms = [&](const std::vector<const KvbenchPoint*>& pts, const std::string& family, const char* label,
                       const std::vector<double>& init, const std::vector<double>& lo, const std::vector<double>& hi,
                       const std::function<void(TimingParams&, std::span<const double>)>& set,
                       const std::function<KernelTime(const TimingParams&, double, double, double, double)>& time,
                       std::vector<std::string> names) {
    require_points(family, pts.size());
    std::vector<double> m, n, k, y, clock, reps;
    std::vector<std::string> labels;
    for (const auto* p : pts) {
      m.push_back(p->num("M", where));
      n.push_back(p->num("N", where));
      k.push_back(p->num("K", where));
      y.push_back(std::max(p->median_s - gap, 0.1 * p->median_s));
      clock.push_back(governed ? 1.0 : clock_ratio(*p, clock_max));
      reps.push_back(gemm_reps(p, m.back(), n.back(), k.back()));
      labels.push_back(fmt::format("{} M={} N={} K={}", label, m.back(), n.back(), k.back()));
    }
    auto res = [&](std::span<const double> q, std::span<double> r) {
      TimingParams tt = t;
      set(tt, q);
      for (std::size_t i = 0; i < y.size(); ++i) r[i] = std::log(per_rep_s(time(tt, clock[i], m[i], n[i], k[i]), reps[i]) / y[i]);
    };
    const NonlinearFit fit = robust_least_squares(res, init, lo, hi, y.size());
    set(t, fit.params);
    std::vector<double> errs(y.size());
    res(fit.params, errs);
    for (double& e : errs) e = std::expm1(e);
    out.families.push_back(summarize(family, errs, labels, std::move(names)));
  };
  // torch_gemm: F.linear, cold weights.
  fit_gemms(
      all("torch_gemm", false), "torch_gemm", "gemm", {0.9, 3.0, 0.8, 32.0, 6.0, 2.0}, {0.2, 0.0, 0.05, 0.0, 1.5, 0.0},
      {1.2, 50.0, 1.0, 4096, 40.0, 20.0},
      [](TimingParams& tt, std::span<const double> q) {
        tt.gemm_bw_fraction = q[0], tt.gemm_fixed_s = q[1] * 1e-6, tt.gemm_compute_fraction = q[2], tt.gemm_m_half = q[3];
        tt.gemm_overlap_p = q[4], tt.gemm_splitk_s = q[5] * 1e-6;
      },
      [&](const TimingParams& tt, double clock, double m, double n, double k) {
        return gemm_time(tt, base.bf16_flops * clock, m, n, k);
      },
      {"gemm_bw_fraction", "gemm_fixed_s", "gemm_compute_fraction", "gemm_m_half", "gemm_overlap_p", "gemm_splitk_s"});
  // torch_gemm_fp8 (optional): torch._scaled_mm, e4m3 weights and activations, bf16 out; the
  // bf16 fit's fixed cost and M half-point are kept, the fit sets the two fp8 fractions.
  if (const auto g8 = all("torch_gemm_fp8", false); !g8.empty() && base.fp8_flops > 0) {
    fit_gemms(
        g8, "torch_gemm_fp8", "fp8 gemm", {0.8, 0.6}, {0.1, 0.05}, {1.2, 1.0},
        [](TimingParams& tt, std::span<const double> q) { tt.gemm_fp8_bw_fraction = q[0], tt.gemm_fp8_compute_fraction = q[1]; },
        [&](const TimingParams& tt, double clock, double m, double n, double k) {
          return fp8_gemm_time(tt, base.fp8_flops * clock, m, n, k);
        },
        {"gemm_fp8_bw_fraction", "gemm_fp8_compute_fraction"});
  }
  // torch_fp8_cast (optional): the bf16 -> e4m3 activation cast, fixed + bytes / (fraction x copy).
  if (const auto c8 = all("torch_fp8_cast", false); !c8.empty()) {
    std::vector<double> bytes, y;
    std::vector<std::string> labels;
    for (const auto* p : c8) {
      bytes.push_back(p->bytes_read_B + p->bytes_written_B);
      y.push_back(std::max(p->median_s - gap, 0.05 * p->median_s));
      labels.push_back(fmt::format("fp8 cast rows={} width={}", p->num("rows", where), p->num("width", where)));
    }
    fit_streaming("torch_fp8_cast", bytes, y, labels, t.cast_bw_fraction, t.cast_fixed_s, {"cast_bw_fraction", "cast_fixed_s"});
  }

  // torch_attention: SDPA decode of this stack's backend (fit_stack_decode_attention).
  out.families.push_back(fit_stack_decode_attention(all("torch_attention", true), def.id, base.sm_count, gap, t));

  // torch_attention_prefill: causal SDPA (fit_stack_prefill_attention).
  for (FamilyFit& f :
       fit_stack_prefill_attention(all("torch_attention_prefill", true), def.id, base, clock_max, gap, per_rep_s, t))
    out.families.push_back(std::move(f));

  GpuCalibration& c = out.calibration;
  c.params = t;
  const std::string runs = set_provenance(c, results);
  c.source = fmt::format("torch_bench {} on {}, stack {} (runs {}); hardware part: {}", results.front().harness_version,
                         results.front().device.name, def.id, runs, base.calibration->source);
  return out;
}

std::vector<E2ePoint> e2e_points(const KvbenchResults& r) {
  std::vector<E2ePoint> out;
  std::size_t i = 0;
  for (const auto& p : r.points) {
    ++i;
    if (p.family != "decode_step" && p.family != "prefill") continue;
    if (!p.verified) continue;
    const std::string where = fmt::format("{} benchmarks[{}]", r.path, i - 1);
    E2ePoint e;
    e.phase = p.family == "decode_step" ? "decode" : "prefill";
    Architecture& a = e.arch;
    a.id = p.has("model_label") ? p.str("model_label", where) : p.name;
    a.name = a.id;
    // Range-checked before any cast; validate() below then applies the model's own rules.
    constexpr std::int64_t kIntMax = 1 << 30, kBig = std::int64_t{1} << 50;
    auto whole = [&](const char* key, std::int64_t hi) {
      return as_whole(p.num(key, where), 0, hi, where, fmt::format("axes.{}", key));
    };
    a.n_layers = static_cast<int>(whole("n_layers", kIntMax));
    a.d_model = whole("d_model", kBig);
    a.n_q_heads = static_cast<int>(whole("n_q_heads", kIntMax));
    a.n_kv_heads = static_cast<int>(whole("n_kv_heads", kIntMax));
    a.head_dim = static_cast<int>(whole("head_dim", kIntMax));
    a.ffn_dim = whole("ffn_dim", kBig);
    a.vocab = whole("vocab", kBig);
    if (auto* t = p.axes.if_contains("tied_embeddings"); t && !t->is_null()) {
      if (!t->is_bool()) throw InputError(where, "axes.tied_embeddings", "true or false", describe_json(*t));
      a.tied_embeddings = t->get_bool();
    }
    // A producer map of another type is an error: ignoring it would model a CLA point without sharing.
    if (auto* kp = p.axes.if_contains("kv_producers"); kp && !kp->is_null() && !kp->is_array()) {
      throw InputError(where, "axes.kv_producers", "an array of layer indices", describe_json(*kp));
    }
    if (auto* kp = p.axes.if_contains("kv_producers"); kp && kp->is_array()) {
      for (const auto& v : kp->get_array()) {
        a.kv_producer.push_back(
            static_cast<int>(as_whole(as_number(v, where, "axes.kv_producers"), 0, kIntMax, where, "axes.kv_producers")));
      }
    }
    if (p.has("kv_dtype")) a.kv_dtype = parse_kv_dtype(p.str("kv_dtype", where), where);
    if (p.has("weight_dtype")) a.weight_dtype = parse_weight_dtype(p.str("weight_dtype", where), where);
    // Sliding-window layers (torch_bench holdout3): one letter per layer, L = the last `window` positions.
    if (p.has("layer_pattern")) {
      const std::string pat = p.str("layer_pattern", where);
      if (pat.size() != static_cast<std::size_t>(a.n_layers)) {
        throw InputError(where, "axes.layer_pattern", fmt::format("one letter per layer ({})", a.n_layers),
                         fmt::format("{} letters", pat.size()));
      }
      a.layer_kind = expand_layer_pattern(pat, a.n_layers, where);
      a.window = p.has("window") ? whole("window", kBig) : 0;
    }
    validate(a, where);  // before sharing_label: it indexes kv_producer by layer
    a.sharing = sharing_label(a);
    e.workload.batch = whole("batch", kBig);
    e.workload.context = p.has("context") ? whole("context", kBig) : 1;
    e.workload.prompt = p.has("prompt") ? std::max<std::int64_t>(1, whole("prompt", kBig)) : 1;
    e.workload.runtime = p.has("runtime") ? parse_runtime(p.str("runtime", where), where) : Runtime::graph;
    validate(e.workload, where);  // batch 0 / negative / huge context: an error, not a NaN prediction
    e.measured_s = p.median_s;
    e.stack = p.has("stack") ? p.str("stack", where) : "kvbench";
    if (p.has("power_state")) {
      const std::string ps = p.str("power_state", where);
      if (ps != "sustained" && ps != "harness")
        throw InputError(where, "axes.power_state", "'sustained' or 'harness'", fmt::format("'{}'", ps));
      e.sustained = ps == "sustained";
    }
    e.rest_s = p.lead_cycles > 0 && r.device.sm_clock_max_Hz > 0 ? p.lead_cycles / r.device.sm_clock_max_Hz : kPowerGapRest_s;
    e.kernels = p.has("kernels_per_step") && !p.axes.at("kernels_per_step").is_null() ? p.num("kernels_per_step", where) : 0;
    e.label = e.phase == "decode" ? fmt::format("{} decode B={} S={}", a.id, e.workload.batch, e.workload.context)
                                  : fmt::format("{} prefill B={} P={}", a.id, e.workload.batch, e.workload.prompt);
    if (e.sustained) e.label += " back-to-back";
    out.push_back(std::move(e));
  }
  return out;
}

ValidationReport validate_against(const KvbenchResults& r, const GpuSpec& gpu, const std::string& stack) {
  check_same_gpu(r, gpu);
  ValidationReport rep;
  const StackTiming st = stack_timing(gpu, stack);
  TimingParams t = st.params;
  double sum = 0, sum_d = 0, sum_p = 0;
  int n_d = 0, n_p = 0;
  for (auto& e : e2e_points(r)) {
    if (e.stack != st.stack) continue;
    const ArchProfile prof = make_profile(e.arch, 1);
    ValidationRow row;
    t.power_headroom_s = e.sustained ? 0.0 : power_headroom_after_s(st.params, e.rest_s);
    row.predicted = e.phase == "decode"
                        ? decode_step(prof, gpu, t, double(e.workload.batch), double(e.workload.context), e.workload.runtime)
                        : prefill(prof, gpu, t, double(e.workload.batch), double(e.workload.prompt), e.workload.runtime);
    row.predicted_s = row.predicted.time_s;
    row.error_pct = 100.0 * (row.predicted_s - e.measured_s) / e.measured_s;
    row.point = std::move(e);
    const double a = std::abs(row.error_pct);
    sum += a;
    if (row.point.phase == "decode")
      sum_d += a, ++n_d;
    else
      sum_p += a, ++n_p;
    if (a >= rep.worst_abs_pct) rep.worst_abs_pct = a, rep.worst_label = row.point.label;
    rep.rows.push_back(std::move(row));
  }
  if (rep.rows.empty()) {
    throw InputError(r.path, "benchmarks",
                     st.stack == "kvbench"
                         ? std::string("end-to-end points (family decode_step / prefill)")
                         : fmt::format("end-to-end points (family decode_step / prefill) of stack {}", st.stack),
                     "none");
  }
  rep.mape_pct = sum / static_cast<double>(rep.rows.size());
  rep.decode_mape_pct = n_d ? sum_d / n_d : 0;
  rep.prefill_mape_pct = n_p ? sum_p / n_p : 0;
  return rep;
}

}  // namespace kvscope::models
