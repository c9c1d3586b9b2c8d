// The design-field registry (core/design_fields.hpp): spellings, bounds, messages, the field an
// error carries, and scenarios / axes generated from it.
#include <catch2/catch.hpp>
#include <set>

#include "kvscope/core/design_fields.hpp"
#include "kvscope/core/error.hpp"
#include "kvscope/core/scenario.hpp"

using namespace kvscope;

TEST_CASE("design fields: one row per spelling, flags and aliases unique", "[fields]") {
  std::set<std::string> spellings;
  for (const DesignField& f : design_fields()) {
    CHECK(spellings.insert(std::string(f.name)).second);
    for (std::string_view a : f.aliases) CHECK(spellings.insert(std::string(a)).second);
    CHECK_FALSE(f.description.empty());
    CHECK_FALSE(f.gui_label.empty());
    CHECK_FALSE(f.label.empty());
    CHECK(f.flag() == flag_of(f.name));
    if (f.type == ValueType::integer || f.type == ValueType::real) CHECK(f.min <= f.max);
    if (f.type != ValueType::preset) CHECK(f.bind.set != nullptr);
    if (f.sweepable && f.type != ValueType::preset) CHECK(f.bind.set_axis != nullptr);
  }
  CHECK(scenario_field_names().size() == design_fields().size());
}

TEST_CASE("design fields: every spelling finds its row", "[fields]") {
  struct Row {
    const char* spelling;
    const char* name;  // nullptr: no such field
  };
  const Row rows[] = {
      {"n_kv_heads", "n_kv_heads"},
      {"kv_heads", "n_kv_heads"},
      {"--kv-heads", "n_kv_heads"},
      {"kv-heads", "n_kv_heads"},
      {"layers", "n_layers"},
      {"n_layers", "n_layers"},
      {"cla", "cla_factor"},
      {"cla_factor", "cla_factor"},
      {"ffn", "ffn_dim"},
      {"q_heads", "n_q_heads"},
      {"tpot_limit_ms", "tpot_limit_ms"},
      {"kv_layers", nullptr},  // an output (layers that store K/V), not a knob
      {"heads", nullptr},
      {"", nullptr},
      {"--", nullptr},
  };
  for (const Row& r : rows) {
    INFO(r.spelling);
    const DesignField* f = find_design_field(r.spelling);
    if (!r.name) {
      CHECK(f == nullptr);
    } else {
      REQUIRE(f != nullptr);
      CHECK(f->name == r.name);
    }
  }
  CHECK_THROWS_MATCHES(design_field("colour"), InputError,
                       Catch::Message("--colour: expected a design field (`kvscope fields` lists them), found 'colour'"));
}

