#include "kvscope/models/timing.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "kvscope/core/enum_names.hpp"

namespace kvscope::models {

namespace {
constexpr double kAct = 2.0;  // bf16 activations, bytes per element
constexpr double kMinSplitPositions = 256.0;
// Tensor-core attention kernels (mma.sync m16n8k16, as kvbench's) compute 16 query rows per MMA
// tile: a KV head's g query heads are padded up to a multiple of 16 in decode.
constexpr double kMmaRows = 16.0;
// Keys per K/V tile: a causal prefill also computes the masked half of each diagonal tile.
constexpr double kAttnTileKeys = 64.0;

// The linear layers' GEMMs on this GPU: fp8 weights run W8A8 at the fp8 dense peak where the GPU
// has one (vLLM's fp8 path on Hopper / Ada / Blackwell), with the fp8 calibration's fractions when
// measured, else the bf16 ones (an estimate); int8 / int4 (and fp8 without fp8 tensor cores) are
// weight-only: the weight stream shrinks, the math stays bf16 (Marlin-class kernels).
struct LinearGemm {
  double peak, compute_fraction, bw_fraction, weight_B;
  double act_in_B = kAct;  // W8A8: the activation enters the GEMM as e4m3 (cast by its own kernel)
};
LinearGemm linear_gemm(const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t) {
  const bool w8a8 = p.weight_dtype == KvDtype::fp8 && gpu.fp8_flops > 0;
  if (!w8a8) return {gpu.bf16_flops * t.compute_clock(), t.gemm_compute_fraction, t.gemm_bw_fraction, p.weight_bytes_per_elem};
  return {gpu.fp8_flops * t.compute_clock(),
          t.gemm_fp8_compute_fraction > 0 ? t.gemm_fp8_compute_fraction : t.gemm_compute_fraction,
          t.gemm_fp8_bw_fraction > 0 ? t.gemm_fp8_bw_fraction : t.gemm_bw_fraction, p.weight_bytes_per_elem, 1.0};
}

KernelTime gemm_q(const TimingParams& t, const LinearGemm& g, double m, double n, double k);

struct Acc {
  PhaseCost phase;
  void add(Op op, const KernelTime& k, double kernels, double launch_each) {
    OpCost& o = phase.ops[static_cast<int>(op)];
    o.time_s += k.time_s + kernels * launch_each;
    o.launch_s += kernels * launch_each;
    o.bytes += k.bytes;
    o.flops += k.flops;
    o.kernels += kernels;
    o.memory_s += k.memory_s;
    o.compute_s += k.compute_s;
    o.tensor_s += k.tensor_s;
  }
};

KernelTime scaled(KernelTime k, double f) {
  k.time_s *= f, k.memory_s *= f, k.compute_s *= f, k.bytes *= f, k.flops *= f, k.tensor_s *= f;
  return k;
}

KernelTime allreduce(const TimingParams& t, int tp, double bytes) {
  KernelTime k;
  k.bytes = bytes;
  // Ring all-reduce moves 2 (tp-1)/tp of the buffer per GPU (nccl-tests bus bandwidth).
  k.memory_s = 2.0 * (tp - 1) / tp * bytes / t.allreduce_bus_Bps;
  k.time_s = t.allreduce_latency_s + k.memory_s;
  return k;
}

double positions_read(const ArchProfile& p, double context, bool local) {
  return local && p.window > 0 ? std::min(context, static_cast<double>(p.window)) : context;
}

void finish(PhaseCost& ph, const TimingParams& t, Runtime runtime) {
  ph.time_s = ph.bytes = ph.flops = ph.kernels = ph.tensor_s = ph.power_s = 0;
  for (const OpCost& o : ph.ops) {
    ph.time_s += o.time_s;
    ph.bytes += o.bytes;
    ph.flops += o.flops;
    ph.kernels += o.kernels;
    ph.tensor_s += o.tensor_s;
  }
  // The power limit slows the clock-bound (tensor-core) kernels: the stretch is shared by tensor_s and
  // each op pays what its compute term loses (power_loss_s).
  std::array<ClockTerms, kOpCount> clock;
  for (std::size_t i = 0; i < ph.ops.size(); ++i) clock[i] = {ph.ops[i].memory_s, ph.ops[i].compute_s, ph.ops[i].tensor_s};
  std::array<double, kOpCount> loss{};
  if ((ph.power_s = power_loss_s(t, ph.time_s, clock, loss.data())) > 0) {
    for (std::size_t i = 0; i < ph.ops.size(); ++i) ph.ops[i].time_s += loss[i];
    ph.time_s += ph.power_s;
  }
  // Eager launches are host-bound when the GPU work per kernel is shorter than the CPU's launch
  // call: the step then takes kernels x launch_cpu_s.
  // The host-bound excess is the launch calls' time: it is attributed to the ops by their kernel
  // counts, so the per-op breakdown still sums to the step.
  if (runtime == Runtime::eager && ph.kernels * t.launch_cpu_s > ph.time_s && ph.kernels > 0) {
    const double extra = ph.kernels * t.launch_cpu_s - ph.time_s;
    for (OpCost& o : ph.ops) {
      const double share = extra * o.kernels / ph.kernels;
      o.time_s += share;
      o.launch_s += share;
    }
    ph.time_s = ph.kernels * t.launch_cpu_s;
  }
}

// Shared layer walk for decode (tokens = batch, one query per request) and prefill.
struct Pass {
  double tokens;    // rows of every GEMM
  double requests;  // batch
  double q_len;     // 1 for decode, prompt for prefill
  double context;   // positions attended (decode) / prompt (prefill)
  bool prefill;
};

void add_fused_elementwise(Acc& acc, const ArchProfile& p, const TimingParams& t, const Pass& s, double launch, double ffn_live);
void add_eager_elementwise(Acc& acc, const ArchProfile& p, const TimingParams& t, const Pass& s, double launch, double ffn_live);

// MLA's projections, all under qkv_proj (vLLM's MLA backends, DeepSeek-V3 inference/model.py):
// every layer q_a (d -> r_q; none without a low-rank query) and q_b (r_q -> heads x (nope +
// rope)); producers kv_a (d -> r_kv + rope) and kv_b's r_kv x heads x (nope + v) weights. Decode
// (absorbed): kv_b as two per-head products, W_UK on the query (nope -> r_kv) and W_UV on the
// attention output (r_kv -> v). Prefill: kv_b up-projects the latent of every token to per-head
// K_nope and V. q_a / kv_a are replicated under TP (their N is not divided). Mixed serving
// iterations (Pass.prefill false) use the absorbed form for every row.
void add_mla_projections(Acc& acc, const ArchProfile& p, const TimingParams& t, const LinearGemm& lg, const Pass& s,
                         double launch) {
  const double m = s.tokens, d = p.d_model, L = p.n_layers;
  const double heads = p.q_heads_per_gpu;
  const double qk = p.mla_nope + p.mla_rope;
  if (p.mla_rq > 0) {
    acc.add(Op::qkv_proj, scaled(gemm_q(t, lg, m, p.mla_rq, d), L), L, launch);
    acc.add(Op::qkv_proj, scaled(gemm_q(t, lg, m, heads * qk, p.mla_rq), L), L, launch);
  } else {
    acc.add(Op::qkv_proj, scaled(gemm_q(t, lg, m, heads * qk, d), L), L, launch);
  }
  const double prod = p.kv_layers;
  acc.add(Op::qkv_proj, scaled(gemm_q(t, lg, m, p.mla_rkv + p.mla_rope, d), prod), prod, launch);
  if (s.prefill) {
    acc.add(Op::qkv_proj, scaled(gemm_q(t, lg, m, heads * (p.mla_nope + p.mla_v), p.mla_rkv), prod), prod, launch);
  } else {
    acc.add(Op::qkv_proj, scaled(gemm_q(t, lg, m, heads * p.mla_rkv, p.mla_nope), prod), prod, launch);
    acc.add(Op::qkv_proj, scaled(gemm_q(t, lg, m, heads * p.mla_v, p.mla_rkv), prod), prod, launch);
  }
}

// Everything but attention and the per-request head (LM head, final norm): the part of a step
// that depends only on the number of token rows `s.tokens` (GEMM rows, elementwise widths).
// Contributions to a slot keep one fixed order, so body + head + attention + finish is
// bit-identical however the parts are computed (sweeps, the serving simulator's caches).
void add_body(Acc& acc, const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t, const Pass& s, Runtime runtime) {
  const double launch = runtime == Runtime::graph ? t.launch_graph_s : t.launch_stream_s;
  // Compute-bound work runs at the power-limited clock (TimingParams::compute_clock()).
  const double peak = gpu.bf16_flops * t.compute_clock();
  const double m = s.tokens;
  const double d = p.d_model;
  const double L = p.n_layers;

  const LinearGemm lg = linear_gemm(p, gpu, t);
  if (p.mla) {
    add_mla_projections(acc, p, t, lg, s, launch);
  } else {
    // QKV projections: producers compute Q, K, V; CLA consumers only Q.
    acc.add(Op::qkv_proj, scaled(gemm_q(t, lg, m, p.q_dim_gpu + p.kv_dim_gpu, d), p.kv_layers), p.kv_layers, launch);
    if (p.consumer_layers > 0) {
      acc.add(Op::qkv_proj, scaled(gemm_q(t, lg, m, p.q_dim_gpu, d), p.consumer_layers), p.consumer_layers, launch);
    }
  }
  // O projection; kvbench fuses the residual add in the GEMM epilogue (reads the residual: M*d),
  // eager PyTorch adds it with a separate kernel (counted with the elementwise ops below).
  const bool fused = t.fused_elementwise;
  KernelTime o = gemm_q(t, lg, m, d, p.o_in_gpu);
  if (fused) {
    o.bytes += kAct * m * d;
    o.memory_s += kAct * m * d / (lg.bw_fraction * t.hbm_read_Bps);
    o.time_s = t.gemm_fixed_s + std::max(o.memory_s, o.compute_s);
  }
  acc.add(Op::o_proj, scaled(o, L), L, launch);

  // MLP: dense layers gate_up (fused) + down; MoE layers router + grouped experts.
  if (p.dense_mlp_layers > 0) {
    const double mats_up = p.mlp_matrices - 1.0;  // SwiGLU: gate+up fused (2); plain: up (1)
    KernelTime up = gemm_q(t, lg, m, mats_up * p.ffn_gpu, d);
    KernelTime down = gemm_q(t, lg, m, d, p.ffn_gpu);
    if (fused) {
      down.bytes += kAct * m * d;
      down.memory_s += kAct * m * d / (lg.bw_fraction * t.hbm_read_Bps);
      down.time_s = t.gemm_fixed_s + std::max(down.memory_s, down.compute_s);
    }
    acc.add(Op::mlp, scaled(up, p.dense_mlp_layers), p.dense_mlp_layers, launch);
    acc.add(Op::mlp, scaled(down, p.dense_mlp_layers), p.dense_mlp_layers, launch);
  }
  if (p.moe_layers > 0) {
    const double n = p.n_routed, k = p.n_active;
    // Expected distinct experts touched by m tokens each choosing k of n uniformly.
    const double touched = n * (1.0 - std::pow(1.0 - k / n, m)) + p.n_shared;
    const double expert_tokens = m * (k + p.n_shared);
    KernelTime ex;
    ex.bytes = touched * p.w_expert_B + kAct * expert_tokens * (d * 2 + 3 * p.expert_ffn_gpu);
    ex.flops = 2.0 * expert_tokens * 3.0 * d * p.expert_ffn_gpu;
    const double per_expert_rows = expert_tokens / std::max(touched, 1.0);
    ex.memory_s = ex.bytes / (lg.bw_fraction * t.hbm_read_Bps);
    ex.compute_s = ex.flops / (lg.compute_fraction * lg.peak * per_expert_rows / (per_expert_rows + t.gemm_m_half));
    ex.tensor_s = ex.flops / lg.peak;
    ex.time_s = 2.0 * t.gemm_fixed_s + std::max(ex.memory_s, ex.compute_s);
    KernelTime router = gemm_time(t, peak, m, n, d);
    acc.add(Op::mlp, scaled(ex, p.moe_layers), 2.0 * p.moe_layers, launch);
    acc.add(Op::mlp, scaled(router, p.moe_layers), p.moe_layers, launch);
  }

  const double ffn_live = p.moe_layers > 0 ? (p.n_active + p.n_shared) * p.expert_ffn_gpu : p.ffn_gpu;
  if (!fused && lg.act_in_B < kAct) {
    // W8A8 in eager PyTorch: each linear's input is cast to e4m3 by its own kernel first (read
    // bf16, write 1 B): the QKV / gate_up inputs (M x d), the O input (M x q_dim), the down input
    // (M x ffn) of every layer (harness/scripts/torch_bench.py fp8_linear).
    const bool measured = t.cast_bw_fraction > 0;
    const double frac = measured ? t.cast_bw_fraction : t.add_bw_fraction;
    const double fixed = measured ? t.cast_fixed_s : t.add_fixed_s;
    auto cast = [&](double elems) {
      KernelTime k;
      k.bytes = (kAct + 1.0) * elems;
      k.memory_s = k.bytes / (frac * t.hbm_copy_Bps);
      k.time_s = fixed + k.memory_s;
      return k;
    };
    acc.add(Op::qkv_proj, scaled(cast(m * d), L), L, launch);
    acc.add(Op::o_proj, scaled(cast(m * p.o_in_gpu), L), L, launch);
    if (p.dense_mlp_layers > 0) {
      acc.add(Op::mlp, scaled(cast(m * d), p.dense_mlp_layers), p.dense_mlp_layers, launch);
      acc.add(Op::mlp, scaled(cast(m * p.ffn_gpu), p.dense_mlp_layers), p.dense_mlp_layers, launch);
    }
  }
  if (!fused) {
    add_eager_elementwise(acc, p, t, s, launch, ffn_live);
  } else {
    add_fused_elementwise(acc, p, t, s, launch, ffn_live);
  }

  // Tensor parallelism: all-reduce after O and after the MLP of every layer, and the
  // vocab-parallel embedding's all-reduce (each GPU looks up its slice of the vocabulary, vLLM
  // VocabParallelEmbedding).
  if (p.tp > 1) {
    KernelTime ar = allreduce(t, p.tp, kAct * m * d);
    acc.add(Op::allreduce, scaled(ar, 2 * L), 2 * L, launch);
    acc.add(Op::allreduce, allreduce(t, p.tp, kAct * m * d), 1, launch);
  }
}

// The part of a step that depends on the number of requests whose next token is computed
// (`s.requests` rows): the LM head on the last position of each request and, in eager PyTorch,
// the final norm on those rows only (F.rms_norm, 2 M d bytes).
void add_head(Acc& acc, const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t, const Pass& s, Runtime runtime) {
  const double launch = runtime == Runtime::graph ? t.launch_graph_s : t.launch_stream_s;
  const double peak = gpu.bf16_flops * t.compute_clock();
  const double d = p.d_model;
  if (!t.fused_elementwise) {
    acc.add(Op::norms_elementwise,
            eager_op_time(eager_op_law(t, EagerOp::rms_norm), t.hbm_copy_Bps, kAct * 2 * s.requests * d, s.requests, d), 1,
            launch);
  }
  acc.add(Op::lm_head, gemm_time(t, peak, s.requests, p.vocab_gpu, d), 1, launch);
  // TP: the logits of every GPU's vocabulary slice gathered (bf16; (tp - 1) / tp of them cross
  // the links: vLLM LogitsProcessor's gather).
  if (p.tp > 1) {
    KernelTime gather;
    gather.bytes = kAct * s.requests * p.vocab_gpu * p.tp;
    gather.memory_s = (p.tp - 1.0) / p.tp * gather.bytes / t.allreduce_bus_Bps;
    gather.time_s = t.allreduce_latency_s + gather.memory_s;
    acc.add(Op::allreduce, gather, 1, launch);
  }
}

void add_static(Acc& acc, const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t, const Pass& s, Runtime runtime) {
  add_body(acc, p, gpu, t, s, runtime);
  add_head(acc, p, gpu, t, s, runtime);
}

// kvbench's fused step: 2 RMSNorms, RoPE + KV append (one kernel), SiLU*mul per layer.
void add_fused_elementwise(Acc& acc, const ArchProfile& p, const TimingParams& t, const Pass& s, double launch, double ffn_live) {
  const double m = s.tokens;
  const double d = p.d_model;
  const double L = p.n_layers;
  const double kv_write = m * p.kv_elems_layer_gpu * p.kv_bytes_per_elem;
  KernelTime norm = elementwise_time(t, 2.0 * kAct * m * d);
  KernelTime rope_prod = rope_time(t, kAct * m * (2 * p.q_dim_gpu + p.kv_dim_gpu) + kv_write);
  KernelTime rope_cons = rope_time(t, kAct * m * 2 * p.q_dim_gpu);
  KernelTime act = elementwise_time(t, 3.0 * kAct * m * ffn_live);
  acc.add(Op::norms_elementwise, scaled(norm, 2 * L + 1), 2 * L + 1, launch);
  acc.add(Op::norms_elementwise, scaled(rope_prod, p.kv_layers), p.kv_layers, launch);
  if (p.consumer_layers > 0) acc.add(Op::norms_elementwise, scaled(rope_cons, p.consumer_layers), p.consumer_layers, launch);
  acc.add(Op::norms_elementwise, scaled(act, L), L, launch);

  // Token embedding gather (a row of d per token, read and written), and the LM head on the
  // last token of each request (bf16 logits; sampling is left to the serving engine, as in
  // kvbench's end-to-end step).
  acc.add(Op::norms_elementwise, elementwise_time(t, 2.0 * kAct * m * d), 1, launch);
}

// PyTorch eager, one kernel per op as harness/scripts/torch_bench.py's step runs them (bytes are
// that file's bytes_* formulas): F.rms_norm 2 M d; residual add 3 M d (2 per layer); silu * mul
// 5 M f (2 kernels); HF RoPE 10 M h d per tensor (5 kernels: mul, neg, cat, mul, add) on Q of
// every layer and K of producers; K/V append by copy_ 2 M kv (2 kernels); embedding gather 2 M d
// plus the cos / sin table gathers 2 M h_d each. The final norm (last token only) is in add_head().
void add_eager_elementwise(Acc& acc, const ArchProfile& p, const TimingParams& t, const Pass& s, double launch, double ffn_live) {
  const double m = s.tokens;
  const double d = p.d_model;
  const double L = p.n_layers;
  const double hd = p.mla ? p.kv_dim_gpu : p.head_dim;
  const double c = t.hbm_copy_Bps;
  auto op = [&](EagerOp o, double bytes, double view_rows, double row_elems = 0) {
    return eager_op_time(eager_op_law(t, o), c, bytes, view_rows, row_elems);
  };
  // View rows decide the kernel variant: silu * mul runs on the chunked halves of gate_up (one
  // contiguous row only for one token), RoPE on [tokens, heads] rows of a projection output, the
  // K/V append on the cache slots of [tokens, kv heads].
  const double kv_heads = p.mla ? 1.0 : p.kv_heads_per_gpu;
  const KernelTime norm = op(EagerOp::rms_norm, kAct * 2 * m * d, m, d);
  const KernelTime add = op(EagerOp::residual_add, kAct * 3 * m * d, m);
  const KernelTime act = op(EagerOp::silu_mul, kAct * 5 * m * ffn_live, m);
  const KernelTime rope_q = op(EagerOp::rope, kAct * 10 * m * p.q_dim_gpu, m * p.q_heads_per_gpu);
  const KernelTime rope_k = op(EagerOp::rope, kAct * 10 * m * p.kv_dim_gpu / 2, m * kv_heads);
  // copy_ of K and of V into the cache: read bf16, write the cache's element size.
  const double kv_elems = m * p.kv_elems_layer_gpu;
  const KernelTime append = op(EagerOp::kv_append, kv_elems * (kAct + p.kv_bytes_per_elem), m * kv_heads);
  const KernelTime embed = op(EagerOp::embedding, kAct * 2 * m * d, m);
  const KernelTime table = op(EagerOp::embedding, kAct * 2 * m * hd, m);
  acc.add(Op::norms_elementwise, scaled(norm, 2 * L), 2 * L, launch);
  acc.add(Op::norms_elementwise, scaled(add, 2 * L), 2 * L, launch);
  acc.add(Op::norms_elementwise, scaled(act, L), 2 * L, launch);
  acc.add(Op::norms_elementwise, scaled(rope_q, L), 5 * L, launch);
  acc.add(Op::norms_elementwise, scaled(rope_k, p.kv_layers), 5.0 * p.kv_layers, launch);
  // K and V are two copies of half the bytes each: same total, two kernels.
  acc.add(Op::norms_elementwise, scaled(append, p.kv_layers), 2.0 * p.kv_layers, launch);
  acc.add(Op::norms_elementwise, embed, 1, launch);
  acc.add(Op::norms_elementwise, scaled(table, 2), 2, launch);
}

// Decode attention of every attention layer (split-KV over the context) for `requests` requests
// attending to `pos[k]` positions each on average and `total[k]` positions together (k = 0:
// global layers, 1: sliding-window layers). A decode step holds every request at one context
// (pos = context, total = requests x context); the serving simulator's mixed iterations hold
// each request at its own and pass the sums: the K/V stream is exact, the kernel's split choice
// and parallelism are those of the mean context.
void add_decode_attention(Acc& acc, const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t, double requests,
                          const double pos_mean[2], const double pos_total[2], Runtime runtime, SplitMemo* memo) {
  const double launch = runtime == Runtime::graph ? t.launch_graph_s : t.launch_stream_s;
  const double L = p.n_layers;
  const double kvh = p.kv_heads_per_gpu;
  const double qh = p.q_heads_per_gpu;
  const double hd = p.mla ? p.kv_dim_gpu : p.head_dim;
  const bool fp8 = p.kv_bytes_per_elem <= 1.0;
  const double per_pos_B = p.kv_elems_layer_gpu * p.kv_bytes_per_elem;
  // Per-layer weights streamed between a producer's attention and the next layer's: used for L2.
  const double w_layer = (p.weight_bytes_gpu - p.w_embed_gpu_B) / L;
  for (int local = 0; local < 2; ++local) {
    const int layers = local ? p.read_local_layers : p.read_global_layers;
    if (layers == 0) continue;
    const double pos = pos_mean[local];
    double kv_bytes = pos_total[local] * per_pos_B;
    const double heads = p.mla ? 1.0 : kvh;
    if (!t.quantized_kv_kernel && p.kv_bytes_per_elem < kAct) {
      // No quantized-K/V attention kernel in this stack (PyTorch SDPA): each attention layer
      // first casts the cache it reads to bf16 (one copy kernel: read b, write 2 B per element),
      // then attention reads bf16.
      const double bf16_bytes = kv_bytes * kAct / p.kv_bytes_per_elem;
      KernelTime cast;
      cast.bytes = kv_bytes + bf16_bytes;
      cast.memory_s = cast.bytes / (t.append_bw_fraction * t.hbm_copy_Bps);
      cast.time_s = t.append_fixed_s + cast.memory_s;
      acc.add(Op::attention, scaled(cast, layers), layers, launch);
      kv_bytes = bf16_bytes;
    }
    double kernels = 1;
    KernelTime a;
    if (t.attn_kernel == DecodeAttnKernel::kvbench) {
      const double splits = memo ? memo->splits(t, requests, heads, pos) : attention_splits(t, requests, heads, pos);
      a = decode_attention_time_with_splits(t, requests, heads, qh, pos, hd, kv_bytes, fp8, splits);
      kernels = splits > 1 ? 2.0 : 1.0;
    } else {
      double splits = 1;
      a = packed_decode_attention_time(t, requests, heads, qh, pos, hd, kv_bytes, &splits, gpu.bf16_flops);
      kernels = splits > 1 ? 2.0 : 1.0;
    }
    acc.add(Op::attention, scaled(a, layers), kernels * layers, launch);
    // CLA consumers: the part of the producer's K/V still in L2 is read at L2 bandwidth.
    for (const ConsumerGroup& g : p.consumers) {
      if (g.local != static_cast<bool>(local)) continue;
      const double h = l2_hit_fraction(t, kv_bytes, g.distance * (w_layer + kv_bytes) - kv_bytes);
      if (h <= 0) continue;
      const double saved = h * kv_bytes * g.count;
      OpCost& oc = acc.phase.ops[static_cast<int>(Op::attention)];
      const double eff = fp8 ? t.attn_fp8_bw_fraction : t.attn_bw_fraction;
      const double dt = saved / (eff * t.hbm_read_Bps) - saved / t.l2_read_Bps;
      oc.bytes -= saved;
      oc.memory_s -= dt;
      oc.time_s -= std::min(dt, std::max(0.0, a.memory_s - a.compute_s) * g.count);
      acc.phase.l2_saved_bytes += saved;
    }
  }
}

// Causal prefill attention of every attention layer: `batch` sequences of `q_len` query tokens
// each, `pairs[k]` (query, key) products per sequence and head (k = 0 global, 1 sliding-window
// layers), `bytes` of Q/K/V/O traffic per layer. A prefill of whole prompts passes batch B,
// q_len P; a serving iteration's prefill chunks pass batch 1 and their sums (one varlen launch).
void add_prefill_attention(Acc& acc, const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t, double batch, double q_len,
                           const double pairs[2], double bytes, Runtime runtime) {
  const double launch = runtime == Runtime::graph ? t.launch_graph_s : t.launch_stream_s;
  const double peak = gpu.bf16_flops * t.compute_clock();
  const double qh = p.q_heads_per_gpu;
  double hd = p.head_dim;
  if (p.mla) {
    // Not absorbed: per head Q and K of nope + rope, V and O of v (bf16), after kv_b's
    // up-projection. FLOPs 2 (qk + v) per pair and head = 4 x the mean of the two widths.
    bytes = batch * q_len * kAct * qh * (2 * (p.mla_nope + p.mla_rope) + 2 * p.mla_v);
    hd = (p.mla_nope + p.mla_rope + p.mla_v) / 2;
  }
  for (int local = 0; local < 2; ++local) {
    const int layers = local ? p.read_local_layers : p.read_global_layers;
    if (layers == 0) continue;
    KernelTime a = t.prefill_kernel == PrefillAttnKernel::kvbench
                       ? prefill_attention_time(t, peak, batch, qh, q_len, pairs[local], hd, bytes)
                       : tiled_prefill_attention_time(t, gpu.bf16_flops, batch, qh, q_len, pairs[local], hd, bytes);
    acc.add(Op::attention, scaled(a, layers), layers, launch);
  }
}

}  // namespace

double causal_pairs(double prefix, double chunk, double window) {
  auto upto = [window](double n) {  // sum_{i=1..n} min(i, w)
    if (window <= 0 || n <= window) return n * (n + 1) / 2;
    return window * (window + 1) / 2 + (n - window) * window;
  };
  return prefix == 0 ? upto(chunk) : upto(prefix + chunk) - upto(prefix);
}

namespace {

// Attention of every attention layer for a decode step or a prefill of whole prompts.
void add_attention(Acc& acc, const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t, const Pass& s, Runtime runtime,
                   SplitMemo* memo) {
  if (!s.prefill) {
    const double pos[2] = {positions_read(p, s.context, false), positions_read(p, s.context, true)};
    const double total[2] = {s.requests * pos[0], s.requests * pos[1]};
    add_decode_attention(acc, p, gpu, t, s.requests, pos, total, runtime, memo);
    return;
  }
  // Causal prefill: query i attends to min(i, window) positions.
  const double P = s.q_len;
  const double per_pos_B = p.kv_elems_layer_gpu * p.kv_bytes_per_elem;
  const double pairs[2] = {causal_pairs(0, P, 0), causal_pairs(0, P, static_cast<double>(p.window))};
  const double bytes = s.requests * P * (2 * kAct * p.q_dim_gpu + per_pos_B);
  add_prefill_attention(acc, p, gpu, t, s.requests, P, pairs, bytes, runtime);
}

// A serving iteration's attention: one decode kernel over the decode requests (their own
// contexts summed), one causal kernel over the prefill chunks (MixedBatch).
void add_mixed_attention(Acc& acc, const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t, const MixedBatch& b,
                         Runtime runtime, SplitMemo* memo) {
  if (b.decode_requests > 0) {
    const double total[2] = {b.decode_positions, p.window > 0 ? b.decode_positions_local : b.decode_positions};
    const double mean[2] = {total[0] / b.decode_requests, total[1] / b.decode_requests};
    add_decode_attention(acc, p, gpu, t, b.decode_requests, mean, total, runtime, memo);
  }
  if (b.prefill_chunks > 0) {
    const double pairs[2] = {b.prefill_pairs, p.window > 0 ? b.prefill_pairs_local : b.prefill_pairs};
    // Q read and O written for every chunk token; each chunk reads the K/V of its prefix and of
    // itself once.
    const double per_pos_B = p.kv_elems_layer_gpu * p.kv_bytes_per_elem;
    const double bytes = b.prefill_tokens * 2 * kAct * p.q_dim_gpu + b.prefill_kv_positions * per_pos_B;
    add_prefill_attention(acc, p, gpu, t, 1.0, b.prefill_tokens, pairs, bytes, runtime);
  }
}

PhaseCost run_pass(const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t, const Pass& s, Runtime runtime) {
  Acc acc{PhaseCost{}};
  add_static(acc, p, gpu, t, s, runtime);
  add_attention(acc, p, gpu, t, s, runtime, nullptr);
  finish(acc.phase, t, runtime);
  return acc.phase;
}
}  // namespace

bool weight_timing_estimated(const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t) {
  if (p.weight_dtype == KvDtype::bf16 || p.weight_dtype == KvDtype::fp16) return false;
  return !(p.weight_dtype == KvDtype::fp8 && gpu.fp8_flops > 0 && t.gemm_fp8_compute_fraction > 0);
}

std::string weight_timing_note(const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t) {
  const std::string w = to_string(p.weight_dtype);
  const std::string bytes = std::to_string(p.weight_bytes_per_elem).substr(0, 6);
  switch (p.weight_dtype) {
    case KvDtype::bf16:
    case KvDtype::fp16:
      return {};
    case KvDtype::fp8:
      if (gpu.fp8_flops <= 0) {
        return "fp8 weights on a GPU without fp8 tensor cores: weight-only (" + bytes +
               " B per weight streamed, bf16 math; dequantization not modelled) - an estimate";
      }
      if (t.gemm_fp8_compute_fraction > 0)
        return "fp8 weights: W8A8 GEMMs at the fp8 dense peak with the measured fp8 GEMM efficiencies";
      return "fp8 weights: W8A8 GEMMs at the fp8 dense peak with the bf16-measured GEMM efficiencies - an estimate until an fp8 "
             "GEMM calibration exists (gemm_fp8_compute_fraction)";
    case KvDtype::int8:
    case KvDtype::int4:
      return w + " weight-only: " + bytes +
             " B per weight streamed (scales included), bf16 math; dequantization not modelled - an estimate";
  }
  return {};
}

const char* op_name(Op op) {
  return enum_name<Op::allreduce>(op, {"qkv_proj", "attention", "o_proj", "mlp", "norms_elementwise", "lm_head", "allreduce"});
}

double power_stretch_s(const TimingParams& t, double busy_s, double tensor_s) {
  if (!t.power_governed()) return 0.0;
  return std::max(0.0, (t.power_busy - 1.0) * busy_s + t.power_per_tensor * tensor_s - t.power_headroom_s);
}

double power_headroom_after_s(const TimingParams& t, double rest_s) {
  const double gap = t.power_gap_headroom_s, rested = t.power_rested_headroom_s;
  if (!(rest_s > 0)) return 0.0;  // back to back
  // Below the shortest measured idle, a proportional share of its headroom (not measured).
  if (rest_s < kPowerGapRest_s) return gap * rest_s / kPowerGapRest_s;
  if (t.power_refill_tau_s <= 0) return rest_s >= 1e-3 ? rested : gap;
  // Past the longest measured idle the headroom is held at what it gave (no extrapolation).
  if (rest_s >= kPowerRestedRest_s) return rested;
  const double tau = t.power_refill_tau_s;
  const double at_rested = -std::expm1(-(kPowerRestedRest_s - kPowerGapRest_s) / tau);
  return gap + (rested - gap) * -std::expm1(-(rest_s - kPowerGapRest_s) / tau) / at_rested;
}

double power_loss_s(const TimingParams& t, double busy_s, const std::array<ClockTerms, kOpCount>& ops, double* loss) {
  double tensor_s = 0;
  for (const ClockTerms& o : ops) tensor_s += o.tensor_s;
  const double stretch = tensor_s > 0 ? power_stretch_s(t, busy_s, tensor_s) : 0.0;
  double total = 0;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const ClockTerms& o = ops[i];
    const double share = stretch > 0 ? stretch * o.tensor_s / tensor_s : 0.0;
    const double l = share > 0 ? std::max(o.memory_s, o.compute_s + share) - std::max(o.memory_s, o.compute_s) : 0.0;
    if (loss) loss[i] = l;
    total += l;
  }
  return total;
}

