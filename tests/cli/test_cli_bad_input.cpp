// A table of bad inputs run through the real `kvscope` binary: every loader (model, GPU profile,
// scenario, kvbench results) and every parser (flag values, variant names, producer maps, axes,
// constraints, objectives) rejects them with exit status 2 and one line on stderr that names the
// file or flag, the key or position, what was expected and what was found.
//
// A row: the arguments ({FILE} is replaced by the path of a temporary file holding `content`,
// named `file_name`; {DIR} by a directory; {MISSING} by a path that does not exist), the expected
// exit status and a fragment of the expected stderr line. The fragments are what the code says
// today; where that wording is known to be unclear, the row's note says so.
#include <algorithm>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli_runner.hpp"
#include "kvscope/core/csv.hpp"

namespace fs = std::filesystem;

namespace {

struct BadInput {
  std::vector<std::string> args;
  std::string content;   // written to {FILE}
  std::string fragment;  // expected in stderr
  int status = 2;
  std::string file_name = "input.json";
  const char* note = "";  // why the row exists / what is doubtful about the message
};

std::string sub(std::string s, const std::string& from, const std::string& to) {
  const auto at = s.find(from);
  if (at == std::string::npos) throw std::logic_error("test table: '" + from + "' not in base text");
  return s.replace(at, from.size(), to);
}

// A minimal valid model (4 layers) and GPU profile, and a kvbench result header for an H100.
const std::string kModel = R"({"schema": "kvscope-model/1", "id": "tiny", "name": "Tiny", "n_layers": 4, "d_model": 256,
 "n_q_heads": 4, "n_kv_heads": 2, "head_dim": 64, "mlp": "swiglu", "ffn_dim": 1024, "vocab": 1000,
 "tied_embeddings": false, "source": {"url": "https://example.org"}})";
std::string model(const std::string& from, const std::string& to) {
  return sub(kModel, from, to);
}
std::string model_plus(const std::string& extra) {
  return sub(kModel, "\"vocab\": 1000", "\"vocab\": 1000, " + extra);
}

const std::string kGpu = R"({"schema": "kvscope-gpu/1", "id": "tiny-gpu", "name": "Tiny GPU", "vendor": "NVIDIA",
 "architecture": "Hopper", "memory_GB": 80, "hbm_bandwidth_GBps": 3350, "bf16_dense_TFLOPS": 989.4,
 "fp8_dense_TFLOPS": 0, "l2_cache_MiB": 50, "sm_count": 132, "tdp_W": 700, "interconnect": "none",
 "interconnect_GBps": 0, "source": {"url": "https://example.org"}})";
std::string gpu(const std::string& from, const std::string& to) {
  return sub(kGpu, from, to);
}

const std::string kCalibration = R"("calibration": {"source": "kvbench test", "fitted_on": "a.json",
 "date_utc": "2026-01-01T00:00:00Z", "hbm_read_GBps": 3000, "hbm_copy_GBps": 2900, "l2_read_GBps": 7500,
 "l2_capacity_MiB": 37.5, "l2_transition": 0.15, "gemm_bw_fraction": 0.9, "gemm_fixed_us": 3,
 "gemm_compute_fraction": 0.8, "gemm_m_half": 16, "attn_bw_fraction": 0.88, "attn_fixed_us": 4,
 "attn_units_sat": 264, "attn_compute_TFLOPS": 60, "attn_fp8_bw_fraction": 0.76, "attn_combine_per_split_us": 0.1,
 "prefill_attn_compute_fraction": 0.4, "elementwise_bw_fraction": 0.8, "elementwise_fixed_us": 1, "rope_bw_fraction": 0.5, "rope_fixed_us": 4, "launch_graph_us": 1.3,
 "launch_stream_us": 2.5, "launch_cpu_us": 4, "launch_event_us": 2, "compute_clock_ratio": 0.8, "allreduce_latency_us": 8, "allreduce_bus_GBps": 360})";
std::string gpu_cal(const std::string& from, const std::string& to) {
  return sub(kGpu, "\"tdp_W\": 700", "\"tdp_W\": 700, " + sub(kCalibration, from, to));
}

std::string kvbench(const std::string& benchmarks, const std::string& sm = "132") {
  return R"({"schema": "kvbench-result/1", "harness": {"version": "0.1.0"}, "device": {"name": "NVIDIA H100 80GB HBM3",
 "sm_count": )" +
         sm + R"(, "l2_cache_B": 52428800, "mem_total_B": 85520809984}, "benchmarks": [)" + benchmarks + "]}";
}
std::string decode_point(const std::string& from = "", const std::string& to = "") {
  std::string p = R"({"family": "decode_step", "name": "d", "median_s": 0.0075, "axes": {"n_layers": 32, "d_model": 4096,
 "n_q_heads": 32, "n_kv_heads": 8, "head_dim": 128, "ffn_dim": 14336, "vocab": 128256, "batch": 8, "context": 4096}})";
  return from.empty() ? p : sub(p, from, to);
}

std::string scenario(const std::string& body) {
  return R"({"schema": "kvscope-scenario/1", )" + body + "}";
}

constexpr char kBinaryBytes[] =
    "\x7f"
    "ELF\x02\x01\x01\x00\x00\x00\xff\xfe\x00\x13";
const std::string kBinary(kBinaryBytes, sizeof kBinaryBytes - 1);

