#pragma once
// Memory model: KV bytes per token, KV cache for a batch x context, weights, workspace, and the
// largest batch / longest context that fit. Formulas in docs/model.md §Memory.
#include <cstdint>
#include <string>
#include <vector>

#include "kvscope/core/gpu.hpp"
#include "kvscope/core/workload.hpp"
#include "kvscope/models/profile.hpp"

namespace kvscope::models {

inline constexpr std::int64_t kUnboundedContext = 100000000;  // all layers sliding-window

// The serving engine's paged K/V pool on one GPU, term by term (vLLM's start-up memory profile;
// docs/model.md §2 "Capacity"). Every byte term is per GPU.
struct KvPool {
  double device_total_B = 0;  // what the driver reports (cudaMemGetInfo total)
  double utilization = 0;     // --gpu-memory-utilization
  double budget_B = 0;        // device_total_B x utilization
  double weights_B = 0;
  double activation_B = 0;  // activation peak of a prefill chunk of max_num_batched_tokens rows
  double sampler_B = 0;     // logits / sampler buffers of min(max_num_seqs, batched tokens) rows
  double cuda_graph_B = 0;
  double allreduce_B = 0;  // NCCL / custom all-reduce buffers (tp > 1 only)
  double non_torch_B = 0;
  double available_B = 0;  // budget minus every term above (negative: nothing left)
  std::int64_t block_size = 16;
  double block_B = 0;  // one paged block: block_size positions of every storing layer
  double blocks = 0;   // whole blocks in the pool (an integer)
  double pool_B = 0;   // blocks x block_B
  std::int64_t max_num_seqs = 0;
  double overhead_B() const { return activation_B + sampler_B + cuda_graph_B + allreduce_B + non_torch_B; }
  double tokens() const { return blocks * static_cast<double>(block_size); }  // vLLM's "GPU KV cache size"
};

// The pool for this profile on a GPU whose driver reports `device_total_B` (see device_total_B()).
KvPool kv_pool(const ArchProfile& p, double device_total_B, const EngineMemory& e);
// Paged blocks of one storing layer that one request holding `context` positions occupies, summed
// over the storing layers (windowed layers hold ceil(min(S, W) / block) blocks).
double layer_blocks_per_sequence(const ArchProfile& p, const KvPool& pool, double context);
// vLLM's "Maximum concurrency for S tokens per request": the pool's blocks over one request's.
double max_concurrency(const ArchProfile& p, const KvPool& pool, double context);

struct MemoryResult {
  double kv_bytes_per_token = 0;      // whole model, every position cached (paper's column)
  double kv_bytes_per_token_gpu = 0;  // one GPU under TP (replicated heads counted)
  // Whole model, at the workload's context with sliding windows applied: local layers hold
  // min(S, W) of the S positions (equals kv_bytes_per_token without windows or when S <= W).
  double kv_bytes_per_token_effective = 0;
  double kv_cache_bytes = 0;          // one GPU, batch x context, window caps applied
  double kv_read_bytes_per_step = 0;  // one GPU, every attention layer reads what it attends to
  double weight_bytes = 0;            // one GPU
  double workspace_bytes = 0;         // engine activation peak + sampler buffers, one GPU
  double reserve_bytes = 0;           // CUDA graphs + all-reduce buffers + non-torch memory
  double total_bytes = 0;             // weights + K/V of the batch + the two above
  double capacity_bytes = 0;          // device total x gpu_memory_utilization
  KvPool pool;
  double max_concurrency = 0;  // at the workload's context (vLLM's log line)
  double param_count = 0;
  double active_param_count = 0;
  std::int64_t max_batch = 0;    // at the workload's context
  std::int64_t max_context = 0;  // at the workload's batch
  bool feasible = false;
  std::string reason;  // empty when feasible
};

// Stored K/V bytes of one request holding `context` positions, on one GPU.
double kv_bytes_per_sequence(const ArchProfile& p, double context);
// K/V bytes one decode step reads for one request attending to `context` positions, one GPU.
double kv_read_bytes_per_sequence(const ArchProfile& p, double context);

MemoryResult evaluate_memory(const ArchProfile& p, const GpuSpec& gpu, const Workload& w);
// The same from a pool already built (sweeps build one per row): `kv_seq_B` / `kv_read_seq_B` are
// kv_bytes_per_sequence / kv_read_bytes_per_sequence at the workload's context, `max_batch_v` /
// `max_context_v` max_batch / max_context. `with_reason` formats the infeasibility reason.
void fill_memory(MemoryResult& r, const ArchProfile& p, const KvPool& pool, const Workload& w, double kv_seq_B,
                 double kv_read_seq_B, std::int64_t max_batch_v, std::int64_t max_context_v, bool with_reason);

// The largest batch the pool admits at `context` (at most max_num_seqs), and the longest context
// (a whole number of blocks) at `batch` (0 when batch > max_num_seqs).
std::int64_t max_batch(const ArchProfile& p, const KvPool& pool, double context);
std::int64_t max_context(const ArchProfile& p, const KvPool& pool, std::int64_t batch);

}  // namespace kvscope::models

namespace kvscope::models {

// Per-layer view of memory and K/V traffic (one GPU) — what `kvscope eval --per-layer` prints
// and the GUI's layer strip shows.
struct LayerRow {
  int layer = 0;
  int producer = 0;  // layer whose K/V this layer attends to
  bool stores_kv = false;
  bool local = false;           // sliding-window layer
  double positions_stored = 0;  // per request (0 when the layer stores nothing)
  double positions_read = 0;    // per request, per decode step
  double kv_stored_bytes = 0;   // batch x positions_stored x bytes per position
  double kv_read_bytes = 0;     // per decode step
  double weight_bytes = 0;
};
std::vector<LayerRow> layer_breakdown(const Architecture& arch, const ArchProfile& p, const Workload& w);

}  // namespace kvscope::models