KernelTime gemm_time(const TimingParams& t, double peak_flops, double m, double n, double k) {
  return gemm_q(t, LinearGemm{peak_flops, t.gemm_compute_fraction, t.gemm_bw_fraction, kAct}, m, n, k);
}

namespace {
KernelTime gemm_q(const TimingParams& t, const LinearGemm& g, double m, double n, double k) {
  KernelTime r;
  // bf16 weights: the expression of the measured (calibrated) setups, unchanged to the last bit.
  r.bytes = g.weight_B == kAct ? kAct * (n * k + m * (n + k)) : g.weight_B * n * k + g.act_in_B * m * k + kAct * m * n;
  r.flops = 2.0 * m * n * k;
  r.memory_s = r.bytes / (g.bw_fraction * t.hbm_read_Bps);
  r.compute_s = r.flops / (g.compute_fraction * g.peak * m / (m + t.gemm_m_half));
  const double p = t.gemm_overlap_p;
  r.time_s = t.gemm_fixed_s +
             (p > 0 ? std::pow(std::pow(r.memory_s, p) + std::pow(r.compute_s, p), 1.0 / p) : std::max(r.memory_s, r.compute_s));
  r.tensor_s = r.flops / g.peak;
  // bf16 only: the fp8 path (torch._scaled_mm) was measured without kernel names.
  if (t.gemm_splitk_s > 0 && g.weight_B == kAct && cublas_split_k(m, n, k)) r.time_s += t.gemm_splitk_s;
  return r;
}
}  // namespace

