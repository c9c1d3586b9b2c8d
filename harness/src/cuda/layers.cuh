// Elementwise kernels of the decode step / prefill (bf16 activations, fp32 math).
#pragma once
#include "common.cuh"

namespace kvb {
// out[r] = x[in_row(r)] * rsqrt(mean(x^2) + eps) * w ; in_row(r) = r * in_stride_rows + in_offset_rows.
void rmsnorm(const void* x, const void* w, void* out, int rows, int d, int in_stride_rows, int in_offset_rows, cudaStream_t s);
// qkv: [B*T][(Hq + 2 Hkv) D] (or [B*T][Hq D] when kcache == nullptr: Q-only consumer layer).
// q_out: [B*T][Hq][D] roped. K roped and V written into the caches [B][Hkv][S_cap][D] at position past + t.
void rope_append(const void* qkv, void* q_out, void* kcache, void* vcache, int B, int T, int Hq, int Hkv, int D, int S_cap,
                 int past, float theta, cudaStream_t s);
// gu: [rows][2F] (gate | up) -> out [rows][F] = silu(gate) * up.
void silu_mul(const void* gu, void* out, int rows, int F, cudaStream_t s);
// x[b] = E[tokens[b]] rows of d.
void embed(const int* tokens, const void* E, void* x, int rows, int d, cudaStream_t s);
}  // namespace kvb
