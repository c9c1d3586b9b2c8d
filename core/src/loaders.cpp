#include "kvscope/core/loaders.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>
#include <mutex>

#include "kvscope/core/embedded_data.hpp"
#include "kvscope/core/error.hpp"
#include "kvscope/core/hf_config.hpp"
#include "kvscope/core/json_util.hpp"
#include "kvscope/core/units.hpp"
#include "model_bounds.hpp"

namespace kvscope {

namespace bj = boost::json;

namespace {

// ---- Bounds (see loaders.hpp) ------------------------------------------------------------------
using namespace model_bounds;

const std::vector<std::string> kMlpKinds = {"swiglu", "plain", "moe"};
const std::vector<std::string> kKvDtypes = {"bf16", "fp16", "fp8", "int8", "int4"};
const std::vector<std::string> kNamedPatterns = {"KeepEnds", "DenseFront", "DenseBack"};

bool is_kebab_id(const std::string& id) {
  if (id.empty() || id.size() > 100) return false;
  bool prev_sep = true;  // no leading separator
  for (char c : id) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    const bool sep = c == '-' || c == '.';
    if (!alnum && !sep) return false;
    if (sep && prev_sep) return false;
    prev_sep = sep;
  }
  return !prev_sep;
}

std::string read_id(JsonObjectReader& r) {
  const std::string id = r.required_string("id", false, kMaxNameChars);
  if (r.clean() && !is_kebab_id(id)) {
    r.fail("id", "a kebab-case id (lowercase letters and digits in words joined by '-' or '.', e.g. 'llama-3-8b')",
           bj::serialize(bj::value(id)));
  }
  return id;
}

void check_schema(JsonObjectReader& r, const char* schema) {
  const bj::value* v = r.get("schema");
  if (!v) throw InputError(fmt::format("{}: missing key 'schema' (expected '{}')", r.file(), schema));
  if (!v->is_string()) r.fail("schema", fmt::format("'{}'", schema), describe_json(*v));
  const std::string s(v->get_string());
  if (s != schema) {
    std::string found = fmt::format("'{}'", s);
    const std::string family = std::string(schema).substr(0, std::string(schema).find('/'));
    if (s.rfind(family + "/", 0) == 0) found += " (a different version of the schema: this kvscope reads version 1)";
    r.fail("schema", fmt::format("'{}'", schema), found);
  }
}

// Presets must say where their numbers come from; a user's own file may leave it out (its
// provenance is then the file itself).
Provenance read_model_source(JsonObjectReader& r, bool user_file) {
  if (user_file && !r.has("source")) {
    r.know({"source"});
    return {r.file(), "user file without a source"};
  }
  JsonObjectReader s = r.required_object("source");
  Provenance p;
  p.source = s.required_string("url");
  p.notes = s.optional_string("notes", true).value_or("");
  s.finish();
  return p;
}

int as_int(std::int64_t v) {
  return static_cast<int>(v);
}

// Find a data file among the embedded ones.
const EmbeddedFile* embedded(const std::string& path) {
  for (const auto& f : embedded_files()) {
    if (f.path == path) return &f;
  }
  return nullptr;
}

std::vector<std::string> embedded_ids(const std::string& dir) {
  std::vector<std::string> ids;
  const std::string prefix = dir + "/";
  for (const auto& f : embedded_files()) {
    const std::string p(f.path);
    if (p.rfind(prefix, 0) == 0 && p.size() > prefix.size() + 5 && p.substr(p.size() - 5) == ".json" &&
        p.find('/', prefix.size()) == std::string::npos) {
      ids.push_back(p.substr(prefix.size(), p.size() - prefix.size() - 5));
    }
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

[[noreturn]] void unknown_preset(const std::string& kind, const std::string& id, const std::vector<std::string>& ids,
                                 const std::string& list_cmd) {
  std::string closest;
  for (const auto& c : closest_names(id, ids, 3)) closest += (closest.empty() ? "" : ", ") + c;
  throw InputError(
      fmt::format("unknown {} preset '{}' (closest: {}; `kvscope {}` lists all {}; a file path must contain "
                  "'/' or end in .json)",
                  kind, id, closest, list_cmd, ids.size()));
}

// The bundled preset `<folder>/<id>.json` read by `parse`; its id must be its file name. No such
// preset: InputError naming the closest ids (`kvscope <folder>` lists them, `kind` names them).
template <typename T>
T bundled_preset(const std::string& kind, const std::string& folder, const std::string& id,
                 T (*parse)(const bj::value&, const std::string&, bool)) {
  const std::string rel = folder + "/" + id + ".json";
  const EmbeddedFile* f = embedded(rel);
  if (!f) unknown_preset(kind, id, embedded_ids(folder), folder);
  T t = parse(parse_json_text(f->content, rel), rel, false);
  if (t.id != id) throw ConfigError(rel, "id", fmt::format("'{}' (the file name)", id), fmt::format("'{}'", t.id));
  return t;
}

// A double written to JSON: integral values as integers (readable presets), others as doubles.
bj::value number(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9e15) return bj::value(static_cast<std::int64_t>(v));
  return bj::value(v);
}

// Unit conversion for output that round-trips where the value was read from a short decimal:
// x_SI / unit, rounded to 15 significant digits when that reproduces x_SI after * unit.
double to_unit(double si, double unit) {
  const double raw = si / unit;
  // strtod, not stod: a subnormal (a fuzzer found 4.2e-320) is ERANGE, which stod throws.
  const double rounded = std::strtod(fmt::format("{:.15g}", raw).c_str(), nullptr);
  return rounded * unit == si ? rounded : raw;
}

}  // namespace

bool looks_like_path(const std::string& s) {
  return s.find('/') != std::string::npos || (s.size() >= 5 && s.substr(s.size() - 5) == ".json");
}

// ======================================================================================
// Architecture
// ======================================================================================

namespace {
void read_architecture(JsonObjectReader& r, Architecture& a, const std::string& where, bool user_file);
void read_gpu(JsonObjectReader& r, GpuSpec& g, const std::string& where, bool user_file);

// Reads one model or GPU file reporting every error of the file at once (collecting reader):
// checks across values run only while nothing is wrong yet, since a value that failed reads as a
// stand-in.
template <typename T>
T read_collecting(const bj::value& v, const std::string& where, bool user_file, const char* schema,
                  void (*read)(JsonObjectReader&, T&, const std::string&, bool)) {
  JsonObjectReader r(v, where);
  check_schema(r, schema);
  r.collect_errors();
  T out;
  try {
    read(r, out, where, user_file);
  } catch (const InputError&) {
    // A check that stopped the reading: on its own it is the error; after recorded ones it may
    // be their consequence, so those are reported.
    if (r.clean()) throw;
  }
  r.throw_collected();
  return out;
}
}  // namespace

Architecture parse_architecture(const bj::value& v, const std::string& where, bool user_file) {
  Architecture a = read_collecting<Architecture>(v, where, user_file, kModelSchema, read_architecture);
  // Normalize: a producer map in which every layer stores its own K/V is "no sharing".
  if (!a.kv_producer.empty() && kv_layer_count(a) == a.n_layers) a.kv_producer.clear();
  validate(a, where);
  a.sharing = sharing_label(a);
  return a;
}

namespace {
void read_architecture(JsonObjectReader& r, Architecture& a, const std::string& where, bool user_file) {
  a.id = read_id(r);
  a.name = r.required_string("name", false, kMaxNameChars);
  a.n_layers = as_int(r.required_int("n_layers", 1, kMaxLayers));
  a.d_model = r.required_int("d_model", 1, kMaxDModel);
  a.n_q_heads = as_int(r.required_int("n_q_heads", 1, kMaxHeads));
  a.n_kv_heads = as_int(r.required_int("n_kv_heads", 1, kMaxHeads));
  a.head_dim = as_int(r.required_int("head_dim", 1, kMaxHeadDim));
  if (r.clean() && a.n_q_heads % a.n_kv_heads != 0) {
    r.fail_config("n_kv_heads", fmt::format("a divisor of n_q_heads ({})", a.n_q_heads), std::to_string(a.n_kv_heads));
  }
  a.mlp = parse_mlp_kind(r.required_enum("mlp", kMlpKinds), where);

  // MoE block: required iff mlp = moe.
  r.know({"moe"});
  if (a.mlp == MlpKind::moe) {
    JsonObjectReader m = r.required_object("moe");
    a.moe.n_routed = as_int(m.required_int("n_routed", 1, kMaxExperts));
    a.moe.n_active = as_int(m.required_int("n_active", 1, a.moe.n_routed));
    a.moe.n_shared = as_int(m.optional_int("n_shared", 0, kMaxExperts).value_or(0));
    a.moe.expert_ffn = m.required_int("expert_ffn", 1, kMaxFfn);
    a.moe.n_dense_layers = as_int(m.optional_int("n_dense_layers", 0, a.n_layers).value_or(0));
    m.finish();
  } else if (r.has("moe")) {
    r.fail("moe", fmt::format("no 'moe' block (mlp is '{}'; set \"mlp\": \"moe\" to use experts)", to_string(a.mlp)),
           "a 'moe' block");
  }
  // ffn_dim: the dense MLP width; not needed by a model whose every layer is MoE.
  const bool needs_ffn = a.mlp != MlpKind::moe || a.moe.n_dense_layers > 0;
  if (needs_ffn) {
    a.ffn_dim = r.required_int("ffn_dim", 1, kMaxFfn);
  } else {
    a.ffn_dim = r.optional_int("ffn_dim", 1, kMaxFfn).value_or(0);
  }

  if (auto m = r.optional_object("mla")) {
    MlaSpec s;
    s.kv_lora_rank = as_int(m->required_int("kv_lora_rank", 1, kMaxHeadDim));
    s.qk_rope_dim = as_int(m->required_int("qk_rope_dim", 1, kMaxHeadDim));
    s.qk_nope_dim = as_int(m->required_int("qk_nope_dim", 1, kMaxHeadDim));
    s.v_head_dim = as_int(m->required_int("v_head_dim", 1, kMaxHeadDim));
    s.q_lora_rank = as_int(m->optional_int("q_lora_rank", 0, kMaxHeadDim).value_or(0));
    m->finish();
    a.mla = s;
  }
  a.vocab = r.required_int("vocab", 1, kMaxVocab);
  a.tied_embeddings = r.required_bool("tied_embeddings");
  a.qkv_bias = r.optional_bool("qkv_bias").value_or(false);

  // Layer sharing: at most one of cla_factor | kv_producers | sharing_pattern.
  r.know({"cla_factor", "kv_producers", "sharing_pattern"});
  std::vector<std::string> given;
  for (const char* k : {"cla_factor", "kv_producers", "sharing_pattern"}) {
    if (r.has(k)) given.emplace_back(k);
  }
  if (given.size() > 1) {
    std::string both;
    for (const auto& g : given) both += (both.empty() ? "'" : " and '") + g + "'";
    r.fail_config(given[1], "at most one of 'cla_factor', 'kv_producers', 'sharing_pattern'", both);
  }
  if (auto c = r.optional_int("cla_factor", 1, kMaxLayers)) {
    if (r.clean() && *c > a.n_layers) {
      r.fail_config("cla_factor", fmt::format("an integer in 1..n_layers ({})", a.n_layers), std::to_string(*c));
    }
    if (r.clean() && *c > 1) a.kv_producer = cla_producers(a.n_layers, as_int(*c));
  } else if (r.clean() && r.has("kv_producers")) {
    const auto n = static_cast<std::size_t>(a.n_layers);
    const bj::value& raw = *r.get("kv_producers");
    if (!raw.is_array())
      r.fail("kv_producers", fmt::format("an array of {} layer indices (one per layer)", n), describe_json(raw));
    const bj::array& arr = raw.get_array();
    if (arr.size() != n) {
      r.fail_config("kv_producers", fmt::format("an array of {} layer indices (one per layer)", n), describe_json(raw));
    }
    a.kv_producer.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      const std::string key = fmt::format("kv_producers[{}]", i);
      const std::int64_t p = JsonObjectReader::to_int(arr[i], where, key, 0, a.n_layers - 1);
      if (p > static_cast<std::int64_t>(i)) {
        r.fail_config(key, fmt::format("a layer at or below {} (K/V cannot come from a later layer)", i), std::to_string(p));
      }
      a.kv_producer.push_back(as_int(p));
    }
  } else if (auto pat = r.optional_enum("sharing_pattern", kNamedPatterns)) {
    a.kv_producer = named_pattern_producers(*pat, a.n_layers, where);
  }

