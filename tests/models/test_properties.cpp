// Property-based tests over many random valid configurations (fixed seeds, reproducible): random
// architectures with head sharing (MHA/GQA/MQA), layer sharing (uniform CLA, the paper's
// patterns, random producer maps), sliding windows, MLA, MoE, quantized K/V and tensor
// parallelism, on every bundled GPU profile. Checked:
//   * models::evaluate never throws for valid input; every number it returns is finite and >= 0;
//   * the per-op breakdown conserves time, bytes, FLOPs and kernels (decode and prefill);
//   * KV bytes/token = sum over storing layers of e * b (docs/model.md §2), exactly;
//   * GQA: K/V heads / k => KV bytes / k; CLA-c: storing layers = ceil(L / c), KV bytes scale
//     by ceil(L / c) / L; CLA never changes the K/V read per step (storage, not reads);
//   * TP: per-GPU K/V shards sum to the whole when t divides the K/V heads, one head per GPU when
//     replicated, MLA latents replicated;
//   * monotonicity in batch, context, K/V heads, CLA factor, K/V element size and window;
//   * max_batch / max_context are the exact memory boundaries.
// A failing trial prints its seed and configuration (INFO), so it can be replayed.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kvscope/core/architecture.hpp"
#include "kvscope/core/gpu.hpp"
#include "kvscope/core/loaders.hpp"
#include "kvscope/core/workload.hpp"
#include "kvscope/models/evaluate.hpp"
#include "kvscope/models/memory.hpp"
#include "kvscope/models/profile.hpp"
#include "kvscope/models/timing.hpp"

using namespace kvscope;
using namespace kvscope::models;

