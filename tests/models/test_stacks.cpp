// Kernel stacks: structure of the FA2 / cuDNN / eager paths (hand-derived values), the split
// heuristic, and how a (GPU, stack) pair resolves its parameters.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

#include "kvscope/core/error.hpp"
#include "kvscope/core/loaders.hpp"
#include "kvscope/core/stack.hpp"
#include "kvscope/models/profile.hpp"
#include "kvscope/models/timing.hpp"

using namespace kvscope;
using namespace kvscope::models;

namespace {
// A committed H200 result file (data/calibration/h200/NAME), parsed.
boost::json::value committed_h200_result(const std::string& name) {
  const std::string path = std::string(KVSCOPE_SOURCE_DIR) + "/data/calibration/h200/" + name;
  std::ifstream in(path);
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  return boost::json::parse(text.str());
}

TimingParams fa2_params() {
  TimingParams t;
  t.hbm_read_Bps = 1e12;
  t.hbm_copy_Bps = 1e12;
  t.attn_bw_fraction = 0.5;
  t.attn_fixed_s = 0;
  t.attn_units_sat = 1;  // parallelism never limits: isolates the tile arithmetic
  t.attn_compute_flops = 1e14;
  t.attn_combine_per_split_s = 0;
  t.prefill_attn_compute_fraction = 0.5;
  t.attn_kernel = DecodeAttnKernel::fa2;
  t.sm_count = 132;
  return t;
}
}  // namespace

TEST_CASE("stacks: the registry, the default and unknown ids", "[stack]") {
  std::vector<std::string> ids;
  for (const StackDef& s : stacks()) ids.push_back(s.id);
  CHECK(ids == std::vector<std::string>{"kvbench", "torch-flash", "torch-cudnn"});
  CHECK(std::string(default_stack_id()) == "torch-flash");
  CHECK(find_stack("torch-cudnn", "--stack").decode_attn == DecodeAttnKernel::cudnn);
  CHECK_FALSE(find_stack("torch-flash", "--stack").quantized_kv_kernel);
  CHECK(find_stack("kvbench", "--stack").fused_elementwise);
  struct Bad {
    const char* id;
  };
  for (const Bad& b : {Bad{"torch"}, Bad{""}, Bad{"TORCH-FLASH"}, Bad{"flash"}}) {
    INFO(b.id);
    try {
      find_stack(b.id, "--stack");
      FAIL("accepted");
    } catch (const InputError& e) {
      CHECK_THAT(e.what(), Catch::Contains("--stack") && Catch::Contains("kvbench, torch-flash, torch-cudnn") &&
                               Catch::Contains(std::string("'") + b.id + "'"));
    }
  }
}

TEST_CASE("fa2_splits follows FlashAttention-2's num_splits_heuristic", "[stack][timing]") {
  struct Row {
    double units, slots, n_blocks, splits;
  };
  // Derivations: units >= 0.8 slots -> 1. units 32, 4 blocks: eff(s) = 32 s / 264 for s = 1, 2, 4
  // (3 is not eligible: ceil(4/3) = ceil(4/2)); best 0.485 at 4, the first >= 0.85 x best is 4.
  // units 100, 64 blocks: eff(1..5) = .379 .758 .568 .758 .947; best is >= .99 (s = 21), the
  // first >= 0.85 x best is 5. One block: one split whatever the units.
  for (const Row& r : {Row{240, 264, 64, 1}, Row{212, 264, 64, 1}, Row{32, 264, 4, 4}, Row{100, 264, 64, 5}, Row{8, 264, 1, 1}}) {
    INFO(r.units << " units, " << r.n_blocks << " blocks");
    CHECK(fa2_splits(r.units, r.slots, r.n_blocks) == r.splits);
  }
}

TEST_CASE("packed decode attention: rows packed per KV head, 128-row tiles unsplit, 64-row split", "[stack][timing]") {
  const TimingParams t = fa2_params();
  const double S = 8192, d = 128;
  // B = 32, 8 KV heads, g = 4: units = 256 >= 211 -> unsplit, one 128-row tile per (request, KV
  // head): executed = 4 x 32 x 8 x 128 x S x d FLOPs; useful = 4 x 32 x 32 x S x d.
  double splits = 0;
  KernelTime k = packed_decode_attention_time(t, 32, 8, 32, S, d, 32 * S * 2 * 8 * d * 2, &splits);
  CHECK(splits == 1);
  CHECK(k.compute_s == Approx(4.0 * 32 * 8 * 128 * S * d / 1e14));
  CHECK(k.flops == Approx(4.0 * 32 * 32 * S * d));
  // B = 2: units 16 -> split (64 K/V blocks of 128): 64-row tiles, so a quarter of the padding.
  k = packed_decode_attention_time(t, 2, 8, 32, S, d, 2 * S * 2 * 8 * d * 2, &splits);
  CHECK(splits > 1);
  CHECK(k.compute_s == Approx(4.0 * 2 * 8 * 64 * S * d / 1e14));
  // MHA (g = 1): one row per (request, head), padded to a 128-row tile when unsplit.
  k = packed_decode_attention_time(t, 16, 32, 32, S, d, 16 * S * 2 * 32 * d * 2, &splits);
  CHECK(splits == 1);
  CHECK(k.compute_s == Approx(4.0 * 16 * 32 * 128 * S * d / 1e14));
  // Memory term: K/V bytes at the attention fraction of the read ceiling.
  CHECK(k.memory_s >= 16 * S * 2 * 32 * d * 2 / (0.5 * 1e12));
}

