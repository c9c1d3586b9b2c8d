// Family 3 (decode attention), family 4 (cross-layer reuse) and the attention kernels.
//
// Kernel: one CTA per (split or query block, KV head, request); 4 warps (2 at head_dim 256). Each 64-key (32) tile of K and V is
// loaded once (cp.async 16-byte copies, 2 stages in flight) into shared memory and serves all g query heads
// of the group: the g heads (decode) or the g heads x tokens (prefill) form the M rows of tensor-core MMAs
// (mma.sync m16n8k16, bf16; fp16 for fp8-e4m3 KV after an exact e4m3 -> fp16 conversion in shared memory).
// Each warp takes 16 keys of the tile with its own online-softmax state; the 4 warps are combined at the
// end, and split-KV partials (fp32 O, max, sum) are combined by a second kernel.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>

#include "attention.cuh"

namespace kvb {
namespace {

// Pipeline stages: bf16 keeps 2 (3 CTAs per SM at D = 128 keep enough bytes in flight); fp8 tiles are
// half the bytes, so 3 stages with the next-but-one tile issued before the current one is computed.
#ifndef KVBENCH_BF16_STAGES
#define KVBENCH_BF16_STAGES 2
#endif
template <bool FP8>
constexpr int kStages = FP8 ? 3 : KVBENCH_BF16_STAGES;

template <bool FP8>
struct KvTraits;
template <>
struct KvTraits<false> {
  using Store = __nv_bfloat16;
  using Comp = __nv_bfloat16;
  static constexpr int bytes = 2;
};
template <>
struct KvTraits<true> {
  using Store = __nv_fp8_e4m3;
  using Comp = __half;
  static constexpr int bytes = 1;
};

template <int D, bool FP8, int MT>
struct Layout {
  static constexpr int ROWS = 16 * MT;
  // Warps per CTA (each takes 16 keys of a tile): 4, or 2 at head_dim 256 so that two CTAs fit per SM.
  static constexpr int NW = D == 256 ? 2 : 4;
  static constexpr int TK = 16 * NW;                      // keys per tile
  static constexpr int row_B = D * KvTraits<FP8>::bytes;  // one key row in global memory
  static constexpr int pitch = row_B + 16;                // smem pitch (bank stagger, 16 B aligned)
  static constexpr int cpitch = (D + 8) * 2;              // compute-type pitch (Q, fp8 conversion buffers)
  static constexpr int q_B = ROWS * cpitch;
  static constexpr int stage_B = 2 * TK * pitch;  // K and V
  static constexpr int conv_B = FP8 ? NW * 2 * 16 * cpitch : 0;
  static constexpr int NS = kStages<FP8>;
  static constexpr int main_B = q_B + NS * stage_B + conv_B;
  static constexpr int comb_B = q_B + NW * ROWS * D * 4 + 2 * NW * ROWS * 4;
  static constexpr int smem_B = main_B > comb_B ? main_B : comb_B;
};

__device__ __forceinline__ unsigned smem_u32(const void* p) {
  return static_cast<unsigned>(__cvta_generic_to_shared(p));
}

// hint: 0 none, 1 L2::128B prefetch, 2 L2::256B prefetch.
__device__ __forceinline__ void cp_async16(void* dst, const void* src, bool valid, int hint) {
  if (hint == 1) {
    asm volatile("cp.async.cg.shared.global.L2::128B [%0], [%1], 16, %2;\n" ::"r"(smem_u32(dst)), "l"(src), "r"(valid ? 16 : 0));
  } else if (hint == 2) {
    asm volatile("cp.async.cg.shared.global.L2::256B [%0], [%1], 16, %2;\n" ::"r"(smem_u32(dst)), "l"(src), "r"(valid ? 16 : 0));
  } else {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_u32(dst)), "l"(src), "r"(valid ? 16 : 0));
  }
}
__device__ __forceinline__ void cp_commit() {
  asm volatile("cp.async.commit_group;\n" ::);
}
template <int N>
__device__ __forceinline__ void cp_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

__device__ __forceinline__ void ldsm_x4(unsigned& r0, unsigned& r1, unsigned& r2, unsigned& r3, const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
               : "r"(smem_u32(p)));
}
__device__ __forceinline__ void ldsm_x4_t(unsigned& r0, unsigned& r1, unsigned& r2, unsigned& r3, const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
               : "r"(smem_u32(p)));
}

template <bool FP16>
__device__ __forceinline__ void mma(float* c, const unsigned* a, unsigned b0, unsigned b1) {
  if constexpr (FP16) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  } else {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
}

template <bool FP16>
__device__ __forceinline__ unsigned pack2(float lo, float hi) {
  if constexpr (FP16) {
    __half2 h = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<unsigned*>(&h);
  } else {
    __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<unsigned*>(&h);
  }
}

// Query row r of this CTA -> (token, q head), or valid = false.
struct RowMap {
  int tok, head;
  bool valid;
};
__device__ __forceinline__ RowMap map_row(const AttnParams& p, int r, int ROWS) {
  RowMap m;
  if (!p.causal) {
    m.tok = 0;
    m.head = blockIdx.y * p.g + r;
    m.valid = r < p.g;
  } else {
    const int tok_per_block = ROWS / p.g;
    m.tok = blockIdx.x * tok_per_block + r / p.g;
    m.head = blockIdx.y * p.g + r % p.g;
    m.valid = m.tok < p.T;
  }
  return m;
}

