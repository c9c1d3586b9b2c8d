#pragma once
// Workload: what the GPU is asked to do.
#include <cstdint>
#include <string>

#include "kvscope/core/stack.hpp"

namespace kvscope {

enum class Runtime { graph, eager };  // decode step replayed as a CUDA graph, or launched eagerly
std::string to_string(Runtime);
Runtime parse_runtime(const std::string& text, const std::string& where);

// How the serving engine sizes its paged K/V pool on each GPU (vLLM's start-up memory profile,
// vllm/v1/worker/gpu_worker.py determine_available_memory; docs/model.md §2 "Capacity"):
//   pool = device total x gpu_memory_utilization - weights - activation peak of a prefill chunk of
//          max_num_batched_tokens rows - sampler buffers of max_num_seqs requests - CUDA graphs
//          - (TP) all-reduce buffers - non-torch memory,
// rounded down to whole blocks of block_size tokens. Defaults: vLLM V1 `vllm serve` (0.8-0.10) on
// a >= 70 GiB GPU: utilization 0.90, chunked prefill with 8192 batched tokens, 256 sequences,
// block 16 (vllm/config.py, vllm/engine/arg_utils.py); graphs captured after the pool is sized
// (from the 1 - utilization headroom, gpu_worker.py compile_or_warm_up_model) hence 0; non-torch
// 0.13 GiB and +0.42 GiB of NCCL / custom all-reduce buffers under TP as measured by llm-d on
// H100s (config_explorer/empirical-vllm-memory-results.md).
struct EngineMemory {
  double gpu_memory_utilization = 0.90;
  std::int64_t max_num_batched_tokens = 8192;
  std::int64_t max_num_seqs = 256;
  std::int64_t block_size = 16;  // tokens per paged K/V block
  double cuda_graph_B = 0;
  double non_torch_B = 0.13 * 1073741824.0;
  double allreduce_buffers_B = 0.42 * 1073741824.0;  // only when tp > 1
};
void validate(const EngineMemory& e, const std::string& where);

struct Workload {
  std::int64_t batch = 1;       // concurrent requests in a decode step
  std::int64_t context = 8192;  // positions each request holds (and a decode step attends to)
  std::int64_t prompt = 2048;   // prompt tokens per request for prefill / TTFT
  int tp = 1;                   // tensor-parallel degree
  Runtime runtime = Runtime::graph;
  std::string stack = default_stack_id();  // kernel stack that runs the step (core/stack.hpp)
  double tpot_limit_s = 0;      // optional latency limit per output token (0 = none)
  EngineMemory engine;          // how the engine sizes the K/V pool
};

void validate(const Workload& w, const std::string& where);

}  // namespace kvscope