bool cublas_split_k(double m, double n, double k) {
  return k >= 4096 && n <= 5120 && m * n <= 40 * k;
}

KernelTime fp8_gemm_time(const TimingParams& t, double fp8_peak_flops, double m, double n, double k) {
  return gemm_q(t, LinearGemm{fp8_peak_flops, t.gemm_fp8_compute_fraction, t.gemm_fp8_bw_fraction, 1.0, 1.0}, m, n, k);
}

namespace {
// The split choice for `units` = requests x K/V heads and at most `s_max` splits.
double splits_search(double units, double slots, double s_max) {
  std::array<double, 129> cost;
  double best = std::numeric_limits<double>::infinity();
  for (int s = 1; s <= static_cast<int>(s_max); ++s) {
    cost[s] = std::ceil(units * s / slots) / s;
    best = std::min(best, cost[s]);
  }
  for (int s = 1; s <= static_cast<int>(s_max); ++s) {
    if (cost[s] <= 1.05 * best) return s;
  }
  return s_max;
}

// A pure function of (units, slots, s_max) that sweeps ask for millions of times (the serving
// view's batch search walks the same batches for every context): a small per-thread
// direct-mapped cache of exact keys, so cached and computed answers are identical.
double splits_for(const TimingParams& t, double units, double s_max) {
  const double slots = std::max(t.attn_units_sat, 1.0);
  struct Entry {
    double units = -1, slots = -1, s_max = -1, result = 0;
  };
  thread_local std::array<Entry, 4096> cache;
  const std::size_t h = (static_cast<std::size_t>(units) * 131 + static_cast<std::size_t>(s_max)) & (cache.size() - 1);
  Entry& e = cache[h];
  if (e.units != units || e.slots != slots || e.s_max != s_max)
    e = Entry{units, slots, s_max, splits_search(units, slots, s_max)};
  return e.result;
}
double max_splits(double positions) {
  return std::clamp(std::floor(positions / kMinSplitPositions), 1.0, 128.0);
}
}  // namespace

