// Timing model: hand-derived values per op class (derivations in comments) and properties.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "kvscope/core/design.hpp"
#include "kvscope/core/loaders.hpp"
#include "kvscope/models/evaluate.hpp"
#include "kvscope/models/timing.hpp"

using namespace kvscope;
using namespace kvscope::models;

namespace {

// Round-number parameters so the derivations below can be done by hand.
TimingParams round_params() {
  TimingParams t;
  t.hbm_read_Bps = 1e12;
  t.hbm_copy_Bps = 1e12;
  t.l2_read_Bps = 4e12;
  t.l2_capacity_B = 0;  // L2 reuse off unless a test turns it on
  t.gemm_bw_fraction = 0.5;
  t.gemm_fixed_s = 1e-6;
  t.gemm_compute_fraction = 0.5;
  t.gemm_m_half = 0;
  t.attn_bw_fraction = 0.5;
  t.attn_fixed_s = 2e-6;
  t.attn_units_sat = 264;
  t.attn_compute_flops = 1e13;
  t.attn_fp8_bw_fraction = 0.25;
  t.prefill_attn_compute_fraction = 0.5;
  t.attn_combine_per_split_s = 0.1e-6;
  t.elementwise_bw_fraction = 0.5;
  t.elementwise_fixed_s = 0;
  t.rope_bw_fraction = 0.5;
  t.rope_fixed_s = 0;
  t.compute_clock_ratio = 1;
  t.launch_graph_s = 1e-6;
  t.launch_stream_s = 3e-6;
  t.launch_cpu_s = 5e-6;
  t.allreduce_latency_s = 10e-6;
  t.allreduce_bus_Bps = 1e11;
  return t;
}

GpuSpec round_gpu() {
  GpuSpec g;
  g.id = "test-gpu";
  g.memory_B = 80e9;
  g.hbm_bandwidth_Bps = 1e12;
  g.bf16_flops = 1e14;
  g.l2_cache_B = 50 * 1048576.0;
  g.sm_count = 132;
  return g;
}

Architecture llama8b() {
  Architecture a;
  a.id = "llama-like";
  a.n_layers = 32, a.d_model = 4096, a.n_q_heads = 32, a.n_kv_heads = 8, a.head_dim = 128, a.ffn_dim = 14336;
  a.vocab = 128256;
  return a;
}

}  // namespace

TEST_CASE("GEMM: weight stream at small M, compute at large M", "[timing][gemm]") {
  const TimingParams t = round_params();
  // M=1, N=K=1000: bytes = 2 (N K + M (N + K)) = 2,004,000; memory = 2.004e6 / (0.5 x 1e12)
  // = 4.008 us; FLOPs = 2 M N K = 2e6 at 0.5 x 1e14 -> 0.04 us; t = 1 us fixed + 4.008 us.
  KernelTime k = gemm_time(t, 1e14, 1, 1000, 1000);
  CHECK(k.bytes == 2004000);
  CHECK(k.flops == 2e6);
  CHECK(k.time_s == Approx(5.008e-6));
  // M=4096, N=K=4096: FLOPs 1.374e11 / 5e13 = 2.749 ms; bytes 2 (16.8M + 4096 x 8192) = 100.7 MB
  // / 5e11 = 0.201 ms -> compute bound.
  k = gemm_time(t, 1e14, 4096, 4096, 4096);
  CHECK(k.compute_s > k.memory_s);
  CHECK(k.time_s == Approx(1e-6 + 2.0 * 4096.0 * 4096 * 4096 / 5e13));
  // m_half: efficiency M / (M + m_half) halves the rate at M = m_half.
  TimingParams h = t;
  h.gemm_m_half = 4096;
  CHECK(gemm_time(h, 1e14, 4096, 4096, 4096).compute_s == Approx(2 * k.compute_s));
}

TEST_CASE("GEMM: the torch stacks' overlap exponent blends the weight stream and the tensor work", "[timing][gemm]") {
  TimingParams t = round_params();
  // M = 256, N = K = 4096: memory 2 (16.8M + 256 x 8192) / 5e11 = 75.5 us; compute 8.59e9 / 5e13 =
  // 171.8 us. p = 0: the hard maximum; p = 2: the Euclidean blend; large p tends to the maximum.
  const KernelTime hard = gemm_time(t, 1e14, 256, 4096, 4096);
  CHECK(hard.time_s == Approx(1e-6 + std::max(hard.memory_s, hard.compute_s)));
  struct Row {
    double p, expected_body_s;
  };
  for (const Row& r : {Row{2.0, std::hypot(hard.memory_s, hard.compute_s)}, Row{1.0, hard.memory_s + hard.compute_s},
                       Row{60.0, hard.compute_s}}) {
    INFO("p = " << r.p);
    t.gemm_overlap_p = r.p;
    CHECK(gemm_time(t, 1e14, 256, 4096, 4096).time_s - 1e-6 == Approx(r.expected_body_s).epsilon(r.p > 10 ? 1e-3 : 1e-9));
  }
}