  // Local / global layers.
  const std::string pattern = r.optional_string("layer_pattern").value_or("G");
  a.layer_kind = expand_layer_pattern(r.clean() ? pattern : "G", a.n_layers, where);
  const bool any_local = std::any_of(a.layer_kind.begin(), a.layer_kind.end(), [](LayerKind k) { return k == LayerKind::local; });
  if (any_local) {
    a.window = r.required_int("window", 1, kMaxWindow);
  } else if (r.clean() && r.has("window")) {
    r.fail_config("window", "no window (layer_pattern has no 'L' layers; add local layers or remove the key)",
                  describe_json(*r.get("window")));
  } else {
    r.know({"window"});
  }

  a.kv_dtype = parse_kv_dtype(r.optional_enum("kv_dtype", kKvDtypes).value_or("bf16"), where);
  a.kv_quant_group = as_int(r.optional_int("kv_quant_group", 1, kMaxQuantGroup).value_or(128));
  a.weight_dtype = parse_weight_dtype(r.optional_enum("weight_dtype", kKvDtypes).value_or("bf16"), where);
  a.weight_group = as_int(r.optional_int("weight_group", 1, kMaxQuantGroup).value_or(128));
  a.max_position_embeddings = r.optional_int("max_position_embeddings", 1, 1000000000).value_or(0);
  a.published_params = r.optional_double("published_params", 1, kMaxParams);
  a.published_active_params = r.optional_double("published_active_params", 1, kMaxParams);
  if (r.clean() && a.published_params && a.published_active_params && *a.published_active_params > *a.published_params) {
    r.fail_config("published_active_params", fmt::format("at most published_params ({:g})", *a.published_params),
                  fmt::format("{:g}", *a.published_active_params));
  }
  a.provenance = read_model_source(r, user_file);
  r.finish();
}
}  // namespace

