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

KvPool kv_pool(const ArchProfile& p, double device_total_B, const EngineMemory& e) {
  KvPool k;
  k.device_total_B = device_total_B;
  k.utilization = e.gpu_memory_utilization;
  k.budget_B = device_total_B * e.gpu_memory_utilization;
  k.weights_B = p.weight_bytes_gpu;
  // profile_run: one forward pass of max_num_batched_tokens rows (its activation peak), then the
  // sampler on min(max_num_seqs, max_num_batched_tokens) rows (vllm/v1/worker/gpu_worker.py
  // compile_or_warm_up_model / gpu_model_runner.py _dummy_sampler_run).
  k.activation_B = static_cast<double>(e.max_num_batched_tokens) * p.activation_per_token_B;
  k.sampler_B = static_cast<double>(std::min(e.max_num_seqs, e.max_num_batched_tokens)) * p.sampler_per_seq_B;
  k.cuda_graph_B = e.cuda_graph_B;
  k.allreduce_B = p.tp > 1 ? e.allreduce_buffers_B : 0.0;
  k.non_torch_B = e.non_torch_B;
  k.available_B = k.budget_B - k.weights_B - k.overhead_B();
  k.block_size = e.block_size;
  k.max_num_seqs = e.max_num_seqs;
  // One block holds block_size positions of every storing layer (vLLM: page size per layer x
  // layers; num_blocks = available // that, kv_cache_utils.py).
  k.block_B = static_cast<double>(e.block_size) * p.kv_bytes_per_elem * p.kv_elems_layer_gpu * p.kv_layers;
  k.blocks = k.available_B > 0 && k.block_B > 0 ? std::floor(k.available_B / k.block_B) : 0.0;
  k.pool_B = k.blocks * k.block_B;
  return k;
}

double layer_blocks_per_sequence(const ArchProfile& p, const KvPool& pool, double context) {
  const double bs = static_cast<double>(pool.block_size);
  const double full = std::ceil(context / bs);
  const double local = p.window > 0 ? std::ceil(std::min(context, static_cast<double>(p.window)) / bs) : full;
  return p.stored_global_layers * full + p.stored_local_layers * local;
}

double max_concurrency(const ArchProfile& p, const KvPool& pool, double context) {
  const double need = layer_blocks_per_sequence(p, pool, context);
  return need > 0 ? pool.blocks * p.kv_layers / need : 0.0;
}

std::int64_t max_batch(const ArchProfile& p, const KvPool& pool, double context) {
  const double need = layer_blocks_per_sequence(p, pool, context);
  if (pool.blocks <= 0 || need <= 0) return 0;
  // Whole numbers of blocks (exact in double): floor(pool layer-blocks / a request's).
  const double fit = std::floor(pool.blocks * p.kv_layers / need);
  return static_cast<std::int64_t>(std::min(fit, static_cast<double>(pool.max_num_seqs)));
}

std::int64_t max_context(const ArchProfile& p, const KvPool& pool, std::int64_t batch) {
  if (pool.blocks <= 0 || batch <= 0 || batch > pool.max_num_seqs) return 0;
  // Layer-blocks one request may hold, then the most blocks per layer c with
  // N_glob c + N_loc min(c, c_W) <= k (piecewise linear in c), c_W = the window's blocks.
  const double k = std::floor(pool.blocks * p.kv_layers / static_cast<double>(batch));
  const double g = p.stored_global_layers, l = p.stored_local_layers;
  const double bs = static_cast<double>(pool.block_size);
  double c = 0;
  if (l > 0 && p.window > 0) {
    const double cw = std::ceil(static_cast<double>(p.window) / bs);
    const double below = std::floor(k / (g + l));
    if (below < cw) {
      c = below;
    } else if (g <= 0) {
      return kUnboundedContext;
    } else {
      c = std::floor((k - l * cw) / g);
    }
  } else {
    if (g + l <= 0) return kUnboundedContext;
    c = std::floor(k / (g + l));
  }
  return static_cast<std::int64_t>(std::min(c * bs, static_cast<double>(kUnboundedContext)));
}

