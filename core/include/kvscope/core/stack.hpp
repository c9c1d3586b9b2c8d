#pragma once
// Kernel stacks: the implementations that execute a step (GEMM library, attention kernels,
// elementwise kernels and which of them are fused, launch mode). A prediction is the GPU's
// hardware ceilings (memory, L2, launch, clocks) times the stack's per-op efficiencies; the
// structure below (which kernels run, how attention tiles and splits its work) is a property of
// the stack's code, the efficiencies are fitted per (GPU, stack) from the harness's
// microbenchmarks. docs/model.md §3-§4 gives the formulas; README.md says what each stands for.
#include <string>
#include <vector>

namespace kvscope {

// How a decode-attention kernel divides its work (docs/model.md §3 "Decode attention").
enum class DecodeAttnKernel {
  kvbench,  // kvbench's split-KV kernel: 16-row MMA tiles per KV head, wave-quantisation splits
  fa2,      // FlashAttention-2 as vendored in PyTorch: GQA rows packed per KV head (q_len 1),
            // FA2's split heuristic over 2 x SMs, 64-row tiles split / 128-row (d <= 128) unsplit
  cudnn,    // cuDNN SDPA: rows packed per KV head in 64-row tiles, FA2-like split rule (opaque)
};
enum class PrefillAttnKernel { kvbench, fa2, cudnn };

struct StackDef {
  std::string id;           // "torch-flash"
  std::string name;         // one line
  std::string stands_for;   // the production engine configuration it represents
  std::string measured_by;  // harness families that calibrate it
  std::string not_measured;
  DecodeAttnKernel decode_attn = DecodeAttnKernel::kvbench;
  PrefillAttnKernel prefill_attn = PrefillAttnKernel::kvbench;
  // true: residual adds fused in the GEMM epilogue, RoPE fused with the K/V append, SiLU*mul one
  // kernel, no RoPE-table gathers (kvbench's step). false: PyTorch eager ops, one kernel each
  // (separate residual adds, 5 kernels of RoPE per tensor, copy_ per K and V, silu then mul).
  bool fused_elementwise = true;
  // An fp8 / int8 / int4 K/V attention kernel exists. When not (PyTorch SDPA), a quantized cache
  // is dequantized to bf16 by one cast kernel per attention layer before attention reads it.
  bool quantized_kv_kernel = true;
};

// Every stack kvscope knows, in listing order.
const std::vector<StackDef>& stacks();
// The stack with this id; InputError naming `where` and the valid ids otherwise.
const StackDef& find_stack(const std::string& id, const std::string& where);
// The default: the stack closest to what production engines run (README "Kernel stacks").
inline const char* default_stack_id() {
  return "torch-flash";
}

}  // namespace kvscope
