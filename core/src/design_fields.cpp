#include "kvscope/core/design_fields.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "kvscope/core/axes.hpp"
#include "kvscope/core/enum_names.hpp"
#include "kvscope/core/error.hpp"
#include "kvscope/core/scenario.hpp"
#include "kvscope/core/stack.hpp"

namespace kvscope {

namespace field_detail {

namespace {
// Token counts take k / M suffixes (axes.hpp: expand_token_suffixes, k = 1024).
bool counts_tokens(const DesignField& f) {
  return f.unit == "positions" || f.unit == "tokens";
}

// A token count's error quotes what was typed and names the suffixes.
template <class F>
auto with_token_suffixes(const DesignField& f, const std::string& text, F&& parse) {
  if (!counts_tokens(f)) return parse(text);
  const std::string expanded = expand_token_suffixes(text);
  try {
    return parse(expanded);
  } catch (const InputError& e) {
    // Only a value written with a suffix gets the reminder; a plain number's message is as ever.
    if (e.expected().empty() || text.find_first_of("kKmM") == std::string::npos) throw;
    InputError again(e.where(), e.key(), e.expected() + " (token counts take k = 1024 and M = 1048576: 128k = 131072)",
                     expanded == text ? e.found() : fmt::format("'{}' (= {})", text, expanded));
    again.set_field(e.field());
    throw again;
  }
}
}  // namespace

std::int64_t parse_integer(const DesignField& f, const std::string& text, const std::string& flag) {
  return with_token_suffixes(f, text, [&](const std::string& t) {
    return parse_int_value(t, flag, static_cast<std::int64_t>(f.min), static_cast<std::int64_t>(f.max));
  });
}
double parse_real(const DesignField& f, const std::string& text, const std::string& flag) {
  return parse_double_value(text, flag, f.min, f.max) * f.scale;
}
std::vector<std::int64_t> parse_integer_axis(const DesignField& f, const std::string& text, const std::string& flag) {
  return with_token_suffixes(f, text, [&](const std::string& t) {
    return parse_int_axis(t, flag, static_cast<std::int64_t>(f.min), static_cast<std::int64_t>(f.max));
  });
}
std::vector<double> parse_real_axis(const DesignField& f, const std::string& text, const std::string& flag) {
  std::vector<double> v = parse_double_axis(text, flag, f.min, f.max);
  for (double& x : v) x *= f.scale;
  return v;
}
std::vector<std::string> parse_text_axis(const DesignField& f, const std::string& text, const std::string& flag) {
  return parse_string_axis(text, flag, f.separator);
}
std::string parse_stack_id(const std::string& t, const std::string& flag) {
  return find_stack(t, flag).id;
}

}  // namespace field_detail

namespace {

using field_detail::parse_stack_id;
constexpr double kNoBound = 0;
constexpr double kGiB = 1073741824.0;  // 2^30 B

// The table. Bounds are sanity limits (a typo guard, not a physical claim): the largest model
// shipped has 126 layers, 128 heads, d_model 16384 and a 256k vocabulary (data/models).
const std::vector<DesignField> kDesignFields = {
    // ---- Model ---------------------------------------------------------------------------------
    {"model",
     "",
     FieldGroup::model,
     ValueType::preset,
     kNoBound,
     kNoBound,
     1,
     "model preset id (see `kvscope models`) or a model JSON file",
     "llama-3-8b",
     {},
     "model",
     true,
     "",
     "&Preset",
     ',',
     {}},
    // ---- Shape (architecture overrides, in sweep-axis order) -------------------------------------
    {"n_layers",
     "",
     FieldGroup::shape,
     ValueType::integer,
     1,
     10000,
     1,
     "number of layers",
     "",
     {"layers"},
     "layers",
     true,
     "",
     "Layers",
     ',',
     arch_field<&ArchOverrides::n_layers, &OverrideAxes::n_layers>()},
    {"d_model",
     "",
     FieldGroup::shape,
     ValueType::integer,
     1,
     1000000,
     1,
     "hidden size",
     "",
     {},
     "d_model",
     true,
     "",
     "d_model",
     ',',
     arch_field<&ArchOverrides::d_model, &OverrideAxes::d_model>()},
    {"n_q_heads",
     "",
     FieldGroup::shape,
     ValueType::integer,
     1,
     65536,
     1,
     "query heads",
     "",
     {"q_heads"},
     "q_heads",
     true,
     "n_q_heads",
     "Query heads",
     ',',
     arch_field<&ArchOverrides::n_q_heads, &OverrideAxes::n_q_heads>()},
    {"n_kv_heads",
     "",
     FieldGroup::sharing,
     ValueType::integer,
     1,
     65536,
     1,
     "K/V heads (MHA = q heads, GQA, MQA = 1); must divide the query heads",
     "",
     {"kv_heads"},
     "kv_heads",
     true,
     "n_kv_heads",
     "&K/V heads",
     ',',
     arch_field<&ArchOverrides::n_kv_heads, &OverrideAxes::n_kv_heads>()},
    {"head_dim",
     "",
     FieldGroup::shape,
     ValueType::integer,
     1,
     65536,
     1,
     "head dimension (alone: query heads = d_model / head_dim, the CLA paper's rule)",
     "",
     {},
     "head_dim",
     true,
     "head_dim",
     "Head dim",
     ',',
     arch_field<&ArchOverrides::head_dim, &OverrideAxes::head_dim>()},
    {"ffn_dim",
     "",
     FieldGroup::shape,
     ValueType::integer,
     1,
     10000000,
     1,
     "MLP intermediate size",
     "",
     {"ffn"},
     "ffn",
     true,
     "",
     "FFN",
     ',',
     arch_field<&ArchOverrides::ffn_dim, &OverrideAxes::ffn_dim>()},
    {"vocab",
     "",
     FieldGroup::shape,
     ValueType::integer,
     1,
     100000000,
     1,
     "vocabulary size",
     "",
     {},
     "vocab",
     true,
     "",
     "Vocab",
     ',',
     arch_field<&ArchOverrides::vocab, &OverrideAxes::vocab>()},
    // ---- Layer sharing ----------------------------------------------------------------------------
    {"cla_factor",
     "",
     FieldGroup::sharing,
     ValueType::integer,
     1,
     10000,
     1,
     "CLA factor: groups of N adjacent layers share the lowest layer's K/V",
     "",
     {"cla"},
     "cla",
     true,
     "cla_factor",
     "&CLA factor",
     ',',
     arch_field<&ArchOverrides::cla_factor, &OverrideAxes::cla_factor>()},
    {"kv_producers",
     "",
     FieldGroup::sharing,
     ValueType::text,
     kNoBound,
     kNoBound,
     1,
     "per-layer producer map '0,0,2,2' / '0_0_2_2', or KeepEnds|DenseFront|DenseBack",
     "",
     {},
     "kv_producers",
     true,
     "",
     "Producer &map",
     ';',
     arch_field<&ArchOverrides::kv_producers, &OverrideAxes::kv_producers>()},
    {"variant",
     "",
     FieldGroup::sharing,
     ValueType::text,
     kNoBound,
     kNoBound,
     1,
     "CLA paper shorthand, e.g. H128-GQA4-CLA2, H64-MQA, H128-MQA-CLA2-KeepEnds",
     "",
     {},
     "variant",
     true,
     "",
     "Variant",
     ',',
     arch_field<&ArchOverrides::variant, &OverrideAxes::variant>()},
    // ---- K/V storage -------------------------------------------------------------------------------
    {"kv_dtype",
     "",
     FieldGroup::storage,
     ValueType::choice,
     kNoBound,
     kNoBound,
     1,
     "K/V element type: bf16, fp16, fp8, int8, int4",
     "",
     {},
     "kv_dtype",
     true,
     "",
     "K/V &dtype",
     ',',
     arch_field<&ArchOverrides::kv_dtype, &OverrideAxes::kv_dtype, &parse_kv_dtype>()},
    {"window",
     "positions",
     FieldGroup::storage,
     ValueType::integer,
     1,
     100000000,
     1,
     "sliding-window length (positions) of local layers",
     "",
     {},
     "window",
     true,
     "",
     "Window",
     ',',
     arch_field<&ArchOverrides::window, &OverrideAxes::window>()},
    {"layer_pattern",
     "",
     FieldGroup::storage,
     ValueType::text,
     kNoBound,
     kNoBound,
     1,
     "global/local layer pattern repeated over the layers, e.g. LG or LLLLLG",
     "",
     {},
     "layer_pattern",
     true,
     "",
     "&Layer kinds",
     ',',
     arch_field<&ArchOverrides::layer_pattern, &OverrideAxes::layer_pattern>()},
    // ---- Weights ---------------------------------------------------------------------------------
    {"weight_dtype",
     "",
     FieldGroup::storage,
     ValueType::choice,
     kNoBound,
     kNoBound,
     1,
     "linear-layer weight type: bf16, fp16, fp8 (W8A8 where the GPU has fp8), int8, int4 (weight-only)",
     "the preset's checkpoint",
     {},
     "weight_dtype",
     true,
     "",
     "&Weights",
     ',',
     arch_field<&ArchOverrides::weight_dtype, &OverrideAxes::weight_dtype, &parse_weight_dtype>()},
    {"weight_group_size",
     "",
     FieldGroup::storage,
     ValueType::integer,
     1,
     65536,
     1,
     "int4 weights: elements per fp16 scale + 4-bit zero point",
     "128",
     {"weight_group"},
     "weight_group_size",
     true,
     "",
     "Weight group",
     ',',
     arch_field<&ArchOverrides::weight_group, &OverrideAxes::weight_group>()},
    // ---- Hardware ----------------------------------------------------------------------------------
    {"gpu",
     "",
     FieldGroup::hardware,
     ValueType::preset,
     kNoBound,
     kNoBound,
     1,
     "GPU preset id (see `kvscope gpus`) or a GPU profile JSON file",
     "h100-sxm",
     {},
     "gpu",
     true,
     "",
     "&GPU",
     ',',
     {}},
    // ---- Workload ----------------------------------------------------------------------------------
    {"tp",
     "",
     FieldGroup::workload,
     ValueType::integer,
     1,
     1024,
     1,
     "tensor-parallel degree",
     "1",
     {},
     "tp",
     true,
     "tp",
     "&TP",
     ',',
     workload_field<&Workload::tp, &WorkloadAxes::tp>()},
    {"batch",
     "",
     FieldGroup::workload,
     ValueType::integer,
     1,
     1000000,
     1,
     "requests decoded together",
     "1",
     {},
     "batch",
     true,
     "batch",
     "&Batch",
     ',',
     workload_field<&Workload::batch, &WorkloadAxes::batch>()},
    {"context",
     "positions",
     FieldGroup::workload,
     ValueType::integer,
     1,
     100000000,
     1,
     "positions each request holds and attends to in a decode step",
     "8192",
     {},
     "context",
     true,
     "context",
     "C&ontext",
     ',',
     workload_field<&Workload::context, &WorkloadAxes::context>()},
    {"prompt",
     "tokens",
     FieldGroup::workload,
     ValueType::integer,
     1,
     100000000,
     1,
     "prompt tokens per request, for prefill / TTFT",
     "2048",
     {},
     "prompt",
     true,
     "prompt",
     "Prom&pt",
     ',',
     workload_field<&Workload::prompt, &WorkloadAxes::prompt>()},
    {"runtime",
     "",
     FieldGroup::workload,
     ValueType::choice,
     kNoBound,
     kNoBound,
     1,
     "kernel launch model: graph (CUDA-graph replay) or eager",
     "graph",
     {},
     "runtime",
     true,
     "",
     "Runtime",
     ',',
     workload_field<&Workload::runtime, &WorkloadAxes::runtime, &parse_runtime>()},
    {"stack",
     "",
     FieldGroup::workload,
     ValueType::choice,
     kNoBound,
     kNoBound,
     1,
     "kernel stack: torch-flash, torch-cudnn or kvbench (`kvscope stacks`)",
     "torch-flash",
     {},
     "stack",
     true,
     "",
     "&Stack",
     ',',
     workload_field<&Workload::stack, &WorkloadAxes::stack, &parse_stack_id>()},
    {"tpot_limit_ms",
     "ms",
     FieldGroup::workload,
     ValueType::real,
     0,
     1e9,
     1e-3,
     "latency limit per output token for the serving view, in ms",
     "none",
     {},
     "tpot_limit_ms",
     true,
     "",
     "TPOT &limit",
     ',',
     workload_field<&Workload::tpot_limit_s, &WorkloadAxes::tpot_limit_s>()},
    // ---- Engine memory (how the serving engine sizes its K/V pool; core/workload.hpp EngineMemory) --
    // One value for a whole sweep. A utilization of 0 passes the parser and fails validate(Workload).
    {"gpu_memory_utilization",
     "",
     FieldGroup::engine,
     ValueType::real,
     0,
     1,
     1,
     "fraction of the device total the engine may use (vLLM --gpu-memory-utilization)",
     "0.90",
     {},
     "gpu_memory_utilization",
     false,
     "",
     "GPU memory &utilization",
     ',',
     engine_field<&EngineMemory::gpu_memory_utilization>()},
    {"max_num_batched_tokens",
     "tokens",
     FieldGroup::engine,
     ValueType::integer,
     1,
     100000000,
     1,
     "rows of the engine's prefill chunk: its activation peak is held back from the K/V pool",
     "8192",
     {},
     "max_num_batched_tokens",
     false,
     "",
     "Max batched tokens",
     ',',
     engine_field<&EngineMemory::max_num_batched_tokens>()},
    {"max_num_seqs",
     "",
     FieldGroup::engine,
     ValueType::integer,
     1,
     1000000,
     1,
     "most requests the engine runs at once; sampler buffers are sized for them",
     "256",
     {},
     "max_num_seqs",
     false,
     "",
     "Max sequences",
     ',',
     engine_field<&EngineMemory::max_num_seqs>()},
    {"block_size",
     "tokens",
     FieldGroup::engine,
     ValueType::integer,
     1,
     1048576,
     1,
     "tokens per paged K/V block; the pool and each request are whole blocks",
     "16",
     {},
     "block_size",
     false,
     "",
     "Block size",
     ',',
     engine_field<&EngineMemory::block_size>()},
    {"cuda_graph_memory_gib",
     "GiB",
     FieldGroup::engine,
     ValueType::real,
     0,
     1e6,
     kGiB,
     "CUDA-graph memory taken from the K/V pool, GiB (vLLM captures graphs after sizing it)",
     "0",
     {},
     "cuda_graph_memory_gib",
     false,
     "",
     "CUDA-graph memory",
     ',',
     engine_field<&EngineMemory::cuda_graph_B>()},
    {"non_torch_memory_gib",
     "GiB",
     FieldGroup::engine,
     ValueType::real,
     0,
     1e6,
     kGiB,
     "non-torch memory the engine's profile sees (cuBLAS workspace, allocator), GiB",
     "0.13",
     {},
     "non_torch_memory_gib",
     false,
     "",
     "Non-torch memory",
     ',',
     engine_field<&EngineMemory::non_torch_B>()},
    {"allreduce_buffers_gib",
     "GiB",
     FieldGroup::engine,
     ValueType::real,
     0,
     1e6,
     kGiB,
     "NCCL / custom all-reduce buffers per GPU under tensor parallelism, GiB",
     "0.42",
     {},
     "allreduce_buffers_gib",
     false,
     "",
     "All-reduce buffers",
     ',',
     engine_field<&EngineMemory::allreduce_buffers_B>()},
    // ---- Serving load and SLO (core/workload.hpp ServingLoad): the goodput search ----------------
    // One value for a whole sweep. A target makes eval / sweep / pareto search goodput_rps per design
    // (docs/model.md §6); `kvscope simulate` takes the same flags.
    {"ttft_slo_ms",
     "ms",
     FieldGroup::serving,
     ValueType::real,
     0,
     1e9,
     1e-3,
     "TTFT target at --slo-percentile, ms: with a target the goodput (goodput_rps) is searched",
     "none",
     {},
     "ttft_slo_ms",
     false,
     "",
     "TTFT target",
     ',',
     serving_field<&ServingLoad::ttft_slo_s>()},
    {"tpot_slo_ms",
     "ms",
     FieldGroup::serving,
     ValueType::real,
     0,
     1e9,
     1e-3,
     "TPOT target at --slo-percentile, ms (as --ttft-slo-ms)",
     "none",
     {},
     "tpot_slo_ms",
     false,
     "",
     "TPOT target",
     ',',
     serving_field<&ServingLoad::tpot_slo_s>()},
    {"slo_percentile",
     "",
     FieldGroup::serving,
     ValueType::real,
     0,
     100,
     1,
     "percentile at which the TTFT / TPOT targets must hold",
     "90",
     {},
     "slo_percentile",
     false,
     "",
     "SLO percentile",
     ',',
     serving_field<&ServingLoad::slo_percentile>()},
    {"goodput_precision",
     "",
     FieldGroup::serving,
     ValueType::real,
     0,
     1,
     1,
     "relative width at which the goodput rate bisection stops",
     "0.01",
     {},
     "goodput_precision",
     false,
     "",
     "Goodput precision",
     ',',
     serving_field<&ServingLoad::goodput_precision>()},
    {"isl",
     "tokens",
     FieldGroup::serving,
     ValueType::text,
     kNoBound,
     kNoBound,
     1,
     "prompt tokens of the simulated requests (16k = 16384): N, uniform:A..B, normal:MEAN,SD or lognormal:MEAN,SD",
     "2048",
     {},
     "isl",
     false,
     "",
     "Prompt lengths",
     ',',
     serving_field<&ServingLoad::isl>()},
    {"osl",
     "tokens",
     FieldGroup::serving,
     ValueType::text,
     kNoBound,
     kNoBound,
     1,
     "output tokens of the simulated requests: N, uniform:A..B, normal:MEAN,SD or lognormal:MEAN,SD",
     "256",
     {},
     "osl",
     false,
     "",
     "Output lengths",
     ',',
     serving_field<&ServingLoad::osl>()},
    {"requests",
     "",
     FieldGroup::serving,
     ValueType::integer,
     1,
     100000000,
     1,
     "requests per simulation (each goodput probe)",
     "1000",
     {},
     "requests",
     false,
     "",
     "Requests",
     ',',
     serving_field<&ServingLoad::requests>()},
    {"seed",
     "",
     FieldGroup::serving,
     ValueType::integer,
     0,
     9007199254740991.0,
     1,
     "random seed of arrivals and lengths (same seed, same result)",
     "1",
     {},
     "seed",
     false,
     "",
     "Seed",
     ',',
     serving_field<&ServingLoad::seed>()},
};

std::string normalized(std::string_view s) {
  if (s.substr(0, 2) == "--") s.remove_prefix(2);
  std::string n(s);
  std::replace(n.begin(), n.end(), '-', '_');
  return n;
}

// apply_value / apply_axis: `set` is the row's one-value or list setter (null: the row has none,
// InputError saying what was `expected`). Errors name the flag of the spelling the user wrote and
// carry the field's name.
template <typename Set, typename Overrides, typename Work>
void apply_binding(const DesignField& f, Set set, const char* expected, const std::string& spelling, const std::string& text,
                   Overrides& o, Work& w) {
  const std::string flag = flag_of(spelling);
  if (!set) throw InputError(flag, "", expected, fmt::format("'{}'", spelling));
  try {
    set(f, o, w, text, flag);
  } catch (InputError& e) {
    e.set_field(std::string(f.name));
    throw;
  }
}

}  // namespace

const char* to_string(FieldGroup g) {
  return enum_name<FieldGroup::serving>(g, {"model", "shape", "sharing", "storage", "hardware", "workload", "engine", "serving"});
}

const char* to_string(ValueType t) {
  return enum_name<ValueType::preset>(t, {"integer", "real", "text", "choice", "preset"});
}

std::string DesignField::flag() const {
  return flag_of(name);
}

std::span<const DesignField> design_fields() {
  return kDesignFields;
}

const DesignField* find_design_field(std::string_view spelling) {
  const std::string n = normalized(spelling);
  for (const DesignField& f : kDesignFields) {
    if (f.name == n) return &f;
    if (std::find(f.aliases.begin(), f.aliases.end(), n) != f.aliases.end()) return &f;
  }
  return nullptr;
}

const DesignField& design_field(std::string_view spelling) {
  if (const DesignField* f = find_design_field(spelling)) return *f;
  throw InputError(flag_of(spelling), "", "a design field (`kvscope fields` lists them)", fmt::format("'{}'", spelling));
}

void apply_value(const DesignField& f, const std::string& spelling, const std::string& text, ArchOverrides& o, Workload& w) {
  apply_binding(f, f.bind.set, "a field with a value to set here", spelling, text, o, w);
}

void apply_axis(const DesignField& f, const std::string& spelling, const std::string& text, OverrideAxes& o, WorkloadAxes& w) {
  apply_binding(f, f.bind.set_axis, "a sweep axis (a scenario field name)", spelling, text, o, w);
}

std::string flag_of(std::string_view spelling) {
  std::string f = "--";
  f += spelling.substr(0, 2) == "--" ? spelling.substr(2) : spelling;
  std::replace(f.begin(), f.end(), '_', '-');
  return f;
}

}  // namespace kvscope
