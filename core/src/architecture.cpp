#include "kvscope/core/architecture.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

#include "kvscope/core/enum_names.hpp"
#include "kvscope/core/error.hpp"

namespace kvscope {

std::string to_string(MlpKind k) {
  return enum_name<MlpKind::moe>(k, {"swiglu", "plain", "moe"});
}

std::string to_string(KvDtype d) {
  return enum_name<KvDtype::int4>(d, {"bf16", "fp16", "fp8", "int8", "int4"});
}

KvDtype parse_kv_dtype(const std::string& text, const std::string& where) {
  if (text == "bf16") return KvDtype::bf16;
  if (text == "fp16") return KvDtype::fp16;
  if (text == "fp8") return KvDtype::fp8;
  if (text == "int8") return KvDtype::int8;
  if (text == "int4") return KvDtype::int4;
  throw InputError(where, "kv_dtype", "one of bf16, fp16, fp8, int8, int4", fmt::format("'{}'", text));
}

KvDtype parse_weight_dtype(const std::string& text, const std::string& where) {
  try {
    return parse_kv_dtype(text, where);
  } catch (const InputError&) {
    throw InputError(where, "weight_dtype", "one of bf16, fp16, fp8, int8, int4", fmt::format("'{}'", text));
  }
}

double weight_bytes_per_element(KvDtype dtype, int group, double d_model) {
  switch (dtype) {
    case KvDtype::bf16:
    case KvDtype::fp16:
      return 2.0;
    case KvDtype::fp8:
      return 1.0 + 4.0 / (128.0 * 128.0);
    case KvDtype::int8:
      return 1.0 + 4.0 / d_model;
    case KvDtype::int4:
      return 0.5 + 2.5 / group;
  }
  return 2.0;
}

MlpKind parse_mlp_kind(const std::string& text, const std::string& where) {
  if (text == "swiglu") return MlpKind::swiglu;
  if (text == "plain") return MlpKind::plain;
  if (text == "moe") return MlpKind::moe;
  throw InputError(where, "mlp", "one of swiglu, plain, moe", fmt::format("'{}'", text));
}

double kv_bytes_per_element(KvDtype dtype, int quant_group) {
  // int8/int4: one fp16 scale + one fp16 zero point (4 B) per group of `quant_group` elements.
  const double scale_overhead = quant_group > 0 ? 4.0 / quant_group : 0.0;
  switch (dtype) {
    case KvDtype::bf16:
    case KvDtype::fp16:
      return 2.0;
    case KvDtype::fp8:
      return 1.0;
    case KvDtype::int8:
      return 1.0 + scale_overhead;
    case KvDtype::int4:
      return 0.5 + scale_overhead;
  }
  return 2.0;
}

std::vector<int> cla_producers(int n_layers, int cla_factor) {
  std::vector<int> producers(static_cast<std::size_t>(std::max(n_layers, 0)));
  if (n_layers <= 0 || cla_factor <= 0) return producers;
  // The short group (n mod c layers) comes first, as in the paper's Fig. 2 CLA3 example.
  const int first = n_layers % cla_factor;
  for (int i = 0; i < n_layers; ++i) {
    if (i < first) {
      producers[static_cast<std::size_t>(i)] = 0;
    } else {
      producers[static_cast<std::size_t>(i)] = first + ((i - first) / cla_factor) * cla_factor;
    }
  }
  return producers;
}

std::vector<int> named_pattern_producers(const std::string& pattern, int n_layers, const std::string& where) {
  std::vector<int> p(static_cast<std::size_t>(n_layers));
  for (int i = 0; i < n_layers; ++i) p[static_cast<std::size_t>(i)] = i;
  auto at = [&](int i) -> int& { return p[static_cast<std::size_t>(i)]; };
  if (pattern == "KeepEnds") {
    if (n_layers < 3) throw ConfigError(where, "sharing_pattern", "at least 3 layers for KeepEnds", std::to_string(n_layers));
    // Layer 0 own; pairs (1,2), (3,4), ...; a leftover last layer keeps its own KV.
    for (int i = 1; i + 1 < n_layers; i += 2) at(i + 1) = i;
  } else if (pattern == "DenseFront") {
    if (n_layers < 4) throw ConfigError(where, "sharing_pattern", "at least 4 layers for DenseFront", std::to_string(n_layers));
    // First n/2 layers own KV; the next n/2 - 1 reuse layer n/2 - 1; the last layer its own.
    const int dense = n_layers / 2;
    for (int i = dense; i < n_layers - 1; ++i) at(i) = dense - 1;
  } else if (pattern == "DenseBack") {
    if (n_layers < 6) throw ConfigError(where, "sharing_pattern", "at least 6 layers for DenseBack", std::to_string(n_layers));
    // 2 own-KV layers, a run reusing layer 1, then the last n/2 - 1 layers own KV (20 -> 11 KV layers).
    const int back = n_layers / 2 - 1;
    for (int i = 2; i < n_layers - back; ++i) at(i) = 1;
  } else {
    throw InputError(where, "sharing_pattern", "one of KeepEnds, DenseFront, DenseBack", fmt::format("'{}'", pattern));
  }
  return p;
}

std::vector<int> parse_producer_list(const std::string& text, const std::string& where) {
  std::vector<int> out;
  if (text.empty()) throw InputError(where, "kv-producers", "a list of layer indices like 0,0,2,2", "an empty list");
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find_first_of(",_", pos);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(pos, end - pos);
    item.erase(std::remove_if(item.begin(), item.end(), [](unsigned char c) { return std::isspace(c); }), item.end());
    int value = 0;
    auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (item.empty() || ec != std::errc() || ptr != item.data() + item.size() || value < 0) {
      // A lone word is most likely a misspelt pattern name: say what the names are.
      const bool word = out.empty() && end == text.size() && !item.empty() && std::isalpha(static_cast<unsigned char>(item[0]));
      if (word) {
        throw InputError(where, "kv_producers", "a layer map like 0,0,2,2 or one of KeepEnds, DenseFront, DenseBack",
                         fmt::format("'{}'", item));
      }
      throw InputError(where, fmt::format("kv_producers[{}]", out.size()), "a non-negative layer index",
                       fmt::format("'{}'", item));
    }
    out.push_back(value);
    if (end == text.size()) break;
    pos = end + 1;
  }
  return out;
}

