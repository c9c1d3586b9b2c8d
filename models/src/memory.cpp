#include "kvscope/models/memory.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "kvscope/core/units.hpp"

namespace kvscope::models {

double kv_bytes_per_sequence(const ArchProfile& p, double context) {
  const double local = p.window > 0 ? std::min(context, static_cast<double>(p.window)) : context;
  return p.kv_bytes_per_elem * p.kv_elems_layer_gpu * (p.stored_global_layers * context + p.stored_local_layers * local);
}

double kv_read_bytes_per_sequence(const ArchProfile& p, double context) {
  const double local = p.window > 0 ? std::min(context, static_cast<double>(p.window)) : context;
  return p.kv_bytes_per_elem * p.kv_elems_layer_gpu * (p.read_global_layers * context + p.read_local_layers * local);
}

namespace {
double free_for_kv(const ArchProfile& p, double capacity_B, double reserve_B) {
  return capacity_B - p.weight_bytes_gpu - reserve_B;
}
}  // namespace

std::int64_t max_batch(const ArchProfile& p, double capacity_B, double reserve_B, double context) {
  const double avail = free_for_kv(p, capacity_B, reserve_B);
  const double per_seq = kv_bytes_per_sequence(p, context) + p.workspace_per_token_B;
  if (avail <= 0 || per_seq <= 0) return 0;
  return static_cast<std::int64_t>(std::min(std::floor(avail / per_seq), 1e15));
}

std::int64_t max_context(const ArchProfile& p, double capacity_B, double reserve_B, std::int64_t batch) {
  const double avail = free_for_kv(p, capacity_B, reserve_B);
  if (avail <= 0 || batch <= 0) return 0;
  // Solve kv_bytes_per_sequence(S) <= K, a piecewise-linear increasing function of S.
  const double k = avail / static_cast<double>(batch) - p.workspace_per_token_B;
  if (k <= 0) return 0;
  const double unit = p.kv_bytes_per_elem * p.kv_elems_layer_gpu;
  const double g = unit * p.stored_global_layers;
  const double l = unit * p.stored_local_layers;
  const double w = p.window > 0 ? static_cast<double>(p.window) : 0.0;
  double s = 0;
  if (l > 0 && w > 0) {
    const double below = k / (g + l);
    if (below < w) {
      s = below;
    } else if (g <= 0) {
      return kUnboundedContext;
    } else {
      s = (k - l * w) / g;
    }
  } else {
    if (g + l <= 0) return kUnboundedContext;
    s = k / (g + l);
  }
  return static_cast<std::int64_t>(std::min(std::floor(s), static_cast<double>(kUnboundedContext)));
}

MemoryResult evaluate_memory(const ArchProfile& p, const GpuSpec& gpu, const Workload& w) {
  using units::kGiB;
  MemoryResult r;
  const double b = static_cast<double>(w.batch);
  const double s = static_cast<double>(w.context);
  r.kv_bytes_per_token = p.kv_bytes_per_elem * p.kv_elems_layer_total * p.kv_layers;
  r.kv_bytes_per_token_gpu = p.kv_bytes_per_elem * p.kv_elems_layer_gpu * p.kv_layers;
  r.kv_cache_bytes = b * kv_bytes_per_sequence(p, s);
  r.kv_read_bytes_per_step = b * kv_read_bytes_per_sequence(p, s);
  r.weight_bytes = p.weight_bytes_gpu;
  r.workspace_bytes = b * p.workspace_per_token_B;
  r.reserve_bytes = w.runtime_reserve_B;
  r.total_bytes = r.weight_bytes + r.kv_cache_bytes + r.workspace_bytes + r.reserve_bytes;
  r.capacity_bytes = memory_capacity_B(gpu);
  r.param_count = p.params.total;
  r.active_param_count = p.params.active;
  r.max_batch = max_batch(p, r.capacity_bytes, r.reserve_bytes, s);
  r.max_context = max_context(p, r.capacity_bytes, r.reserve_bytes, w.batch);
  r.feasible = r.total_bytes <= r.capacity_bytes;
  if (!r.feasible) {
    const double fixed = r.weight_bytes + r.reserve_bytes;
    if (fixed > r.capacity_bytes) {
      r.reason = fmt::format("weights ({:.1f} GiB per GPU) + runtime reserve exceed HBM ({:.1f} GiB) by {:.1f} GiB",
                             r.weight_bytes / kGiB, r.capacity_bytes / kGiB, (fixed - r.capacity_bytes) / kGiB);
    } else {
      r.reason = fmt::format("KV cache ({:.1f} GiB) exceeds free HBM by {:.1f} GiB; max batch at context {} is {}",
                             r.kv_cache_bytes / kGiB, (r.total_bytes - r.capacity_bytes) / kGiB, w.context, r.max_batch);
    }
  }
  return r;
}

}  // namespace kvscope::models

namespace kvscope::models {

std::vector<LayerRow> layer_breakdown(const Architecture& a, const ArchProfile& p, const Workload& w) {
  std::vector<LayerRow> rows(static_cast<std::size_t>(a.n_layers));
  const double ctx = static_cast<double>(w.context);
  const double per_pos = p.kv_elems_layer_gpu * p.kv_bytes_per_elem;
  auto local = [&](int i) { return !a.layer_kind.empty() && a.layer_kind[static_cast<std::size_t>(i)] == LayerKind::local; };
  auto producer = [&](int i) { return a.kv_producer.empty() ? i : a.kv_producer[static_cast<std::size_t>(i)]; };
  auto capped = [&](bool is_local) { return is_local && p.window > 0 ? std::min(ctx, static_cast<double>(p.window)) : ctx; };
  for (int i = 0; i < a.n_layers; ++i) {
    LayerRow& r = rows[static_cast<std::size_t>(i)];
    r.layer = i;
    r.producer = producer(i);
    r.stores_kv = r.producer == i;
    r.local = local(i);
    r.positions_read = capped(r.local);
    r.kv_read_bytes = static_cast<double>(w.batch) * r.positions_read * per_pos;
    r.weight_bytes = (r.stores_kv ? p.w_qkv_producer_B : p.w_q_consumer_B) + p.w_o_B +
                     (i >= a.n_layers - p.moe_layers ? (p.n_routed + p.n_shared) * p.w_expert_B : p.w_mlp_dense_B);
  }
  // A producer stores every position if any layer reading it is global, else `window`.
  for (int i = 0; i < a.n_layers; ++i) {
    LayerRow& prod = rows[static_cast<std::size_t>(producer(i))];
    prod.positions_stored = std::max(prod.positions_stored, capped(local(i)));
  }
  for (auto& r : rows) r.kv_stored_bytes = static_cast<double>(w.batch) * r.positions_stored * per_pos;
  return rows;
}

}  // namespace kvscope::models