double attention_splits(const TimingParams& t, double batch, double kv_heads, double positions) {
  // The split-KV choice of kvbench's decode kernel (harness/src/host/formulas.cpp choose_splits):
  // CTAs run in waves of `slots`; the time of the K/V stream is proportional to waves(s) / s =
  // ceil(units s / slots) / s; take the fewest splits within 5 % of the best, each split at least
  // 256 positions, at most 128 splits.
  return splits_for(t, std::max(batch * kv_heads, 1.0), max_splits(positions));
}

double SplitMemo::splits(const TimingParams& t, double batch, double kv_heads, double positions) {
  const double units = std::max(batch * kv_heads, 1.0);
  if (units != units_ || &t != params_) {
    units_ = units, params_ = &t;
    by_max_.fill(0);
  }
  const double s_max = max_splits(positions);
  std::uint8_t& v = by_max_[static_cast<std::size_t>(s_max)];
  if (v == 0) v = static_cast<std::uint8_t>(splits_for(t, units, s_max));
  return v;
}

PhaseCost decode_step_static(const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t, double batch, Runtime runtime) {
  Acc acc{PhaseCost{}};
  add_static(acc, p, gpu, t, Pass{batch, batch, 1.0, 0.0, false}, runtime);
  return acc.phase;
}

PhaseCost decode_step_from_static(const PhaseCost& static_part, const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t,
                                  double batch, double context, Runtime runtime, SplitMemo* memo) {
  Acc acc{static_part};
  add_attention(acc, p, gpu, t, Pass{batch, batch, 1.0, context, false}, runtime, memo);
  finish(acc.phase, t, runtime);
  return acc.phase;
}

