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

struct MemoryResult {
  double kv_bytes_per_token = 0;          // whole model, every position cached (paper's column)
  double kv_bytes_per_token_gpu = 0;      // one GPU under TP (replicated heads counted)
  double kv_cache_bytes = 0;              // one GPU, batch x context, window caps applied
  double kv_read_bytes_per_step = 0;      // one GPU, every attention layer reads what it attends to
  double weight_bytes = 0;                // one GPU
  double workspace_bytes = 0;             // activations of the decode step, one GPU
  double reserve_bytes = 0;               // runtime reserve
  double total_bytes = 0;
  double capacity_bytes = 0;
  double param_count = 0;
  double active_param_count = 0;
  std::int64_t max_batch = 0;             // at the workload's context
  std::int64_t max_context = 0;           // at the workload's batch
  bool feasible = false;
  std::string reason;                     // empty when feasible
};

// Stored K/V bytes of one request holding `context` positions, on one GPU.
double kv_bytes_per_sequence(const ArchProfile& p, double context);
// K/V bytes one decode step reads for one request attending to `context` positions, one GPU.
double kv_read_bytes_per_sequence(const ArchProfile& p, double context);

MemoryResult evaluate_memory(const ArchProfile& p, const GpuSpec& gpu, const Workload& w);

// Fast path for sweeps: only the numbers, no reason string.
std::int64_t max_batch(const ArchProfile& p, double capacity_B, double reserve_B, double context);
std::int64_t max_context(const ArchProfile& p, double capacity_B, double reserve_B, std::int64_t batch);

}  // namespace kvscope::models

namespace kvscope::models {

// Per-layer view of memory and K/V traffic (one GPU) — what `kvscope eval --per-layer` prints
// and the GUI's layer strip shows.
struct LayerRow {
  int layer = 0;
  int producer = 0;           // layer whose K/V this layer attends to
  bool stores_kv = false;
  bool local = false;         // sliding-window layer
  double positions_stored = 0;  // per request (0 when the layer stores nothing)
  double positions_read = 0;    // per request, per decode step
  double kv_stored_bytes = 0;   // batch x positions_stored x bytes per position
  double kv_read_bytes = 0;     // per decode step
  double weight_bytes = 0;
};
std::vector<LayerRow> layer_breakdown(const Architecture& arch, const ArchProfile& p, const Workload& w);

}  // namespace kvscope::models
