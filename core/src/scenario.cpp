#include "kvscope/core/scenario.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "kvscope/core/error.hpp"
#include "kvscope/core/json_util.hpp"
#include "kvscope/core/loaders.hpp"

namespace kvscope {

namespace {
const std::vector<std::string> kArchFields = {"layers", "d_model", "q_heads", "kv_heads", "head_dim", "ffn", "vocab",
                                              "cla", "kv_producers", "variant", "kv_dtype", "window", "layer_pattern",
                                              "weight_dtype", "weight_group_size"};
const std::vector<std::string> kWorkloadFields = {"tp", "batch", "context", "prompt", "runtime", "stack", "tpot_limit_ms"};
const std::vector<std::string> kEngineFields = {"gpu_memory_utilization", "max_num_batched_tokens", "max_num_seqs", "block_size",
                                                "cuda_graph_memory_gib", "non_torch_memory_gib", "allreduce_buffers_gib"};
}  // namespace

const std::string* Scenario::get(const std::string& name) const {
  auto it = values.find(name);
  return it == values.end() || it->second.empty() ? nullptr : &it->second;
}

const std::vector<std::string>& scenario_field_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n = {"model"};
    n.insert(n.end(), kArchFields.begin(), kArchFields.end());
    n.push_back("gpu");
    n.insert(n.end(), kWorkloadFields.begin(), kWorkloadFields.end());
    n.insert(n.end(), kEngineFields.begin(), kEngineFields.end());
    return n;
  }();
  return names;
}

bool is_arch_field(const std::string& n) { return std::find(kArchFields.begin(), kArchFields.end(), n) != kArchFields.end(); }
bool is_workload_field(const std::string& n) {
  return std::find(kWorkloadFields.begin(), kWorkloadFields.end(), n) != kWorkloadFields.end();
}

bool is_engine_field(const std::string& n) { return std::find(kEngineFields.begin(), kEngineFields.end(), n) != kEngineFields.end(); }

std::string flag_of(const std::string& name) {
  std::string f = "--" + name;
  for (char& c : f) c = c == '_' ? '-' : c;
  return f;
}

std::int64_t parse_int_value(const std::string& text, const std::string& flag, std::int64_t min, std::int64_t max) {
  std::int64_t v = 0;
  const char* b = text.data();
  const char* e = b + text.size();
  auto [ptr, ec] = std::from_chars(b, e, v);
  if (text.empty() || ec == std::errc::result_out_of_range) {
    throw InputError(flag, "", fmt::format("an integer in {}..{}", min, max), fmt::format("'{}'", text));
  }
  if (ec != std::errc() || ptr != e) {
    if (text.find_first_of(",") != std::string::npos || text.find("..") != std::string::npos) {
      throw InputError(flag, "", "a single value here (lists and ranges are for `kvscope sweep` / `pareto`)",
                       fmt::format("'{}'", text));
    }
    throw InputError(flag, "", fmt::format("an integer in {}..{}", min, max), fmt::format("'{}'", text));
  }
  if (v < min || v > max) throw InputError(flag, "", fmt::format("an integer in {}..{}", min, max), std::to_string(v));
  return v;
}

double parse_double_value(const std::string& text, const std::string& flag, double min, double max) {
  double v = 0;
  const char* b = text.data();
  const char* e = b + text.size();
  auto [ptr, ec] = std::from_chars(b, e, v);
  if (text.empty() || ec != std::errc() || ptr != e || !std::isfinite(v) || v < min || v > max) {
    throw InputError(flag, "", fmt::format("a number in {:g}..{:g}", min, max), fmt::format("'{}'", text));
  }
  return v;
}

