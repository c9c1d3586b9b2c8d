#include <algorithm>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "layers.cuh"

namespace kvb {
namespace {
__global__ void k_rmsnorm(const __nv_bfloat16* x, const __nv_bfloat16* w, __nv_bfloat16* out, int d, int in_stride, int in_off) {
  const int r = blockIdx.x;
  const __nv_bfloat16* xr = x + (std::size_t(r) * in_stride + in_off) * d;
  __nv_bfloat16* orow = out + std::size_t(r) * d;
  float ss = 0.f;
  for (int i = threadIdx.x * 8; i < d; i += blockDim.x * 8) {
    const uint4 v = *reinterpret_cast<const uint4*>(xr + i);
    const __nv_bfloat162* b = reinterpret_cast<const __nv_bfloat162*>(&v);
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const float2 f = __bfloat1622float2(b[e]);
      ss += f.x * f.x + f.y * f.y;
    }
  }
  __shared__ float red[32];
  for (int o = 16; o; o >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, o);
  if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = ss;
  __syncthreads();
  if (threadIdx.x < 32) {
    float v = threadIdx.x < blockDim.x / 32 ? red[threadIdx.x] : 0.f;
    for (int o = 16; o; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    if (threadIdx.x == 0) red[0] = v;
  }
  __syncthreads();
  const float inv = rsqrtf(red[0] / d + 1e-5f);
  for (int i = threadIdx.x * 8; i < d; i += blockDim.x * 8) {
    const uint4 v = *reinterpret_cast<const uint4*>(xr + i);
    const uint4 wv = *reinterpret_cast<const uint4*>(w + i);
    const __nv_bfloat162* b = reinterpret_cast<const __nv_bfloat162*>(&v);
    const __nv_bfloat162* wb = reinterpret_cast<const __nv_bfloat162*>(&wv);
    uint4 o;
    __nv_bfloat162* ob = reinterpret_cast<__nv_bfloat162*>(&o);
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const float2 f = __bfloat1622float2(b[e]), g = __bfloat1622float2(wb[e]);
      ob[e] = __floats2bfloat162_rn(f.x * inv * g.x, f.y * inv * g.y);
    }
    *reinterpret_cast<uint4*>(orow + i) = o;
  }
}

// One block per token row; threads over (head, pair i < D/2). Llama rotate-half convention.
__global__ void k_rope_append(const __nv_bfloat16* qkv, __nv_bfloat16* q_out, __nv_bfloat16* kc, __nv_bfloat16* vc, int T, int Hq,
                              int Hkv, int D, int S_cap, int past, float theta) {
  const int row = blockIdx.x, b = row / T, t = row % T, pos = past + t;
  const int width = (Hq + (kc ? 2 * Hkv : 0)) * D;
  const __nv_bfloat16* in = qkv + std::size_t(row) * width;
  const int half = D / 2;
  const int n_rot = (Hq + (kc ? Hkv : 0)) * half;
  for (int idx = threadIdx.x; idx < n_rot; idx += blockDim.x) {
    const int head = idx / half, i = idx % half;
    const float inv_freq = powf(theta, -2.0f * i / D);
    float sn, cs;
    sincosf(pos * inv_freq, &sn, &cs);
    const float x0 = __bfloat162float(in[head * D + i]), x1 = __bfloat162float(in[head * D + i + half]);
    const __nv_bfloat16 y0 = __float2bfloat16(x0 * cs - x1 * sn), y1 = __float2bfloat16(x1 * cs + x0 * sn);
    if (head < Hq) {
      __nv_bfloat16* qo = q_out + (std::size_t(row) * Hq + head) * D;
      qo[i] = y0, qo[i + half] = y1;
    } else {
      const int kh = head - Hq;
      __nv_bfloat16* ko = kc + ((std::size_t(b) * Hkv + kh) * S_cap + pos) * D;
      ko[i] = y0, ko[i + half] = y1;
    }
  }
  if (kc) {
    for (int idx = threadIdx.x; idx < Hkv * D; idx += blockDim.x) {
      const int kh = idx / D, i = idx % D;
      vc[((std::size_t(b) * Hkv + kh) * S_cap + pos) * D + i] = in[(Hq + Hkv) * D + idx];
    }
  }
}

__global__ void k_silu_mul(const __nv_bfloat16* gu, __nv_bfloat16* out, int F, std::size_t n8) {
  for (std::size_t c = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; c < n8; c += std::size_t(gridDim.x) * blockDim.x) {
    const std::size_t e = c * 8, r = e / F, col = e % F;
    const uint4 gv = *reinterpret_cast<const uint4*>(gu + r * 2 * F + col);
    const uint4 uv = *reinterpret_cast<const uint4*>(gu + r * 2 * F + F + col);
    const __nv_bfloat162* g2 = reinterpret_cast<const __nv_bfloat162*>(&gv);
    const __nv_bfloat162* u2 = reinterpret_cast<const __nv_bfloat162*>(&uv);
    uint4 o;
    __nv_bfloat162* o2 = reinterpret_cast<__nv_bfloat162*>(&o);
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const float2 g = __bfloat1622float2(g2[k]), u = __bfloat1622float2(u2[k]);
      o2[k] = __floats2bfloat162_rn(g.x / (1.f + __expf(-g.x)) * u.x, g.y / (1.f + __expf(-g.y)) * u.y);
    }
    *reinterpret_cast<uint4*>(out + e) = o;
  }
}

