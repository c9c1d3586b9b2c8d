#include "kvscope/core/hf_config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <optional>
#include <vector>

#include "kvscope/core/error.hpp"
#include "kvscope/core/json_util.hpp"
#include "model_bounds.hpp"

namespace kvscope {

namespace bj = boost::json;

namespace {

// Bounds as for kvscope-model/1 files (loaders.hpp explains them).
using namespace model_bounds;

// What transformers assumes when a config leaves a key out, per family (the defaults of each
// *Config class in transformers/models/<family>/configuration_<family>.py).
struct Family {
  const char* model_type;
  const char* architecture;  // architectures[0]
  bool tied_default;         // tie_word_embeddings
  bool qkv_bias_default;     // bias on the q/k/v projections (Qwen2 always has it)
};
const Family kFamilies[] = {
    {"llama", "LlamaForCausalLM", false, false},
    {"mistral", "MistralForCausalLM", false, false},
    {"mixtral", "MixtralForCausalLM", false, false},
    {"qwen2", "Qwen2ForCausalLM", false, true},
    {"qwen2_moe", "Qwen2MoeForCausalLM", false, true},
    {"qwen3", "Qwen3ForCausalLM", true, false},
    {"gemma", "GemmaForCausalLM", true, false},
    {"gemma2", "Gemma2ForCausalLM", true, false},
    {"gemma3_text", "Gemma3ForCausalLM", true, false},
    {"deepseek_v2", "DeepseekV2ForCausalLM", false, false},
    {"deepseek_v3", "DeepseekV3ForCausalLM", false, false},
    {"phi3", "Phi3ForCausalLM", false, false},
    {"phimoe", "PhiMoEForCausalLM", false, false},
};

// Collects every problem of one file instead of stopping at the first.
class Reader {
 public:
  Reader(const bj::object& o, std::string file) : o_(o), file_(std::move(file)) {}

  const std::string& file() const { return file_; }
  const std::vector<std::string>& errors() const { return errors_; }

  // Present and not null.
  const bj::value* get(std::string_view key) const {
    const bj::value* v = o_.if_contains(key);
    return v && !v->is_null() ? v : nullptr;
  }
  bool has(std::string_view key) const { return get(key) != nullptr; }

  void fail(std::string_view key, const std::string& expected, const std::string& found) {
    errors_.push_back(fmt::format("'{}': expected {}, found {}", key, expected, found));
  }
  void missing(std::string_view key, const std::string& expected) {
    errors_.push_back(fmt::format("missing key '{}' (expected {})", key, expected));
  }
  void note(const std::string& text) { errors_.push_back(text); }

  std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max, bool required) {
    const bj::value* v = get(key);
    if (!v) {
      if (required) missing(key, fmt::format("an integer in {}..{}", min, max));
      return std::nullopt;
    }
    return checked([&] { return JsonObjectReader::to_int(*v, file_, std::string(key), min, max); });
  }
  std::optional<bool> boolean(std::string_view key) {
    const bj::value* v = get(key);
    if (!v) return std::nullopt;
    if (!v->is_bool()) {
      fail(key, "true or false", describe_json(*v));
      return std::nullopt;
    }
    return v->get_bool();
  }
  std::optional<std::string> string(std::string_view key) {
    const bj::value* v = get(key);
    if (!v) return std::nullopt;
    if (!v->is_string()) {
      fail(key, "a string", describe_json(*v));
      return std::nullopt;
    }
    return std::string(v->get_string());
  }

 private:
  template <class F>
  auto checked(F&& f) -> std::optional<decltype(f())> {
    try {
      return f();
    } catch (const InputError& e) {
      // The reader's message starts with "<file>: "; the combined message names the file once.
      std::string m = e.what();
      const std::string prefix = file_ + ": ";
      if (m.rfind(prefix, 0) == 0) m = m.substr(prefix.size());
      errors_.push_back(std::move(m));
      return std::nullopt;
    }
  }

