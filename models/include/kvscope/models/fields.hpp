#pragma once
// The named output fields of an evaluated design point. One registry serves the CLI's table,
// CSV and JSON columns, sweep constraints (`max_context >= 32768`), Pareto objectives and the
// GUI's axis drop-downs, so a name means the same thing everywhere. The design knobs are the
// rows of core/design_fields.hpp; a knob that is reported (n_kv_heads, batch, ...) names its
// column here by the same name. `kvscope fields` lists both tables.
//
// Adding an output field: one row below (name with its unit, help, kind, accessor, log hint),
// in the position its CSV / JSON column should take (new rows at the end of their kind keep the
// existing column order); docs/extending.md has the worked example.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kvscope/core/workload.hpp"
#include "kvscope/models/accuracy.hpp"
#include "kvscope/models/evaluate.hpp"

namespace kvscope::models {

// Facts about an architecture that outputs report (one per architecture in a sweep).
struct ArchFacts {
  std::string model;    // the base model's id (preset id or the file's), before any override
  std::string variant;  // "H128-GQA4-CLA2" (core/architecture.hpp variant_name)
  KvDtype kv_dtype = KvDtype::bf16;
  KvDtype weight_dtype = KvDtype::bf16;
  int n_layers = 0;
  int n_q_heads = 0;
  int n_kv_heads = 0;
  int head_dim = 0;
  int kv_layers = 0;
  int cla_factor = 1;  // 0 = non-uniform pattern
  double kv_bytes_per_element = 2;
  double weight_bytes_per_element = 2;  // linear layers, scales included
  std::int64_t window = 0;
  AccuracyEstimate accuracy;
};
ArchFacts make_arch_facts(const Architecture& arch);

struct PointResult {
  std::uint32_t arch_index = 0;  // into the sweep's architecture table
  std::uint32_t gpu_index = 0;   // into the sweep's GPU table
  const ArchFacts* arch = nullptr;
  Workload workload;
  Evaluation eval;
};

enum class FieldKind { config, memory, timing, serving, accuracy };
const char* to_string(FieldKind k);

struct Field {
  std::string_view name;  // "kv_bytes_per_token"
  std::string_view unit;  // "B", "s", "tokens/s", "%", "" (count), "bool"
  std::string_view help;
  FieldKind kind;
  double (*get)(const PointResult&);
  bool log_scale_hint;  // plots: values span orders of magnitude
};

const std::vector<Field>& fields();
// The `reason` outputs carry: why the point does not fit in memory, and why its goodput is 0
// ("goodput 0: ..."), joined by "; "; empty when neither applies.
std::string point_reason(const PointResult& p);
const Field* find_field(std::string_view name);
// Names of fields closest to `name` (edit distance), for "did you mean" messages.
std::vector<std::string_view> closest_fields(std::string_view name, std::size_t n = 3);

}  // namespace kvscope::models
