#include "pool_output.hpp"

#include <fmt/format.h>

#include "kvscope/core/units.hpp"
#include "output.hpp"

namespace kvscope::cli {

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