TEST_CASE("packed decode attention: waves of CTAs, a lone last wave and a per-wave cost", "[timing][attention]") {
  TimingParams t = round_params();
  t.attn_kernel = DecodeAttnKernel::fa2;
  t.sm_count = 132;  // 264 CTA slots
  // g = 7 (28 query heads on 4 K/V heads), d 128, S 8192: unsplit once B x 4 >= 0.8 x 264, one
  // 128-row tile per (request, K/V head); executed FLOPs 4 B 4 128 S 128 at 1e13 (compute-bound:
  // the K/V stream is 16x less at 0.5 x 1e12). Q and O: 2 x 2 x B x 28 x 128 bytes.
  auto attn = [&](double b) { return packed_decode_attention_time(t, b, 4, 28, 8192, 128, b * 8192 * 2 * 4 * 128 * 2, nullptr); };
  auto cta_s = [](double b) { return 4.0 * b * 4 * 128 * 8192 * 128 / 1e13 / (b * 4); };  // one CTA's flops at the full rate
  auto other_s = [](double b) { return 4.0 * b * 28 * 128 / (0.5 * 1e12); };
  // Wave terms off: one merged stream, fixed + max(memory + other, all executed FLOPs / rate).
  CHECK(attn(98).time_s == Approx(2e-6 + 392 * cta_s(98)));
  struct Row {
    const char* what;
    double batch, lone, cta_fixed_s, waves_in_cta_times;  // body = waves_in_cta_times x one CTA's work
  };
  for (const Row& r : {
           // 392 CTAs: a full wave (264 at half an SM each: 264 CTA-times) + 128 alone on their SMs.
           Row{"lone wave no faster (e = 0.5)", 98, 0.5, 0, 264 + 264},
           Row{"lone wave at a full SM (e = 1)", 98, 1.0, 0, 264 + 132},
           Row{"lone wave at e = 0.8", 98, 0.8, 0, 264 + 132 / 0.8},
           // 400 CTAs: the last 136 exceed one per SM, so the last wave is as long as a full one.
           Row{"last wave over one per SM", 100, 1.0, 0, 264 + 264},
           // 528 CTAs = two full waves: no partial wave; 2 waves x 3 us.
           Row{"two full waves pay the wave cost twice", 132, 0.8, 3e-6, 264 + 264},
       }) {
    INFO(r.what);
    t.attn_lone_cta_efficiency = r.lone, t.attn_cta_fixed_s = r.cta_fixed_s;
    const double waves = std::ceil(r.batch * 4 / 264);
    CHECK(attn(r.batch).time_s ==
          Approx(2e-6 + r.waves_in_cta_times * cta_s(r.batch) + other_s(r.batch) + waves * r.cta_fixed_s));
  }
  t.attn_lone_cta_efficiency = 0, t.attn_cta_fixed_s = 0;
}

TEST_CASE("decode attention: split-KV parallelism and bandwidth", "[timing][attention]") {
  const TimingParams t = round_params();
  // batch 4, 8 K/V heads, 1024 positions: units 32; want ceil(264/32) = 9 splits, at most
  // 1024/256 = 4 -> 4 splits; parallel fraction 4 x 8 x 4 / 264 = 0.48485.
  CHECK(attention_splits(t, 4, 8, 1024) == 4);
  CHECK(attention_splits(t, 64, 8, 8192) == 1);
  CHECK(attention_splits(t, 1, 8, 100) == 1);
  // KV bytes 4 x 1024 x 2 x 8 x 128 x 2 = 16,777,216; Q+O 2 x 2 x 4 x 32 x 128 = 65,536;
  // partials 2 x 4 B x 4 x 32 x 4 splits x 130 = 532,480 -> 17,375,232 B at 0.5 x 0.48485 x 1e12.
  const double kv = 4.0 * 1024 * 2 * 8 * 128 * 2;
  KernelTime a = decode_attention_time(t, 4, 8, 32, 1024, 128, kv, false);
  CHECK(a.bytes == 17375232);
  CHECK(a.flops == 4.0 * 4 * 32 * 1024 * 128);
  // + the split-KV combine: 4 splits x 0.1 us.
  CHECK(a.time_s == Approx(2e-6 + 16777216 / (0.5 * (128.0 / 264) * 1e12) + (65536 + 532480) / (0.5 * 1e12) + 4 * 0.1e-6));
  // fp8 K/V: half the K/V bytes at the lower fp8 efficiency (0.25 here).
  KernelTime f = decode_attention_time(t, 4, 8, 32, 1024, 128, kv / 2, true);
  CHECK(f.memory_s == Approx(kv / 2 / (0.25 * (128.0 / 264) * 1e12) + (65536 + 532480) / (0.25 * 1e12)));
  // Tensor-core row padding: a K/V head's g query heads fill 16-row MMA tiles, so g = 1, 4 and 16
  // execute the same 4 x B x n_kv x 16 x S x d FLOPs and g = 32 twice that.
  const double s16 = decode_attention_time_with_splits(t, 8, 4, 4 * 16, 4096, 128, 1e6, false, 1).compute_s;
  CHECK(s16 == Approx(4.0 * 8 * 4 * 16 * 4096 * 128 / 1e13));
  CHECK(decode_attention_time_with_splits(t, 8, 4, 4 * 1, 4096, 128, 1e6, false, 1).compute_s == Approx(s16));
  CHECK(decode_attention_time_with_splits(t, 8, 4, 4 * 4, 4096, 128, 1e6, false, 1).compute_s == Approx(s16));
  CHECK(decode_attention_time_with_splits(t, 8, 4, 4 * 32, 4096, 128, 1e6, false, 1).compute_s == Approx(2 * s16));
  // Causal prefill, P = 1024, 32 heads, d 128, batch 2: executed pairs = P(P+1)/2 + P x 64 / 2
  // (masked half of the diagonal 64-key tiles), at 0.5 x peak x clock ratio.
  const double pairs = 1024.0 * 1025 / 2;
  KernelTime pf = prefill_attention_time(t, 1e15 * 0.8, 2, 32, 1024, pairs, 128, 1e6);
  CHECK(pf.flops == 4.0 * 2 * 32 * pairs * 128);
  CHECK(pf.compute_s == Approx(4.0 * 2 * 32 * (pairs + 1024 * 32) * 128 / (0.5 * 1e15 * 0.8)));
  // Compute ceiling: g = 64 query heads per K/V head at batch 256 -> compute bound.
  KernelTime c = decode_attention_time(t, 256, 1, 64, 8192, 128, 256.0 * 8192 * 2 * 128 * 2, false);
  CHECK(c.compute_s > c.memory_s);
}

