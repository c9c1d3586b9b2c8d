#pragma once
// GPU description: datasheet figures (with their source) plus, when kvbench has measured the
// part, the calibrated ceilings and efficiencies the timing model uses (`TimingParams`).
#include <map>
#include <optional>
#include <string>

#include "kvscope/core/architecture.hpp"
#include "kvscope/core/stack.hpp"

namespace kvscope {

// Every parameter of the timing model that depends on the GPU. Each has a documented default
// derived from the datasheet (docs/references.md [HG] §2-§5, §9) and is replaced by
// `kvscope calibrate` with a fit to kvbench measurements. docs/model.md gives the formulas.
struct TimingParams {
  // Memory ceilings (B/s), measured with kvbench family 1 (read-only and copy kernels, >> L2).
  double hbm_read_Bps = 0;
  double hbm_copy_Bps = 0;
  double l2_read_Bps = 0;
  // L2 residency of a re-read (cross-layer KV reuse, family 4): hit fraction =
  //   1 / (1 + exp(((footprint + intervening) / l2_capacity_B - 1) / l2_transition)).
  double l2_capacity_B = 0;
  double l2_transition = 0.15;
  // SM clock of sustained tensor-core work over the maximum boost clock (family 2: the clocks
  // kvbench read during the compute-bound GEMMs, M >= 2048). Compute ceilings below are per
  // clock at the maximum clock; compute-bound work runs at this fraction of it (power limit).
  double compute_clock_ratio = 1.0;
  // Weight GEMMs (family 2): t = gemm_fixed_s + max(bytes / (gemm_bw_fraction * hbm_read),
  //   flops / (gemm_compute_fraction * peak * compute_clock_ratio * M / (M + gemm_m_half))).
  double gemm_bw_fraction = 0.90;
  double gemm_fixed_s = 3e-6;
  double gemm_compute_fraction = 0.80;
  double gemm_m_half = 16.0;
  // Transition of a GEMM between weight-streaming and tensor-bound (family torch_gemm): the two
  // overlap imperfectly where they are close, t = fixed + (memory^p + compute^p)^(1/p); p = 0
  // means a hard max (the kvbench stack: its own fit, unchanged).
  double gemm_overlap_p = 0;
  // cuBLAS's split-K GEMMs (models::cublas_split_k: the skinny shapes it splits over K) run a second
  // kernel, cublasLt::splitKreduce_kernel, whose time and launch gap this is (family torch_gemm; 0 =
  // not measured or a stack without split-K, e.g. kvbench's own GEMM).
  double gemm_splitk_s = 0;
  // fp8 weight GEMMs (W8A8, torch._scaled_mm / cuBLASLt fp8, family torch_gemm_fp8): compute
  // fraction of the fp8 dense peak and bandwidth fraction of the weight stream. 0 = not measured:
  // the bf16 fractions are used and every fp8 output says "estimate".
  double gemm_fp8_compute_fraction = 0;
  double gemm_fp8_bw_fraction = 0;
  // Decode attention (family 3): t = attn_fixed_s + max(bytes / (attn_bw_fraction * par *
  //   hbm_read), mma_flops / attn_compute_flops); par = min(1, work_units / attn_units_sat),
  //   with work_units = batch * kv_heads * splits (split-KV as the harness kernel chooses it);
  //   mma_flops counts the g query heads of a KV head padded to the 16-row MMA tile.
  double attn_bw_fraction = 0.88;
  double attn_fixed_s = 4e-6;
  double attn_units_sat = 264;         // 2 x 132 SMs
  double attn_compute_flops = 60e12;   // ceiling of the decode kernel's padded MMA + softmax work
  double attn_fp8_bw_fraction = 0.76;  // fp8 KV: dequantization lowers the achieved fraction
  // Split-KV combine: each output element walks the splits' partials in turn, one L2 round trip
  // per split, so the combine kernel costs splits x this (family 3, points with many splits).
  double attn_combine_per_split_s = 0.1e-6;
  // Causal prefill attention (family 3b): executed FLOPs (incl. the masked half of diagonal
  // tiles) over prefill_attn_compute_fraction * peak * compute_clock_ratio.
  double prefill_attn_compute_fraction = 0.40;
  // Elementwise kernels inside a graph (family 5b): t = fixed + bytes / (fraction * hbm_copy),
  // launch gap added separately. Norms, SiLU*mul and the embedding gather share one pair;
  // RoPE + K/V append (per-row CTAs doing the rotation's trigonometry) has its own.
  double elementwise_bw_fraction = 0.80;
  double elementwise_fixed_s = 1e-6;
  double rope_bw_fraction = 0.80;
  double rope_fixed_s = 1e-6;
  // Per-kernel floor (family 5): graph replay and eager stream launch, and host CPU per launch.
  double launch_graph_s = 1.3e-6;
  double launch_stream_s = 2.5e-6;
  double launch_cpu_s = 4e-6;
  // What the timer adds to a one-launch, event-timed microbenchmark sample (family 5,
  // event_single). Only used by calibration: it is taken off family 2/3 samples so that their
  // fixed costs are those of a kernel inside a CUDA graph. 0 = not measured.
  double launch_event_s = 0;
  // Tensor-parallel all-reduce: t = latency + 2 (tp-1)/tp * bytes / bus_Bps (ring, nccl-tests).
  double allreduce_latency_s = 8e-6;
  double allreduce_bus_Bps = 0;