KernelTime decode_attention_time(const TimingParams& t, double batch, double kv_heads, double q_heads, double positions,
                                 double head_dim, double kv_bytes, bool fp8) {
  return decode_attention_time_with_splits(t, batch, kv_heads, q_heads, positions, head_dim, kv_bytes, fp8,
                                           attention_splits(t, batch, kv_heads, positions));
}

KernelTime decode_attention_time_with_splits(const TimingParams& t, double batch, double kv_heads, double q_heads,
                                             double positions, double head_dim, double kv_bytes, bool fp8, double splits) {
  KernelTime r;
  const double par = std::min(1.0, batch * kv_heads * splits / t.attn_units_sat);
  // Q read, O written (bf16), plus fp32 partials of the split-KV combine.
  const double other =
      2.0 * kAct * batch * q_heads * head_dim + (splits > 1 ? 2.0 * 4.0 * batch * q_heads * splits * (head_dim + 2) : 0.0);
  r.bytes = kv_bytes + other;
  r.flops = 4.0 * batch * q_heads * positions * head_dim;
  const double g = q_heads / std::max(kv_heads, 1.0);
  const double mma_flops = 4.0 * batch * kv_heads * kMmaRows * std::ceil(g / kMmaRows) * positions * head_dim;
  const double eff = fp8 ? t.attn_fp8_bw_fraction : t.attn_bw_fraction;
  // Only the K/V stream is limited by how many (request, head, split) units run at once; the
  // small Q/O and split-partial traffic is spread over every CTA.
  r.memory_s = kv_bytes / (eff * par * t.hbm_read_Bps) + other / (eff * t.hbm_read_Bps);
  r.compute_s = mma_flops / t.attn_compute_flops;
  const double combine_s = splits > 1 ? splits * t.attn_combine_per_split_s : 0.0;
  r.time_s = t.attn_fixed_s + std::max(r.memory_s, r.compute_s) + combine_s;
  return r;
}

KernelTime prefill_attention_time(const TimingParams& t, double peak_flops, double batch, double q_heads, double prompt,
                                  double pairs, double head_dim, double bytes) {
  KernelTime a;
  a.flops = 4.0 * batch * q_heads * pairs * head_dim;
  const double executed = 4.0 * batch * q_heads * (pairs + prompt * kAttnTileKeys / 2) * head_dim;
  a.bytes = bytes;
  a.memory_s = a.bytes / (t.attn_bw_fraction * t.hbm_read_Bps);
  a.compute_s = executed / (t.prefill_attn_compute_fraction * peak_flops);
  a.time_s = t.attn_fixed_s + std::max(a.memory_s, a.compute_s);
  return a;
}

double fa2_splits(double units, double slots, double n_blocks) {
  // flash_api.cpp num_splits_heuristic (FlashAttention-2 as vendored in PyTorch): one split when
  // the (batch x heads x m-blocks) units nearly fill the SMs; otherwise the fewest splits whose
  // wave efficiency n_waves / ceil(n_waves) is within 85 % of the best, over splits that change
  // the blocks per split, at most min(128, slots, n_blocks).
  if (units >= 0.8 * slots) return 1;
  const int max_s = static_cast<int>(std::min({128.0, slots, std::max(n_blocks, 1.0)}));
  auto eligible = [&](int sp) { return sp == 1 || std::ceil(n_blocks / sp) != std::ceil(n_blocks / (sp - 1)); };
  auto eff = [&](int sp) {
    const double waves = units * sp / slots;
    return waves / std::ceil(waves);
  };
  double best = 0;
  for (int sp = 1; sp <= max_s; ++sp) {
    if (eligible(sp)) best = std::max(best, eff(sp));
  }
  for (int sp = 1; sp <= max_s; ++sp) {
    if (eligible(sp) && eff(sp) >= 0.85 * best) return sp;
  }
  return 1;
}

namespace {
// cuDNN's decode splits K/V only past this many positions: unsplit at 512 in every torch-micro-v3
// point (2026-12-01), split from 600 on (torch-attention-grids2 2026-12-03: 600, 768, 900, 1000).
constexpr double kCudnnMinSplitPositions = 512;
}  // namespace

double cudnn_splits(double units, double positions, double sm_count) {
  // torch-attention-grids / -grids2 2026-12-03 (2249 cuDNN launches: head_dims 64-256, B 1-128,
  // eight (n_kv, g), contexts 600-65536): grid = [splits x (2 past head_dim 128), n_kv x ceil(g / 16),
  // B] on every one. Splits 8 / 32 / 64 / 64 at 1024 / 4096 / 16384 / 65536 positions for 2-3 units;
  // 32 / 16 / 8 / 4 at 8 / 16 / 32 / 64 units; none at 96 and 128 units (where the power of two of
  // 264 / units would be 2); 4 at 600-1000 positions (floor(S / 128) = 4-7, not its ceiling: 900
  // and 1000 split 4 ways). Unsplit at 512 positions (torch-micro-v3 2026-12-01).
  if (units > 0.5 * sm_count || positions <= kCudnnMinSplitPositions) return 1;
  auto pow2_floor = [](double x) { return x >= 1 ? std::exp2(std::floor(std::log2(x))) : 1.0; };
  return std::min({64.0, pow2_floor(std::floor(positions / 128.0)), pow2_floor(2.0 * sm_count / units)});
}

double decode_ctas_per_sm(DecodeAttnKernel kernel, double kernel_head_dim, bool split) {
  if (kernel == DecodeAttnKernel::cudnn) return kernel_head_dim <= 64 ? 4.0 : (kernel_head_dim <= 128 ? 2.0 : 1.0);
  // FA2's standard kernel at widths 160-224 (128 x 64 tiles, 8 warps: 256 threads x 228-236 registers,
  // CUPTI launch records in torch-attention-grids2 2026-12-03) fits once in 65,536 registers.
  return !split && kernel_head_dim > 128 && kernel_head_dim < 256 ? 1.0 : 2.0;
}

double fa2_kernel_head_dim(double head_dim) {
  // Past 256 FA2 has no kernel; the model keeps the real width there rather than invent one.
  if (head_dim > 256) return head_dim;
  return head_dim <= 128 ? 32.0 * std::ceil(head_dim / 32.0) : 64.0 * std::ceil(head_dim / 64.0);
}

