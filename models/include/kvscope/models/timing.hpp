#pragma once
// Timing model: decode step and prefill on one GPU (per GPU under tensor parallelism).
//
// Every operation is timed by a roofline with *achievable* ceilings from TimingParams (measured
// by kvbench, or datasheet defaults): t = fixed + max(bytes / achievable bandwidth,
// FLOPs / achievable FLOP rate), plus a per-kernel launch floor. Every attention layer reads the
// K/V it attends to; a CLA consumer reads its producer's K/V again from HBM except for the part
// still resident in L2. docs/model.md states each formula and its source.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "kvscope/core/gpu.hpp"
#include "kvscope/core/workload.hpp"
#include "kvscope/models/profile.hpp"

namespace kvscope::models {

enum class Op : int { qkv_proj = 0, attention, o_proj, mlp, norms_elementwise, lm_head, allreduce };
inline constexpr int kOpCount = 7;
const char* op_name(Op op);  // "qkv_proj", "attention", ...

struct OpCost {
  double time_s = 0;
  double bytes = 0;  // bytes moved through HBM (L2 hits excluded)
  double flops = 0;
  double kernels = 0;    // kernel launches (graph nodes)
  double launch_s = 0;   // part of time_s that is per-kernel floor
  double memory_s = 0;   // sum over kernels of the memory-roofline term
  double compute_s = 0;  // sum over kernels of the compute-roofline term
  double tensor_s = 0;   // tensor-core FLOPs over the dense peak of their precision (power model)
  bool compute_bound() const { return compute_s > memory_s; }
};

// An op's terms the board power limit acts on (power_loss_s).
struct ClockTerms {
  double memory_s = 0, compute_s = 0, tensor_s = 0;
};

struct PhaseCost {
  std::array<OpCost, kOpCount> ops{};
  double time_s = 0;
  double bytes = 0;
  double flops = 0;
  double kernels = 0;
  double l2_saved_bytes = 0;  // KV bytes CLA consumers found in L2
  double tensor_s = 0;        // sum of the ops' tensor_s
  double power_s = 0;         // time the board power limit added (in time_s, spread over the ops by tensor_s)
  const OpCost& op(Op o) const { return ops[static_cast<int>(o)]; }
};

// One decode step: `batch` requests, each attending to `context` positions.
PhaseCost decode_step(const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t, double batch, double context,
                      Runtime runtime);
// Remembers split-KV choices for one (batch x K/V heads) across contexts: a sweep that holds the
// batch fixed and walks the context asks for at most 128 distinct answers. Same values as
// attention_splits().
class SplitMemo {
 public:
  double splits(const TimingParams& t, double batch, double kv_heads, double positions);