TEST_CASE("L2 hit fraction: resident when footprint + intervening << L2, gone when >>", "[timing][l2]") {
  TimingParams t = round_params();
  t.l2_capacity_B = 40e6;
  t.l2_transition = 0.1;
  CHECK(l2_hit_fraction(t, 1e6, 0) > 0.99);
  CHECK(l2_hit_fraction(t, 20e6, 20e6) == Approx(0.5));
  CHECK(l2_hit_fraction(t, 10e6, 200e6) < 1e-6);
  CHECK(l2_hit_fraction(t, 0, 0) == 0);
  t.l2_capacity_B = 0;
  CHECK(l2_hit_fraction(t, 1e6, 0) == 0);
}

TEST_CASE("decode step: per-op bytes, kernel counts and totals", "[timing][decode]") {
  const TimingParams t = round_params();
  const GpuSpec g = round_gpu();
  const Architecture a = llama8b();
  const ArchProfile p = make_profile(a, 1);
  const PhaseCost d = decode_step(p, g, t, 1, 4096, Runtime::graph);
  // Kernels: per layer QKV 1, O 1, gate_up + down 2, 2 norms + RoPE/append + SiLU 4, attention
  // with split-KV (16 splits: one wave) + combine 2 = 10; plus the embedding gather, the final
  // norm and the LM head (3): 32 x 10 + 3 = 323.
  CHECK(d.kernels == 323);
  CHECK(d.op(Op::qkv_proj).bytes == Approx(32 * 2.0 * (4096.0 * 6144 + 1 * (4096 + 6144))));
  CHECK(d.op(Op::mlp).bytes ==
        Approx(32 * (2.0 * (28672.0 * 4096 + 28672 + 4096) + 2.0 * (4096.0 * 14336 + 4096 + 14336) + 2 * 4096)));
  // Launch floor: every kernel pays launch_graph_s.
  double launch = 0, total = 0, bytes = 0;
  for (const auto& o : d.ops) {
    launch += o.launch_s;
    total += o.time_s;
    bytes += o.bytes;
  }
  CHECK(launch == Approx(323e-6));
  CHECK(d.time_s == Approx(total));
  CHECK(d.bytes == Approx(bytes));
  // Attention reads every layer's K/V: 32 layers x 4096 positions x (2 x 8 x 128 x 2 B).
  CHECK(d.op(Op::attention).bytes > 32.0 * 4096 * 4096);
  // Eager: host-bound when kernels x launch_cpu exceeds the GPU time.
  TimingParams slow_cpu = t;
  slow_cpu.launch_cpu_s = 1e-3;
  CHECK(decode_step(p, g, slow_cpu, 1, 4096, Runtime::eager).time_s == Approx(323e-3));
  // TP = 2: two all-reduces per layer of 2 x batch x d_model bytes, one more for the vocab-parallel
  // embedding, and the gather of the logits (bf16, half of the 128,256 entries cross the link).
  const PhaseCost d2 = decode_step(make_profile(a, 2), g, t, 1, 4096, Runtime::graph);
  CHECK(d2.op(Op::allreduce).kernels == 66);
  CHECK(d2.op(Op::allreduce).time_s ==
        Approx(65 * (10e-6 + 1e-6 + 2.0 * 1 / 2 * 8192 / 1e11) + (10e-6 + 1e-6 + 0.5 * 2 * 128256 / 1e11)));
  // The prefill gathers one row of logits per request too (its LM head yields the first token).
  const PhaseCost p2 = prefill(make_profile(a, 2), g, t, 3, 512, Runtime::graph);
  CHECK(p2.op(Op::allreduce).kernels == 66);
  CHECK(p2.op(Op::allreduce).bytes == Approx(65 * 2.0 * 3 * 512 * 4096 + 2.0 * 3 * 128256));
}

