// The `kvscope` Python module: the libraries' own entry points (scenario parsing, evaluate, the
// sweep engine, the field table), so a notebook gets the CLI's numbers without parsing text.
// Keyword names are the scenario fields (the names `kvscope fields` and scenario files use; the
// CLI flag is "--" + name with '_' -> '-'); a value is a number, a string the flag would take
// ("1,2,4", "1024..131072:x2", "128k") or a list of numbers / strings (a sweep axis).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "kvscope/core/design.hpp"
#include "kvscope/core/design_fields.hpp"
#include "kvscope/core/error.hpp"
#include "kvscope/core/loaders.hpp"
#include "kvscope/core/scenario.hpp"
#include "kvscope/core/stack.hpp"
#include "kvscope/explorer/explore.hpp"
#include "kvscope/explorer/scenario_sweep.hpp"
#include "kvscope/models/catalog.hpp"
#include "kvscope/models/evaluate.hpp"
#include "kvscope/models/fields.hpp"
#include "kvscope/models/profile.hpp"
#include "kvscope/models/simulate.hpp"
#include "kvscope/models/simulate_run.hpp"
#include "kvscope/models/timing.hpp"

namespace py = pybind11;
using namespace kvscope;

namespace {

std::string fmt_key(const std::string& key) {
  return "keyword '" + key + "'";
}

// One keyword value as the text its flag takes: the same parser then checks it, so a Python
// caller gets the CLI's messages. Lists become "a,b,c"; bools are refused (no field is boolean).
std::string value_text(const std::string& key, const py::handle& v) {
  if (py::isinstance<py::bool_>(v)) throw InputError(fmt_key(key) + ": expected a number or a string, found a bool");
  if (py::isinstance<py::str>(v)) return v.cast<std::string>();
  if (py::isinstance<py::int_>(v)) return std::to_string(v.cast<long long>());
  if (py::isinstance<py::float_>(v)) {
    const double d = v.cast<double>();
    if (!std::isfinite(d)) throw InputError(fmt_key(key) + ": expected a finite number, found " + py::str(v).cast<std::string>());
    // Shortest text that round-trips (repr), so 0.9 stays "0.9".
    return py::repr(v).cast<std::string>();
  }
  if (py::isinstance<py::list>(v) || py::isinstance<py::tuple>(v)) {
    std::string out;
    for (const py::handle& e : v) {
      if (py::isinstance<py::list>(e) || py::isinstance<py::tuple>(e))
        throw InputError(fmt_key(key) + ": a list of lists is not a value");
      if (!out.empty()) out += ",";
      out += value_text(key, e);
    }
    if (out.empty()) throw InputError(fmt_key(key) + ": an empty list");
    return out;
  }
  throw InputError(fmt_key(key) + ": expected a number, a string or a list, found " +
                   py::str(py::type::of(v).attr("__name__")).cast<std::string>());
}

// kwargs -> Scenario, with the scenario file's strictness (unknown names are errors with the
// closest names). `extra` lists the keywords the function itself takes.
Scenario scenario_from(const py::kwargs& kw, const std::vector<std::string>& extra) {
  Scenario s;
  s.source = "python";
  for (const auto& [k, v] : kw) {
    const std::string key = k.cast<std::string>();
    if (std::find(extra.begin(), extra.end(), key) != extra.end()) continue;
    // The registry's names and their accepted aliases (kv_heads, cla, layers, ...).
    if (find_design_field(key) == nullptr) {
      std::string names;
      for (const DesignField& f : design_fields()) names += (names.empty() ? "" : ", ") + std::string(f.name);
      throw InputError("python: unknown keyword '" + key + "' (design fields: " + names + ")");
    }
    s.values[key] = value_text(key, v);
  }
  return s;
}

py::dict point_dict(const models::PointResult& p) {
  py::dict d;
  for (const auto& f : models::fields()) {
    const double v = f.get(p);
    if (f.unit == "bool") {
      d[py::str(std::string(f.name))] = v != 0;
    } else {
      d[py::str(std::string(f.name))] = v;
    }
  }
  return d;
}

py::dict evaluate(const py::kwargs& kw) {
  const Scenario scenario = scenario_from(kw, {});
  const SingleDesign d = resolve_single(scenario);
  const models::ArchProfile profile = models::make_profile(d.arch, d.workload.tp);
  const StackTiming st = stack_timing(d.gpu, d.workload.stack);
  const models::ArchFacts facts = models::make_arch_facts(d.arch);
  models::PointResult p;
  p.arch = &facts;
  p.workload = d.workload;
  p.eval = models::evaluate(profile, d.gpu, st.params, d.workload);
  py::dict o = point_dict(p);
  // The same descriptive keys as `kvscope eval --format json`.
  o["model"] = d.arch.id;
  o["model_name"] = d.arch.name;
  o["variant"] = variant_name(d.arch);
  o["sharing"] = sharing_label(d.arch);
  o["kv_dtype"] = to_string(d.arch.kv_dtype);
  o["weight_dtype"] = to_string(d.arch.weight_dtype);
  o["weight_timing"] = models::weight_timing_note(profile, d.gpu, st.params);
  o["weight_timing_estimated"] = models::weight_timing_estimated(profile, d.gpu, st.params);
  o["gpu"] = d.gpu.id;
  o["gpu_name"] = d.gpu.name;
  o["runtime"] = to_string(d.workload.runtime);
  o["stack"] = st.stack;
  o["timing_params"] = st.origin;
  o["reason"] = models::point_reason(p);
  o["val_ppl_kind"] = models::to_string(facts.accuracy.val_ppl_kind);
  o["ppl_delta_kind"] = models::to_string(facts.accuracy.delta_kind);
  o["accuracy_source"] = facts.accuracy.source;
  return o;
}

// Column store filled by the sweep's sink (no Python object is touched while the GIL is released).
struct Columns {
  std::vector<std::vector<double>> values;  // by field
  std::vector<std::uint64_t> index;
  std::vector<std::string> configuration, gpu, stack, reason;
  explicit Columns(std::size_t n_fields) : values(n_fields) {}
  void add(const models::SweepResult& names, std::uint64_t idx, const models::PointResult& p) {
    const auto& fs = models::fields();
    for (std::size_t i = 0; i < fs.size(); ++i) values[i].push_back(fs[i].get(p));
    index.push_back(idx);
    configuration.push_back(models::configuration_name(names, p));
    gpu.push_back(names.gpu_id(p));
    stack.push_back(names.stack_id(p));
    reason.push_back(models::point_reason(p));
  }
};

py::object strings(const std::vector<std::string>& v) {
  py::list l;
  for (const auto& s : v) l.append(s);
  return py::module_::import("numpy").attr("array")(l, "object");
}

py::dict to_dict(const Columns& c) {
  py::dict d;
  d["index"] = py::array_t<std::uint64_t>(static_cast<py::ssize_t>(c.index.size()), c.index.data());
  d["configuration"] = strings(c.configuration);
  d["gpu"] = strings(c.gpu);
  d["stack"] = strings(c.stack);
  const auto& fs = models::fields();
  for (std::size_t i = 0; i < fs.size(); ++i) {
    const auto& v = c.values[i];
    if (fs[i].unit == "bool") {
      py::array_t<bool> a(static_cast<py::ssize_t>(v.size()));
      auto m = a.mutable_unchecked<1>();
      for (std::size_t j = 0; j < v.size(); ++j) m(static_cast<py::ssize_t>(j)) = v[j] != 0;
      d[py::str(std::string(fs[i].name))] = a;
    } else {
      d[py::str(std::string(fs[i].name))] = py::array_t<double>(static_cast<py::ssize_t>(v.size()), v.data());
    }
  }
  return d;
}

struct SweepArgs {
  std::vector<std::string> constraints;
  std::string objectives;
  unsigned threads = 0;
};

SweepArgs sweep_args(const py::kwargs& kw) {
  SweepArgs a;
  if (kw.contains("constraints")) {
    const py::handle c = kw["constraints"];
    if (py::isinstance<py::str>(c)) {
      a.constraints.push_back(c.cast<std::string>());
    } else {
      for (const py::handle& e : c) a.constraints.push_back(py::str(e).cast<std::string>());
    }
  }
  if (kw.contains("objectives")) a.objectives = py::str(kw["objectives"]).cast<std::string>();
  if (kw.contains("threads")) {
    const long long t = kw["threads"].cast<long long>();
    if (t < 0 || t > 4096) throw InputError("python: threads: expected 0 (all cores) to 4096, found " + std::to_string(t));
    a.threads = static_cast<unsigned>(t);
  }
  return a;
}

const std::vector<std::string> kSweepKeywords = {"constraints", "objectives", "threads"};

// Every point that passes the constraints (sweep) or the Pareto frontier (pareto), as columns.
py::dict run(const py::kwargs& kw, bool frontier_only) {
  Scenario scenario = scenario_from(kw, kSweepKeywords);
  const SweepArgs a = sweep_args(kw);
  scenario.constraints = a.constraints;
  scenario.objectives = a.objectives;
  if (frontier_only && scenario.objectives.empty()) {
    throw InputError("python: pareto needs objectives, e.g. objectives=\"kv_bytes_per_token:min,val_ppl:min\"");
  }
  const models::SweepSpec spec = models::sweep_spec_from_scenario(scenario);
  Columns cols(models::fields().size());
  models::SweepOptions so;
  so.threads = a.threads;
  so.keep = models::KeepPoints::frontier;
  const models::SweepResult* names = nullptr;
  so.on_start = [&](const models::SweepResult& r0) { names = &r0; };
  if (!frontier_only) {
    so.sink = [&](std::span<const models::PointResult> pts, std::span<const std::uint64_t> idx) {
      for (std::size_t i = 0; i < pts.size(); ++i) cols.add(*names, idx[i], pts[i]);
    };
  }
  models::SweepResult r;
  {
    py::gil_scoped_release release;
    r = models::explore(spec, so);
  }
  if (frontier_only) {
    for (std::size_t i = 0; i < r.frontier.size(); ++i) cols.add(r, r.frontier_indices[i], r.frontier[i]);
  }
  py::dict d = to_dict(cols);
  if (!frontier_only) {
    // Infeasible rows carry their reason (re-evaluated: the streaming sweep leaves it empty).
    std::vector<std::string> reasons = cols.reason;
    for (std::size_t i = 0; i < reasons.size(); ++i) {
      if (!cols.values[0].empty() && reasons[i].empty()) {
        const auto* feas = models::find_field("feasible");
        const std::size_t fi = static_cast<std::size_t>(feas - models::fields().data());
        if (cols.values[fi][i] == 0) reasons[i] = models::point_reason(r.point(cols.index[i]));
      }
    }
    d["reason"] = strings(reasons);
  } else {
    d["reason"] = strings(cols.reason);
  }
  return d;
}

// simulate(**design, rate=, concurrency=, trace=): the record `kvscope simulate --format json`
// prints (models/simulate_run.hpp: one definition of its keys), without the provenance.
const std::vector<std::string> kSimulateKeywords = {"rate", "concurrency", "trace"};

double positive_number(const py::kwargs& kw, const char* key, const char* expected) {
  const py::handle v = kw[key];
  const bool number = !py::isinstance<py::bool_>(v) && (py::isinstance<py::int_>(v) || py::isinstance<py::float_>(v));
  const double x = number ? v.cast<double>() : 0.0;
  if (!number || !std::isfinite(x) || x <= 0) throw InputError("python", key, expected, py::repr(v).cast<std::string>());
  return x;
}

// A JSON record as Python objects through JSON text, so a dict has exactly the CLI's keys and
// values (None for null): simulate() and the catalog records (models/catalog.hpp).
py::object from_json(const boost::json::value& v) {
  return py::module_::import("json").attr("loads")(boost::json::serialize(v));
}

py::object simulate(const py::kwargs& kw) {
  const Scenario scenario = scenario_from(kw, kSimulateKeywords);
  models::check_simulate_scenario(scenario);
  const SingleDesign d = resolve_single(scenario);
  models::LoadSpec load = models::serving_load(d.workload.serving);
  if (kw.contains("rate")) load.rate_per_s = positive_number(kw, "rate", "a request rate > 0 (requests/s)");
  if (kw.contains("concurrency")) {
    const double c = positive_number(kw, "concurrency", "a whole number of clients >= 1");
    if (c != std::floor(c) || c > 1e6)
      throw InputError("python", "concurrency", "a whole number of clients >= 1",
                       py::repr(kw["concurrency"]).cast<std::string>());
    load.concurrency = static_cast<int>(c);
  }
  if (kw.contains("trace")) {
    if (!py::isinstance<py::str>(kw["trace"])) {
      throw InputError("python", "trace", "a file name (CSV arrival_s,input_tokens,output_tokens or JSON lines)",
                       py::repr(kw["trace"]).cast<std::string>());
    }
    load.trace_source = kw["trace"].cast<std::string>();
    load.trace = models::load_trace(load.trace_source);
  }
  models::SimulationRun run;
  {
    py::gil_scoped_release release;  // a goodput search is seconds of simulation
    run = models::run_simulation(d, std::move(load), nullptr, "python");
  }
  return from_json(models::simulation_json(run));
}

py::object models_list() {
  boost::json::array arr;
  for (const Architecture& a : list_model_presets()) arr.push_back(models::model_record(a));
  return from_json(arr);
}

py::object gpus_list() {
  boost::json::array arr;
  for (const GpuSpec& g : list_gpu_presets()) arr.push_back(models::gpu_record(g));
  return from_json(arr);
}

py::object stacks_list() {
  const std::vector<GpuSpec> gpus = list_gpu_presets();
  boost::json::array arr;
  for (const StackDef& s : stacks()) arr.push_back(models::stack_record(s, gpus));
  return from_json(arr);
}

py::list fields_list() {
  py::list out;
  for (const DesignField& f : design_fields()) {
    py::dict j;
    j["name"] = std::string(f.name);
    j["kind"] = "design";
    j["group"] = to_string(f.group);
    j["unit"] = std::string(f.unit);
    j["description"] = std::string(f.description);
    j["flag"] = f.flag();
    py::list aliases;
    for (auto a : f.aliases) aliases.append(std::string(a));
    j["aliases"] = aliases;
    j["sweepable"] = f.sweepable;
    if (f.type == ValueType::integer || f.type == ValueType::real) {
      j["min"] = f.min;
      j["max"] = f.max;
    }
    j["default"] = std::string(f.default_text);
    out.append(j);
  }
  static const char* kinds[] = {"config", "memory", "timing", "serving", "accuracy"};
  for (const auto& f : models::fields()) {
    py::dict j;
    j["name"] = std::string(f.name);
    j["kind"] = std::string("output:") + kinds[static_cast<int>(f.kind)];
    j["unit"] = std::string(f.unit);
    j["description"] = std::string(f.help);
    out.append(j);
  }
  return out;
}

}  // namespace

