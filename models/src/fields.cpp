#include "kvscope/models/fields.hpp"

#include <algorithm>
#include <string>

#include "kvscope/core/architecture.hpp"
#include "kvscope/core/design.hpp"
#include "kvscope/core/enum_names.hpp"
#include "kvscope/core/json_util.hpp"

namespace kvscope::models {

ArchFacts make_arch_facts(const Architecture& a) {
  ArchFacts f;
  f.model = a.id;
  f.variant = variant_name(a);
  f.kv_dtype = a.kv_dtype;
  f.weight_dtype = a.weight_dtype;
  f.n_layers = a.n_layers;
  f.n_q_heads = a.n_q_heads;
  f.n_kv_heads = a.n_kv_heads;
  f.head_dim = a.head_dim;
  f.kv_layers = kv_layer_count(a);
  f.cla_factor = cla_factor_of(a);
  f.kv_bytes_per_element = kv_bytes_per_element(a.kv_dtype, a.kv_quant_group);
  f.weight_bytes_per_element = weight_bytes_per_element(a.weight_dtype, a.weight_group, static_cast<double>(a.d_model));
  f.window = a.window;
  f.accuracy = AccuracyModel::bundled().estimate(a);
  return f;
}

namespace {
using P = const PointResult&;
const std::vector<Field> kFields = {
    // Configuration.
    {"batch", "", "requests decoded together", FieldKind::config, [](P p) { return double(p.workload.batch); }, true},
    {"context", "positions", "positions each request holds and attends to", FieldKind::config,
     [](P p) { return double(p.workload.context); }, true},
    {"prompt", "tokens", "prompt length for prefill / TTFT", FieldKind::config, [](P p) { return double(p.workload.prompt); },
     true},
    {"tp", "", "tensor-parallel degree", FieldKind::config, [](P p) { return double(p.workload.tp); }, false},
    {"n_kv_heads", "", "K/V heads", FieldKind::config, [](P p) { return double(p.arch->n_kv_heads); }, true},
    {"n_q_heads", "", "query heads", FieldKind::config, [](P p) { return double(p.arch->n_q_heads); }, true},
    {"head_dim", "", "head dimension", FieldKind::config, [](P p) { return double(p.arch->head_dim); }, true},
    {"kv_layers", "", "layers that store K/V", FieldKind::config, [](P p) { return double(p.arch->kv_layers); }, false},
    {"cla_factor", "", "uniform CLA factor (0 = non-uniform pattern)", FieldKind::config,
     [](P p) { return double(p.arch->cla_factor); }, false},
    {"weight_bytes_per_element", "B", "bytes per linear-layer weight incl. scales (weight dtype)", FieldKind::config,
     [](P p) { return p.arch->weight_bytes_per_element; }, false},
    {"kv_bytes_per_element", "B", "bytes per stored K/V element incl. quantization scales (kv_dtype)", FieldKind::config,
     [](P p) { return p.arch->kv_bytes_per_element; }, false},
    // Memory.
    {"kv_bytes_per_token", "B", "K/V bytes per token, whole model (paper definition)", FieldKind::memory,
     [](P p) { return p.eval.memory.kv_bytes_per_token; }, true},
    {"kv_bytes_per_token_effective", "B", "K/V bytes per token at this context, sliding windows applied (whole model)",
     FieldKind::memory, [](P p) { return p.eval.memory.kv_bytes_per_token_effective; }, true},
    {"kv_bytes_per_token_gpu", "B", "K/V bytes per token on one GPU (TP split / replication)", FieldKind::memory,
     [](P p) { return p.eval.memory.kv_bytes_per_token_gpu; }, true},
    {"kv_cache_bytes", "B", "K/V cache of the batch on one GPU", FieldKind::memory,
     [](P p) { return p.eval.memory.kv_cache_bytes; }, true},
    {"kv_read_bytes_per_step", "B", "K/V bytes one decode step reads on one GPU", FieldKind::memory,
     [](P p) { return p.eval.memory.kv_read_bytes_per_step; }, true},
    {"weight_bytes", "B", "weights on one GPU", FieldKind::memory, [](P p) { return p.eval.memory.weight_bytes; }, true},
    {"workspace_bytes", "B", "engine activation peak (prefill chunk) + sampler buffers on one GPU", FieldKind::memory,
     [](P p) { return p.eval.memory.workspace_bytes; }, true},
    {"total_bytes", "B", "weights + K/V + engine buffers on one GPU", FieldKind::memory,
     [](P p) { return p.eval.memory.total_bytes; }, true},
    {"kv_pool_bytes", "B", "the engine's paged K/V pool on one GPU (whole blocks)", FieldKind::memory,
     [](P p) { return p.eval.memory.pool.pool_B; }, true},
    {"kv_pool_blocks", "", "paged blocks of block_size tokens in the pool", FieldKind::memory,
     [](P p) { return p.eval.memory.pool.blocks; }, true},
    {"max_concurrency", "", "pool blocks / one request's blocks at this context (vLLM's 'Maximum concurrency')",
     FieldKind::memory, [](P p) { return p.eval.memory.max_concurrency; }, true},
    {"param_count", "", "parameters", FieldKind::memory, [](P p) { return p.eval.memory.param_count; }, true},
    {"active_param_count", "", "parameters active per token", FieldKind::memory,
     [](P p) { return p.eval.memory.active_param_count; }, true},
    {"max_batch", "", "largest batch that fits at this context", FieldKind::memory,
     [](P p) { return double(p.eval.memory.max_batch); }, true},
    {"max_context", "positions", "longest context that fits at this batch", FieldKind::memory,
     [](P p) { return double(p.eval.memory.max_context); }, true},
    {"feasible", "bool", "fits in GPU memory (1) or not (0)", FieldKind::memory,
     [](P p) { return p.eval.memory.feasible ? 1.0 : 0.0; }, false},
    // Timing.
    {"decode_step_s", "s", "one decode step", FieldKind::timing, [](P p) { return p.eval.decode_step_s; }, true},
    {"decode_tokens_per_s", "tokens/s", "decode throughput at this batch (TP group)", FieldKind::timing,
     [](P p) { return p.eval.decode_tokens_per_s; }, true},
    {"tpot_s", "s", "time per output token", FieldKind::timing, [](P p) { return p.eval.tpot_s; }, true},
    {"prefill_s", "s", "prefill of the batch's prompts", FieldKind::timing, [](P p) { return p.eval.prefill_s; }, true},
    {"ttft_s", "s", "time to first token: the prefill, whose LM head yields it", FieldKind::timing,
     [](P p) { return p.eval.ttft_s; }, true},
    {"achieved_bandwidth_Bps", "B/s", "HBM bytes of the decode step / its time", FieldKind::timing,
     [](P p) { return p.eval.achieved_Bps; }, true},
    {"bandwidth_fraction", "", "achieved bandwidth / read ceiling", FieldKind::timing, [](P p) { return p.eval.bw_fraction; },
     false},
    {"l2_saved_bytes", "B", "K/V bytes CLA consumers found in L2 per decode step", FieldKind::timing,
     [](P p) { return p.eval.decode.l2_saved_bytes; }, true},
    // Serving view.
    {"max_throughput_tokens_per_s", "tokens/s", "best decode throughput within memory (and TPOT limit)", FieldKind::serving,
     [](P p) { return p.eval.max_throughput_tokens_per_s; }, true},
    {"max_throughput_batch", "", "batch giving max_throughput_tokens_per_s", FieldKind::serving,
     [](P p) { return double(p.eval.max_throughput_batch); }, true},
    {"max_throughput_tpot_s", "s", "decode step at max_throughput_batch", FieldKind::serving,
     [](P p) { return p.eval.max_throughput_step_s; }, true},
    {"max_throughput_tokens_per_s_per_gpu", "tokens/s", "max throughput divided by the TP degree", FieldKind::serving,
     [](P p) { return p.eval.max_throughput_tokens_per_s / p.workload.tp; }, true},
    {"goodput_rps", "requests/s",
     "highest Poisson request rate meeting --ttft-slo-ms / --tpot-slo-ms (simulated, docs/model.md §6); empty without a target",
     FieldKind::serving, [](P p) { return p.eval.goodput_rps; }, true},
    // Accuracy.
    {"val_ppl", "", "validation perplexity (paper shapes only; measured or estimated)", FieldKind::accuracy,
     [](P p) { return p.arch->accuracy.val_ppl; }, false},
    {"ppl_delta", "%", "perplexity change vs. the same model with MHA and no layer sharing", FieldKind::accuracy,
     [](P p) { return p.arch->accuracy.ppl_delta_pct; }, false},
};

}  // namespace

const std::vector<Field>& fields() {
  return kFields;
}

std::string point_reason(const PointResult& p) {
  const std::string& m = p.eval.memory.reason;
  if (p.eval.goodput_reason.empty()) return m;
  return (m.empty() ? "" : m + "; ") + "goodput 0: " + p.eval.goodput_reason;
}

const char* to_string(FieldKind k) {
  return enum_name<FieldKind::accuracy>(k, {"config", "memory", "timing", "serving", "accuracy"});
}

const Field* find_field(std::string_view name) {
  for (const Field& f : kFields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::vector<std::string_view> closest_fields(std::string_view name, std::size_t n) {
  std::vector<std::pair<std::size_t, std::string_view>> d;
  for (const Field& f : kFields) d.emplace_back(edit_distance(name, f.name), f.name);
  std::stable_sort(d.begin(), d.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string_view> out;
  for (std::size_t i = 0; i < d.size() && i < n; ++i) out.push_back(d[i].second);
  return out;
}

}  // namespace kvscope::models
