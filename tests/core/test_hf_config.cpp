// Hugging Face config.json -> Architecture (core/src/hf_config.cpp), on the public configs in
// tests/data/hf (README there gives each repository) and on invalid configs.
#include <catch2/catch.hpp>
#include <string>

#include "kvscope/core/design.hpp"
#include "kvscope/core/error.hpp"
#include "kvscope/core/hf_config.hpp"
#include "kvscope/core/json_util.hpp"
#include "kvscope/core/loaders.hpp"

using namespace kvscope;
using Catch::Matchers::Contains;

namespace {
std::string fixture(const std::string& folder) {
  return std::string(KVSCOPE_SOURCE_DIR) + "/tests/data/hf/" + folder + "/config.json";
}
Architecture hf(const std::string& text) {
  return parse_hf_config(parse_json_text(text, "config.json"), "config.json");
}
}  // namespace

TEST_CASE("published Hugging Face configs map to the shapes of the curated presets", "[hf]") {
  const struct {
    const char* folder;
    const char* preset;  // the curated preset of the same model ("" = none)
    const char* id;
    int layers, q, kv, head_dim;
    std::int64_t d_model, ffn, vocab;
    bool tied, qkv_bias;
    const char* pattern;  // layer_pattern_of
    std::int64_t window, max_pos;
    KvDtype weights;
  } rows[] = {
      {"Meta-Llama-3-8B", "llama-3-8b", "meta-llama-3-8b", 32, 32, 8, 128, 4096, 14336, 128256, false, false, "G", 0, 8192,
       KvDtype::bf16},
      {"Llama-3.2-1B", "llama-3.2-1b", "llama-3.2-1b", 16, 32, 8, 64, 2048, 8192, 128256, true, false, "G", 0, 131072,
       KvDtype::bf16},
      {"Mistral-7B-v0.1", "mistral-7b", "mistral-7b-v0.1", 32, 32, 8, 128, 4096, 14336, 32000, false, false, "L", 4096, 32768,
       KvDtype::bf16},
      {"Mixtral-8x7B-v0.1", "mixtral-8x7b", "mixtral-8x7b-v0.1", 32, 32, 8, 128, 4096, 0, 32000, false, false, "G", 0, 32768,
       KvDtype::bf16},
      {"Qwen2.5-7B-Instruct", "qwen2.5-7b", "qwen2.5-7b-instruct", 28, 28, 4, 128, 3584, 18944, 152064, false, true, "G", 0,
       32768, KvDtype::bf16},
      {"Qwen2.5-7B-Instruct-AWQ", "", "qwen2.5-7b-instruct-awq", 28, 28, 4, 128, 3584, 18944, 152064, false, true, "G", 0, 32768,
       KvDtype::int4},
      {"gemma-2-9b", "gemma-2-9b", "gemma-2-9b", 42, 16, 8, 256, 3584, 14336, 256000, true, false, "LG", 4096, 8192,
       KvDtype::bf16},
      {"DeepSeek-V3", "deepseek-v3", "deepseek-v3", 61, 128, 128, 192, 7168, 18432, 129280, false, false, "G", 0, 163840,
       KvDtype::fp8},
      {"Phi-3-mini-4k-instruct", "", "phi-3-mini-4k-instruct", 32, 32, 32, 96, 3072, 8192, 32064, false, false, "L", 2047, 4096,
       KvDtype::bf16},
  };
  for (const auto& r : rows) {
    INFO(r.folder);
    const Architecture a = load_architecture(fixture(r.folder));  // dispatched by load_architecture
    CHECK(a.id == r.id);
    CHECK(a.n_layers == r.layers);
    CHECK(a.n_q_heads == r.q);
    CHECK(a.n_kv_heads == r.kv);
    CHECK(a.head_dim == r.head_dim);
    CHECK(a.d_model == r.d_model);
    CHECK(a.ffn_dim == r.ffn);
    CHECK(a.vocab == r.vocab);
    CHECK(a.tied_embeddings == r.tied);
    CHECK(a.qkv_bias == r.qkv_bias);
    CHECK(layer_pattern_of(a) == r.pattern);
    CHECK(a.window == r.window);
    CHECK(a.max_position_embeddings == r.max_pos);
    CHECK(a.weight_dtype == r.weights);
    CHECK(a.provenance.source == fixture(r.folder));
    CHECK_THAT(a.provenance.notes, Contains("Hugging Face config.json"));
    if (*r.preset) {
      // The same shape as the preset written by hand from the model's paper / code.
      const Architecture p = load_architecture(r.preset);
      CHECK(a.n_layers == p.n_layers);
      CHECK(a.d_model == p.d_model);
      CHECK(a.n_q_heads == p.n_q_heads);
      CHECK(a.n_kv_heads == p.n_kv_heads);
      CHECK(a.head_dim == p.head_dim);
      CHECK(a.mlp == p.mlp);
      CHECK(a.vocab == p.vocab);
      CHECK(a.tied_embeddings == p.tied_embeddings);
      CHECK(a.qkv_bias == p.qkv_bias);
      CHECK(a.layer_kind == p.layer_kind);
      CHECK(a.window == p.window);
      CHECK(a.weight_dtype == p.weight_dtype);
      CHECK(a.moe.n_routed == p.moe.n_routed);
      CHECK(a.moe.n_active == p.moe.n_active);
      CHECK(a.moe.n_shared == p.moe.n_shared);
      CHECK(a.moe.expert_ffn == p.moe.expert_ffn);
      CHECK(a.moe.n_dense_layers == p.moe.n_dense_layers);
      CHECK(a.mla.has_value() == p.mla.has_value());
      if (a.mla && p.mla) {
        CHECK(a.mla->kv_lora_rank == p.mla->kv_lora_rank);
        CHECK(a.mla->qk_rope_dim == p.mla->qk_rope_dim);
        CHECK(a.mla->qk_nope_dim == p.mla->qk_nope_dim);
        CHECK(a.mla->v_head_dim == p.mla->v_head_dim);
        CHECK(a.mla->q_lora_rank == p.mla->q_lora_rank);
      }
    }
  }
  const Architecture awq = load_architecture(fixture("Qwen2.5-7B-Instruct-AWQ"));
  CHECK(awq.weight_group == 128);
  const Architecture mixtral = load_architecture(fixture("Mixtral-8x7B-v0.1"));
  CHECK(mixtral.moe.expert_ffn == 14336);
  CHECK(mixtral.mlp == MlpKind::moe);
}