__global__ void k_embed(const int* tokens, const __nv_bfloat16* E, __nv_bfloat16* x, int d) {
  const int r = blockIdx.x;
  const uint4* src = reinterpret_cast<const uint4*>(E + std::size_t(tokens[r]) * d);
  uint4* dst = reinterpret_cast<uint4*>(x + std::size_t(r) * d);
  for (int i = threadIdx.x; i < d / 8; i += blockDim.x) dst[i] = src[i];
}
}  // namespace

void rmsnorm(const void* x, const void* w, void* out, int rows, int d, int in_stride_rows, int in_offset_rows, cudaStream_t s) {
  k_rmsnorm<<<rows, 256, 0, s>>>(static_cast<const __nv_bfloat16*>(x), static_cast<const __nv_bfloat16*>(w),
                                 static_cast<__nv_bfloat16*>(out), d, in_stride_rows, in_offset_rows);
  CK_LAUNCH();
}
void rope_append(const void* qkv, void* q_out, void* kcache, void* vcache, int B, int T, int Hq, int Hkv, int D, int S_cap,
                 int past, float theta, cudaStream_t s) {
  k_rope_append<<<B * T, 256, 0, s>>>(static_cast<const __nv_bfloat16*>(qkv), static_cast<__nv_bfloat16*>(q_out),
                                      static_cast<__nv_bfloat16*>(kcache), static_cast<__nv_bfloat16*>(vcache), T, Hq, Hkv, D,
                                      S_cap, past, theta);
  CK_LAUNCH();
}
void silu_mul(const void* gu, void* out, int rows, int F, cudaStream_t s) {
  const std::size_t n8 = std::size_t(rows) * F / 8;
  const int grid = static_cast<int>(std::min<std::size_t>((n8 + 255) / 256, 132 * 16));
  k_silu_mul<<<grid, 256, 0, s>>>(static_cast<const __nv_bfloat16*>(gu), static_cast<__nv_bfloat16*>(out), F, n8);
  CK_LAUNCH();
}
void embed(const int* tokens, const void* E, void* x, int rows, int d, cudaStream_t s) {
  k_embed<<<rows, 128, 0, s>>>(tokens, static_cast<const __nv_bfloat16*>(E), static_cast<__nv_bfloat16*>(x), d);
  CK_LAUNCH();
}

