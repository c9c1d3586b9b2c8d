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

// The load and latency targets of the SLA goodput search (`kvscope simulate`, and the goodput_rps
// output field of eval / sweep / pareto; docs/model.md §6). One value for a whole sweep: the
// search runs once per design (architecture, TP, GPU, stack, runtime), and only when a target is
// set. Lengths are the text `--isl` / `--osl` take (models::parse_length_dist checks them).
struct ServingLoad {
  double ttft_slo_s = 0;            // TTFT target at slo_percentile; 0 = none
  double tpot_slo_s = 0;            // TPOT target at slo_percentile; 0 = none
  double slo_percentile = 90;       // both targets hold at this percentile (vLLM benchmark's p90 default here)
  double goodput_precision = 0.01;  // the rate bisection stops at hi - lo <= this x hi
  std::string isl = "2048";         // prompt tokens: N, uniform:A..B, normal:MEAN,SD, lognormal:MEAN,SD
  std::string osl = "256";          // output tokens, the same forms
  std::int64_t requests = 1000;     // requests per simulation (each probe of the search)
  std::int64_t seed = 1;            // arrivals and lengths (the same draws at every rate)
  bool has_slo() const { return ttft_slo_s > 0 || tpot_slo_s > 0; }
};
// ConfigError naming `where` for a value out of range (lengths are checked where they are read).
void validate(const ServingLoad& s, const std::string& where);

struct Workload {
  std::int64_t batch = 1;       // concurrent requests in a decode step
  std::int64_t context = 8192;  // positions each request holds (and a decode step attends to)
  std::int64_t prompt = 2048;   // prompt tokens per request for prefill / TTFT
  int tp = 1;                   // tensor-parallel degree
  Runtime runtime = Runtime::graph;
  std::string stack = default_stack_id();  // kernel stack that runs the step (core/stack.hpp)
  double tpot_limit_s = 0;                 // optional latency limit per output token (0 = none)
  EngineMemory engine;                     // how the engine sizes the K/V pool
  ServingLoad serving;                     // load and SLO of the goodput search (unused without a target)
};

void validate(const Workload& w, const std::string& where);

}  // namespace kvscope
