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
#include "kvscope/core/gpu.hpp"
#include "kvscope/core/workload.hpp"

namespace kvscope {

struct Scenario {
  // Field name (the JSON key; the flag is "--" + name with '_' -> '-') -> value text.
  // Known names: model, layers, d_model, q_heads, kv_heads, head_dim, ffn, vocab, cla,
  // kv_producers, variant, kv_dtype, window, layer_pattern, gpu, tp, batch, context, prompt,
  // runtime, tpot_limit_ms, and the engine memory knobs (is_engine_field).
  std::map<std::string, std::string> values;
  std::vector<std::string> constraints;  // "max_context >= 32768"
  std::string objectives;                // "kv_bytes_per_token:min,val_ppl:min"
  std::string source = "flags";          // file path or "flags", for messages

  const std::string* get(const std::string& name) const;
};

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
// Apply one scenario field to overrides / workload (single values).
void set_override(ArchOverrides& o, const std::string& name, const std::string& text);
void set_workload(Workload& w, const std::string& name, const std::string& text);
bool is_arch_field(const std::string& name);
bool is_workload_field(const std::string& name);
// Engine memory knobs (gpu_memory_utilization, max_num_batched_tokens, max_num_seqs, block_size,
// cuda_graph_memory_gib, non_torch_memory_gib, allreduce_buffers_gib): single values everywhere.
bool is_engine_field(const std::string& name);
void set_engine_field(EngineMemory& e, const std::string& name, const std::string& text);
std::string flag_of(const std::string& name);  // "kv_heads" -> "--kv-heads"

// JSON "kvscope-scenario/1": every field as a string or a number; "constraints": [..],
// "objectives": "..". Strict: unknown keys are errors naming the file.
Scenario load_scenario(const std::string& path);
Scenario parse_scenario(const std::string& json_text, const std::string& where);
std::string scenario_to_json(const Scenario& s);

}  // namespace kvscope
