#pragma once
// A scenario is what a user asks: models, architecture overrides, GPUs and workload, each as the
// text a flag takes ("8", "1,2,4,8", "1024..131072:x2"). The CLI's flags, `--scenario FILE`
// (JSON "kvscope-scenario/1") and the GUI all produce one, so they describe the same things with
// the same words. Single-point commands (eval) require one value per field; sweeps expand lists.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kvscope/core/architecture.hpp"
#include "kvscope/core/design.hpp"
#include "kvscope/core/design_fields.hpp"
#include "kvscope/core/gpu.hpp"
#include "kvscope/core/workload.hpp"

namespace kvscope {

struct Scenario {
  // Field spelling as written (the JSON key; the flag is "--" + spelling with '_' -> '-') ->
  // value text. The fields are the rows of design_fields() (core/design_fields.hpp); a value may
  // be stored under the field's name or one of its aliases ("kv_heads" for n_kv_heads), and
  // messages name the spelling stored. Use get() / set() rather than `values` directly.
  std::map<std::string, std::string> values;
  std::vector<std::string> constraints;  // "max_context >= 32768"
  std::string objectives;                // "kv_bytes_per_token:min,val_ppl:min"
  std::string source = "flags";          // file path or "flags", for messages

  // The value of a field by any of its spellings, or null when unset / empty.
  const std::string* get(const std::string& name) const;
  // The spelling the value of this field is stored under (its name when unset).
  std::string spelling(const std::string& name) const;
  // Sets a field under this spelling, replacing a value stored under another one ("" clears).
  void set(const std::string& spelling, const std::string& text);
};

// Canonical names of every design field, in table order (model, shape, ..., gpu, workload).
const std::vector<std::string>& scenario_field_names();

// One design point. Defaults: model llama-3-8b, gpu h100-sxm, batch 1, context 8192, prompt
// 2048, tp 1, runtime graph.
struct SingleDesign {
  Architecture arch;
  GpuSpec gpu;
  Workload workload;
};
SingleDesign resolve_single(const Scenario& s);

// Parsing helpers shared with sweeps. `flag` names the flag ("--kv-heads") in messages.
std::int64_t parse_int_value(const std::string& text, const std::string& flag, std::int64_t min, std::int64_t max);
double parse_double_value(const std::string& text, const std::string& flag, double min, double max);
// Apply one scenario field (any spelling) to overrides / workload (single values); errors name
// the flag of the spelling given and carry the field (InputError::field()).
void set_override(ArchOverrides& o, const std::string& name, const std::string& text);
void set_workload(Workload& w, const std::string& name, const std::string& text);
bool is_arch_field(const std::string& name);
bool is_workload_field(const std::string& name);  // workload and engine memory knobs
// Engine memory knobs (gpu_memory_utilization, max_num_batched_tokens, max_num_seqs, block_size,
// cuda_graph_memory_gib, non_torch_memory_gib, allreduce_buffers_gib): single values everywhere.
bool is_engine_field(const std::string& name);
void set_engine_field(EngineMemory& e, const std::string& name, const std::string& text);

// JSON "kvscope-scenario/1": every field (any spelling) as a string or a number; "constraints":
// [..], "objectives": "..". Strict: unknown keys, and a field given under two spellings, are
// errors naming the file.
Scenario load_scenario(const std::string& path);
Scenario parse_scenario(const std::string& json_text, const std::string& where);
std::string scenario_to_json(const Scenario& s);

}  // namespace kvscope