template <int D, bool FP8, int MT, bool RO>
__global__ void __launch_bounds__(Layout<D, FP8, MT>::NW * 32) k_attn(const AttnParams p) {
  using L = Layout<D, FP8, MT>;
  constexpr int NW = L::NW, TK = L::TK;
  using Store = typename KvTraits<FP8>::Store;
  using Comp = typename KvTraits<FP8>::Comp;
  constexpr int ROWS = L::ROWS;
  constexpr int CH = L::row_B / 16;  // 16-byte chunks per key row
  extern __shared__ __align__(128) unsigned char smem[];
  unsigned char* q_s = smem;
  unsigned char* stage = smem + L::q_B;
  constexpr int NS = L::NS;
  unsigned char* conv = stage + NS * L::stage_B;

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int b = blockIdx.z, h = blockIdx.y;
  const std::size_t head_off = (std::size_t(b) * p.Hkv + h) * std::size_t(p.S_cap) * L::row_B;
  const unsigned char* kg = static_cast<const unsigned char*>(p.k) + head_off;
  const unsigned char* vg = static_cast<const unsigned char*>(p.v) + head_off;

  // Key range of this CTA.
  int kv_begin = 0, kv_end = p.kv_len;
  if (!p.causal) {
    kv_begin = blockIdx.x * p.keys_per_split;
    kv_end = min(p.kv_len, kv_begin + p.keys_per_split);
  } else {
    const int last_tok = min(p.T - 1, (int(blockIdx.x) + 1) * (ROWS / p.g) - 1);
    kv_end = min(p.kv_len, p.past + last_tok + 1);
  }
  const int n_tiles = (kv_end - kv_begin + TK - 1) / TK;

  auto load_tile = [&](int t) {
    unsigned char* ks = stage + (t % NS) * L::stage_B;
    unsigned char* vs = ks + TK * L::pitch;
    const int k0 = kv_begin + t * TK;
    for (int c = tid; c < TK * CH; c += NW * 32) {
      const int row = c / CH, col = c % CH;
      const bool valid = k0 + row < kv_end;
      const std::size_t off = valid ? std::size_t(k0 + row) * L::row_B + col * 16 : 0;
      cp_async16(ks + row * L::pitch + col * 16, kg + off, valid, p.cp_hint);
      cp_async16(vs + row * L::pitch + col * 16, vg + off, valid, p.cp_hint);
    }
  };
  if (n_tiles > 0) load_tile(0);
  cp_commit();
  if (n_tiles > 1) load_tile(1);
  cp_commit();

  if constexpr (RO) {
    unsigned acc = 0;
    for (int t = 0; t < n_tiles; ++t) {
      cp_wait<1>();
      __syncthreads();
      if constexpr (NS == 3) {
        if (t + 2 < n_tiles) load_tile(t + 2);
        cp_commit();
      }
      const unsigned char* ks = stage + (t % NS) * L::stage_B;
      for (int c = tid; c < 2 * TK * CH; c += NW * 32)
        acc ^= *reinterpret_cast<const unsigned*>(ks + (c / CH) * L::pitch + (c % CH) * 16);
      if constexpr (NS == 2) {
        __syncthreads();
        if (t + 2 < n_tiles) load_tile(t + 2);
        cp_commit();
      }
    }
    cp_wait<0>();
    for (int o = 16; o; o >>= 1) acc ^= __shfl_xor_sync(0xffffffffu, acc, o);
    if (lane == 0) atomicXor(p.checksum + ((std::size_t(b) * p.Hkv + h) * gridDim.x + blockIdx.x), acc);
    return;
  } else {
    // Q rows -> shared memory in the compute type (zeros for padding rows).
    const __nv_bfloat16* qg = static_cast<const __nv_bfloat16*>(p.q);
    for (int c = tid; c < ROWS * (D / 8); c += NW * 32) {
      const int r = c / (D / 8), col = c % (D / 8);
      const RowMap rm = map_row(p, r, ROWS);
      uint4 val = make_uint4(0, 0, 0, 0);
      if (rm.valid) {
        val = *reinterpret_cast<const uint4*>(qg + ((std::size_t(b) * p.T + rm.tok) * p.Hq + rm.head) * D + col * 8);
        if constexpr (FP8) {
          const __nv_bfloat162* bb = reinterpret_cast<const __nv_bfloat162*>(&val);
          uint4 hv;
          __half2* hh = reinterpret_cast<__half2*>(&hv);
#pragma unroll
          for (int e = 0; e < 4; ++e) hh[e] = __float22half2_rn(__bfloat1622float2(bb[e]));
          val = hv;
        }
      }
      *reinterpret_cast<uint4*>(q_s + r * L::cpitch + col * 16) = val;
    }

    const int gid = lane >> 2, tig = lane & 3;
    // Per-thread rows: for m-tile mt, rows mt*16 + gid and mt*16 + gid + 8.
    int limit[MT][2];
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
      for (int hf = 0; hf < 2; ++hf) {
        const int r = mt * 16 + gid + hf * 8;
        const RowMap rm = map_row(p, r, ROWS);
        limit[mt][hf] = !rm.valid ? 0 : (p.causal ? min(kv_end, p.past + rm.tok + 1) : kv_end);
      }
    float o_acc[MT][D / 8][4];
    float m_run[MT][2], l_run[MT][2];
#pragma unroll
    for (int mt = 0; mt < MT; ++mt) {
#pragma unroll
      for (int n = 0; n < D / 8; ++n) o_acc[mt][n][0] = o_acc[mt][n][1] = o_acc[mt][n][2] = o_acc[mt][n][3] = 0.f;
      m_run[mt][0] = m_run[mt][1] = -1e30f;
      l_run[mt][0] = l_run[mt][1] = 0.f;
    }

    for (int t = 0; t < n_tiles; ++t) {
      cp_wait<1>();
      __syncthreads();
      if constexpr (NS == 3) {  // stage (t+2) % 3 was consumed in iteration t-1: free after the barrier
        if (t + 2 < n_tiles) load_tile(t + 2);
        cp_commit();
      }
      const int key0 = kv_begin + t * TK + warp * 16;  // this warp's 16 keys
      const unsigned char* ks = stage + (t % NS) * L::stage_B + warp * 16 * L::pitch;
      const unsigned char* vs = ks + TK * L::pitch;
      int kpitch = L::pitch;
      bool any = false;
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) any = any || limit[mt][0] > key0 || limit[mt][1] > key0;
      any = __any_sync(0xffffffffu, any);
      if (any) {
        if constexpr (FP8) {
          // Exact e4m3 -> fp16 conversion of this warp's 16 K and V rows into its own buffer.
          unsigned char* kc = conv + warp * 2 * 16 * L::cpitch;
          unsigned char* vc = kc + 16 * L::cpitch;
          for (int c = lane; c < 2 * 16 * CH; c += 32) {
            const int mat = c / (16 * CH), rem = c % (16 * CH), row = rem / CH, col = rem % CH;
            const uint4 raw = *reinterpret_cast<const uint4*>((mat ? vs : ks) + row * L::pitch + col * 16);
            const unsigned w[4] = {raw.x, raw.y, raw.z, raw.w};
            uint4 out[2];
            unsigned* ow = reinterpret_cast<unsigned*>(out);
#pragma unroll
            for (int e = 0; e < 8; ++e) {
              const unsigned short pair = static_cast<unsigned short>(w[e / 2] >> (16 * (e % 2)));
              const __half2_raw hr = __nv_cvt_fp8x2_to_halfraw2(static_cast<__nv_fp8x2_storage_t>(pair), __NV_E4M3);
              ow[e] = static_cast<unsigned>(hr.x) | (static_cast<unsigned>(hr.y) << 16);
            }
            unsigned char* dst = (mat ? vc : kc) + row * L::cpitch + col * 32;
            reinterpret_cast<uint4*>(dst)[0] = out[0];
            reinterpret_cast<uint4*>(dst)[1] = out[1];
          }
          __syncwarp();
          ks = kc, vs = vc, kpitch = L::cpitch;
        }
        // S = Q K^T for 16 keys: s[mt][nt][4].
        float s[MT][2][4];
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
#pragma unroll
          for (int nt = 0; nt < 2; ++nt) s[mt][nt][0] = s[mt][nt][1] = s[mt][nt][2] = s[mt][nt][3] = 0.f;
#pragma unroll
        for (int kk = 0; kk < D / 16; ++kk) {
          unsigned bk[4];
          {
            const int j = lane >> 3, r = lane & 7;
            ldsm_x4(bk[0], bk[1], bk[2], bk[3], ks + ((j >> 1) * 8 + r) * kpitch + (kk * 16 + (j & 1) * 8) * 2);
          }
#pragma unroll
          for (int mt = 0; mt < MT; ++mt) {
            unsigned a[4];
            ldsm_x4(a[0], a[1], a[2], a[3], q_s + (mt * 16 + (lane & 15)) * L::cpitch + (kk * 16 + (lane >> 4) * 8) * 2);
            mma<FP8>(s[mt][0], a, bk[0], bk[1]);
            mma<FP8>(s[mt][1], a, bk[2], bk[3]);
          }
        }
        // Online softmax (log2 domain).
        unsigned pa[MT][4];
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
#pragma unroll
          for (int hf = 0; hf < 2; ++hf) {
            float mx = -INFINITY;
#pragma unroll
            for (int nt = 0; nt < 2; ++nt)
#pragma unroll
              for (int e = 0; e < 2; ++e) {
                const int key = key0 + nt * 8 + tig * 2 + e;
                float& x = s[mt][nt][hf * 2 + e];
                x = key < limit[mt][hf] ? x * p.scale_log2 : -INFINITY;
                mx = fmaxf(mx, x);
              }
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
            const float m_new = fmaxf(m_run[mt][hf], mx);
            const float alpha = exp2f(m_run[mt][hf] - m_new);
            m_run[mt][hf] = m_new;
            float sum = 0.f;
#pragma unroll
            for (int nt = 0; nt < 2; ++nt)
#pragma unroll
              for (int e = 0; e < 2; ++e) {
                float& x = s[mt][nt][hf * 2 + e];
                x = exp2f(x - m_new);
                sum += x;
              }
            l_run[mt][hf] = l_run[mt][hf] * alpha + sum;
#pragma unroll
            for (int n = 0; n < D / 8; ++n) o_acc[mt][n][hf * 2] *= alpha, o_acc[mt][n][hf * 2 + 1] *= alpha;
          }
          pa[mt][0] = pack2<FP8>(s[mt][0][0], s[mt][0][1]);
          pa[mt][1] = pack2<FP8>(s[mt][0][2], s[mt][0][3]);
          pa[mt][2] = pack2<FP8>(s[mt][1][0], s[mt][1][1]);
          pa[mt][3] = pack2<FP8>(s[mt][1][2], s[mt][1][3]);
        }
        // O += P V.
#pragma unroll
        for (int dn = 0; dn < D / 16; ++dn) {
          unsigned bv[4];
          {
            const int j = lane >> 3, r = lane & 7;
            ldsm_x4_t(bv[0], bv[1], bv[2], bv[3], vs + ((j & 1) * 8 + r) * kpitch + (dn * 16 + (j >> 1) * 8) * 2);
          }
#pragma unroll
          for (int mt = 0; mt < MT; ++mt) {
            mma<FP8>(o_acc[mt][2 * dn], pa[mt], bv[0], bv[1]);
            mma<FP8>(o_acc[mt][2 * dn + 1], pa[mt], bv[2], bv[3]);
          }
        }
      }
      if constexpr (NS == 2) {
        __syncthreads();
        if (t + 2 < n_tiles) load_tile(t + 2);
        cp_commit();
      }
    }
    cp_wait<0>();
    __syncthreads();

    // Combine the 4 warps: per-warp (m, l) then rescaled O summed through shared memory.
    float* o_s = reinterpret_cast<float*>(stage);  // [NW][ROWS][D]
    float* ml_s = o_s + NW * ROWS * D;             // [NW][ROWS][2]
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
      for (int hf = 0; hf < 2; ++hf) {
        float l = l_run[mt][hf];
        l += __shfl_xor_sync(0xffffffffu, l, 1);
        l += __shfl_xor_sync(0xffffffffu, l, 2);
        l_run[mt][hf] = l;
        if (tig == 0) {
          const int r = mt * 16 + gid + hf * 8;
          ml_s[(warp * ROWS + r) * 2] = m_run[mt][hf];
          ml_s[(warp * ROWS + r) * 2 + 1] = l;
        }
      }
    __syncthreads();
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
      for (int hf = 0; hf < 2; ++hf) {
        const int r = mt * 16 + gid + hf * 8;
        float M = -1e30f;
#pragma unroll
        for (int w = 0; w < NW; ++w) M = fmaxf(M, ml_s[(w * ROWS + r) * 2]);
        const float f = exp2f(m_run[mt][hf] - M);
#pragma unroll
        for (int n = 0; n < D / 8; ++n) {
          float2 v2 = make_float2(o_acc[mt][n][hf * 2] * f, o_acc[mt][n][hf * 2 + 1] * f);
          *reinterpret_cast<float2*>(o_s + (warp * ROWS + r) * D + n * 8 + tig * 2) = v2;
        }
      }
    __syncthreads();
    __nv_bfloat16* og = static_cast<__nv_bfloat16*>(p.o);
    for (int c = tid; c < ROWS * D / 2; c += NW * 32) {
      const int r = c / (D / 2), d2 = (c % (D / 2)) * 2;
      const RowMap rm = map_row(p, r, ROWS);
      if (!rm.valid) continue;
      float M = -1e30f;
#pragma unroll
      for (int w = 0; w < NW; ++w) M = fmaxf(M, ml_s[(w * ROWS + r) * 2]);
      float Lsum = 0.f, o0 = 0.f, o1 = 0.f;
#pragma unroll
      for (int w = 0; w < NW; ++w) {
        Lsum += ml_s[(w * ROWS + r) * 2 + 1] * exp2f(ml_s[(w * ROWS + r) * 2] - M);
        const float2 v2 = *reinterpret_cast<const float2*>(o_s + (w * ROWS + r) * D + d2);
        o0 += v2.x, o1 += v2.y;
      }
      if (!p.causal && p.splits > 1) {
        const std::size_t base = (std::size_t(b) * p.Hq + rm.head) * p.splits + blockIdx.x;
        *reinterpret_cast<float2*>(p.part_o + base * D + d2) = make_float2(o0, o1);
        if (d2 == 0) p.part_ml[base * 2] = M, p.part_ml[base * 2 + 1] = Lsum;
      } else {
        const float inv = Lsum > 0.f ? p.v_scale / Lsum : 0.f;
        *reinterpret_cast<__nv_bfloat162*>(og + ((std::size_t(b) * p.T + rm.tok) * p.Hq + rm.head) * D + d2) =
            __floats2bfloat162_rn(o0 * inv, o1 * inv);
      }
    }
  }
}