void set_override(ArchOverrides& o, const std::string& n, const std::string& t) {
  const std::string flag = flag_of(n);
  auto i32 = [&](std::int64_t max) { return static_cast<int>(parse_int_value(t, flag, 1, max)); };
  if (n == "layers") o.n_layers = i32(10000);
  else if (n == "d_model") o.d_model = parse_int_value(t, flag, 1, 1000000);
  else if (n == "q_heads") o.n_q_heads = i32(65536);
  else if (n == "kv_heads") o.n_kv_heads = i32(65536);
  else if (n == "head_dim") o.head_dim = i32(65536);
  else if (n == "ffn") o.ffn_dim = parse_int_value(t, flag, 1, 10000000);
  else if (n == "vocab") o.vocab = parse_int_value(t, flag, 1, 100000000);
  else if (n == "cla") o.cla_factor = i32(10000);
  else if (n == "kv_producers") o.kv_producers = t;
  else if (n == "variant") o.variant = t;
  else if (n == "kv_dtype") o.kv_dtype = parse_kv_dtype(t, flag);
  else if (n == "window") o.window = parse_int_value(t, flag, 1, 100000000);
  else if (n == "layer_pattern") o.layer_pattern = t;
  else if (n == "weight_dtype") o.weight_dtype = parse_weight_dtype(t, flag);
  else if (n == "weight_group_size") o.weight_group = i32(65536);
  else throw InputError(flag, "", "an architecture field", "an unknown name");
}

void set_workload(Workload& w, const std::string& n, const std::string& t) {
  const std::string flag = flag_of(n);
  if (n == "tp") w.tp = static_cast<int>(parse_int_value(t, flag, 1, 1024));
  else if (n == "batch") w.batch = parse_int_value(t, flag, 1, 1000000);
  else if (n == "context") w.context = parse_int_value(t, flag, 1, 100000000);
  else if (n == "prompt") w.prompt = parse_int_value(t, flag, 1, 100000000);
  else if (n == "runtime") w.runtime = parse_runtime(t, flag);
  else if (n == "stack") w.stack = find_stack(t, flag).id;
  else if (n == "tpot_limit_ms") w.tpot_limit_s = parse_double_value(t, flag, 0, 1e9) * 1e-3;
  else throw InputError(flag, "", "a workload field", "an unknown name");
}

void set_engine_field(EngineMemory& e, const std::string& n, const std::string& t) {
  const std::string flag = flag_of(n);
  constexpr double kGiB = 1073741824.0;
  if (n == "gpu_memory_utilization") {
    e.gpu_memory_utilization = parse_double_value(t, flag, 0, 1);
    if (e.gpu_memory_utilization <= 0) throw InputError(flag, "", "a fraction in (0, 1]", fmt::format("'{}'", t));
  } else if (n == "max_num_batched_tokens") e.max_num_batched_tokens = parse_int_value(t, flag, 1, 100000000);
  else if (n == "max_num_seqs") e.max_num_seqs = parse_int_value(t, flag, 1, 1000000);
  else if (n == "block_size") e.block_size = parse_int_value(t, flag, 1, 1048576);
  else if (n == "cuda_graph_memory_gib") e.cuda_graph_B = parse_double_value(t, flag, 0, 1e6) * kGiB;
  else if (n == "non_torch_memory_gib") e.non_torch_B = parse_double_value(t, flag, 0, 1e6) * kGiB;
  else if (n == "allreduce_buffers_gib") e.allreduce_buffers_B = parse_double_value(t, flag, 0, 1e6) * kGiB;
  else throw InputError(flag, "", "an engine memory field", "an unknown name");
}

