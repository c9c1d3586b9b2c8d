#include "kvscope/core/workload.hpp"

#include <fmt/format.h>

#include <cmath>

#include "kvscope/core/error.hpp"

namespace kvscope {

std::string to_string(Runtime r) { return r == Runtime::graph ? "graph" : "eager"; }

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
  if (!std::isfinite(w.runtime_reserve_B) || w.runtime_reserve_B < 0) {
    throw ConfigError(where, "runtime_reserve", "a non-negative number of bytes", fmt::format("{}", w.runtime_reserve_B));
  }
}

}  // namespace kvscope