namespace {

using Rng = std::mt19937_64;

int uniform(Rng& rng, int lo, int hi) {
  return std::uniform_int_distribution<int>(lo, hi)(rng);
}
bool chance(Rng& rng, double p) {
  return std::uniform_real_distribution<double>(0, 1)(rng) < p;
}
template <class T>
T pick(Rng& rng, std::initializer_list<T> v) {
  return *(v.begin() + uniform(rng, 0, static_cast<int>(v.size()) - 1));
}
// Log-uniform integer in [lo, hi].
std::int64_t log_uniform(Rng& rng, std::int64_t lo, std::int64_t hi) {
  const double x = std::uniform_real_distribution<double>(std::log(double(lo)), std::log(double(hi)))(rng);
  return std::clamp<std::int64_t>(static_cast<std::int64_t>(std::llround(std::exp(x))), lo, hi);
}

std::vector<int> divisors(int n) {
  std::vector<int> d;
  for (int i = 1; i <= n; ++i) {
    if (n % i == 0) d.push_back(i);
  }
  return d;
}

// A random valid producer map: each layer either stores its own K/V or reads an earlier
// storing layer.
std::vector<int> random_producers(Rng& rng, int n) {
  std::vector<int> p(n);
  std::vector<int> producers;
  for (int i = 0; i < n; ++i) {
    if (i == 0 || chance(rng, 0.4)) {
      p[i] = i;
      producers.push_back(i);
    } else {
      p[i] = producers[uniform(rng, 0, static_cast<int>(producers.size()) - 1)];
    }
  }
  return p;
}

std::string describe(const Architecture& a) {
  std::ostringstream s;
  s << "L=" << a.n_layers << " d=" << a.d_model << " q=" << a.n_q_heads << " kv=" << a.n_kv_heads << " h=" << a.head_dim
    << " mlp=" << to_string(a.mlp) << " ffn=" << a.ffn_dim << " vocab=" << a.vocab << " dtype=" << to_string(a.kv_dtype) << "/"
    << a.kv_quant_group << " window=" << a.window << " mla=" << (a.mla ? "yes" : "no") << " sharing=" << a.sharing << " prod=";
  for (int p : a.kv_producer) s << p << ",";
  s << " kinds=";
  for (auto k : a.layer_kind) s << (k == LayerKind::local ? 'L' : 'G');
  return s.str();
}

// A random valid architecture. `plain` leaves out MLA and MoE (for the exact K/V formulas that
// assume e = 2 n_kv h).
Architecture random_architecture(Rng& rng, bool plain = false) {
  Architecture a;
  a.id = "random";
  a.name = "Random";
  a.n_layers = chance(rng, 0.1) ? uniform(rng, 1, 3) : uniform(rng, 4, 96);
  a.head_dim = pick(rng, {32, 64, 80, 96, 128, 192, 256});
  a.n_q_heads = pick(rng, {1, 2, 4, 8, 12, 16, 32, 48, 64, 128});
  const auto qdiv = divisors(a.n_q_heads);
  a.n_kv_heads = qdiv[uniform(rng, 0, static_cast<int>(qdiv.size()) - 1)];
  a.d_model = chance(rng, 0.8) ? std::int64_t(a.n_q_heads) * a.head_dim : log_uniform(rng, 64, 16384);
  a.mlp = pick(rng, {MlpKind::swiglu, MlpKind::plain, MlpKind::moe});
  if (plain && a.mlp == MlpKind::moe) a.mlp = MlpKind::swiglu;
  a.ffn_dim = log_uniform(rng, 128, 65536);
  if (a.mlp == MlpKind::moe) {
    a.moe.n_routed = uniform(rng, 2, 256);
    a.moe.n_active = uniform(rng, 1, std::min(8, a.moe.n_routed));
    a.moe.n_shared = uniform(rng, 0, 2);
    a.moe.expert_ffn = log_uniform(rng, 128, 8192);
    a.moe.n_dense_layers = uniform(rng, 0, std::min(3, a.n_layers));
  }
  if (!plain && chance(rng, 0.15)) {
    MlaSpec m;
    m.kv_lora_rank = pick(rng, {128, 256, 512});
    m.qk_rope_dim = pick(rng, {32, 64});
    m.qk_nope_dim = pick(rng, {64, 128});
    m.v_head_dim = pick(rng, {64, 128});
    m.q_lora_rank = pick(rng, {0, 768, 1536});
    a.mla = m;
    a.n_kv_heads = a.n_q_heads;
    a.head_dim = m.qk_nope_dim + m.qk_rope_dim;
  }
  a.vocab = log_uniform(rng, 256, 256000);
  a.tied_embeddings = chance(rng, 0.3);
  a.qkv_bias = chance(rng, 0.2);
  switch (uniform(rng, 0, 3)) {
    case 0:
      a.kv_producer.clear();
      break;
    case 1:
      a.kv_producer = cla_producers(a.n_layers, uniform(rng, 1, std::min(a.n_layers, 8)));
      break;
    case 2:
      a.kv_producer = a.n_layers >= 6 ? named_pattern_producers(pick(rng, {std::string("KeepEnds"), std::string("DenseFront")}),
                                                                a.n_layers, "random")
                                      : std::vector<int>{};
      break;
    default:
      a.kv_producer = random_producers(rng, a.n_layers);
  }
  if (chance(rng, 0.35)) {
    a.layer_kind = expand_layer_pattern(
        pick(rng, {std::string("L"), std::string("LG"), std::string("LLLLLG"), std::string("GL")}), a.n_layers, "random");
    a.window = log_uniform(rng, 16, 131072);
  } else {
    a.layer_kind.assign(a.n_layers, LayerKind::global);
  }
  a.kv_dtype = pick(rng, {KvDtype::bf16, KvDtype::fp16, KvDtype::fp8, KvDtype::int8, KvDtype::int4});
  a.kv_quant_group = pick(rng, {16, 32, 64, 128});
  a.sharing = sharing_label(a);
  return a;
}

// The tensor-parallel degrees the model accepts: t | n_q and (t | n_kv or n_kv | t).
std::vector<int> valid_tp(const Architecture& a) {
  std::vector<int> out;
  for (int t : {1, 2, 4, 8, 16}) {
    if (a.n_q_heads % t == 0 && (a.n_kv_heads % t == 0 || t % a.n_kv_heads == 0)) out.push_back(t);
  }
  return out;
}

Workload random_workload(Rng& rng, int tp) {
  Workload w;
  w.batch = chance(rng, 0.05) ? 1000000 : log_uniform(rng, 1, 4096);
  w.context = chance(rng, 0.05) ? 100000000 : log_uniform(rng, 1, 1 << 20);
  w.prompt = log_uniform(rng, 1, 1 << 17);
  w.tp = tp;
  w.runtime = chance(rng, 0.5) ? Runtime::graph : Runtime::eager;
  w.tpot_limit_s = chance(rng, 0.3) ? std::uniform_real_distribution<double>(1e-4, 1.0)(rng) : 0.0;
  return w;
}

const std::vector<GpuSpec>& gpus() {
  static const std::vector<GpuSpec> g = list_gpu_presets();
  return g;
}

void check_value(const char* name, double v) {
  INFO(name << " = " << v);
  CHECK(std::isfinite(v));
  CHECK(v >= 0);
}

void check_phase(const char* phase, const PhaseCost& c) {
  INFO(phase);
  double t = 0, b = 0, f = 0, k = 0;
  for (int i = 0; i < kOpCount; ++i) {
    const OpCost& o = c.ops[i];
    INFO("op " << op_name(static_cast<Op>(i)));
    check_value("time_s", o.time_s);
    check_value("bytes", o.bytes);
    check_value("flops", o.flops);
    check_value("kernels", o.kernels);
    check_value("launch_s", o.launch_s);
    check_value("memory_s", o.memory_s);
    check_value("compute_s", o.compute_s);
    t += o.time_s, b += o.bytes, f += o.flops, k += o.kernels;
  }
  check_value("phase time", c.time_s);
  check_value("l2_saved_bytes", c.l2_saved_bytes);
  // Conservation across the per-op breakdown.
  CHECK(t == Approx(c.time_s).epsilon(1e-12));
  CHECK(b == Approx(c.bytes).epsilon(1e-12));
  CHECK(f == Approx(c.flops).epsilon(1e-12));
  CHECK(k == Approx(c.kernels).epsilon(1e-12));
}

void check_evaluation(const Evaluation& e) {
  const MemoryResult& m = e.memory;
  check_value("kv_bytes_per_token", m.kv_bytes_per_token);
  check_value("kv_bytes_per_token_gpu", m.kv_bytes_per_token_gpu);
  check_value("kv_cache_bytes", m.kv_cache_bytes);
  check_value("kv_read_bytes_per_step", m.kv_read_bytes_per_step);
  check_value("weight_bytes", m.weight_bytes);
  check_value("workspace_bytes", m.workspace_bytes);
  check_value("reserve_bytes", m.reserve_bytes);
  check_value("total_bytes", m.total_bytes);
  check_value("capacity_bytes", m.capacity_bytes);
  check_value("param_count", m.param_count);
  check_value("active_param_count", m.active_param_count);
  check_value("max_batch", double(m.max_batch));
  check_value("max_context", double(m.max_context));
  check_value("decode_step_s", e.decode_step_s);
  check_value("decode_tokens_per_s", e.decode_tokens_per_s);
  check_value("tpot_s", e.tpot_s);
  check_value("prefill_s", e.prefill_s);
  check_value("ttft_s", e.ttft_s);
  check_value("achieved_Bps", e.achieved_Bps);
  check_value("bw_fraction", e.bw_fraction);
  check_value("max_throughput_batch", double(e.max_throughput_batch));
  check_value("max_throughput_tokens_per_s", e.max_throughput_tokens_per_s);
  check_value("max_throughput_step_s", e.max_throughput_step_s);
  check_phase("decode", e.decode);
  check_phase("prefill", e.prefill);
  CHECK(m.feasible == m.reason.empty());
  CHECK(e.decode_step_s > 0);
  CHECK(m.active_param_count <= m.param_count * (1 + 1e-12));
}

// K/V elements per token of one storing layer, whole model (docs/model.md §2).
double kv_elems(const Architecture& a) {
  if (a.mla) return a.mla->kv_lora_rank + a.mla->qk_rope_dim;
  return 2.0 * a.n_kv_heads * a.head_dim;
}

int count_kind(const Architecture& a, LayerKind k) {
  int n = 0;
  for (auto x : a.layer_kind) n += x == k;
  return n;
}

Architecture with_producers(Architecture a, std::vector<int> p) {
  a.kv_producer = std::move(p);
  a.sharing = sharing_label(a);
  return a;
}

}  // namespace