std::vector<BadInput> table() {
  using V = std::vector<std::string>;
  return {
      // ---- eval: flag values --------------------------------------------------------------
      {V{"eval", "--batch", "0"}, "", "--batch: expected an integer in 1..1000000, found 0"},
      {V{"eval", "--batch", "-5"}, "", "--batch: expected an integer in 1..1000000, found -5"},
      {V{"eval", "--batch", "1e400"}, "", "--batch: expected an integer in 1..1000000, found '1e400'"},
      {V{"eval", "--batch", "NaN"}, "", "--batch: expected an integer in 1..1000000, found 'NaN'"},
      {V{"eval", "--batch", "1.5"}, "", "--batch: expected an integer in 1..1000000, found '1.5'"},
      {V{"eval", "--batch", "99999999999999999999999"}, "",
       "--batch: expected an integer in 1..1000000, found '99999999999999999999999'"},
      {V{"eval", "--batch", "1,2"}, "",
       "--batch: expected a single value here (lists and ranges are for `kvscope sweep` / `pareto`), found '1,2'"},
      {V{"eval", "--batch", "1..8"}, "", "--batch: expected a single value here"},
      {V{"eval", "--context", "1e30"}, "", "--context: expected an integer in 1..100000000, found '1e30'"},
      {V{"eval", "--context", "100000001"}, "", "--context: expected an integer in 1..100000000, found 100000001"},
      {V{"eval", "--prompt", "0"}, "", "--prompt: expected an integer in 1..100000000, found 0"},
      {V{"eval", "--kv-heads", "0"}, "", "--kv-heads: expected an integer in 1..65536, found 0"},
      {V{"eval", "--kv-heads", "3"}, "", "--kv-heads: expected a divisor of n_q_heads (32), found 3", 2, "input.json",
       "names the JSON key n_kv_heads, not the flag --kv-heads the user typed"},
      {V{"eval", "--q-heads", "65537"}, "", "--q-heads: expected an integer in 1..65536, found 65537"},
      {V{"eval", "--head-dim", "0"}, "", "--head-dim: expected an integer in 1..65536, found 0"},
      {V{"eval", "--layers", "10001"}, "", "--layers: expected an integer in 1..10000, found 10001"},
      {V{"eval", "--d-model", "10000000"}, "", "--d-model: expected an integer in 1..1000000, found 10000000"},
      {V{"eval", "--ffn", "-1"}, "", "--ffn: expected an integer in 1..10000000, found -1"},
      {V{"eval", "--vocab", "0"}, "", "--vocab: expected an integer in 1..100000000, found 0"},
      {V{"eval", "--cla", "0"}, "", "--cla: expected an integer in 1..10000, found 0"},
      {V{"eval", "--cla", "33"}, "", "--cla: expected a CLA factor in 1..32 (the layer count), found 33", 2, "input.json",
       "CLA factor larger than the layer count; names 'cla', not '--cla'"},
      {V{"eval", "--model", "cla-paper-1b", "--cla", "100"}, "",
       "--cla: expected a CLA factor in 1..20 (the layer count), found 100"},
      {V{"eval", "--kv-producers", "0,1,0"}, "", "--kv-producers: expected one entry per layer (32), found 3 entries"},
      {V{"eval", "--layers", "4", "--kv-producers", "0,2,2,3"}, "",
       "--kv-producers: 'entry 1': expected a layer at or below 1 (K/V cannot come from a later layer), found 2"},
      {V{"eval", "--layers", "4", "--kv-producers", "0,0,9,3"}, "",
       "--kv-producers: 'entry 2': expected a layer index in 0..3, found 9"},
      {V{"eval", "--layers", "4", "--kv-producers", "0,0,1,3"}, "",
       "--kv-producers: 'entry 2': expected a layer that stores its own K/V (layer 1 reads layer 0), found 1"},
      {V{"eval", "--layers", "4", "--kv-producers", "-1,0,0,0"}, "",
       "--kv-producers: 'entry 0': expected a non-negative layer index, found '-1'"},
      {V{"eval", "--kv-producers", "Foo"}, "",
       "--kv-producers: expected a layer map like 0,0,2,2 or one of KeepEnds, DenseFront, DenseBack, found 'Foo'"},
      {V{"eval", "--layers", "4", "--kv-producers", "0_0_0_9"}, "",
       "--kv-producers: 'entry 3': expected a layer index in 0..3, found 9"},
      {V{"eval", "--variant", "H128-XYZ"}, "",
       "--variant: expected a name like H128-GQA4-CLA2 (H<head_dim>-MHA|GQA<n>|MQA[-CLA<c>][-KeepEnds|-DenseFront|-DenseBack]), "
       "found 'H128-XYZ' (bad part 'XYZ')"},
      {V{"eval", "--variant", "foo"}, "", "--variant: expected a name like H128-GQA4-CLA2"},
      {V{"eval", "--variant", "H0-MHA"}, "", "found 'H0-MHA' (bad part 'H0')"},
      {V{"eval", "--variant", "H999999-MHA"}, "", "--variant: expected head_dim <= d_model (4096), found H999999"},
      {V{"eval", "--variant", "H128-MQA-CLA99"}, "", "--variant: expected a CLA factor <= n_layers (32), found CLA99"},
      {V{"eval", "--variant", "H128-GQA3"}, "", "'n_kv_heads': expected a divisor of n_q_heads (32), found 3"},
      {V{"eval", "--tp", "0"}, "", "--tp: expected an integer in 1..1024, found 0"},
      {V{"eval", "--tp", "2048"}, "", "--tp: expected an integer in 1..1024, found 2048"},
      {V{"eval", "--tp", "3"}, "", "llama-3-8b: 'tp': expected a divisor of the query heads (32), found 3", 2, "input.json",
       "names the model, not the flag --tp"},
      {V{"eval", "--tpot-limit-ms", "nan"}, "", "--tpot-limit-ms: expected a number in 0..1e+09, found 'nan'"},
      {V{"eval", "--tpot-limit-ms", "inf"}, "", "--tpot-limit-ms: expected a number in 0..1e+09, found 'inf'"},
      {V{"eval", "--tpot-limit-ms", "-1"}, "", "--tpot-limit-ms: expected a number in 0..1e+09, found '-1'"},
      {V{"eval", "--kv-dtype", "fp4"}, "", "--kv-dtype: 'kv_dtype': expected one of bf16, fp16, fp8, int8, int4, found 'fp4'"},
      {V{"eval", "--runtime", "fast"}, "", "--runtime: 'runtime': expected graph or eager, found 'fast'"},
      {V{"eval", "--layer-pattern", "LX"}, "",
       "--layer-pattern: expected only the letters G (global) and L (local), found 'X' at position 1"},
      {V{"eval", "--layer-pattern", "L"}, "",
       "--window: expected a positive number of positions (local layers present), found 0"},
      {V{"eval", "--window", "0"}, "", "--window: expected an integer in 1..100000000, found 0"},
      {V{"eval", "--format", "xml"}, "", "--format: expected table, json or csv, found 'xml'"},
      {V{"eval", "--bogus"}, "", "The following argument was not expected: --bogus"},
      {V{"eval", "--batch"}, "", "--batch: 1 required"},
      {V{"frobnicate"}, "", "A subcommand is required", 2, "input.json", "an unknown subcommand is not named"},
      // ---- model and GPU presets / files that are not there ---------------------------------
      {V{"eval", "--model", "nosuch"}, "", "unknown model preset 'nosuch' (closest: "},
      {V{"eval", "--model", "llama-3-8"}, "", "unknown model preset 'llama-3-8' (closest: llama-3-8b"},
      {V{"eval", "--model", "{MISSING}"}, "", "missing.json': No such file or directory"},
      {V{"eval", "--model", "{DIR}/"}, "", "is a directory, not a file"},
      {V{"eval", "--gpu", "nosuch"}, "", "unknown GPU preset 'nosuch' (closest: "},
      {V{"eval", "--gpu", "{MISSING}"}, "", "missing.json': No such file or directory"},
      {V{"eval", "--gpu", "{DIR}/"}, "", "is a directory, not a file"},
      // ---- --model FILE -------------------------------------------------------------------
      {V{"eval", "--model", "{FILE}"}, "{\"schema\": \"kvscope-model/1\", \"id\": ",
       "model.json: invalid JSON at line 1, column 37: incomplete JSON", 2, "model.json"},
      {V{"eval", "--model", "{FILE}"}, "", "model.json: invalid JSON at line 1, column 1: incomplete JSON", 2, "model.json",
       "empty file"},
      {V{"eval", "--model", "{FILE}"}, kBinary, "model.json: invalid JSON at line 1, column 1: syntax error (near '\\x7fELF", 2,
       "model.json"},
      {V{"eval", "--model", "{FILE}"}, kBinary, "the content looks binary, not a JSON text file", 2, "model.json"},
      {V{"eval", "--model", "{FILE}"}, model("\"vocab\": 1000", "\"vocab\": 1000,"), "model.json: invalid JSON at line", 2,
       "model.json", "trailing comma"},
      {V{"eval", "--model", "{FILE}"}, "// comment\n" + kModel, "model.json: invalid JSON at line 1, column 1", 2, "model.json"},
      {V{"eval", "--model", "{FILE}"}, kModel + "\n{}", "model.json: invalid JSON at line", 2, "model.json",
       "text after the value"},
      {V{"eval", "--model", "{FILE}"}, "[1, 2]", "model.json: expected a JSON object, found an array of 2 items", 2,
       "model.json"},
      {V{"eval", "--model", "{FILE}"}, model("\"n_layers\": 4", "\"n_layers\": -4"),
       "model.json: 'n_layers': expected an integer in 1..10000, found -4", 2, "model.json"},
      {V{"eval", "--model", "{FILE}"}, model("\"n_layers\": 4", "\"n_layers\": 0"),
       "model.json: 'n_layers': expected an integer in 1..10000, found 0", 2, "model.json"},
      {V{"eval", "--model", "{FILE}"}, model("\"n_layers\": 4", "\"n_layers\": 1e400"),
       "model.json: 'n_layers': expected an integer in 1..10000, found inf (a number too large for a double)", 2, "model.json"},
      {V{"eval", "--model", "{FILE}"}, model("\"n_layers\": 4", "\"n_layers\": 18446744073709551616"),
       "model.json: 'n_layers': expected an integer in 1..10000, found ", 2, "model.json", "past uint64"},
      {V{"eval", "--model", "{FILE}"}, model("\"n_layers\": 4", "\"n_layers\": \"4\""),
       "model.json: 'n_layers': expected an integer in 1..10000, found \"4\" (string)", 2, "model.json"},
      {V{"eval", "--model", "{FILE}"}, model("\"n_layers\": 4", "\"n_layers\": 4.5"),
       "model.json: 'n_layers': expected an integer in 1..10000, found 4.5", 2, "model.json"},
      {V{"eval", "--model", "{FILE}"}, model("\"n_layers\": 4", "\"n_layers\": null"), "model.json: missing key 'n_layers'", 2,
       "model.json"},
      {V{"eval", "--model", "{FILE}"}, model("\"vocab\": 1000", "\"vocab\": NaN"),
       "model.json: invalid JSON at line 2, column 94: syntax error (near 'NaN,\\n \"tied_embeddings\"", 2, "model.json"},
      {V{"eval", "--model", "{FILE}"}, model("\"n_layers\": 4", "\"n_layerz\": 4"),
       "model.json: unknown key 'n_layerz' (did you mean 'n_layers'?)", 2, "model.json"},
      {V{"eval", "--model", "{FILE}"}, model("\"n_layers\": 4, ", ""),
       "model.json: missing key 'n_layers' (expected an integer in 1..10000)", 2, "model.json"},
      {V{"eval", "--model", "{FILE}"}, model("\"n_kv_heads\": 2", "\"n_kv_heads\": 3"),
       "model.json: 'n_kv_heads': expected a divisor of n_q_heads (4), found 3", 2, "model.json"},
      {V{"eval", "--model", "{FILE}"}, model("\"n_kv_heads\": 2", "\"n_kv_heads\": 2, \"n_kv_heads\": 2"),
       "model.json: invalid JSON at line 2, column 35: duplicate key 'n_kv_heads'", 2, "model.json"},
      {V{"eval", "--model", "{FILE}"}, model_plus("\"cla_factor\": 5"),
       "model.json: 'cla_factor': expected an integer in 1..n_layers (4), found 5", 2, "model.json"},
      {V{"eval", "--model", "{FILE}"}, model_plus("\"kv_producers\": [0, 2, 1, 3]"),
       "model.json: 'kv_producers[1]': expected a layer at or below 1 (K/V cannot come from a later layer), found 2", 2,
       "model.json"},
      {V{"eval", "--model", "{FILE}"}, model_plus("\"kv_producers\": [0, 0, 9, 3]"),
       "model.json: 'kv_producers[2]': expected an integer in 0..3, found 9", 2, "model.json"},
      {V{"eval", "--model", "{FILE}"}, model_plus("\"kv_producers\": [0, 0, 1, 3]"),
       "model.json: 'kv_producers[2]': expected a layer that stores its own K/V (layer 1 reads layer 0), found 1", 2,
       "model.json"},
      {V{"eval", "--model", "{FILE}"}, model_plus("\"kv_producers\": []"),
       "model.json: 'kv_producers': expected an array of 4 layer indices (one per layer), found an empty array", 2, "model.json"},
      {V{"eval", "--model", "{FILE}"}, model_plus("\"kv_dtype\": \"fp4\""), "model.json: 'kv_dtype': expected one of", 2,
       "model.json"},
      {V{"eval", "--model", "{FILE}"}, model_plus("\"layer_pattern\": \"LG\""),
       "model.json: missing key 'window' (expected an integer in 1..100000000)", 2, "model.json"},
      {V{"eval", "--model", "{FILE}"}, model("\"mlp\": \"swiglu\"", "\"mlp\": \"moe\""),
       "model.json: missing key 'moe' (expected an object)", 2, "model.json"},
      {V{"eval", "--model", "{FILE}"}, model("\"d_model\": 256", "\"d_model\": 1000001"),
       "model.json: 'd_model': expected an integer in 1..1000000, found 1000001", 2, "model.json",
       "bounds keep every product inside 64-bit / double-exact range"},
      {V{"eval", "--model", "{FILE}"}, model("\"schema\": \"kvscope-model/1\"", "\"schema\": \"kvscope-model/2\""),
       "model.json: 'schema': expected 'kvscope-model/1'", 2, "model.json"},
      {V{"eval", "--model", "{FILE}"}, kGpu, "model.json: 'schema': expected 'kvscope-model/1'", 2, "model.json",
       "a GPU profile given as --model"},
      // ---- --gpu FILE ---------------------------------------------------------------------
      {V{"eval", "--gpu", "{FILE}"}, gpu("\"memory_GB\": 80", "\"memory_GB\": 0"),
       "gpu.json: 'memory_GB': expected a number in [0.001, 1e+06], found 0", 2, "gpu.json"},
      {V{"eval", "--gpu", "{FILE}"}, gpu("\"memory_GB\": 80", "\"memory_GB\": -80"),
       "gpu.json: 'memory_GB': expected a number in 0..1e+06, found -80", 2, "gpu.json"},
      {V{"eval", "--gpu", "{FILE}"}, gpu("\"memory_GB\": 80", "\"memory_GB\": 1e400"),
       "gpu.json: 'memory_GB': expected a number in 0..1e+06, found inf (a number too large for a double)", 2, "gpu.json"},
      {V{"eval", "--gpu", "{FILE}"}, gpu("\"sm_count\": 132", "\"sm_count\": 13.2"),
       "gpu.json: 'sm_count': expected an integer in 1..1000000, found 13.2", 2, "gpu.json"},
      {V{"eval", "--gpu", "{FILE}"}, gpu("\"hbm_bandwidth_GBps\": 3350", "\"hbm_bandwidth_GBps\": \"fast\""),
       "gpu.json: 'hbm_bandwidth_GBps': expected a number in 0..1e+06, found \"fast\" (string)", 2, "gpu.json"},
      {V{"eval", "--gpu", "{FILE}"}, gpu("\"memory_GB\": 80", "\"memory_gb\": 80"),
       "gpu.json: unknown key 'memory_gb' (did you mean 'memory_GB'?)", 2, "gpu.json"},
      {V{"eval", "--gpu", "{FILE}"}, gpu("\"memory_GB\": 80, ", ""), "gpu.json: missing key 'memory_GB'", 2, "gpu.json"},
      {V{"eval", "--gpu", "{FILE}"}, gpu("\"schema\": \"kvscope-gpu/1\"", "\"schema\": \"kvscope-gpu/2\""),
       "gpu.json: 'schema': expected 'kvscope-gpu/1', found 'kvscope-gpu/2'", 2, "gpu.json"},
      {V{"eval", "--gpu", "{FILE}"}, kModel, "gpu.json: 'schema': expected 'kvscope-gpu/1'", 2, "gpu.json",
       "a model file given as --gpu"},
      {V{"eval", "--gpu", "{FILE}"}, gpu_cal("\"gemm_bw_fraction\": 0.9", "\"gemm_bw_fraction\": 7"),
       "gpu.json: 'calibration.gemm_bw_fraction': expected", 2, "gpu.json"},
      {V{"eval", "--gpu", "{FILE}"}, gpu_cal("\"l2_transition\": 0.15", "\"l2_transition\": -0.15"),
       "gpu.json: 'calibration.l2_transition': expected", 2, "gpu.json"},
      {V{"eval", "--gpu", "{FILE}"}, gpu_cal("\"attn_fixed_us\": 4,", ""), "gpu.json: missing key 'calibration.attn_fixed_us'", 2,
       "gpu.json"},
      {V{"eval", "--gpu", "{FILE}"}, kBinary, "gpu.json: invalid JSON at line 1, column 1: syntax error", 2, "gpu.json"},
      // ---- --scenario FILE ----------------------------------------------------------------
      {V{"eval", "--scenario", "{FILE}"}, scenario("\"batch\": 0"), "--batch: expected an integer in 1..1000000, found 0", 2,
       "scenario.json", "a value from the scenario file is blamed on the flag --batch; the file is not named"},
      {V{"eval", "--scenario", "{FILE}"}, scenario("\"batch\": -1"), "--batch: expected an integer in 1..1000000, found -1", 2,
       "scenario.json"},
      {V{"eval", "--scenario", "{FILE}"}, scenario("\"batch\": 4.5"), "--batch: expected an integer in 1..1000000, found '4.5'",
       2, "scenario.json"},
      {V{"eval", "--scenario", "{FILE}"}, scenario("\"batch\": \"1..4\""), "--batch: expected a single value here", 2,
       "scenario.json"},
      {V{"eval", "--scenario", "{FILE}"}, scenario("\"batch\": 1e400"),
       "scenario.json: 'batch': expected a string or a number, found Infinity", 2, "scenario.json"},
      {V{"eval", "--scenario", "{FILE}"}, scenario("\"batch\": [1, 2]"),
       "scenario.json: 'batch': expected a string or a number, found [1,2]", 2, "scenario.json"},
      {V{"eval", "--scenario", "{FILE}"}, scenario("\"batch\": {}"),
       "scenario.json: 'batch': expected a string or a number, found {}", 2, "scenario.json"},
      {V{"eval", "--scenario", "{FILE}"}, scenario("\"batchh\": 4"),
       "scenario.json: 'batchh': expected a known key (schema, constraints, objectives, model,", 2, "scenario.json",
       "no did-you-mean, unlike the model/GPU loaders"},
      {V{"eval", "--scenario", "{FILE}"}, "{\"batch\": 4}",
       "scenario.json: 'schema': expected 'kvscope-scenario/1', found no schema key", 2, "scenario.json"},
      {V{"eval", "--scenario", "{FILE}"}, "{\"schema\": \"kvscope-scenario/2\"}",
       "scenario.json: 'schema': expected 'kvscope-scenario/1', found \"kvscope-scenario/2\"", 2, "scenario.json"},
      {V{"eval", "--scenario", "{FILE}"}, scenario("\"constraints\": \"x\""),
       "scenario.json: 'constraints': expected an array of strings", 2, "scenario.json"},
      {V{"eval", "--scenario", "{FILE}"}, scenario("\"constraints\": [1]"),
       "scenario.json: 'constraints[0]': expected a string, found 1", 2, "scenario.json"},
      {V{"eval", "--scenario", "{FILE}"}, scenario("\"kv_heads\": 3"),
       "scenario.json: 'n_kv_heads': expected a divisor of n_q_heads (32), found 3", 2, "scenario.json",
       "the scenario key is kv_heads, the message says n_kv_heads"},
      {V{"eval", "--scenario", "{FILE}"}, "junk", "scenario.json: invalid JSON at line 1, column 1: syntax error (near 'junk')",
       2, "scenario.json"},
      {V{"eval", "--scenario", "{FILE}"}, "[]", "scenario.json: expected a JSON object, found another JSON value", 2,
       "scenario.json"},
      {V{"eval", "--scenario", "{MISSING}"}, "", "missing.json': No such file or directory"},
      {V{"eval", "--scenario", "{DIR}"}, "", "is a directory, not a file"},
      {V{"sweep", "--scenario", "{FILE}"}, scenario("\"constraints\": [\"foo > 1\"]"),
       "scenario.json constraint: expected a known output field (closest: ", 2, "scenario.json"},
      {V{"pareto", "--scenario", "{FILE}"}, scenario("\"objectives\": \"x:min\""),
       "scenario.json objectives: 'objective 1': expected a known output field (closest: ", 2, "scenario.json"},
      {V{"sweep", "--scenario", "{FILE}"}, scenario("\"batch\": \"1..\""), "--batch: expected a list or range like", 2,
       "scenario.json"},
      // ---- sweep / pareto axes, constraints, objectives -----------------------------------
      {V{"sweep", "--batch", "1.."}, "",
       "--batch: expected a list or range like 1,2,4 or 1..512 or 1024..131072:x2 or 0..4096:+512, found '1..'"},
      {V{"sweep", "--batch", "0"}, "", "--batch: expected integers in 1..1000000, found 0 in '0'"},
      {V{"sweep", "--batch", "-5"}, "", "--batch: expected"},
      {V{"sweep", "--batch", " "}, "", "--batch: expected a list or range like", 2, "input.json",
       "a blank value is an error; an empty one (--batch '') is silently ignored"},
      {V{"sweep", "--batch", ","}, "",
       "--batch item 1: expected a list or range like 1,2,4 or 1..512 or 1024..131072:x2 or 0..4096:+512, found ''"},
      {V{"sweep", "--batch", "4,8,x"}, "", "--batch item 3: expected a list or range like"},
      {V{"sweep", "--context", "1..1e30"}, "",
       "--context: expected a list or range like 1,2,4 or 1..512 or 1024..131072:x2 or 0..4096:+512, found '1..1e30'"},
      {V{"sweep", "--batch", "1..1000000000"}, "",
       "--batch: expected at most 10000000 values in all, found '1..1000000000' expanding to 1000000000 more"},
      {V{"sweep", "--batch", "1,1"}, "",
       "--batch: expected each value once (a repeated value would evaluate the same points twice), found 1 twice"},
      {V{"sweep", "--batch", "1..8:x1"}, "",
       "--batch: expected a step like :x2 (an integer factor >= 2) or :+512 (an integer >= 1), found '1..8:x1'"},
      {V{"sweep", "--batch", "1..8:+0"}, "",
       "--batch: expected a step like :x2 (an integer factor >= 2) or :+512 (an integer >= 1), found '1..8:+0'"},
      {V{"sweep", "--batch", "8..1"}, "", "--batch: expected a range whose start is <= its end, found '8..1'"},
      {V{"sweep", "--context", "1..99999999999999999999"}, "", "--context: expected"},
      {V{"sweep", "--tp", "1..2000"}, "", "--tp: expected integers in 1..1024, found 2000 in '1..2000'"},
      {V{"sweep", "--tpot-limit-ms", "nan"}, "",
       "--tpot-limit-ms: expected a list or range like 0.5,1,2 or 10..50:+10 or 0.001..1:x10, found 'nan'"},
      {V{"sweep", "--tpot-limit-ms", "1..0:+0.1"}, "",
       "--tpot-limit-ms: expected a range whose start is <= its end, found '1..0:+0.1'"},
      {V{"sweep", "--kv-producers", "0,0;;KeepEnds"}, "",
       "--kv-producers item 2: expected alternatives separated by ';' like 0,0,2,2;KeepEnds, found an empty item in "
       "'0,0;;KeepEnds'"},
      {V{"sweep", "--gpu", "h100-sxm,nosuch"}, "", "unknown GPU preset 'nosuch' (closest: "},
      {V{"sweep", "--gpu", "h100-sxm,h100-sxm"}, "", "--gpu"},
      {V{"sweep", "--kv-dtype", "bf16,fp4"}, "", "'fp4'"},
      {V{"sweep", "--constraint", "foo >= 1"}, "",
       "flags constraint: expected a known output field (closest: tp, batch, prompt; `kvscope fields` lists all), found 'foo'", 2,
       "input.json", "names 'flags constraint', not the flag --constraint"},
      {V{"sweep", "--constraint", "max_context >= nan"}, "",
       "flags constraint: 'max_context': expected a finite number after the operator (e.g. 32768, 1e4), found 'nan' in "
       "'max_context >= nan'"},
      {V{"sweep", "--constraint", "max_context >= 1e400"}, "",
       "flags constraint: 'max_context': expected a finite number after the operator (e.g. 32768, 1e4), found '1e400' in "
       "'max_context >= 1e400'"},
      {V{"sweep", "--constraint", "max_context"}, "",
       "flags constraint: expected FIELD OP NUMBER with OP one of <= < >= > == != (e.g. max_context >= 32768), found "
       "'max_context'"},
      {V{"sweep", "--constraint", "max_context =< 5"}, "", "found 'max_context =< 5'"},
      {V{"pareto", "--objectives", "x:up"}, "",
       "flags objectives: 'objective 1': expected min or max after the ':', found 'x:up'", 2, "input.json",
       "the unknown field 'x' is not reported (only the sense)"},
      {V{"pareto", "--objectives", "kv_bytes_per_token:up"}, "",
       "flags objectives: 'objective 1': expected min or max after the ':', found 'kv_bytes_per_token:up'"},
      {V{"pareto", "--objectives", "kv_bytes_per_tokn:min,val_ppl:min"}, "",
       "flags objectives: 'objective 1': expected a known output field (closest: kv_bytes_per_token"},
      {V{"pareto", "--objectives", "kv_bytes_per_token:min,kv_bytes_per_token:max"}, "",
       "flags objectives: 'objective 2': expected each field once, found 'kv_bytes_per_token' again"},
      {V{"pareto"}, "", "--objectives: expected two or more objectives like kv_bytes_per_token:min,val_ppl:min, found none"},
      {V{"sweep", "--format", "xml"}, "", "--format: expected table, json or csv, found 'xml'"},
      {V{"sweep", "--threads", "-1"}, "", "--threads"},
      {V{"sweep", "--batch", "1", "--format", "csv", "-o", "{MISSING}/x.csv"}, "", "cannot write '", 2, "input.json",
       "names the temporary file (x.csv.tmp.PID), not x.csv"},
      // ---- calibrate / validate -----------------------------------------------------------
      {V{"calibrate", "{FILE}", "--gpu", "h100-sxm"}, "junk",
       "kvbench.json: invalid JSON at line 1, column 1: syntax error (near 'junk')", 2, "kvbench.json"},
      {V{"validate", "{FILE}", "--gpu", "h100-sxm"}, kBinary, "kvbench.json: invalid JSON at line 1, column 1: syntax error", 2,
       "kvbench.json"},
      {V{"calibrate", "{MISSING}", "--gpu", "h100-sxm"}, "", "File does not exist: ", 2, "input.json", "CLI11's wording"},
      {V{"calibrate", "{DIR}", "--gpu", "h100-sxm"}, "", "File is actually a directory: ", 2, "input.json", "CLI11's wording"},
      {V{"calibrate", "{FILE}"}, kvbench(""), "--gpu is required", 2, "kvbench.json"},
      {V{"calibrate", "{FILE}", "--gpu", "h100-sxm"}, "{\"schema\": \"kvbench-result/9\"}",
       "kvbench.json: 'schema': expected 'kvbench-result/1' (the schema this kvscope understands), found 'kvbench-result/9'", 2,
       "kvbench.json"},
      {V{"calibrate", "{FILE}", "--gpu", "h100-sxm"}, "{\"schema\": \"kvbench-result/1\"}", "kvbench.json: 'harness'", 2,
       "kvbench.json"},
      {V{"calibrate", "{FILE}", "--gpu", "h100-sxm"}, "[1, 2]", "kvbench.json: expected a kvbench result object", 2,
       "kvbench.json"},
      {V{"calibrate", "{FILE}", "--gpu", "h100-sxm"}, kvbench(""),
       "kvbench family 'memory': expected at least 4 measured points to fit, found 0", 2, "kvbench.json",
       "does not name the file"},
      {V{"calibrate", "{FILE}", "--gpu", "h100-sxm"}, kvbench("{\"family\": \"memory\", \"axes\": {}, \"median_s\": 0}"),
       "kvbench.json: 'benchmarks[0].median_s': expected a time in seconds in [1e-09, 86400], found 0", 2, "kvbench.json"},
      {V{"calibrate", "{FILE}", "--gpu", "h100-sxm"}, kvbench("{\"family\": \"memory\", \"axes\": [], \"median_s\": 1}"),
       "kvbench.json: 'benchmarks[0].axes': expected an object", 2, "kvbench.json"},
      {V{"calibrate", "{FILE}", "--gpu", "h100-sxm"}, kvbench("{\"family\": \"memory\", \"axes\": {}, \"median_s\": 1e400}"),
       "kvbench.json: 'benchmarks[0].median_s': expected a finite number", 2, "kvbench.json"},
      {V{"validate", "{FILE}", "--gpu", "h200"}, kvbench(decode_point()),
       "kvbench.json: 'device': expected results from a NVIDIA H200 SXM 141GB (132 SMs, 60 MiB L2, 150.1 GB), found 'NVIDIA H100 "
       "80GB HBM3' (132 SMs, 50 MiB L2, 85.5 GB)",
       2, "kvbench.json", "results of another GPU"},
      {V{"calibrate", "{FILE}", "--gpu", "a100-sxm-80gb"}, kvbench(decode_point()),
       "kvbench.json: 'device': expected results from a ", 2, "kvbench.json"},
      {V{"validate", "{FILE}", "--gpu", "h100-sxm"}, kvbench(""),
       "kvbench.json: 'benchmarks': expected end-to-end points (family decode_step / prefill), found none", 2, "kvbench.json"},
      {V{"validate", "{FILE}", "--gpu", "h100-sxm"}, kvbench(decode_point("\"n_kv_heads\": 8", "\"n_kv_heads\": 5")),
       "kvbench.json benchmarks[0]: 'n_kv_heads': expected a divisor of n_q_heads (32), found 5", 2, "kvbench.json"},
      {V{"validate", "{FILE}", "--gpu", "h100-sxm"}, kvbench(decode_point("\"batch\": 8", "\"batch\": 0")),
       "kvbench.json: 'benchmarks[0].axes.batch': expected a whole number in [1, 1e+12], found 0", 2, "kvbench.json",
       "was accepted and printed a null prediction before e2e_points validated the workload"},
      {V{"validate", "{FILE}", "--gpu", "h100-sxm"}, kvbench(decode_point("\"context\": 4096", "\"context\": 1e15")),
       "kvbench.json: 'benchmarks[0].axes.context': expected a whole number in [1, 1e+12], found 1000000000000000", 2,
       "kvbench.json"},
      {V{"validate", "{FILE}", "--gpu", "h100-sxm"}, kvbench(decode_point("\"n_layers\": 32", "\"n_layers\": \"32\"")),
       "kvbench.json benchmarks[0]: 'axes.n_layers': expected a finite number, found \"32\"", 2, "kvbench.json"},
      {V{"validate", "{FILE}", "--gpu", "h100-sxm"}, kvbench(decode_point("\"n_layers\": 32, ", "")),
       "kvbench.json benchmarks[0]: 'axes.n_layers': expected a number, found missing key", 2, "kvbench.json"},
      {V{"validate", "{FILE}", "--gpu", "h100-sxm", "--format", "yaml"}, kvbench(decode_point()), "--format: expected", 2,
       "kvbench.json"},
  };
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
  return s;
}

}  // namespace