TEST_CASE("design fields: values are read with the row's bounds, errors name the spelling and carry the field", "[fields]") {
  struct Row {
    const char* spelling;
    const char* text;
    const char* message;  // "" = accepted
    const char* field;
  };
  const Row rows[] = {
      {"kv_heads", "0", "--kv-heads: expected an integer in 1..65536, found 0", "n_kv_heads"},
      {"n_kv_heads", "0", "--n-kv-heads: expected an integer in 1..65536, found 0", "n_kv_heads"},
      {"layers", "10001", "--layers: expected an integer in 1..10000, found 10001", "n_layers"},
      {"cla", "1,2", "--cla: expected a single value here (lists and ranges are for `kvscope sweep` / `pareto`), found '1,2'",
       "cla_factor"},
      {"kv_dtype", "fp4", "--kv-dtype: 'kv_dtype': expected one of bf16, fp16, fp8, int8, int4, found 'fp4'", "kv_dtype"},
      {"tpot_limit_ms", "-1", "--tpot-limit-ms: expected a number in 0..1e+09, found '-1'", "tpot_limit_ms"},
      {"stack", "nosuch", "--stack", "stack"},
      {"ttft_slo_ms", "-1", "--ttft-slo-ms: expected a number in 0..1e+09, found '-1'", "ttft_slo_ms"},
      {"tpot_slo_ms", "fast", "--tpot-slo-ms: expected a number in 0..1e+09, found 'fast'", "tpot_slo_ms"},
      {"slo_percentile", "101", "--slo-percentile: expected a number in 0..100, found '101'", "slo_percentile"},
      {"requests", "0", "--requests: expected an integer in 1..100000000, found 0", "requests"},
      {"seed", "-1", "--seed: expected an integer in 0..9007199254740991, found -1", "seed"},
      {"kv_heads", "8", "", ""},
      {"tpot_limit_ms", "40", "", ""},
      {"isl", "lognormal:2000,1000", "", ""},  // lengths are text here; the simulator parses them (models)
  };
  for (const Row& r : rows) {
    INFO(r.spelling << " " << r.text);
    ArchOverrides o;
    Workload w;
    const DesignField& f = design_field(r.spelling);
    if (!*r.message) {
      CHECK_NOTHROW(apply_value(f, r.spelling, r.text, o, w));
      continue;
    }
    try {
      apply_value(f, r.spelling, r.text, o, w);
      FAIL("accepted");
    } catch (const InputError& e) {
      CHECK_THAT(std::string(e.what()), Catch::StartsWith(r.message));
      CHECK(e.field() == r.field);
    }
  }
  ArchOverrides o;
  Workload w;
  apply_value(design_field("cla"), "cla", "2", o, w);
  CHECK(o.cla_factor == 2);
  apply_value(design_field("tpot_limit_ms"), "tpot_limit_ms", "40", o, w);
  CHECK(w.tpot_limit_s == 40 * 1e-3);
  // The serving load and SLO (Workload::serving): a target in ms is held in s; one value per sweep.
  apply_value(design_field("ttft_slo_ms"), "ttft_slo_ms", "2000", o, w);
  apply_value(design_field("isl"), "isl", "16k", o, w);
  CHECK(w.serving.ttft_slo_s == 2.0);
  CHECK(w.serving.isl == "16k");
  CHECK(w.serving.has_slo());
  OverrideAxes oa;
  WorkloadAxes wa;
  apply_axis(design_field("tpot_slo_ms"), "tpot_slo_ms", "50", oa, wa);
  CHECK(wa.serving.tpot_slo_s == 50 * 1e-3);
  Workload bad;
  bad.serving.slo_percentile = 0;
  CHECK_THROWS_WITH(validate(bad, "t"), "t: 'slo_percentile': expected a percentile in (0, 100], found 0");
}

TEST_CASE("design fields: axes from rows, non-sweepable knobs rejected as axes", "[fields]") {
  OverrideAxes o;
  WorkloadAxes w;
  apply_axis(design_field("kv_heads"), "kv_heads", "1,2,4..8:x2", o, w);
  CHECK(o.n_kv_heads == std::vector<int>{1, 2, 4, 8});
  const DesignField& f = design_field("n_kv_heads");
  REQUIRE(f.bind.axis_size(o) == 4);
  CHECK(f.bind.axis_label(o, 2) == "4");
  ArchOverrides picked;
  f.bind.pick(o, 3, picked);
  CHECK(picked.n_kv_heads == 8);
  apply_axis(design_field("kv_dtype"), "kv_dtype", "bf16,int4", o, w);
  CHECK(design_field("kv_dtype").bind.axis_label(o, 1) == "int4");
  CHECK_THROWS_MATCHES(apply_axis(design_field("model"), "model", "x", o, w), InputError,
                       Catch::Message("--model: expected a sweep axis (a scenario field name), found 'model'"));
  try {
    apply_axis(design_field("batch"), "batch", "1..", o, w);
    FAIL("accepted");
  } catch (const InputError& e) {
    CHECK(e.field() == "batch");
  }
}