TEST_CASE("random valid configurations: evaluate never throws, every output finite and >= 0, breakdown conserved",
          "[property][evaluate]") {
  Rng rng(20261123);
  for (int trial = 0; trial < 600; ++trial) {
    const Architecture a = random_architecture(rng);
    INFO("trial " << trial << ": " << describe(a));
    REQUIRE_NOTHROW(validate(a, "random"));
    const auto tps = valid_tp(a);
    const int tp = tps[uniform(rng, 0, static_cast<int>(tps.size()) - 1)];
    const Workload w = random_workload(rng, tp);
    const GpuSpec& g = gpus()[uniform(rng, 0, static_cast<int>(gpus().size()) - 1)];
    INFO("gpu " << g.id << " tp " << tp << " batch " << w.batch << " context " << w.context << " prompt " << w.prompt);
    REQUIRE_NOTHROW(validate(w, "random"));
    Evaluation e;
    REQUIRE_NOTHROW(e = evaluate(a, g, w));
    check_evaluation(e);
    // The profile path (what sweeps use) agrees with the convenience path.
    const ArchProfile p = make_profile(a, tp);
    const Evaluation e2 = evaluate(p, g, stack_timing(g, w.stack).params, w);
    CHECK(e2.decode_step_s == e.decode_step_s);
    CHECK(e2.memory.kv_cache_bytes == e.memory.kv_cache_bytes);
  }
}