 private:
  double units_ = -1;
  const TimingParams* params_ = nullptr;
  std::array<std::uint8_t, 129> by_max_{};  // splits (1..128) by the most allowed; 0 = not yet
};
// decode_step() in two parts, for sweeps: the context-independent part (every op but attention,
// not yet summed), then attention added and the phase summed. Bit-identical to decode_step().
PhaseCost decode_step_static(const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t, double batch, Runtime runtime);
PhaseCost decode_step_from_static(const PhaseCost& static_part, const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t,
                                  double batch, double context, Runtime runtime, SplitMemo* memo = nullptr);
// Prefill of `batch` prompts of `prompt` tokens (causal attention), logits for the last token.
PhaseCost prefill(const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t, double batch, double prompt, Runtime runtime);

// How the linear layers' GEMMs of this profile are timed on this GPU when the weights are not
// bf16/fp16 (empty for bf16/fp16): fp8 W8A8 at the fp8 peak, weight-only int8/int4, and whether
// the efficiencies are measured for that path or an estimate. Every output prints it.
std::string weight_timing_note(const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t);
// True when weight_timing_note() describes an estimate (no calibration of that GEMM path).
bool weight_timing_estimated(const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t);

// One iteration of a continuously batching engine (vLLM-style, chunked prefill): decode rows and
// prefill chunks of different requests in one forward pass. The weights are streamed once, every
// GEMM and elementwise kernel runs on decode rows + chunk tokens, the LM head on one row per
// scheduled request, and attention runs per request at its own context: one decode-attention
// kernel over the decode requests' K/V (their summed positions: the K/V stream is exact; the
// split choice and parallelism are those of the mean context) and one causal kernel over the
// chunks (each chunk attends to its prefix and itself). docs/model.md §3c.
struct MixedBatch {
  double decode_requests = 0;
  double decode_positions = 0;        // sum over decode requests of the positions attended (incl. the new token)
  double decode_positions_local = 0;  // the same capped at the window (sliding-window layers); unused without a window
  double prefill_chunks = 0;
  double prefill_tokens = 0;        // sum of chunk lengths
  double prefill_pairs = 0;         // sum of causal_pairs(prefix, chunk, 0)
  double prefill_pairs_local = 0;   // sum of causal_pairs(prefix, chunk, window)
  double prefill_kv_positions = 0;  // sum of prefix + chunk: K/V positions the chunks read
  double tokens() const { return decode_requests + prefill_tokens; }
  double requests() const { return decode_requests + prefill_chunks; }
};
// Adds one prefill chunk of `chunk` tokens after `prefix` computed positions to b.
void add_prefill_chunk(MixedBatch& b, const ArchProfile& p, double prefix, double chunk);
// Adds one decode request attending to `positions` positions to b.
void add_decode_request(MixedBatch& b, const ArchProfile& p, double positions);
// Sum over query positions prefix+1 .. prefix+chunk of min(i, window) (window 0: no cap): the
// (query, key) products per head of a causal chunk that attends to its prefix and itself.
double causal_pairs(double prefix, double chunk, double window);

// The iteration's cost, per op. A batch of B decodes at one context equals decode_step(B, context),
// one whole prompt equals prefill(1, P) (to rounding: the same terms, summed in another order).
PhaseCost mixed_step(const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t, const MixedBatch& b, Runtime runtime);

// mixed_step(...).time_s for simulators that ask millions of times: the parts that depend only
// on the token rows and on the request rows are cached per count (lazily, for counts up to
// `max_rows`); attention is computed per call. p, gpu and t must outlive the object.
class MixedStepModel {
 public:
  MixedStepModel(const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t, Runtime runtime, int max_rows);
  // headroom_s >= 0: the power headroom this step starts with (kvscope simulate: a step after the GPU
  // idled, power_headroom_after_s of the idle), else the TimingParams' power_headroom_s.
  double time_s(const MixedBatch& b, double headroom_s = -1);
  const TimingParams& params() const { return *t_; }
  PhaseCost phase(const MixedBatch& b) const { return mixed_step(*p_, *gpu_, *t_, b, runtime_); }