TEST_CASE("FA2 pads head_dim to its kernels' widths: the tile math grows, the bytes do not", "[stack][timing]") {
  struct Row {
    double head_dim, kernel_head_dim;
  };
  // Multiples of 32 up to 128, of 64 past it (torch-attention-grids / -grids2: traits <96> at 80,
  // <128> at 112, <192> at 160; 224 -> 256 is the same rounding); past 256 (no FA2 kernel) the real width.
  for (const Row& r : {Row{64, 64}, Row{80, 96}, Row{96, 96}, Row{112, 128}, Row{128, 128}, Row{144, 192}, Row{160, 192},
                       Row{192, 192}, Row{200, 256}, Row{224, 256}, Row{256, 256}, Row{40, 64}, Row{8, 32}, Row{576, 576}}) {
    INFO("head_dim " << r.head_dim);
    CHECK(fa2_kernel_head_dim(r.head_dim) == r.kernel_head_dim);
  }
  const TimingParams t = fa2_params();
  const double S = 8192;
  // MHA, B = 16, 32 heads, unsplit: hd 80 executes the hd-96 tile math; the K/V bytes are hd 80's.
  const double kv80 = 16 * S * 2 * 32 * 80 * 2.0;
  const KernelTime k80 = packed_decode_attention_time(t, 16, 32, 32, S, 80, kv80);
  const KernelTime k96 = packed_decode_attention_time(t, 16, 32, 32, S, 96, 16 * S * 2 * 32 * 96 * 2.0);
  CHECK(k80.compute_s == Approx(k96.compute_s));
  CHECK(k80.bytes < k96.bytes);
  CHECK(k80.flops == Approx(4.0 * 16 * 32 * S * 80));  // useful FLOPs stay the model's
  // cuDNN computes at its own widths: 80 and 96 both at 128, 64 at 64.
  TimingParams c = t;
  c.attn_kernel = DecodeAttnKernel::cudnn;
  CHECK(packed_decode_attention_time(c, 16, 32, 32, S, 80, kv80).compute_s ==
        Approx(packed_decode_attention_time(c, 16, 32, 32, S, 96, 16 * S * 2 * 32 * 96 * 2.0).compute_s));
  CHECK(packed_decode_attention_time(c, 16, 32, 32, S, 64, 16 * S * 2 * 32 * 64 * 2.0).compute_s <
        packed_decode_attention_time(c, 16, 32, 32, S, 80, kv80).compute_s);
}

TEST_CASE("FA2 tile layout: 32-column blocks and predicated columns slow the K/V stream, nothing else", "[stack][timing]") {
  TimingParams t = fa2_params();
  t.attn_narrow_smem_efficiency = 0.9, t.attn_padded_efficiency = 0.7;
  struct Row {
    double head_dim, efficiency;
  };
  // The 96 kernel (and 32) moves K/V in 32-column blocks; head_dims below their kernel's width
  // (fa2_kernel_head_dim: 150 and 160 in the 192 kernel, 200 and 224 in the 256) load predicated columns.
  for (const Row& r : {Row{64, 1.0}, Row{80, 0.9 * 0.7}, Row{96, 0.9}, Row{112, 0.7}, Row{128, 1.0}, Row{150, 0.7}, Row{160, 0.7},
                       Row{192, 1.0}, Row{200, 0.7}, Row{224, 0.7}, Row{256, 1.0}, Row{32, 0.9}, Row{576, 1.0}}) {
    INFO("head_dim " << r.head_dim);
    CHECK(decode_layout_efficiency(t, r.head_dim) == Approx(r.efficiency));
  }
  // Not measured (0) means 1; cuDNN's padded widths are in its own fit, kvbench has no such layout.
  CHECK(decode_layout_efficiency(fa2_params(), 80) == 1.0);
  for (const DecodeAttnKernel k : {DecodeAttnKernel::cudnn, DecodeAttnKernel::kvbench}) {
    TimingParams c = t;
    c.attn_kernel = k;
    CHECK(decode_layout_efficiency(c, 80) == 1.0);
  }
  // The memory term scales, the (already padded) tile math does not.
  const double S = 32768, kv80 = 4 * S * 2 * 32 * 80 * 2.0;
  const KernelTime slow = packed_decode_attention_time(t, 4, 32, 32, S, 80, kv80);
  const KernelTime base = packed_decode_attention_time(fa2_params(), 4, 32, 32, S, 80, kv80);
  CHECK(slow.memory_s == Approx(base.memory_s / (0.9 * 0.7)));
  CHECK(slow.compute_s == Approx(base.compute_s));
}

TEST_CASE("FA2's unsplit forward kernel runs 128-row tiles up to its 192 kernel, 64 at 256", "[stack][timing]") {
  const TimingParams t = fa2_params();
  const double S = 2048;
  struct Row {
    double head_dim, tile_rows, kernel_hd;
  };
  // MHA, B 64 x 32 heads: unsplit; one row per (request, head) padded to the tile.
  // 160 runs the 192 kernel, 224 the 256 one (fa2_kernel_head_dim).
  for (const Row& r : {Row{128, 128, 128}, Row{160, 128, 192}, Row{192, 128, 192}, Row{224, 64, 256}, Row{256, 64, 256}}) {
    INFO("head_dim " << r.head_dim);
    double splits = 0;
    const KernelTime k = packed_decode_attention_time(t, 64, 32, 32, S, r.head_dim, 64 * S * 2 * 32 * r.head_dim * 2, &splits);
    CHECK(splits == 1);
    CHECK(k.compute_s == Approx(4.0 * 64 * 32 * r.tile_rows * S * r.kernel_hd / 1e14));
  }
}