TEST_CASE("KV bytes per token and per step follow the formulas exactly", "[property][memory]") {
  Rng rng(7);
  for (int trial = 0; trial < 500; ++trial) {
    const Architecture a = random_architecture(rng);
    INFO("trial " << trial << ": " << describe(a));
    REQUIRE_NOTHROW(validate(a, "random"));
    const double b = kv_bytes_per_element(a.kv_dtype, a.kv_quant_group);
    const int stored = kv_layer_count(a);
    Workload w = random_workload(rng, 1);
    w.tpot_limit_s = 0;
    const MemoryResult m = evaluate_memory(make_profile(a, 1), gpus().front(), w);
    // Paper column: sum over storing layers of e * b.
    CHECK(m.kv_bytes_per_token == Approx(stored * kv_elems(a) * b).epsilon(1e-12));
    CHECK(m.kv_bytes_per_token_gpu == Approx(m.kv_bytes_per_token).epsilon(1e-12));  // tp = 1
    // Reads: every attention layer reads what it attends to, whatever the sharing.
    const double S = double(w.context);
    const double local = a.window > 0 ? std::min(S, double(a.window)) : S;
    const double reads =
        double(w.batch) * b * kv_elems(a) * (count_kind(a, LayerKind::global) * S + count_kind(a, LayerKind::local) * local);
    CHECK(m.kv_read_bytes_per_step == Approx(reads).epsilon(1e-12));
    // Cache: batch x per-sequence bytes; never more than if every storing layer kept every position.
    const ArchProfile p = make_profile(a, 1);
    CHECK(m.kv_cache_bytes == Approx(double(w.batch) * kv_bytes_per_sequence(p, S)).epsilon(1e-12));
    CHECK(m.kv_cache_bytes <= double(w.batch) * S * m.kv_bytes_per_token * (1 + 1e-12));
    // Element size: K/V bytes scale exactly with bytes per element.
    Architecture bf = a;
    bf.kv_dtype = KvDtype::bf16;
    const MemoryResult mb = evaluate_memory(make_profile(bf, 1), gpus().front(), w);
    CHECK(m.kv_bytes_per_token == Approx(mb.kv_bytes_per_token * b / 2.0).epsilon(1e-12));
  }
}