TEST_CASE("Hugging Face layer kinds, MoE layouts and quantization", "[hf]") {
  const std::string base = R"("num_hidden_layers": 6, "hidden_size": 512, "num_attention_heads": 8, "vocab_size": 1000)";
  SECTION("layer_types and sliding_window_pattern") {
    const Architecture t = hf("{\"model_type\": \"llama\", " + base + R"(, "intermediate_size": 1024, "sliding_window": 128,
        "layer_types": ["sliding_attention", "sliding_attention", "full_attention", "sliding_attention", "sliding_attention", "full_attention"]})");
    CHECK(layer_pattern_of(t) == "LLG");
    CHECK(t.window == 128);
    const Architecture g3 =
        hf("{\"model_type\": \"gemma3_text\", " + base +
           R"(, "intermediate_size": 1024, "sliding_window": 512, "sliding_window_pattern": 3, "head_dim": 64})");
    CHECK(layer_pattern_of(g3) == "LLG");
    CHECK(g3.tied_embeddings);  // the Gemma family default
  }
  SECTION("Qwen2 slides from max_window_layers on, only when use_sliding_window") {
    const std::string q =
        "{\"model_type\": \"qwen2\", " + base + R"(, "intermediate_size": 1024, "sliding_window": 256, "max_window_layers": 4, )";
    CHECK(layer_pattern_of(hf(q + R"("use_sliding_window": false})")) == "G");
    const Architecture on = hf(q + R"("use_sliding_window": true})");
    CHECK(on.layer_kind == std::vector<LayerKind>{LayerKind::global, LayerKind::global, LayerKind::global, LayerKind::global,
                                                  LayerKind::local, LayerKind::local});
    CHECK(on.window == 256);
    CHECK(on.qkv_bias);
  }
  SECTION("Qwen2-MoE counts the shared expert in experts of moe_intermediate_size") {
    const Architecture m = hf("{\"model_type\": \"qwen2_moe\", " + base +
                              R"(, "intermediate_size": 4096, "num_experts": 60, "num_experts_per_tok": 4,
        "moe_intermediate_size": 256, "shared_expert_intermediate_size": 1024, "decoder_sparse_step": 1, "mlp_only_layers": []})");
    CHECK(m.mlp == MlpKind::moe);
    CHECK(m.moe.n_routed == 60);
    CHECK(m.moe.n_active == 4);
    CHECK(m.moe.n_shared == 4);
    CHECK(m.moe.expert_ffn == 256);
  }
  SECTION("quantization_config and torch_dtype set the weight dtype") {
    const std::string d = "{\"model_type\": \"llama\", " + base + R"(, "intermediate_size": 1024, )";
    CHECK(hf(d + R"("torch_dtype": "float16"})").weight_dtype == KvDtype::fp16);
    CHECK(hf(d + R"("dtype": "bfloat16"})").weight_dtype == KvDtype::bf16);
    CHECK(hf(d + R"("quantization_config": {"quant_method": "gptq", "bits": 8, "group_size": 128}})").weight_dtype ==
          KvDtype::int8);
    const Architecture nf4 = hf(d + R"("quantization_config": {"quant_method": "bitsandbytes", "load_in_4bit": true}})");
    CHECK(nf4.weight_dtype == KvDtype::int4);
    CHECK(nf4.weight_group == 64);
    const Architecture pc = hf(d + R"("quantization_config": {"quant_method": "awq", "bits": 4, "group_size": -1}})");
    CHECK(pc.weight_group == 512);
    CHECK_THAT(pc.provenance.notes, Contains("per channel"));
  }
  SECTION("an unknown family is mapped by the common keys, and says so") {
    const Architecture u = hf("{\"architectures\": [\"FooForCausalLM\"], " + base + R"(, "intermediate_size": 1024})");
    CHECK(u.n_kv_heads == 8);  // no num_key_value_heads: MHA
    CHECK(u.tied_embeddings);  // PretrainedConfig's default
    CHECK_THAT(u.provenance.notes, Contains("FooForCausalLM") && Contains("not one kvscope knows"));
  }
}