TEST_CASE("cuDNN decode splits as its launch grids show: half the SMs, past 512 positions, powers of two", "[stack][timing]") {
  TimingParams t = fa2_params();
  t.attn_kernel = DecodeAttnKernel::cudnn;
  struct Row {
    double batch, kv_heads, q_heads, positions, splits;
  };
  // Units = batch x KV heads x ceil(g / 16); 132 SMs: split at <= 66 units past 512 positions into
  // min(64, 2^floor(log2 ceil(positions / 128)), 2^floor(log2(264 / units))) (torch-attention-grids).
  for (const Row& r : {Row{1, 1, 32, 1024, 8},     // 2 units: grid.x 8 (the 128-key tiles)
                       Row{1, 1, 32, 4096, 32},    // grid.x 32
                       Row{1, 1, 32, 16384, 64},   // grid.x 64: the cap
                       Row{1, 1, 32, 65536, 64},   //
                       Row{32, 1, 32, 65536, 4},   // 64 units: 264 / 64 = 4.1
                       Row{64, 1, 32, 65536, 1},   // 128 units: unsplit
                       Row{16, 3, 18, 65536, 4},   // 48 units
                       Row{32, 3, 18, 65536, 1},   // 96 units: unsplit (264 / 96 = 2.75)
                       Row{6, 4, 8, 131072, 8},    // 24 units (torch-attention-context: lean_reduction runs)
                       Row{7, 10, 40, 128000, 1},  // 70: unsplit, as measured
                       Row{4, 8, 32, 512, 1},      // 32 units but 512 positions
                       Row{4, 8, 32, 1000, 4},     // floor(1000 / 128) = 7 whole tiles (grids2)
                       Row{4, 8, 32, 600, 4},      // 4 whole tiles, past 512 positions
                       Row{4, 8, 32, 1024, 8}}) {
    INFO("B " << r.batch << " kv " << r.kv_heads << " q " << r.q_heads << " S " << r.positions);
    double splits = 0;
    (void)packed_decode_attention_time(t, r.batch, r.kv_heads, r.q_heads, r.positions, 128,
                                       r.batch * r.positions * 2 * r.kv_heads * 128 * 2, &splits);
    CHECK(splits == r.splits);
    const double units = r.batch * r.kv_heads * std::ceil(r.q_heads / r.kv_heads / 16);
    CHECK(cudnn_splits(units, r.positions, 132) == r.splits);
  }
  // Another GPU's SM count moves the thresholds: 114 SMs (H100 PCIe) leave 64 units unsplit.
  CHECK(cudnn_splits(64, 65536, 114) == 1);
  CHECK(cudnn_splits(57, 65536, 114) == 4);
}

TEST_CASE("cuDNN computes at its kernel widths: 64, 128, then multiples of 64", "[stack][timing]") {
  struct Row {
    double head_dim, kernel;
  };
  for (const Row& r : {Row{32, 64}, Row{64, 64}, Row{80, 128}, Row{96, 128}, Row{112, 128}, Row{128, 128}, Row{160, 192},
                       Row{192, 192}, Row{256, 256}, Row{320, 320}}) {
    INFO("head_dim " << r.head_dim);
    CHECK(cudnn_kernel_head_dim(r.head_dim) == r.kernel);
  }
  // Causal prefill: cuDNN's tile math at the padded width, the FLOPs at the real one.
  TimingParams t = fa2_params();
  t.prefill_kernel = PrefillAttnKernel::cudnn;
  const double P = 4096, pairs = P * (P + 1) / 2;
  const KernelTime k80 = tiled_prefill_attention_time(t, 1e15, 1, 32, P, pairs, 80, 1e6);
  const KernelTime k128 = tiled_prefill_attention_time(t, 1e15, 1, 32, P, pairs, 128, 1e6);
  CHECK(k80.flops == Approx(k128.flops * 80 / 128));
  CHECK(k80.compute_s == Approx(k128.compute_s));
}

TEST_CASE("cuDNN decode at head_dim 256 holds one CTA per SM: 192 CTAs take two waves", "[stack][timing]") {
  TimingParams t = fa2_params();
  t.attn_kernel = DecodeAttnKernel::cudnn;
  t.attn_units_sat = 1e-9, t.attn_units_sat_d256 = 1e-9;  // every wave at full bandwidth: counts waves
  t.attn_lone_cta_efficiency = 0.9;                       // wave terms on
  t.attn_cta_fixed_s = 1e-6;
  t.attn_compute_flops = t.attn_compute_flops_d64 = t.attn_compute_flops_d256 = 1e18;
  const double S = 8192;
  struct Row {
    double head_dim, batch, waves;
  };
  // MHA-like rows (g 1), 4 KV heads: CTAs = 4 B; 132 SMs.
  for (const Row& r : {Row{256, 24, 1}, Row{256, 48, 2}, Row{256, 66, 2}, Row{128, 48, 1}, Row{128, 66, 1}, Row{128, 67, 2}}) {
    INFO("head_dim " << r.head_dim << " B " << r.batch);
    const double kv = r.batch * S * 2 * 4 * r.head_dim * 2;
    const KernelTime k = packed_decode_attention_time(t, r.batch, 4, 4, S, r.head_dim, kv);
    const double stream_s = (kv + 2.0 * 2 * r.batch * 4 * r.head_dim) / (0.5 * 1e12);
    CHECK(k.time_s == Approx(stream_s + r.waves * 1e-6).epsilon(1e-6));
  }
}

TEST_CASE("packed decode attention: a lone last-wave CTA runs at its head_dim's efficiency", "[stack][timing]") {
  TimingParams t = fa2_params();
  t.hbm_read_Bps = 1e18;  // the K/V stream negligible: compute-bound waves only
  t.attn_cta_fixed_s = 0;
  t.attn_lone_cta_efficiency = 0.9;
  t.attn_lone_cta_efficiency_d64 = 0.6;
  t.attn_lone_cta_efficiency_d256 = 0.8;
  t.attn_compute_flops_d64 = 1e14, t.attn_compute_flops_d256 = 1e14;
  // GQA-4, 8 KV heads, B 48: 384 unsplit CTAs = one full wave of 264 and 120 lone ones (<= 132 SMs).
  const double S = 2048, full = 264, lone = 120;
  struct Row {
    double head_dim, efficiency, tile_rows;
  };
  for (const Row& r : {Row{64, 0.6, 128}, Row{128, 0.9, 128}, Row{256, 0.8, 64}}) {
    INFO("head_dim " << r.head_dim);
    const double cta_flops = 4.0 * r.tile_rows * S * r.head_dim;  // one (request, KV head) tile
    const double expect = full * cta_flops / 1e14 + cta_flops / (r.efficiency * 1e14 / 132);
    const KernelTime k = packed_decode_attention_time(t, 48, 8, 32, S, r.head_dim, 48 * S * 2 * 8 * r.head_dim * 2);
    CHECK(lone + full == 384);
    CHECK(k.time_s == Approx(expect).epsilon(1e-6));
  }
  // Unset (0): the head_dim-128 value everywhere.
  t.attn_lone_cta_efficiency_d64 = 0;
  const double cta64 = 4.0 * 128 * S * 64;
  CHECK(packed_decode_attention_time(t, 48, 8, 32, S, 64, 48 * S * 2 * 8 * 64 * 2).time_s ==
        Approx(full * cta64 / 1e14 + cta64 / (0.9 * 1e14 / 132)).epsilon(1e-6));
}