TEST_CASE("bad inputs: exit status 2 and one line on stderr naming where, what was expected and found", "[cli][bad-input]") {
  const auto rows = table();
  REQUIRE(rows.size() >= 100);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const BadInput& row = rows[i];
    const std::string dir = temp_dir();
    const std::string file = dir + "/" + row.file_name;
    {
      std::ofstream out(file, std::ios::binary);
      out << row.content;
    }
    std::vector<std::string> args;
    std::string shown;
    for (const auto& a : row.args) {
      std::string x = replace_all(a, "{FILE}", file);
      x = replace_all(x, "{DIR}", dir);
      x = replace_all(x, "{MISSING}", dir + "/missing.json");
      args.push_back(x);
      shown += " " + a;
    }
    const CliResult r = run_kvscope(args);
    INFO("row " << i << ": kvscope" << shown << (row.note[0] ? std::string("  [") + row.note + "]" : std::string()));
    INFO("stderr: " << r.err);
    INFO("stdout: " << r.out.substr(0, 300));
    CHECK(r.status == row.status);
    CHECK_THAT(r.err, Catch::Contains(row.fragment));
    // One line, "kvscope: ...", nothing on stdout.
    CHECK(r.err.rfind("kvscope: ", 0) == 0);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.out.empty());
    fs::remove_all(dir);
  }
}

