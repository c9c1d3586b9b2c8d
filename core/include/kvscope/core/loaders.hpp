#pragma once
// Loading and writing model architectures and GPU profiles (strict, versioned JSON).
//
// Presets live in data/models/<id>.json and data/gpus/<id>.json and are compiled into the binary
// (embedded_data.hpp); a user file is any argument that contains '/' or ends in ".json".
// Every error names the file, the key (JSON path), what was expected and what was found
// (see json_util.hpp for the message shapes). Values are converted to SI at load time.
//
// ======================================================================================
// Model profile, schema "kvscope-model/1"
// ======================================================================================
//   key                      type / bound                               default
//   schema                   "kvscope-model/1"                          required
//   id                       kebab-case [a-z0-9] words joined by - or .  required
//   name                     non-empty string                           required
//   n_layers                 integer 1..10000                           required
//   d_model                  integer 1..1000000                         required
//   n_q_heads                integer 1..65536                           required
//   n_kv_heads               integer 1..65536, divides n_q_heads        required
//   head_dim                 integer 1..65536                           required
//   mlp                      "swiglu" | "plain" | "moe"                 required
//   ffn_dim                  integer 1..10000000 (dense MLP width)      required, except for an
//                                                                       all-MoE model (n_dense_layers 0)
//   moe                      object, required iff mlp = "moe", forbidden otherwise:
//     n_routed               integer 1..100000                          required
//     n_active               integer 1..n_routed                        required
//     n_shared               integer 0..100000                          0
//     expert_ffn             integer 1..10000000                        required
//     n_dense_layers         integer 0..n_layers                        0
//   mla                      object (DeepSeek MLA), optional:
//     kv_lora_rank, qk_rope_dim, qk_nope_dim, v_head_dim   integers 1..65536   required
//     q_lora_rank            integer 0..65536 (0 = no low-rank query)   0
//   vocab                    integer 1..100000000                       required
//   tied_embeddings          boolean                                    required
//   qkv_bias                 boolean                                    false
//   layer sharing, at most one of:                                      none (every layer own K/V)
//     cla_factor             integer 1..n_layers (uniform CLA, short group first; 1 = none)
//     kv_producers           array of n_layers integers, entry i = layer whose K/V layer i reads
//                            (<= i, and that layer must produce its own)
//     sharing_pattern        "KeepEnds" | "DenseFront" | "DenseBack" (the paper's CLA2 variants)
//   layer_pattern            string of G (global) / L (local), cyclic   "G"
//   window                   integer 1..100000000 positions; required iff any L layer, forbidden otherwise
//   kv_dtype                 "bf16" | "fp16" | "fp8" | "int8" | "int4"  "bf16"
//   kv_quant_group           integer 1..65536                           128
//   weight_dtype             same values as kv_dtype: the published checkpoint's  "bf16"
//   weight_group             integer 1..65536 (int4 weights)            128
//   max_position_embeddings  integer 1..1e9 (the model's config value)  absent
//   published_params         number 1..1e15 (total parameter count)     absent
//   published_active_params  number 1..1e15, <= published_params        absent
//   source                   object {url: non-empty string, notes: string (optional, "")}  required in
//                                                                       presets; optional in user files
//
// The bounds are chosen so that no product the models form (params ~ layers x d_model x ffn x
// experts, bytes ~ layers x heads x head_dim x context x batch) can overflow an int64 or lose
// a double's integer precision: n_layers <= 1e4, d_model <= 1e6, heads/head_dim <= 65536,
// vocab <= 1e8, ffn <= 1e7.
//
// After building the Architecture the loader calls validate(arch, where) (architecture.hpp):
// heads that don't divide, producer maps pointing forward or at a non-producer are ConfigErrors.
// `layer_kind` is always expanded to n_layers entries; `kv_producer` is empty when every layer
// stores its own K/V; `sharing` = sharing_label(arch).
//
// ======================================================================================
// GPU profile, schema "kvscope-gpu/1"
// ======================================================================================
//   key                    JSON unit -> GpuSpec field (SI)                 bound
//   schema                 "kvscope-gpu/1"
//   id, name, vendor, architecture     non-empty strings (id kebab-case)
//   form_factor            string, optional (kept in provenance notes: GpuSpec has no field)
//   memory_GB              GB (1e9 B)   -> memory_B                        (0, 1e6]
//   memory_usable_MiB      MiB (2^20 B) -> memory_usable_B, optional;      (0, 1e9]
//                          the device total as the driver reports it (cudaMemGetInfo total):
//                          measured, or HBM-stack / ECC arithmetic
//   memory_usable_source   string, optional: where memory_usable_MiB comes from
//   hbm_bandwidth_GBps     GB/s         -> hbm_bandwidth_Bps               (0, 1e6]
//   bf16_dense_TFLOPS      TFLOP/s      -> bf16_flops                      (0, 1e6]
//   fp8_dense_TFLOPS       TFLOP/s      -> fp8_flops (0 = not supported)   [0, 1e6]
//   l2_cache_MiB           MiB          -> l2_cache_B                      (0, 1e6]
//   sm_count               integer (SMs or CUs)                            1..1000000
//   tdp_W                  W (0 = not published)                           [0, 1e5]
//   interconnect           string (may be "none")
//   interconnect_GBps      GB/s total bidirectional (0 = none)             [0, 1e6]
//   source                 object {url: string, evidence: string (optional), notes: string (optional)};
//                          required in presets, optional in user files
//                          evidence is folded into provenance.notes ("... Evidence: R;I.")
//   calibration            object, optional: every TimingParams field, all required:
//     source, fitted_on, date_utc       strings (fitted_on may be "")
//     borrowed                          boolean (default false); borrowed_from required iff true
//     hbm_read_GBps, hbm_copy_GBps, l2_read_GBps      GB/s  -> *_Bps         (0, 1e6]
//     l2_capacity_MiB                                 MiB   -> l2_capacity_B (0, 1e6]
//     l2_transition                                   plain                  (0, 10]
//     compute_clock_ratio                             plain                  (0, 1.5]
//     gemm_bw_fraction, gemm_compute_fraction, attn_bw_fraction, attn_fp8_bw_fraction,
//     prefill_attn_compute_fraction, elementwise_bw_fraction   fractions     (0, 1.5]
//     gemm_fixed_us, attn_fixed_us, launch_graph_us, launch_stream_us, launch_cpu_us, launch_event_us,
//     attn_combine_per_split_us, elementwise_fixed_us, rope_fixed_us,
//     rope_bw_fraction                                fraction               (0, 2]
//     allreduce_latency_us                            µs    -> *_s           [0, 1e6]
//     gemm_m_half                                     rows (plain)           [0, 1e9]
//     attn_units_sat                                  work units (plain)     (0, 1e9]
//     attn_compute_TFLOPS                             TFLOP/s -> attn_compute_flops (0, 1e6]
//     allreduce_bus_GBps                              GB/s  -> allreduce_bus_Bps (0, 1e6]
// After building the GpuSpec the loader calls validate(gpu, where) (gpu.hpp).
//
// to_json() writes the same schemas (units converted back; optional keys omitted when absent or
// default-equivalent), so parse(to_json(x)) reproduces x (doubles up to rounding of the unit
// conversion, ~1e-15 relative).
#include <boost/json.hpp>
#include <string>
#include <vector>