 private:
  struct Part {
    double time_s = -1, kernels = 0;
    std::array<ClockTerms, kOpCount> clock{};  // per op, for power_loss_s
  };
  Part part(std::vector<Part>& cache, double rows, bool body);
  const ArchProfile* p_;
  const GpuSpec* gpu_;
  const TimingParams* t_;
  Runtime runtime_;
  std::size_t max_rows_;
  std::vector<Part> body_, head_;  // grown on demand
  SplitMemo memo_;
};

// The share of the attention ceiling a wave of `ctas` CTAs streams at: the sharp knee
// min(1, ctas / sat) (sharpness 0), or the gradual x / (1 + x^p)^(1/p), x = ctas / sat, p = sharpness,
// which tends to the knee as p grows (TimingParams::attn_sat_sharpness).
double wave_stream_fraction(double ctas, double sat, double sharpness);
// Roofline pieces, exposed for tests and for the calibration fit.
struct KernelTime {
  double time_s = 0, memory_s = 0, compute_s = 0, bytes = 0, flops = 0;
  double tensor_s = 0;  // FLOPs / unscaled dense peak: the kernel's tensor-core utilisation x time
};
// What the board power limit adds to `busy_s` of work at the maximum clock holding `tensor_s`
// (FLOPs / dense peak, summed over its kernels), starting with t.power_headroom_s: the energy
// over the limit, (power_busy - 1) busy_s + power_per_tensor tensor_s in limit-seconds, less the
// headroom, is paid in time. 0 when the GPU's stack has no power measurement (docs/model.md §3b, "Board power limit").
double power_stretch_s(const TimingParams& t, double busy_s, double tensor_s);
// The idles the two fitted headrooms are measured at: the microbenchmark timer's lead before each
// sample (torch_bench Timer, 200000 sleep cycles at ~2 GHz) and the rested bursts' idle.
inline constexpr double kPowerGapRest_s = 0.1e-3;
inline constexpr double kPowerRestedRest_s = 20e-3;
// The headroom a step starts with after `rest_s` of idle (TimingParams::power_refill_tau_s): 0 back to
// back, a proportional share of the gap headroom below kPowerGapRest_s, the gap headroom there, refilled
// with time constant power_refill_tau_s to the rested one at kPowerRestedRest_s and held there past it
// (the longest idle measured); unmeasured (tau 0), the gap headroom below 1 ms of idle and the rested
// one from there.
double power_headroom_after_s(const TimingParams& t, double rest_s);
// The time the power limit adds to a step of `busy_s` made of `ops` (one per Op): the stretch
// (power_stretch_s over the ops' tensor_s) is spread over the ops by tensor_s, and each op pays only
// what a clock that much slower costs it: its compute term grows by its share, its memory term
// does not (the HBM clock is not the SM clock). A compute-bound op pays its whole share (the GEMM
// bursts the stretch is fitted on), a memory-bound one max(0, compute + share - memory). Per-op
// losses go to `loss` when given (kOpCount entries).
double power_loss_s(const TimingParams& t, double busy_s, const std::array<ClockTerms, kOpCount>& ops, double* loss = nullptr);
// Weight GEMM Y[M,N] = X[M,K] W^T, bf16, weights streamed from HBM (cold), fixed cost included,
// launch floor excluded.
KernelTime gemm_time(const TimingParams& t, double peak_flops, double m, double n, double k);
// W8A8 fp8 GEMM (torch._scaled_mm / cuBLASLt): e4m3 weights and activation in, bf16 out, with the
// fp8 calibration's fractions (gemm_fp8_*) and the bf16 fit's fixed cost and M half-point.
KernelTime fp8_gemm_time(const TimingParams& t, double fp8_peak_flops, double m, double n, double k);
// FlashAttention-2's split count (flash_api.cpp num_splits_heuristic) for `units` = batch x
// heads x m-blocks CTAs, `slots` = 2 x SMs, `n_blocks` K/V blocks per (request, head).
double fa2_splits(double units, double slots, double n_blocks);
// Whether cuBLAS (PyTorch 2.11, CUDA 13, H200) runs a bf16 F.linear of m rows, n outputs and k inputs
// as a split-K nvjet kernel plus cublasLt::splitKreduce_kernel: k >= 4096, n <= 5120 (6144 x 4096 runs
// unsplit at every measured m) and m * n <= 40 * k. From the kernel names of the 364 torch_bench
// gemm_odd launches (torch-micro-s16 2026-12-04: 28 shapes x m 3-700); right on 354, wrong on 10
// (all at m >= 44, where cuBLAS keeps splitting longer on the widest-k shapes than the bound says).
bool cublas_split_k(double m, double n, double k);
// cuDNN SDPA decode's split count (sdpa_sm80_flash_fprop_wmma, read from its launch grids: the
// count is not public) for `units` = batch x KV heads x 16-row tiles on `sm_count` SMs over
// `positions` keys: unsplit past sm_count / 2 units or at <= 512 positions, else the largest power
// of two within 64, the whole 128-key tiles (floor) and 2 x sm_count / units.
double cudnn_splits(double units, double positions, double sm_count);
// CTAs of a decode-attention kernel resident on one SM at once, from its launch resources (CUPTI's
// registers per thread and shared memory per CTA in torch-attention-grids / -grids2 2026-12-03)
// and an sm90 SM's limits (65,536 registers in 256-register units per warp, 228 KB of shared
// memory with 1 KB reserved per CTA): cuDNN 16 x 128 x 64 (128 threads, 120 registers, 45,376 B) 4,
// x 128 (183, 86,336 B) 2, x 256 (160, 86,336 B) 2, which is one (request, KV head, 16 rows) unit:
// it runs as two CTAs; FA2 2 (split-KV and standard kernels: 128 threads, 190-255 registers), but its
// standard 192-wide kernel (256 threads, 228-236 registers) 1. `split`: FA2 runs its split-KV kernel.
double decode_ctas_per_sm(DecodeAttnKernel kernel, double kernel_head_dim, bool split);
// A last wave's SM holding k of a kernel's per_sm resident CTAs runs at this fraction of a full
// SM's rate: (1 - (1 - a)^k) / (1 - (1 - a)^per_sm), a = 2 - 1 / lone (lone: one CTA of a 2-per-SM
// kernel, attn_lone_cta_efficiency); 1 at k >= per_sm.
double occupancy_efficiency(double lone, double k, double per_sm);
// Decode attention of stacks that pack a KV head's query heads into the rows of one tile (FA2,
// cuDNN; t.attn_kernel says which): splits, tile padding and CTA parallelism from the kernel's
// structure, efficiencies from t. Launch floor excluded; the split count used is stored in
// *splits_out when given.
KernelTime packed_decode_attention_time(const TimingParams& t, double batch, double kv_heads, double q_heads, double positions,
                                        double head_dim, double kv_bytes, double* splits_out = nullptr, double peak_flops = 0);
// Causal prefill attention of tiled FA2 / cuDNN kernels, `peak_flops` the unscaled dense peak
// (the stack's attention clock ratio is applied inside).
KernelTime tiled_prefill_attention_time(const TimingParams& t, double peak_flops, double batch, double q_heads, double prompt,
                                        double pairs, double head_dim, double bytes);
// A quantity measured at head_dim 64 / 128 / 256 (0 = the 128 value) at this head_dim: linear in
// log2(head_dim) between the measured points, constant outside.
double by_head_dim(double at64, double at128, double at256, double head_dim);
// The head_dim FlashAttention-2 computes with: multiples of 32 up to 128, of 64 past it (PyTorch
// 2.11's vendored FA2: head_dim 80 runs Flash_fwd_kernel_traits<96, ...>, 112 <128, ...> and 160
// <192, ...>, the split-KV and the standard kernel alike: torch-attention-grids / -grids2
// 2026-12-03; 224 -> 256 is the same rounding, not measured). Bytes moved stay those of the real
// head_dim (the padded columns are never loaded).
double fa2_kernel_head_dim(double head_dim);
// The head_dim cuDNN's SDPA decode kernel computes with: 64, 128 or 256 (sdpa_sm80_flash_fprop_wmma
// ..._16x128x{64,128,256}: head_dims 80-112 run the 128 kernel, 160 and 192 the 256 one, in every
// launch of torch-attention-grids2 2026-12-03). Past 256 the real width.
double cudnn_decode_kernel_head_dim(double head_dim);
// The head_dim cuDNN's SDPA kernels compute with: 64 up to 64, 128 up to 128, then multiples of 64
// to 256 (its decode kernels at 64 / 128 / 256 are sdpa_sm80_flash_fprop_wmma ..._16x128x{64,128,
// 256}; its causal prefill at head_dims 80-112 runs at the 128 kernel's rate per padded column,
// within 9 % from 8k tokens, where the unpadded law was 10-29 % fast; 160 fits a 192-wide kernel
// (within -2...+13 %) better than 160 (-5...-31 %) or 256 (+27...+49 %): torch-attention-prefill-dims
// 2026-12-03; 160's width is inferred, not named). Past 256 the real width.
double cudnn_kernel_head_dim(double head_dim);
// FA2 decode's efficiency from its K/V tile layout at this head_dim: attn_narrow_smem_efficiency
// when its kernel's head_dim is not a multiple of 64, attn_padded_efficiency when head_dim is below
// its kernel's (fa2_kernel_head_dim); 1 for other kernels (cuDNN's padded widths are in its fit:
// calibration.cpp), past 256 and where not measured.
double decode_layout_efficiency(const TimingParams& t, double head_dim);
// The prefill-attention compute fraction at this head_dim (measured at 64 / 128 / 256).
double prefill_attn_fraction(const TimingParams& t, double head_dim);
// Split-KV count the decode kernel picks: enough (request, head, split) units to fill the GPU,
// each split at least 256 positions.
double attention_splits(const TimingParams& t, double batch, double kv_heads, double positions);
// Decode attention over `kv_bytes` of K/V (cold), launch floor excluded.
KernelTime decode_attention_time(const TimingParams& t, double batch, double kv_heads, double q_heads, double positions,
                                 double head_dim, double kv_bytes, bool fp8);
// Same with the split count given (calibration uses the split count the harness recorded).
KernelTime decode_attention_time_with_splits(const TimingParams& t, double batch, double kv_heads, double q_heads,
                                             double positions, double head_dim, double kv_bytes, bool fp8, double splits);
// Causal prefill attention: `pairs` (query, key) products per head (sum of positions attended),
// `bytes` of Q/K/V/O traffic; compute at peak_flops (already clock-scaled).
KernelTime prefill_attention_time(const TimingParams& t, double peak_flops, double batch, double q_heads, double prompt,
                                  double pairs, double head_dim, double bytes);
// Causal FA2 forward: `heads` = batch x query heads, each of `blocks` query-block CTAs, CTA j
// computing min(j + 1, cap_blocks) key blocks (its diagonal one included; cap_blocks >= blocks: no
// window), launched head by head in query-block order (flash_fwd_kernel.h: blockIdx.x is the query
// block) onto 2 x `sms` slots as they free; a CTA alone on its SM runs `lone_speed` x as fast as one
// sharing it. Returns the kernel's duration over the one a perfectly balanced schedule would take
// (total work / slots): >= 1 once the slots are busy; the longest CTAs, last in each head, set the
// tail. docs/model.md §3b, "Causal prefill: the longest CTAs last".
double causal_cta_tail_factor(double heads, double blocks, double cap_blocks, double sms, double lone_speed);
// Elementwise kernels inside a graph (norms, SiLU*mul, embedding gather) and RoPE + K/V append:
// fixed + bytes / (fraction * hbm_copy); the launch gap is added by the caller.
KernelTime elementwise_time(const TimingParams& t, double bytes);
KernelTime rope_time(const TimingParams& t, double bytes);

// The eager (torch stack) elementwise op classes, each with its own law (family torch_elementwise).
enum class EagerOp { rms_norm, residual_add, silu_mul, rope, kv_append, embedding };
// One class's law: t = fixed + max(bytes / (bw_fraction * copy), row_elems * row_s_per_elem), where
// a view of one row (one contiguous row, no broadcast: PyTorch's vectorized kernels, copy_ as a
// cudaMemcpyAsync) takes one_row_fixed_s instead of fixed_s when that was measured (> 0), and
// row_s_per_elem is the per-row walk of a kernel that runs one CTA per row (F.rms_norm; 0 for the
// others). docs/model.md §3b, "Elementwise ops in the step".
struct EagerOpLaw {
  double fixed_s = 0;
  double bw_fraction = 1;
  double one_row_fixed_s = 0;
  double row_s_per_elem = 0;
};
EagerOpLaw eager_op_law(const TimingParams& t, EagerOp op);
// One op of `bytes` (read + written) on a view of `view_rows` rows of `row_elems` elements each;
// the launch gap is added by the caller.
KernelTime eager_op_time(const EagerOpLaw& law, double copy_Bps, double bytes, double view_rows, double row_elems);
// Fraction of a re-read of `footprint_B` that hits L2 after `intervening_B` other bytes streamed.
double l2_hit_fraction(const TimingParams& t, double footprint_B, double intervening_B);

}  // namespace kvscope::models
