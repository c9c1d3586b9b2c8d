#pragma once
// A design point as users write it: a base architecture plus overrides (flags, sweep axes,
// scenario files). Applying them is the single place where the overriding rules live, so the
// CLI, the sweep engine and the GUI agree.
#include <cstdint>
#include <optional>
#include <string>

#include "kvscope/core/architecture.hpp"

namespace kvscope {

struct ArchOverrides {
  std::optional<int> n_layers;
  std::optional<std::int64_t> d_model;
  std::optional<int> n_q_heads;
  std::optional<int> n_kv_heads;
  std::optional<int> head_dim;
  std::optional<std::int64_t> ffn_dim;
  std::optional<std::int64_t> vocab;
  std::optional<int> cla_factor;
  std::optional<std::string> kv_producers;  // "0,0,2,2", "0_0_2_2", or KeepEnds|DenseFront|DenseBack
  std::optional<std::string> variant;       // paper shorthand "H128-GQA4-CLA2"
  std::optional<KvDtype> kv_dtype;
  std::optional<KvDtype> weight_dtype;
  std::optional<int> weight_group;
  std::optional<std::int64_t> window;
  std::optional<std::string> layer_pattern;  // "G", "LG", ...

  bool empty() const;
};

// Rules, in order:
//  1. `variant` sets head_dim, query heads (d_model / H), K/V heads and the CLA pattern.
//  2. Explicit shape fields override. A new head_dim without new query heads keeps the paper's
//     rule n_q_heads = d_model / head_dim; an MHA base stays MHA (K/V heads follow).
//  3. A new layer count re-derives a uniform CLA pattern and the layer pattern of the base;
//     a custom producer map must then be given again.
//  4. `cla_factor` or `kv_producers` set the layer sharing; then `kv_dtype`, `window`,
//     `layer_pattern`.
// The result is validated; errors name `where` and the field.
Architecture apply_overrides(const Architecture& base, const ArchOverrides& o, const std::string& where);

// A warning when `context` positions are more than the model was trained for
// (max_position_embeddings, from its config): "context 16384 is past llama-3-8b's
// max_position_embeddings (8192): ...". Empty when within it or when the model states none.
// The point is still evaluated (memory and time do not depend on it); quality may not hold.
std::string context_warning(const Architecture& arch, std::int64_t context);

// The shortest pattern string ("LG") that repeats to the architecture's layer kinds.
std::string layer_pattern_of(const Architecture& arch);
// The uniform CLA factor of the architecture (1 = none), or 0 when the map is not uniform CLA.
int cla_factor_of(const Architecture& arch);

}  // namespace kvscope