  const bj::object& o_;
  std::string file_;
  std::vector<std::string> errors_;
};

// "Meta-Llama-3-8B" -> "meta-llama-3-8b" (the kebab-case id kvscope names models by).
std::string kebab(std::string_view s) {
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u))
      out += static_cast<char>(std::tolower(u));
    else if (c == '.' && !out.empty() && out.back() != '-' && out.back() != '.')
      out += '.';
    else if (!out.empty() && out.back() != '-' && out.back() != '.')
      out += '-';
  }
  while (!out.empty() && (out.back() == '-' || out.back() == '.')) out.pop_back();
  if (out.size() > 100) out.resize(100);
  while (!out.empty() && (out.back() == '-' || out.back() == '.')) out.pop_back();
  return out;
}

std::string derive_name(const Reader& r, const std::string& where) {
  if (const bj::value* n = r.get("_name_or_path"); n && n->is_string() && !n->get_string().empty()) {
    const std::string s(n->get_string());
    const auto slash = s.find_last_of('/');
    return slash == std::string::npos ? s : s.substr(slash + 1);
  }
  const std::filesystem::path p(where);
  if (p.filename() == "config.json" && p.has_parent_path() && !p.parent_path().filename().empty() &&
      p.parent_path().filename() != "." && p.parent_path().filename() != "..") {
    return p.parent_path().filename().string();
  }
  return p.stem().string();
}

}  // namespace

bool is_hf_config(const bj::value& v) {
  if (!v.is_object()) return false;
  const bj::object& o = v.get_object();
  return !o.contains("schema") && (o.contains("model_type") || o.contains("architectures"));
}

