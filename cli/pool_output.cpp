#include "pool_output.hpp"

#include <fmt/format.h>

#include "kvscope/core/units.hpp"
#include "output.hpp"

namespace kvscope::cli {

// Every term of the engine's K/V pool, named as the flags that set them.
boost::json::object kv_pool_json(const models::KvPool& k, double concurrency, std::int64_t context, const GpuSpec& gpu) {
  return {{"engine", "vLLM V1 (vllm serve, chunked prefill)"},
          {"device_total_bytes", json_number(k.device_total_B)},
          {"device_total_source", gpu.memory_usable_source.empty() ? "datasheet capacity (no device total known)" : gpu.memory_usable_source},
          {"gpu_memory_utilization", json_number(k.utilization)},
          {"budget_bytes", json_number(k.budget_B)},
          {"weights_bytes", json_number(k.weights_B)},
          {"activation_peak_bytes", json_number(k.activation_B)},
          {"sampler_bytes", json_number(k.sampler_B)},
          {"cuda_graph_bytes", json_number(k.cuda_graph_B)},
          {"allreduce_buffers_bytes", json_number(k.allreduce_B)},
          {"non_torch_bytes", json_number(k.non_torch_B)},
          {"block_size", k.block_size},
          {"block_bytes", json_number(k.block_B)},
          {"blocks", json_number(k.blocks)},
          {"pool_bytes", json_number(k.pool_B)},
          {"pool_tokens", json_number(k.tokens())},
          {"max_num_seqs", k.max_num_seqs},
          {"max_concurrency", json_number(concurrency)},
          {"max_concurrency_context", context}};
}

std::string kv_pool_text(const models::KvPool& k, double concurrency, std::int64_t context, const EngineMemory& e) {
  using units::kGiB;
  std::string out = fmt::format(
      "K/V pool (vLLM V1 memory profile, per GPU): device total {:.2f} GiB x gpu_memory_utilization {:.2f} = {:.2f} GiB;\n"
      "  weights {:.2f} GiB; activation peak {:.2f} GiB (--max-num-batched-tokens {}); sampler {:.2f} GiB (--max-num-seqs {});\n"
      "  CUDA graphs {:.2f} GiB; all-reduce buffers {:.2f} GiB; non-torch {:.2f} GiB;\n"
      "  the rest for the K/V cache: {:.2f} GiB = {:.0f} blocks of {} tokens ({:.0f} tokens)\n",
      k.device_total_B / kGiB, k.utilization, k.budget_B / kGiB, k.weights_B / kGiB, k.activation_B / kGiB,
      e.max_num_batched_tokens, k.sampler_B / kGiB, e.max_num_seqs, k.cuda_graph_B / kGiB, k.allreduce_B / kGiB,
      k.non_torch_B / kGiB, k.pool_B / kGiB, k.blocks, k.block_size, k.tokens());
  out += fmt::format("  Maximum concurrency for {} tokens per request: {:.2f}x\n", context, concurrency);
  return out;
}

}  // namespace kvscope::cli
