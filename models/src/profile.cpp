#include "kvscope/models/profile.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "kvscope/core/error.hpp"

namespace kvscope::models {

namespace {
constexpr double kWeightBytes = 2.0;  // bf16 weights

// Per GPU under TP: q_a and kv_a (with their norms) replicated, q_b and kv_b split by heads.
double mla_q_params_gpu(const Architecture& a, int tp) {
  const MlaSpec& m = *a.mla;
  const double d = static_cast<double>(a.d_model);
  const double qk = static_cast<double>(m.qk_nope_dim + m.qk_rope_dim);
  if (m.q_lora_rank > 0) return d * m.q_lora_rank + m.q_lora_rank + static_cast<double>(m.q_lora_rank) * a.n_q_heads * qk / tp;
  return d * a.n_q_heads * qk / tp;
}
double mla_kv_params_gpu(const Architecture& a, int tp) {
  const MlaSpec& m = *a.mla;
  const double d = static_cast<double>(a.d_model);
  return d * (m.kv_lora_rank + m.qk_rope_dim) + m.kv_lora_rank +
         static_cast<double>(m.kv_lora_rank) * a.n_q_heads * (m.qk_nope_dim + m.v_head_dim) / tp;
}

double mla_q_params(const Architecture& a) {
  const MlaSpec& m = *a.mla;
  const double d = static_cast<double>(a.d_model);
  const double qk = static_cast<double>(m.qk_nope_dim + m.qk_rope_dim);
  if (m.q_lora_rank > 0) return d * m.q_lora_rank + m.q_lora_rank + static_cast<double>(m.q_lora_rank) * a.n_q_heads * qk;
  return d * a.n_q_heads * qk;
}
double mla_kv_params(const Architecture& a) {
  const MlaSpec& m = *a.mla;
  const double d = static_cast<double>(a.d_model);
  // kv_a: d -> (kv_lora_rank + rope) with its norm; kv_b: kv_lora_rank -> heads * (nope + v).
  return d * (m.kv_lora_rank + m.qk_rope_dim) + m.kv_lora_rank +
         static_cast<double>(m.kv_lora_rank) * a.n_q_heads * (m.qk_nope_dim + m.v_head_dim);
}
}  // namespace

int kv_heads_per_gpu(int n_kv_heads, int tp) {
  if (n_kv_heads % tp == 0) return n_kv_heads / tp;
  if (tp % n_kv_heads == 0) return 1;
  return -1;
}

ParamCount count_params(const Architecture& a) {
  ParamCount c;
  const double d = static_cast<double>(a.d_model);
  const double hd = a.head_dim;
  c.embedding = static_cast<double>(a.vocab) * d;
  c.lm_head = a.tied_embeddings ? 0.0 : static_cast<double>(a.vocab) * d;
  double active_mlp = 0;
  const double mats = a.mlp == MlpKind::plain ? 2.0 : 3.0;
  for (int i = 0; i < a.n_layers; ++i) {
    const bool kv = stores_kv(a, i);
    if (a.mla) {
      c.attention += mla_q_params(a) + (kv ? mla_kv_params(a) : 0.0) + static_cast<double>(a.n_q_heads) * a.mla->v_head_dim * d;
    } else {
      const double q = a.n_q_heads * hd;
      const double kvw = kv ? 2.0 * a.n_kv_heads * hd : 0.0;
      c.attention += d * (q + kvw) + q * d + (a.qkv_bias ? q + kvw : 0.0);
    }
    c.norms += 2.0 * d;
    if (a.mlp == MlpKind::moe && i >= a.moe.n_dense_layers) {
      const double expert = 3.0 * d * static_cast<double>(a.moe.expert_ffn);
      const double router = d * a.moe.n_routed;
      c.mlp += (a.moe.n_routed + a.moe.n_shared) * expert + router;
      active_mlp += (a.moe.n_active + a.moe.n_shared) * expert + router;
    } else {
      const double dense = (a.mlp == MlpKind::moe ? 3.0 : mats) * d * static_cast<double>(a.ffn_dim);
      c.mlp += dense;
      active_mlp += dense;
    }
  }
  c.norms += d;  // final norm
  c.total = c.embedding + c.lm_head + c.attention + c.mlp + c.norms;
  c.active = c.embedding + c.lm_head + c.attention + active_mlp + c.norms;
  return c;
}

ArchProfile make_profile(const Architecture& a, int tp) {
  ArchProfile p;
  const std::string where = a.id.empty() ? std::string("architecture") : a.id;
  if (tp < 1) throw ConfigError(where, "tp", "a positive integer", std::to_string(tp));
  if (a.n_q_heads % tp != 0) {
    throw ConfigError(where, "tp", fmt::format("a divisor of the query heads ({})", a.n_q_heads), std::to_string(tp));
  }
  const int kvh = a.mla ? 1 : kv_heads_per_gpu(a.n_kv_heads, tp);
  if (kvh < 0) {
    throw ConfigError(where, "tp", fmt::format("a divisor or a multiple of the K/V heads ({})", a.n_kv_heads),
                      std::to_string(tp));
  }
  p.n_layers = a.n_layers;
  p.tp = tp;
  p.mla = a.mla.has_value();
  p.kv_heads_per_gpu = kvh;
  p.q_heads_per_gpu = a.n_q_heads / tp;
  p.kv_bytes_per_elem = kv_bytes_per_element(a.kv_dtype, a.kv_quant_group);
  p.head_dim = a.head_dim;
  if (a.mla) {
    // Absorbed MLA caches one latent of kv_lora_rank plus the shared RoPE key per token and
    // layer; under TP every GPU holds the whole latent (it is not split by heads).
    p.kv_elems_layer_total = a.mla->kv_lora_rank + a.mla->qk_rope_dim;
    p.kv_elems_layer_gpu = p.kv_elems_layer_total;
  } else {
    p.kv_elems_layer_total = 2.0 * a.n_kv_heads * a.head_dim;
    p.kv_elems_layer_gpu = 2.0 * kvh * a.head_dim;
  }
  p.window = a.window;
  const auto n = static_cast<std::size_t>(a.n_layers);
  auto producer = [&](std::size_t i) { return a.kv_producer.empty() ? static_cast<int>(i) : a.kv_producer[i]; };
  auto is_local = [&](std::size_t i) { return !a.layer_kind.empty() && a.layer_kind[i] == LayerKind::local; };
  std::vector<bool> producer_global(n, false);
  for (std::size_t i = 0; i < n; ++i) {
    if (!is_local(i)) producer_global[static_cast<std::size_t>(producer(i))] = true;
    if (is_local(i))
      ++p.read_local_layers;
    else
      ++p.read_global_layers;
  }
  std::map<std::pair<int, bool>, int> groups;
  for (std::size_t i = 0; i < n; ++i) {
    const auto pi = static_cast<std::size_t>(producer(i));
    if (pi == i) {
      ++p.kv_layers;
      if (producer_global[i])
        ++p.stored_global_layers;
      else
        ++p.stored_local_layers;
    } else {
      ++p.consumer_layers;
      ++groups[{static_cast<int>(i - pi), is_local(i)}];
    }
  }
  for (const auto& [key, count] : groups) p.consumers.push_back({key.first, count, key.second});

  p.params = count_params(a);
  const double d = static_cast<double>(a.d_model);
  p.weight_dtype = a.weight_dtype;
  p.weight_bytes_per_elem = weight_bytes_per_element(a.weight_dtype, a.weight_group, d);
  const double wb = p.weight_bytes_per_elem;
  p.d_model = d;
  p.mlp_matrices = a.mlp == MlpKind::plain ? 2.0 : 3.0;
  if (a.mla) {
    p.q_dim_gpu = static_cast<double>(p.q_heads_per_gpu) * (a.mla->qk_nope_dim + a.mla->qk_rope_dim);
    p.kv_dim_gpu = a.mla->kv_lora_rank + a.mla->qk_rope_dim;
    p.o_in_gpu = static_cast<double>(p.q_heads_per_gpu) * a.mla->v_head_dim;
    p.w_q_consumer_B = wb * mla_q_params_gpu(a, tp);
    p.w_qkv_producer_B = wb * (mla_q_params_gpu(a, tp) + mla_kv_params_gpu(a, tp));
    p.mla_rq = a.mla->q_lora_rank;
    p.mla_rkv = a.mla->kv_lora_rank;
    p.mla_rope = a.mla->qk_rope_dim;
    p.mla_nope = a.mla->qk_nope_dim;
    p.mla_v = a.mla->v_head_dim;
  } else {
    p.q_dim_gpu = static_cast<double>(p.q_heads_per_gpu) * a.head_dim;
    p.kv_dim_gpu = 2.0 * kvh * a.head_dim;
    p.o_in_gpu = p.q_dim_gpu;
    p.w_q_consumer_B = wb * d * p.q_dim_gpu;
    p.w_qkv_producer_B = wb * d * (p.q_dim_gpu + p.kv_dim_gpu);
  }
  p.w_o_B = wb * p.o_in_gpu * d;
  p.ffn_gpu = static_cast<double>(a.ffn_dim) / tp;
  p.w_mlp_dense_B = wb * p.mlp_matrices * d * p.ffn_gpu;
  if (a.mlp == MlpKind::moe) {
    p.moe_layers = a.n_layers - a.moe.n_dense_layers;
    p.dense_mlp_layers = a.moe.n_dense_layers;
    p.n_routed = a.moe.n_routed;
    p.n_active = a.moe.n_active;
    p.n_shared = a.moe.n_shared;
    p.expert_ffn_gpu = static_cast<double>(a.moe.expert_ffn) / tp;
    p.w_expert_B = wb * 3.0 * d * p.expert_ffn_gpu;
    p.w_mlp_dense_B = wb * 3.0 * d * p.ffn_gpu;
  } else {
    p.dense_mlp_layers = a.n_layers;
  }
  p.vocab_gpu = static_cast<double>(a.vocab) / tp;
  p.w_embed_gpu_B = kWeightBytes * p.vocab_gpu * d;
  p.w_lm_head_gpu_B = kWeightBytes * p.vocab_gpu * d;
  p.w_norms_B = kWeightBytes * p.params.norms;
  const double router_B = kWeightBytes * d * p.n_routed;
  p.weight_bytes_gpu = p.kv_layers * p.w_qkv_producer_B + p.consumer_layers * p.w_q_consumer_B + a.n_layers * p.w_o_B +
                       p.dense_mlp_layers * p.w_mlp_dense_B +
                       p.moe_layers * ((p.n_routed + p.n_shared) * p.w_expert_B + router_B) + p.w_embed_gpu_B +
                       (a.tied_embeddings ? 0.0 : p.w_lm_head_gpu_B) + p.w_norms_B;
  // Activation peak of one forward row (bf16, buffers reused across layers): the larger of the
  // MLP phase (hidden, residual and normed input 3d, gate_up output 2f, activation output f) and
  // the attention phase (3d, QKV output q + kv, attention output q). docs/model.md §2 Capacity;
  // vLLM issue #10517's profile of Llama-3.1-8B grows by ~110 KB per batched token, this gives 110.6 KB.
  const double ffn_live = std::max(p.ffn_gpu, (p.n_active + p.n_shared) * p.expert_ffn_gpu);
  p.activation_per_token_B = 2.0 * std::max(3.0 * d + 3.0 * ffn_live, 3.0 * d + 2.0 * p.q_dim_gpu + p.kv_dim_gpu);
  p.sampler_per_seq_B = 12.0 * static_cast<double>(a.vocab);
  return p;
}

}  // namespace kvscope::models