// Combine split-KV partials: one CTA per (b, q head).
__global__ void k_combine(const AttnParams p) {
  const int bh = blockIdx.x;  // b * Hq + head
  const float* ml = p.part_ml + std::size_t(bh) * p.splits * 2;
  const float* po = p.part_o + std::size_t(bh) * p.splits * p.D;
  float M = -1e30f;
  for (int s = 0; s < p.splits; ++s) M = fmaxf(M, ml[2 * s]);
  float L = 0.f;
  for (int s = 0; s < p.splits; ++s) L += ml[2 * s + 1] * exp2f(ml[2 * s] - M);
  const float inv = L > 0.f ? p.v_scale / L : 0.f;
  __nv_bfloat16* og = static_cast<__nv_bfloat16*>(p.o) + std::size_t(bh) * p.D;
  for (int d = threadIdx.x; d < p.D; d += blockDim.x) {
    float acc = 0.f;
    for (int s = 0; s < p.splits; ++s) acc += po[std::size_t(s) * p.D + d] * exp2f(ml[2 * s] - M);
    og[d] = __float2bfloat16(acc * inv);
  }
}

template <int D, bool FP8, int MT, bool RO>
void launch_t(const AttnParams& p, cudaStream_t s, dim3 grid) {
  using L = Layout<D, FP8, MT>;
  static bool attr = false;
  if (!attr) {
    CK(cudaFuncSetAttribute(k_attn<D, FP8, MT, RO>, cudaFuncAttributeMaxDynamicSharedMemorySize, L::smem_B));
    attr = true;
  }
  k_attn<D, FP8, MT, RO><<<grid, L::NW * 32, L::smem_B, s>>>(p);
  CK_LAUNCH();
}

