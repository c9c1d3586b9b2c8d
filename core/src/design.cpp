#include "kvscope/core/design.hpp"

#include <fmt/format.h>

#include "kvscope/core/error.hpp"

namespace kvscope {

bool ArchOverrides::empty() const {
  return !n_layers && !d_model && !n_q_heads && !n_kv_heads && !head_dim && !ffn_dim && !vocab && !cla_factor && !kv_producers &&
         !variant && !kv_dtype && !window && !layer_pattern && !weight_dtype && !weight_group;
}

std::string context_warning(const Architecture& a, std::int64_t context) {
  if (a.max_position_embeddings <= 0 || context <= a.max_position_embeddings) return {};
  return fmt::format(
      "context {} is past {}'s max_position_embeddings ({}): memory and time are computed, but the model was not "
      "trained for it (position encodings / RoPE scaling) and its quality there is unknown",
      context, a.id.empty() ? "the model" : a.id, a.max_position_embeddings);
}

std::string layer_pattern_of(const Architecture& a) {
  const auto& k = a.layer_kind;
  if (k.empty()) return "G";
  for (std::size_t period = 1; period <= k.size(); ++period) {
    bool ok = true;
    for (std::size_t i = period; i < k.size() && ok; ++i) ok = k[i] == k[i % period];
    if (ok) {
      std::string s;
      for (std::size_t i = 0; i < period; ++i) s += k[i] == LayerKind::local ? 'L' : 'G';
      return s;
    }
  }
  return "G";
}

int cla_factor_of(const Architecture& a) {
  if (a.kv_producer.empty()) return 1;
  for (int c = 1; c <= a.n_layers; ++c) {
    if (cla_producers(a.n_layers, c) == a.kv_producer) return c;
  }
  return 0;
}

Architecture apply_overrides(const Architecture& base, const ArchOverrides& o, const std::string& where) {
  if (o.empty()) return base;
  Architecture a = base;
  const bool base_mha = base.n_kv_heads == base.n_q_heads && !base.mla;
  const int base_cla = cla_factor_of(base);
  const std::string base_named = sharing_label(base);
  const std::string base_pattern = layer_pattern_of(base);

  if (o.n_layers) {
    if (*o.n_layers <= 0 || *o.n_layers > 10000) {
      throw ConfigError(where, "layers", "an integer in 1..10000", std::to_string(*o.n_layers));
    }
    a.n_layers = *o.n_layers;
    a.layer_kind = expand_layer_pattern(base_pattern, a.n_layers, where);
    if (base_cla >= 1) {
      a.kv_producer = base_cla == 1 ? std::vector<int>{} : cla_producers(a.n_layers, std::min(base_cla, a.n_layers));
    } else if (base_named == "KeepEnds" || base_named == "DenseFront" || base_named == "DenseBack") {
      a.kv_producer = named_pattern_producers(base_named, a.n_layers, where);
    } else if (!o.cla_factor && !o.kv_producers && !o.variant) {
      throw ConfigError(where, "layers", "--kv-producers or --cla as well (the base has a custom producer map)",
                        std::to_string(a.n_layers));
    }
  }
  if (o.d_model) a.d_model = *o.d_model;
  if (o.variant) apply_variant(a, *o.variant, where);
  if (o.head_dim) {
    if (*o.head_dim <= 0) throw ConfigError(where, "head-dim", "a positive integer", std::to_string(*o.head_dim));
    a.head_dim = *o.head_dim;
    if (!o.n_q_heads) {
      // The CLA paper's rule: query heads = d_model / head_dim, which must be exact (flooring
      // 4096 / 96 to 42 heads would model a 4032-wide attention silently).
      if (a.head_dim <= a.d_model && a.d_model % a.head_dim != 0) {
        throw ConfigError(where, "head-dim", fmt::format("a divisor of d_model ({}) when --q-heads is not given", a.d_model),
                          fmt::format("{} (d_model / head_dim = {:.4g}; give --q-heads too)", a.head_dim,
                                      static_cast<double>(a.d_model) / static_cast<double>(a.head_dim)));
      }
      a.n_q_heads = static_cast<int>(a.d_model / a.head_dim);
    }
    if (a.n_q_heads <= 0) {
      throw ConfigError(where, "head-dim", fmt::format("at most d_model ({})", a.d_model), std::to_string(a.head_dim));
    }
    if (!o.n_kv_heads && base_mha && !o.variant) a.n_kv_heads = a.n_q_heads;
  }
  if (o.n_q_heads) {
    a.n_q_heads = *o.n_q_heads;
    if (!o.n_kv_heads && base_mha && !o.variant) a.n_kv_heads = a.n_q_heads;
  }
  if (o.n_kv_heads) a.n_kv_heads = *o.n_kv_heads;
  if (o.ffn_dim) a.ffn_dim = *o.ffn_dim;
  if (o.vocab) a.vocab = *o.vocab;
  if (o.cla_factor && o.kv_producers) {
    throw ConfigError(where, "cla", "either --cla or --kv-producers", "both");
  }
  if (o.cla_factor) {
    const int c = *o.cla_factor;
    if (c <= 0 || c > a.n_layers) {
      throw ConfigError(where, "cla", fmt::format("a CLA factor in 1..{} (the layer count)", a.n_layers), std::to_string(c));
    }
    a.kv_producer = c == 1 ? std::vector<int>{} : cla_producers(a.n_layers, c);
  }
  if (o.kv_producers) {
    const std::string& text = *o.kv_producers;
    if (text == "KeepEnds" || text == "DenseFront" || text == "DenseBack") {
      a.kv_producer = named_pattern_producers(text, a.n_layers, where);
    } else {
      a.kv_producer = parse_producer_list(text, where);
    }
  }
  if (o.kv_dtype) a.kv_dtype = *o.kv_dtype;
  if (o.weight_dtype) a.weight_dtype = *o.weight_dtype;
  if (o.weight_group) a.weight_group = *o.weight_group;
  if (o.layer_pattern) a.layer_kind = expand_layer_pattern(*o.layer_pattern, a.n_layers, where);
  if (o.window) a.window = *o.window;
  validate(a, where);  // before sharing_label: it indexes kv_producer by layer
  a.sharing = sharing_label(a);
  return a;
}

}  // namespace kvscope