double cudnn_decode_kernel_head_dim(double head_dim) {
  if (head_dim > 256) return head_dim;
  return head_dim <= 64 ? 64.0 : (head_dim <= 128 ? 128.0 : 256.0);
}

double cudnn_kernel_head_dim(double head_dim) {
  if (head_dim > 256) return head_dim;
  return head_dim <= 64 ? 64.0 : (head_dim <= 128 ? 128.0 : 64.0 * std::ceil(head_dim / 64.0));
}

double decode_layout_efficiency(const TimingParams& t, double head_dim) {
  if (head_dim > 256 || t.attn_kernel != DecodeAttnKernel::fa2) return 1.0;
  const double kernel_hd = fa2_kernel_head_dim(head_dim);
  double e = 1.0;
  // kBlockKSmem = kHeadDim % 64 == 0 ? 64 : 32 (FA2 kernel_traits.h): the 96 kernel.
  if (std::fmod(kernel_hd, 64.0) != 0 && t.attn_narrow_smem_efficiency > 0) e *= t.attn_narrow_smem_efficiency;
  // Is_even_K false: the columns past head_dim are predicated off in every K/V tile load.
  if (head_dim < kernel_hd && t.attn_padded_efficiency > 0) e *= t.attn_padded_efficiency;
  return e;
}

namespace {
// FA2's standard forward kernel on sm90 (flash_fwd_launch_template.h run_mha_fwd_hdimN, the
// non-sm8x branches; PyTorch 2.11 runs head_dim 160 in the 192 kernel, fa2_kernel_head_dim): kBlockM
// 128 for kernel widths 32-224 (hdim 160: 128 x 32, 192 / 224: 128 x 64 with
// 8 warps), 64 at 256 (64 x 64: two CTAs per SM where the SM has >= 192 KiB of shared memory).
double fa2_fwd_tile_rows(double kernel_hd) {
  return kernel_hd >= 256 ? 64.0 : 128.0;
}

// FA2's K/V block per split-KV CTA (run_mha_fwd_splitkv_dispatch: 256 / 128 / 64 keys for
// head_dim <= 64 / <= 128 / larger).
double fa2_block_n(double head_dim) {
  return head_dim <= 64 ? 256.0 : (head_dim <= 128 ? 128.0 : 64.0);
}

// A pure function of (units, n_blocks, slots), asked for millions of times in sweeps: a small
// per-thread direct-mapped cache of exact keys (cached and computed answers are identical).
double fa2_splits_cached(double units, double slots, double n_blocks) {
  struct Entry {
    double units = -1, slots = -1, n_blocks = -1, result = 0;
  };
  // A sweep's working set is (batch x heads) x contexts distinct keys: tens of thousands.
  thread_local std::vector<Entry> cache(std::size_t{1} << 16);
  std::uint64_t key =
      static_cast<std::uint64_t>(units) * 0x9E3779B97F4A7C15ull ^ static_cast<std::uint64_t>(std::min(n_blocks, 1e9));
  key ^= key >> 29;
  key *= 0xBF58476D1CE4E5B9ull;
  key ^= key >> 32;
  const std::size_t h = static_cast<std::size_t>(key) & (cache.size() - 1);
  Entry& e = cache[h];
  if (e.units != units || e.slots != slots || e.n_blocks != n_blocks)
    e = Entry{units, slots, n_blocks, fa2_splits(units, slots, n_blocks)};
  return e.result;
}
}  // namespace

KernelTime packed_decode_attention_time(const TimingParams& t, double batch, double kv_heads, double q_heads, double positions,
                                        double head_dim, double kv_bytes, double* splits_out, double peak_flops) {
  // q_len 1 with GQA: the g query heads of a KV head become the rows of one tile (FA2's
  // seqlenq_ngroups_swapped; cuDNN likewise), so a CTA serves (request, KV head). MHA (g = 1):
  // one row per (request, head).
  const bool packed = q_heads > kv_heads;
  const double rows = packed ? q_heads / kv_heads : 1.0;
  const double heads = packed ? kv_heads : q_heads;
  // FA2's split heuristic counts 2 CTAs per SM (flash_api.cpp: multiProcessorCount * 2).
  const double fa2_slots = 2 * t.sm_count;
  double splits = 1, tile_rows = 64;
  // The head_dim the kernel computes with: FA2 pads to its instantiated widths (hd 80 runs the 96
  // kernel: 20 % more tile math and that kernel's rates); K/V bytes stay those of the real head_dim.
  double kernel_hd = head_dim;
  double kv_block = 0, kv_blocks = 0;  // FA2's K/V blocks (keys each, count)
  if (t.attn_kernel == DecodeAttnKernel::fa2) {
    kernel_hd = fa2_kernel_head_dim(head_dim);
    const double m_blocks = std::ceil(rows / 64.0);
    kv_block = fa2_block_n(kernel_hd), kv_blocks = std::ceil(positions / kv_block);
    splits = fa2_splits_cached(batch * heads * m_blocks, fa2_slots, kv_blocks);
    // Unsplit, FA2 runs its standard forward kernel: 128-row tiles up to head_dim 224, 64 at 256
    // (fa2_fwd_tile_rows); split-KV uses 64-row tiles. Padded rows are computed: at large batch
    // the unsplit kernel is compute-bound on 128 / g times the useful FLOPs.
    tile_rows = splits > 1 ? 64.0 : fa2_fwd_tile_rows(kernel_hd);
  } else {
    // cuDNN (sdpa_sm80_flash_fprop_wmma, 16-row tiles; its decode rates at g = 2 exclude 64-row
    // padding: that would need more than the dense peak): one unit per (request, KV head, 16 rows),
    // split over K/V (a second kernel, lean_reduction) by cudnn_splits. Past head_dim 128 each unit
    // is two CTAs without a reduction kernel (the 256 kernel has the 128 kernel's 86 KB of shared
    // memory; that each computes half the output columns is inferred), which one unit per SM counts.
    tile_rows = 16;
    kernel_hd = cudnn_decode_kernel_head_dim(head_dim);
    splits = cudnn_splits(batch * heads * std::ceil(rows / tile_rows), positions, t.sm_count);
  }
  if (splits_out) *splits_out = splits;
  // Units resident per SM (decode_ctas_per_sm; cuDNN's 256-wide unit is two CTAs, its 16 x 128 x 256
  // kernel streams alike with 96 and 192 units and reaches 3.5 TB/s only from 256: torch-attention-knobs
  // 2026-12-03). Its 64-wide kernel holds 4: 300-432 CTAs at two tiles per KV head run in 1.3-1.5x the
  // time of 264 (torch-attention-waves 2026-12-03), not in two waves.
  const double per_sm = decode_ctas_per_sm(t.attn_kernel, kernel_hd, splits > 1);
  const double slots = per_sm * t.sm_count;
  const double tiles = std::ceil(rows / tile_rows);
  KernelTime r;
  const double other =
      2.0 * kAct * batch * q_heads * head_dim + (splits > 1 ? 2.0 * 4.0 * batch * q_heads * splits * (head_dim + 2) : 0.0);
  r.bytes = kv_bytes + other;
  r.flops = 4.0 * batch * q_heads * positions * head_dim;
  const double executed = 4.0 * batch * heads * tiles * tile_rows * positions * kernel_hd;
  // The tile math the tensor cores execute, padded rows included, draws board power (power_stretch_s),
  // weighted by power_decode_attn_weight: heavy decode steps ran at 1650-1850 MHz after the sample
  // (torch-e2e-main 2026-12-02, sm_clock_mean_kHz) against 1980 for light ones.
  const double power_weight = t.power_decode_attn_weight > 0 ? t.power_decode_attn_weight : 1.0;
  r.tensor_s = peak_flops > 0 ? power_weight * executed / peak_flops : 0.0;
  const double ctas = batch * heads * tiles * splits;
  double bw = by_head_dim(t.attn_bw_fraction_d64, t.attn_bw_fraction, t.attn_bw_fraction_d256, kernel_hd);
  // The tile math: attn_compute_flops at head_dim 128; at 64 / 256 the decode fits of its own
  // (attn_compute_flops_d64 / _d256) or, unmeasured, the prefill kernel's ratio at that head_dim.
  auto rate_at = [&](double measured, double d) {
    return measured > 0 ? measured : t.attn_compute_flops * prefill_attn_fraction(t, d) / prefill_attn_fraction(t, 128.0);
  };
  double rate = by_head_dim(rate_at(t.attn_compute_flops_d64, 64.0), t.attn_compute_flops,
                            rate_at(t.attn_compute_flops_d256, 256.0), kernel_hd);
  const double layout = decode_layout_efficiency(t, head_dim);
  bw *= layout;
  const double other_s = other / (bw * t.hbm_read_Bps);
  // Waves of equal CTAs, per_sm per SM (`slots`). A wave of n CTAs streams its K/V at
  // wave_stream_fraction(n, attn_units_sat, attn_sat_sharpness) of the attention ceiling; a full wave computes at the tensor
  // rate, each CTA at 1 / per_sm of an SM's; in a last wave the busiest SM holds k = ceil(n / SMs) CTAs and runs them at
  // occupancy_efficiency(k) of a full SM (one CTA of a 2-per-SM kernel: attn_lone_cta_efficiency; 0.5 no faster than
  // sharing). Every wave pays attn_cta_fixed_s. Without wave parameters (0: the kvbench stack, uncalibrated GPUs) the CTAs
  // merge into one stream: the same memory and compute terms summed over all CTAs.
  // Each tile past a KV head's first re-reads attn_tile_reread_fraction of its K/V from HBM.
  // FA2's split-KV kernel hands each split ceil(n_blocks / splits) whole K/V blocks, the last split the rest
  // (flash_fwd_kernel.h, compute_attn_1rowblock_splitkv: n_blocks_per_split), so at short contexts the
  // longest split carries more than the average (10 blocks in 4 splits: 3, 3, 3, 1). A wave lasts as long
  // as its longest CTAs: each is charged the longest split's share (torch-attention-splits 2026-12-04:
  // MHA at head_dim 64, S 2500, B 3-9 ran 5-12 % slower than the average share gave).
  double longest = 1;
  if (t.attn_kernel == DecodeAttnKernel::fa2 && splits > 1)
    longest = std::min(positions, std::ceil(kv_blocks / splits) * kv_block) / (positions / splits);
  const double cta_bytes = longest * kv_bytes * (1 + t.attn_tile_reread_fraction * (tiles - 1)) / ctas;
  const double cta_flops = longest * executed / ctas;
  const double sat = by_head_dim(t.attn_units_sat_d64, t.attn_units_sat, t.attn_units_sat_d256, kernel_hd);
  auto wave_memory_s = [&](double n) {
    return n * cta_bytes / (bw * wave_stream_fraction(n, sat, t.attn_sat_sharpness) * t.hbm_read_Bps);
  };
  double body_s = 0;
  if (t.attn_lone_cta_efficiency > 0) {
    const double lone =
        by_head_dim(t.attn_lone_cta_efficiency_d64, t.attn_lone_cta_efficiency, t.attn_lone_cta_efficiency_d256, kernel_hd);
    const double full = std::floor(ctas / slots);
    const double rest = ctas - full * slots;
    const double full_compute_s = slots * cta_flops / rate;
    r.memory_s = other_s;
    // `count` waves of n CTAs, each computing for compute_s.
    auto add_waves = [&](double count, double n, double compute_s) {
      const double m = wave_memory_s(n);
      r.memory_s += count * m, body_s += count * std::max(m, compute_s);
    };
    if (full > 0) add_waves(full, slots, full_compute_s);
    // (A kernel of one CTA per SM has no lone CTAs: each always owns its SM.)
    if (rest > 0) {
      const double k = std::min(per_sm, std::ceil(rest / t.sm_count));
      add_waves(1, rest, k * cta_flops / (occupancy_efficiency(lone, k, per_sm) * rate / t.sm_count));
    }
    body_s += other_s + std::ceil(ctas / slots) * t.attn_cta_fixed_s;
    // The roofline compute term is the tile math at the full-wave rate, continuous in the CTA count
    // (a last wave's own pace is in body_s): power_loss_s weighs it against memory_s.
    r.compute_s = executed / rate;
  } else {
    r.memory_s = wave_memory_s(ctas) + other_s;
    r.compute_s = executed / rate;
    body_s = std::max(r.memory_s, r.compute_s);
  }
  const double combine_s = splits > 1 ? splits * t.attn_combine_per_split_s : 0.0;
  r.time_s = t.attn_fixed_s + body_s + combine_s;
  return r;
}

