#pragma once
// Architecture description: the shape of a decoder-only transformer and how it shares K/V.
//
// Head sharing (MHA -> GQA -> MQA) is `n_kv_heads`. Layer sharing (Cross-Layer Attention, Brandon
// et al. 2024, arXiv 2405.12981) is the per-layer producer map `kv_producer`: layer i attends to
// the K/V cache written by layer kv_producer[i] (<= i). A layer with kv_producer[i] == i computes
// and *stores* K/V; the others have no K/V projection and store nothing.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kvscope {

enum class MlpKind { swiglu, plain, moe };
enum class KvDtype { bf16, fp16, fp8, int8, int4 };
enum class LayerKind { global, local };  // local = sliding-window attention

std::string to_string(MlpKind);
std::string to_string(KvDtype);
// Parse "bf16", "fp16", "fp8", "int8", "int4". Throws InputError naming `where`.
KvDtype parse_kv_dtype(const std::string& text, const std::string& where);
// Weights use the same element types (key "weight_dtype" in messages).
KvDtype parse_weight_dtype(const std::string& text, const std::string& where);
MlpKind parse_mlp_kind(const std::string& text, const std::string& where);

// Bytes per stored K/V element including quantization scale overhead: int8/int4 use one fp16
// scale + one fp16 zero point per `group` elements (KIVI-style asymmetric groups); fp8 uses a
// per-tensor scale (negligible, counted as 0). Source: docs/references.md [KV] §4.11.
double kv_bytes_per_element(KvDtype dtype, int quant_group);
// Bytes per weight of a quantized linear layer, scales included (docs/model.md §2 Weights):
// bf16/fp16 2; fp8 1 + 4/128^2 (one fp32 scale per 128 x 128 block: DeepSeek-V3's checkpoint
// format, vLLM's block-fp8 path); int8 1 + 4/d_model (one fp32 scale per output channel);
// int4 0.5 + 2.5/g (one fp16 scale and one packed 4-bit zero point per group of g, AWQ / GPTQ).
double weight_bytes_per_element(KvDtype dtype, int group, double d_model);

// Mixture-of-experts MLP (Mixtral, DeepSeek-V3, Hunyuan-Large).
struct MoeSpec {
  int n_routed = 0;             // experts per MoE layer
  int n_active = 0;             // routed experts used per token
  int n_shared = 0;             // always-on shared experts
  std::int64_t expert_ffn = 0;  // intermediate size of one expert
  int n_dense_layers = 0;       // the first n layers use a dense SwiGLU MLP of width ffn_dim
};

// DeepSeek-style multi-head latent attention: the cache holds one latent vector of
// kv_lora_rank plus the decoupled RoPE key of qk_rope_dim per token and layer (absorbed mode).
struct MlaSpec {
  int kv_lora_rank = 0;
  int qk_rope_dim = 0;
  int qk_nope_dim = 0;
  int v_head_dim = 0;
  int q_lora_rank = 0;  // 0 = no low-rank query projection
};

// Where a value came from.
struct Provenance {
  std::string source;  // URL or document
  std::string notes;
};

struct Architecture {
  std::string id;    // kebab-case preset id, or a derived name for custom shapes
  std::string name;  // human name
  int n_layers = 0;
  std::int64_t d_model = 0;
  int n_q_heads = 0;
  int n_kv_heads = 0;  // MHA: = n_q_heads; GQA: divides n_q_heads; MQA: 1
  int head_dim = 0;
  MlpKind mlp = MlpKind::swiglu;
  std::int64_t ffn_dim = 0;  // dense MLP intermediate size
  MoeSpec moe;
  std::optional<MlaSpec> mla;
  std::int64_t vocab = 0;
  bool tied_embeddings = false;
  bool qkv_bias = false;
  // Per layer: which layer's K/V this layer attends to. Empty means "every layer its own".
  std::vector<int> kv_producer;
  // Per layer: global or local (sliding window of `window` positions).
  std::vector<LayerKind> layer_kind;
  std::int64_t window = 0;  // sliding-window length in positions (local layers only)
  KvDtype kv_dtype = KvDtype::bf16;
  // Element type of the transformer blocks' linear layers (embedding, LM head, norms and MoE
  // router stay bf16, as vLLM's quantization methods leave them); a preset states the dtype of
  // its published checkpoint (DeepSeek-V3: fp8).
  KvDtype weight_dtype = KvDtype::bf16;
  int weight_group = 128;                    // int4 group size (elements per scale)
  std::int64_t max_position_embeddings = 0;  // 0 = not stated; a longer context is a warning
  int kv_quant_group = 128;                  // elements per scale group for int8/int4
  std::string sharing;                       // label of the layer-sharing pattern ("none", "CLA2", "KeepEnds", "custom")
  Provenance provenance;
  std::optional<double> published_params;         // total parameter count, published
  std::optional<double> published_active_params;  // MoE: active per token, published
};

// ---- Layer-sharing patterns -------------------------------------------------------------

// Uniform CLA with factor c: groups of c adjacent layers, the lowest layer of each group
// produces K/V. When c does not divide n_layers the *first* group is the short one, as in the
// paper's 10-layer CLA3 example (producers 0, 1, 4, 7; Fig. 2 caption).
std::vector<int> cla_producers(int n_layers, int cla_factor);
// The paper's non-uniform CLA2 variants (Table 1; layer counts per docs/references.md [KV] §1.3):
//   KeepEnds:   layer 0 own KV; pairs (1,2),(3,4),...; the last layer its own when left over.
//   DenseFront: first n/2 layers own KV, then n/2-1 layers reuse layer n/2-1, last layer own.
//   DenseBack:  2 own-KV layers, then layers 2..n-10 reuse layer 1, last 9 layers own
//               (11 KV layers of 20, matching the table's 5632 B/token; the prose's 2+10+9 = 21
//               layers is inconsistent, so the table is followed).
std::vector<int> named_pattern_producers(const std::string& pattern, int n_layers, const std::string& where);
// Parse an explicit producer list "0,0,2,2" or the LCKV form "0_0_2_2".
std::vector<int> parse_producer_list(const std::string& text, const std::string& where);
// Expand a layer-type pattern ("G", "L", "LG", "LLLLLG") cyclically to n_layers.
std::vector<LayerKind> expand_layer_pattern(const std::string& pattern, int n_layers, const std::string& where);

// Apply the paper's variant shorthand to a base shape: "H128-GQA4-CLA2", "H64-MQA",
// "H128-MHA", "H128-MQA-CLA2-KeepEnds". head_dim = H; query heads = d_model / H (the paper's
// rule n_query * d_head = d_model, rounded down as in H46/H90); kv heads from MHA/GQAn/MQA.
void apply_variant(Architecture& arch, const std::string& variant, const std::string& where);

// Throws ConfigError describing the first inconsistency (names `where` and the field).
void validate(const Architecture& arch, const std::string& where);

// ---- Derived quantities ---------------------------------------------------------------
bool stores_kv(const Architecture& arch, int layer);
int kv_layer_count(const Architecture& arch);         // layers that store K/V
std::string sharing_label(const Architecture& arch);  // "none", "CLA2", or the pattern name
// Paper-style name, e.g. "H128-GQA4-CLA2" (+ "-KeepEnds"), "MLA512+64".
std::string variant_name(const Architecture& arch);

}  // namespace kvscope