void add_model_shape_json(bj::object& o, const Architecture& a) {
  o["id"] = a.id;
  o["name"] = a.name;
  o["n_layers"] = a.n_layers;
  o["d_model"] = a.d_model;
  o["n_q_heads"] = a.n_q_heads;
  o["n_kv_heads"] = a.n_kv_heads;
  o["head_dim"] = a.head_dim;
}

bj::value to_json(const Architecture& a) {
  bj::object o;
  o["schema"] = kModelSchema;
  add_model_shape_json(o, a);
  o["mlp"] = to_string(a.mlp);
  if (a.ffn_dim > 0) o["ffn_dim"] = a.ffn_dim;
  if (a.mlp == MlpKind::moe) {
    o["moe"] = bj::object{{"n_routed", a.moe.n_routed},
                          {"n_active", a.moe.n_active},
                          {"n_shared", a.moe.n_shared},
                          {"expert_ffn", a.moe.expert_ffn},
                          {"n_dense_layers", a.moe.n_dense_layers}};
  }
  if (a.mla) {
    o["mla"] = bj::object{{"kv_lora_rank", a.mla->kv_lora_rank},
                          {"qk_rope_dim", a.mla->qk_rope_dim},
                          {"qk_nope_dim", a.mla->qk_nope_dim},
                          {"v_head_dim", a.mla->v_head_dim},
                          {"q_lora_rank", a.mla->q_lora_rank}};
  }
  o["vocab"] = a.vocab;
  o["tied_embeddings"] = a.tied_embeddings;
  o["qkv_bias"] = a.qkv_bias;
  if (!a.kv_producer.empty() && kv_layer_count(a) != a.n_layers) {
    const std::string label = sharing_label(a);
    if (label.rfind("CLA", 0) == 0) {
      o["cla_factor"] = std::stoi(label.substr(3));
    } else if (std::find(kNamedPatterns.begin(), kNamedPatterns.end(), label) != kNamedPatterns.end()) {
      o["sharing_pattern"] = label;
    } else {
      bj::array p;
      for (int x : a.kv_producer) p.push_back(x);
      o["kv_producers"] = std::move(p);
    }
  }
  // Shortest cyclic pattern that reproduces layer_kind.
  const auto& k = a.layer_kind;
  std::string pattern = "G";
  for (std::size_t period = 1; period <= k.size(); ++period) {
    bool ok = true;
    for (std::size_t i = period; i < k.size() && ok; ++i) ok = k[i] == k[i % period];
    if (ok) {
      pattern.clear();
      for (std::size_t i = 0; i < period; ++i) pattern += k[i] == LayerKind::local ? 'L' : 'G';
      break;
    }
  }
  if (pattern != "G") o["layer_pattern"] = pattern;
  if (pattern.find('L') != std::string::npos) o["window"] = a.window;
  o["kv_dtype"] = to_string(a.kv_dtype);
  o["kv_quant_group"] = a.kv_quant_group;
  o["weight_dtype"] = to_string(a.weight_dtype);
  o["weight_group"] = a.weight_group;
  if (a.max_position_embeddings > 0) o["max_position_embeddings"] = a.max_position_embeddings;
  if (a.published_params) o["published_params"] = number(*a.published_params);
  if (a.published_active_params) o["published_active_params"] = number(*a.published_active_params);
  o["source"] = bj::object{{"url", a.provenance.source}, {"notes", a.provenance.notes}};
  return o;
}

