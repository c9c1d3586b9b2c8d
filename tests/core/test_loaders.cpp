// Loaders and strict JSON: every bundled preset loads and validates, to_json round-trips, and a
// table of bad inputs produces errors that name the file, the key, what was expected and found.
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "kvscope/core/embedded_data.hpp"
#include "kvscope/core/error.hpp"
#include "kvscope/core/json_util.hpp"
#include "kvscope/core/loaders.hpp"

using namespace kvscope;
namespace bj = boost::json;
namespace fs = std::filesystem;

namespace {

// A minimal valid model (4 layers so producer maps stay short).
const char* kBaseModel = R"({
  "schema": "kvscope-model/1", "id": "tiny", "name": "Tiny", "n_layers": 4, "d_model": 256,
  "n_q_heads": 4, "n_kv_heads": 2, "head_dim": 64, "mlp": "swiglu", "ffn_dim": 1024,
  "vocab": 1000, "tied_embeddings": false, "source": {"url": "https://example.org", "notes": "test"}
})";

const char* kBaseGpu = R"({
  "schema": "kvscope-gpu/1", "id": "tiny-gpu", "name": "Tiny GPU", "vendor": "NVIDIA", "architecture": "Hopper",
  "memory_GB": 80, "hbm_bandwidth_GBps": 3350, "bf16_dense_TFLOPS": 989.4, "fp8_dense_TFLOPS": 0,
  "l2_cache_MiB": 50, "sm_count": 132, "tdp_W": 700, "interconnect": "none", "interconnect_GBps": 0,
  "source": {"url": "https://example.org"}
})";

const char* kCalibration = R"({
  "source": "kvbench test", "fitted_on": "a.json", "date_utc": "2026-01-01T00:00:00Z",
  "hbm_read_GBps": 3000, "hbm_copy_GBps": 2900, "l2_read_GBps": 7500, "l2_capacity_MiB": 37.5,
  "l2_transition": 0.15, "gemm_bw_fraction": 0.9, "gemm_fixed_us": 3, "gemm_compute_fraction": 0.8,
  "gemm_m_half": 16, "attn_bw_fraction": 0.88, "attn_fixed_us": 4, "attn_units_sat": 264,
  "attn_compute_TFLOPS": 60, "attn_fp8_bw_fraction": 0.76, "attn_combine_per_split_us": 0.1, "prefill_attn_compute_fraction": 0.4,
  "elementwise_bw_fraction": 0.8, "elementwise_fixed_us": 1, "rope_bw_fraction": 0.5, "rope_fixed_us": 4, "launch_graph_us": 1.3, "launch_stream_us": 2.5, "launch_cpu_us": 4, "launch_event_us": 2, "compute_clock_ratio": 0.8,
  "allreduce_latency_us": 8, "allreduce_bus_GBps": 360
})";

// Merge `patch` (a JSON object text) into `base`; a patch value "DELETE" removes the key. Keys
// with a dot ("moe.n_active", "calibration.x") address one level down.
std::string patched(const char* base, const std::string& patch) {
  bj::value v = bj::parse(base);
  bj::object& o = v.as_object();
  const bj::value changes = bj::parse(patch);
  for (const auto& kv : changes.as_object()) {
    const std::string key(kv.key());
    bj::object* target = &o;
    std::string leaf = key;
    if (auto dot = key.find('.'); dot != std::string::npos) {
      target = &o[key.substr(0, dot)].as_object();
      leaf = key.substr(dot + 1);
    }
    if (kv.value().is_string() && kv.value().get_string() == "DELETE")
      target->erase(leaf);
    else
      (*target)[leaf] = kv.value();
  }
  return bj::serialize(v);
}

