#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "kvbench/host.hpp"

namespace kvbench {

namespace {
void positive(double v, const char* what) {
  if (!(v > 0) || !std::isfinite(v)) throw std::invalid_argument(std::string(what) + " must be a positive number");
}
}  // namespace

MemKernel parse_mem_kernel(const std::string& s) {
  if (s == "read") return MemKernel::read;
  if (s == "copy") return MemKernel::copy;
  if (s == "triad") return MemKernel::triad;
  if (s == "write") return MemKernel::write;
  throw std::invalid_argument("unknown memory kernel '" + s + "' (read|copy|triad|write)");
}
const char* to_string(MemKernel k) {
  switch (k) {
    case MemKernel::read:
      return "read";
    case MemKernel::copy:
      return "copy";
    case MemKernel::triad:
      return "triad";
    case MemKernel::write:
      return "write";
  }
  return "?";
}
int mem_arrays(MemKernel k) {
  return k == MemKernel::copy ? 2 : k == MemKernel::triad ? 3 : 1;
}

Traffic memory_traffic(MemKernel k, double array_B, double reps) {
  positive(array_B, "array bytes");
  positive(reps, "reps");
  Traffic t;
  switch (k) {
    case MemKernel::read:
      t.bytes_read = array_B;
      break;
    case MemKernel::copy:
      t.bytes_read = array_B, t.bytes_written = array_B;
      break;
    case MemKernel::triad:
      t.bytes_read = 2 * array_B, t.bytes_written = array_B;
      t.flops = 2 * array_B / 4;  // fp32 elements: one multiply and one add each
      break;
    case MemKernel::write:
      t.bytes_written = array_B;
      break;
  }
  t.bytes_read *= reps, t.bytes_written *= reps, t.flops *= reps;
  return t;
}

Traffic gemm_traffic(double M, double N, double K, double e) {
  positive(M, "M"), positive(N, "N"), positive(K, "K"), positive(e, "element size");
  return {e * (N * K + M * K), e * M * N, 2 * M * N * K};
}

void AttnShape::validate() const {
  if (batch < 1 || kv_len < 1 || n_kv_heads < 1 || group_size < 1 || head_dim < 1 || splits < 1) {
    throw std::invalid_argument("attention shape: batch, kv_len, n_kv_heads, group_size, head_dim, splits must be >= 1");
  }
  if (!(kv_elem_B == 1 || kv_elem_B == 2)) throw std::invalid_argument("attention shape: kv element size must be 1 or 2 bytes");
  if (splits > kv_len) throw std::invalid_argument("attention shape: more splits than keys");
}

double kv_bytes(const AttnShape& a) {
  a.validate();
  return static_cast<double>(a.batch) * static_cast<double>(a.kv_len) * 2.0 * static_cast<double>(a.n_kv_heads) *
         static_cast<double>(a.head_dim) * a.kv_elem_B;
}

Traffic decode_attention_traffic(const AttnShape& a) {
  const double kv = kv_bytes(a);
  const double bhq = static_cast<double>(a.batch * a.n_q_heads());
  const double d = static_cast<double>(a.head_dim);
  Traffic t;
  t.bytes_read = kv + bhq * d * 2;
  t.bytes_written = bhq * d * 2;
  if (a.splits > 1) {
    const double part = bhq * static_cast<double>(a.splits) * (d + 2) * 4;
    t.bytes_written += part;
    t.bytes_read += part;
  }
  t.flops = 4.0 * bhq * static_cast<double>(a.kv_len) * d;
  return t;
}

Traffic prefill_attention_traffic(const AttnShape& a) {
  const double kv = kv_bytes(a);
  const double p = static_cast<double>(a.kv_len);
  const double q = static_cast<double>(a.batch * a.n_q_heads()) * p * static_cast<double>(a.head_dim) * 2;
  Traffic t;
  t.bytes_read = kv + q;
  t.bytes_written = q;
  t.flops = 4.0 * static_cast<double>(a.batch * a.n_q_heads()) * static_cast<double>(a.head_dim) * p * (p + 1) / 2;
  return t;
}

Traffic kv_read_traffic(const AttnShape& a) {
  const double kv = kv_bytes(a);
  Traffic t;
  t.bytes_read = kv + static_cast<double>(a.batch * a.n_q_heads() * a.head_dim) * 2;
  t.bytes_written = static_cast<double>(a.batch * a.n_kv_heads * a.splits) * 4;
  return t;
}

std::int64_t choose_splits(std::int64_t batch, std::int64_t n_kv_heads, std::int64_t kv_len, int sm_count, int ctas_per_sm,
                           std::int64_t min_keys, std::int64_t max_splits) {
  if (batch < 1 || n_kv_heads < 1 || kv_len < 1 || sm_count < 1 || ctas_per_sm < 1 || min_keys < 1 || max_splits < 1) {
    throw std::invalid_argument("choose_splits: all arguments must be >= 1");
  }
  // CTAs of one launch do equal work and run in waves of slots = SMs x CTAs per SM. The time is
  // proportional to waves(s) / s = ceil(units s / slots) / s; take the fewest splits within 5 % of the best.
  const std::int64_t units = batch * n_kv_heads;
  const std::int64_t slots = std::int64_t{sm_count} * ctas_per_sm;
  const std::int64_t s_max = std::clamp<std::int64_t>(kv_len / min_keys, 1, max_splits);
  auto cost = [&](std::int64_t s) { return static_cast<double>((units * s + slots - 1) / slots) / static_cast<double>(s); };
  double best = cost(1);
  for (std::int64_t s = 2; s <= s_max; ++s) best = std::min(best, cost(s));
  for (std::int64_t s = 1; s <= s_max; ++s) {
    if (cost(s) <= 1.05 * best) return s;
  }
  return s_max;
}

std::int64_t rotation_sets(double bytes_per_set, double l2_B, double factor) {
  positive(bytes_per_set, "bytes per set"), positive(l2_B, "L2 size"), positive(factor, "factor");
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(factor * l2_B / bytes_per_set)));
}