Architecture load_architecture(const std::string& preset_or_path) {
  if (looks_like_path(preset_or_path)) {
    const bj::value v = parse_json_text(read_text_file(preset_or_path), preset_or_path);
    if (is_hf_config(v)) return parse_hf_config(v, preset_or_path);
    return parse_architecture(v, preset_or_path, true);
  }
  return bundled_preset<Architecture>("model", "models", preset_or_path, parse_architecture);
}

// ======================================================================================
// GPU
// ======================================================================================

namespace {

struct CalKey {
  const char* key;
  double TimingParams::*field;
  double unit;  // JSON value * unit = SI
  double min;   // exclusive when min_exclusive
  double max;
  bool min_exclusive;
  bool optional = false;   // keys added after kvscope-gpu/1 profiles were written: default when absent
  bool omit_zero = false;  // written only when measured (non-zero)
};

// The calibration block's keys, in output order (the mapping documented in loaders.hpp).
const std::vector<CalKey>& cal_keys() {
  using T = TimingParams;
  static const std::vector<CalKey> keys = {
      {"hbm_read_GBps", &T::hbm_read_Bps, units::kGB, 0, 1e6, true},
      {"hbm_copy_GBps", &T::hbm_copy_Bps, units::kGB, 0, 1e6, true},
      {"l2_read_GBps", &T::l2_read_Bps, units::kGB, 0, 1e6, true},
      {"l2_capacity_MiB", &T::l2_capacity_B, units::kMiB, 0, 1e6, true},
      {"l2_transition", &T::l2_transition, 1, 0, 10, true},
      {"compute_clock_ratio", &T::compute_clock_ratio, 1, 0, 1.5, true},
      {"gemm_bw_fraction", &T::gemm_bw_fraction, 1, 0, 2, true},
      {"gemm_fixed_us", &T::gemm_fixed_s, units::kMicro, 0, 1e6, false},
      {"gemm_compute_fraction", &T::gemm_compute_fraction, 1, 0, 2, true},
      {"gemm_m_half", &T::gemm_m_half, 1, 0, 1e9, false},
      {"attn_bw_fraction", &T::attn_bw_fraction, 1, 0, 2, true},
      {"attn_fixed_us", &T::attn_fixed_s, units::kMicro, 0, 1e6, false},
      {"attn_units_sat", &T::attn_units_sat, 1, 0, 1e9, true},
      {"attn_compute_TFLOPS", &T::attn_compute_flops, units::kTera, 0, 1e6, true},
      {"attn_fp8_bw_fraction", &T::attn_fp8_bw_fraction, 1, 0, 2, true},
      {"attn_combine_per_split_us", &T::attn_combine_per_split_s, units::kMicro, 0, 1e6, false},
      {"prefill_attn_compute_fraction", &T::prefill_attn_compute_fraction, 1, 0, 2, true},
      {"elementwise_bw_fraction", &T::elementwise_bw_fraction, 1, 0, 2, true},
      {"elementwise_fixed_us", &T::elementwise_fixed_s, units::kMicro, 0, 1e6, false},
      {"rope_bw_fraction", &T::rope_bw_fraction, 1, 0, 2, true},
      {"rope_fixed_us", &T::rope_fixed_s, units::kMicro, 0, 1e6, false},
      {"launch_graph_us", &T::launch_graph_s, units::kMicro, 0, 1e6, false},
      {"launch_stream_us", &T::launch_stream_s, units::kMicro, 0, 1e6, false},
      {"launch_cpu_us", &T::launch_cpu_s, units::kMicro, 0, 1e6, false},
      {"launch_event_us", &T::launch_event_s, units::kMicro, 0, 1e6, false},
      {"allreduce_latency_us", &T::allreduce_latency_s, units::kMicro, 0, 1e6, false},
      {"allreduce_bus_GBps", &T::allreduce_bus_Bps, units::kGB, 0, 1e6, true},
      {"add_bw_fraction", &T::add_bw_fraction, 1, 0, 3, true, true},
      {"add_fixed_us", &T::add_fixed_s, units::kMicro, 0, 1e6, false, true},
      {"act_bw_fraction", &T::act_bw_fraction, 1, 0, 3, true, true},
      {"act_fixed_us", &T::act_fixed_s, units::kMicro, 0, 1e6, false, true},
      {"append_bw_fraction", &T::append_bw_fraction, 1, 0, 3, true, true},
      {"append_fixed_us", &T::append_fixed_s, units::kMicro, 0, 1e6, false, true},
      {"embed_bw_fraction", &T::embed_bw_fraction, 1, 0, 3, true, true},
      {"embed_fixed_us", &T::embed_fixed_s, units::kMicro, 0, 1e6, false, true},
      {"prefill_attn_fraction_d64", &T::prefill_attn_fraction_d64, 1, 0, 2, false, true},
      {"attn_bw_fraction_d64", &T::attn_bw_fraction_d64, 1, 0, 2, false, true},
      {"attn_bw_fraction_d256", &T::attn_bw_fraction_d256, 1, 0, 2, false, true},
      {"gemm_overlap_p", &T::gemm_overlap_p, 1, 0, 100, false, true, true},
      {"gemm_splitk_us", &T::gemm_splitk_s, units::kMicro, 0, 1e6, false, true, true},
      {"attn_cta_fixed_us", &T::attn_cta_fixed_s, units::kMicro, 0, 1e6, false, true, true},
      {"attn_lone_cta_efficiency", &T::attn_lone_cta_efficiency, 1, 0, 1, false, true, true},
      {"attn_lone_cta_efficiency_d64", &T::attn_lone_cta_efficiency_d64, 1, 0, 1, false, true, true},
      {"attn_lone_cta_efficiency_d256", &T::attn_lone_cta_efficiency_d256, 1, 0, 1, false, true, true},
      {"attn_tile_reread_fraction", &T::attn_tile_reread_fraction, 1, 0, 1, false, true, true},
      {"attn_units_sat_d64", &T::attn_units_sat_d64, 1, 0, 1e9, false, true, true},
      {"attn_units_sat_d256", &T::attn_units_sat_d256, 1, 0, 1e9, false, true, true},
      {"attn_sat_sharpness", &T::attn_sat_sharpness, 1, 0, 100, false, true, true},
      {"attn_compute_TFLOPS_d64", &T::attn_compute_flops_d64, units::kTera, 0, 1e6, false, true, true},
      {"attn_compute_TFLOPS_d256", &T::attn_compute_flops_d256, units::kTera, 0, 1e6, false, true, true},
      {"attn_narrow_smem_efficiency", &T::attn_narrow_smem_efficiency, 1, 0, 2, false, true, true},
      {"attn_padded_efficiency", &T::attn_padded_efficiency, 1, 0, 2, false, true, true},
      {"prefill_attn_fraction_d256", &T::prefill_attn_fraction_d256, 1, 0, 2, false, true},
      {"prefill_attn_units_sat", &T::prefill_attn_units_sat, 1, 0, 1e9, false, true},
      {"prefill_attn_fixed_us", &T::prefill_attn_fixed_s, units::kMicro, 0, 1e6, false, true},
      {"prefill_attn_clock_ratio", &T::prefill_attn_clock_ratio, 1, 0, 1.5, false, true},
      {"gemm_fp8_compute_fraction", &T::gemm_fp8_compute_fraction, 1, 0, 2, false, true, true},
      {"gemm_fp8_bw_fraction", &T::gemm_fp8_bw_fraction, 1, 0, 2, false, true, true},
      {"cast_bw_fraction", &T::cast_bw_fraction, 1, 0, 3, false, true, true},
      {"cast_fixed_us", &T::cast_fixed_s, units::kMicro, 0, 1e6, false, true, true},
      {"power_busy", &T::power_busy, 1, 0, 3, false, true, true},
      {"power_per_tensor", &T::power_per_tensor, 1, 0, 5, false, true, true},
      {"power_rested_headroom_ms", &T::power_rested_headroom_s, units::kMilli, 0, 1e4, false, true, true},
      {"power_gap_headroom_ms", &T::power_gap_headroom_s, units::kMilli, 0, 1e4, false, true, true},
      {"power_refill_tau_ms", &T::power_refill_tau_s, units::kMilli, 0, 1e4, false, true, true},
      {"power_decode_attn_weight", &T::power_decode_attn_weight, 1, 0, 100, false, true, true},
      {"act_fixed_one_row_us", &T::act_fixed_one_row_s, units::kMicro, 0, 1e6, false, true, true},
      {"rope_fixed_one_row_us", &T::rope_fixed_one_row_s, units::kMicro, 0, 1e6, false, true, true},
      {"append_fixed_one_row_us", &T::append_fixed_one_row_s, units::kMicro, 0, 1e6, false, true, true},
      {"norm_row_ns_per_elem", &T::norm_row_s_per_elem, units::kNano, 0, 1e6, false, true, true},
      {"prefill_attn_lone_cta_efficiency", &T::prefill_attn_lone_cta_efficiency, 1, 0, 1, false, true, true},
  };
  return keys;
}

// A quantity in [min, max] or, with allow_zero, also exactly 0. The floor keeps typos and
// subnormal values (a fuzzer found bf16_dense_TFLOPS = 3.6e-318) from reaching a division whose
// result overflows to inf.
double read_quantity(JsonObjectReader& r, const char* key, double min, double max, bool allow_zero) {
  const double v = r.required_double(key, 0, max);
  if (r.clean() && v < min && !(allow_zero && v == 0)) {
    r.fail(key, fmt::format("{}a number in [{:g}, {:g}]", allow_zero ? "0 or " : "", min, max), describe_json(*r.get(key)));
  }
  return v;
}

GpuCalibration read_calibration(JsonObjectReader& c) {
  GpuCalibration cal;
  cal.source = c.required_string("source");
  cal.fitted_on = c.required_string("fitted_on", true);
  cal.date_utc = c.required_string("date_utc");
  cal.borrowed = c.optional_bool("borrowed").value_or(false);
  if (cal.borrowed) {
    cal.borrowed_from = c.required_string("borrowed_from");
  } else if (c.has("borrowed_from")) {
    c.fail("borrowed_from", "no 'borrowed_from' unless \"borrowed\": true", describe_json(*c.get("borrowed_from")));
  }
  // Every parameter key is valid: a missing one must not be blamed on a later, valid key.
  for (const CalKey& k : cal_keys()) c.know({k.key});
  for (const CalKey& k : cal_keys()) {
    if (k.optional && !c.has(k.key)) continue;
    const double v = c.required_double(k.key, k.min, k.max);
    // Positive parameters have a floor of 1e-6 (in the key's unit): a subnormal would make a time inf.
    if (c.clean() && k.min_exclusive && v < 1e-6)
      c.fail(k.key, fmt::format("a number in [1e-06, {:g}]", k.max), describe_json(*c.get(k.key)));
    cal.params.*k.field = v * k.unit;
  }
  c.finish();
  return cal;
}

}  // namespace