std::vector<LayerKind> expand_layer_pattern(const std::string& pattern, int n_layers, const std::string& where) {
  if (pattern.empty()) throw InputError(where, "layer_pattern", "a string of G (global) and L (local) letters", "''");
  std::vector<LayerKind> kinds(static_cast<std::size_t>(std::max(n_layers, 0)));
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != 'G' && pattern[i] != 'L') {
      throw InputError(where, "layer_pattern", "only the letters G (global) and L (local)",
                       fmt::format("'{}' at position {}", pattern[i], i));
    }
  }
  for (std::size_t i = 0; i < kinds.size(); ++i) {
    kinds[i] = pattern[i % pattern.size()] == 'L' ? LayerKind::local : LayerKind::global;
  }
  return kinds;
}

namespace {

int parse_int_token(const std::string& token, std::size_t skip, const std::string& where, const std::string& variant) {
  int value = 0;
  const char* b = token.data() + skip;
  const char* e = token.data() + token.size();
  auto [ptr, ec] = std::from_chars(b, e, value);
  if (b == e || ec != std::errc() || ptr != e || value <= 0) {
    throw InputError(where, "variant",
                     "a name like H128-GQA4-CLA2 (H<head_dim>-MHA|GQA<n>|MQA[-CLA<c>][-KeepEnds|-DenseFront|-DenseBack])",
                     fmt::format("'{}' (bad part '{}')", variant, token));
  }
  return value;
}

}  // namespace

