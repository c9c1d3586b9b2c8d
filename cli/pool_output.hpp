#pragma once
// The engine's K/V pool in outputs (eval, simulate): every term, named as the flags that set them.
#include <boost/json.hpp>
#include <cstdint>
#include <string>

#include "kvscope/core/gpu.hpp"
#include "kvscope/core/workload.hpp"
#include "kvscope/models/memory.hpp"
#include "kvscope/models/simulate_run.hpp"

namespace kvscope::cli {

// JSON: models/simulate_run.hpp (shared with the Python module).
using models::kv_pool_json;
// The pool as vLLM's start-up log states it, so that one can be held against the other.
std::string kv_pool_text(const models::KvPool& k, double concurrency, std::int64_t context, const EngineMemory& e);

}  // namespace kvscope::cli