double occupancy_efficiency(double lone, double k, double per_sm) {
  if (k >= per_sm) return 1.0;
  // Each resident CTA keeps the SM's pipes busy a fraction a of the time, independently: k of them
  // 1 - (1 - a)^k, relative to per_sm of them. a = 2 - 1 / lone makes one CTA of a 2-per-SM kernel
  // run at lone of a full SM (the fitted attn_lone_cta_efficiency, in [0.5, 1]); at cuDNN's fitted 0.66 a
  // kernel of 4 per SM gets 2 and 3 at 0.80 and 0.93 of 4 where 1 gets 0.53 (cuDNN 16 x 128 x 64 at two tiles
  // per KV head, S 48000: 0.52 / 0.83 / 0.94 measured, torch-attention-waves 2026-12-03).
  const double a = std::clamp(2.0 - 1.0 / std::max(lone, 1e-9), 0.0, 1.0);
  if (a < 1e-9) return k / per_sm;
  return (1 - std::pow(1 - a, k)) / (1 - std::pow(1 - a, per_sm));
}

double wave_stream_fraction(double ctas, double sat, double sharpness) {
  const double x = ctas / sat;
  return sharpness > 0 ? x / std::pow(1.0 + std::pow(x, sharpness), 1.0 / sharpness) : std::min(1.0, x);
}

double by_head_dim(double at64, double at128, double at256, double head_dim) {
  const double f64 = at64 > 0 ? at64 : at128;
  const double f256 = at256 > 0 ? at256 : at128;
  // The measured head_dims themselves (most models) without the logarithm: sweeps ask per point.
  if (head_dim == 128) return at128;
  if (head_dim <= 64) return f64;
  if (head_dim >= 256) return f256;
  // Measured at head_dim 64, 128 and 256; linear in log2(head_dim) between, constant outside.
  const double x = std::log2(std::clamp(head_dim, 64.0, 256.0));
  return x <= 7.0 ? f64 + (at128 - f64) * (x - 6.0) : at128 + (f256 - at128) * (x - 7.0);
}

double prefill_attn_fraction(const TimingParams& t, double head_dim) {
  return by_head_dim(t.prefill_attn_fraction_d64, t.prefill_attn_compute_fraction, t.prefill_attn_fraction_d256, head_dim);
}

KernelTime tiled_prefill_attention_time(const TimingParams& t, double peak_flops, double batch, double q_heads, double prompt,
                                        double pairs, double head_dim, double bytes) {
  // FA2 forward (flash_fwd_launch_template.h): 128-query tiles up to head_dim 224, 64 at 256;
  // causal blocks skip fully masked K/V blocks, and each diagonal tile computes its masked half
  // (about prompt x tile / 2 extra pairs per head). cuDNN: 128-row tiles assumed. Each computes at
  // its padded head_dim (fa2_kernel_head_dim, cudnn_kernel_head_dim).
  const bool fa2 = t.prefill_kernel == PrefillAttnKernel::fa2;
  const double kernel_hd = fa2 ? fa2_kernel_head_dim(head_dim) : cudnn_kernel_head_dim(head_dim);
  const double tile = fa2 ? fa2_fwd_tile_rows(kernel_hd) : 128.0;
  KernelTime a;
  a.flops = 4.0 * batch * q_heads * pairs * head_dim;
  const double executed = 4.0 * batch * q_heads * (pairs + prompt * tile / 2) * kernel_hd;
  const double blocks = std::ceil(prompt / tile);
  const double ctas = batch * q_heads * blocks;
  double par = t.prefill_attn_units_sat > 0 ? std::min(1.0, ctas / t.prefill_attn_units_sat) : 1.0;
  if (fa2 && t.prefill_attn_lone_cta_efficiency > 0 && t.sm_count > 0 && prompt > 0) {
    // The CTA schedule: a window caps each CTA's key blocks; pairs = sum_i min(i, W) gives W back
    // (causal_pairs' formula inverted; pairs = P (P + 1) / 2 without a window).
    const double full = prompt * (prompt + 1) / 2;
    const double window =
        pairs < full * (1 - 1e-9) ? prompt + 0.5 - std::sqrt(std::max(0.0, (prompt + 0.5) * (prompt + 0.5) - 2 * pairs)) : prompt;
    par = 1.0 /
          causal_cta_tail_factor(batch * q_heads, blocks, window / tile + 1, t.sm_count, 2 * t.prefill_attn_lone_cta_efficiency);
  }
  const double clock = t.power_governed()               ? 1.0
                       : t.prefill_attn_clock_ratio > 0 ? t.prefill_attn_clock_ratio
                                                        : t.compute_clock_ratio;
  a.bytes = bytes;
  a.memory_s = a.bytes / (t.attn_bw_fraction * t.hbm_read_Bps);
  a.compute_s = executed / (prefill_attn_fraction(t, kernel_hd) * peak_flops * clock * par);
  a.tensor_s = executed / peak_flops;
  a.time_s = t.prefill_attn_fixed_s + std::max(a.memory_s, a.compute_s);
  return a;
}