template <int D, bool FP8, int MT, bool RO>
int occupancy_t() {
  using L = Layout<D, FP8, MT>;
  CK(cudaFuncSetAttribute(k_attn<D, FP8, MT, RO>, cudaFuncAttributeMaxDynamicSharedMemorySize, L::smem_B));
  int n = 0;
  CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&n, k_attn<D, FP8, MT, RO>, L::NW * 32, L::smem_B));
  return n;
}

template <bool FP8, int MT, bool RO>
bool dispatch_d(int D, const AttnParams* p, cudaStream_t s, dim3 grid, int* occ, int* smem) {
  switch (D) {
    case 64:
      if (p) launch_t<64, FP8, MT, RO>(*p, s, grid);
      if (occ) *occ = occupancy_t<64, FP8, MT, RO>(), *smem = Layout<64, FP8, MT>::smem_B;
      return true;
    case 128:
      if (p) launch_t<128, FP8, MT, RO>(*p, s, grid);
      if (occ) *occ = occupancy_t<128, FP8, MT, RO>(), *smem = Layout<128, FP8, MT>::smem_B;
      return true;
    case 256:
      if constexpr (MT == 1) {
        if (p) launch_t<256, FP8, MT, RO>(*p, s, grid);
        if (occ) *occ = occupancy_t<256, FP8, MT, RO>(), *smem = Layout<256, FP8, MT>::smem_B;
        return true;
      }
      return false;
    default:
      return false;
  }
}

bool dispatch(int D, bool fp8, int mt, bool ro, const AttnParams* p, cudaStream_t s, dim3 grid, int* occ, int* smem) {
  if (ro) return fp8 ? dispatch_d<true, 1, true>(D, p, s, grid, occ, smem) : dispatch_d<false, 1, true>(D, p, s, grid, occ, smem);
  if (mt == 1)
    return fp8 ? dispatch_d<true, 1, false>(D, p, s, grid, occ, smem) : dispatch_d<false, 1, false>(D, p, s, grid, occ, smem);
  return fp8 ? dispatch_d<true, 2, false>(D, p, s, grid, occ, smem) : dispatch_d<false, 2, false>(D, p, s, grid, occ, smem);
}

int choose_mt(int D, int g, bool prefill) {
  if (g > 16) return 2;
  return (prefill && D <= 128) ? 2 : 1;
}
}  // namespace

AttnKernelInfo attn_kernel_info(int D, bool fp8, int g, bool prefill, bool read_only) {
  AttnKernelInfo k;
  if (D != 64 && D != 128 && D != 256) {
    k.why = "head_dim " + std::to_string(D) + " not supported (64, 128, 256)";
    return k;
  }
  if (g < 1 || g > 32 || (g & (g - 1))) {
    k.why = "group size " + std::to_string(g) + " not supported (powers of 2 up to 32)";
    return k;
  }
  k.mt = read_only ? 1 : choose_mt(D, g, prefill);
  if (D == 256 && k.mt == 2) {
    k.why = "head_dim 256 with group size > 16 not supported (register budget)";
    return k;
  }
  if (!dispatch(D, fp8, k.mt, read_only, nullptr, nullptr, dim3(), &k.ctas_per_sm, &k.smem_B)) {
    k.why = "no kernel instance";
    return k;
  }
  k.supported = true;
  return k;
}

void plan_splits(AttnParams& p, int requested) {
  requested = std::max(1, std::min(requested, (p.kv_len + kAttnTileKeys - 1) / kAttnTileKeys));
  const int per = (p.kv_len + requested - 1) / requested;
  p.keys_per_split = (per + kAttnTileKeys - 1) / kAttnTileKeys * kAttnTileKeys;
  p.splits = (p.kv_len + p.keys_per_split - 1) / p.keys_per_split;
}

int attn_cp_hint() {
  static const int hint = [] {
    const char* e = std::getenv("KVBENCH_CP_HINT");
    if (!e) return kDefaultCpHint;
    const std::string v = e;
    return v == "256" ? 2 : v == "128" ? 1 : 0;
  }();
  return hint;
}

int split_ctas_per_sm(int occupancy) {
  const char* e = std::getenv("KVBENCH_SPLIT_CTAS_PER_SM");
  const int v = e ? std::atoi(e) : 0;
  return v > 0 ? v : occupancy;
}

int launch_attention(const AttnParams& p_in, bool fp8, bool read_only, cudaStream_t s) {
  AttnParams p = p_in;
  p.cp_hint = attn_cp_hint();
  const bool prefill = p.causal != 0;
  const int mt = read_only ? 1 : choose_mt(p.D, p.g, prefill);
  dim3 grid;
  if (prefill) {
    const int rows = 16 * mt, tok_per_block = rows / p.g;
    grid = dim3((p.T + tok_per_block - 1) / tok_per_block, p.Hkv, p.B);
  } else {
    grid = dim3(p.splits, p.Hkv, p.B);
  }
  if (!dispatch(p.D, fp8, mt, read_only, &p, s, grid, nullptr, nullptr))
    fail("unsupported attention configuration", __FILE__, __LINE__);
  if (!prefill && !read_only && p.splits > 1) {
    k_combine<<<p.B * p.Hq, 128, 0, s>>>(p);
    CK_LAUNCH();
    return 2;
  }
  return 1;
}