std::string replaced(std::string s, const std::string& from, const std::string& to) {
  const auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::string model_error(const std::string& text) {
  return error_of([&] { parse_architecture(parse_json_text(text, "bad.json"), "bad.json"); });
}
std::string gpu_error(const std::string& text) {
  return error_of([&] { parse_gpu(parse_json_text(text, "gpu.json"), "gpu.json"); });
}

struct BadCase {
  const char* what;
  std::string text;
  std::vector<std::string> fragments;
};

void check_fragments(const std::string& msg, const std::vector<std::string>& fragments) {
  for (const auto& f : fragments) {
    INFO("message: " << msg);
    CHECK_THAT(msg, Catch::Contains(f));
  }
}

fs::path temp_dir() {
  fs::path d = fs::temp_directory_path() / ("kvscope-loaders-" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

bool same(double a, double b) {
  return a == b || std::abs(a - b) <= 1e-12 * std::max(std::abs(a), std::abs(b));
}

void check_same(const Architecture& a, const Architecture& b) {
  INFO(a.id);
  CHECK(a.id == b.id);
  CHECK(a.name == b.name);
  CHECK(a.n_layers == b.n_layers);
  CHECK(a.d_model == b.d_model);
  CHECK(a.n_q_heads == b.n_q_heads);
  CHECK(a.n_kv_heads == b.n_kv_heads);
  CHECK(a.head_dim == b.head_dim);
  CHECK(a.mlp == b.mlp);
  CHECK(a.ffn_dim == b.ffn_dim);
  CHECK(a.moe.n_routed == b.moe.n_routed);
  CHECK(a.moe.n_active == b.moe.n_active);
  CHECK(a.moe.n_shared == b.moe.n_shared);
  CHECK(a.moe.expert_ffn == b.moe.expert_ffn);
  CHECK(a.moe.n_dense_layers == b.moe.n_dense_layers);
  REQUIRE(a.mla.has_value() == b.mla.has_value());
  if (a.mla) {
    CHECK(a.mla->kv_lora_rank == b.mla->kv_lora_rank);
    CHECK(a.mla->qk_rope_dim == b.mla->qk_rope_dim);
    CHECK(a.mla->qk_nope_dim == b.mla->qk_nope_dim);
    CHECK(a.mla->v_head_dim == b.mla->v_head_dim);
    CHECK(a.mla->q_lora_rank == b.mla->q_lora_rank);
  }
  CHECK(a.vocab == b.vocab);
  CHECK(a.tied_embeddings == b.tied_embeddings);
  CHECK(a.qkv_bias == b.qkv_bias);
  CHECK(a.kv_producer == b.kv_producer);
  CHECK(a.layer_kind == b.layer_kind);
  CHECK(a.window == b.window);
  CHECK(a.kv_dtype == b.kv_dtype);
  CHECK(a.kv_quant_group == b.kv_quant_group);
  CHECK(a.sharing == b.sharing);
  CHECK(a.provenance.source == b.provenance.source);
  CHECK(a.provenance.notes == b.provenance.notes);
  CHECK(a.published_params == b.published_params);
  CHECK(a.published_active_params == b.published_active_params);
}

void check_same(const GpuSpec& a, const GpuSpec& b) {
  INFO(a.id);
  CHECK(a.id == b.id);
  CHECK(a.name == b.name);
  CHECK(a.vendor == b.vendor);
  CHECK(a.architecture == b.architecture);
  CHECK(same(a.memory_B, b.memory_B));
  REQUIRE(a.memory_usable_B.has_value() == b.memory_usable_B.has_value());
  if (a.memory_usable_B) CHECK(same(*a.memory_usable_B, *b.memory_usable_B));
  CHECK(same(a.hbm_bandwidth_Bps, b.hbm_bandwidth_Bps));
  CHECK(same(a.bf16_flops, b.bf16_flops));
  CHECK(same(a.fp8_flops, b.fp8_flops));
  CHECK(same(a.l2_cache_B, b.l2_cache_B));
  CHECK(a.sm_count == b.sm_count);
  CHECK(same(a.tdp_W, b.tdp_W));
  CHECK(same(a.interconnect_Bps, b.interconnect_Bps));
  CHECK(a.interconnect == b.interconnect);
  CHECK(a.provenance.source == b.provenance.source);
  CHECK(a.provenance.notes == b.provenance.notes);
  REQUIRE(a.calibration.has_value() == b.calibration.has_value());
  if (a.calibration) {
    const auto& x = *a.calibration;
    const auto& y = *b.calibration;
    CHECK(x.source == y.source);
    CHECK(x.fitted_on == y.fitted_on);
    CHECK(x.date_utc == y.date_utc);
    CHECK(x.borrowed == y.borrowed);
    CHECK(x.borrowed_from == y.borrowed_from);
    const TimingParams& p = x.params;
    const TimingParams& q = y.params;
    for (auto f : {&TimingParams::hbm_read_Bps,
                   &TimingParams::hbm_copy_Bps,
                   &TimingParams::l2_read_Bps,
                   &TimingParams::l2_capacity_B,
                   &TimingParams::l2_transition,
                   &TimingParams::gemm_bw_fraction,
                   &TimingParams::gemm_fixed_s,
                   &TimingParams::gemm_compute_fraction,
                   &TimingParams::gemm_m_half,
                   &TimingParams::attn_bw_fraction,
                   &TimingParams::attn_fixed_s,
                   &TimingParams::attn_units_sat,
                   &TimingParams::attn_compute_flops,
                   &TimingParams::attn_fp8_bw_fraction,
                   &TimingParams::attn_combine_per_split_s,
                   &TimingParams::prefill_attn_compute_fraction,
                   &TimingParams::elementwise_bw_fraction,
                   &TimingParams::elementwise_fixed_s,
                   &TimingParams::rope_bw_fraction,
                   &TimingParams::rope_fixed_s,
                   &TimingParams::launch_graph_s,
                   &TimingParams::launch_stream_s,
                   &TimingParams::launch_cpu_s,
                   &TimingParams::launch_event_s,
                   &TimingParams::compute_clock_ratio,
                   &TimingParams::allreduce_latency_s,
                   &TimingParams::allreduce_bus_Bps,
                   &TimingParams::gemm_overlap_p,
                   &TimingParams::gemm_splitk_s,
                   &TimingParams::attn_cta_fixed_s,
                   &TimingParams::attn_lone_cta_efficiency,
                   &TimingParams::attn_lone_cta_efficiency_d64,
                   &TimingParams::attn_lone_cta_efficiency_d256,
                   &TimingParams::attn_tile_reread_fraction,
                   &TimingParams::attn_units_sat_d64,
                   &TimingParams::attn_units_sat_d256,
                   &TimingParams::attn_sat_sharpness,
                   &TimingParams::attn_compute_flops_d64,
                   &TimingParams::attn_compute_flops_d256,
                   &TimingParams::attn_narrow_smem_efficiency,
                   &TimingParams::attn_padded_efficiency,
                   &TimingParams::power_refill_tau_s}) {
      CHECK(same(p.*f, q.*f));
    }
  }
}

}  // namespace

// ---- Presets ---------------------------------------------------------------------------------

TEST_CASE("every model preset loads, validates and reproduces the reference KV bytes", "[loaders][presets]") {
  // kv_bytes_per_token_bf16_all_layers_full from docs/references.md [MODEL-CFG] (all layers,
  // no sliding-window cap; MLA = latent + RoPE key; Hunyuan = 32 CLA producer layers), plus the
  // presets that are not in the CSV (computed by hand: 2 * kv_heads * head_dim * kv_layers * 2).
  const std::vector<std::pair<std::string, double>> expected = {
      {"llama-2-7b", 524288},  {"llama-2-13b", 819200},    {"llama-2-70b", 327680}, {"llama-3-8b", 131072},
      {"llama-3-70b", 327680}, {"llama-3.1-405b", 516096}, {"mistral-7b", 131072},  {"mixtral-8x7b", 131072},
      {"qwen2.5-7b", 57344},   {"qwen2.5-72b", 327680},    {"gemma-2-9b", 344064},  {"gemma-2-27b", 376832},
      {"deepseek-v3", 70272},  {"hunyuan-large", 81920},   {"llama-3.2-1b", 32768}, {"cla-paper-1b", 163840},
      {"cla-paper-3b", 393216}};
  const auto presets = list_model_presets();
  REQUIRE(presets.size() == expected.size());
  for (std::size_t i = 1; i < presets.size(); ++i) CHECK(presets[i - 1].id < presets[i].id);
  for (const auto& [id, bytes] : expected) {
    INFO(id);
    const Architecture a = load_architecture(id);
    CHECK(a.id == id);
    CHECK_NOTHROW(validate(a, id));
    CHECK_FALSE(a.name.empty());
    CHECK_FALSE(a.provenance.source.empty());
    CHECK_FALSE(a.provenance.notes.empty());
    CHECK(a.layer_kind.size() == static_cast<std::size_t>(a.n_layers));
    const double per_layer = a.mla ? a.mla->kv_lora_rank + a.mla->qk_rope_dim : 2.0 * a.n_kv_heads * a.head_dim;
    CHECK(per_layer * kv_layer_count(a) * 2.0 == bytes);
  }
}

TEST_CASE("model presets carry the reference's distinctive features", "[loaders][presets]") {
  const Architecture mistral = load_architecture("mistral-7b");
  CHECK(std::all_of(mistral.layer_kind.begin(), mistral.layer_kind.end(), [](LayerKind k) { return k == LayerKind::local; }));
  CHECK(mistral.window == 4096);
  const Architecture gemma = load_architecture("gemma-2-9b");
  CHECK(gemma.layer_kind[0] == LayerKind::local);
  CHECK(gemma.layer_kind[1] == LayerKind::global);
  CHECK(gemma.tied_embeddings);
  CHECK(gemma.window == 4096);
  const Architecture ds = load_architecture("deepseek-v3");
  REQUIRE(ds.mla);
  CHECK(ds.mla->q_lora_rank == 1536);
  CHECK(ds.mlp == MlpKind::moe);
  CHECK(ds.moe.n_dense_layers == 3);
  CHECK(ds.moe.n_routed == 256);
  CHECK(ds.moe.n_active == 8);
  CHECK(ds.moe.n_shared == 1);
  const Architecture mix = load_architecture("mixtral-8x7b");
  CHECK(mix.moe.n_routed == 8);
  CHECK(mix.moe.n_active == 2);
  CHECK(mix.moe.n_shared == 0);
  const Architecture hy = load_architecture("hunyuan-large");
  CHECK(hy.sharing == "CLA2");
  CHECK(kv_layer_count(hy) == 32);
  CHECK(hy.head_dim == 80);
  CHECK(load_architecture("qwen2.5-7b").qkv_bias);
  CHECK(load_architecture("llama-3-8b").sharing == "none");
  CHECK(load_architecture("llama-3-8b").kv_producer.empty());
  CHECK(load_architecture("cla-paper-1b").vocab == 50304);
}

TEST_CASE("every GPU preset loads and validates", "[loaders][presets]") {
  const std::vector<std::string> ids = {"a100-pcie-80gb", "a100-sxm-40gb", "a100-sxm-80gb", "a10g", "b200", "gb200",  "h100-nvl",
                                        "h100-pcie",      "h100-sxm",      "h200",          "l4",   "l40s", "mi300x", "mi325x",
                                        "rtx-4090",       "rtx-6000-ada",  "v100-sxm-32gb"};
  const auto gpus = list_gpu_presets();
  REQUIRE(gpus.size() == ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    INFO(ids[i]);
    CHECK(gpus[i].id == ids[i]);
    CHECK_NOTHROW(validate(gpus[i], ids[i]));
    CHECK_FALSE(gpus[i].provenance.source.empty());
    CHECK_THAT(gpus[i].provenance.notes, Catch::Contains("Evidence:"));
  }
  const GpuSpec h100 = load_gpu("h100-sxm");
  CHECK(h100.memory_B == 80e9);
  REQUIRE(h100.memory_usable_B);
  // The device total as the driver reports it (measured cudaMemGetInfo total), not nvidia-smi's.
  CHECK(*h100.memory_usable_B == 85017493504.0);
  CHECK_THAT(h100.memory_usable_source, Catch::StartsWith("measured: "));
  CHECK(h100.hbm_bandwidth_Bps == 3350e9);
  CHECK(h100.l2_cache_B == 50.0 * 1048576.0);
  CHECK(h100.sm_count == 132);
  CHECK(h100.interconnect_Bps == 900e9);
  REQUIRE(load_gpu("h200").memory_usable_B);
  CHECK(*load_gpu("h200").memory_usable_B == 150109880320.0);
  // Every preset carries its device total with its source; the same HBM part gives the same total.
  for (const GpuSpec& g : gpus) {
    INFO(g.id);
    REQUIRE(g.memory_usable_B);
    CHECK_FALSE(g.memory_usable_source.empty());
    CHECK(*g.memory_usable_B <= g.memory_B * 1.0738);  // never more than the nominal capacity read as GiB
  }
  for (const char* id : {"a100-sxm-80gb", "a100-pcie-80gb", "h100-pcie"})
    CHECK(load_gpu(id).memory_usable_B == h100.memory_usable_B);
  // HBM stack arithmetic for parts nobody measured: B200 = 180 GiB x the H200's visible fraction.
  CHECK(*load_gpu("b200").memory_usable_B == 182752.0 * 1048576.0);
  CHECK(*load_gpu("mi300x").memory_usable_B / 1073741824.0 == Approx(190.03).margin(0.01));
  CHECK(load_gpu("a100-sxm-80gb").fp8_flops == 0);  // Ampere: no FP8
  CHECK(load_gpu("a10g").tdp_W == 0);               // not published
}

TEST_CASE("the paper results CSV is embedded verbatim", "[loaders][presets]") {
  bool found = false;
  for (const auto& f : embedded_files()) {
    if (f.path == "paper/cla_paper_results.csv") {
      found = true;
      CHECK(f.content.substr(0, 30) == "model_size,source_table,config");
      CHECK(std::count(f.content.begin(), f.content.end(), '\n') == 30);
    }
  }
  CHECK(found);
}

// ---- Round trips ------------------------------------------------------------------------------

TEST_CASE("to_json round-trips every preset", "[loaders][roundtrip]") {
  for (const Architecture& a : list_model_presets()) {
    const bj::value j = to_json(a);
    check_same(a, parse_architecture(j, a.id));
    // Through text too.
    check_same(a, parse_architecture(parse_json_text(bj::serialize(j), a.id), a.id));
  }
  for (const GpuSpec& g : list_gpu_presets()) check_same(g, parse_gpu(to_json(g), g.id));
}

TEST_CASE("to_json round-trips sharing patterns, dtypes and calibration", "[loaders][roundtrip]") {
  const std::vector<std::string> patches = {
      R"({"n_layers": 20, "cla_factor": 3})",
      R"({"n_layers": 20, "sharing_pattern": "KeepEnds"})",
      R"({"n_layers": 20, "sharing_pattern": "DenseBack"})",
      R"({"kv_producers": [0, 0, 2, 0]})",
      R"({"kv_producers": [0, 1, 2, 3]})",
      R"({"layer_pattern": "LLLG", "window": 1024, "kv_dtype": "int4", "kv_quant_group": 64})",
      R"({"mlp": "moe", "ffn_dim": "DELETE", "moe": {"n_routed": 8, "n_active": 2, "expert_ffn": 512}})",
      R"({"mla": {"kv_lora_rank": 128, "qk_rope_dim": 32, "qk_nope_dim": 64, "v_head_dim": 64}})",
      R"({"published_params": 1.5e9, "published_active_params": 6.5e8, "qkv_bias": true, "mlp": "plain"})",
  };
  for (const auto& p : patches) {
    INFO(p);
    const Architecture a = parse_architecture(bj::parse(patched(kBaseModel, p)), "t.json");
    check_same(a, parse_architecture(to_json(a), "t.json"));
  }
  const Architecture ident = parse_architecture(bj::parse(patched(kBaseModel, R"({"kv_producers": [0, 1, 2, 3]})")), "t");
  CHECK(ident.kv_producer.empty());  // normalized: every layer its own
  CHECK(ident.sharing == "none");

  const std::string with_cal = patched(kBaseGpu, std::string(R"({"calibration": )") + kCalibration + "}");
  const GpuSpec g = parse_gpu(bj::parse(with_cal), "g.json");
  REQUIRE(g.calibration);
  CHECK(g.calibration->params.hbm_read_Bps == 3000e9);
  CHECK(g.calibration->params.l2_capacity_B == 37.5 * 1048576.0);
  CHECK(same(g.calibration->params.gemm_fixed_s, 3e-6));
  CHECK(same(g.calibration->params.attn_compute_flops, 60e12));
  check_same(g, parse_gpu(to_json(g), "g.json"));
  // A borrowed calibration keeps its origin; a fitted value that is not a round number survives.
  GpuSpec b = g;
  b.calibration->borrowed = true;
  b.calibration->borrowed_from = "h100-sxm";
  b.calibration->params.attn_bw_fraction = 0.8712345678901234;
  b.calibration->params.launch_graph_s = 1.2345678901234e-6;
  check_same(b, parse_gpu(to_json(b), "g.json"));
  // The written profile is itself a strict kvscope-gpu/1 document.
  check_same(b, parse_gpu(parse_json_text(bj::serialize(to_json(b)), "g.json"), "g.json"));
}

// ---- Bad inputs --------------------------------------------------------------------------------

TEST_CASE("bad model JSON is rejected with file, key, expected and found", "[loaders][errors]") {
  auto p = [](const std::string& patch) { return patched(kBaseModel, patch); };
  const std::vector<BadCase> cases = {
      // Malformed JSON: line and column.
      {"syntax error",
       "{\"schema\": \"kvscope-model/1\",\n  \"id\": tiny}",
       {"bad.json: invalid JSON at line 2, column 9", "syntax error", "near 'tiny}'"}},
      {"trailing comma", "{\"n_layers\": 4,}", {"bad.json: invalid JSON at line 1, column 16"}},
      {"comment", "{\"n_layers\": 4 /* no */}", {"invalid JSON at line 1, column 16"}},
      {"unterminated", "{\"n_layers\": 4", {"invalid JSON at line 1, column 15", "incomplete JSON", "at the end of the text"}},
      {"text after value", "{\"n_layers\": 4}\n{}", {"invalid JSON at line 2, column 1", "unexpected text after the JSON value"}},
      {"empty", "", {"bad.json: invalid JSON at line 1, column 1", "the file is empty"}},
      {"duplicate key", "{\"n_layers\": 4,\n \"n_layers\": 5}", {"line 2, column 2", "duplicate key 'n_layers'"}},
      {"binary junk",
       std::string("\x7f"
                   "ELF\x02\x01\x00\x00",
                   8),
       {"bad.json: invalid JSON at line 1, column 1", "looks binary"}},
      {"invalid utf-8", "{\"name\": \"\xff\"}", {"invalid JSON at line 1"}},
      {"not an object", "[1, 2]", {"bad.json: expected a JSON object, found an array of 2 items"}},
      // Schema.
      {"wrong schema version",
       p(R"({"schema": "kvscope-model/9"})"),
       {"bad.json: 'schema': expected 'kvscope-model/1', found 'kvscope-model/9'"}},
      {"gpu schema for a model", p(R"({"schema": "kvscope-gpu/1"})"), {"expected 'kvscope-model/1', found 'kvscope-gpu/1'"}},
      {"missing schema", p(R"({"schema": "DELETE"})"), {"bad.json: missing key 'schema'"}},
      // Wrong types.
      {"int as string",
       p(R"({"n_kv_heads": "8"})"),
       {"bad.json: 'n_kv_heads': expected an integer in 1..65536, found \"8\" (string)"}},
      {"int as bool", p(R"({"n_layers": true})"), {"'n_layers': expected an integer in 1..10000, found true (boolean)"}},
      {"int as null", p(R"({"d_model": null})"), {"bad.json: missing key 'd_model'"}},
      {"fractional int", p(R"({"head_dim": 64.5})"), {"'head_dim': expected an integer in 1..65536, found 64.5"}},
      {"bool as string",
       p(R"({"tied_embeddings": "false"})"),
       {"'tied_embeddings': expected true or false, found \"false\" (string)"}},
      {"string as number", p(R"({"name": 7})"), {"'name': expected a non-empty string, found 7"}},
      {"empty string", p(R"({"name": ""})"), {"'name': expected a non-empty string, found \"\""}},
      {"source not an object", p(R"({"source": "https://x"})"), {"'source': expected an object, found \"https://x\" (string)"}},
      {"enum typo",
       p(R"({"mlp": "swiglue"})"),
       {"'mlp': expected one of 'swiglu', 'plain', 'moe', found \"swiglue\" (string) (did you mean 'swiglu'?)"}},
      {"bad kv dtype",
       p(R"({"kv_dtype": "fp4"})"),
       {"'kv_dtype': expected one of 'bf16', 'fp16', 'fp8', 'int8', 'int4', found \"fp4\""}},
      {"bad id", p(R"({"id": "Llama 3"})"), {"'id': expected a kebab-case id", "found \"Llama 3\""}},
      // Missing and unknown keys.
      {"missing key", p(R"({"d_model": "DELETE"})"), {"bad.json: missing key 'd_model' (expected an integer in 1..1000000)"}},
      {"typo of a required key",
       p(R"({"n_kv_heads": "DELETE", "n_kv_head": 2})"),
       {"bad.json: unknown key 'n_kv_head' (did you mean 'n_kv_heads'?)"}},
      {"typo of an optional key", p(R"({"qkv_bais": true})"), {"bad.json: unknown key 'qkv_bais' (did you mean 'qkv_bias'?)"}},
      {"unknown key, nothing close",
       p(R"({"rope_theta": 10000})"),
       {"bad.json: unknown key 'rope_theta' (known keys: schema, id"}},
      {"typo in a nested object",
       p(R"({"source": {"url": "u", "note": "x"}})"),
       {"unknown key 'source.note' (did you mean 'source.notes'?)"}},
      {"missing nested key", p(R"({"source": {"notes": "x"}})"), {"bad.json: missing key 'source.url'"}},
      // Numbers out of range.
      {"zero", p(R"({"n_layers": 0})"), {"'n_layers': expected an integer in 1..10000, found 0"}},
      {"negative", p(R"({"n_kv_heads": -3})"), {"'n_kv_heads': expected an integer in 1..65536, found -3"}},
      {"NaN as string", p(R"({"d_model": "NaN"})"), {"'d_model': expected an integer in 1..1000000, found \"NaN\" (string)"}},
      {"inf literal",
       "{\"schema\": \"kvscope-model/1\", \"id\": \"x\", \"name\": \"x\", \"n_layers\": 1e999}",
       {"'n_layers': expected an integer in 1..10000, found inf"}},
      {"huge integer", p(R"({"d_model": 1000001})"), {"'d_model': expected an integer in 1..1000000, found 1000001"}},
      {"beyond int64", p(R"({"vocab": 99999999999999999999})"), {"'vocab': expected an integer in 1..100000000, found 1e+20"}},
      {"beyond uint64 range of layers",
       p(R"({"n_layers": 18446744073709551615})"),
       {"'n_layers': expected an integer in 1..10000, found 18446744073709551615"}},
      {"huge ffn", p(R"({"ffn_dim": 10000001})"), {"'ffn_dim': expected an integer in 1..10000000, found 10000001"}},
      {"huge published params", p(R"({"published_params": 1e16})"), {"'published_params': expected a number in 1..1e+15"}},
      {"active above total",
       p(R"({"published_params": 1e9, "published_active_params": 2e9})"),
       {"'published_active_params': expected at most published_params"}},
      // Consistency.
      {"heads don't divide",
       p(R"({"n_q_heads": 4, "n_kv_heads": 3})"),
       {"bad.json: 'n_kv_heads': expected a divisor of n_q_heads (4), found 3"}},
      {"moe without block", p(R"({"mlp": "moe"})"), {"bad.json: missing key 'moe' (expected an object)"}},
      {"moe block on a dense model",
       p(R"({"moe": {"n_routed": 8, "n_active": 2, "expert_ffn": 512}})"),
       {"'moe': expected no 'moe' block (mlp is 'swiglu'"}},
      {"moe active above routed",
       p(R"({"mlp": "moe", "moe": {"n_routed": 8, "n_active": 9, "expert_ffn": 512}})"),
       {"'moe.n_active': expected an integer in 1..8, found 9"}},
      {"moe typo",
       p(R"({"mlp": "moe", "moe": {"n_routed": 8, "n_activ": 2, "expert_ffn": 512}})"),
       {"unknown key 'moe.n_activ' (did you mean 'moe.n_active'?)"}},
      {"moe dense layers above n_layers",
       p(R"({"mlp": "moe", "moe": {"n_routed": 8, "n_active": 2, "expert_ffn": 512, "n_dense_layers": 5}})"),
       {"'moe.n_dense_layers': expected an integer in 0..4, found 5"}},
      {"mla zero rank",
       p(R"({"mla": {"kv_lora_rank": 0, "qk_rope_dim": 64, "qk_nope_dim": 128, "v_head_dim": 128}})"),
       {"'mla.kv_lora_rank': expected an integer in 1..65536, found 0"}},
      {"empty producer list",
       p(R"({"kv_producers": []})"),
       {"'kv_producers': expected an array of 4 layer indices (one per layer), found an empty array"}},
      {"producers wrong length",
       p(R"({"kv_producers": [0, 0, 2]})"),
       {"'kv_producers': expected an array of 4 layer indices", "found an array of 3 items"}},
      {"producer points forward",
       p(R"({"kv_producers": [0, 2, 2, 2]})"),
       {"'kv_producers[1]': expected a layer at or below 1 (K/V cannot come from a later layer), found 2"}},
      {"producer out of range",
       p(R"({"kv_producers": [0, 0, 0, 7]})"),
       {"'kv_producers[3]': expected an integer in 0..3, found 7"}},
      {"producer negative",
       p(R"({"kv_producers": [0, -1, 0, 0]})"),
       {"'kv_producers[1]': expected an integer in 0..3, found -1"}},
      {"producer not a producer",
       p(R"({"kv_producers": [0, 0, 1, 3]})"),
       {"'kv_producers[2]': expected a layer that stores its own K/V"}},
      {"producer as string",
       p(R"({"kv_producers": "0,0,2,2"})"),
       {"'kv_producers': expected an array of 4 layer indices (one per layer), found \"0,0,2,2\" (string)"}},
      {"cla factor above n_layers",
       p(R"({"cla_factor": 5})"),
       {"bad.json: 'cla_factor': expected an integer in 1..n_layers (4), found 5"}},
      {"cla factor zero", p(R"({"cla_factor": 0})"), {"'cla_factor': expected an integer in 1..10000, found 0"}},
      {"two sharing keys",
       p(R"({"cla_factor": 2, "sharing_pattern": "KeepEnds"})"),
       {"expected at most one of 'cla_factor', 'kv_producers', 'sharing_pattern', found 'cla_factor' and 'sharing_pattern'"}},
      {"three sharing keys",
       p(R"({"cla_factor": 2, "kv_producers": [0, 0, 2, 2], "sharing_pattern": "KeepEnds"})"),
       {"found 'cla_factor' and 'kv_producers' and 'sharing_pattern'"}},
      {"unknown sharing pattern",
       p(R"({"sharing_pattern": "KeepEnd"})"),
       {"'sharing_pattern': expected one of 'KeepEnds', 'DenseFront', 'DenseBack', found \"KeepEnd\" (string) (did you mean "
        "'KeepEnds'?)"}},
      {"local layers without window", p(R"({"layer_pattern": "LG"})"), {"bad.json: missing key 'window'"}},
      {"window without local layers",
       p(R"({"window": 4096})"),
       {"'window': expected no window (layer_pattern has no 'L' layers"}},
      {"zero window", p(R"({"layer_pattern": "L", "window": 0})"), {"'window': expected an integer in 1..100000000, found 0"}},
      {"bad layer pattern",
       p(R"({"layer_pattern": "LX", "window": 8})"),
       {"'layer_pattern': expected only the letters G (global) and L (local), found 'X' at position 1"}},
      {"empty layer pattern", p(R"({"layer_pattern": ""})"), {"'layer_pattern': expected a non-empty string, found \"\""}},
      {"zero quant group", p(R"({"kv_quant_group": 0})"), {"'kv_quant_group': expected an integer in 1..65536, found 0"}},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    const std::string msg = model_error(c.text);
    check_fragments(msg, c.fragments);
  }
  // Consistency errors are ConfigErrors (still InputErrors); syntax errors are InputErrors.
  CHECK_THROWS_AS(parse_architecture(bj::parse(p(R"({"n_q_heads": 4, "n_kv_heads": 3})")), "x"), ConfigError);
  CHECK_THROWS_AS(parse_architecture(bj::parse(p(R"({"kv_producers": [0, 2, 2, 2]})")), "x"), ConfigError);
  CHECK_THROWS_AS(parse_json_text("{", "x"), InputError);
}

TEST_CASE("bad GPU JSON is rejected with file, key, expected and found", "[loaders][errors]") {
  auto p = [](const std::string& patch) { return patched(kBaseGpu, patch); };
  auto cal = [](const std::string& patch) {
    return patched(patched(kBaseGpu, std::string(R"({"calibration": )") + kCalibration + "}").c_str(), patch);
  };
  const std::vector<BadCase> cases = {
      {"wrong schema version",
       p(R"({"schema": "kvscope-gpu/2"})"),
       {"gpu.json: 'schema': expected 'kvscope-gpu/1', found 'kvscope-gpu/2'"}},
      {"subnormal peak (fuzzer)",
       p(R"({"bf16_dense_TFLOPS": 364.21e-320})"),
       {"gpu.json: 'bf16_dense_TFLOPS': expected a number in [1e-06, 1e+06], found"}},
      {"zero memory", p(R"({"memory_GB": 0})"), {"gpu.json: 'memory_GB': expected a number in [0.001, 1e+06], found 0"}},
      {"negative fp8", p(R"({"fp8_dense_TFLOPS": -1})"), {"'fp8_dense_TFLOPS': expected a number in 0..1e+06, found -1"}},
      {"bandwidth as string",
       p(R"({"hbm_bandwidth_GBps": "3350"})"),
       {"'hbm_bandwidth_GBps': expected a number in 0..1e+06, found \"3350\" (string)"}},
      {"NaN as string",
       p(R"({"bf16_dense_TFLOPS": "NaN"})"),
       {"'bf16_dense_TFLOPS': expected a number in 0..1e+06, found \"NaN\" (string)"}},
      {"inf literal",
       replaced(p("{}"), "\"l2_cache_MiB\":50", "\"l2_cache_MiB\":1e999"),
       {"'l2_cache_MiB': expected a number in 0..1e+06, found inf"}},
      {"huge bandwidth",
       p(R"({"hbm_bandwidth_GBps": 1e300})"),
       {"'hbm_bandwidth_GBps': expected a number in 0..1e+06, found 1e+300"}},
      {"fractional SMs", p(R"({"sm_count": 132.5})"), {"'sm_count': expected an integer in 1..1000000, found 132.5"}},
      {"zero usable memory", p(R"({"memory_usable_MiB": 0})"), {"'memory_usable_MiB': expected a number in [1, 1e+09], found 0"}},
      {"bandwidth typo",
       p(R"({"hbm_bandwidth_GBps": "DELETE", "hbm_bandwith_GBps": 3350})"),
       {"gpu.json: unknown key 'hbm_bandwith_GBps' (did you mean 'hbm_bandwidth_GBps'?)"}},
      {"unit-less key", p(R"({"memory_GB": "DELETE", "memory": 80})"), {"gpu.json: missing key 'memory_GB'"}},
      {"wrong unit",
       p(R"({"l2_cache_MiB": "DELETE", "l2_cache_MB": 50})"),
       {"unknown key 'l2_cache_MB' (did you mean 'l2_cache_MiB'?)"}},
      {"source without url", p(R"({"source": {"notes": "x"}})"), {"gpu.json: missing key 'source.url'"}},
      {"calibration missing key",
       cal(R"({"calibration.attn_fixed_us": "DELETE"})"),
       {"gpu.json: missing key 'calibration.attn_fixed_us'"}},
      {"calibration typo",
       cal(R"({"calibration.hbm_read_GBps": "DELETE", "calibration.hbm_read_GBs": 3000})"),
       {"unknown key 'calibration.hbm_read_GBs' (did you mean 'calibration.hbm_read_GBps'?)"}},
      {"calibration SI key",
       cal(R"({"calibration.gemm_fixed_s": 3e-6})"),
       {"unknown key 'calibration.gemm_fixed_s' (did you mean 'calibration.gemm_fixed_us'?)"}},
      {"calibration lone CTA over 1",
       cal(R"({"calibration.attn_lone_cta_efficiency": 1.5})"),
       {"'calibration.attn_lone_cta_efficiency': expected a number in 0..1, found 1.5"}},
      {"calibration tile re-read over 1",
       cal(R"({"calibration.attn_tile_reread_fraction": 1.2})"),
       {"'calibration.attn_tile_reread_fraction': expected a number in 0..1, found 1.2"}},
      {"calibration negative refill time constant",
       cal(R"({"calibration.power_refill_tau_ms": -3})"),
       {"'calibration.power_refill_tau_ms': expected a number in 0..10000, found -3"}},
      {"calibration negative split-K cost",
       cal(R"({"calibration.gemm_splitk_us": -1})"),
       {"'calibration.gemm_splitk_us': expected a number in 0..1e+06, found -1"}},
      {"calibration negative overlap",
       cal(R"({"calibration.gemm_overlap_p": -2})"),
       {"'calibration.gemm_overlap_p': expected a number in 0..100, found -2"}},
      {"calibration zero fraction",
       cal(R"({"calibration.attn_bw_fraction": 0})"),
       {"'calibration.attn_bw_fraction': expected a number in [1e-06, 2], found 0"}},
      {"calibration borrowed without origin",
       cal(R"({"calibration.borrowed": true})"),
       {"missing key 'calibration.borrowed_from'"}},
      {"calibration origin without borrowed",
       cal(R"({"calibration.borrowed_from": "h100-sxm"})"),
       {"'calibration.borrowed_from': expected no 'borrowed_from' unless \"borrowed\": true"}},
      {"calibration not an object", p(R"({"calibration": []})"), {"'calibration': expected an object, found an empty array"}},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    check_fragments(gpu_error(c.text), c.fragments);
  }
  // fp8 0 (unsupported), tdp 0 (unpublished) and interconnect 0 (none) are allowed.
  CHECK_NOTHROW(parse_gpu(bj::parse(p(R"({"fp8_dense_TFLOPS": 0, "tdp_W": 0, "interconnect_GBps": 0})")), "g"));
  // Optional keys may be null (= absent).
  CHECK_FALSE(parse_gpu(bj::parse(p(R"({"memory_usable_MiB": null})")), "g").memory_usable_B);
}

// ---- Files and presets by name ------------------------------------------------------------------

TEST_CASE("files: missing, directories, binary, too large, presets by name", "[loaders][files]") {
  const fs::path dir = temp_dir();
  CHECK(error_of([] { load_architecture("/nonexistent/dir/model.json"); }) ==
        "cannot open '/nonexistent/dir/model.json': No such file or directory");
  CHECK_THROWS_AS(load_gpu("nope.json"), IoError);
  CHECK_THAT(error_of([&] { read_text_file(dir.string()); }), Catch::Contains("is a directory"));
  CHECK_THAT(error_of([&] { load_architecture(dir.string() + "/"); }), Catch::Contains("is a directory"));
  CHECK_THROWS_AS(read_text_file(dir.string()), IoError);

  const fs::path junk = dir / "junk.json";
  {
    std::ofstream f(junk, std::ios::binary);
    const char bytes[] = {'\x89', 'P', 'N', 'G', '\r', '\n', '\x1a', '\n', '\0', '\0'};
    f.write(bytes, sizeof bytes);
  }
  const std::string jmsg = error_of([&] { load_architecture(junk.string()); });
  CHECK_THAT(jmsg, Catch::StartsWith(junk.string() + ": invalid JSON at line 1, column 1"));
  CHECK_THAT(jmsg, Catch::Contains("looks binary"));

  const fs::path big = dir / "big.json";
  { std::ofstream f(big); }
  fs::resize_file(big, kMaxTextFileBytes + 1);
  CHECK_THAT(error_of([&] { read_text_file(big.string()); }), Catch::Contains("exceeds the 64 MiB limit"));
  fs::remove(big);

  // A user file and a preset resolve the same way.
  const fs::path user = dir / "custom.json";
  write_file_atomically(user.string(), kBaseModel);
  CHECK(load_architecture(user.string()).id == "tiny");
  const std::string bad_where = error_of([&] {
    write_file_atomically(user.string(), patched(kBaseModel, R"({"n_kv_heads": -3})"));
    load_architecture(user.string());
  });
  CHECK(bad_where == user.string() + ": 'n_kv_heads': expected an integer in 1..65536, found -3");

  // Unknown presets list the closest ids.
  const std::string unknown = error_of([] { load_architecture("llama3-8b"); });
  CHECK_THAT(unknown, Catch::StartsWith("unknown model preset 'llama3-8b' (closest: llama-3-8b"));
  CHECK_THAT(error_of([] { load_gpu("h100"); }), Catch::Contains("unknown GPU preset 'h100' (closest: h100-"));
  CHECK_THROWS_AS(load_gpu("h100"), InputError);
  CHECK(looks_like_path("a/b"));
  CHECK(looks_like_path("x.json"));
  CHECK_FALSE(looks_like_path("llama-3-8b"));
  fs::remove_all(dir);
}

TEST_CASE("write_file_atomically replaces whole files and reports failures", "[loaders][files]") {
  const fs::path dir = temp_dir();
  const fs::path f = dir / "out.json";
  write_file_atomically(f.string(), "first");
  CHECK(read_text_file(f.string()) == "first");
  write_file_atomically(f.string(), "second, longer");
  CHECK(read_text_file(f.string()) == "second, longer");
  write_file_atomically(f.string(), "");
  CHECK(read_text_file(f.string()).empty());
  // No temporaries left behind.
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++entries;
  CHECK(entries == 1);
  CHECK_THAT(error_of([&] { write_file_atomically((dir / "no" / "such" / "dir.json").string(), "x"); }),
             Catch::StartsWith("cannot write '" + (dir / "no" / "such" / "dir.json").string() + "'"));
  CHECK_THROWS_AS(write_file_atomically(dir.string(), "x"), IoError);
  fs::remove_all(dir);
}

TEST_CASE("did-you-mean and JSON value descriptions", "[loaders][json]") {
  CHECK(edit_distance("kitten", "sitting") == 3);
  CHECK(edit_distance("", "abc") == 3);
  CHECK(did_you_mean("n_kv_head", {"n_layers", "n_kv_heads", "n_q_heads"}) == std::optional<std::string>("n_kv_heads"));
  CHECK_FALSE(did_you_mean("rope_theta", {"n_layers", "n_kv_heads"}));
  CHECK(closest_names("h100", {"a100-sxm-40gb", "h100-pcie", "h100-sxm", "h200"}, 2) ==
        std::vector<std::string>{"h100-pcie", "h100-sxm"});
  CHECK(describe_json(bj::value(-3)) == "-3");
  CHECK(describe_json(bj::value("8")) == "\"8\" (string)");
  CHECK(describe_json(bj::value(nullptr)) == "null");
  CHECK(describe_json(bj::value(7.5)) == "7.5");
  CHECK(describe_json(bj::array{1, 2, 3}) == "an array of 3 items");
  CHECK(describe_json(bj::object{}) == "an empty object");

  // The reader: nested paths, integral doubles, consumption tracking.
  const bj::value v = bj::parse(R"({"a": 4096.0, "b": {"c": 1e3}, "d": [1, 2], "e": null})");
  JsonObjectReader r(v, "r.json");
  CHECK(r.required_int("a", 1, 10000) == 4096);
  JsonObjectReader b = r.required_object("b");
  CHECK(b.required_int("c", 1, 1000) == 1000);
  CHECK(b.key_path("c") == "b.c");
  b.finish();
  CHECK(r.required_int_array("d", 0, 5, 1, 4) == std::vector<std::int64_t>{1, 2});
  CHECK_FALSE(r.optional_double("e", 0, 1));
  CHECK_NOTHROW(r.finish());
  JsonObjectReader r2(v, "r.json");
  r2.required_int("a", 1, 10000);
  CHECK_THAT(error_of([&] { r2.finish(); }), Catch::StartsWith("r.json: unknown key 'b'"));
}

TEST_CASE("a model or GPU file's errors are reported together, one message each, without consequences",
          "[loaders][errors][collect]") {
  struct Row {
    const char* what;
    bool gpu;
    std::string patch;
    std::vector<std::string> messages;  // exactly these, in this order; one means a plain InputError
  };
  const Row rows[] = {
      {"three bad values",
       false,
       R"({"n_layers": 0, "n_kv_heads": "2", "kv_dtype": "fp9"})",
       {"bad.json: 'n_layers': expected an integer in 1..10000, found 0",
        "bad.json: 'n_kv_heads': expected an integer in 1..65536, found \"2\" (string)",
        "bad.json: 'kv_dtype': expected one of 'bf16', 'fp16', 'fp8', 'int8', 'int4', found \"fp9\" (string) (did you mean "
        "'fp8'?)"}},
      {"a typo is one message, not two; an unknown key is another",
       false,
       R"({"tied_embeddings": "DELETE", "tied_embedings": false, "colour": 1})",
       {"bad.json: unknown key 'tied_embedings' (did you mean 'tied_embeddings'?)",
        "bad.json: unknown key 'colour' (known keys: schema, id, name, n_layers, d_model, n_q_heads, n_kv_heads, head_dim, mlp, "
        "moe, "
        "ffn_dim, mla, vocab, tied_embeddings, qkv_bias, cla_factor, kv_producers, sharing_pattern, layer_pattern, window, "
        "kv_dtype, "
        "kv_quant_group, weight_dtype, weight_group, max_position_embeddings, published_params, published_active_params, "
        "source)"}},
      // A bad n_q_heads must not also report n_kv_heads as "not a divisor" of the stand-in value.
      {"no check on a stand-in value",
       false,
       R"({"n_q_heads": -4, "vocab": 0})",
       {"bad.json: 'n_q_heads': expected an integer in 1..65536, found -4",
        "bad.json: 'vocab': expected an integer in 1..100000000, found 0"}},
      // A missing block is one message; its keys are not reported missing one by one.
      {"a missing object",
       false,
       R"({"mlp": "moe", "d_model": 0})",
       {"bad.json: 'd_model': expected an integer in 1..1000000, found 0", "bad.json: missing key 'moe' (expected an object)"}},
      {"one error stays a plain message",
       false,
       R"({"n_layers": 0})",
       {"bad.json: 'n_layers': expected an integer in 1..10000, found 0"}},
      {"GPU: several quantities",
       true,
       R"({"memory_GB": -1, "sm_count": 0, "vendor": "DELETE"})",
       {"gpu.json: missing key 'vendor' (expected a non-empty string)",
        "gpu.json: 'memory_GB': expected a number in 0..1e+06, found -1",
        "gpu.json: 'sm_count': expected an integer in 1..1000000, found 0"}},
      {"GPU: a calibration block's keys too",
       true,
       std::string(R"({"calibration": )") + kCalibration + R"(, "tdp_W": "x"})",
       {"gpu.json: 'tdp_W': expected a number in 0..100000, found \"x\" (string)"}},
  };
  for (const Row& row : rows) {
    INFO(row.what);
    std::string text = patched(row.gpu ? kBaseGpu : kBaseModel, row.patch);
    if (std::string(row.what).find("calibration") != std::string::npos) {
      text = patched(row.gpu ? kBaseGpu : kBaseModel, R"({"tdp_W": "x"})");
      bj::value v = bj::parse(text);
      bj::value cal = bj::parse(kCalibration);
      cal.as_object().erase("hbm_read_GBps");
      cal.as_object()["gemm_fixed_us"] = -1;
      v.as_object()["calibration"] = cal;
      text = bj::serialize(v);
    }
    std::vector<std::string> got;
    bool several = false;
    try {
      if (row.gpu)
        parse_gpu(parse_json_text(text, "gpu.json"), "gpu.json", true);
      else
        parse_architecture(parse_json_text(text, "bad.json"), "bad.json", true);
    } catch (const InputErrors& e) {
      got = e.messages();
      several = true;
    } catch (const InputError& e) {
      got = {e.what()};
    }
    if (std::string(row.what).find("calibration") != std::string::npos) {
      // The top-level value and both calibration keys, each once.
      REQUIRE(got.size() == 3);
      CHECK(got[0] == row.messages[0]);
      CHECK_THAT(got[1], Catch::Contains("calibration.hbm_read_GBps"));
      CHECK_THAT(got[2], Catch::Contains("calibration.gemm_fixed_us") && Catch::Contains("found -1"));
      continue;
    }
    CHECK(got == row.messages);
    CHECK(several == (row.messages.size() > 1));
  }
}

TEST_CASE("collected errors keep the rules: presets need provenance, checks across values still run on a clean file",
          "[loaders][errors][collect]") {
  // A preset (not a user file) without a source is an error; a user file may leave it out.
  const std::string no_source = patched(kBaseModel, R"({"source": "DELETE"})");
  CHECK(model_error(no_source) == "bad.json: missing key 'source' (expected an object)");
  CHECK_NOTHROW(parse_architecture(parse_json_text(no_source, "mine.json"), "mine.json", true));
  CHECK(gpu_error(patched(kBaseGpu, R"({"source": "DELETE"})")) == "gpu.json: missing key 'source' (expected an object)");
  // With every value readable, the consistency checks report as before (ConfigError).
  CHECK_THROWS_AS(parse_architecture(bj::parse(patched(kBaseModel, R"({"n_kv_heads": 3})")), "x", true), ConfigError);
  CHECK(model_error(patched(kBaseModel, R"({"n_kv_heads": 3})")) ==
        "bad.json: 'n_kv_heads': expected a divisor of n_q_heads (4), found 3");
  // The field of the first error is kept for the GUI.
  try {
    parse_architecture(bj::parse(patched(kBaseModel, R"({"n_layers": 0, "vocab": 0})")), "x", true);
    FAIL("no error");
  } catch (const InputErrors& e) {
    CHECK(e.messages().size() == 2);
    CHECK_THAT(std::string(e.what()), Catch::Contains("'n_layers'") && Catch::Contains("; x: 'vocab'"));
  }
}