int check_layers(Ctx& c) {
  int failures = 0;
  auto report = [&](const char* what, double err, double tol) {
    const bool ok = err < tol;
    failures += ok ? 0 : 1;
    std::printf("  check %-32s rel error %.2e %s\n", what, err, ok ? "ok" : "FAILED");
  };
  // RMSNorm with a row mapping (last token of each of 3 sequences of 5 tokens).
  {
    const int d = 2048, seqs = 3, T = 5;
    DevBuf x(std::size_t(2) * seqs * T * d), w(2 * d), o(std::size_t(2) * seqs * d);
    fill_bf16(x.p, seqs * T * d, 61, -2, 2, c.stream), fill_bf16(w.p, d, 62, 0.5f, 1.5f, c.stream);
    rmsnorm(x.p, w.p, o.p, seqs, d, T, T - 1, c.stream);
    CK(cudaStreamSynchronize(c.stream));
    const auto xh = to_host_bf16(x.p, seqs * T * d), wh = to_host_bf16(w.p, d), oh = to_host_bf16(o.p, seqs * d);
    std::vector<double> got(oh.begin(), oh.end()), ref;
    for (int r = 0; r < seqs; ++r) {
      const float* xr = &xh[(std::size_t(r) * T + T - 1) * d];
      double ss = 0;
      for (int i = 0; i < d; ++i) ss += double(xr[i]) * xr[i];
      const double inv = 1.0 / std::sqrt(ss / d + 1e-5);
      for (int i = 0; i < d; ++i) ref.push_back(xr[i] * inv * wh[i]);
    }
    report("rmsnorm", rel_l2_error(got, ref), 1e-2);
  }
  // SiLU * mul.
  {
    const int rows = 3, F = 1024;
    DevBuf gu(std::size_t(4) * rows * F), o(std::size_t(2) * rows * F);
    fill_bf16(gu.p, 2 * rows * F, 63, -4, 4, c.stream);
    silu_mul(gu.p, o.p, rows, F, c.stream);
    CK(cudaStreamSynchronize(c.stream));
    const auto g = to_host_bf16(gu.p, 2 * rows * F), oh = to_host_bf16(o.p, rows * F);
    std::vector<double> got(oh.begin(), oh.end()), ref;
    for (int r = 0; r < rows; ++r)
      for (int i = 0; i < F; ++i) {
        const double a = g[r * 2 * F + i], u = g[r * 2 * F + F + i];
        ref.push_back(a / (1 + std::exp(-a)) * u);
      }
    report("silu_mul", rel_l2_error(got, ref), 1e-2);
  }
  // RoPE + KV append (producer layer) and Q-only (consumer layer).
  for (int producer = 1; producer >= 0; --producer) {
    const int B = 2, T = 3, Hq = 4, Hkv = 2, D = 64, S_cap = 40, past = 30;
    const float theta = 500000.f;
    const int width = (Hq + (producer ? 2 * Hkv : 0)) * D;
    DevBuf qkv(std::size_t(2) * B * T * width), q(std::size_t(2) * B * T * Hq * D), kc(std::size_t(2) * B * Hkv * S_cap * D),
        vc(std::size_t(2) * B * Hkv * S_cap * D);
    fill_bf16(qkv.p, B * T * width, 64, -1, 1, c.stream);
    CK(cudaMemsetAsync(kc.p, 0, kc.bytes, c.stream));
    CK(cudaMemsetAsync(vc.p, 0, vc.bytes, c.stream));
    rope_append(qkv.p, q.p, producer ? kc.p : nullptr, producer ? vc.p : nullptr, B, T, Hq, Hkv, D, S_cap, past, theta, c.stream);
    CK(cudaStreamSynchronize(c.stream));
    const auto in = to_host_bf16(qkv.p, B * T * width), qh = to_host_bf16(q.p, B * T * Hq * D);
    const auto kh = to_host_bf16(kc.p, B * Hkv * S_cap * D), vh = to_host_bf16(vc.p, B * Hkv * S_cap * D);
    std::vector<double> got, ref;
    auto rot = [&](const float* x, int pos, int i) {
      const double f = std::pow(double(theta), -2.0 * i / D), a = pos * f;
      return std::make_pair(x[i] * std::cos(a) - x[i + D / 2] * std::sin(a), x[i + D / 2] * std::cos(a) + x[i] * std::sin(a));
    };
    for (int b = 0; b < B; ++b)
      for (int t = 0; t < T; ++t) {
        const float* row = &in[(std::size_t(b) * T + t) * width];
        const int pos = past + t;
        for (int h = 0; h < Hq; ++h)
          for (int i = 0; i < D / 2; ++i) {
            auto [y0, y1] = rot(row + h * D, pos, i);
            ref.push_back(y0), ref.push_back(y1);
            const float* qo = &qh[((std::size_t(b) * T + t) * Hq + h) * D];
            got.push_back(qo[i]), got.push_back(qo[i + D / 2]);
          }
        if (producer) {
          for (int h = 0; h < Hkv; ++h) {
            const float* ko = &kh[((std::size_t(b) * Hkv + h) * S_cap + pos) * D];
            const float* vo = &vh[((std::size_t(b) * Hkv + h) * S_cap + pos) * D];
            for (int i = 0; i < D / 2; ++i) {
              auto [y0, y1] = rot(row + (Hq + h) * D, pos, i);
              ref.push_back(y0), ref.push_back(y1);
              got.push_back(ko[i]), got.push_back(ko[i + D / 2]);
            }
            for (int i = 0; i < D; ++i) ref.push_back(row[(Hq + Hkv + h) * D + i]), got.push_back(vo[i]);
          }
        }
      }
    report(producer ? "rope + KV append (producer)" : "rope Q-only (consumer)", rel_l2_error(got, ref), 1e-2);
  }
  // Embedding gather.
  {
    const int V = 1000, d = 256, rows = 7;
    DevBuf E(std::size_t(2) * V * d), x(std::size_t(2) * rows * d), tok(4 * rows);
    fill_bf16(E.p, V * d, 65, -1, 1, c.stream);
    fill_i32(tok.as<int>(), rows, 66, V, c.stream);
    embed(tok.as<int>(), E.p, x.p, rows, d, c.stream);
    CK(cudaStreamSynchronize(c.stream));
    std::vector<int> th(rows);
    CK(cudaMemcpy(th.data(), tok.p, 4 * rows, cudaMemcpyDeviceToHost));
    const auto eh = to_host_bf16(E.p, V * d), xh = to_host_bf16(x.p, rows * d);
    std::vector<double> got(xh.begin(), xh.end()), ref;
    for (int r = 0; r < rows; ++r)
      for (int i = 0; i < d; ++i) ref.push_back(eh[std::size_t(th[r]) * d + i]);
    report("embedding gather", rel_l2_error(got, ref), 1e-6);
  }
  return failures;
}

}  // namespace kvb