// ---------------------------------------------------------------- host reference
namespace {
struct HostKV {
  std::vector<float> k, v;  // [kv_len][D] of one (b, h)
};
HostKV fetch_kv(const AttnParams& p, bool fp8, int b, int h, int n_keys) {
  HostKV r;
  const int eb = fp8 ? 1 : 2;
  const std::size_t off = (std::size_t(b) * p.Hkv + h) * std::size_t(p.S_cap) * p.D * eb;
  const std::size_t n = std::size_t(n_keys) * p.D;
  std::vector<unsigned char> kr(n * eb), vr(n * eb);
  CK(cudaMemcpy(kr.data(), static_cast<const char*>(p.k) + off, n * eb, cudaMemcpyDeviceToHost));
  CK(cudaMemcpy(vr.data(), static_cast<const char*>(p.v) + off, n * eb, cudaMemcpyDeviceToHost));
  r.k.resize(n), r.v.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (fp8) {
      r.k[i] = fp8_to_float_host(kr[i]), r.v[i] = fp8_to_float_host(vr[i]);
    } else {
      std::uint16_t a, c;
      std::memcpy(&a, &kr[2 * i], 2), std::memcpy(&c, &vr[2 * i], 2);
      r.k[i] = bf16_to_float_host(a), r.v[i] = bf16_to_float_host(c);
    }
  }
  return r;
}
// fp64 softmax(q k^T * scale) v over keys [0, n_keys).
void ref_row(const float* q, const HostKV& kv, int n_keys, int D, double scale, double v_scale, std::vector<double>& out) {
  std::vector<double> s(n_keys);
  double mx = -1e300;
  for (int j = 0; j < n_keys; ++j) {
    double a = 0;
    for (int d = 0; d < D; ++d) a += double(q[d]) * kv.k[std::size_t(j) * D + d];
    s[j] = a * scale;
    mx = std::max(mx, s[j]);
  }
  double l = 0;
  for (int j = 0; j < n_keys; ++j) s[j] = std::exp(s[j] - mx), l += s[j];
  for (int d = 0; d < D; ++d) {
    double a = 0;
    for (int j = 0; j < n_keys; ++j) a += s[j] * kv.v[std::size_t(j) * D + d];
    out.push_back(a / l * v_scale);
  }
}
}  // namespace

// Verifies the output of the last launch for up to n_groups (b, h) groups and up to max_heads heads each.
double verify_attention(const AttnParams& p, bool fp8, int n_groups, int max_heads, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<double> got, ref;
  const double scale = p.scale_log2 / 1.4426950408889634;  // natural-log scale
  for (int gi = 0; gi < n_groups; ++gi) {
    const int b = gi == 0 ? 0 : static_cast<int>(rng() % p.B);
    const int h = gi == 0 ? p.Hkv - 1 : static_cast<int>(rng() % p.Hkv);
    const HostKV kv = fetch_kv(p, fp8, b, h, p.kv_len);
    const int toks = p.causal ? p.T : 1;
    for (int tk = 0; tk < toks; tk += p.causal ? std::max(1, toks / 5) : 1) {
      const int t = p.causal ? (tk == 0 ? toks - 1 : tk) : 0;
      for (int r = 0; r < std::min(p.g, max_heads); ++r) {
        const int head = h * p.g + (r == 0 ? 0 : static_cast<int>(rng() % p.g));
        const std::size_t row = (std::size_t(b) * p.T + t) * p.Hq + head;
        const auto q = to_host_bf16(static_cast<const char*>(p.q) + row * p.D * 2, p.D);
        const auto o = to_host_bf16(static_cast<const char*>(p.o) + row * p.D * 2, p.D);
        const int n_keys = p.causal ? p.past + t + 1 : p.kv_len;
        ref_row(q.data(), kv, n_keys, p.D, scale, p.v_scale, ref);
        got.insert(got.end(), o.begin(), o.end());
      }
    }
  }
  return rel_l2_error(got, ref);
}

// ---------------------------------------------------------------- checks
int check_attention(Ctx& c) {
  struct Case {
    int B, T, Hkv, g, D, S, splits;
    bool fp8, causal;
  };
  const std::vector<Case> cases = {
      {2, 1, 2, 4, 128, 1000, 1, false, false}, {2, 1, 2, 4, 128, 1000, 5, false, false},
      {1, 1, 8, 1, 128, 777, 3, false, false},  {3, 1, 1, 32, 128, 300, 2, false, false},
      {2, 1, 2, 8, 64, 513, 4, false, false},   {1, 1, 2, 2, 256, 1100, 3, false, false},
      {2, 1, 2, 4, 128, 1000, 5, true, false},  {1, 1, 1, 32, 64, 640, 2, true, false},
      {1, 1, 4, 16, 128, 65, 1, false, false},  {2, 100, 2, 4, 128, 100, 1, false, true},
      {1, 77, 4, 1, 64, 77, 1, false, true},    {1, 40, 1, 32, 128, 40, 1, false, true},
      {1, 130, 2, 2, 256, 130, 1, false, true},
  };
  int failures = 0;
  for (const auto& cs : cases) {
    AttnParams p;
    p.B = cs.B, p.T = cs.T, p.Hkv = cs.Hkv, p.g = cs.g, p.Hq = cs.Hkv * cs.g, p.D = cs.D, p.S_cap = cs.S + 3, p.kv_len = cs.S;
    p.causal = cs.causal;
    p.scale_log2 = float(1.4426950408889634 / std::sqrt(double(cs.D)));
    const std::size_t kv_n = std::size_t(p.B) * p.Hkv * p.S_cap * p.D, q_n = std::size_t(p.B) * p.T * p.Hq * p.D;
    DevBuf K(kv_n * 2), V(kv_n * 2), Q(q_n * 2), O(q_n * 2);
    if (cs.fp8) {
      fill_fp8(K.p, kv_n, 31, -2, 2, c.stream), fill_fp8(V.p, kv_n, 32, -2, 2, c.stream);
    } else {
      fill_bf16(K.p, kv_n, 31, -2, 2, c.stream), fill_bf16(V.p, kv_n, 32, -2, 2, c.stream);
    }
    fill_bf16(Q.p, q_n, 33, -1, 1, c.stream);
    CK(cudaMemsetAsync(O.p, 0xff, O.bytes, c.stream));  // poison: NaN bf16
    p.k = K.p, p.v = V.p, p.q = Q.p, p.o = O.p;
    DevBuf PO, PML;
    if (!cs.causal) {
      plan_splits(p, cs.splits);
      PO = DevBuf(std::size_t(p.B) * p.Hq * p.splits * p.D * 4);
      PML = DevBuf(std::size_t(p.B) * p.Hq * p.splits * 2 * 4);
      p.part_o = PO.as<float>(), p.part_ml = PML.as<float>();
    }
    launch_attention(p, cs.fp8, false, c.stream);
    CK(cudaStreamSynchronize(c.stream));
    const double err = verify_attention(p, cs.fp8, 2, 32, 99);
    // Every output written (no NaN poison left).
    const auto all = to_host_bf16(O.p, q_n);
    bool written = true;
    for (float x : all) written = written && std::isfinite(x);
    const bool ok = err < 2e-2 && written;
    failures += ok ? 0 : 1;
    std::printf("  check attention B=%d T=%d Hkv=%d g=%d D=%d S=%d splits=%d %s %s: rel error %.2e%s %s\n", cs.B, cs.T, cs.Hkv,
                cs.g, cs.D, cs.S, p.splits, cs.fp8 ? "fp8" : "bf16", cs.causal ? "causal" : "decode", err,
                written ? "" : " (unwritten outputs)", ok ? "ok" : "FAILED");
  }
  return failures;
}