TEST_CASE("packed decode attention: its executed tile math counts toward the power limit", "[stack][timing]") {
  const TimingParams t = fa2_params();
  const double S = 8192, d = 128, kv = 32 * S * 2 * 8 * d * 2;
  // Without a peak (calibration's own calls) no tensor time; with one, executed FLOPs / peak.
  CHECK(packed_decode_attention_time(t, 32, 8, 32, S, d, kv).tensor_s == 0);
  CHECK(packed_decode_attention_time(t, 32, 8, 32, S, d, kv, nullptr, 1e15).tensor_s ==
        Approx(4.0 * 32 * 8 * 128 * S * d / 1e15));
  // A measured power weight scales it (0 = not measured: weight 1).
  TimingParams w = t;
  w.power_decode_attn_weight = 2.0;
  CHECK(packed_decode_attention_time(w, 32, 8, 32, S, d, kv, nullptr, 1e15).tensor_s ==
        Approx(2.0 * 4.0 * 32 * 8 * 128 * S * d / 1e15));
}

TEST_CASE("eager stacks: kernel counts of a decode step follow the op list", "[stack][timing]") {
  Architecture a;
  a.id = "four";
  a.n_layers = 4, a.d_model = 1024, a.n_q_heads = 8, a.n_kv_heads = 2, a.head_dim = 128, a.ffn_dim = 4096;
  a.vocab = 1000;
  const ArchProfile p = make_profile(a, 1);
  GpuSpec g;
  g.bf16_flops = 1e14;
  g.sm_count = 132;
  TimingParams t = fa2_params();
  t.attn_units_sat = 264;
  t.fused_elementwise = false;
  // Per layer: 4 GEMMs, 2 norms, 2 residual adds, silu + mul, 5 + 5 RoPE kernels, 2 K/V copies,
  // attention (1 kernel at 1 split); per step: embedding, 2 RoPE-table gathers, final norm, LM head.
  // B = 64 x 2 KV heads = 128 units < 211 -> the attention splits (2 kernels) at S = 8192.
  const PhaseCost c = decode_step(p, g, t, 64, 8192, Runtime::graph);
  CHECK(c.kernels == 4 * (4 + 2 + 2 + 2 + 10 + 2 + 2) + 5);
  t.fused_elementwise = true;
  t.attn_kernel = DecodeAttnKernel::kvbench;
  const PhaseCost f = decode_step(p, g, t, 64, 8192, Runtime::graph);
  CHECK(f.kernels < c.kernels);
}

TEST_CASE("eager ops: the one-row variant, the norm's row walk, the streaming law otherwise", "[stack][timing]") {
  // fixed 2 us, fraction 0.5 of a 1 TB/s copy (1 MB = 2 us), one-row variant 1 us, row walk 1 ns / element
  const EagerOpLaw law{2e-6, 0.5, 1e-6, 1e-9};
  EagerOpLaw plain = law;
  plain.one_row_fixed_s = 0;  // not measured: the class's fixed cost at one row too
  struct Row {
    const char* what;
    const EagerOpLaw* law;
    double bytes, view_rows, row_elems, time_s;
  };
  const Row rows[] = {
      {"streaming, two rows", &law, 1e6, 2, 0, 2e-6 + 2e-6},
      {"one row: the vectorized variant's fixed cost", &law, 1e6, 1, 0, 1e-6 + 2e-6},
      {"one row, variant not measured", &plain, 1e6, 1, 0, 2e-6 + 2e-6},
      {"row walk longer than the stream (d 4096)", &law, 1e3, 8, 4096, 2e-6 + 4.096e-6},
      {"stream longer than the row walk", &law, 1e7, 4096, 4096, 2e-6 + 20e-6},
      {"no bytes, no row: the fixed cost alone", &law, 0, 3, 0, 2e-6},
  };
  for (const Row& r : rows) {
    INFO(r.what);
    const KernelTime k = eager_op_time(*r.law, 1e12, r.bytes, r.view_rows, r.row_elems);
    CHECK(k.time_s == Approx(r.time_s).epsilon(1e-12));
    CHECK(k.bytes == r.bytes);
    CHECK(k.memory_s == Approx(r.bytes / 0.5e12).margin(1e-18));
  }
}