// ---------------------------------------------------------------- family 5b: elementwise kernels in a graph
// The decode/prefill stack's own small kernels (embedding gather, RMSNorm, RoPE + KV append, SiLU*mul) at
// the row counts of the end-to-end sweep, each as 20 back-to-back launches captured in one CUDA graph: the
// per-kernel time inside a graph (launch gap included) is what the stack pays for them. Buffers are reused,
// as the stack's activations are (written by the previous kernel, so L2-warm where they fit).
namespace kvb {
void run_elementwise(Ctx& c) {
  constexpr int kChain = 20;
  const std::vector<int> rows_list =
      c.opt.quick ? std::vector<int>{1, 128, 2048} : std::vector<int>{1, 8, 32, 128, 512, 2048, 8192};
  struct Shape {
    const char* kernel;
    const char* model;
    int d, F, Hq, Hkv, D;
  };
  const std::vector<Shape> shapes = {
      {"rmsnorm", "llama-3-8b", 4096, 0, 0, 0, 0},     {"rmsnorm", "llama-3.2-1b", 2048, 0, 0, 0, 0},
      {"silu_mul", "llama-3-8b", 0, 14336, 0, 0, 0},   {"silu_mul", "llama-3.2-1b", 0, 8192, 0, 0, 0},
      {"rope_append", "llama-3-8b", 0, 0, 32, 8, 128}, {"rope_append", "llama-3.2-1b", 0, 0, 32, 8, 64},
      {"embed", "llama-3-8b", 4096, 0, 0, 0, 0},       {"embed", "llama-3.2-1b", 2048, 0, 0, 0, 0},
  };
  const int max_rows = *std::max_element(rows_list.begin(), rows_list.end());
  // Largest per-row footprints: SiLU*mul reads 2F and writes F (F = 14336); RoPE reads (Hq + 2 Hkv) D.
  DevBuf in(std::size_t(max_rows) * 2 * 14336 * 2), out(std::size_t(max_rows) * 14336 * 2), w(4096 * 2);
  DevBuf kc(std::size_t(max_rows) * 8 * 128 * 2), vc(std::size_t(max_rows) * 8 * 128 * 2), tok(std::size_t(max_rows) * 4);
  DevBuf emb(std::size_t(1024) * 4096 * 2);
  fill_bf16(in.p, in.bytes / 2, 71, -1, 1, c.stream), fill_bf16(w.p, 4096, 72, 0.5f, 1.5f, c.stream);
  fill_bf16(emb.p, emb.bytes / 2, 73, -1, 1, c.stream);
  {
    std::vector<int> t(max_rows);
    std::mt19937 rng(74);
    for (int& x : t) x = static_cast<int>(rng() % 1024);
    CK(cudaMemcpy(tok.p, t.data(), t.size() * 4, cudaMemcpyHostToDevice));
  }
  CK(cudaStreamSynchronize(c.stream));
  for (const auto& sh : shapes) {
    for (int rows : rows_list) {
      const std::string k = sh.kernel;
      double rd = 0, wr = 0;
      auto launch = [&](cudaStream_t s) {
        if (k == "rmsnorm") rmsnorm(in.p, w.p, out.p, rows, sh.d, 1, 0, s);
        if (k == "silu_mul") silu_mul(in.p, out.p, rows, sh.F, s);
        if (k == "rope_append") rope_append(in.p, out.p, kc.p, vc.p, rows, 1, sh.Hq, sh.Hkv, sh.D, 1, 0, 500000.0f, s);
        if (k == "embed") embed(tok.as<int>(), emb.p, out.p, rows, sh.d, s);
      };
      if (k == "rmsnorm") rd = 2.0 * rows * sh.d + 2.0 * sh.d, wr = 2.0 * rows * sh.d;
      if (k == "silu_mul") rd = 2.0 * rows * 2 * sh.F, wr = 2.0 * rows * sh.F;
      if (k == "rope_append") rd = 2.0 * rows * (sh.Hq + 2 * sh.Hkv) * sh.D, wr = 2.0 * rows * (sh.Hq + 2 * sh.Hkv) * sh.D;
      if (k == "embed") rd = 2.0 * rows * sh.d + 4.0 * rows, wr = 2.0 * rows * sh.d;
      cudaGraph_t g;
      cudaGraphExec_t ge;
      CK(cudaStreamBeginCapture(c.stream, cudaStreamCaptureModeThreadLocal));
      for (int i = 0; i < kChain; ++i) launch(c.stream);
      CK(cudaStreamEndCapture(c.stream, &g));
      CK(cudaGraphInstantiate(&ge, g, 0));
      CK(cudaGraphUpload(ge, c.stream));
      const Measured m = measure(c, [&](int, cudaStream_t s, Marker&) { CK(cudaGraphLaunch(ge, s)); });
      CK(cudaGraphExecDestroy(ge));
      CK(cudaGraphDestroy(g));
      Json axes = Json::object();
      axes.set("kernel", sh.kernel), axes.set("model", sh.model), axes.set("rows", rows), axes.set("kernels", kChain);
      if (sh.d) axes.set("d_model", sh.d);
      if (sh.F) axes.set("ffn_dim", sh.F);
      if (sh.D) axes.set("n_q_heads", sh.Hq), axes.set("n_kv_heads", sh.Hkv), axes.set("head_dim", sh.D);
      // Bytes and samples are for all kChain kernels of the graph.
      Json rec = make_record(c, "elementwise", std::string("graph_") + sh.kernel, std::move(axes), "warm", kChain * rd,
                             kChain * wr, 0, m.samples, m, true, std::numeric_limits<double>::quiet_NaN());
      rec.set("protocol", "20 launches of the kernel captured in one CUDA graph, replayed; median_s is for all 20");
      c.add(std::move(rec));
      const double med = kvbench::summarize(m.samples).median / kChain;
      std::printf("  elementwise %-11s %-12s rows=%5d  %8.2f us/kernel  %7.1f GB/s\n", sh.kernel, sh.model, rows, med * 1e6,
                  (rd + wr) / med / 1e9);
    }
  }
  if (c.checkpoint) c.checkpoint();
}
}  // namespace kvb
