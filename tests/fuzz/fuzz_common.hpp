#pragma once
// Shared pieces of the libFuzzer targets. A target feeds its input to one loader or parser; a
// kvscope::Error (InputError, ConfigError, NumericError, IoError) is the expected way to reject
// bad input, anything else is a bug: another exception escapes LLVMFuzzerTestOneInput and
// aborts, ASan/UBSan abort on memory errors and undefined behaviour, and the checks below abort
// when an accepted input breaks an invariant (a NaN/inf or negative output, a multi-line error
// message, a to_json round trip that does not parse back).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "kvscope/core/architecture.hpp"
#include "kvscope/core/error.hpp"
#include "kvscope/core/gpu.hpp"
#include "kvscope/core/loaders.hpp"
#include "kvscope/core/workload.hpp"
#include "kvscope/models/evaluate.hpp"
#include "kvscope/models/timing.hpp"

namespace kvscope::fuzz {

[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "kvscope fuzz invariant broken: %s\n", what.c_str());
  std::abort();
}

inline std::string as_text(const std::uint8_t* data, std::size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

// Error messages are printed by the CLI as one line ("kvscope: ..."): non-empty, no line breaks.
// The text parsers (axes, constraints, variants, layer patterns, flag values) quote the text they
// were given as is, so a value with a line break -- a flag, or a JSON string with "\n" in a model,
// scenario or kvbench file -- gives a multi-line message: a known issue (tests/fuzz/README.md).
// The line-break check is therefore on only with KVSCOPE_FUZZ_ONE_LINE=1, so that the fuzzers
// are not stuck on it; the empty-message check is always on.
inline bool one_line_messages() {
  static const bool on = std::getenv("KVSCOPE_FUZZ_ONE_LINE") != nullptr;
  return on;
}

inline void check_message(const std::exception& e) {
  const std::string_view m = e.what();
  if (m.empty()) fail("empty error message");
  if (one_line_messages() && (m.find('\n') != std::string_view::npos || m.find('\r') != std::string_view::npos)) {
    fail("error message spans several lines: " + std::string(m));
  }
}

inline void check_value(const char* what, double v) {
  if (!std::isfinite(v) || v < 0) fail(std::string(what) + " = " + std::to_string(v));
}

inline void check_phase(const char* phase, const models::PhaseCost& c) {
  check_value(phase, c.time_s);
  check_value(phase, c.bytes);
  check_value(phase, c.flops);
  check_value(phase, c.kernels);
  check_value(phase, c.l2_saved_bytes);
  for (const auto& op : c.ops) {
    check_value(phase, op.time_s);
    check_value(phase, op.bytes);
    check_value(phase, op.flops);
    check_value(phase, op.kernels);
    check_value(phase, op.launch_s);
    check_value(phase, op.memory_s);
    check_value(phase, op.compute_s);
  }
}

// Every number models::evaluate reports for a valid input is finite and non-negative.
inline void check_evaluation(const models::Evaluation& e) {
  const auto& m = e.memory;
  for (auto [name, v] : {std::pair{"kv_bytes_per_token", m.kv_bytes_per_token},
                         {"kv_bytes_per_token_gpu", m.kv_bytes_per_token_gpu},
                         {"kv_cache_bytes", m.kv_cache_bytes},
                         {"kv_read_bytes_per_step", m.kv_read_bytes_per_step},
                         {"weight_bytes", m.weight_bytes},
                         {"workspace_bytes", m.workspace_bytes},
                         {"reserve_bytes", m.reserve_bytes},
                         {"total_bytes", m.total_bytes},
                         {"capacity_bytes", m.capacity_bytes},
                         {"param_count", m.param_count},
                         {"active_param_count", m.active_param_count},
                         {"max_batch", static_cast<double>(m.max_batch)},
                         {"max_context", static_cast<double>(m.max_context)},
                         {"decode_step_s", e.decode_step_s},
                         {"decode_tokens_per_s", e.decode_tokens_per_s},
                         {"tpot_s", e.tpot_s},
                         {"prefill_s", e.prefill_s},
                         {"ttft_s", e.ttft_s},
                         {"achieved_Bps", e.achieved_Bps},
                         {"bw_fraction", e.bw_fraction},
                         {"max_throughput_batch", static_cast<double>(e.max_throughput_batch)},
                         {"max_throughput_tokens_per_s", e.max_throughput_tokens_per_s},
                         {"max_throughput_step_s", e.max_throughput_step_s}}) {
    check_value(name, v);
  }
  check_phase("decode", e.decode);
  check_phase("prefill", e.prefill);
}

// Evaluates a valid architecture on a valid GPU at a small and a large workload; a NumericError
// (overflow reported as an error) is acceptable, a non-finite output is not.
inline void evaluate_and_check(const Architecture& arch, const GpuSpec& gpu, int tp = 1) {
  for (const auto& [batch, context] : {std::pair<std::int64_t, std::int64_t>{1, 1}, {64, 32768}}) {
    Workload w;
    w.batch = batch;
    w.context = context;
    w.prompt = 512;
    w.tp = tp;
    try {
      validate(w, "fuzz");
      check_evaluation(models::evaluate(arch, gpu, w));
    } catch (const kvscope::Error& e) {
      check_message(e);
    }
  }
}

inline const GpuSpec& h100() {
  static const GpuSpec g = load_gpu("h100-sxm");
  return g;
}
inline const Architecture& llama3_8b() {
  static const Architecture a = load_architecture("llama-3-8b");
  return a;
}

}  // namespace kvscope::fuzz

// Runs `body`; kvscope errors are the expected rejection (their message is checked), anything
// else escapes and crashes the fuzzer.
#define KVSCOPE_FUZZ_EXPECT_ERRORS(...)       \
  try {                                       \
    __VA_ARGS__;                              \
  } catch (const kvscope::Error& kvscope_e) { \
    kvscope::fuzz::check_message(kvscope_e);  \
  }