TEST_CASE("CLA: consumers skip K/V projections but still read K/V from HBM unless L2 holds it", "[timing][cla]") {
  TimingParams t = round_params();
  const GpuSpec g = round_gpu();
  Architecture a = llama8b();
  const PhaseCost base = decode_step(make_profile(a, 1), g, t, 8, 2048, Runtime::graph);
  a.kv_producer = cla_producers(32, 2);
  const PhaseCost cla = decode_step(make_profile(a, 1), g, t, 8, 2048, Runtime::graph);
  // K/V reads unchanged (L2 off): CLA shares storage, not reads.
  CHECK(cla.op(Op::attention).bytes == Approx(base.op(Op::attention).bytes));
  // QKV weights: 16 layers lose their K and V projections (2 x 4096 x 1024 x 2 B each).
  CHECK(base.op(Op::qkv_proj).bytes - cla.op(Op::qkv_proj).bytes == Approx(16 * 2.0 * 4096 * 2048 + 16 * 2.0 * 8 * 2048));
  // With a large L2 and a tiny model, part of the consumer's read is served from L2.
  t.l2_capacity_B = 1e12;
  const PhaseCost hit = decode_step(make_profile(a, 1), g, t, 8, 2048, Runtime::graph);
  CHECK(hit.l2_saved_bytes == Approx(16 * 8.0 * 2048 * 4096).epsilon(5e-3));
  CHECK(hit.time_s < cla.time_s);
}

TEST_CASE("prefill: causal attention FLOPs and windowed layers", "[timing][prefill]") {
  const TimingParams t = round_params();
  const GpuSpec g = round_gpu();
  Architecture a = llama8b();
  const PhaseCost p = prefill(make_profile(a, 1), g, t, 2, 1000, Runtime::graph);
  // Causal pairs per sequence: 1000 x 1001 / 2; FLOPs 4 x B x heads x pairs x head_dim per layer.
  CHECK(p.op(Op::attention).flops == Approx(32 * 4.0 * 2 * 32 * (1000.0 * 1001 / 2) * 128));
  // GEMM rows = B x P tokens; LM head only on the last token of each prompt.
  CHECK(p.op(Op::lm_head).flops == Approx(2.0 * 2 * 128256 * 4096));
  a.layer_kind = expand_layer_pattern("L", 32, "t");
  a.window = 100;
  const PhaseCost w = prefill(make_profile(a, 1), g, t, 2, 1000, Runtime::graph);
  CHECK(w.op(Op::attention).flops == Approx(32 * 4.0 * 2 * 32 * (100.0 * 101 / 2 + 900 * 100) * 128));
}

TEST_CASE("properties over random valid configurations", "[timing][property]") {
  std::mt19937 rng(12345);
  const GpuSpec g = round_gpu();
  const TimingParams t = round_params();
  auto pick = [&](std::initializer_list<int> v) {
    return *(v.begin() + std::uniform_int_distribution<std::size_t>(0, v.size() - 1)(rng));
  };
  for (int trial = 0; trial < 300; ++trial) {
    Architecture a;
    a.n_layers = pick({4, 12, 20, 32, 40});
    a.head_dim = pick({64, 128, 256});
    a.n_q_heads = pick({8, 16, 32, 64});
    a.d_model = static_cast<std::int64_t>(a.n_q_heads) * a.head_dim;
    a.n_kv_heads = a.n_q_heads / pick({1, 2, 4, 8});
    a.ffn_dim = a.d_model * 3;
    a.vocab = pick({32000, 128256});
    const int cla = pick({1, 2, 3, 4});
    a.kv_producer = cla_producers(a.n_layers, cla);
    const double batch = pick({1, 2, 8, 32, 128});
    const double ctx = pick({128, 1024, 8192, 32768});
    INFO("trial " << trial);
    const ArchProfile p = make_profile(a, 1);
    const double step = decode_step(p, g, t, batch, ctx, Runtime::graph).time_s;
    // Time grows with batch and with context.
    CHECK(decode_step(p, g, t, batch * 2, ctx, Runtime::graph).time_s > step);
    CHECK(decode_step(p, g, t, batch, ctx * 2, Runtime::graph).time_s > step);
    CHECK(prefill(p, g, t, batch, ctx * 2, Runtime::graph).time_s > prefill(p, g, t, batch, ctx, Runtime::graph).time_s);
    // More K/V heads never less memory.
    if (a.n_kv_heads < a.n_q_heads) {
      Architecture more = a;
      more.n_kv_heads = a.n_kv_heads * 2;
      CHECK(make_profile(more, 1).kv_elems_layer_gpu > p.kv_elems_layer_gpu);
    }
    // A larger CLA factor never more K/V memory and never less attention traffic per stored byte.
    if (cla < a.n_layers) {
      Architecture bigger = a;
      bigger.kv_producer = cla_producers(a.n_layers, cla + 1);
      const ArchProfile q = make_profile(bigger, 1);
      CHECK(q.kv_layers <= p.kv_layers);
      const double traffic_per_stored_p = double(p.read_global_layers) / p.stored_global_layers;
      const double traffic_per_stored_q = double(q.read_global_layers) / q.stored_global_layers;
      CHECK(traffic_per_stored_q >= traffic_per_stored_p);
    }
    // Per-op breakdown conserves bytes and time.
    const PhaseCost d = decode_step(p, g, t, batch, ctx, Runtime::graph);
    double sum_t = 0, sum_b = 0;
    for (const auto& o : d.ops) sum_t += o.time_s, sum_b += o.bytes;
    CHECK(sum_t == Approx(d.time_s));
    CHECK(sum_b == Approx(d.bytes));
    CHECK(std::isfinite(d.time_s));
  }
}