TEST_CASE("scenario: one value per field whatever its spelling", "[fields][scenario]") {
  Scenario s;
  s.set("kv_heads", "4");
  CHECK(*s.get("n_kv_heads") == "4");
  CHECK(s.spelling("n_kv_heads") == "kv_heads");
  s.set("n_kv_heads", "8");
  CHECK(s.values.count("kv_heads") == 0);
  CHECK(*s.get("kv_heads") == "8");
  s.set("kv_heads", "");
  CHECK(s.get("n_kv_heads") == nullptr);
  CHECK(s.values.empty());
  // A file may use either spelling, not both; it is written back as it was given.
  const Scenario f = parse_scenario(R"({"schema": "kvscope-scenario/1", "cla": 2, "n_kv_heads": "4"})", "s.json");
  CHECK(*f.get("cla_factor") == "2");
  CHECK(scenario_to_json(f) == R"({"schema":"kvscope-scenario/1","n_kv_heads":"4","cla":"2"})"
                               "\n");
  CHECK_THROWS_MATCHES(parse_scenario(R"({"schema": "kvscope-scenario/1", "cla": 2, "cla_factor": 2})", "s.json"), InputError,
                       Catch::Message("s.json: 'cla_factor': expected one spelling of the field cla_factor, found both 'cla' and "
                                      "'cla_factor'"));
  CHECK_THROWS_WITH(parse_scenario(R"({"schema": "kvscope-scenario/1", "kv-heads": 2})", "s.json"),
                    Catch::StartsWith("s.json: 'kv-heads': expected a known key"));
}

TEST_CASE("resolve_single: consistency errors carry the field", "[fields][scenario]") {
  struct Row {
    std::map<std::string, std::string> values;
    const char* source;
    const char* message;
    const char* field;
  };
  const Row rows[] = {
      {{{"kv_heads", "3"}}, "flags", "--kv-heads: expected a divisor of n_q_heads (32), found 3", "n_kv_heads"},
      {{{"n_kv_heads", "3"}}, "flags", "--n-kv-heads: expected a divisor of n_q_heads (32), found 3", "n_kv_heads"},
      {{{"kv_heads", "3"}}, "gui", "gui: 'n_kv_heads': expected a divisor of n_q_heads (32), found 3", "n_kv_heads"},
      {{{"cla", "33"}}, "gui", "gui: 'cla': expected a CLA factor in 1..32 (the layer count), found 33", "cla_factor"},
      {{{"variant", "H128-GQA3"}}, "flags", "--variant: 'n_kv_heads': expected a divisor of n_q_heads (32), found 3", "variant"},
      {{{"layer_pattern", "L"}},
       "flags",
       "--window: expected a positive number of positions (local layers present), found 0",
       "window"},
  };
  for (const Row& r : rows) {
    INFO(r.message);
    Scenario s;
    s.values = r.values;
    s.source = r.source;
    try {
      resolve_single(s);
      FAIL("accepted");
    } catch (const InputError& e) {
      CHECK(std::string(e.what()) == r.message);
      CHECK(e.field() == r.field);
    }
  }
}

TEST_CASE("token-count fields take size suffixes, other integers do not", "[fields][suffix]") {
  Scenario s;
  s.set("context", "128k");
  s.set("prompt", "2k");
  s.set("max_num_batched_tokens", "16K");
  const SingleDesign d = resolve_single(s);
  CHECK(d.workload.context == 131072);
  CHECK(d.workload.prompt == 2048);
  CHECK(d.workload.engine.max_num_batched_tokens == 16384);
  OverrideAxes o;
  WorkloadAxes w;
  apply_axis(design_field("context"), "context", "1k..4k:x2", o, w);
  CHECK(w.context == std::vector<std::int64_t>{1024, 2048, 4096});
  const struct {
    const char* field;
    const char* text;
    const char* message;
  } bad[] = {
      {"context", "200M",
       "--context: expected an integer in 1..100000000 (token counts take k = 1024 and M = 1048576: 128k = "
       "131072), found '200M' (= 209715200)"},
      {"context", "1.3k", "found '1.3k'"},
      {"batch", "4k", "--batch: expected an integer in 1..1000000, found '4k'"},  // not a token count
  };
  for (const auto& b : bad) {
    INFO(b.text);
    Scenario t;
    t.set(b.field, b.text);
    try {
      (void)resolve_single(t);
      FAIL("accepted");
    } catch (const InputError& e) {
      CHECK_THAT(e.what(), Catch::Matchers::Contains(b.message));
      CHECK(e.field() == b.field);
    }
  }
}