TEST_CASE("eager step: one-row variants apply to one token's contiguous views only", "[stack][timing]") {
  Architecture a;
  a.id = "mqa";
  a.n_layers = 4, a.d_model = 1024, a.n_q_heads = 8, a.n_kv_heads = 1, a.head_dim = 128, a.ffn_dim = 4096;
  a.vocab = 1000;
  GpuSpec g;
  g.bf16_flops = 1e14;
  g.sm_count = 132;
  TimingParams base = fa2_params();
  base.fused_elementwise = false;
  base.act_fixed_s = 4e-6, base.rope_fixed_s = 5e-6, base.append_fixed_s = 3e-6;
  TimingParams variant = base;
  variant.act_fixed_one_row_s = 1e-6, variant.rope_fixed_one_row_s = 2e-6, variant.append_fixed_one_row_s = 1e-6;
  struct Row {
    const char* what;
    int n_kv_heads;
    double batch;
    double saved_per_layer_s;
  };
  // At B = 1: silu * mul on one row (3 us saved); MQA's K RoPE on one head row (3 us) and its K/V
  // copies into one cache slot (2 us); Q's RoPE has 8 head rows and keeps the strided kernels.
  const Row rows[] = {
      {"MQA, one token", 1, 1, 3e-6 + 3e-6 + 2e-6},
      {"GQA-4, one token: only silu * mul has one row", 2, 1, 3e-6},
      {"MQA, two tokens: no view has one row", 1, 2, 0},
  };
  for (const Row& r : rows) {
    INFO(r.what);
    a.n_kv_heads = r.n_kv_heads;
    const ArchProfile p = make_profile(a, 1);
    const double with = decode_step(p, g, variant, r.batch, 4096, Runtime::graph).op(Op::norms_elementwise).time_s;
    const double without = decode_step(p, g, base, r.batch, 4096, Runtime::graph).op(Op::norms_elementwise).time_s;
    CHECK(without - with == Approx(4 * r.saved_per_layer_s).margin(1e-12));
  }
}

TEST_CASE("causal prefill: the CTA schedule's tail over the balanced time", "[stack][timing][prefill]") {
  struct Row {
    const char* what;
    double heads, blocks, cap, sms, lone, factor;
  };
  // balanced = heads x sum_j min(j + 1, cap) / (2 sms); hand-derived spans in the comments
  const Row rows[] = {
      // one CTA of one block, alone on its SM at speed 1.66: span 1 / 1.66, balanced 1 / 264
      {"a single CTA", 1, 1, 1e9, 132, 1.66, 264 / 1.66},
      // 32 CTAs on 132 SMs, each alone: the 8-block ones last 8 / 2; balanced 4 x 36 / 264
      {"fewer CTAs than SMs: the longest CTA alone", 4, 8, 1e9, 132, 2, (8 / 2.0) / (4 * 36 / 264.0)},
      // SM 0 holds CTA 0 (1 block) and CTA 1 (2): both shared until 1, then 1 block alone at 2x
      {"two CTAs sharing one SM", 1, 2, 1e9, 1, 2, (1 + 1 / 2.0) / 1.5},
      // 1 head of 4 blocks on one SM (2 slots): balanced 10 / 2 = 5; tail 4 - E[w^2] / (2 E[w]) =
      // 4 - 7.5 / 5 = 2.5 at speed 1
      {"more CTAs than slots: balanced time plus the last CTA's tail", 1, 4, 1e9, 1, 1, (5 + 2.5) / 5},
      // a window of 2 blocks: works 1, 2, 2, 2; sum 7, sum2 13; balanced 3.5, tail 2 - 13 / 14
      {"a window caps the longest CTA", 1, 4, 2, 1, 1, (3.5 + 2 - 13.0 / 14) / 3.5},
      {"no heads: no schedule", 0, 4, 1e9, 132, 2, 1},
      {"no SMs: no schedule", 4, 4, 1e9, 0, 2, 1},
  };
  for (const Row& r : rows) {
    INFO(r.what);
    CHECK(causal_cta_tail_factor(r.heads, r.blocks, r.cap, r.sms, r.lone) == Approx(r.factor).epsilon(1e-12));
  }
  // Many CTAs: the tail is a vanishing part of the kernel; a longer prompt has a relatively shorter tail.
  const double long_prompt = causal_cta_tail_factor(32, 512, 1e9, 132, 1.2);
  CHECK(long_prompt > 1.0);
  CHECK(long_prompt < 1.02);
  CHECK(causal_cta_tail_factor(32, 64, 1e9, 132, 1.2) > causal_cta_tail_factor(32, 256, 1e9, 132, 1.2));
  // A faster lone CTA shortens the tail.
  CHECK(causal_cta_tail_factor(32, 32, 1e9, 132, 2.0) < causal_cta_tail_factor(32, 32, 1e9, 132, 1.0));
}

TEST_CASE("causal prefill: the CTA schedule slows short prompts more than long ones", "[stack][timing][prefill]") {
  TimingParams t = fa2_params();
  t.prefill_kernel = PrefillAttnKernel::fa2;
  t.prefill_attn_units_sat = 0;
  TimingParams sched = t;
  sched.prefill_attn_lone_cta_efficiency = 0.6;
  struct Row {
    double prompt, min_ratio, max_ratio;
  };
  // 32 query heads, head_dim 128 (128-row tiles): 8 / 64 / 512 query blocks per head
  const Row rows[] = {{1024, 1.3, 3.0}, {8192, 1.02, 1.2}, {65536, 1.0, 1.02}};
  for (const Row& r : rows) {
    INFO("prompt " << r.prompt);
    const double pairs = r.prompt * (r.prompt + 1) / 2;
    const double plain = tiled_prefill_attention_time(t, 1e15, 1, 32, r.prompt, pairs, 128, 0).compute_s;
    const double tail = tiled_prefill_attention_time(sched, 1e15, 1, 32, r.prompt, pairs, 128, 0).compute_s;
    CHECK(tail / plain >= r.min_ratio);
    CHECK(tail / plain <= r.max_ratio);
  }
}