TEST_CASE("TTFT is the prefill: its LM head yields the first token", "[timing][ttft]") {
  const Architecture a = llama8b();
  const GpuSpec g = round_gpu();
  Workload w;
  w.batch = 1, w.prompt = 2048;
  const Evaluation e = evaluate(make_profile(a, 1), g, round_params(), w);
  CHECK(e.ttft_s == e.prefill_s);
  CHECK(e.ttft_s == e.prefill.time_s);
  CHECK(e.prefill.op(Op::lm_head).kernels == 1);  // the first token's logits come from the prefill
}

TEST_CASE("serving view: best batch fits in memory and meets the latency limit", "[timing][serving]") {
  GpuSpec g = round_gpu();
  g.bf16_flops = 1e15;
  const TimingParams t = round_params();
  Architecture a = llama8b();
  Workload w;
  w.context = 8192;
  w.batch = 1;
  const ArchProfile p = make_profile(a, 1);
  Evaluation e = evaluate(p, g, t, w);
  CHECK(e.max_throughput_batch == e.memory.max_batch);
  CHECK(e.max_throughput_tokens_per_s > e.decode_tokens_per_s);
  // CLA2 doubles the batch that fits and so the best throughput.
  a.kv_producer = cla_producers(32, 2);
  const Evaluation c = evaluate(make_profile(a, 1), g, t, w);
  CHECK(double(c.memory.max_batch) > double(e.memory.max_batch) * 1.8);
  CHECK(c.max_throughput_tokens_per_s > e.max_throughput_tokens_per_s);
  // A latency limit picks the largest batch whose step meets it.
  w.tpot_limit_s = e.decode_step_s * 1.5;
  e = evaluate(p, g, t, w);
  REQUIRE(e.max_throughput_batch > 0);
  CHECK(e.max_throughput_step_s <= w.tpot_limit_s);
  CHECK(decode_step(p, g, t, double(e.max_throughput_batch + 1), 8192, Runtime::graph).time_s > w.tpot_limit_s);
}

TEST_CASE("weight dtype: bytes per weight with scales, table", "[timing][weights]") {
  struct Row {
    KvDtype dtype;
    int group;
    double d_model, bytes;
  };
  for (const Row& r : {Row{KvDtype::bf16, 128, 4096, 2.0}, Row{KvDtype::fp16, 128, 4096, 2.0},
                       Row{KvDtype::fp8, 128, 4096, 1.0 + 4.0 / 16384},  // fp32 scale per 128 x 128 block
                       Row{KvDtype::int8, 128, 4096, 1.0 + 4.0 / 4096},  // fp32 scale per output channel
                       Row{KvDtype::int4, 128, 4096, 0.5 + 2.5 / 128},   // fp16 scale + 4-bit zero per group
                       Row{KvDtype::int4, 32, 4096, 0.5 + 2.5 / 32}}) {
    INFO(to_string(r.dtype) << " group " << r.group);
    CHECK(weight_bytes_per_element(r.dtype, r.group, r.d_model) == r.bytes);
  }
  CHECK_THROWS_WITH(parse_weight_dtype("fp4", "--weight-dtype"),
                    "--weight-dtype: 'weight_dtype': expected one of bf16, fp16, fp8, int8, int4, found 'fp4'");
}