TEST_CASE("GQA and CLA reductions are exactly what the formulas say", "[property][gqa][cla]") {
  Rng rng(99);
  const GpuSpec& g = gpus().front();
  for (int trial = 0; trial < 400; ++trial) {
    Architecture a = random_architecture(rng, /*plain=*/true);
    a.kv_producer.clear();
    a.sharing = sharing_label(a);
    INFO("trial " << trial << ": " << describe(a));
    Workload w = random_workload(rng, 1);
    const MemoryResult base = evaluate_memory(make_profile(a, 1), g, w);
    // GQA: K/V heads / k  =>  K/V bytes (per token, cache, reads) / k.
    for (int k : divisors(a.n_kv_heads)) {
      Architecture s = a;
      s.n_kv_heads = a.n_kv_heads / k;
      const MemoryResult m = evaluate_memory(make_profile(s, 1), g, w);
      INFO("kv heads / " << k);
      CHECK(m.kv_bytes_per_token * k == Approx(base.kv_bytes_per_token).epsilon(1e-12));
      CHECK(m.kv_cache_bytes * k == Approx(base.kv_cache_bytes).epsilon(1e-12));
      CHECK(m.kv_read_bytes_per_step * k == Approx(base.kv_read_bytes_per_step).epsilon(1e-12));
    }
    // CLA-c on an all-global model: ceil(L / c) storing layers, K/V bytes x ceil(L / c) / L,
    // reads unchanged; a larger factor never stores more.
    Architecture global = a;
    global.layer_kind.assign(a.n_layers, LayerKind::global);
    global.window = 0;
    const MemoryResult gb = evaluate_memory(make_profile(global, 1), g, w);
    double previous = gb.kv_bytes_per_token;
    for (int c = 1; c <= std::min(a.n_layers, 8); ++c) {
      const Architecture s = with_producers(global, cla_producers(a.n_layers, c));
      REQUIRE_NOTHROW(validate(s, "cla"));
      const int stored = (a.n_layers + c - 1) / c;
      INFO("CLA" << c);
      CHECK(kv_layer_count(s) == stored);
      const MemoryResult m = evaluate_memory(make_profile(s, 1), g, w);
      CHECK(m.kv_bytes_per_token == Approx(gb.kv_bytes_per_token * stored / a.n_layers).epsilon(1e-12));
      CHECK(m.kv_cache_bytes == Approx(gb.kv_cache_bytes * stored / a.n_layers).epsilon(1e-12));
      CHECK(m.kv_read_bytes_per_step == Approx(gb.kv_read_bytes_per_step).epsilon(1e-12));
      CHECK(m.kv_bytes_per_token <= previous * (1 + 1e-12));
      CHECK(m.max_batch >= gb.max_batch);
      previous = m.kv_bytes_per_token;
    }
    // Any producer map: storing layers counted exactly, never more memory than no sharing.
    const Architecture r = with_producers(global, random_producers(rng, a.n_layers));
    const MemoryResult mr = evaluate_memory(make_profile(r, 1), g, w);
    CHECK(mr.kv_bytes_per_token == Approx(gb.kv_bytes_per_token * kv_layer_count(r) / a.n_layers).epsilon(1e-12));
    CHECK(mr.kv_read_bytes_per_step == Approx(gb.kv_read_bytes_per_step).epsilon(1e-12));
  }
}

