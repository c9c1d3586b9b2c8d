#pragma once
// Workload: what the GPU is asked to do.
#include <cstdint>
#include <string>

#include "kvscope/core/stack.hpp"

namespace kvscope {

enum class Runtime { graph, eager };  // decode step replayed as a CUDA graph, or launched eagerly
std::string to_string(Runtime);
Runtime parse_runtime(const std::string& text, const std::string& where);

struct Workload {
  std::int64_t batch = 1;       // concurrent requests in a decode step
  std::int64_t context = 8192;  // positions each request holds (and a decode step attends to)
  std::int64_t prompt = 2048;   // prompt tokens per request for prefill / TTFT
  int tp = 1;                   // tensor-parallel degree
  Runtime runtime = Runtime::graph;
  std::string stack = default_stack_id();  // kernel stack that runs the step (core/stack.hpp)
  double tpot_limit_s = 0;      // optional latency limit per output token (0 = none)
  // Memory held back from the KV cache: CUDA context, cuBLAS workspace, allocator slack.
  // Default 1 GiB, a documented assumption (docs/model.md): CUDA context + cuBLAS workspace +
  // allocator slack. Activation workspace is counted separately by the memory model.
  double runtime_reserve_B = 1073741824.0;
};

void validate(const Workload& w, const std::string& where);

}  // namespace kvscope