TEST_CASE("what is and is not a Hugging Face config", "[hf]") {
  CHECK(is_hf_config(parse_json_text(R"({"model_type": "llama"})", "a")));
  CHECK(is_hf_config(parse_json_text(R"({"architectures": ["LlamaForCausalLM"]})", "a")));
  CHECK_FALSE(is_hf_config(parse_json_text(R"({"schema": "kvscope-model/1", "model_type": "llama"})", "a")));
  CHECK_FALSE(is_hf_config(parse_json_text(R"({})", "a")));
  CHECK_FALSE(is_hf_config(parse_json_text(R"([1, 2])", "a")));
  // A file that is neither still gets the kvscope-model/1 message.
  CHECK_THROWS_WITH(parse_architecture(parse_json_text(R"({"n_layers": 2})", "m.json"), "m.json", true),
                    Contains("missing key 'schema'"));
}

TEST_CASE("invalid Hugging Face configs: every problem of the file in one error", "[hf]") {
  const std::string ok =
      R"("model_type": "llama", "num_hidden_layers": 4, "hidden_size": 256, "num_attention_heads": 8, "vocab_size": 100)";
  const struct {
    const char* what;
    std::string json;
    std::vector<std::string> messages;
  } rows[] = {
      {"no layer count",
       R"({"model_type": "llama", "hidden_size": 256, "num_attention_heads": 8, "vocab_size": 100, "intermediate_size": 512})",
       {"config.json: cannot map this Hugging Face config (model_type 'llama'): missing key 'num_hidden_layers' (expected an "
        "integer in 1..10000)"}},
      {"two problems at once",
       R"({"model_type": "llama", "num_hidden_layers": 4, "num_attention_heads": "8", "vocab_size": 100, "intermediate_size": 512})",
       {"missing key 'hidden_size' (expected an integer in 1..1000000); 'num_attention_heads': expected an integer in 1..65536, "
        "found \"8\" (string)"}},
      {"K/V heads that do not divide",
       "{" + ok + R"(, "num_key_value_heads": 3, "intermediate_size": 512})",
       {"'num_key_value_heads': expected a divisor of num_attention_heads (8), found 3"}},
      {"head_dim cannot be derived",
       R"({"model_type": "llama", "num_hidden_layers": 4, "hidden_size": 250, "num_attention_heads": 8, "vocab_size": 100, "intermediate_size": 512})",
       {"missing key 'head_dim' (expected an integer: hidden_size (250) is not a multiple of num_attention_heads (8))"}},
      {"dense model without intermediate_size", "{" + ok + "}", {"missing key 'intermediate_size'"}},
      {"Gemma-2 without its window",
       R"({"model_type": "gemma2", "num_hidden_layers": 4, "hidden_size": 256, "num_attention_heads": 8, "vocab_size": 100, "intermediate_size": 512})",
       {"missing key 'sliding_window' (expected an integer in 1..100000000 (Gemma-2 alternates"}},
      {"unknown layer type",
       "{" + ok +
           R"(, "intermediate_size": 512, "sliding_window": 64, "layer_types": ["full_attention", "chunked_attention", "full_attention", "full_attention"]})",
       {"'layer_types[1]': expected \"sliding_attention\" or \"full_attention\", found \"chunked_attention\" (string)"}},
      {"layer_types of the wrong length",
       "{" + ok + R"(, "intermediate_size": 512, "layer_types": ["full_attention"]})",
       {"'layer_types': expected an array of 4 entries"}},
      {"MoE without experts per token",
       "{" + ok + R"(, "intermediate_size": 512, "num_local_experts": 8})",
       {"missing key 'num_experts_per_tok' (expected an integer in 1..8)"}},
      {"MoE every other layer",
       "{" + ok + R"(, "n_routed_experts": 16, "num_experts_per_tok": 2, "moe_intermediate_size": 64, "moe_layer_freq": 2})",
       {"'moe_layer_freq': expected 1 (every layer after first_k_dense_replace is MoE"}},
      {"MLA without its RoPE width",
       "{" + ok + R"(, "intermediate_size": 512, "kv_lora_rank": 64, "qk_nope_head_dim": 32, "v_head_dim": 32})",
       {"missing key 'qk_rope_head_dim' (expected an integer in 1..65536)"}},
      {"unknown quantization",
       "{" + ok + R"(, "intermediate_size": 512, "quantization_config": {"quant_method": "hqq"}})",
       {"'quantization_config.quant_method': expected one of 'fp8', 'awq', 'gptq', 'bitsandbytes', found 'hqq'"}},
      {"AWQ of 3 bits",
       "{" + ok + R"(, "intermediate_size": 512, "quantization_config": {"quant_method": "awq", "bits": 3}})",
       {"'quantization_config.bits': expected 4 or 8, found 3"}},
      {"GPTQ without bits",
       "{" + ok + R"(, "intermediate_size": 512, "quantization_config": {"quant_method": "gptq"}})",
       {"in quantization_config: missing key 'bits' (expected an integer in 1..64)"}},
      {"unknown torch_dtype",
       "{" + ok + R"(, "intermediate_size": 512, "torch_dtype": "float64"})",
       {"'torch_dtype': expected 'bfloat16', 'float16' or 'float32', found 'float64'"}},
      {"layer count out of range and a bad flag together",
       R"({"model_type": "llama", "num_hidden_layers": 0, "hidden_size": 256, "num_attention_heads": 8, "vocab_size": 100, "intermediate_size": 512, "tie_word_embeddings": "no"})",
       {"'num_hidden_layers': expected an integer in 1..10000, found 0",
        "'tie_word_embeddings': expected true or false, found \"no\" (string)"}},
      {"architectures not a list",
       R"({"architectures": "LlamaForCausalLM", "num_hidden_layers": 4, "hidden_size": 256, "num_attention_heads": 8, "vocab_size": 100, "intermediate_size": 512})",
       {"'architectures': expected an array of class names"}},
  };
  for (const auto& r : rows) {
    INFO(r.what);
    try {
      (void)hf(r.json);
      FAIL("no error");
    } catch (const InputError& e) {
      for (const auto& m : r.messages) CHECK_THAT(e.what(), Contains(m));
    }
  }
}