double causal_cta_tail_factor(double heads, double blocks, double cap_blocks, double sms, double lone_speed) {
  if (heads <= 0 || blocks <= 0 || sms <= 0 || lone_speed <= 0) return 1.0;
  const double cap = std::max(1.0, cap_blocks);
  auto work = [cap](double j) { return std::min(j + 1, cap); };  // key blocks of query block j
  // One head's sums over j = 0 .. blocks - 1: of min(j + 1, c) and of its square.
  const double k = std::min(blocks, std::floor(cap));
  const double sum = k * (k + 1) / 2 + (blocks - k) * cap;
  const double sum2 = k * (k + 1) * (2 * k + 1) / 6 + (blocks - k) * cap * cap;
  const double w_max = work(blocks - 1);
  const double ctas = heads * blocks, slots = 2 * sms;
  const double balanced = heads * sum / slots;
  double span;
  if (ctas <= slots) {
    // Every CTA resident at once, dispatched round-robin: CTA s and s + sms share SM s. A pair runs
    // both at the shared rate until the lighter ends, then the heavier alone; a lone CTA alone.
    span = 0;
    const auto n = static_cast<long long>(ctas), per_sm = static_cast<long long>(sms);
    const auto m = static_cast<long long>(blocks);
    for (long long sm = 0; sm < std::min(n, per_sm); ++sm) {
      const double a = work(static_cast<double>(sm % m));
      if (sm + per_sm < n) {
        const double b = work(static_cast<double>((sm + per_sm) % m));
        span = std::max(span, std::min(a, b) + std::abs(a - b) / lone_speed);
      } else {
        span = std::max(span, a / lone_speed);
      }
    }
  } else {
    // Slots busy until the last CTA (the heaviest of the last head) starts; at that moment the
    // other slots hold CTAs with E[w^2] / (2 E[w]) blocks left on average (residual work of a
    // steady stream), so it ends w_max - that after the balanced time, alone at the end.
    span = balanced + (w_max - sum2 / (2 * sum)) / lone_speed;
  }
  return std::max(span, 1e-12) / balanced;
}

namespace {
KernelTime streaming_kernel(double fixed_s, double bw_fraction, double copy_Bps, double bytes) {
  KernelTime k;
  k.bytes = bytes;
  k.memory_s = bytes / (bw_fraction * copy_Bps);
  k.time_s = fixed_s + k.memory_s;
  return k;
}
}  // namespace

KernelTime elementwise_time(const TimingParams& t, double bytes) {
  return streaming_kernel(t.elementwise_fixed_s, t.elementwise_bw_fraction, t.hbm_copy_Bps, bytes);
}

KernelTime rope_time(const TimingParams& t, double bytes) {
  return streaming_kernel(t.rope_fixed_s, t.rope_bw_fraction, t.hbm_copy_Bps, bytes);
}

EagerOpLaw eager_op_law(const TimingParams& t, EagerOp op) {
  switch (op) {
    case EagerOp::rms_norm:
      return {t.elementwise_fixed_s, t.elementwise_bw_fraction, 0, t.norm_row_s_per_elem};
    case EagerOp::residual_add:
      return {t.add_fixed_s, t.add_bw_fraction, 0, 0};
    case EagerOp::silu_mul:
      return {t.act_fixed_s, t.act_bw_fraction, t.act_fixed_one_row_s, 0};
    case EagerOp::rope:
      return {t.rope_fixed_s, t.rope_bw_fraction, t.rope_fixed_one_row_s, 0};
    case EagerOp::kv_append:
      return {t.append_fixed_s, t.append_bw_fraction, t.append_fixed_one_row_s, 0};
    case EagerOp::embedding:
      return {t.embed_fixed_s, t.embed_bw_fraction, 0, 0};
  }
  return {};
}

KernelTime eager_op_time(const EagerOpLaw& law, double copy_Bps, double bytes, double view_rows, double row_elems) {
  const double fixed = view_rows == 1 && law.one_row_fixed_s > 0 ? law.one_row_fixed_s : law.fixed_s;
  KernelTime k = streaming_kernel(0, law.bw_fraction, copy_Bps, bytes);
  k.time_s = fixed + std::max(k.memory_s, row_elems * law.row_s_per_elem);
  return k;
}

double l2_hit_fraction(const TimingParams& t, double footprint_B, double intervening_B) {
  if (t.l2_capacity_B <= 0 || footprint_B <= 0) return 0.0;
  const double x = ((footprint_B + std::max(intervening_B, 0.0)) / t.l2_capacity_B - 1.0) / t.l2_transition;
  if (x > 40) return 0.0;
  return 1.0 / (1.0 + std::exp(x));
}

PhaseCost decode_step(const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t, double batch, double context,
                      Runtime runtime) {
  return run_pass(p, gpu, t, Pass{batch, batch, 1.0, context, false}, runtime);
}

PhaseCost prefill(const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t, double batch, double prompt, Runtime runtime) {
  return run_pass(p, gpu, t, Pass{batch * prompt, batch, prompt, prompt, true}, runtime);
}

void add_prefill_chunk(MixedBatch& b, const ArchProfile& p, double prefix, double chunk) {
  b.prefill_chunks += 1;
  b.prefill_tokens += chunk;
  b.prefill_pairs += causal_pairs(prefix, chunk, 0);
  if (p.window > 0) b.prefill_pairs_local += causal_pairs(prefix, chunk, static_cast<double>(p.window));
  b.prefill_kv_positions += prefix + chunk;
}

void add_decode_request(MixedBatch& b, const ArchProfile& p, double positions) {
  b.decode_requests += 1;
  b.decode_positions += positions;
  b.decode_positions_local += p.window > 0 ? std::min(positions, static_cast<double>(p.window)) : positions;
}

PhaseCost mixed_step(const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t, const MixedBatch& b, Runtime runtime) {
  Acc acc{PhaseCost{}};
  const Pass s{b.tokens(), b.requests(), 1.0, 0.0, false};
  add_body(acc, p, gpu, t, s, runtime);
  add_head(acc, p, gpu, t, s, runtime);
  add_mixed_attention(acc, p, gpu, t, b, runtime, nullptr);
  finish(acc.phase, t, runtime);
  return acc.phase;
}

MixedStepModel::MixedStepModel(const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t, Runtime runtime, int max_rows)
    : p_(&p), gpu_(&gpu), t_(&t), runtime_(runtime), max_rows_(static_cast<std::size_t>(std::max(max_rows, 0))) {}

MixedStepModel::Part MixedStepModel::part(std::vector<Part>& cache, double rows, bool body) {
  auto compute = [&] {
    Acc acc{PhaseCost{}};
    const Pass s{rows, rows, 1.0, 0.0, false};
    if (body) {
      add_body(acc, *p_, *gpu_, *t_, s, runtime_);
    } else {
      add_head(acc, *p_, *gpu_, *t_, s, runtime_);
    }
    Part r{0, 0, {}};
    for (std::size_t i = 0; i < acc.phase.ops.size(); ++i) {
      const OpCost& o = acc.phase.ops[i];
      r.time_s += o.time_s;
      r.kernels += o.kernels;
      r.clock[i] = {o.memory_s, o.compute_s, o.tensor_s};
    }
    return r;
  };
  const auto i = static_cast<std::size_t>(rows);
  if (rows < 0 || static_cast<double>(i) != rows || i > max_rows_) return compute();
  if (i >= cache.size()) cache.resize(std::min(std::max(i + 1, 2 * cache.size()), max_rows_ + 1));
  if (cache[i].time_s < 0) cache[i] = compute();
  return cache[i];
}

double MixedStepModel::time_s(const MixedBatch& b, double headroom_s) {
  const Part body = part(body_, b.tokens(), true);
  const Part head = part(head_, b.requests(), false);
  Acc acc{PhaseCost{}};
  add_mixed_attention(acc, *p_, *gpu_, *t_, b, runtime_, &memo_);
  const OpCost& a = acc.phase.ops[static_cast<int>(Op::attention)];
  double time = body.time_s + head.time_s + a.time_s;
  const double kernels = body.kernels + head.kernels + a.kernels;
  std::array<ClockTerms, kOpCount> clock;
  for (std::size_t i = 0; i < clock.size(); ++i) {
    const ClockTerms &x = body.clock[i], &y = head.clock[i];
    const OpCost& z = acc.phase.ops[i];
    clock[i] = {x.memory_s + y.memory_s + z.memory_s, x.compute_s + y.compute_s + z.compute_s,
                x.tensor_s + y.tensor_s + z.tensor_s};
  }
  if (headroom_s >= 0 && headroom_s != t_->power_headroom_s) {
    TimingParams tt = *t_;  // rare: only steps that follow an idle GPU
    tt.power_headroom_s = headroom_s;
    time += power_loss_s(tt, time, clock);
  } else {
    time += power_loss_s(*t_, time, clock);  // as finish()
  }
  // Eager launches are host-bound below kernels x launch_cpu_s (as finish()).
  if (runtime_ == Runtime::eager && kernels > 0 && kernels * t_->launch_cpu_s > time) return kernels * t_->launch_cpu_s;
  return time;
}

}  // namespace kvscope::models