TEST_CASE("weight dtype: weights streamed and fp8 GEMM compute in decode and prefill", "[timing][weights]") {
  const TimingParams t = round_params();
  GpuSpec g = round_gpu();
  g.fp8_flops = 2e14;
  Architecture a = llama8b();
  const ArchProfile bf = make_profile(a, 1);
  a.weight_dtype = KvDtype::fp8;
  const ArchProfile f8 = make_profile(a, 1);
  // Linear layers at 1 + 4/128^2 B per weight; embedding and LM head stay bf16.
  const double wb = 1.0 + 4.0 / 16384;
  CHECK(f8.w_o_B == wb * 4096.0 * 4096);
  CHECK(f8.w_lm_head_gpu_B == bf.w_lm_head_gpu_B);
  CHECK(f8.w_embed_gpu_B == bf.w_embed_gpu_B);
  // Decode at batch 1: the W8A8 QKV GEMM streams wb N K weight bytes, reads the e4m3 activation
  // (1 B x M K: torch._scaled_mm takes it cast) and writes bf16 (2 B x M N).
  const PhaseCost d = decode_step(f8, g, t, 1, 4096, Runtime::graph);
  CHECK(d.op(Op::qkv_proj).bytes == Approx(32 * (wb * 4096.0 * 6144 + 1.0 * 4096 + 2.0 * 6144)));
  CHECK(d.op(Op::lm_head).bytes == decode_step(bf, g, t, 1, 4096, Runtime::graph).op(Op::lm_head).bytes);
  // Prefill of 4096 tokens is compute-bound: the fp8 GEMMs run at the fp8 peak (2x) with the bf16
  // fraction (no fp8 calibration), the LM head at bf16.
  const PhaseCost pb = prefill(bf, g, t, 1, 4096, Runtime::graph), pf = prefill(f8, g, t, 1, 4096, Runtime::graph);
  CHECK(pf.op(Op::mlp).compute_s == Approx(pb.op(Op::mlp).compute_s / 2));
  CHECK(pf.op(Op::lm_head).compute_s == pb.op(Op::lm_head).compute_s);
  CHECK(weight_timing_estimated(f8, g, t));
  CHECK_THAT(weight_timing_note(f8, g, t), Catch::Contains("bf16-measured GEMM efficiencies - an estimate"));
  // An fp8 GEMM calibration replaces the estimate.
  TimingParams c = t;
  c.gemm_fp8_compute_fraction = 0.25;
  CHECK(prefill(f8, g, c, 1, 4096, Runtime::graph).op(Op::mlp).compute_s == Approx(pb.op(Op::mlp).compute_s));
  CHECK_FALSE(weight_timing_estimated(f8, g, c));
  // Without fp8 tensor cores fp8 is weight-only: bf16 math, smaller stream.
  GpuSpec ampere = round_gpu();
  CHECK(prefill(f8, ampere, t, 1, 4096, Runtime::graph).op(Op::mlp).compute_s == Approx(pb.op(Op::mlp).compute_s));
  CHECK_THAT(weight_timing_note(f8, ampere, t), Catch::Contains("weight-only"));
  // int4 weight-only: a quarter of the stream plus scales, bf16 math, labelled.
  a.weight_dtype = KvDtype::int4;
  const ArchProfile i4 = make_profile(a, 1);
  CHECK(i4.w_mlp_dense_B == (0.5 + 2.5 / 128) * 3 * 4096.0 * 14336);
  CHECK(prefill(i4, g, t, 1, 4096, Runtime::graph).op(Op::mlp).compute_s == Approx(pb.op(Op::mlp).compute_s));
  CHECK(weight_timing_estimated(i4, g, t));
  // bf16: no note, and the GEMM bytes are the calibrated setups' expression.
  CHECK(weight_timing_note(bf, g, t).empty());
  CHECK(decode_step(bf, g, t, 1, 4096, Runtime::graph).op(Op::qkv_proj).bytes == 32 * 2.0 * (4096.0 * 6144 + 1 * (4096 + 6144)));
}

// MLA as engines run it (DeepSeek-V3: d 7168, 128 heads, r_q 1536, r_kv 512, rope 64, nope 128, v 128).
TEST_CASE("MLA: absorbed low-rank projections in decode, per-head attention in prefill, q_a / kv_a replicated", "[timing][mla]") {
  Architecture a = load_architecture("deepseek-v3");
  a.weight_dtype = KvDtype::bf16;
  const GpuSpec g = load_gpu("h200");
  const TimingParams t = stack_timing(g, "torch-flash").params;
  const ArchProfile p = make_profile(a, 1);
  // Decode at batch 1: per layer q_a 7168 x 1536, q_b 1536 x 128 x 192, kv_a 7168 x 576, and kv_b's
  // 512 x 128 x (128 + 128) as W_UK / W_UV: 69.6 M weights, 139 MB in bf16; 61 layers: 7.93 GiB (a
  // dense d x (128 x 192 + 576) projection would stream 20.5 GiB).
  const double w = 7168.0 * 1536 + 1536.0 * 128 * 192 + 7168.0 * 576 + 512.0 * 128 * 128 * 2;
  const double act = 2.0 * ((1536 + 7168) + (128 * 192 + 1536) + (576 + 7168) + (128 * 512 + 128) + (128 * 128 + 512));
  const PhaseCost d = decode_step(p, g, t, 1, 4096, Runtime::graph);
  CHECK(d.op(Op::qkv_proj).bytes == Approx(61 * (2 * w + act)));
  CHECK(d.op(Op::qkv_proj).bytes / 1073741824.0 == Approx(7.9).margin(0.05));
  CHECK(d.op(Op::qkv_proj).kernels == 61 * 5);
  // Prefill attention is not absorbed: 2 (qk 192 + v 128) FLOPs per (query, key) pair and head.
  const double P = 2048, pairs = P * (P + 1) / 2;
  const PhaseCost pf = prefill(p, g, t, 1, P, Runtime::graph);
  CHECK(pf.op(Op::attention).flops == Approx(61 * 2.0 * 128 * pairs * (192 + 128)));
  CHECK(pf.op(Op::qkv_proj).kernels == 61 * 4);  // q_a, q_b, kv_a, kv_b up-projection
  // TP 8: q_b and kv_b split by heads, q_a and kv_a (and their norms) on every GPU.
  const ArchProfile p8 = make_profile(a, 8);
  const double replicated = 7168.0 * 1536 + 1536 + 7168.0 * 576 + 512;
  const double split = 1536.0 * 128 * 192 + 512.0 * 128 * 256;
  CHECK(p8.w_qkv_producer_B == Approx(2 * (replicated + split / 8)));
  CHECK(p.w_qkv_producer_B == Approx(2 * (replicated + split)));
}