TEST_CASE("user model and GPU files may leave out their source, presets may not", "[hf][loaders]") {
  const std::string model = R"({"schema": "kvscope-model/1", "id": "mine", "name": "Mine", "n_layers": 2, "d_model": 64,
      "n_q_heads": 4, "n_kv_heads": 2, "head_dim": 16, "mlp": "swiglu", "ffn_dim": 128, "vocab": 100, "tied_embeddings": false})";
  const Architecture a = parse_architecture(parse_json_text(model, "my/model.json"), "my/model.json", true);
  CHECK(a.provenance.source == "my/model.json");
  CHECK(a.provenance.notes == "user file without a source");
  CHECK_THROWS_WITH(parse_architecture(parse_json_text(model, "models/mine.json"), "models/mine.json"),
                    Contains("models/mine.json: missing key 'source'"));
  // A GPU profile: the shipped H100 without its source.
  auto g = to_json(load_gpu("h100-sxm")).as_object();
  g.erase("source");
  const GpuSpec mine = parse_gpu(g, "my/gpu.json", true);
  CHECK(mine.provenance.source == "my/gpu.json");
  CHECK_THROWS_WITH(parse_gpu(g, "gpus/h100-sxm.json"), Contains("missing key 'source'"));
}

TEST_CASE("a context past max_position_embeddings is a warning", "[hf][design]") {
  const Architecture a = load_architecture(fixture("Meta-Llama-3-8B"));
  CHECK(context_warning(a, 8192).empty());
  CHECK_THAT(context_warning(a, 8193), Contains("context 8193 is past meta-llama-3-8b's max_position_embeddings (8192)"));
  Architecture none = a;
  none.max_position_embeddings = 0;  // not stated: nothing to warn about
  CHECK(context_warning(none, 1 << 20).empty());
}