// ---------------------------------------------------------------- family 3
void run_attention(Ctx& c) {
  struct Cfg {
    int B, S, Hkv, g, D;
    bool fp8;
    std::string variant;
  };
  std::vector<kvbench::Axis> axes_def;
  std::vector<Cfg> cfgs;
  const std::vector<int> Bs = c.opt.quick ? std::vector<int>{1, 16} : std::vector<int>{1, 4, 16, 64};
  const std::vector<int> Ss = c.opt.quick ? std::vector<int>{2048, 32768} : std::vector<int>{512, 2048, 8192, 32768};
  const std::vector<std::pair<int, int>> heads =
      c.opt.quick ? std::vector<std::pair<int, int>>{{8, 4}, {32, 1}}
                  : std::vector<std::pair<int, int>>{{1, 1}, {1, 4}, {1, 8}, {1, 32}, {8, 1}, {8, 4}, {8, 8}, {32, 1}};
  auto in = [](int hkv, int g, std::initializer_list<std::pair<int, int>> l) {
    for (auto [a, b] : l)
      if (a == hkv && b == g) return true;
    return false;
  };
  for (int B : Bs)
    for (int S : Ss)
      for (auto [hkv, g] : heads) {
        cfgs.push_back({B, S, hkv, g, 128, false, "full"});
        if (!c.opt.quick && in(hkv, g, {{8, 4}, {32, 1}, {1, 32}})) cfgs.push_back({B, S, hkv, g, 64, false, "full"});
        if (in(hkv, g, {{8, 4}, {8, 8}, {32, 1}, {1, 8}})) cfgs.push_back({B, S, hkv, g, 128, true, "full"});
        if (hkv == 8 && g == 4) {
          cfgs.push_back({B, S, hkv, g, 128, false, "kv_read_only"});
          if (!c.opt.quick) cfgs.push_back({B, S, hkv, g, 256, false, "full"});
        }
      }
  const double kv_budget = std::min(16e9, double(c.dev.mem_total_B) * 0.3);
  // Arena for K and V (+ rotation sets); sized to the largest config within budget.
  DevBuf arena(static_cast<std::size_t>(std::max(kv_budget, 5.0 * c.dev.l2_B * 1.5)) + (64 << 20));
  const int maxBH = 64 * 32 * 32;
  DevBuf Q(std::size_t(maxBH) * 256 * 2), O(std::size_t(maxBH) * 256 * 2);
  DevBuf PO(std::size_t(64) << 20), PML(std::size_t(4) << 20), CS(std::size_t(4) << 20);
  fill_bf16(Q.p, Q.bytes / 2, 41, -1, 1, c.stream);
  kvbench::StopRule rule = c.rule;
  rule.max_samples = c.opt.quick ? 100 : 200;
  rule.max_time_s = c.opt.quick ? 0.05 : 0.15;
  int idx = 0;
  for (const auto& cf : cfgs) {
    ++idx;
    const bool ro = cf.variant == "kv_read_only";
    kvbench::AttnShape sh{cf.B, cf.S, cf.Hkv, cf.g, cf.D, cf.fp8 ? 1.0 : 2.0, 1};
    Json axes = Json::object();
    axes.set("batch", cf.B), axes.set("kv_len", cf.S), axes.set("n_kv_heads", cf.Hkv), axes.set("group_size", cf.g);
    axes.set("head_dim", cf.D), axes.set("kv_dtype", cf.fp8 ? "fp8" : "bf16"), axes.set("variant", cf.variant);
    const double kvb = kvbench::kv_bytes(sh);
    const AttnKernelInfo ki = attn_kernel_info(cf.D, cf.fp8, cf.g, false, ro);
    if (!ki.supported) {
      c.skip("attention", axes, ki.why);
      continue;
    }
    if (kvb > kv_budget) {
      c.skip("attention", axes,
             "KV bytes per launch " + std::to_string(kvb / 1e9) + " GB above the sweep's budget " +
                 std::to_string(kv_budget / 1e9) + " GB");
      continue;
    }
    if (std::size_t(cf.B) * cf.Hkv * cf.g > std::size_t(maxBH)) {
      c.skip("attention", axes, "B x H_q above the sweep's query buffer");
      continue;
    }
    const int R = static_cast<int>(
        std::min<std::int64_t>(kvbench::rotation_sets(kvb, double(c.dev.l2_B)), static_cast<std::int64_t>(arena.bytes / kvb)));
    AttnParams p;
    p.B = cf.B, p.T = 1, p.Hkv = cf.Hkv, p.g = cf.g, p.Hq = cf.Hkv * cf.g, p.D = cf.D, p.S_cap = cf.S, p.kv_len = cf.S;
    p.scale_log2 = float(1.4426950408889634 / std::sqrt(double(cf.D)));
    const int split_cps = split_ctas_per_sm(ki.ctas_per_sm);
    const std::int64_t req = kvbench::choose_splits(cf.B, cf.Hkv, cf.S, c.dev.sm_count, split_cps);
    plan_splits(p, static_cast<int>(req));
    if (std::size_t(p.B) * p.Hq * p.splits * p.D * 4 > PO.bytes) plan_splits(p, 1);
    sh.splits = p.splits;
    axes.set("splits", p.splits);
    axes.set("ctas_per_sm", ki.ctas_per_sm);
    axes.set("split_heuristic_ctas_per_sm", split_cps);
    axes.set("ctas", static_cast<long long>(p.splits) * p.B * p.Hkv);
    axes.set("rotation_sets", R);
    const std::size_t half = static_cast<std::size_t>(kvb / 2);
    fill_bf16(Q.p, std::size_t(p.B) * p.Hq * p.D, 41 + idx, -1, 1, c.stream);
    for (int r = 0; r < R; ++r) {
      char* base = arena.as<char>() + std::size_t(r) * static_cast<std::size_t>(kvb);
      if (cf.fp8)
        fill_fp8(base, static_cast<std::size_t>(kvb), 1000 + idx * 16 + r, -2, 2, c.stream);
      else
        fill_bf16(base, static_cast<std::size_t>(kvb) / 2, 1000 + idx * 16 + r, -2, 2, c.stream);
    }
    p.q = Q.p, p.o = O.p, p.part_o = PO.as<float>(), p.part_ml = PML.as<float>(), p.checksum = CS.as<unsigned>();
    auto set_ptrs = [&](AttnParams& pp, int i) {
      char* base = arena.as<char>() + std::size_t(i % R) * static_cast<std::size_t>(kvb);
      pp.k = base, pp.v = base + half;
    };
    const Measured m = measure(
        c,
        [&](int i, cudaStream_t s, Marker&) {
          AttnParams pp = p;
          set_ptrs(pp, i);
          launch_attention(pp, cf.fp8, ro, s);
        },
        {}, 2, &rule);
    bool ok = true;
    double err = std::numeric_limits<double>::quiet_NaN();
    if (!ro) {
      AttnParams pp = p;
      set_ptrs(pp, 0);
      CK(cudaMemsetAsync(O.p, 0xff, std::size_t(p.B) * p.Hq * p.D * 2, c.stream));
      launch_attention(pp, cf.fp8, false, c.stream);
      CK(cudaStreamSynchronize(c.stream));
      const int heads_checked = (double(cf.S) * cf.g > 200000) ? 2 : 8;
      err = verify_attention(pp, cf.fp8, cf.S * cf.g > 100000 ? 1 : 2, heads_checked, idx);
      ok = err < 2e-2;
      if (!ok) {
        ++c.failed_checks;
        std::printf("  CHECK FAILED: attention rel error %.3g\n", err);
      }
    }
    const kvbench::Traffic t = ro ? kvbench::kv_read_traffic(sh) : kvbench::decode_attention_traffic(sh);
    const double med = kvbench::summarize(m.samples).median;
    Json rec = make_record(c, "attention", std::string("decode_attention_") + (ro ? "kv_read_only" : "mma"), axes, "cold",
                           t.bytes_read, t.bytes_written, t.flops, m.samples, m, ok, err);
    rec.set("kv_bytes_B", kvb);
    rec.set("kernel", ro ? "kv-read roofline: same tiling and cp.async loads, no softmax/MMA"
                         : "kvbench mma.sync m16n8k16 split-KV decode (4 warps, 64-key tiles, 2-stage cp.async)");
    rec.set("kernels_launched", (!ro && p.splits > 1) ? 2 : 1);
    rec.set("cp_async_l2_prefetch", attn_cp_hint() == 2 ? "L2::256B" : attn_cp_hint() == 1 ? "L2::128B" : "none");
    rec.set("pipeline_stages", cf.fp8 ? 3 : KVBENCH_BF16_STAGES);
    rec.set("fraction_of_copy_ceiling",
            c.ceil.hbm_copy_Bps > 0 ? (t.bytes_read + t.bytes_written) / med / c.ceil.hbm_copy_Bps : Json());
    rec.set("fraction_of_read_ceiling",
            c.ceil.hbm_read_Bps > 0 ? (t.bytes_read + t.bytes_written) / med / c.ceil.hbm_read_Bps : Json());
    rec.set("fraction_of_driver_peak", (t.bytes_read + t.bytes_written) / med / c.dev.driver_peak_Bps);
    c.add(std::move(rec));
    std::printf("  attn B=%3d S=%6d Hkv=%2d g=%2d D=%3d %-4s %-12s splits=%3d  %9.2f us  %7.1f GB/s  err %.1e\n", cf.B, cf.S,
                cf.Hkv, cf.g, cf.D, cf.fp8 ? "fp8" : "bf16", cf.variant.c_str(), p.splits, med * 1e6,
                (t.bytes_read + t.bytes_written) / med / 1e9, err);
    if (idx % 16 == 0 && c.checkpoint) c.checkpoint();
  }
  if (c.checkpoint) c.checkpoint();
}