TEST_CASE("no quantized K/V kernel: a cast to bf16 before attention, said by the bytes", "[stack][timing]") {
  Architecture a;
  a.id = "four";
  a.n_layers = 4, a.d_model = 1024, a.n_q_heads = 8, a.n_kv_heads = 2, a.head_dim = 128, a.ffn_dim = 4096;
  a.vocab = 1000;
  a.kv_dtype = KvDtype::fp8;
  const ArchProfile p = make_profile(a, 1);
  GpuSpec g;
  g.bf16_flops = 1e14;
  g.sm_count = 132;
  TimingParams t = fa2_params();
  t.quantized_kv_kernel = false;
  const PhaseCost q = decode_step(p, g, t, 8, 4096, Runtime::graph);
  // K/V of one layer: 8 x 4096 x 2 x 2 x 128 x 1 B (fp8); the cast reads it and writes bf16 (2x),
  // then attention reads the bf16 copy: 1 + 2 + 2 = 5 x the fp8 bytes per layer.
  const double kv_fp8 = 8.0 * 4096 * 2 * 2 * 128;
  CHECK(q.op(Op::attention).bytes >= 4 * 5 * kv_fp8);
  t.quantized_kv_kernel = true;
  const PhaseCost k = decode_step(p, g, t, 8, 4096, Runtime::graph);
  CHECK(k.op(Op::attention).bytes < 4 * 1.5 * kv_fp8);
}

TEST_CASE("stack_timing: measured, borrowed with own ceilings, across vendors", "[stack][gpu]") {
  const GpuSpec h200 = load_gpu("h200");
  const StackTiming m = stack_timing(h200, "torch-flash");
  CHECK(m.calibrated);
  CHECK_FALSE(m.borrowed);
  CHECK_FALSE(m.params.fused_elementwise);
  CHECK(m.params.attn_kernel == DecodeAttnKernel::fa2);
  CHECK(m.params.sm_count == h200.sm_count);
  CHECK_THAT(m.origin, Catch::Contains("torch_bench"));
  // The H100 has no torch measurement: efficiencies from the H200's fit, ceilings its own.
  const GpuSpec h100 = load_gpu("h100-sxm");
  const StackTiming b = stack_timing(h100, "torch-flash");
  CHECK_FALSE(b.calibrated);
  CHECK(b.borrowed);
  CHECK(b.borrowed_from == "h200");
  CHECK(b.params.hbm_read_Bps == h100.calibration->params.hbm_read_Bps);
  CHECK(b.params.act_bw_fraction == m.params.act_bw_fraction);
  CHECK_THAT(b.origin, Catch::Contains("borrowed from h200") && Catch::Contains("calibrated: kvbench"));
  // kvbench is the GPU's own calibration, unchanged.
  CHECK(stack_timing(h100, "kvbench").params.attn_compute_flops == h100.calibration->params.attn_compute_flops);
  // A GPU of another vendor borrows one measured GPU's efficiencies and says so.
  const GpuSpec mi = load_gpu("mi300x");
  REQUIRE(mi.calibration);
  CHECK(mi.calibration->borrowed);
  CHECK_THAT(mi.calibration->source, Catch::Contains("across vendors"));
  CHECK(stack_timing(mi, "torch-flash").borrowed);
  CHECK_THROWS_WITH(stack_timing(h200, "fa3"), Catch::Contains("--stack") && Catch::Contains("'fa3'"));
}

TEST_CASE("decode attention: a wave's K/V stream saturates with its CTA count, sharply or gradually", "[stack][timing]") {
  struct Row {
    double ctas, sat, sharpness, want;
  };
  const std::vector<Row> rows = {
      {50, 100, 0, 0.5},                                // the knee: linear below
      {100, 100, 0, 1.0},                               // and flat from sat
      {300, 100, 0, 1.0},                               //
      {100, 100, 1.5, 1.0 / std::pow(2.0, 1.0 / 1.5)},  // gradual: 2^(-1/p) at sat
      {300, 100, 1.5, 3.0 / std::pow(1.0 + std::pow(3.0, 1.5), 1.0 / 1.5)},
      {10, 100, 1.5, 0.1 / std::pow(1.0 + std::pow(0.1, 1.5), 1.0 / 1.5)},
      {100, 100, 1.0, 0.5},  // p = 1: x / (1 + x)
      {1000, 100, 1.0, 10.0 / 11.0},
  };
  for (const Row& r : rows) {
    INFO("ctas " << r.ctas << " sat " << r.sat << " sharpness " << r.sharpness);
    CHECK(wave_stream_fraction(r.ctas, r.sat, r.sharpness) == Approx(r.want).epsilon(1e-12));
  }
  // A large sharpness is the knee again; the gradual curve is below it everywhere.
  for (const double x : {0.1, 0.5, 0.9, 1.0, 1.1, 2.0, 10.0}) {
    INFO("x " << x);
    CHECK(wave_stream_fraction(x * 100, 100, 200) == Approx(std::min(1.0, x)).epsilon(1e-2));
    CHECK(wave_stream_fraction(x * 100, 100, 1.5) < std::min(1.0, x));
  }
  // In the kernel: a gradual knee makes a wave near sat slower, one far below it nearly unchanged.
  TimingParams t = fa2_params();
  t.attn_units_sat = 128, t.attn_lone_cta_efficiency = 0.9;
  const double S = 32768, d = 128;
  auto time = [&](double p_sat, double batch) {
    t.attn_sat_sharpness = p_sat;
    return packed_decode_attention_time(t, batch, 8, 32, S, d, batch * S * 2 * 8 * d * 2).time_s;
  };
  CHECK(time(1.5, 32) > 1.1 * time(0, 32));
}

