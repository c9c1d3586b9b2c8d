#include "kvscope/core/scenario.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <cmath>

#include "kvscope/core/error.hpp"
#include "kvscope/core/json_util.hpp"
#include "kvscope/core/loaders.hpp"

namespace kvscope {

const std::string* Scenario::get(const std::string& name) const {
  const DesignField* f = find_design_field(name);
  if (!f) {
    auto it = values.find(name);
    return it == values.end() || it->second.empty() ? nullptr : &it->second;
  }
  auto at = [&](std::string_view spelling) -> const std::string* {
    auto it = values.find(std::string(spelling));
    return it == values.end() || it->second.empty() ? nullptr : &it->second;
  };
  if (const std::string* v = at(f->name)) return v;
  for (std::string_view a : f->aliases) {
    if (const std::string* v = at(a)) return v;
  }
  return nullptr;
}

std::string Scenario::spelling(const std::string& name) const {
  const DesignField* f = find_design_field(name);
  if (!f) return name;
  if (values.count(std::string(f->name))) return std::string(f->name);
  for (std::string_view a : f->aliases) {
    if (values.count(std::string(a))) return std::string(a);
  }
  return std::string(f->name);
}

void Scenario::set(const std::string& spelling, const std::string& text) {
  if (const DesignField* f = find_design_field(spelling)) {
    values.erase(std::string(f->name));
    for (std::string_view a : f->aliases) values.erase(std::string(a));
  }
  if (text.empty())
    values.erase(spelling);
  else
    values[spelling] = text;
}

const std::vector<std::string>& scenario_field_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const DesignField& f : design_fields()) n.emplace_back(f.name);
    return n;
  }();
  return names;
}

bool is_arch_field(const std::string& n) {
  const DesignField* f = find_design_field(n);
  return f && f->is_arch();
}
bool is_workload_field(const std::string& n) {
  const DesignField* f = find_design_field(n);
  return f && f->is_workload();
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
  const DesignField* f = find_design_field(n);
  if (!f || !f->is_arch()) throw InputError(flag_of(n), "", "an architecture field", "an unknown name");
  Workload unused;
  apply_value(*f, n, t, o, unused);
}

bool is_engine_field(const std::string& n) {
  const DesignField* f = find_design_field(n);
  return f && f->group == FieldGroup::engine;
}

void set_engine_field(EngineMemory& e, const std::string& n, const std::string& t) {
  const DesignField* f = find_design_field(n);
  if (!f || f->group != FieldGroup::engine) throw InputError(flag_of(n), "", "an engine memory field", "an unknown name");
  ArchOverrides unused;
  Workload w;
  w.engine = e;
  apply_value(*f, n, t, unused, w);
  e = w.engine;
}

void set_workload(Workload& w, const std::string& n, const std::string& t) {
  const DesignField* f = find_design_field(n);
  if (!f || !f->is_workload()) throw InputError(flag_of(n), "", "a workload field", "an unknown name");
  ArchOverrides unused;
  apply_value(*f, n, t, unused, w);
}

SingleDesign resolve_single(const Scenario& s) {
  SingleDesign d;
  const std::string* model = s.get("model");
  const Architecture base = load_architecture(model ? *model : "llama-3-8b");
  ArchOverrides o;
  for (const DesignField& f : design_fields()) {
    if (!f.is_arch()) continue;
    if (const std::string* v = s.get(std::string(f.name))) set_override(o, s.spelling(std::string(f.name)), *v);
  }
  try {
    d.arch = apply_overrides(base, o, s.source == "flags" ? "flags" : s.source);
  } catch (InputError& e) {
    // The key of an architecture error ("n_kv_heads", "kv_producers[2]", "cla") names the
    // design field; the front end places the error by it.
    const std::string key = e.key().substr(0, e.key().find('['));
    const DesignField* f = find_design_field(key);
    if (f) e.set_field(std::string(f->name));
    if (s.source != "flags" || e.expected().empty() || !f) throw;
    // Name the command-line flag the user typed, not the architecture field it set. A field the
    // user did not give but a --variant set is the variant's doing.
    const std::string name(f->name);
    if (!s.get(name) && s.get("variant")) {
      ConfigError c("--variant", e.key(), e.expected(), e.found());
      c.set_field("variant");
      throw c;
    }
    const std::string index =
        e.key().size() > key.size() ? "entry " + e.key().substr(key.size() + 1, e.key().size() - key.size() - 2) : "";
    ConfigError c(flag_of(s.spelling(name)), index, e.expected(), e.found());
    c.set_field(name);
    throw c;
  }
  const std::string* gpu = s.get("gpu");
  try {
    d.gpu = load_gpu(gpu ? *gpu : "h100-sxm");
  } catch (InputError& e) {
    e.set_field("gpu");
    throw;
  }
  d.workload.batch = 1;
  d.workload.context = 8192;
  d.workload.prompt = 2048;
  for (const DesignField& f : design_fields()) {
    if (!f.is_workload()) continue;
    if (const std::string* v = s.get(std::string(f.name))) set_workload(d.workload, s.spelling(std::string(f.name)), *v);
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
      if (!val.is_array())
        throw InputError(where, key, "an array of strings like \"max_context >= 32768\"", boost::json::serialize(val));
      for (std::size_t i = 0; i < val.get_array().size(); ++i) {
        const auto& c = val.get_array()[i];
        if (!c.is_string()) throw InputError(where, fmt::format("constraints[{}]", i), "a string", boost::json::serialize(c));
        s.constraints.emplace_back(c.get_string());
      }
    } else if (key == "objectives") {
      if (!val.is_string())
        throw InputError(where, key, "a string like \"kv_bytes_per_token:min,val_ppl:min\"", boost::json::serialize(val));
      s.objectives = std::string(val.get_string());
    } else if (const DesignField* f = find_design_field(key);
               f && (f->name == key || std::find(f->aliases.begin(), f->aliases.end(), key) != f->aliases.end())) {
      if (const std::string other = s.spelling(key); s.values.count(other) && other != key) {
        InputError e(where, key, fmt::format("one spelling of the field {}", f->name),
                     fmt::format("both '{}' and '{}'", other, key));
        e.set_field(std::string(f->name));
        throw e;
      }
      if (val.is_string()) {
        s.values[key] = std::string(val.get_string());
      } else if (val.is_int64() || val.is_uint64()) {
        s.values[key] = boost::json::serialize(val);
      } else if (val.is_double() && std::isfinite(val.get_double())) {
        s.values[key] = fmt::format("{}", val.get_double());
      } else {
        InputError e(where, key, "a string or a number", boost::json::serialize(val));
        e.set_field(std::string(f->name));
        throw e;
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

Scenario load_scenario(const std::string& path) {
  return parse_scenario(read_text_file(path), path);
}

std::string scenario_to_json(const Scenario& s) {
  boost::json::object o;
  o["schema"] = "kvscope-scenario/1";
  for (const auto& n : scenario_field_names()) {
    if (const std::string* v = s.get(n)) o[s.spelling(n)] = *v;
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