#include "kvscope/core/architecture.hpp"
#include "kvscope/core/gpu.hpp"

namespace kvscope {

inline constexpr const char* kModelSchema = "kvscope-model/1";
inline constexpr const char* kGpuSchema = "kvscope-gpu/1";

// `where` names the document in error messages (a path, or "models/<id>.json" for presets).
// `user_file`: a user's own file, whose "source" is optional (absent: the file is its provenance);
// bundled presets must carry one.
Architecture parse_architecture(const boost::json::value& v, const std::string& where, bool user_file = false);
// A preset id ("llama-3-8b") or a file path (contains '/' or ends in ".json"). A file is a
// kvscope-model/1 profile or a Hugging Face config.json (hf_config.hpp: no "schema", a
// "model_type" or "architectures" key). Unknown preset -> InputError listing the closest ids;
// missing file -> IoError.
Architecture load_architecture(const std::string& preset_or_path);
boost::json::value to_json(const Architecture& arch);
// The keys that name a model and give its attention shape (id, name, n_layers, d_model, n_q_heads,
// n_kv_heads, head_dim), in that order: the head of a model file (to_json) and of a `kvscope
// models` record (models::model_record), which list them alike.
void add_model_shape_json(boost::json::object& o, const Architecture& arch);

GpuSpec parse_gpu(const boost::json::value& v, const std::string& where, bool user_file = false);
// A GPU preset id or profile path exactly as written: calibration and kernel-stack blocks only
// where the file has them.
GpuSpec load_gpu_as_written(const std::string& preset_or_path);
// Fills what `g` has not measured from the nearest calibrated preset (same architecture family
// first, then the closest HBM bandwidth): the hardware calibration when it has none, and every
// kernel stack some preset measured and it did not, each block whole (never a mix of fits and
// defaults) and marked `borrowed` with `borrowed_from` and a source line saying so.
void resolve_borrowing(GpuSpec& g);
// What every prediction uses: load_gpu_as_written, then resolve_borrowing.
GpuSpec load_gpu(const std::string& preset_or_path);
boost::json::value to_json(const GpuSpec& gpu);

// Every bundled preset, parsed and validated, sorted by id.
std::vector<Architecture> list_model_presets();
std::vector<GpuSpec> list_gpu_presets();
// Just the ids, sorted.
std::vector<std::string> model_preset_ids();
std::vector<std::string> gpu_preset_ids();

// True when the argument is treated as a file path rather than a preset id.
bool looks_like_path(const std::string& preset_or_path);

}  // namespace kvscope