namespace {
// Every number in a JSON document is finite (boost::json writes inf as 1e99999, which parses
// back as inf).
void check_finite(const boost::json::value& v, const std::string& path) {
  if (v.is_double()) {
    INFO(path);
    CHECK(std::isfinite(v.get_double()));
  } else if (v.is_object()) {
    for (const auto& kv : v.get_object()) check_finite(kv.value(), path + "." + std::string(kv.key()));
  } else if (v.is_array()) {
    for (std::size_t i = 0; i < v.get_array().size(); ++i) check_finite(v.get_array()[i], path + "[" + std::to_string(i) + "]");
  }
}
}  // namespace

TEST_CASE("extreme but valid sizes give finite numbers, never NaN or inf", "[cli][bad-input][numeric]") {
  // Every bound at its maximum at once: products reach ~1e28 bytes; still finite, reported
  // as infeasible rather than wrapped.
  const CliResult r = run_kvscope({"eval",    "--d-model", "1000000",   "--ffn",     "10000000",   "--layers", "10000",
                                   "--vocab", "100000000", "--q-heads", "65536",     "--kv-heads", "65536",    "--head-dim",
                                   "65536",   "--batch",   "1000000",   "--context", "100000000",  "--format", "json"});
  REQUIRE(r.status == 0);
  INFO(r.err);
  const boost::json::value j = boost::json::parse(r.out);
  check_finite(j, "");
  CHECK_FALSE(j.at("feasible").as_bool());
  // The same corners as a CSV sweep: every numeric cell finite.
  const CliResult s = run_kvscope({"sweep", "--layers", "1,10000", "--d-model", "1000000", "--ffn", "10000000", "--batch",
                                   "1,1000000", "--context", "1,100000000", "--kv-dtype", "bf16,int4", "--format", "csv", "-q"});
  REQUIRE(s.status == 0);
  std::string body;
  std::istringstream lines(s.out);
  for (std::string l; std::getline(lines, l);) {
    if (!l.empty() && l[0] != '#') body += l + "\n";
  }
  const kvscope::CsvTable t = kvscope::parse_csv(body, "sweep");
  CHECK(t.rows.size() == 16);
  for (const auto& row : t.rows) {
    for (std::size_t c = 0; c < row.size(); ++c) {
      char* end = nullptr;
      const double v = std::strtod(row[c].c_str(), &end);
      if (!row[c].empty() && end && *end == 0) {
        INFO(t.header[c] << " = " << row[c]);
        CHECK(std::isfinite(v));
      }
    }
  }
}