TEST_CASE("cudnn_splits and the decode kernel widths reproduce every committed cuDNN launch grid", "[stack][timing]") {
  // The H200 launch grids (torch_bench attention_grids / attention_grids2): the fprop kernel's grid is
  // [splits x (2 CTAs per unit at the 256 kernel), n_kv x ceil(g / 16), B] on 132 SMs.
  int checked = 0;
  for (const char* name : {"torch-attention-grids-2026-12-03.json", "torch-attention-grids2-2026-12-03.json"}) {
    const boost::json::value doc = committed_h200_result(name);
    for (const auto& b : doc.at("benchmarks").as_array()) {
      const auto& axes = b.at("axes").as_object();
      if (axes.at("backend").as_string() != "cudnn_attention") continue;
      const double batch = axes.at("batch").to_number<double>(), kv = axes.at("n_kv_heads").to_number<double>();
      const double g = axes.at("group_size").to_number<double>(), d = axes.at("head_dim").to_number<double>();
      const double positions = axes.at("kv_len").to_number<double>();
      for (const auto& k : b.at("kernels").as_array()) {
        if (std::string(k.at("name").as_string()).find("flash_fprop") == std::string::npos) continue;
        const auto& grid = k.at("grid").as_array();
        // The split count the timing path itself uses (packed_decode_attention_time's splits_out).
        TimingParams c = fa2_params();
        c.attn_kernel = DecodeAttnKernel::cudnn;
        double splits = 0;
        (void)packed_decode_attention_time(c, batch, kv, kv * g, positions, d, batch * positions * 2 * kv * d * 2, &splits);
        const double per_unit = cudnn_decode_kernel_head_dim(d) > 128 ? 2 : 1;
        INFO(name << ": B " << batch << " n_kv " << kv << " g " << g << " d " << d << " S " << positions);
        CHECK(grid.at(0).to_number<double>() == splits * per_unit);
        CHECK(grid.at(1).to_number<double>() == kv * std::ceil(g / 16));
        CHECK(grid.at(2).to_number<double>() == batch);
        ++checked;
      }
    }
  }
  CHECK(checked == 2249);
}

TEST_CASE("cuDNN decode runs its 64, 128 or 256 kernel", "[stack][timing]") {
  struct Row {
    double head_dim, kernel;
  };
  // torch-attention-grids2: the 16x128x128 kernel at 80-112, 16x128x256 at 160 and 192.
  for (const Row& r : {Row{32, 64}, Row{64, 64}, Row{80, 128}, Row{96, 128}, Row{112, 128}, Row{128, 128}, Row{144, 256},
                       Row{160, 256}, Row{192, 256}, Row{224, 256}, Row{256, 256}, Row{320, 320}}) {
    INFO("head_dim " << r.head_dim);
    CHECK(cudnn_decode_kernel_head_dim(r.head_dim) == r.kernel);
  }
}

namespace {
// Resident CTAs per SM of a launch on an sm90 SM (CUDA occupancy rules): 65,536 registers handed out
// in 256-register units per warp, 233,472 B of shared memory with 1,024 B reserved per CTA, at most
// 32 CTAs and 64 warps.
double sm90_ctas_per_sm(double threads, double registers, double shared_B) {
  const double warps = std::ceil(threads / 32);
  const double by_regs = std::floor(65536 / (warps * std::ceil(registers * 32 / 256) * 256));
  const double by_smem = std::floor(233472 / (shared_B + 1024));
  return std::min({by_regs, by_smem, 32.0, std::floor(64 / warps)});
}
}  // namespace

TEST_CASE("sm90 occupancy rules: hand-worked launches", "[stack][timing]") {
  struct Row {
    double threads, registers, shared_B, ctas;
  };
  for (const Row& r : {Row{128, 120, 45376, 4},   // registers: 65,536 / (4 x 3,840) = 4.3
                       Row{128, 183, 86336, 2},   // 184 x 32 = 5,888 per warp: 2.8; shared memory 2.7
                       Row{256, 228, 98304, 1},   // 8 warps x 7,424: 1.1
                       Row{128, 32, 0, 16},       // warps: 64 / 4
                       Row{32, 16, 0, 32},        // the CTA cap
                       Row{128, 64, 120000, 1}})  // shared memory: 233,472 / 121,024
  {
    INFO(r.threads << " threads, " << r.registers << " registers, " << r.shared_B << " B");
    CHECK(sm90_ctas_per_sm(r.threads, r.registers, r.shared_B) == r.ctas);
  }
}

TEST_CASE("decode_ctas_per_sm: the residency of every committed decode launch's resources", "[stack][timing]") {
  // Each main decode kernel (cuDNN flash_fprop, FA2 flash_fwd / flash_fwd_splitkv) in the H200 launch
  // grids: its CUPTI threads, registers and shared memory give the CTAs resident per SM; cuDNN's 256
  // kernel runs one unit as two CTAs, so it holds half as many units.
  int checked = 0;
  for (const char* name : {"torch-attention-grids-2026-12-03.json", "torch-attention-grids2-2026-12-03.json"}) {
    const boost::json::value doc = committed_h200_result(name);
    for (const auto& b : doc.at("benchmarks").as_array()) {
      for (const auto& k : b.at("kernels").as_array()) {
        const std::string kname(k.at("name").as_string());
        const bool cudnn = kname.find("flash_fprop") != std::string::npos;
        const bool split = kname.find("flash_fwd_splitkv_kernel") != std::string::npos;
        if (!cudnn && !split && kname.find("flash_fwd_kernel") == std::string::npos) continue;
        // The width the kernel computes with: cuDNN's 16 x 128 x W tile, FA2's traits <W, ...>.
        const std::string tag = cudnn ? "16x128x" : "kernel_traits<";
        const double width = std::stod(kname.substr(kname.find(tag) + tag.size()));
        const double per_unit = cudnn && width > 128 ? 2 : 1;
        const double ctas =
            sm90_ctas_per_sm(k.at("block").as_array().at(0).to_number<double>(), k.at("registers_per_thread").to_number<double>(),
                             k.at("shared_memory_B").to_number<double>());
        INFO(name << ": " << kname.substr(0, 110));
        CHECK(decode_ctas_per_sm(cudnn ? DecodeAttnKernel::cudnn : DecodeAttnKernel::fa2, width, split) ==
              std::floor(ctas / per_unit));
        ++checked;
      }
    }
  }
  CHECK(checked == 3490);
}

