// Family 6: end-to-end decode step (and prefill) of a whole layer stack, captured as ONE CUDA graph.
// Per layer: RMSNorm, fused QKV GEMM (Q-only on CLA consumer layers), RoPE + KV append (producers),
// attention over the producer layer's KV, O GEMM + residual (cuBLAS beta = 1), RMSNorm, fused gate_up GEMM,
// SiLU * mul, down GEMM + residual. Then final RMSNorm and the LM head. Weights random bf16, KV cache random.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "attention.cuh"
#include "layers.cuh"

namespace kvb {
namespace {
struct ModelDef {
  std::string name;
  int L, d, Hq, hd, ffn, V;
  bool tied;
};
const ModelDef kLlama8B{"llama-3-8b", 32, 4096, 32, 128, 14336, 128256, false};
const ModelDef kLlama1B{"llama-3.2-1b", 16, 2048, 32, 64, 8192, 128256, true};
// Hold-out shapes (KVBENCH_E2E_SET=holdout): never used to design or check the cost model before
// they were measured; they test it on layer counts, widths and vocabularies it has not seen.
const ModelDef kQwen3B{"qwen2.5-3b", 36, 2048, 16, 128, 11008, 151936, true};
const ModelDef kLlama2_13B{"llama-2-13b", 40, 5120, 40, 128, 13824, 32000, false};
constexpr float kRopeTheta = 500000.f;

struct Weights {
  DevBuf arena;
  std::vector<char*> qkv, o, gu, down, n1, n2;
  char *emb = nullptr, *lm = nullptr, *nf = nullptr;
};

Weights make_weights(Ctx& c, const ModelDef& m) {
  Weights w;
  const std::size_t d = m.d, q = std::size_t(m.Hq) * m.hd, F = m.ffn, V = m.V;
  const std::size_t qkv_max = 3 * q * d, o = d * q, gu = 2 * F * d, dn = d * F;
  const std::size_t per_layer = (qkv_max + o + gu + dn + 2 * d) * 2;
  const std::size_t total = per_layer * m.L + (V * d * (m.tied ? 1 : 2) + d) * 2 + 4096;
  w.arena = DevBuf(total);
  char* p = w.arena.as<char>();
  std::uint64_t seed = 7000;
  auto take = [&](std::size_t elems, float a) {
    char* r = p;
    fill_bf16(r, elems, seed++, -a, a, c.stream);
    p += elems * 2;
    return r;
  };
  auto take_norm = [&](std::size_t elems) {
    char* r = p;
    fill_bf16(r, elems, seed++, 0.8f, 1.2f, c.stream);
    p += elems * 2;
    return r;
  };
  for (int l = 0; l < m.L; ++l) {
    w.qkv.push_back(take(qkv_max, std::sqrt(3.0f / d)));
    w.o.push_back(take(o, std::sqrt(3.0f / q)));
    w.gu.push_back(take(gu, std::sqrt(3.0f / d)));
    w.down.push_back(take(dn, std::sqrt(3.0f / F)));
    w.n1.push_back(take_norm(d));
    w.n2.push_back(take_norm(d));
  }
  w.emb = take(V * d, 1.0f);
  w.lm = m.tied ? w.emb : take(V * d, std::sqrt(3.0f / d));
  w.nf = take_norm(d);
  CK(cudaStreamSynchronize(c.stream));
  return w;
}

struct Acts {
  DevBuf x, xn, qkv, q, ao, gu, act, logits, tokens, part_o, part_ml;
};

struct StepCfg {
  const ModelDef* m;
  kvbench::ModelShape shape;
  int Hkv, cla, B, ctx, P;  // ctx: decode positions attended; P: prefill prompt (0 for decode)
  bool prefill;
  std::string label;
};

// Enqueues one step. Returns the number of kernels it asked for (cuBLAS may launch more: the graph is counted).
void enqueue_step(Ctx& c, const StepCfg& s, const Weights& w, Acts& a, char* kv_pool, const AttnParams& base, cudaStream_t st) {
  const ModelDef& m = *s.m;
  const int d = m.d, q = m.Hq * m.hd, kvd = s.Hkv * m.hd, F = m.ffn;
  const int T = s.prefill ? s.P : 1, rows = s.B * T, S_cap = s.prefill ? s.P : s.ctx, past = s.prefill ? 0 : s.ctx - 1;
  const std::size_t cache_elems = std::size_t(s.B) * s.Hkv * S_cap * m.hd;
  std::vector<int> prod_index(m.L, -1);
  int np = 0;
  for (int l = 0; l < m.L; ++l)
    if (s.shape.is_producer(l)) prod_index[l] = np++;
  embed(a.tokens.as<int>(), w.emb, a.x.p, rows, d, st);
  for (int l = 0; l < m.L; ++l) {
    const bool producer = s.shape.is_producer(l);
    const int pidx = prod_index[static_cast<std::size_t>(s.shape.kv_producers[l])];
    char* kc = kv_pool + std::size_t(pidx) * 2 * cache_elems * 2;
    char* vc = kc + cache_elems * 2;
    rmsnorm(a.x.p, w.n1[l], a.xn.p, rows, d, 1, 0, st);
    gemm_bf16(c.cublas, rows, q + (producer ? 2 * kvd : 0), d, a.xn.p, w.qkv[l], a.qkv.p, 0.f, st);
    rope_append(a.qkv.p, a.q.p, producer ? kc : nullptr, producer ? vc : nullptr, s.B, T, m.Hq, s.Hkv, m.hd, S_cap, past,
                kRopeTheta, st);
    AttnParams p = base;
    p.k = kc, p.v = vc;
    launch_attention(p, false, false, st);
    gemm_bf16(c.cublas, rows, d, q, a.ao.p, w.o[l], a.x.p, 1.f, st);
    rmsnorm(a.x.p, w.n2[l], a.xn.p, rows, d, 1, 0, st);
    gemm_bf16(c.cublas, rows, 2 * F, d, a.xn.p, w.gu[l], a.gu.p, 0.f, st);
    silu_mul(a.gu.p, a.act.p, rows, F, st);
    gemm_bf16(c.cublas, rows, d, F, a.act.p, w.down[l], a.x.p, 1.f, st);
  }
  rmsnorm(a.x.p, w.nf, a.xn.p, s.B, d, T, T - 1, st);  // last token of each sequence
  gemm_bf16(c.cublas, s.B, m.V, d, a.xn.p, w.lm, a.logits.p, 0.f, st);
}

int count_kernel_nodes(cudaGraph_t g, int* total) {
  std::size_t n = 0;
  CK(cudaGraphGetNodes(g, nullptr, &n));
  std::vector<cudaGraphNode_t> nodes(n);
  CK(cudaGraphGetNodes(g, nodes.data(), &n));
  int k = 0;
  for (auto nd : nodes) {
    cudaGraphNodeType t;
    CK(cudaGraphNodeGetType(nd, &t));
    k += t == cudaGraphNodeTypeKernel ? 1 : 0;
  }
  *total = static_cast<int>(n);
  return k;
}

Json model_axes(const StepCfg& s) {
  Json a = Json::object();
  const auto& sh = s.shape;
  a.set("model_label", s.label);
  a.set("n_layers", static_cast<long long>(sh.n_layers));
  a.set("d_model", static_cast<long long>(sh.d_model));
  a.set("n_q_heads", static_cast<long long>(sh.n_q_heads));
  a.set("n_kv_heads", static_cast<long long>(sh.n_kv_heads));
  a.set("head_dim", static_cast<long long>(sh.head_dim));
  a.set("ffn_dim", static_cast<long long>(sh.ffn_dim));
  a.set("vocab", static_cast<long long>(sh.vocab));
  a.set("tied_embeddings", sh.tied_embeddings);
  Json kp = Json::array();
  for (auto v : sh.kv_producers) kp.push(static_cast<long long>(v));
  a.set("kv_producers", std::move(kp));
  a.set("cla_factor", s.cla);
  a.set("batch", s.B);
  a.set("context", s.prefill ? s.P : s.ctx);
  a.set("prompt", s.prefill ? s.P : 0);
  a.set("kv_dtype", "bf16");
  a.set("runtime", "graph");
  return a;
}
}  // namespace

void run_e2e(Ctx& c) {
  const bool quick = c.opt.quick;
  const char* set = std::getenv("KVBENCH_E2E_SET");
  const bool holdout = set && std::string(set) == "holdout";
  std::vector<const ModelDef*> models =
      holdout ? std::vector<const ModelDef*>{&kQwen3B, &kLlama2_13B} : std::vector<const ModelDef*>{&kLlama1B, &kLlama8B};
  kvbench::StopRule rule = c.rule;
  rule.max_time_s = quick ? 0.1 : 0.4;
  rule.max_samples = 100;
  for (const ModelDef* md : models) {
    const ModelDef& m = *md;
    std::vector<StepCfg> cfgs;
    struct Sharing {
      std::string tag;
      int hkv;
    };
    std::vector<Sharing> sharings = {{"MHA", m.Hq}, {"GQA8", 8}, {"MQA", 1}};
    if (md == &kQwen3B) sharings = {{"GQA2", 2}, {"MQA", 1}, {"GQA8", 8}};  // g = 8, 16, 2
    if (md == &kLlama2_13B) sharings = {{"MHA", 40}};                       // 40 heads: g = 1 only (powers of 2)
    auto add = [&](const Sharing& sh, int cla, int B, int ctx, int P) {
      StepCfg s;
      s.m = md, s.Hkv = sh.hkv, s.cla = cla, s.B = B, s.ctx = ctx, s.P = P, s.prefill = P > 0;
      s.label = m.name + "-" + sh.tag + "-CLA" + std::to_string(cla);
      s.shape.label = s.label;
      s.shape.n_layers = m.L, s.shape.d_model = m.d, s.shape.n_q_heads = m.Hq, s.shape.n_kv_heads = sh.hkv,
      s.shape.head_dim = m.hd;
      s.shape.ffn_dim = m.ffn, s.shape.vocab = m.V, s.shape.tied_embeddings = m.tied;
      s.shape.kv_producers = kvbench::uniform_cla_producers(m.L, cla);
      s.shape.validate();
      cfgs.push_back(std::move(s));
    };
    if (holdout) {
      for (const auto& sh : sharings)
        for (int cla : {1, 2})
          for (int B : {1, 16, 64})
            for (int ctx : {1024, 4096, 32768}) add(sh, cla, B, ctx, 0);
      for (auto [B, P] : std::vector<std::pair<int, int>>{{1, 1024}, {2, 4096}}) add(sharings[0], 1, B, 0, P);
    } else if (quick) {
      if (md == &kLlama1B) {
        for (int cla : {1, 2})
          for (int B : {1, 32})
            for (int ctx : {512, 8192}) add(sharings[1], cla, B, ctx, 0);
        add(sharings[2], 4, 8, 2048, 0);
        add(sharings[0], 1, 8, 2048, 0);
        add(sharings[1], 1, 1, 0, 512);
        add(sharings[1], 2, 2, 0, 1024);
      } else {
        add(sharings[1], 1, 8, 2048, 0);
        add(sharings[1], 1, 1, 0, 512);
      }
    } else {
      for (const auto& sh : sharings)
        for (int cla : {1, 2, 4})
          for (int B : {1, 8, 32, 128})
            for (int ctx : {512, 2048, 8192, 16384}) add(sh, cla, B, ctx, 0);
      for (int cla : {1, 2})
        for (auto [B, P] : std::vector<std::pair<int, int>>{{1, 512}, {1, 2048}, {4, 1024}, {4, 2048}})
          add(sharings[1], cla, B, 0, P);
    }
    // Weights, activations (sized for the largest config), then a random KV pool in what memory is left.
    Weights w = make_weights(c, m);
    int max_rows = 1, max_B = 1;
    for (const auto& s : cfgs) max_rows = std::max(max_rows, s.B * (s.prefill ? s.P : 1)), max_B = std::max(max_B, s.B);
    Acts a;
    const std::size_t q = std::size_t(m.Hq) * m.hd;
    a.x = DevBuf(std::size_t(2) * max_rows * m.d), a.xn = DevBuf(std::size_t(2) * max_rows * m.d);
    a.qkv = DevBuf(std::size_t(2) * max_rows * 3 * q), a.q = DevBuf(std::size_t(2) * max_rows * q),
    a.ao = DevBuf(std::size_t(2) * max_rows * q);
    a.gu = DevBuf(std::size_t(4) * max_rows * m.ffn), a.act = DevBuf(std::size_t(2) * max_rows * m.ffn);
    a.logits = DevBuf(std::size_t(2) * max_B * m.V), a.tokens = DevBuf(std::size_t(4) * max_rows);
    a.part_o = DevBuf(std::size_t(128) << 20), a.part_ml = DevBuf(std::size_t(4) << 20);
    for (DevBuf* b : {&a.x, &a.xn, &a.qkv, &a.q, &a.ao, &a.gu, &a.act, &a.logits})
      fill_bf16(b->p, b->bytes / 2, 8000, -1, 1, c.stream);
    std::size_t free_b = 0, total_b = 0;
    CK(cudaMemGetInfo(&free_b, &total_b));
    const std::size_t reserve = std::size_t(3) << 30;
    double need_max = 0;
    for (const auto& s : cfgs) need_max = std::max(need_max, kvbench::kv_cache_bytes(s.shape, s.B, s.prefill ? s.P : s.ctx));
    const std::size_t pool_B =
        std::min<std::size_t>(free_b > reserve ? free_b - reserve : 0, static_cast<std::size_t>(need_max) + 4096);
    DevBuf pool(pool_B);
    fill_bf16(pool.p, pool.bytes / 2, 9000, -1, 1, c.stream);
    CK(cudaStreamSynchronize(c.stream));
    std::printf("  e2e %s: weights %.2f GB, KV pool %.2f GB (GPU memory %.2f GB)\n", m.name.c_str(), w.arena.bytes / 1e9,
                pool_B / 1e9, total_b / 1e9);
    int idx = 0;
    for (const auto& s : cfgs) {
      ++idx;
      Json axes = model_axes(s);
      const char* family = s.prefill ? "prefill" : "decode_step";
      const double kvneed = kvbench::kv_cache_bytes(s.shape, s.B, s.prefill ? s.P : s.ctx);
      const double wbytes = kvbench::weight_bytes(s.shape);
      if (kvneed > double(pool_B)) {
        char why[256];
        std::snprintf(why, sizeof why,
                      "weights %.2f GB + KV cache %.2f GB do not fit in GPU memory (%.2f GB total, %.2f GB left for KV)",
                      wbytes / 1e9, kvneed / 1e9, total_b / 1e9, pool_B / 1e9);
        c.skip(family, std::move(axes), why);
        continue;
      }
      const int g = m.Hq / s.Hkv;
      const AttnKernelInfo ki = attn_kernel_info(m.hd, false, g, s.prefill, false);
      if (!ki.supported) {
        c.skip(family, std::move(axes), "attention kernel: " + ki.why);
        continue;
      }
      AttnParams base;
      base.q = a.q.p, base.o = a.ao.p, base.part_o = a.part_o.as<float>(), base.part_ml = a.part_ml.as<float>();
      base.B = s.B, base.Hq = m.Hq, base.Hkv = s.Hkv, base.g = g, base.D = m.hd;
      base.scale_log2 = float(1.4426950408889634 / std::sqrt(double(m.hd)));
      if (s.prefill) {
        base.T = s.P, base.S_cap = s.P, base.kv_len = s.P, base.causal = 1, base.past = 0;
      } else {
        base.T = 1, base.S_cap = s.ctx, base.kv_len = s.ctx;
        plan_splits(
            base, static_cast<int>(kvbench::choose_splits(s.B, s.Hkv, s.ctx, c.dev.sm_count, split_ctas_per_sm(ki.ctas_per_sm))));
        while (std::size_t(s.B) * m.Hq * base.splits * m.hd * 4 > a.part_o.bytes && base.splits > 1)
          plan_splits(base, base.splits / 2);
      }
      axes.set("attention_splits", base.splits);
      fill_i32(a.tokens.as<int>(), std::size_t(s.B) * (s.prefill ? s.P : 1), 100 + idx, m.V, c.stream);
      // Eager run (reference for the graph), then capture.
      enqueue_step(c, s, w, a, pool.as<char>(), base, c.stream);
      CK(cudaStreamSynchronize(c.stream));
      const auto eager = to_host_bf16(a.logits.p, std::size_t(s.B) * m.V);
      cudaGraph_t graph;
      cudaGraphExec_t exec;
      CK(cudaStreamBeginCapture(c.stream, cudaStreamCaptureModeThreadLocal));
      enqueue_step(c, s, w, a, pool.as<char>(), base, c.stream);
      CK(cudaStreamEndCapture(c.stream, &graph));
      int nodes = 0;
      const int kernels = count_kernel_nodes(graph, &nodes);
      CK(cudaGraphInstantiate(&exec, graph, 0));
      CK(cudaGraphUpload(exec, c.stream));
      CK(cudaMemsetAsync(a.logits.p, 0xff, a.logits.bytes, c.stream));
      CK(cudaGraphLaunch(exec, c.stream));
      CK(cudaStreamSynchronize(c.stream));
      const auto replay = to_host_bf16(a.logits.p, std::size_t(s.B) * m.V);
      std::vector<double> ge(eager.begin(), eager.end()), gr(replay.begin(), replay.end());
      const double err = rel_l2_error(gr, ge);
      double mean = 0, var = 0;
      for (double v : ge) mean += v;
      mean /= double(ge.size());
      for (double v : ge) var += (v - mean) * (v - mean);
      const bool ok = err < 1e-2 && var > 0 && std::isfinite(var);
      if (!ok) {
        ++c.failed_checks;
        std::printf("  CHECK FAILED: %s graph replay vs eager rel error %.3g (logit variance %.3g)\n", s.label.c_str(), err, var);
      }
      const Measured ms = measure(
          c, [&](int, cudaStream_t st, Marker&) { CK(cudaGraphLaunch(exec, st)); }, {}, 2, &rule);
      CK(cudaGraphExecDestroy(exec));
      CK(cudaGraphDestroy(graph));
      const kvbench::StepTraffic t =
          s.prefill ? kvbench::prefill_traffic(s.shape, s.B, s.P) : kvbench::decode_step_traffic(s.shape, s.B, s.ctx);
      axes.set("kernels_per_step", kernels);
      Json rec = make_record(c, family, s.label + (s.prefill ? "-prefill" : "-decode"), std::move(axes), "cold", t.bytes_read(),
                             t.bytes_written(), t.flops, ms.samples, ms, ok, err);
      rec.set("graph_nodes", nodes);
      rec.set("weight_bytes_read_B", t.weight_read_B);
      rec.set("kv_bytes_read_B", t.kv_read_B);
      rec.set("kv_bytes_written_B", t.kv_written_B);
      rec.set("activation_bytes_B", t.act_B);
      rec.set("gemm_flop_count", t.gemm_flops);
      rec.set("attention_flop_count", t.attn_flops);
      rec.set("weights_allocated_B", wbytes);
      rec.set("kv_cache_B", kvneed);
      rec.set("verification",
              "logits of the graph replay vs an eager (uncaptured) run of the same step; components checked by --check");
      rec.set("l2_note", "weights + KV far above L2: every replay streams them from HBM");
      if (s.prefill)
        rec.set("prefill_attention_kernel",
                "kvbench mma.sync causal tiled kernel (online softmax; 16 or 32 query rows x 64-key tiles per CTA)");
      const double med = kvbench::summarize(ms.samples).median;
      c.add(std::move(rec));
      std::printf("  %-11s %-28s B=%3d %s=%5d  kernels %4d  %9.3f ms  %7.1f GB/s  err %.1e\n", family, s.label.c_str(), s.B,
                  s.prefill ? "P" : "ctx", s.prefill ? s.P : s.ctx, kernels, med * 1e3, t.bytes_read() / med / 1e9, err);
      if (idx % 8 == 0 && c.checkpoint) c.checkpoint();
    }
    if (c.checkpoint) c.checkpoint();
  }
}

}  // namespace kvb