TEST_CASE("tensor parallelism: per-GPU K/V shards sum to the whole; replication and MLA as documented", "[property][tp]") {
  Rng rng(4242);
  const GpuSpec& g = gpus().front();
  int split = 0, replicated = 0, mla = 0;
  for (int trial = 0; trial < 500; ++trial) {
    const Architecture a = random_architecture(rng);
    INFO("trial " << trial << ": " << describe(a));
    Workload w = random_workload(rng, 1);
    const MemoryResult whole = evaluate_memory(make_profile(a, 1), g, w);
    for (int t : valid_tp(a)) {
      INFO("tp " << t);
      w.tp = t;
      const ArchProfile p = make_profile(a, t);
      const MemoryResult m = evaluate_memory(p, g, w);
      // The paper column is a property of the model, not of the split.
      CHECK(m.kv_bytes_per_token == Approx(whole.kv_bytes_per_token).epsilon(1e-12));
      if (a.mla) {
        ++mla;
        CHECK(m.kv_bytes_per_token_gpu == Approx(whole.kv_bytes_per_token).epsilon(1e-12));
        CHECK(m.kv_cache_bytes == Approx(whole.kv_cache_bytes).epsilon(1e-12));
      } else if (a.n_kv_heads % t == 0) {
        ++split;
        CHECK(p.kv_heads_per_gpu == a.n_kv_heads / t);
        CHECK(m.kv_bytes_per_token_gpu * t == Approx(whole.kv_bytes_per_token).epsilon(1e-12));
        CHECK(m.kv_cache_bytes * t == Approx(whole.kv_cache_bytes).epsilon(1e-12));
        CHECK(m.kv_read_bytes_per_step * t == Approx(whole.kv_read_bytes_per_step).epsilon(1e-12));
      } else {
        ++replicated;  // fewer K/V heads than GPUs: one head per GPU
        CHECK(p.kv_heads_per_gpu == 1);
        CHECK(m.kv_bytes_per_token_gpu * a.n_kv_heads == Approx(whole.kv_bytes_per_token).epsilon(1e-12));
      }
      CHECK(p.q_heads_per_gpu * t == a.n_q_heads);
      // Weights: every GPU holds at least its 1/t share; together at least the whole model.
      CHECK(m.weight_bytes * t >= whole.weight_bytes * (1 - 1e-12));
      CHECK(m.weight_bytes <= whole.weight_bytes * (1 + 1e-12));
      CHECK(m.param_count == Approx(whole.param_count).epsilon(1e-12));
    }
  }
  CHECK(split > 100);
  CHECK(replicated > 10);
  CHECK(mla > 10);
}

