#include "kvscope/core/workload.hpp"

#include <fmt/format.h>

#include <cmath>

#include "kvscope/core/error.hpp"

namespace kvscope {

std::string to_string(Runtime r) {
  return r == Runtime::graph ? "graph" : "eager";
}

Runtime parse_runtime(const std::string& text, const std::string& where) {
  if (text == "graph") return Runtime::graph;
  if (text == "eager") return Runtime::eager;
  throw InputError(where, "runtime", "graph or eager", fmt::format("'{}'", text));
}

void validate(const Workload& w, const std::string& where) {
  // Bounds keep every product (batch x context x bytes per token) far inside double's exact range.
  auto check = [&](const char* key, std::int64_t v, std::int64_t min, std::int64_t max) {
    if (v < min || v > max) throw ConfigError(where, key, fmt::format("an integer in {}..{}", min, max), std::to_string(v));
  };
  check("batch", w.batch, 1, 1000000);
  check("context", w.context, 1, 100000000);
  check("prompt", w.prompt, 1, 100000000);
  check("tp", w.tp, 1, 1024);
  if (!std::isfinite(w.tpot_limit_s) || w.tpot_limit_s < 0) {
    throw ConfigError(where, "tpot-limit", "a non-negative number of seconds", fmt::format("{}", w.tpot_limit_s));
  }
  validate(w.engine, where);
  validate(w.serving, where);
}

void validate(const ServingLoad& s, const std::string& where) {
  auto target = [&](const char* key, double v) {
    if (!std::isfinite(v) || v < 0)
      throw ConfigError(where, key, "a non-negative target in ms (0 = none)", fmt::format("{}", v * 1e3));
  };
  target("ttft_slo_ms", s.ttft_slo_s);
  target("tpot_slo_ms", s.tpot_slo_s);
  if (!(s.slo_percentile > 0 && s.slo_percentile <= 100)) {
    throw ConfigError(where, "slo_percentile", "a percentile in (0, 100]", fmt::format("{:g}", s.slo_percentile));
  }
  if (!(s.goodput_precision > 0 && s.goodput_precision < 1)) {
    throw ConfigError(where, "goodput_precision", "a relative precision in (0, 1)", fmt::format("{:g}", s.goodput_precision));
  }
  if (s.requests < 1 || s.requests > 100000000) {
    throw ConfigError(where, "requests", "a request count in 1..100000000", std::to_string(s.requests));
  }
  if (s.seed < 0) throw ConfigError(where, "seed", "a seed >= 0", std::to_string(s.seed));
}

void validate(const EngineMemory& e, const std::string& where) {
  if (!std::isfinite(e.gpu_memory_utilization) || e.gpu_memory_utilization <= 0 || e.gpu_memory_utilization > 1) {
    throw ConfigError(where, "gpu_memory_utilization", "a fraction in (0, 1]", fmt::format("{}", e.gpu_memory_utilization));
  }
  auto count = [&](const char* key, std::int64_t v, std::int64_t max) {
    if (v < 1 || v > max) throw ConfigError(where, key, fmt::format("an integer in 1..{}", max), std::to_string(v));
  };
  count("max_num_batched_tokens", e.max_num_batched_tokens, 100000000);
  count("max_num_seqs", e.max_num_seqs, 1000000);
  count("block_size", e.block_size, 1048576);
  auto bytes = [&](const char* key, double v) {
    if (!std::isfinite(v) || v < 0 || v > 1e15)
      throw ConfigError(where, key, "a non-negative number of GiB", fmt::format("{}", v / 1073741824.0));
  };
  bytes("cuda_graph_memory_gib", e.cuda_graph_B);
  bytes("non_torch_memory_gib", e.non_torch_B);
  bytes("allreduce_buffers_gib", e.allreduce_buffers_B);
}

}  // namespace kvscope
