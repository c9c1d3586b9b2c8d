// Decode / prefill attention kernel of kvbench (tensor cores, mma.sync m16n8k16).
#pragma once
#include "common.cuh"

namespace kvb {

struct AttnParams {
  const void* q = nullptr;  // bf16 [B][T][Hq][D]
  const void* k = nullptr;  // KV element [B][Hkv][S_cap][D]
  const void* v = nullptr;
  void* o = nullptr;             // bf16 [B][T][Hq][D]
  float* part_o = nullptr;       // [B][Hq][splits][D]      (decode, splits > 1)
  float* part_ml = nullptr;      // [B][Hq][splits][2]      (m in log2 units, l)
  unsigned* checksum = nullptr;  // kv_read_only variant: one word per CTA
  int B = 1, T = 1, Hq = 1, Hkv = 1, g = 1, D = 128, S_cap = 0;
  int kv_len = 0;  // keys [0, kv_len) of each (b, h) are valid
  int splits = 1, keys_per_split = 0;
  int causal = 0;  // prefill: token t (0..T-1) attends keys [0, past + t]
  int past = 0;
  float scale_log2 = 0;  // softmax scale * log2(e) * k_scale
  float v_scale = 1;
  int cp_hint = 0;  // cp.async L2 prefetch hint: 0 none, 1 L2::128B, 2 L2::256B (set by launch_attention)
};
constexpr int kDefaultCpHint = 1;  // L2::128B: +2.6 % median bandwidth at >= 1 GB on H100 (attn_variants.sh)
int attn_cp_hint();
// CTAs per SM assumed by the split heuristic: the kernel's occupancy unless KVBENCH_SPLIT_CTAS_PER_SM is set.
int split_ctas_per_sm(int occupancy);  // KVBENCH_CP_HINT=none|128|256 overrides the default (experiments)

struct AttnKernelInfo {
  int mt = 1;  // 16-row m-tiles per CTA (query rows = 16 mt)
  int smem_B = 0;
  int ctas_per_sm = 0;
  bool supported = false;
  std::string why;  // when not supported
};

// D in {64, 128, 256}; fp8 = e4m3 KV; read_only = the KV-read roofline variant.
AttnKernelInfo attn_kernel_info(int D, bool fp8, int g, bool prefill, bool read_only);
// Decode (T = 1) or prefill (causal = 1). For decode with splits > 1, also runs the combine kernel.
// Returns the number of kernels launched.
int launch_attention(const AttnParams& p, bool fp8, bool read_only, cudaStream_t s);
// Decode split plan: keys_per_split multiple of the tile; splits recomputed so none is empty.
void plan_splits(AttnParams& p, int requested_splits);
constexpr int kAttnTileKeys = 64;
// Relative L2 error of the last launch's output against a host fp64 reference, over up to n_groups
// (request, KV head) groups and max_heads query heads of each (several tokens for prefill).
double verify_attention(const AttnParams& p, bool fp8, int n_groups, int max_heads, std::uint64_t seed);

}  // namespace kvb