TEST_CASE("monotonicity: batch, context, K/V heads, element size, windows", "[property][monotonic]") {
  Rng rng(31337);
  for (int trial = 0; trial < 400; ++trial) {
    const Architecture a = random_architecture(rng);
    INFO("trial " << trial << ": " << describe(a));
    const auto tps = valid_tp(a);
    const int tp = tps[uniform(rng, 0, static_cast<int>(tps.size()) - 1)];
    const GpuSpec& g = gpus()[uniform(rng, 0, static_cast<int>(gpus().size()) - 1)];
    const TimingParams t = timing_params(g);
    Workload w = random_workload(rng, tp);
    w.batch = std::min<std::int64_t>(w.batch, 500000);
    w.context = std::min<std::int64_t>(w.context, 50000000);
    w.tpot_limit_s = 0;
    const ArchProfile p = make_profile(a, tp);
    INFO("gpu " << g.id << " tp " << tp << " batch " << w.batch << " context " << w.context);
    const Evaluation e = evaluate(p, g, t, w);
    Workload wb = w, wc = w;
    wb.batch *= 2;
    wc.context *= 2;
    const Evaluation eb = evaluate(p, g, t, wb), ec = evaluate(p, g, t, wc);
    CHECK(eb.memory.kv_cache_bytes >= e.memory.kv_cache_bytes);
    CHECK(ec.memory.kv_cache_bytes >= e.memory.kv_cache_bytes);
    CHECK(eb.memory.total_bytes >= e.memory.total_bytes);
    // Doubling the batch can change the split-KV choice, which takes the fewest splits within
    // 5 % of the best wave efficiency: per-step time is monotone in batch up to that 5 %.
    CHECK(eb.decode_step_s >= e.decode_step_s * 0.95);
    {
      std::ostringstream ops;
      for (int i = 0; i < kOpCount; ++i) {
        ops << op_name(static_cast<Op>(i)) << " " << e.decode.ops[i].time_s << " -> " << ec.decode.ops[i].time_s << "; ";
      }
      INFO("decode ops at context x2: " << ops.str() << " l2_saved " << e.decode.l2_saved_bytes << " -> "
                                        << ec.decode.l2_saved_bytes);
      // Below 128 x 256 positions the split-KV count (attention_splits: at least 256 positions
      // per split) grows with the context, so a longer context can fill more of the GPU and a
      // step can get *faster* (e.g. B=1, 1 K/V head: 676 -> 1352 positions, 2 -> 5 splits,
      // attention -12 %). That is the modelled kernel's behaviour, not an accident; the property
      // holds once the split count is capped at 128 for both contexts.
      if (w.context >= 128 * 256) CHECK(ec.decode_step_s >= e.decode_step_s * (1 - 1e-12));
      // The K/V bytes read always grow.
      CHECK(ec.decode.op(Op::attention).bytes >= e.decode.op(Op::attention).bytes);
    }
    CHECK(ec.memory.max_batch <= e.memory.max_batch);
    CHECK(eb.memory.max_context <= e.memory.max_context);
    CHECK(eb.decode_tokens_per_s >= e.decode_tokens_per_s * (1 - 1e-9));  // batching never loses throughput
    // Fewer bytes per K/V element: never more memory, never a slower step.
    if (!a.mla) {
      Architecture small = a;
      small.kv_dtype = KvDtype::int4;
      small.kv_quant_group = 128;
      Architecture big = a;
      big.kv_dtype = KvDtype::bf16;
      const Evaluation es = evaluate(make_profile(small, tp), g, t, w), ebig = evaluate(make_profile(big, tp), g, t, w);
      CHECK(es.memory.kv_cache_bytes <= ebig.memory.kv_cache_bytes);
      CHECK(es.memory.max_batch >= ebig.memory.max_batch);
    }
    // A window never stores more than full attention.
    if (a.window > 0) {
      Architecture full = a;
      full.layer_kind.assign(a.n_layers, LayerKind::global);
      full.window = 0;
      const MemoryResult mf = evaluate_memory(make_profile(full, tp), g, w);
      CHECK(e.memory.kv_cache_bytes <= mf.kv_cache_bytes * (1 + 1e-12));
      CHECK(e.memory.kv_read_bytes_per_step <= mf.kv_read_bytes_per_step * (1 + 1e-12));
    }
  }
}

TEST_CASE("max_batch and max_context are the exact memory boundaries", "[property][memory][capacity]") {
  Rng rng(5150);
  int checked = 0;
  for (int trial = 0; trial < 400; ++trial) {
    const Architecture a = random_architecture(rng);
    INFO("trial " << trial << ": " << describe(a));
    const auto tps = valid_tp(a);
    const int tp = tps.back();
    const GpuSpec& g = gpus()[uniform(rng, 0, static_cast<int>(gpus().size()) - 1)];
    Workload w = random_workload(rng, tp);
    w.batch = std::min<std::int64_t>(w.batch, 4096);
    w.context = std::min<std::int64_t>(w.context, 1 << 20);
    const ArchProfile p = make_profile(a, tp);
    const MemoryResult m = evaluate_memory(p, g, w);
    INFO("gpu " << g.id << " tp " << tp << " batch " << w.batch << " context " << w.context << " max_batch " << m.max_batch);
    if (m.max_batch >= 1 && m.max_batch < 1000000) {
      ++checked;
      Workload at = w, above = w;
      at.batch = m.max_batch;
      above.batch = m.max_batch + 1;
      CHECK(evaluate_memory(p, g, at).feasible);
      CHECK_FALSE(evaluate_memory(p, g, above).feasible);
    }
    if (m.feasible) {
      CHECK(w.batch <= m.max_batch);
      CHECK(w.context <= m.max_context);
    }
  }
  CHECK(checked > 50);
}
