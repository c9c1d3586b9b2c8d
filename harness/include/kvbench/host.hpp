// kvbench host library: everything of the harness that needs no GPU (statistics, stop rule,
// throttle filter, axis products, byte/FLOP formulas, model shapes, JSON and CSV writers).
// Plain C++20, no third-party dependency: it builds in CI and on the GPU machine.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace kvbench {

inline constexpr const char* kVersion = "0.1.0";
inline constexpr const char* kSchema = "kvbench-result/1";

// ---------------------------------------------------------------- statistics
struct Summary {
  std::size_t count = 0;
  double median = 0, mean = 0, stdev = 0, q1 = 0, q3 = 0, min = 0, max = 0, rel_stdev = 0;
};

// Quantile with linear interpolation between order statistics (R type 7, numpy default).
// Throws std::invalid_argument on an empty sample, a non-finite value or q outside [0, 1].
double quantile(std::vector<double> v, double q);
// median/quantiles/mean/unbiased stdev; rel_stdev = stdev/mean. Throws on empty or non-finite input.
Summary summarize(const std::vector<double>& samples);

struct StopRule {
  std::size_t min_samples = 10;   // never stop before this many accepted samples
  std::size_t max_samples = 200;  // hard cap on samples
  double max_rel_stdev = 0.005;   // converged when rel stdev below this ...
  double min_time_s = 0.02;       // ... and at least this much measured time accumulated
  double max_time_s = 0.5;        // measured-time cap
  void validate() const;          // throws std::invalid_argument on inconsistent settings
};
enum class StopReason { none, converged, time_cap, sample_cap };
const char* to_string(StopReason r);
// accumulated_s = sum of accepted sample times (or any measured time the caller tracks).
StopReason should_stop(const StopRule& rule, const std::vector<double>& samples, double accumulated_s);

// Drops samples whose mean SM clock is under threshold x max clock (nvbench: 75 %).
struct ThrottleFilter {
  double max_clock_kHz = 0;
  double threshold = 0.75;
  ThrottleFilter(double max_kHz, double thr = 0.75);  // throws on max <= 0 or thr outside (0, 1]
  // A non-finite or non-positive clock reading is "unknown" and is accepted (cannot judge it).
  bool accept(double clock_kHz) const;
};

// ---------------------------------------------------------------- axes
using AxisValue = std::variant<std::int64_t, double, std::string>;
struct Axis {
  std::string name;
  std::vector<AxisValue> values;
};
using Point = std::vector<std::pair<std::string, AxisValue>>;  // ordered as the axes
// Cartesian product, first axis slowest. Throws on no axes, an empty axis or duplicate names.
std::vector<Point> cartesian(const std::vector<Axis>& axes);
const AxisValue& at(const Point& p, const std::string& name);  // throws std::out_of_range
std::int64_t as_int(const AxisValue& v);                       // throws std::bad_variant_access on type mismatch
double as_double(const AxisValue& v);                          // int or double
const std::string& as_str(const AxisValue& v);

struct Plan {
  std::vector<Point> run;
  std::vector<std::pair<Point, std::string>> skipped;  // with the reason
};
// skip(point) returns a reason to skip, or nullopt to run it. An empty reason is an error.
Plan plan(const std::vector<Axis>& axes, const std::function<std::optional<std::string>(const Point&)>& skip);

// ---------------------------------------------------------------- formulas (per launch)
struct Traffic {
  double bytes_read = 0, bytes_written = 0, flops = 0;
};
enum class MemKernel { read, copy, triad, write };
MemKernel parse_mem_kernel(const std::string& s);  // throws std::invalid_argument
const char* to_string(MemKernel k);
int mem_arrays(MemKernel k);  // arrays touched: read 1, copy 2, triad 3, write 1
// One pass over arrays of array_B bytes each, repeated reps times.
Traffic memory_traffic(MemKernel k, double array_B, double reps = 1);

// Y[M,N] = X[M,K] W[N,K]^T, bf16 in and out: reads 2(NK + MK), writes 2MN, 2MNK FLOPs.
Traffic gemm_traffic(double M, double N, double K, double elem_B = 2);

struct AttnShape {
  std::int64_t batch = 1, kv_len = 1, n_kv_heads = 1, group_size = 1, head_dim = 128;
  double kv_elem_B = 2;     // 2 for bf16, 1 for fp8-e4m3
  std::int64_t splits = 1;  // split-KV partitions (partials written and read when > 1)
  void validate() const;    // throws std::invalid_argument
  std::int64_t n_q_heads() const { return n_kv_heads * group_size; }
};
double kv_bytes(const AttnShape& a);  // B S 2 H_kv d e
// Decode attention, q_len = 1: KV + Q read, O written (bf16), split partials (fp32 O + m + l)
// written and read back by the combine step. FLOPs 4 B H_q S d (QK^T and PV).
Traffic decode_attention_traffic(const AttnShape& a);
// Causal prefill attention over a prompt of kv_len tokens (query t attends to positions 0..t):
// Q, K, V read once, O written (bf16 Q/O). FLOPs 4 B H_q d P(P+1)/2 (the useful QK^T and PV
// products; the tiled kernel also computes the masked part of the diagonal tiles).
Traffic prefill_attention_traffic(const AttnShape& a);
// The KV-read-only variant: reads KV and Q, writes the split partials' checksum only.
Traffic kv_read_traffic(const AttnShape& a);
// Split-KV count: minimises wave quantisation, ceil(B H_kv s / (SMs ctas_per_sm)) / s, over s in
// [1, min(max_splits, kv_len / min_keys)], taking the fewest splits within 5 % of the best. Throws on arguments < 1.
std::int64_t choose_splits(std::int64_t batch, std::int64_t n_kv_heads, std::int64_t kv_len, int sm_count, int ctas_per_sm,
                           std::int64_t min_keys = 256, std::int64_t max_splits = 128);