GpuSpec parse_gpu(const bj::value& v, const std::string& where, bool user_file) {
  GpuSpec g = read_collecting<GpuSpec>(v, where, user_file, kGpuSchema, read_gpu);
  validate(g, where);
  return g;
}

namespace {
void read_gpu(JsonObjectReader& r, GpuSpec& g, const std::string& where, bool user_file) {
  g.id = read_id(r);
  g.name = r.required_string("name", false, kMaxNameChars);
  g.vendor = r.required_string("vendor");
  g.architecture = r.required_string("architecture");
  const std::optional<std::string> form_factor = r.optional_string("form_factor");
  g.memory_B = read_quantity(r, "memory_GB", 1e-3, 1e6, false) * units::kGB;
  if (auto u = r.optional_double("memory_usable_MiB", 0, 1e9)) {
    if (*u < 1) r.fail("memory_usable_MiB", "a number in [1, 1e+09]", describe_json(*r.get("memory_usable_MiB")));
    g.memory_usable_B = *u * units::kMiB;
  }
  g.memory_usable_source = r.optional_string("memory_usable_source").value_or("");
  g.hbm_bandwidth_Bps = read_quantity(r, "hbm_bandwidth_GBps", 1e-3, 1e6, false) * units::kGB;
  g.bf16_flops = read_quantity(r, "bf16_dense_TFLOPS", 1e-6, 1e6, false) * units::kTera;
  g.fp8_flops = read_quantity(r, "fp8_dense_TFLOPS", 1e-6, 1e6, true) * units::kTera;
  g.l2_cache_B = read_quantity(r, "l2_cache_MiB", 1e-3, 1e6, false) * units::kMiB;
  g.sm_count = static_cast<int>(r.required_int("sm_count", 1, 1000000));
  g.tdp_W = read_quantity(r, "tdp_W", 1e-3, 1e5, true);
  g.interconnect = r.required_string("interconnect");
  g.interconnect_Bps = read_quantity(r, "interconnect_GBps", 1e-3, 1e6, true) * units::kGB;

  std::optional<std::string> evidence;
  if (user_file && !r.has("source")) {
    // A user's own profile may leave its source out: the file is then its provenance.
    r.know({"source"});
    g.provenance = {where, "user file without a source"};
  } else {
    JsonObjectReader s = r.required_object("source");
    g.provenance.source = s.required_string("url");
    evidence = s.optional_string("evidence");
    g.provenance.notes = s.optional_string("notes", true).value_or("");
    s.finish();
  }
  // GpuSpec has no form-factor or evidence field: keep them with the notes so they are shown.
  auto append = [&](const std::string& text) { g.provenance.notes += (g.provenance.notes.empty() ? "" : " ") + text; };
  if (form_factor) append(fmt::format("Form factor: {}.", *form_factor));
  if (evidence) append(fmt::format("Evidence: {}.", *evidence));

  if (auto c = r.optional_object("calibration")) g.calibration = read_calibration(*c);
  if (auto st = r.optional_object("stacks")) {
    // {"torch-flash": {calibration block}, ...}: one fit per kernel stack other than kvbench.
    for (const std::string& id : st->keys()) {
      if (id == "kvbench") st->fail(id, "a stack other than kvbench (its parameters are the 'calibration' block)", "'kvbench'");
      const StackDef& def = find_stack(id, where + " stacks");
      JsonObjectReader sc = st->required_object(id.c_str());
      g.stack_calibrations[def.id] = read_calibration(sc);
    }
    st->finish();
  }
  r.finish();
}
}  // namespace