void ModelShape::validate() const {
  if (n_layers < 1 || d_model < 1 || n_q_heads < 1 || n_kv_heads < 1 || head_dim < 1 || ffn_dim < 1 || vocab < 1) {
    throw std::invalid_argument("model '" + label + "': every dimension must be >= 1");
  }
  if (n_q_heads % n_kv_heads != 0) throw std::invalid_argument("model '" + label + "': n_q_heads not a multiple of n_kv_heads");
  if (static_cast<std::int64_t>(kv_producers.size()) != n_layers) {
    throw std::invalid_argument("model '" + label + "': kv_producers must have one entry per layer");
  }
  for (std::int64_t i = 0; i < n_layers; ++i) {
    const std::int64_t p = kv_producers[static_cast<std::size_t>(i)];
    if (p < 0 || p > i)
      throw std::invalid_argument("model '" + label + "': producer of layer " + std::to_string(i) + " must be in [0, i]");
    if (kv_producers[static_cast<std::size_t>(p)] != p) {
      throw std::invalid_argument("model '" + label + "': layer " + std::to_string(i) + " reads layer " + std::to_string(p) +
                                  ", which is itself a consumer");
    }
  }
}

std::int64_t ModelShape::n_producers() const {
  std::int64_t n = 0;
  for (std::int64_t i = 0; i < n_layers; ++i) n += is_producer(i) ? 1 : 0;
  return n;
}

std::vector<std::int64_t> uniform_cla_producers(std::int64_t n_layers, std::int64_t c) {
  if (n_layers < 1 || c < 1) throw std::invalid_argument("uniform_cla_producers: n_layers and c must be >= 1");
  std::vector<std::int64_t> p(static_cast<std::size_t>(n_layers));
  for (std::int64_t i = 0; i < n_layers; ++i) p[static_cast<std::size_t>(i)] = c * (i / c);
  return p;
}

namespace {
// Per-layer GEMM shapes (N, K): qkv (or q-only on consumers), o, gate_up, down.
struct LayerGemms {
  double qkv_n, o_n, gu_n, down_n, k_in, ffn;
};
LayerGemms layer_gemms(const ModelShape& m, std::int64_t layer) {
  LayerGemms g{};
  const double d = static_cast<double>(m.d_model);
  g.qkv_n = static_cast<double>(m.q_dim() + (m.is_producer(layer) ? 2 * m.kv_dim() : 0));
  g.o_n = d;
  g.gu_n = 2.0 * static_cast<double>(m.ffn_dim);
  g.down_n = d;
  g.k_in = d;
  g.ffn = static_cast<double>(m.ffn_dim);
  return g;
}
}  // namespace