Architecture parse_hf_config(const bj::value& v, const std::string& where) {
  if (!v.is_object()) throw InputError(where, "", "a Hugging Face config.json object", describe_json(v));
  Reader r(v.get_object(), where);
  std::vector<std::string> notes;

  // Family: model_type, else the first entry of architectures.
  std::string model_type = r.string("model_type").value_or("");
  std::string arch_class;
  if (const bj::value* a = r.get("architectures")) {
    if (a->is_array() && !a->get_array().empty() && a->get_array()[0].is_string()) {
      arch_class = std::string(a->get_array()[0].get_string());
    } else {
      r.fail("architectures", "an array of class names (e.g. [\"LlamaForCausalLM\"])", describe_json(*a));
    }
  }
  const Family* family = nullptr;
  for (const Family& f : kFamilies) {
    if ((!model_type.empty() && model_type == f.model_type) || (model_type.empty() && arch_class == f.architecture)) family = &f;
  }
  if (model_type.empty() && family) model_type = family->model_type;
  const std::string family_text = model_type.empty() ? arch_class : model_type;
  if (!family) {
    notes.push_back(
        fmt::format("model_type '{}' is not one kvscope knows by name: mapped by the common keys, gated "
                    "(SwiGLU-style) MLP assumed, tie_word_embeddings defaults to true (PretrainedConfig)",
                    family_text));
  }

  Architecture a;
  const std::string display = derive_name(r, where);
  a.id = kebab(display);
  if (a.id.empty()) a.id = kebab(family_text.empty() ? "hf-model" : family_text);
  a.name = display;

  const auto layers = r.integer("num_hidden_layers", 1, kMaxLayers, true);
  const auto hidden = r.integer("hidden_size", 1, kMaxDModel, true);
  const auto heads = r.integer("num_attention_heads", 1, kMaxHeads, true);
  const auto kv_heads = r.integer("num_key_value_heads", 1, kMaxHeads, false);
  const auto vocab = r.integer("vocab_size", 1, kMaxVocab, true);
  const auto max_pos = r.integer("max_position_embeddings", 1, 1000000000, false);
  a.n_layers = static_cast<int>(layers.value_or(1));
  a.d_model = hidden.value_or(1);
  a.n_q_heads = static_cast<int>(heads.value_or(1));
  a.n_kv_heads = static_cast<int>(kv_heads.value_or(a.n_q_heads));
  a.vocab = vocab.value_or(1);
  a.max_position_embeddings = max_pos.value_or(0);
  if (heads && kv_heads && *heads % *kv_heads != 0) {
    r.fail("num_key_value_heads", fmt::format("a divisor of num_attention_heads ({})", *heads), std::to_string(*kv_heads));
  }

  // MLA (DeepSeek-V2/V3): the cache holds the latent and the decoupled RoPE key.
  if (r.has("kv_lora_rank")) {
    MlaSpec m;
    m.kv_lora_rank = static_cast<int>(r.integer("kv_lora_rank", 1, kMaxHeads, true).value_or(1));
    m.qk_rope_dim = static_cast<int>(r.integer("qk_rope_head_dim", 1, kMaxHeads, true).value_or(1));
    m.qk_nope_dim = static_cast<int>(r.integer("qk_nope_head_dim", 1, kMaxHeads, true).value_or(1));
    m.v_head_dim = static_cast<int>(r.integer("v_head_dim", 1, kMaxHeads, true).value_or(1));
    m.q_lora_rank = static_cast<int>(r.integer("q_lora_rank", 0, kMaxHeads, false).value_or(0));
    a.mla = m;
    a.head_dim = m.qk_nope_dim + m.qk_rope_dim;
  } else if (auto hd = r.integer("head_dim", 1, kMaxHeads, false)) {
    a.head_dim = static_cast<int>(*hd);
  } else if (hidden && heads) {
    if (*hidden % *heads != 0) {
      r.missing("head_dim",
                fmt::format("an integer: hidden_size ({}) is not a multiple of num_attention_heads ({})", *hidden, *heads));
    }
    a.head_dim = static_cast<int>(*hidden / *heads);
  } else {
    a.head_dim = 1;
  }

  // MLP: dense, or one of the MoE layouts.
  a.mlp = MlpKind::swiglu;
  if (r.has("num_local_experts")) {  // Mixtral, PhiMoE: every layer MoE, intermediate_size = expert width
    a.mlp = MlpKind::moe;
    a.moe.n_routed = static_cast<int>(r.integer("num_local_experts", 1, kMaxExperts, true).value_or(1));
    a.moe.n_active = static_cast<int>(r.integer("num_experts_per_tok", 1, a.moe.n_routed, true).value_or(1));
    a.moe.expert_ffn = r.integer("intermediate_size", 1, kMaxFfn, true).value_or(1);
  } else if (r.has("n_routed_experts")) {  // DeepSeek-V2/V3
    a.mlp = MlpKind::moe;
    a.moe.n_routed = static_cast<int>(r.integer("n_routed_experts", 1, kMaxExperts, true).value_or(1));
    a.moe.n_active = static_cast<int>(r.integer("num_experts_per_tok", 1, a.moe.n_routed, true).value_or(1));
    a.moe.n_shared = static_cast<int>(r.integer("n_shared_experts", 0, kMaxExperts, false).value_or(0));
    a.moe.expert_ffn = r.integer("moe_intermediate_size", 1, kMaxFfn, true).value_or(1);
    a.moe.n_dense_layers = static_cast<int>(r.integer("first_k_dense_replace", 0, a.n_layers, false).value_or(0));
    if (auto freq = r.integer("moe_layer_freq", 1, kMaxLayers, false); freq && *freq != 1) {
      r.fail("moe_layer_freq", "1 (every layer after first_k_dense_replace is MoE: the only layout kvscope models)",
             std::to_string(*freq));
    }
    a.ffn_dim = r.integer("intermediate_size", 1, kMaxFfn, a.moe.n_dense_layers > 0).value_or(0);
  } else if (r.has("num_experts")) {  // Qwen2-MoE / Qwen3-MoE
    a.mlp = MlpKind::moe;
    a.moe.n_routed = static_cast<int>(r.integer("num_experts", 1, kMaxExperts, true).value_or(1));
    a.moe.n_active = static_cast<int>(r.integer("num_experts_per_tok", 1, a.moe.n_routed, true).value_or(1));
    a.moe.expert_ffn = r.integer("moe_intermediate_size", 1, kMaxFfn, true).value_or(1);
    if (auto shared = r.integer("shared_expert_intermediate_size", 0, kMaxFfn, false); shared && *shared > 0) {
      if (*shared % a.moe.expert_ffn != 0) {
        r.fail("shared_expert_intermediate_size",
               fmt::format("a multiple of moe_intermediate_size ({}): kvscope counts the shared expert as whole experts",
                           a.moe.expert_ffn),
               std::to_string(*shared));
      } else {
        a.moe.n_shared = static_cast<int>(*shared / a.moe.expert_ffn);
        notes.push_back(fmt::format("shared expert of width {} counted as {} experts of width {}", *shared, a.moe.n_shared,
                                    a.moe.expert_ffn));
      }
    }
    if (auto step = r.integer("decoder_sparse_step", 1, kMaxLayers, false); step && *step != 1) {
      r.fail("decoder_sparse_step", "1 (every layer MoE: the only layout kvscope models)", std::to_string(*step));
    }
    if (const bj::value* only = r.get("mlp_only_layers"); only && !(only->is_array() && only->get_array().empty())) {
      r.fail("mlp_only_layers", "[] (dense layers among MoE ones are not modelled)", describe_json(*only));
    }
    a.ffn_dim = r.integer("intermediate_size", 1, kMaxFfn, false).value_or(0);
  } else {
    a.ffn_dim = r.integer("intermediate_size", 1, kMaxFfn, true).value_or(1);
  }

  a.tied_embeddings = r.boolean("tie_word_embeddings").value_or(family ? family->tied_default : true);
  a.qkv_bias = r.boolean("attention_bias").value_or(family && family->qkv_bias_default);

  // Layer kinds: local (sliding window) or global.
  a.layer_kind.assign(static_cast<std::size_t>(a.n_layers), LayerKind::global);
  const auto window = r.integer("sliding_window", 1, kMaxWindow, false);
  const std::optional<bool> use_sliding = r.boolean("use_sliding_window");
  auto need_window = [&](const char* why) {
    if (!window) r.missing("sliding_window", fmt::format("an integer in 1..{} ({})", kMaxWindow, why));
    a.window = window.value_or(1);
  };
  if (const bj::value* types = r.get("layer_types")) {
    const bj::array* arr = types->is_array() ? &types->get_array() : nullptr;
    if (!arr || arr->size() != static_cast<std::size_t>(a.n_layers)) {
      r.fail("layer_types", fmt::format("an array of {} entries \"sliding_attention\" / \"full_attention\"", a.n_layers),
             describe_json(*types));
    } else {
      bool any_local = false;
      for (std::size_t i = 0; i < arr->size(); ++i) {
        const bj::value& t = (*arr)[i];
        if (t.is_string() && t.get_string() == "sliding_attention") {
          a.layer_kind[i] = LayerKind::local;
          any_local = true;
        } else if (!(t.is_string() && t.get_string() == "full_attention")) {
          r.fail(fmt::format("layer_types[{}]", i), "\"sliding_attention\" or \"full_attention\"", describe_json(t));
        }
      }
      if (any_local) need_window("layer_types has sliding_attention layers");
    }
  } else if (model_type == "gemma2") {
    // transformers Gemma2DecoderLayer: is_sliding = not bool(layer_idx % 2).
    for (int i = 0; i < a.n_layers; i += 2) a.layer_kind[static_cast<std::size_t>(i)] = LayerKind::local;
    need_window("Gemma-2 alternates sliding-window and global layers");
  } else if (auto pattern = r.integer("sliding_window_pattern", 1, kMaxLayers, false)) {
    // Gemma-3: every pattern-th layer global, the others local.
    for (int i = 0; i < a.n_layers; ++i) {
      if ((i + 1) % *pattern != 0) a.layer_kind[static_cast<std::size_t>(i)] = LayerKind::local;
    }
    if (*pattern > 1) need_window("sliding_window_pattern makes local layers");
  } else if (use_sliding.has_value() || model_type == "qwen2" || model_type == "qwen2_moe") {
    // Qwen2: sliding only when use_sliding_window, on layers from max_window_layers on
    // (transformers Qwen2Attention).
    if (use_sliding.value_or(false)) {
      const auto from = r.integer("max_window_layers", 0, a.n_layers, false).value_or(0);
      for (std::int64_t i = from; i < a.n_layers; ++i) a.layer_kind[static_cast<std::size_t>(i)] = LayerKind::local;
      if (from < a.n_layers) need_window("use_sliding_window is true");
    }
  } else if (window) {
    // Mistral v0.1, Phi-3: one window on every layer.
    a.layer_kind.assign(static_cast<std::size_t>(a.n_layers), LayerKind::local);
    a.window = *window;
  }
  if (std::none_of(a.layer_kind.begin(), a.layer_kind.end(), [](LayerKind k) { return k == LayerKind::local; })) a.window = 0;

  // Weight element type: the quantization method, else the checkpoint's dtype.
  a.weight_dtype = KvDtype::bf16;
  if (const bj::value* q = r.get("quantization_config")) {
    if (!q->is_object()) {
      r.fail("quantization_config", "an object", describe_json(*q));
    } else {
      Reader qr(q->get_object(), where);
      const std::string method = qr.string("quant_method").value_or("");
      if (method == "fp8") {
        a.weight_dtype = KvDtype::fp8;
        if (const bj::value* b = qr.get("weight_block_size"); b && bj::serialize(*b) != "[128,128]") {
          notes.push_back(fmt::format("fp8 weight_block_size {}: scales counted as for 128 x 128 blocks", bj::serialize(*b)));
        }
      } else if (method == "awq" || method == "gptq") {
        const auto bits = qr.integer("bits", 1, 64, true);
        const auto group = qr.integer("group_size", -1, 65536, false);
        if (bits && *bits == 4)
          a.weight_dtype = KvDtype::int4;
        else if (bits && *bits == 8)
          a.weight_dtype = KvDtype::int8;
        else if (bits)
          r.fail("quantization_config.bits", "4 or 8", std::to_string(*bits));
        if (group && *group > 0)
          a.weight_group = static_cast<int>(*group);
        else if (a.weight_dtype == KvDtype::int4) {
          // Per-channel scales: one group spans a whole input row (~d_model elements).
          a.weight_group = static_cast<int>(std::clamp<std::int64_t>(a.d_model, 1, 65536));
          notes.push_back("group_size -1 (per channel): int4 scales counted per d_model elements");
        }
      } else if (method == "bitsandbytes") {
        if (qr.boolean("load_in_4bit").value_or(false)) {
          a.weight_dtype = KvDtype::int4;
          a.weight_group = 64;  // NF4 / FP4 blocks of 64 with one absmax each (bitsandbytes)
        } else if (qr.boolean("load_in_8bit").value_or(false)) {
          a.weight_dtype = KvDtype::int8;
        } else {
          r.fail("quantization_config", "load_in_4bit or load_in_8bit true (bitsandbytes)", bj::serialize(*q));
        }
      } else {
        r.fail("quantization_config.quant_method", "one of 'fp8', 'awq', 'gptq', 'bitsandbytes'",
               method.empty() ? std::string("nothing") : "'" + method + "'");
      }
      for (const auto& e : qr.errors()) r.note("in quantization_config: " + e);
    }
  } else {
    const std::optional<std::string> dtype = r.has("torch_dtype") ? r.string("torch_dtype") : r.string("dtype");
    if (dtype) {
      if (*dtype == "bfloat16")
        a.weight_dtype = KvDtype::bf16;
      else if (*dtype == "float16")
        a.weight_dtype = KvDtype::fp16;
      else if (*dtype == "float32")
        notes.push_back("torch_dtype float32: weights counted as bf16, as they are served");
      else
        r.fail(r.has("torch_dtype") ? "torch_dtype" : "dtype", "'bfloat16', 'float16' or 'float32'", "'" + *dtype + "'");
    }
  }

  if (!r.errors().empty()) {
    std::string all;
    for (const auto& e : r.errors()) all += (all.empty() ? "" : "; ") + e;
    throw InputError(fmt::format("{}: cannot map this Hugging Face config ({}): {}", where,
                                 family_text.empty() ? "no model_type" : "model_type '" + family_text + "'", all));
  }

  a.provenance.source = where;
  a.provenance.notes =
      fmt::format("mapped from a Hugging Face config.json ({}) by kvscope (core/src/hf_config.cpp){}{}",
                  family_text.empty() ? "no model_type" : "model_type " + family_text, notes.empty() ? "" : "; ", [&] {
                    std::string s;
                    for (const auto& n : notes) s += (s.empty() ? "" : "; ") + n;
                    return s;
                  }());
  validate(a, where);
  a.sharing = sharing_label(a);
  return a;
}

}  // namespace kvscope
