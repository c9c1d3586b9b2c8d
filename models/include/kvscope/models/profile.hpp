#pragma once
// ArchProfile: everything the memory and timing models need from an Architecture at a given
// tensor-parallel degree, reduced to a few aggregates. Built once per (architecture, tp); the
// per-point evaluation (batch, context, prompt) is then O(1), which is what makes million-point
// sweeps interactive.
#include <cstdint>
#include <vector>

#include "kvscope/core/architecture.hpp"

namespace kvscope::models {

// Parameter counts (plain counts, not bytes). Formulas in docs/model.md §Parameters.
struct ParamCount {
  double total = 0;
  double active = 0;  // per token (MoE: active experts only)
  double embedding = 0;
  double lm_head = 0;  // 0 when tied
  double attention = 0;
  double mlp = 0;
  double norms = 0;
};

ParamCount count_params(const Architecture& arch);

// A group of consumer layers (layers that read another layer's K/V) with the same distance to
// their producer, for the L2-reuse term.
struct ConsumerGroup {
  int distance = 0;  // layers between producer and consumer
  int count = 0;
  bool local = false;
};

struct ArchProfile {
  int n_layers = 0;
  int tp = 1;
  int kv_layers = 0;             // layers that store K/V
  int consumer_layers = 0;       // layers that read a neighbour's K/V
  double kv_bytes_per_elem = 2;  // incl. quantization scales
  bool mla = false;
  // K/V elements per token per layer on one GPU (2 * kv_heads_per_gpu * head_dim, or the MLA
  // latent + rope key, replicated on every GPU).
  double kv_elems_layer_gpu = 0;
  // K/V elements per token per layer for the whole model (paper definition, tp = 1).
  double kv_elems_layer_total = 0;
  int kv_heads_per_gpu = 0;
  int q_heads_per_gpu = 0;
  // Storing layers whose cache holds every position vs at most `window` positions.
  int stored_global_layers = 0;
  int stored_local_layers = 0;
  // Attention layers reading the full context vs at most `window` positions.
  int read_global_layers = 0;
  int read_local_layers = 0;
  std::int64_t window = 0;
  std::vector<ConsumerGroup> consumers;

  ParamCount params;
  // Linear-layer weights: element type and bytes per weight with scales (weight_bytes_per_element);
  // embedding, LM head, norms and the MoE router stay bf16.
  KvDtype weight_dtype = KvDtype::bf16;
  double weight_bytes_per_elem = 2;
  // Weight bytes on one GPU, by op class, for one forward pass.
  double w_qkv_producer_B = 0;  // per producing layer: Q, K, V projections
  double w_q_consumer_B = 0;    // per consuming layer: Q projection only
  double w_o_B = 0;             // per layer
  double w_mlp_dense_B = 0;     // per dense-MLP layer
  double w_expert_B = 0;        // one routed/shared expert (MoE)
  int moe_layers = 0;
  int dense_mlp_layers = 0;
  int n_routed = 0, n_active = 0, n_shared = 0;
  double w_embed_gpu_B = 0;     // embedding table on one GPU (vocab-parallel)
  double w_lm_head_gpu_B = 0;   // LM-head weights read per step on one GPU
  double w_norms_B = 0;         // all norms
  double weight_bytes_gpu = 0;  // everything resident on one GPU
  // MLA (DeepSeek-V2/V3) projections as engines run them (vLLM / SGLang MLA backends): q_a
  // (d -> r_q) and kv_a (d -> r_kv + rope) replicated on every GPU, q_b (r_q -> heads x (nope +
  // rope)) and kv_b (r_kv -> heads x (nope + v)) split by heads. Decode is absorbed (kv_b's two
  // halves applied to the query and the attention output, the cache stays latent); prefill is not
  // (kv_b up-projects the latent, attention runs per head with qk nope + rope and v).
  double mla_rq = 0, mla_rkv = 0, mla_rope = 0, mla_nope = 0, mla_v = 0;
  // Shapes (per GPU) the GEMMs run at.
  double d_model = 0;
  double q_dim_gpu = 0;   // n_q_heads/tp * head_dim (MLA: heads * (nope + rope))
  double kv_dim_gpu = 0;  // 2 * kv_heads_per_gpu * head_dim
  double o_in_gpu = 0;    // input width of the O projection on one GPU
  double ffn_gpu = 0;     // dense MLP intermediate per GPU
  double expert_ffn_gpu = 0;
  double vocab_gpu = 0;
  double head_dim = 0;
  double mlp_matrices = 3;  // SwiGLU 3, plain 2
  // Engine memory profile (memory.cpp kv_pool): activation peak per row of a prefill chunk, and
  // sampler buffers per request (fp32 logits, probabilities and log-probabilities over the whole
  // vocabulary: vLLM gathers the logits on every rank).
  double activation_per_token_B = 0;
  double sampler_per_seq_B = 0;
};

// Throws ConfigError when tp does not divide the query heads, or neither divides nor is a
// multiple of the K/V heads.
ArchProfile make_profile(const Architecture& arch, int tp);

// K/V heads held by one GPU: split when tp divides them, replicated (one per GPU) when there are
// fewer K/V heads than GPUs.
int kv_heads_per_gpu(int n_kv_heads, int tp);

}  // namespace kvscope::models
