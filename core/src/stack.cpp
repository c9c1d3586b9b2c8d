#include "kvscope/core/stack.hpp"

#include <fmt/format.h>

#include "kvscope/core/error.hpp"

namespace kvscope {

const std::vector<StackDef>& stacks() {
  static const std::vector<StackDef> all = [] {
    std::vector<StackDef> v;
    StackDef k;
    k.id = "kvbench";
    k.name =
        "kvbench's own CUDA kernels: cuBLAS GEMMs (residual in the epilogue), fused RoPE + K/V append, split-KV "
        "tensor-core decode attention, one CUDA graph per step";
    k.stands_for =
        "a hand-fused reference stack (the fused-elementwise structure of vLLM / SGLang / TensorRT-LLM with "
        "kvbench's attention kernel); the fastest measured elementwise path";
    k.measured_by = "kvbench families memory, cla_reuse, launch, elementwise, gemm, attention, attention_prefill";
    k.not_measured = "-";
    k.decode_attn = DecodeAttnKernel::kvbench;
    k.prefill_attn = PrefillAttnKernel::kvbench;
    k.fused_elementwise = true;
    k.quantized_kv_kernel = true;
    v.push_back(k);

    StackDef f;
    f.id = "torch-flash";
    f.name =
        "PyTorch eager ops (F.linear / cuBLAS, F.rms_norm, HF-style RoPE, silu * mul, separate residual adds, "
        "K/V append by copy_) with scaled_dot_product_attention on the FLASH_ATTENTION backend, one CUDA graph per step";
    f.stands_for =
        "Hugging Face transformers / gpt-fast style inference in plain PyTorch with a static K/V cache and CUDA "
        "graphs (no torch.compile); FlashAttention-2 kernels as vendored in PyTorch";
    f.measured_by =
        "kvbench families memory, cla_reuse, launch (hardware) + torch_gemm, torch_attention, "
        "torch_attention_prefill, torch_elementwise, torch_power (harness/scripts/torch_bench.py)";
    f.not_measured =
        "FlashInfer, FlashAttention-3, vLLM's paged kernels and TensorRT-LLM kernels (not installable on the "
        "lent machines); fp8 K/V (SDPA has no fp8 kernel: modelled as a bf16 cast before attention)";
    f.decode_attn = DecodeAttnKernel::fa2;
    f.prefill_attn = PrefillAttnKernel::fa2;
    f.fused_elementwise = false;
    f.quantized_kv_kernel = false;
    v.push_back(f);

    StackDef c = f;
    c.id = "torch-cudnn";
    c.name =
        "the torch-flash step with scaled_dot_product_attention on the CUDNN_ATTENTION backend (cuDNN 9 fused "
        "attention), one CUDA graph per step";
    c.stands_for =
        "PyTorch inference where SDPA dispatches to cuDNN (PyTorch's default on Hopper for some shapes); "
        "closest measured stand-in for Hopper-tuned attention (FA3 / TensorRT-LLM class)";
    c.measured_by = f.measured_by + "; attention families with backend cudnn_attention";
    c.not_measured =
        "head_dim 64 decode attention and shapes cuDNN refused (each recorded as skipped with its reason); "
        "fp8 K/V (as torch-flash)";
    c.decode_attn = DecodeAttnKernel::cudnn;
    c.prefill_attn = PrefillAttnKernel::cudnn;
    v.push_back(c);
    return v;
  }();
  return all;
}

const StackDef& find_stack(const std::string& id, const std::string& where) {
  std::string valid;
  for (const StackDef& s : stacks()) {
    if (s.id == id) return s;
    valid += (valid.empty() ? "" : ", ") + s.id;
  }
  throw InputError(where, "", fmt::format("a kernel stack ({})", valid), fmt::format("'{}'", id));
}

}  // namespace kvscope