TEST_CASE("every error of a user's model or GPU file at once: one line each, exit 2", "[cli][bad-input][collect]") {
  const std::string dir = temp_dir();
  struct Row {
    const char* flag;  // --model or --gpu
    std::string content;
    std::vector<std::string> lines;  // stderr, in order, each after "kvscope: <file>: "
  };
  const Row rows[] = {
      {"--model",
       sub(sub(sub(kModel, "\"n_layers\": 4", "\"n_layers\": 0"), "\"n_kv_heads\": 2", "\"n_kv_heads\": \"2\""),
           "\"vocab\": 1000", "\"vocab\": 1000, \"kv_dtype\": \"fp9\""),
       {"'n_layers': expected an integer in 1..10000, found 0",
        "'n_kv_heads': expected an integer in 1..65536, found \"2\" (string)",
        "'kv_dtype': expected one of 'bf16', 'fp16', 'fp8', 'int8', 'int4', found \"fp9\" (string) (did you mean 'fp8'?)"}},
      {"--gpu",
       sub(sub(kGpu, "\"sm_count\": 132", "\"sm_count\": 0"), "\"memory_GB\": 80", "\"memory_GB\": \"80\""),
       {"'memory_GB': expected a number in 0..1e+06, found \"80\" (string)",
        "'sm_count': expected an integer in 1..1000000, found 0"}},
      // One error: one line, as ever.
      {"--model", sub(kModel, "\"d_model\": 256", "\"d_model\": 0"), {"'d_model': expected an integer in 1..1000000, found 0"}},
  };
  for (const Row& row : rows) {
    const std::string file = dir + "/mine.json";
    std::ofstream(file) << row.content;
    const CliResult r = run_kvscope({"eval", row.flag, file});
    INFO(r.err);
    CHECK(r.status == 2);
    std::vector<std::string> got;
    std::istringstream lines(r.err);
    for (std::string l; std::getline(lines, l);) got.push_back(l);
    std::vector<std::string> want;
    for (const std::string& l : row.lines) want.push_back("kvscope: " + file + ": " + l);
    CHECK(got == want);
  }
  fs::remove_all(dir);
}