// Rotating buffer sets so that sets x bytes >= factor x L2 (FlashInfer's rule); at least 1.
std::int64_t rotation_sets(double bytes_per_set, double l2_B, double factor = 5.0);

// ---------------------------------------------------------------- model shapes (decode step)
struct ModelShape {
  std::string label;
  std::int64_t n_layers = 0, d_model = 0, n_q_heads = 0, n_kv_heads = 0, head_dim = 0, ffn_dim = 0, vocab = 0;
  bool tied_embeddings = false;
  std::vector<std::int64_t> kv_producers;  // producer layer of each layer (== i: the layer owns its KV)
  void validate() const;                   // throws std::invalid_argument with the reason
  bool is_producer(std::int64_t layer) const { return kv_producers.at(static_cast<std::size_t>(layer)) == layer; }
  std::int64_t n_producers() const;
  std::int64_t q_dim() const { return n_q_heads * head_dim; }
  std::int64_t kv_dim() const { return n_kv_heads * head_dim; }
};
// Uniform CLA: producer of layer i is c * floor(i / c). Throws on c < 1 or n_layers < 1.
std::vector<std::int64_t> uniform_cla_producers(std::int64_t n_layers, std::int64_t c);
double weight_bytes(const ModelShape& m, double elem_B = 2);  // every weight matrix, embedding and (untied) LM head
double kv_cache_bytes(const ModelShape& m, std::int64_t batch, std::int64_t positions, double kv_elem_B = 2);

struct StepTraffic {
  double weight_read_B = 0, kv_read_B = 0, kv_written_B = 0, act_B = 0, flops = 0, gemm_flops = 0, attn_flops = 0;
  double bytes_read() const { return weight_read_B + kv_read_B + act_B; }
  double bytes_written() const { return kv_written_B; }
};
// One decode step: every request attends to `context` positions (its new token included).
// Activations counted: GEMM inputs/outputs (bf16). Embedding: B rows gathered.
StepTraffic decode_step_traffic(const ModelShape& m, std::int64_t batch, std::int64_t context, double kv_elem_B = 2);
// Prefill of B prompts of P tokens, causal (token t attends to t+1 positions); logits for the last token only.
StepTraffic prefill_traffic(const ModelShape& m, std::int64_t batch, std::int64_t prompt, double kv_elem_B = 2);

// ---------------------------------------------------------------- JSON
class Json {
 public:
  using Array = std::vector<Json>;
  using Object = std::vector<std::pair<std::string, Json>>;  // insertion order kept
  Json() = default;                                          // null
  Json(std::nullptr_t) {}
  Json(bool b) : v_(b) {}
  Json(int i) : v_(static_cast<std::int64_t>(i)) {}
  Json(long i) : v_(static_cast<std::int64_t>(i)) {}
  Json(long long i) : v_(static_cast<std::int64_t>(i)) {}
  Json(unsigned i) : v_(static_cast<std::int64_t>(i)) {}
  Json(unsigned long i) : v_(static_cast<std::int64_t>(i)) {}
  Json(unsigned long long i) : v_(static_cast<std::int64_t>(i)) {}
  Json(double d) : v_(d) {}
  Json(const char* s) : v_(std::string(s)) {}
  Json(std::string s) : v_(std::move(s)) {}
  Json(Array a) : v_(std::move(a)) {}
  Json(Object o) : v_(std::move(o)) {}
  static Json object() { return Json(Object{}); }
  static Json array() { return Json(Array{}); }
  static Json from(const AxisValue& v);
  static Json numbers(const std::vector<double>& v);
  // Object access: set() replaces an existing key or appends. Throws std::logic_error if not an object.
  Json& set(const std::string& key, Json value);
  const Json* find(const std::string& key) const;
  Json& push(Json value);  // arrays only
  bool is_null() const { return std::holds_alternative<std::monostate>(v_); }
  bool is_object() const { return std::holds_alternative<Object>(v_); }
  bool is_array() const { return std::holds_alternative<Array>(v_); }
  const Array& as_array() const { return std::get<Array>(v_); }
  const Object& as_object() const { return std::get<Object>(v_); }
  void write(std::ostream& os, int indent = -1) const;  // indent < 0: compact; NaN/inf -> null
  std::string dump(int indent = -1) const;

 private:
  void write_impl(std::ostream& os, int indent, int depth) const;
  std::variant<std::monostate, bool, std::int64_t, double, std::string, Array, Object> v_;
};
std::string json_escape(const std::string& s);  // with the quotes
std::string format_double(double d);            // shortest round-trip form; "null" for NaN/inf

// ---------------------------------------------------------------- CSV
std::string csv_escape(const std::string& field);
// Flattens benchmark records (JSON objects): fixed columns plus "axes" rendered as k=v;k=v.
void write_csv(std::ostream& os, const std::vector<Json>& records);

// ---------------------------------------------------------------- misc
std::string utc_now_iso8601();
std::string join_args(int argc, char** argv);  // shell-quoted where needed

}  // namespace kvbench