TEST_CASE("power limit: the energy over the board limit, less the headroom, is paid in time", "[timing][power]") {
  TimingParams t = round_params();
  // Not measured: no stretch whatever the work.
  CHECK(power_stretch_s(t, 1.0, 1.0) == 0.0);
  t.power_busy = 0.9, t.power_per_tensor = 0.4;
  struct Row {
    double busy_s, tensor_s, headroom_s, want_s;
  };
  // (0.9 - 1) busy + 0.4 tensor - headroom, floored at 0.
  const Row rows[] = {
      {10e-3, 8e-3, 0, 2.2e-3},     // GEMM-heavy: -1 + 3.2 ms
      {10e-3, 8e-3, 1e-3, 1.2e-3},  // the headroom pays the first 1 ms
      {10e-3, 8e-3, 5e-3, 0},       // more headroom than excess
      {10e-3, 2e-3, 0, 0},          // memory-bound: under the limit (-1 + 0.8 ms)
      {0, 0, 0, 0},
  };
  for (const Row& r : rows) {
    INFO("busy " << r.busy_s << " tensor " << r.tensor_s << " headroom " << r.headroom_s);
    t.power_headroom_s = r.headroom_s;
    CHECK(power_stretch_s(t, r.busy_s, r.tensor_s) == Approx(r.want_s).margin(1e-12));
  }
}

TEST_CASE("power limit: the headroom refills with idle from the gap value to the rested one", "[timing][power]") {
  TimingParams t = round_params();
  t.power_gap_headroom_s = 0.4e-3, t.power_rested_headroom_s = 6.4e-3;
  struct Row {
    double tau_s, rest_s, want_s;
  };
  // gap + (rested - gap) (1 - e^(-(r - 0.1 ms)/tau)) / (1 - e^(-19.9 ms/tau)) from 0.1 to 20 ms, rested past
  // it; tau 0: the step at 1 ms. Below 0.1 ms a proportional share of the gap headroom, 0 back to back.
  const double tau = 10e-3, norm = 1 - std::exp(-19.9e-3 / tau);
  const Row rows[] = {
      {0, 0, 0},
      {0, -1, 0},
      {0, 0.05e-3, 0.2e-3},
      {0, 0.999e-3, 0.4e-3},
      {0, 1e-3, 6.4e-3},
      {0, 50e-3, 6.4e-3},
      {tau, 0, 0},
      {tau, 0.05e-3, 0.2e-3},
      {tau, 0.1e-3, 0.4e-3},
      {tau, 20e-3, 6.4e-3},
      {tau, 1.1e-3, 0.4e-3 + 6e-3 * (1 - std::exp(-0.1)) / norm},
      {tau, 40e-3, 6.4e-3},  // past the longest idle measured: held at the rested value
      {tau, 1e3, 6.4e-3},
  };
  for (const Row& r : rows) {
    INFO("tau " << r.tau_s << " rest " << r.rest_s);
    t.power_refill_tau_s = r.tau_s;
    CHECK(power_headroom_after_s(t, r.rest_s) == Approx(r.want_s).epsilon(1e-12));
  }
  // Monotonic in the idle, whatever tau.
  for (double tau_s : {1e-3, 10e-3, 100e-3, 1.0}) {
    t.power_refill_tau_s = tau_s;
    double last = 0;
    for (double r = 0; r < 60e-3; r += 0.25e-3) {
      const double h = power_headroom_after_s(t, r);
      CHECK(h >= last);
      last = h;
    }
  }
}