SingleDesign resolve_single(const Scenario& s) {
  SingleDesign d;
  const std::string* model = s.get("model");
  const Architecture base = load_architecture(model ? *model : "llama-3-8b");
  ArchOverrides o;
  for (const auto& n : kArchFields) {
    if (const std::string* v = s.get(n)) set_override(o, n, *v);
  }
  if (s.source == "flags") {
    // Name the command-line flag the user typed, not the architecture field it set.
    try {
      d.arch = apply_overrides(base, o, "flags");
    } catch (const InputError& e) {
      // Architecture field -> the scenario field (and flag) that sets it.
      static const std::vector<std::pair<std::string, std::string>> kFieldOf = {
          {"n_layers", "layers"},   {"d_model", "d_model"},           {"n_q_heads", "q_heads"}, {"n_kv_heads", "kv_heads"},
          {"head_dim", "head_dim"}, {"ffn_dim", "ffn"},               {"vocab", "vocab"},       {"kv_producers", "kv_producers"},
          {"window", "window"},     {"layer_pattern", "layer_pattern"}, {"variant", "variant"}, {"kv_dtype", "kv_dtype"},
          {"cla", "cla"},           {"kv-producers", "kv_producers"}, {"weight_dtype", "weight_dtype"},
          {"weight_group", "weight_group_size"}};
      const std::string key = e.key().substr(0, e.key().find('['));
      auto it = std::find_if(kFieldOf.begin(), kFieldOf.end(), [&](const auto& p) { return p.first == key; });
      if (e.expected().empty() || it == kFieldOf.end()) throw;
      // A field the user did not give but a --variant set is the variant's doing.
      if (!s.get(it->second) && s.get("variant")) throw ConfigError("--variant", e.key(), e.expected(), e.found());
      const std::string index = e.key().size() > key.size() ? "entry " + e.key().substr(key.size() + 1, e.key().size() - key.size() - 2) : "";
      throw ConfigError(flag_of(it->second), index, e.expected(), e.found());
    }
  } else {
    d.arch = apply_overrides(base, o, s.source);
  }
  const std::string* gpu = s.get("gpu");
  d.gpu = load_gpu(gpu ? *gpu : "h100-sxm");
  d.workload.batch = 1;
  d.workload.context = 8192;
  d.workload.prompt = 2048;
  for (const auto& n : kWorkloadFields) {
    if (const std::string* v = s.get(n)) set_workload(d.workload, n, *v);
  }
  for (const auto& n : kEngineFields) {
    if (const std::string* v = s.get(n)) set_engine_field(d.workload.engine, n, *v);
  }
  validate(d.workload, s.source);
  return d;
}

Scenario parse_scenario(const std::string& text, const std::string& where) {
  const boost::json::value v = parse_json_text(text, where);
  if (!v.is_object()) throw InputError(where, "", "a JSON object", "another JSON value");
  Scenario s;
  s.source = where;
  const auto& names = scenario_field_names();
  for (const auto& kv : v.get_object()) {
    const std::string key(kv.key());
    const auto& val = kv.value();
    if (key == "schema") {
      if (!val.is_string() || val.get_string() != "kvscope-scenario/1") {
        throw InputError(where, "schema", "'kvscope-scenario/1'", boost::json::serialize(val));
      }
    } else if (key == "constraints") {
      if (!val.is_array()) throw InputError(where, key, "an array of strings like \"max_context >= 32768\"", boost::json::serialize(val));
      for (std::size_t i = 0; i < val.get_array().size(); ++i) {
        const auto& c = val.get_array()[i];
        if (!c.is_string()) throw InputError(where, fmt::format("constraints[{}]", i), "a string", boost::json::serialize(c));
        s.constraints.emplace_back(c.get_string());
      }
    } else if (key == "objectives") {
      if (!val.is_string()) throw InputError(where, key, "a string like \"kv_bytes_per_token:min,val_ppl:min\"", boost::json::serialize(val));
      s.objectives = std::string(val.get_string());
    } else if (std::find(names.begin(), names.end(), key) != names.end()) {
      if (val.is_string()) {
        s.values[key] = std::string(val.get_string());
      } else if (val.is_int64() || val.is_uint64()) {
        s.values[key] = boost::json::serialize(val);
      } else if (val.is_double() && std::isfinite(val.get_double())) {
        s.values[key] = fmt::format("{}", val.get_double());
      } else {
        throw InputError(where, key, "a string or a number", boost::json::serialize(val));
      }
    } else {
      std::string known;
      for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
      throw InputError(where, key, fmt::format("a known key (schema, constraints, objectives, {})", known), "an unknown key");
    }
  }
  if (!v.get_object().contains("schema")) throw InputError(where, "schema", "'kvscope-scenario/1'", "no schema key");
  return s;
}

Scenario load_scenario(const std::string& path) { return parse_scenario(read_text_file(path), path); }

std::string scenario_to_json(const Scenario& s) {
  boost::json::object o;
  o["schema"] = "kvscope-scenario/1";
  for (const auto& n : scenario_field_names()) {
    if (const std::string* v = s.get(n)) o[n] = *v;
  }
  if (!s.constraints.empty()) {
    boost::json::array a;
    for (const auto& c : s.constraints) a.emplace_back(c);
    o["constraints"] = std::move(a);
  }
  if (!s.objectives.empty()) o["objectives"] = s.objectives;
  return boost::json::serialize(o) + "\n";
}

}  // namespace kvscope