  // ---- Stacks that run their elementwise ops as separate eager kernels (torch-*; family
  // torch_elementwise). Each op class: t = fixed + bytes / (fraction * hbm_copy), launch gap added
  // per kernel. Norms use elementwise_*, RoPE (per tensor) rope_*. Unused by fused stacks.
  double add_bw_fraction = 0.80;  // residual add h + x
  double add_fixed_s = 1e-6;
  double act_bw_fraction = 0.80;  // silu(gate) * up on the halves of the gate_up output
  double act_fixed_s = 1e-6;
  double append_bw_fraction = 0.80;  // K/V append by copy_ (and a quantized cache's bf16 cast)
  double append_fixed_s = 1e-6;
  double embed_bw_fraction = 0.80;  // embedding / RoPE-table gathers
  double embed_fixed_s = 1e-6;
  // Kernel variant of a one-row view (docs/model.md §3b, "Elementwise ops in the step"): one
  // token's gate / up halves, MQA's single K head at one token and its cache slot are contiguous with
  // no broadcast, so PyTorch runs its vectorized kernels (the K/V copy_ becomes a cudaMemcpyAsync)
  // and the op costs this fixed time instead of its class's. 0 = not measured: the class's law.
  double act_fixed_one_row_s = 0;
  double rope_fixed_one_row_s = 0;
  double append_fixed_one_row_s = 0;
  // F.rms_norm runs one CTA per row, which walks its d elements: the op takes at least d x this
  // (s per element) however few rows there are; the streaming term takes over once the bytes take
  // longer. 0 = not measured.
  double norm_row_s_per_elem = 0;
  // bf16 -> e4m3 activation cast in front of every W8A8 linear (family torch_fp8_cast). 0 = not
  // measured: the residual add's law (add_*) stands in.
  double cast_bw_fraction = 0;
  double cast_fixed_s = 0;
  // ---- Prefill attention of FA2-class kernels (family torch_attention_prefill): the compute
  // fraction of clock-scaled peak depends on head_dim (kernel traits differ): d = 128 uses
  // prefill_attn_compute_fraction, d <= 64 and d >= 256 these (0 = same as d = 128; between, log2
  // interpolation). Work is spread over CTAs of (request, q head, query block); par = min(1, CTAs /
  // prefill_attn_units_sat) (0 = always 1). The clock attention sustains (0 = compute_clock_ratio).
  double prefill_attn_fraction_d64 = 0;
  // Decode attention of packed (FA2 / cuDNN) kernels: the K/V stream's fraction of the read ceiling
  // at head_dim 64 and 256 (0 = attn_bw_fraction, the head_dim-128 value; log2 interpolation
  // between): tiles of 256-wide rows keep fewer loads in flight per CTA (cuDNN: 3.6 vs 4.6 TB/s).
  double attn_bw_fraction_d64 = 0;
  double attn_bw_fraction_d256 = 0;
  // Waves of packed decode CTAs (family torch_attention; docs/model.md, "Decode attention waves"):
  // the (request, head, split) CTAs run 2 per SM in waves of equal CTAs. A wave pays
  // attn_cta_fixed_s once (a CTA's prologue: Q tile load, first K/V block latency; its epilogue:
  // normalise and store O), and a partial last wave of at most one CTA per SM computes at
  // attn_lone_cta_efficiency of the SM's tensor rate (0.5 = no faster than sharing the SM; a
  // lone 4-warp CTA hides less latency than two). 0 = not measured: no wave terms.
  double attn_cta_fixed_s = 0;
  double attn_lone_cta_efficiency = 0;
  // The same at head_dim 64 and 256 (0 = attn_lone_cta_efficiency; log2 interpolation between, as
  // by_head_dim): each head_dim runs its own tile traits (FA2 hd64: 128 x 128 tiles with 64-wide
  // rows, hd256: 64 x 64), so a lone CTA hides a different share of its latency.
  double attn_lone_cta_efficiency_d64 = 0;
  double attn_lone_cta_efficiency_d256 = 0;
  // A KV head whose query rows span several tiles (cuDNN: g > 16 rows in 16-row tiles; FA2's split
  // kernel: g > 64 in 64-row blocks) runs one CTA
  // per tile, each streaming the same K/V: the later tiles find it in L2 only while their partner
  // reads the same blocks. This fraction of each later tile's K/V comes from HBM again (cuDNN hd128,
  // two tiles: 3.5-3.8 TB/s of unique K/V in full waves where one tile streams 4.6;
  // torch-attention-waves 2026-12-03). 0 = every later tile hits L2.
  double attn_tile_reread_fraction = 0;
  // attn_units_sat at head_dim 64 and 256 (0 = attn_units_sat; log2 interpolation between, as
  // by_head_dim): a CTA's own K/V stream depends on its tile width (cuDNN's 64- and 256-wide CTAs
  // stream about 30 GB/s each, its 128-wide ones about 55: torch-attention-knobs / -context,
  // torch-e2e-holdout7 2026-12-03). Fitted for cuDNN only.
  double attn_units_sat_d64 = 0;
  double attn_units_sat_d256 = 0;
  // How sharply a wave's K/V stream saturates with its CTA count n: par = x / (1 + x^p)^(1/p),
  // x = n / attn_units_sat, p = attn_sat_sharpness (0: min(1, x), the sharp knee). Measured CTAs
  // approach the ceiling gradually: cuDNN's 64-wide kernel streams 2.41 / 3.05 / 3.57 / 3.65 / 3.86
  // TB/s at 72 / 96 / 120 / 144 / 160 CTAs (torch-attention-cudnn-ctas 2026-12-03, S 8192), with
  // no knee; the fit picks p from a grid by the micro rms.
  double attn_sat_sharpness = 0;
  // The padded tile math of packed decode at head_dim 64 and 256 (each 0 = attn_compute_flops
  // scaled by the prefill kernel's ratio at that head_dim; log2 interpolation between, as by_head_dim).
  double attn_compute_flops_d64 = 0;
  double attn_compute_flops_d256 = 0;
  // FA2 decode's K/V tile layout (kernel_traits.h, PyTorch's vendored FA2): its 96 kernel moves
  // K/V through 32-column shared-memory blocks (kBlockKSmem 32, not 64: the kernel head_dim is not a
  // multiple of 64): attn_narrow_smem_efficiency. A head_dim below its kernel's width (80 in the 96
  // kernel, 112 in the 128, 160 in the 192) loads predicated columns: attn_padded_efficiency. Each
  // scales the kernel's K/V stream (FA2 at head_dims 80-192, H200, GQA-4 B 16 S 32768: 80 runs at
  // 0.71 of 128's bandwidth, 96 at 0.92, 112 at 0.81, 160 at 0.78, 192 at 0.99). 0 = not measured: 1.
  double attn_narrow_smem_efficiency = 0;
  double attn_padded_efficiency = 0;
  double prefill_attn_fraction_d256 = 0;
  double prefill_attn_units_sat = 0;
  double prefill_attn_fixed_s = 4e-6;
  // Causal FA2 forward CTAs of unequal work (docs/model.md §3b, "Causal prefill: the longest CTAs
  // last"): a CTA alone on its SM computes at this fraction of the SM's rate (0.5 = no faster than
  // sharing it with a second CTA). > 0 replaces prefill_attn_units_sat's law by the CTA schedule
  // (causal_cta_tail_factor); 0 = not measured.
  double prefill_attn_lone_cta_efficiency = 0;
  double prefill_attn_clock_ratio = 0;
  // ---- Board power limit (family torch_power: bursts of back-to-back GEMMs / attentions against
  // burst length, mix and idle before; docs/model.md §3b, "Board power limit"). Compute-bound kernels run at the
  // maximum clock until the governor acts; a step's power demand at that clock, relative to the
  // board limit, is power_busy (any busy GPU: memory traffic, launch gaps) plus power_per_tensor
  // times its tensor-core utilisation (FLOPs / (time x dense peak)). What is over the limit
  // -- (power_busy - 1) x time + power_per_tensor x FLOPs / peak, in limit-seconds -- beyond the
  // headroom the step starts with is paid in time (the governor lowers the clock until the
  // average power is the limit). Headroom: power_rested_headroom_s after 20 ms idle,
  // power_gap_headroom_s after the microbenchmark timer's 0.1 ms lead, in between by
  // power_refill_tau_s, 0 for back-to-back steps.
  // power_per_tensor 0 = not measured: compute runs at compute_clock_ratio, as before.
  double power_busy = 0;
  double power_per_tensor = 0;
  double power_rested_headroom_s = 0;
  double power_gap_headroom_s = 0;
  // How the headroom refills with idle time r (family torch_power at idles between the two above,
  // torch-power-rests: a 10 ms GEMM burst after 1 ms of idle is throttled as after 0.1 ms, after 3 ms
  // hardly): H(r) = gap + (rested - gap) (1 - e^(-(r - r_gap)/tau)) / (1 - e^(-(r_rested - r_gap)/tau)),
  // r_gap = 0.1 ms and r_rested = 20 ms the idles the two headrooms are measured at
  // (models::power_headroom_after_s). 0 = not measured: gap below 1 ms of idle, rested from there.
  double power_refill_tau_s = 0;
  // Energy per tensor-second of decode attention's executed (padded) tile math relative to a
  // GEMM's: the kernel also streams K/V at full HBM bandwidth, so it throttles sooner than its
  // utilisation says (H200: FA2 decode bursts 16 % slower after 58 ms, GEMMs 7 %). Fitted on
  // decode-attention bursts (torch_power, op decode_attention); 0 = not measured: weight 1.
  double power_decode_attn_weight = 0;
  // The headroom the modelled step starts with (not fitted: the regime; 0 = a loaded server's
  // back-to-back steps). kvscope validate sets it per measured point.
  double power_headroom_s = 0;
  bool power_governed() const { return power_per_tensor > 0; }
  // Clock of compute-bound work over the maximum clock: 1 under the power model (the governor's
  // stretch is added per step), else the fixed sustained ratio.
  double compute_clock() const { return power_governed() ? 1.0 : compute_clock_ratio; }