// ---------------------------------------------------------------- family 3b: causal prefill attention
// The same kernel in prefill mode (one CTA per query block x KV head x request, causal mask), as the
// end-to-end prefill runs it: its compute rate is what prefill attention costs. Buffers are reused
// across samples (compute-bound: the Q/K/V traffic is a few percent of the time at any L2 state).
void run_attention_prefill(Ctx& c) {
  struct Cfg {
    int B, P, Hkv, g, D;
  };
  std::vector<Cfg> cfgs;
  const std::vector<int> Ps = c.opt.quick ? std::vector<int>{512, 2048} : std::vector<int>{256, 512, 1024, 2048, 4096};
  const std::vector<int> Bs = c.opt.quick ? std::vector<int>{1} : std::vector<int>{1, 4};
  const std::vector<std::pair<int, int>> heads =
      c.opt.quick ? std::vector<std::pair<int, int>>{{8, 4}} : std::vector<std::pair<int, int>>{{8, 4}, {32, 1}, {1, 32}, {8, 8}};
  for (int B : Bs)
    for (int P : Ps)
      for (auto [hkv, g] : heads) {
        cfgs.push_back({B, P, hkv, g, 128});
        if (!c.opt.quick && hkv == 8 && g == 4) cfgs.push_back({B, P, hkv, g, 64});
      }
  std::size_t max_q = 0, max_kv = 0;
  for (const auto& cf : cfgs) {
    max_q = std::max(max_q, std::size_t(cf.B) * cf.P * cf.Hkv * cf.g * cf.D * 2);
    max_kv = std::max(max_kv, std::size_t(cf.B) * cf.P * cf.Hkv * cf.D * 2 * 2);
  }
  DevBuf Q(max_q), O(max_q), KV(max_kv);
  kvbench::StopRule rule = c.rule;
  rule.max_samples = c.opt.quick ? 50 : 100;
  rule.max_time_s = c.opt.quick ? 0.05 : 0.15;
  int idx = 0;
  for (const auto& cf : cfgs) {
    ++idx;
    Json axes = Json::object();
    axes.set("batch", cf.B), axes.set("prompt", cf.P), axes.set("n_kv_heads", cf.Hkv), axes.set("group_size", cf.g);
    axes.set("head_dim", cf.D), axes.set("kv_dtype", "bf16");
    const AttnKernelInfo ki = attn_kernel_info(cf.D, false, cf.g, true, false);
    if (!ki.supported) {
      c.skip("attention_prefill", axes, ki.why);
      continue;
    }
    const int rows = 16 * ki.mt;
    axes.set("mma_rows_per_cta", rows);
    axes.set("tokens_per_cta", rows / cf.g);
    axes.set("ctas_per_sm", ki.ctas_per_sm);
    AttnParams p;
    p.B = cf.B, p.T = cf.P, p.Hkv = cf.Hkv, p.g = cf.g, p.Hq = cf.Hkv * cf.g, p.D = cf.D, p.S_cap = cf.P, p.kv_len = cf.P;
    p.past = 0, p.causal = 1;
    p.scale_log2 = float(1.4426950408889634 / std::sqrt(double(cf.D)));
    const std::size_t kv_half = std::size_t(cf.B) * cf.P * cf.Hkv * cf.D * 2;
    fill_bf16(KV.p, 2 * kv_half / 2, 3000 + idx, -2, 2, c.stream);
    fill_bf16(Q.p, std::size_t(cf.B) * cf.P * p.Hq * cf.D, 4000 + idx, -1, 1, c.stream);
    p.k = KV.p, p.v = KV.as<char>() + kv_half, p.q = Q.p, p.o = O.p;
    const Measured m = measure(
        c, [&](int, cudaStream_t s, Marker&) { launch_attention(p, false, false, s); }, {}, 2, &rule);
    CK(cudaMemsetAsync(O.p, 0xff, std::size_t(cf.B) * cf.P * p.Hq * cf.D * 2, c.stream));
    launch_attention(p, false, false, c.stream);
    CK(cudaStreamSynchronize(c.stream));
    const double err = verify_attention(p, false, 1, 2, idx);
    const bool ok = err < 2e-2;
    if (!ok) {
      ++c.failed_checks;
      std::printf("  CHECK FAILED: prefill attention rel error %.3g\n", err);
    }
    const kvbench::AttnShape sh{cf.B, cf.P, cf.Hkv, cf.g, cf.D, 2.0, 1};
    const kvbench::Traffic t = kvbench::prefill_attention_traffic(sh);
    const double med = kvbench::summarize(m.samples).median;
    Json rec = make_record(c, "attention_prefill", "prefill_attention_mma", axes, "warm", t.bytes_read, t.bytes_written, t.flops,
                           m.samples, m, ok, err);
    rec.set("kernel", "kvbench mma.sync m16n8k16 causal prefill (query block x KV head x request per CTA)");
    rec.set("kernels_launched", 1);
    c.add(std::move(rec));
    std::printf("  prefill attn B=%d P=%5d Hkv=%2d g=%2d D=%3d  %9.2f us  %6.1f TFLOP/s  err %.1e\n", cf.B, cf.P, cf.Hkv, cf.g,
                cf.D, med * 1e6, t.flops / med / 1e12, err);
  }
  if (c.checkpoint) c.checkpoint();
}