bj::value to_json(const GpuSpec& g) {
  bj::object o;
  o["schema"] = kGpuSchema;
  o["id"] = g.id;
  o["name"] = g.name;
  o["vendor"] = g.vendor;
  o["architecture"] = g.architecture;
  o["memory_GB"] = number(to_unit(g.memory_B, units::kGB));
  if (g.memory_usable_B) o["memory_usable_MiB"] = number(to_unit(*g.memory_usable_B, units::kMiB));
  if (!g.memory_usable_source.empty()) o["memory_usable_source"] = g.memory_usable_source;
  o["hbm_bandwidth_GBps"] = number(to_unit(g.hbm_bandwidth_Bps, units::kGB));
  o["bf16_dense_TFLOPS"] = number(to_unit(g.bf16_flops, units::kTera));
  o["fp8_dense_TFLOPS"] = number(to_unit(g.fp8_flops, units::kTera));
  o["l2_cache_MiB"] = number(to_unit(g.l2_cache_B, units::kMiB));
  o["sm_count"] = g.sm_count;
  o["tdp_W"] = number(g.tdp_W);
  o["interconnect"] = g.interconnect;
  o["interconnect_GBps"] = number(to_unit(g.interconnect_Bps, units::kGB));
  o["source"] = bj::object{{"url", g.provenance.source}, {"notes", g.provenance.notes}};
  if (g.calibration) {
    const GpuCalibration& c = *g.calibration;
    bj::object j;
    j["source"] = c.source;
    j["fitted_on"] = c.fitted_on;
    j["date_utc"] = c.date_utc;
    j["borrowed"] = c.borrowed;
    if (c.borrowed) j["borrowed_from"] = c.borrowed_from;
    for (const CalKey& k : cal_keys()) {
      if (k.omit_zero && c.params.*k.field == 0) continue;
      j[k.key] = number(to_unit(c.params.*k.field, k.unit));
    }
    o["calibration"] = std::move(j);
  }
  bj::object stacks_json;
  for (const auto& [id, c] : g.stack_calibrations) {
    if (c.borrowed) continue;  // borrowed at load time: not part of the profile
    bj::object j;
    j["source"] = c.source;
    j["fitted_on"] = c.fitted_on;
    j["date_utc"] = c.date_utc;
    j["borrowed"] = false;
    for (const CalKey& k : cal_keys()) {
      if (k.omit_zero && c.params.*k.field == 0) continue;
      j[k.key] = number(to_unit(c.params.*k.field, k.unit));
    }
    stacks_json[id] = std::move(j);
  }
  if (!stacks_json.empty()) o["stacks"] = std::move(stacks_json);
  return o;
}

