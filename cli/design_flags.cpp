#include "design_flags.hpp"

namespace kvscope::cli {

namespace {
struct FlagHelp {
  const char* name;
  const char* help;
};
const FlagHelp kHelp[] = {
    {"model", "model preset id (see `kvscope models`) or a model JSON file [llama-3-8b]"},
    {"layers", "number of layers"},
    {"d_model", "hidden size"},
    {"q_heads", "query heads"},
    {"kv_heads", "K/V heads (MHA = q heads, GQA, MQA = 1); must divide the query heads"},
    {"head_dim", "head dimension (alone: query heads = d_model / head_dim, the CLA paper's rule)"},
    {"ffn", "MLP intermediate size"},
    {"vocab", "vocabulary size"},
    {"cla", "CLA factor: groups of N adjacent layers share the lowest layer's K/V"},
    {"kv_producers", "per-layer producer map '0,0,2,2' / '0_0_2_2', or KeepEnds|DenseFront|DenseBack"},
    {"variant", "CLA paper shorthand, e.g. H128-GQA4-CLA2, H64-MQA, H128-MQA-CLA2-KeepEnds"},
    {"kv_dtype", "K/V element type: bf16, fp16, fp8, int8, int4"},
    {"weight_dtype", "linear-layer weight type: bf16, fp16, fp8 (W8A8 where the GPU has fp8), int8, int4 (weight-only) [the preset's checkpoint]"},
    {"weight_group_size", "int4 weights: elements per fp16 scale + 4-bit zero point [128]"},
    {"window", "sliding-window length (positions) of local layers"},
    {"layer_pattern", "global/local layer pattern repeated over the layers, e.g. LG or LLLLLG"},
    {"gpu", "GPU preset id (see `kvscope gpus`) or a GPU profile JSON file [h100-sxm]"},
    {"tp", "tensor-parallel degree [1]"},
    {"batch", "requests decoded together [1]"},
    {"context", "positions each request holds and attends to in a decode step [8192]"},
    {"prompt", "prompt tokens per request, for prefill / TTFT [2048]"},
    {"runtime", "kernel launch model: graph (CUDA-graph replay) or eager [graph]"},
    {"stack", "kernel stack: torch-flash, torch-cudnn or kvbench (`kvscope stacks`) [torch-flash]"},
    {"tpot_limit_ms", "latency limit per output token for the serving view, in ms [none]"},
    {"gpu_memory_utilization", "fraction of the device total the engine may use (vLLM --gpu-memory-utilization) [0.90]"},
    {"max_num_batched_tokens", "rows of the engine's prefill chunk: its activation peak is held back from the K/V pool [8192]"},
    {"max_num_seqs", "most requests the engine runs at once; sampler buffers are sized for them [256]"},
    {"block_size", "tokens per paged K/V block; the pool and each request are whole blocks [16]"},
    {"cuda_graph_memory_gib", "CUDA-graph memory taken from the K/V pool, GiB (vLLM captures graphs after sizing it) [0]"},
    {"non_torch_memory_gib", "non-torch memory the engine's profile sees (cuBLAS workspace, allocator), GiB [0.13]"},
    {"allreduce_buffers_gib", "NCCL / custom all-reduce buffers per GPU under tensor parallelism, GiB [0.42]"},
};
}  // namespace

void add_design_flags(CLI::App* sub, DesignFlags& f, bool lists) {
  sub->add_option("--scenario", f.scenario_file, "scenario JSON (kvscope-scenario/1); flags override it");
  for (const auto& h : kHelp) {
    std::string help = h.help;
    if (lists) help += " — list '1,2,4' or range '1..8', '1024..131072:x2'";
    const std::string name = h.name;
    sub->add_option_function<std::string>(
        flag_of(name), [&f, name](const std::string& v) { f.values[name] = v; }, help);
  }
}

Scenario to_scenario(const DesignFlags& f) {
  Scenario s = f.scenario_file.empty() ? Scenario{} : load_scenario(f.scenario_file);
  for (const auto& [k, v] : f.values) s.values[k] = v;
  if (!f.constraints.empty()) s.constraints = f.constraints;
  if (!f.objectives.empty()) s.objectives = f.objectives;
  if (f.scenario_file.empty()) s.source = "flags";
  return s;
}

}  // namespace kvscope::cli