TEST_CASE("occupancy_efficiency: independent busy fractions per resident CTA", "[stack][timing]") {
  struct Row {
    double lone, k, per_sm, expect;
  };
  // a = 2 - 1 / lone; (1 - (1 - a)^k) / (1 - (1 - a)^per_sm).
  for (const Row& r : {Row{0.8, 1, 2, 0.8},      // one CTA of a 2-per-SM kernel: the lone efficiency itself
                       Row{0.8, 2, 2, 1},        // a full SM
                       Row{0.8, 5, 4, 1},        // k past the residency
                       Row{0.5, 1, 4, 0.25},     // a = 0: no faster than sharing, k / per_sm
                       Row{0.5, 3, 4, 0.75},     //
                       Row{1.0, 1, 4, 1},        // a = 1: one CTA fills the SM
                       Row{0.58, 1, 4, 0.3805},  // a = 0.2759: 0.2759 / (1 - 0.7241^4)
                       Row{0.58, 2, 4, 0.6560}}) {
    INFO("lone " << r.lone << " k " << r.k << " per_sm " << r.per_sm);
    CHECK(occupancy_efficiency(r.lone, r.k, r.per_sm) == Approx(r.expect).epsilon(1e-3));
  }
}

TEST_CASE("cublas_split_k: the rule and the committed cuBLAS launches", "[stack][timing]") {
  struct Row {
    double m, n, k;
    bool split;
  };
  for (const Row& r : {Row{9, 4096, 4096, true},     // o_proj of an 8B model: split-K + reduce
                       Row{44, 4096, 4096, false},   // 44 x 4096 > 40 x 4096
                       Row{9, 6144, 4096, false},    // n past 5120
                       Row{9, 3072, 2048, false},    // k below 4096
                       Row{160, 2048, 8192, true},   // 160 x 2048 = 40 x 8192
                       Row{200, 2048, 8192, false},  // cuBLAS still splits here: one of the rule's misses
                       Row{1, 5120, 13824, true}}) {
    INFO("m " << r.m << " n " << r.n << " k " << r.k);
    CHECK(cublas_split_k(r.m, r.n, r.k) == r.split);
  }
  // Every gemm_odd launch of the H200 run (torch-micro-s16): split-K when a splitKreduce kernel follows.
  const boost::json::value doc = committed_h200_result("torch-micro-s16-2026-12-04.json");
  int checked = 0, wrong = 0;
  for (const auto& b : doc.at("benchmarks").as_array()) {
    const auto& axes = b.at("axes").as_object();
    if (b.at("family").as_string() != "torch_gemm" || !axes.contains("kernel_names")) continue;
    bool split = false;
    for (const auto& k : axes.at("kernel_names").as_array())
      split |= std::string(k.as_string()).find("splitKreduce") != std::string::npos;
    const double m = axes.at("M").to_number<double>(), n = axes.at("N").to_number<double>(), k = axes.at("K").to_number<double>();
    if (cublas_split_k(m, n, k) != split) {
      ++wrong;
      CHECK(m >= 44);  // the rule's misses: cuBLAS splitting longer (or shorter) at 44 rows and more
    }
    ++checked;
  }
  CHECK(checked == 364);
  CHECK(wrong == 10);
}

TEST_CASE("bf16 GEMMs cuBLAS splits over K pay the reduce kernel; fp8 and unmeasured stacks do not", "[stack][timing]") {
  TimingParams t;
  t.hbm_read_Bps = 4e12;
  t.gemm_overlap_p = 0;
  const double peak = 1e15;
  const KernelTime base = gemm_time(t, peak, 9, 4096, 4096);
  t.gemm_splitk_s = 2e-6;
  CHECK(gemm_time(t, peak, 9, 4096, 4096).time_s == Approx(base.time_s + 2e-6).epsilon(1e-12));
  TimingParams u = t;
  u.gemm_splitk_s = 0;
  CHECK(gemm_time(t, peak, 9, 6144, 4096).time_s == Approx(gemm_time(u, peak, 9, 6144, 4096).time_s).epsilon(1e-12));
  CHECK(fp8_gemm_time(t, 2 * peak, 9, 4096, 4096).time_s ==
        Approx(fp8_gemm_time(u, 2 * peak, 9, 4096, 4096).time_s).epsilon(1e-12));
}

TEST_CASE("FA2 split-KV: each wave lasts its longest split's whole blocks", "[stack][timing]") {
  TimingParams t = fa2_params();
  t.attn_units_sat = 1e-9;         // every wave at full bandwidth
  t.attn_compute_flops = 1e18;     // memory-bound: the K/V stream alone
  t.attn_lone_cta_efficiency = 1;  // wave terms on, no lone-CTA slowdown
  struct Row {
    double positions, longest_positions;
  };
  // MHA at head_dim 64 (256-key blocks), B 9 x 20 heads = 180 units: 4 splits (fa2_splits) at these contexts.
  // 2500 positions = 10 blocks -> 3, 3, 3, 1: the longest split holds 768 positions against 625 on average;
  // 15000 = 59 blocks -> 15 x 256 = 3840 against 3750; 8192 = 32 blocks split evenly.
  for (const Row& r : {Row{2500, 768}, Row{15000, 3840}, Row{8192, 2048}}) {
    INFO("positions " << r.positions);
    double splits = 0;
    const double kv = 9 * r.positions * 2 * 20 * 64 * 2;
    const KernelTime k = packed_decode_attention_time(t, 9, 20, 20, r.positions, 64, kv, &splits);
    REQUIRE(splits == 4);
    // 720 CTAs in 264 slots: 3 waves (2 full, then 192 CTAs on 132 SMs: two per SM, a full SM's pace).
    const double cta_s = kv / 720 * (r.longest_positions / (r.positions / 4)) / (0.5 * 1e12);
    const double other_s = (2.0 * 2 * 9 * 20 * 64 + 2.0 * 4 * 9 * 20 * 4 * 66) / (0.5 * 1e12);
    CHECK(k.time_s == Approx(264 * cta_s * 2 + 192 * cta_s + other_s).epsilon(1e-9));
  }
}
