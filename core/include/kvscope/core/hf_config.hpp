#pragma once
// Hugging Face `config.json` files as kvscope architectures.
//
// Wherever a model file is accepted (--model PATH, scenario files, sweeps, the GUI), a Hugging
// Face transformers config.json is too: a JSON object with no "schema" key and a "model_type"
// or "architectures" key. The mapping (docs/model.md "Hugging Face configs"):
//   num_hidden_layers -> n_layers, hidden_size -> d_model, num_attention_heads -> n_q_heads,
//   num_key_value_heads -> n_kv_heads (absent: = num_attention_heads, MHA, as transformers),
//   head_dim -> head_dim (absent or null: hidden_size / num_attention_heads),
//   intermediate_size -> ffn_dim, vocab_size -> vocab, tie_word_embeddings -> tied_embeddings
//   (absent: the family's transformers default), attention_bias -> qkv_bias (Qwen2: true),
//   max_position_embeddings -> max_position_embeddings (a longer context is a warning).
// Sliding windows: layer_types ("sliding_attention" / "full_attention") when given; else
//   Gemma-2 alternates local/global from layer 0 (sliding_window); sliding_window_pattern N
//   (Gemma-3) makes every N-th layer global; Qwen2 slides only when use_sliding_window is true,
//   from layer max_window_layers on; otherwise a positive sliding_window (Mistral v0.1, Phi-3)
//   slides on every layer.
// MoE: num_local_experts (Mixtral; intermediate_size is the expert width), n_routed_experts +
//   n_shared_experts + moe_intermediate_size + first_k_dense_replace (DeepSeek-V2/V3),
//   num_experts + moe_intermediate_size + shared_expert_intermediate_size (Qwen2-MoE: the shared
//   expert counted as whole experts of moe_intermediate_size); num_experts_per_tok active.
// MLA (DeepSeek-V2/V3): kv_lora_rank, q_lora_rank, qk_rope_head_dim, qk_nope_head_dim, v_head_dim;
//   head_dim = qk_nope_head_dim + qk_rope_head_dim.
// Weight dtype: quantization_config (fp8 -> fp8; awq / gptq 4 or 8 bits -> int4 / int8 with
//   group_size; bitsandbytes 4 / 8 bit -> int4 (blocks of 64) / int8), else torch_dtype (or
//   dtype): bfloat16 -> bf16, float16 -> fp16, float32 -> bf16 (as served; said in the notes).
//
// Every problem of one file is collected and thrown together as one InputError:
//   "cfg.json: cannot map this Hugging Face config (model_type 'llama'): missing key
//    'hidden_size' (expected an integer in 1..1000000); 'num_attention_heads': expected an
//    integer in 1..65536, found "32" (string)"
// The result is validated like any model (validate(), architecture.hpp). Its provenance is the
// file and the family; assumptions made for the mapping are listed in provenance.notes.
#include <boost/json.hpp>
#include <string>

#include "kvscope/core/architecture.hpp"

namespace kvscope {

// An object without "schema" that has "model_type" or "architectures".
bool is_hf_config(const boost::json::value& v);

// `where` names the file in messages and becomes the provenance source; the id is derived from
// "_name_or_path", else the folder of a file named config.json, else the file name (kebab-case).
Architecture parse_hf_config(const boost::json::value& v, const std::string& where);

}  // namespace kvscope