PYBIND11_MODULE(kvscope, m) {
  m.doc() = "kvscope: KV-cache memory, bandwidth, latency and throughput of MHA/GQA/MQA and Cross-Layer Attention designs";
  m.attr("__version__") = KVSCOPE_VERSION;
  // kvscope.InputError is a ValueError carrying the CLI's one-line message.
  static py::exception<InputError> input_error(m, "InputError", PyExc_ValueError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const InputError& e) {
      input_error(e.what());
    } catch (const Error& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    }
  });
  m.def("evaluate", &evaluate,
        "evaluate(**design) -> dict: one design point (the keys of `kvscope eval --format json`). Keywords are design fields, "
        "e.g. model='llama-3-8b', kv_heads=4, cla=2, gpu='h100-sxm', batch=64, context=32768.");
  m.def(
      "sweep", [](const py::kwargs& kw) { return run(kw, false); },
      "sweep(**axes, constraints=[...], objectives='', threads=0) -> dict of NumPy columns, one row per point that passes the "
      "constraints (pandas.DataFrame(...) takes it as it is). An axis is a list or the text its flag takes ('1..8', "
      "'1024..131072:x2'). The GIL is released while the sweep runs.");
  m.def(
      "pareto", [](const py::kwargs& kw) { return run(kw, true); },
      "pareto(**axes, objectives='a:min,b:max', constraints=[...]) -> dict of NumPy columns of the Pareto frontier.");
  m.def("simulate", &simulate,
        "simulate(**design, rate=R | concurrency=N | trace='file', isl=, osl=, requests=, seed=, ttft_slo_ms=, tpot_slo_ms=, "
        "slo_percentile=, goodput_precision=) -> dict: serving under load, the keys of `kvscope simulate --format json` (without "
        "provenance). With an SLO target and no rate / concurrency / trace: the goodput search. The GIL is released while it "
        "runs.");
  m.def("models", &models_list, "the bundled model presets");
  m.def("gpus", &gpus_list, "the bundled GPU presets; 'calibrated' means measured on that GPU");
  m.def("stacks", &stacks_list, "the kernel stacks");
  m.def("fields", &fields_list, "design fields (keywords) and output fields (result keys / columns) with unit and meaning");
}