TEST_CASE("power limit: a step pays the stretch on its tensor-core ops only", "[timing][power]") {
  const GpuSpec g = round_gpu();
  TimingParams t = round_params();
  const ArchProfile p = make_profile(llama8b(), 1);
  const PhaseCost free_run = prefill(p, g, t, 1, 4096, Runtime::graph);
  CHECK(free_run.power_s == 0.0);
  CHECK(free_run.tensor_s > 0.0);
  t.power_busy = 0.9, t.power_per_tensor = 0.4;
  const PhaseCost limited = prefill(p, g, t, 1, 4096, Runtime::graph);
  // Same work at the maximum clock (compute_clock_ratio is 1 here), plus what the stretch costs
  // each op: its share by tensor_s, paid where its compute term (not its memory term) sets it.
  const double stretch = (0.9 - 1) * free_run.time_s + 0.4 * free_run.tensor_s;
  REQUIRE(stretch > 0);
  double want = 0;
  for (const OpCost& o : free_run.ops) {
    const double share = stretch * o.tensor_s / free_run.tensor_s;
    want += std::max(o.memory_s, o.compute_s + share) - std::max(o.memory_s, o.compute_s);
  }
  // A 4096-token prefill is compute-bound: nearly all of the stretch is paid.
  CHECK(want > 0.9 * stretch);
  CHECK(want <= stretch);
  CHECK(limited.power_s == Approx(want).epsilon(1e-12));
  CHECK(limited.time_s == Approx(free_run.time_s + want).epsilon(1e-12));
  double sum = 0;
  for (const OpCost& o : limited.ops) sum += o.time_s;
  CHECK(sum == Approx(limited.time_s).epsilon(1e-12));
  // Elementwise kernels do no tensor-core work: their time is unchanged.
  CHECK(limited.op(Op::norms_elementwise).time_s == free_run.op(Op::norms_elementwise).time_s);
  CHECK(limited.op(Op::mlp).time_s > free_run.op(Op::mlp).time_s);
  // A batch-1 decode step streams weights: under the limit, no stretch.
  CHECK(decode_step(p, g, t, 1, 4096, Runtime::graph).power_s == 0.0);
  // Headroom (rested GPU) shortens the stretch by exactly itself, up to the whole stretch.
  t.power_headroom_s = stretch / 2;
  CHECK(prefill(p, g, t, 1, 4096, Runtime::graph).power_s < limited.power_s);
  CHECK(prefill(p, g, t, 1, 4096, Runtime::graph).power_s >= 0.9 * stretch / 2);
  t.power_headroom_s = 10 * stretch;
  CHECK(prefill(p, g, t, 1, 4096, Runtime::graph).time_s == Approx(free_run.time_s).epsilon(1e-12));
}

TEST_CASE("power limit: each op pays its share of the stretch as a slower compute term", "[timing][power]") {
  TimingParams t = round_params();
  t.power_busy = 1.0, t.power_per_tensor = 0.5, t.power_headroom_s = 0;  // stretch = tensor_s / 2
  struct Row {
    const char* what;
    ClockTerms a, b;  // two ops (qkv_proj, attention)
    double want_a_s, want_b_s;
  };
  const std::vector<Row> rows = {
      // stretch 1 s, all on the one compute-bound op
      {"compute-bound", {1, 2, 2}, {}, 1.0, 0.0},
      // its compute term plus its share (1 + 1) stays under its memory term (3)
      {"memory-bound", {3, 1, 2}, {}, 0.0, 0.0},
      // compute 2 + share 1 passes memory 2.5 by 0.5
      {"partly", {2.5, 2, 2}, {}, 0.5, 0.0},
      // stretch 1 split 0.5 / 0.5 by tensor_s: the memory-bound op pays nothing
      {"two ops", {0, 1, 1}, {5, 1, 1}, 0.5, 0.0},
      // no tensor-core work, no stretch
      {"no tensor work", {3, 1, 0}, {1, 0, 0}, 0.0, 0.0},
      // equal terms: the whole share
      {"balanced", {2, 2, 2}, {}, 1.0, 0.0},
  };
  for (const Row& r : rows) {
    INFO(r.what);
    std::array<ClockTerms, kOpCount> ops{};
    ops[static_cast<int>(Op::qkv_proj)] = r.a, ops[static_cast<int>(Op::attention)] = r.b;
    std::array<double, kOpCount> loss{};
    const double busy = 0;  // (power_busy - 1) busy_s = 0 with power_busy 1
    const double total = power_loss_s(t, busy, ops, loss.data());
    CHECK(loss[static_cast<int>(Op::qkv_proj)] == Approx(r.want_a_s).margin(1e-12));
    CHECK(loss[static_cast<int>(Op::attention)] == Approx(r.want_b_s).margin(1e-12));
    CHECK(total == Approx(r.want_a_s + r.want_b_s).margin(1e-12));
    CHECK(power_loss_s(t, busy, ops) == total);
  }
  // Without a power measurement nothing is paid.
  t.power_per_tensor = 0;
  std::array<ClockTerms, kOpCount> ops{};
  ops[0] = {1, 2, 2};
  CHECK(power_loss_s(t, 0, ops) == 0.0);
}

TEST_CASE("power limit: under the power model compute runs at the maximum clock", "[timing][power]") {
  const GpuSpec g = round_gpu();
  TimingParams t = round_params();
  t.compute_clock_ratio = 0.8;
  const ArchProfile p = make_profile(llama8b(), 1);
  const double fixed_clock = prefill(p, g, t, 1, 2048, Runtime::graph).op(Op::mlp).compute_s;
  t.power_busy = 0.5, t.power_per_tensor = 0.01;  // governed, never over the limit here
  const PhaseCost governed = prefill(p, g, t, 1, 2048, Runtime::graph);
  CHECK(governed.power_s == 0.0);
  CHECK(governed.op(Op::mlp).compute_s == Approx(0.8 * fixed_clock).epsilon(1e-12));
}