// ---------------------------------------------------------------- family 4: cross-layer reuse
void run_cla_reuse(Ctx& c) {
  const double MiB = 1048576.0;
  const std::vector<double> kv_mib =
      c.opt.quick ? std::vector<double>{8, 32, 128} : std::vector<double>{4, 8, 16, 24, 32, 48, 64, 96, 128, 256};
  const std::vector<double> w_mib = c.opt.quick ? std::vector<double>{0, 128} : std::vector<double>{0, 4, 32, 128};
  const int Hkv = 8, g = 4, D = 128, K = 4096;
  DevBuf KV(static_cast<std::size_t>(kv_mib.back() * MiB)), W(static_cast<std::size_t>(w_mib.back() * MiB) + (1 << 20));
  DevBuf flush(2 * c.dev.l2_B), X(K * 2), Y(std::size_t(2) * 65536), PO(std::size_t(64) << 20), PML(std::size_t(4) << 20);
  const int maxBH = 1024 * Hkv * g;
  DevBuf Q(std::size_t(maxBH) * D * 2), O(std::size_t(maxBH) * D * 2);
  fill_bf16(KV.p, KV.bytes / 2, 51, -2, 2, c.stream), fill_bf16(W.p, W.bytes / 2, 52, -0.03f, 0.03f, c.stream);
  fill_bf16(flush.p, flush.bytes / 2, 53, -1, 1, c.stream), fill_bf16(X.p, K, 54, -1, 1, c.stream);
  fill_bf16(Q.p, Q.bytes / 2, 55, -1, 1, c.stream);
  CK(cudaStreamSynchronize(c.stream));
  const AttnKernelInfo ki = attn_kernel_info(D, false, g, false, false);
  for (double kmib : kv_mib) {
    const std::int64_t tokens = static_cast<std::int64_t>(kmib * MiB / (2.0 * Hkv * D * 2));
    const int S = static_cast<int>(std::min<std::int64_t>(tokens, 2048));
    const int B = static_cast<int>(tokens / S);
    AttnParams p;
    p.B = B, p.T = 1, p.Hkv = Hkv, p.g = g, p.Hq = Hkv * g, p.D = D, p.S_cap = S, p.kv_len = S;
    p.scale_log2 = float(1.4426950408889634 / std::sqrt(double(D)));
    plan_splits(p, static_cast<int>(kvbench::choose_splits(B, Hkv, S, c.dev.sm_count, split_ctas_per_sm(ki.ctas_per_sm))));
    const double kvb = double(B) * S * 2 * Hkv * D * 2;
    p.k = KV.p, p.v = KV.as<char>() + static_cast<std::size_t>(kvb / 2), p.q = Q.p, p.o = O.p;
    p.part_o = PO.as<float>(), p.part_ml = PML.as<float>();
    // Correctness of the attention used here.
    launch_attention(p, false, false, c.stream);
    CK(cudaStreamSynchronize(c.stream));
    const double err = verify_attention(p, false, 1, 2, 7);
    const bool ok = err < 2e-2;
    if (!ok) ++c.failed_checks;
    for (double wmib : w_mib) {
      const int N = static_cast<int>(wmib * MiB / (2.0 * K));
      const Measured m = measure(
          c,
          [&](int, cudaStream_t s, Marker& mk) {
            launch_attention(p, false, false, s);
            mk.mark();
            if (N > 0) gemm_bf16(c.cublas, 1, N, K, X.p, W.p, Y.p, 0.0f, s);
            mk.mark();
            launch_attention(p, false, false, s);
          },
          [&](cudaStream_t s) { flush_read(flush, s, c.dev.sm_count); });
      kvbench::AttnShape sh{B, S, Hkv, g, D, 2.0, p.splits};
      const kvbench::Traffic t = kvbench::decode_attention_traffic(sh);
      for (int which = 0; which < 2; ++which) {
        Json axes = Json::object();
        axes.set("kv_bytes", kvb);
        axes.set("intervening_B", 2.0 * N * K);
        axes.set("read", which == 0 ? "first" : "second");
        axes.set("batch", B), axes.set("kv_len", S), axes.set("n_kv_heads", Hkv), axes.set("head_dim", D);
        axes.set("group_size", g), axes.set("splits", p.splits);
        const auto& iv = m.intervals[which == 0 ? 0 : 2];
        Json rec = make_record(c, "cla_reuse", which == 0 ? "cla_reuse_first_read" : "cla_reuse_second_read", std::move(axes),
                               which == 0 ? "cold" : "warm", t.bytes_read, t.bytes_written, t.flops, iv, m, ok, err);
        rec.set("intervening_median_s", kvbench::summarize(m.intervals[1]).median);
        rec.set("protocol",
                "flush (read 2 x L2) | attn(KV_A) | GEMV over W bytes (cuBLAS, M=1, K=4096) | attn(KV_A); events between");
        c.add(std::move(rec));
      }
      const double t1 = kvbench::summarize(m.intervals[0]).median, t2 = kvbench::summarize(m.intervals[2]).median;
      std::printf("  cla_reuse KV=%6.1f MiB W=%6.1f MiB: first %8.2f us second %8.2f us (%.2fx)\n", kvb / MiB, 2.0 * N * K / MiB,
                  t1 * 1e6, t2 * 1e6, t1 / t2);
    }
    if (c.checkpoint) c.checkpoint();
  }
}

}  // namespace kvb