void apply_variant(Architecture& arch, const std::string& variant, const std::string& where) {
  std::vector<std::string> parts;
  std::size_t pos = 0;
  while (true) {
    const std::size_t end = variant.find('-', pos);
    parts.push_back(variant.substr(pos, end == std::string::npos ? std::string::npos : end - pos));
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  const std::string expected =
      "a name like H128-GQA4-CLA2 (H<head_dim>-MHA|GQA<n>|MQA[-CLA<c>][-KeepEnds|-DenseFront|-DenseBack])";
  if (parts.size() < 2 || parts[0].size() < 2 || parts[0][0] != 'H') {
    throw InputError(where, "variant", expected, fmt::format("'{}'", variant));
  }
  const int head_dim = parse_int_token(parts[0], 1, where, variant);
  if (arch.d_model < head_dim) {
    throw ConfigError(where, "variant", fmt::format("head_dim <= d_model ({})", arch.d_model), fmt::format("H{}", head_dim));
  }
  arch.head_dim = head_dim;
  // The paper's rule n_query * d_head = d_model, rounded down (H46: 45 heads, H90: 22 heads).
  arch.n_q_heads = static_cast<int>(arch.d_model / head_dim);
  const std::string& mech = parts[1];
  if (mech == "MHA") {
    arch.n_kv_heads = arch.n_q_heads;
  } else if (mech == "MQA") {
    arch.n_kv_heads = 1;
  } else if (mech.rfind("GQA", 0) == 0) {
    arch.n_kv_heads = parse_int_token(mech, 3, where, variant);
  } else {
    throw InputError(where, "variant", expected, fmt::format("'{}' (bad part '{}')", variant, mech));
  }
  arch.kv_producer.clear();
  arch.sharing = "none";
  int cla = 1;
  for (std::size_t i = 2; i < parts.size(); ++i) {
    const std::string& p = parts[i];
    if (p.rfind("CLA", 0) == 0) {
      cla = parse_int_token(p, 3, where, variant);
      if (cla > arch.n_layers) {
        throw ConfigError(where, "variant", fmt::format("a CLA factor <= n_layers ({})", arch.n_layers), p);
      }
      arch.kv_producer = cla_producers(arch.n_layers, cla);
      arch.sharing = cla == 1 ? "none" : fmt::format("CLA{}", cla);
    } else if (p == "KeepEnds" || p == "DenseFront" || p == "DenseBack") {
      if (cla != 2) throw ConfigError(where, "variant", "KeepEnds/DenseFront/DenseBack after CLA2", fmt::format("'{}'", variant));
      arch.kv_producer = named_pattern_producers(p, arch.n_layers, where);
      arch.sharing = p;
    } else {
      throw InputError(where, "variant", expected, fmt::format("'{}' (bad part '{}')", variant, p));
    }
  }
}

void validate(const Architecture& a, const std::string& where) {
  auto positive = [&](const char* key, long long v, long long max) {
    if (v <= 0 || v > max) {
      throw ConfigError(where, key, fmt::format("an integer in 1..{}", max), std::to_string(v));
    }
  };
  positive("n_layers", a.n_layers, 10000);
  positive("d_model", a.d_model, 1000000);
  positive("n_q_heads", a.n_q_heads, 65536);
  positive("n_kv_heads", a.n_kv_heads, 65536);
  positive("head_dim", a.head_dim, 65536);
  positive("vocab", a.vocab, 100000000);
  if (a.mlp != MlpKind::moe || a.moe.n_dense_layers > 0) positive("ffn_dim", a.ffn_dim, 10000000);
  if (a.n_q_heads % a.n_kv_heads != 0) {
    throw ConfigError(where, "n_kv_heads", fmt::format("a divisor of n_q_heads ({})", a.n_q_heads), std::to_string(a.n_kv_heads));
  }
  if (a.mlp == MlpKind::moe) {
    positive("moe.n_routed", a.moe.n_routed, 100000);
    positive("moe.n_active", a.moe.n_active, a.moe.n_routed);
    positive("moe.expert_ffn", a.moe.expert_ffn, 10000000);
    if (a.moe.n_shared < 0 || a.moe.n_shared > 100000) {
      throw ConfigError(where, "moe.n_shared", "an integer in 0..100000", std::to_string(a.moe.n_shared));
    }
    if (a.moe.n_dense_layers < 0 || a.moe.n_dense_layers > a.n_layers) {
      throw ConfigError(where, "moe.n_dense_layers", fmt::format("an integer in 0..{}", a.n_layers),
                        std::to_string(a.moe.n_dense_layers));
    }
  }
  if (a.mla) {
    positive("mla.kv_lora_rank", a.mla->kv_lora_rank, 65536);
    positive("mla.qk_rope_dim", a.mla->qk_rope_dim, 65536);
    positive("mla.qk_nope_dim", a.mla->qk_nope_dim, 65536);
    positive("mla.v_head_dim", a.mla->v_head_dim, 65536);
    if (a.mla->q_lora_rank < 0)
      throw ConfigError(where, "mla.q_lora_rank", "0 or a positive integer", std::to_string(a.mla->q_lora_rank));
  }
  if (a.kv_quant_group <= 0 || a.kv_quant_group > 65536) {
    throw ConfigError(where, "kv_quant_group", "an integer in 1..65536", std::to_string(a.kv_quant_group));
  }
  const auto n = static_cast<std::size_t>(a.n_layers);
  if (!a.kv_producer.empty()) {
    if (a.kv_producer.size() != n) {
      throw ConfigError(where, "kv_producers", fmt::format("one entry per layer ({})", n),
                        fmt::format("{} entries", a.kv_producer.size()));
    }
    for (std::size_t i = 0; i < n; ++i) {
      const int p = a.kv_producer[i];
      if (p < 0 || static_cast<std::size_t>(p) >= n) {
        throw ConfigError(where, fmt::format("kv_producers[{}]", i), fmt::format("a layer index in 0..{}", n - 1),
                          std::to_string(p));
      }
      if (static_cast<std::size_t>(p) > i) {
        throw ConfigError(where, fmt::format("kv_producers[{}]", i),
                          fmt::format("a layer at or below {} (K/V cannot come from a later layer)", i), std::to_string(p));
      }
      if (a.kv_producer[static_cast<std::size_t>(p)] != p) {
        throw ConfigError(where, fmt::format("kv_producers[{}]", i),
                          fmt::format("a layer that stores its own K/V (layer {} reads layer {})", p,
                                      a.kv_producer[static_cast<std::size_t>(p)]),
                          std::to_string(p));
      }
    }
  }
  if (!a.layer_kind.empty() && a.layer_kind.size() != n) {
    throw ConfigError(where, "layer_pattern", fmt::format("one kind per layer ({})", n), std::to_string(a.layer_kind.size()));
  }
  const bool any_local = std::any_of(a.layer_kind.begin(), a.layer_kind.end(), [](LayerKind k) { return k == LayerKind::local; });
  if (any_local && (a.window <= 0 || a.window > 100000000)) {
    throw ConfigError(where, "window", "a positive number of positions (local layers present)", std::to_string(a.window));
  }
  if (a.window < 0) throw ConfigError(where, "window", "0 or a positive number of positions", std::to_string(a.window));
}

bool stores_kv(const Architecture& a, int layer) {
  return a.kv_producer.empty() || a.kv_producer[static_cast<std::size_t>(layer)] == layer;
}

int kv_layer_count(const Architecture& a) {
  int count = 0;
  for (int i = 0; i < a.n_layers; ++i) count += stores_kv(a, i) ? 1 : 0;
  return count;
}

std::string sharing_label(const Architecture& a) {
  if (a.kv_producer.empty() || kv_layer_count(a) == a.n_layers) return "none";
  // A CLA c map ends with a full group of c layers reading layer n - c, so the only candidate
  // factor is n - producer(last layer): one comparison, linear in the layer count (trying every
  // c was quadratic: minutes for a 10,000-layer model).
  const int c = a.n_layers - a.kv_producer.back();
  if (c >= 2 && cla_producers(a.n_layers, c) == a.kv_producer) return fmt::format("CLA{}", c);
  for (const char* name : {"KeepEnds", "DenseFront", "DenseBack"}) {
    try {
      if (named_pattern_producers(name, a.n_layers, "") == a.kv_producer) return name;
    } catch (const Error&) {
    }
  }
  return "custom";
}

std::string variant_name(const Architecture& a) {
  if (a.mla) return fmt::format("MLA{}+{}", a.mla->kv_lora_rank, a.mla->qk_rope_dim);
  std::string mech;
  if (a.n_kv_heads == a.n_q_heads) {
    mech = "MHA";
  } else if (a.n_kv_heads == 1) {
    mech = "MQA";
  } else {
    mech = fmt::format("GQA{}", a.n_kv_heads);
  }
  std::string name = fmt::format("H{}-{}", a.head_dim, mech);
  const std::string share = sharing_label(a);
  if (share == "KeepEnds" || share == "DenseFront" || share == "DenseBack") {
    name += "-CLA2-" + share;
  } else if (share == "custom") {
    name += fmt::format("-KV{}of{}", kv_layer_count(a), a.n_layers);
  } else if (share != "none") {
    name += "-" + share;
  }
  return name;
}

}  // namespace kvscope