  // ---- Structure of the stack (not fitted; set from the StackDef and the GPU by stack_timing()).
  DecodeAttnKernel attn_kernel = DecodeAttnKernel::kvbench;
  PrefillAttnKernel prefill_kernel = PrefillAttnKernel::kvbench;
  bool fused_elementwise = true;
  bool quantized_kv_kernel = true;
  double sm_count = 132;  // FA2's split heuristic counts 2 CTAs per SM
};

// Copies the hardware part of `hw` (memory and L2 ceilings, L2 residency, clock ratio, launch
// floors, all-reduce) into `t`, leaving the stack's efficiencies.
void copy_hardware(TimingParams& t, const TimingParams& hw);

struct GpuCalibration {
  std::string source;     // "kvbench 0.1.0 on NVIDIA H100 80GB HBM3, 2026-11-23"
  std::string fitted_on;  // result files with their hashes
  std::string date_utc;
  bool borrowed = false;  // efficiencies borrowed from another calibrated GPU
  std::string borrowed_from;
  TimingParams params;
};

// The parameters of one (GPU, stack) pair and where they come from.
struct StackTiming {
  TimingParams params;
  std::string stack;
  bool calibrated = false;  // measured on this GPU with this stack
  bool borrowed = false;    // the stack's efficiencies come from another GPU's measurement
  std::string borrowed_from;
  std::string origin;  // one line for every output
};

struct GpuSpec {
  std::string id;    // kebab-case preset id ("h100-sxm")
  std::string name;  // "NVIDIA H100 SXM5 80GB"
  std::string vendor;
  std::string architecture;  // "Hopper GH100 (sm_90)"
  double memory_B = 0;       // capacity as printed on the datasheet (GB = 1e9)
  // Device total as the driver reports it (cudaMemGetInfo total): what an engine multiplies by its
  // memory utilization. Measured where a harness read it, else HBM-stack / ECC arithmetic; the
  // source says which.
  std::optional<double> memory_usable_B;
  std::string memory_usable_source;
  double hbm_bandwidth_Bps = 0;  // datasheet
  double bf16_flops = 0;         // dense (no 2:4 sparsity)
  double fp8_flops = 0;          // dense; 0 = not supported
  double l2_cache_B = 0;         // last-level cache size
  int sm_count = 0;
  double tdp_W = 0;
  double interconnect_Bps = 0;  // scale-up link, total bidirectional as on the datasheet
  std::string interconnect;     // "NVLink 4 (18 links)"
  Provenance provenance;
  std::optional<GpuCalibration> calibration;  // the kvbench stack (and the hardware ceilings)
  // Other stacks measured on this GPU (or borrowed at load time), by stack id. Their hardware
  // fields equal `calibration`'s; the efficiencies are the stack's own fit.
  std::map<std::string, GpuCalibration> stack_calibrations;
};

void validate(const GpuSpec& gpu, const std::string& where);

// Device total the model plans with: memory_usable_B when given, else the datasheet figure.
inline double memory_capacity_B(const GpuSpec& g) {
  return g.memory_usable_B.value_or(g.memory_B);
}

// Datasheet-derived defaults (documented in docs/model.md): HBM read 0.90 x datasheet, copy
// 0.88 x, L2 2.5 x HBM read, L2 capacity 0.75 x L2 size, all-reduce bus 0.40 x the link total.
TimingParams default_timing_params(const GpuSpec& gpu);
// Efficiencies of a calibrated `reference` applied to `target`: fractions, fixed costs and launch
// floors copied; ceilings scaled by the ratio of the two datasheets (HBM, L2 size, SM count,
// link). Marked borrowed, naming the reference.
GpuCalibration borrow_calibration(const GpuSpec& target, const GpuSpec& reference);
// A stack calibration of `reference` applied to `target`: efficiencies copied, attention
// parallelism and compute ceilings scaled by SM count and datasheet peak, the hardware part taken
// from the target's own calibration (or borrowed as above when it has none). Marked borrowed.
GpuCalibration borrow_stack_calibration(const GpuSpec& target, const GpuSpec& reference, const GpuCalibration& stack_calibration);
// The calibrated parameters when present, otherwise the defaults.
TimingParams timing_params(const GpuSpec& gpu);
// "calibrated (kvbench ...)", "calibrated, borrowed from h100-sxm", or "datasheet defaults".
std::string timing_params_origin(const GpuSpec& gpu);
// The parameters a prediction on `gpu` with kernel stack `stack` uses: kvbench = `calibration`;
// another stack = its own calibration on this GPU, else (set at load time) one borrowed from the
// nearest GPU that measured it, with this GPU's own hardware ceilings. Structure fields from the
// StackDef. Throws InputError for an unknown stack.
StackTiming stack_timing(const GpuSpec& gpu, const std::string& stack);

}  // namespace kvscope