double weight_bytes(const ModelShape& m, double e) {
  m.validate();
  const double d = static_cast<double>(m.d_model);
  double w = 0;
  for (std::int64_t i = 0; i < m.n_layers; ++i) {
    const LayerGemms g = layer_gemms(m, i);
    w += g.qkv_n * d + static_cast<double>(m.q_dim()) * d + g.gu_n * d + d * g.ffn;
  }
  const double emb = static_cast<double>(m.vocab) * d;
  w += m.tied_embeddings ? emb : 2 * emb;
  w += static_cast<double>(2 * m.n_layers + 1) * d;  // norm weights
  return w * e;
}

double kv_cache_bytes(const ModelShape& m, std::int64_t batch, std::int64_t positions, double e) {
  m.validate();
  if (batch < 1 || positions < 1) throw std::invalid_argument("kv_cache_bytes: batch and positions must be >= 1");
  return static_cast<double>(m.n_producers()) * static_cast<double>(batch) * static_cast<double>(positions) * 2.0 *
         static_cast<double>(m.kv_dim()) * e;
}

namespace {
StepTraffic stack_traffic(const ModelShape& m, double tokens, double batch, double attn_pairs_per_seq, double ctx_read,
                          double new_per_seq, double e_kv) {
  // tokens: rows through the layer GEMMs; attn_pairs_per_seq: sum over the sequence's query tokens of positions
  // attended; ctx_read: KV positions read per sequence per consumer layer.
  m.validate();
  StepTraffic t;
  const double d = static_cast<double>(m.d_model), hd = static_cast<double>(m.head_dim);
  auto gemm = [&](double M, double N, double K) {
    const Traffic g = gemm_traffic(M, N, K);
    t.weight_read_B += 2 * N * K;
    t.act_B += 2 * M * K + 2 * M * N;
    t.gemm_flops += g.flops;
  };
  for (std::int64_t i = 0; i < m.n_layers; ++i) {
    const LayerGemms g = layer_gemms(m, i);
    gemm(tokens, g.qkv_n, d);
    gemm(tokens, d, static_cast<double>(m.q_dim()));
    gemm(tokens, g.gu_n, d);
    gemm(tokens, d, g.ffn);
    t.kv_read_B += batch * ctx_read * 2 * static_cast<double>(m.kv_dim()) * e_kv;
    if (m.is_producer(i)) t.kv_written_B += batch * new_per_seq * 2 * static_cast<double>(m.kv_dim()) * e_kv;
    t.attn_flops += 4.0 * batch * static_cast<double>(m.n_q_heads) * attn_pairs_per_seq * hd;
  }
  gemm(batch, static_cast<double>(m.vocab), d);  // LM head on the last token of each sequence
  t.weight_read_B += 2 * batch * d;              // embedding rows gathered
  t.flops = t.gemm_flops + t.attn_flops;
  return t;
}
}  // namespace

StepTraffic decode_step_traffic(const ModelShape& m, std::int64_t batch, std::int64_t context, double e) {
  if (batch < 1 || context < 1) throw std::invalid_argument("decode_step_traffic: batch and context must be >= 1");
  const double b = static_cast<double>(batch), s = static_cast<double>(context);
  return stack_traffic(m, b, b, s, s, 1, e);
}

StepTraffic prefill_traffic(const ModelShape& m, std::int64_t batch, std::int64_t prompt, double e) {
  if (batch < 1 || prompt < 1) throw std::invalid_argument("prefill_traffic: batch and prompt must be >= 1");
  const double b = static_cast<double>(batch), p = static_cast<double>(prompt);
  // Causal: token t attends to t+1 positions -> sum = P(P+1)/2. The tiled kernel reads each sequence's KV
  // once per query block from L2/HBM; the formula counts the compulsory HBM bytes: KV written once, read once.
  return stack_traffic(m, b * p, b, p * (p + 1) / 2, p, p, e);
}

}  // namespace kvbench