GpuSpec load_gpu_as_written(const std::string& preset_or_path) {
  if (looks_like_path(preset_or_path)) {
    return parse_gpu(parse_json_text(read_text_file(preset_or_path), preset_or_path), preset_or_path, true);
  }
  return bundled_preset<GpuSpec>("GPU", "gpus", preset_or_path, parse_gpu);
}

namespace {

// First word of the architecture ("Hopper GH100 (sm_90)" -> "Hopper").
std::string family_of(const GpuSpec& g) {
  return g.architecture.substr(0, g.architecture.find(' '));
}

// An uncalibrated GPU borrows the efficiencies of the nearest calibrated preset: the same
// architecture family if one is calibrated, else the calibrated part closest in HBM bandwidth.
// Other vendors borrow too (no harness has run on them: kvbench and torch_bench are CUDA), so that
// every op of a prediction uses one measured GPU's efficiencies rather than a mix of defaults and
// fits; the origin line says the efficiencies come from another vendor's part.
void borrow_hardware(GpuSpec& g) {
  if (g.calibration) return;
  const GpuSpec* best = nullptr;
  std::vector<GpuSpec> calibrated;
  for (const auto& id : embedded_ids("gpus")) {
    GpuSpec c = load_gpu_as_written(id);
    if (c.calibration && !c.calibration->borrowed && c.id != g.id) calibrated.push_back(std::move(c));
  }
  for (const auto& c : calibrated) {
    const bool same = family_of(c) == family_of(g) && c.vendor == g.vendor;
    if (!best) {
      best = &c;
      continue;
    }
    const bool best_same = family_of(*best) == family_of(g) && best->vendor == g.vendor;
    const double d = std::abs(std::log(c.hbm_bandwidth_Bps / g.hbm_bandwidth_Bps));
    const double db = std::abs(std::log(best->hbm_bandwidth_Bps / g.hbm_bandwidth_Bps));
    if ((same && !best_same) || (same == best_same && d < db)) best = &c;
  }
  if (best) {
    g.calibration = borrow_calibration(g, *best);
    if (best->vendor != g.vendor) {
      g.calibration->source = fmt::format("borrowed across vendors from {} {} ({}): no {} GPU has been measured", best->vendor,
                                          best->id, best->calibration->source, g.vendor);
    }
  }
}

// Every stack that some calibrated preset measured and this GPU did not: borrowed from the
// nearest preset that measured it (same rule as above), keeping this GPU's own hardware part.
// All of a stack's efficiencies come from one reference, never a mix of fits and defaults.
void borrow_missing_stacks(GpuSpec& g) {
  if (!g.calibration) return;
  std::vector<GpuSpec> refs;
  for (const auto& id : embedded_ids("gpus")) {
    if (id == g.id) continue;
    GpuSpec c = load_gpu_as_written(id);
    if (!c.stack_calibrations.empty()) refs.push_back(std::move(c));
  }
  for (const StackDef& s : stacks()) {
    if (s.id == "kvbench" || g.stack_calibrations.count(s.id)) continue;
    const GpuSpec* best = nullptr;
    for (const auto& c : refs) {
      auto it = c.stack_calibrations.find(s.id);
      if (it == c.stack_calibrations.end() || it->second.borrowed) continue;
      const bool same = family_of(c) == family_of(g);
      if (!best) {
        best = &c;
        continue;
      }
      const bool best_same = family_of(*best) == family_of(g);
      const double d = std::abs(std::log(c.hbm_bandwidth_Bps / g.hbm_bandwidth_Bps));
      const double db = std::abs(std::log(best->hbm_bandwidth_Bps / g.hbm_bandwidth_Bps));
      if ((same && !best_same) || (same == best_same && d < db)) best = &c;
    }
    if (best) g.stack_calibrations[s.id] = borrow_stack_calibration(g, *best, best->stack_calibrations.at(s.id));
  }
}

}  // namespace

void resolve_borrowing(GpuSpec& g) {
  borrow_hardware(g);
  borrow_missing_stacks(g);
}

GpuSpec load_gpu(const std::string& preset_or_path) {
  GpuSpec g = load_gpu_as_written(preset_or_path);
  resolve_borrowing(g);
  return g;
}

// ======================================================================================
// Preset lists
// ======================================================================================

std::vector<std::string> model_preset_ids() {
  return embedded_ids("models");
}
std::vector<std::string> gpu_preset_ids() {
  return embedded_ids("gpus");
}

std::vector<Architecture> list_model_presets() {
  std::vector<Architecture> out;
  for (const auto& id : model_preset_ids()) out.push_back(load_architecture(id));
  std::sort(out.begin(), out.end(), [](const Architecture& x, const Architecture& y) { return x.id < y.id; });
  return out;
}

std::vector<GpuSpec> list_gpu_presets() {
  std::vector<GpuSpec> out;
  for (const auto& id : gpu_preset_ids()) out.push_back(load_gpu(id));
  std::sort(out.begin(), out.end(), [](const GpuSpec& x, const GpuSpec& y) { return x.id < y.id; });
  return out;
}

}  // namespace kvscope