void fill_memory(MemoryResult& r, const ArchProfile& p, const KvPool& pool, const Workload& w, double kv_seq_B,
                 double kv_read_seq_B, std::int64_t max_batch_v, std::int64_t max_context_v, bool with_reason) {
  using units::kGiB;
  const double b = static_cast<double>(w.batch);
  r.kv_bytes_per_token = p.kv_bytes_per_elem * p.kv_elems_layer_total * p.kv_layers;
  r.kv_bytes_per_token_gpu = p.kv_bytes_per_elem * p.kv_elems_layer_gpu * p.kv_layers;
  {
    const double ctx_s = static_cast<double>(w.context);
    const double held = p.window > 0 ? std::min(ctx_s, static_cast<double>(p.window)) / ctx_s : 1.0;
    r.kv_bytes_per_token_effective =
        p.kv_bytes_per_elem * p.kv_elems_layer_total * (p.stored_global_layers + p.stored_local_layers * held);
  }
  r.kv_cache_bytes = b * kv_seq_B;
  r.kv_read_bytes_per_step = b * kv_read_seq_B;
  r.weight_bytes = p.weight_bytes_gpu;
  r.workspace_bytes = pool.activation_B + pool.sampler_B;
  r.reserve_bytes = pool.cuda_graph_B + pool.allreduce_B + pool.non_torch_B;
  r.total_bytes = r.weight_bytes + r.kv_cache_bytes + r.workspace_bytes + r.reserve_bytes;
  r.capacity_bytes = pool.budget_B;
  r.pool = pool;
  r.param_count = p.params.total;
  r.active_param_count = p.params.active;
  r.max_batch = max_batch_v;
  r.max_context = max_context_v;
  const double ctx = static_cast<double>(w.context);
  r.max_concurrency = max_concurrency(p, pool, ctx);
  const double need = b * layer_blocks_per_sequence(p, pool, ctx);
  r.feasible = pool.blocks > 0 && w.batch <= pool.max_num_seqs && need <= pool.blocks * p.kv_layers;
  r.reason.clear();
  if (r.feasible || !with_reason) return;
  if (pool.blocks <= 0) {
    r.reason = fmt::format(
        "weights ({:.1f} GiB per GPU) + engine buffers ({:.1f} GiB) exceed {:.0f} % of HBM ({:.1f} GiB of {:.1f} GiB){}",
        r.weight_bytes / kGiB, pool.overhead_B() / kGiB, 100 * pool.utilization, pool.budget_B / kGiB, pool.device_total_B / kGiB,
        pool.available_B < 0 ? fmt::format(" by {:.1f} GiB", -pool.available_B / kGiB)
                             : std::string(", no whole K/V block left"));
  } else if (w.batch > pool.max_num_seqs) {
    r.reason = fmt::format("batch {} exceeds --max-num-seqs {}; max batch at context {} is {}", w.batch, pool.max_num_seqs,
                           w.context, r.max_batch);
  } else {
    const double over = (need - pool.blocks * p.kv_layers) * pool.block_B / std::max(1, p.kv_layers);
    r.reason = fmt::format("KV cache ({:.1f} GiB) exceeds the K/V pool ({:.1f} GiB) by {:.1f} GiB; max batch at context {} is {}",
                           need * pool.block_B / std::max(1, p.kv_layers) / kGiB, pool.pool_B / kGiB, over / kGiB, w.context,
                           r.max_batch);
  }
}

MemoryResult evaluate_memory(const ArchProfile& p, const GpuSpec& gpu, const Workload& w) {
  MemoryResult r;
  const double s = static_cast<double>(w.context);
  const KvPool pool = kv_pool(p, memory_capacity_B(gpu), w.engine);
  fill_memory(r, p, pool, w, kv_bytes_per_sequence(p, s), kv_read_bytes_per_sequence(p, s), max_batch(p, pool, s),
              max_context(p, pool, w.batch), true);
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
