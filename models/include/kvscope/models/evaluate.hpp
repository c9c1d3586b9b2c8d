#pragma once
// One design point, fully evaluated: memory, decode and prefill timing, and the serving view
// (the batch that maximizes tokens/s within GPU memory and an optional latency limit).
#include <atomic>
#include <cstdint>
#include <limits>
#include <string>

#include "kvscope/core/architecture.hpp"
#include "kvscope/core/gpu.hpp"
#include "kvscope/core/workload.hpp"
#include "kvscope/models/memory.hpp"
#include "kvscope/models/profile.hpp"
#include "kvscope/models/timing.hpp"

namespace kvscope::models {

struct Evaluation {
  MemoryResult memory;
  PhaseCost decode;
  PhaseCost prefill;
  double decode_step_s = 0;
  double decode_tokens_per_s = 0;  // whole TP group
  double tpot_s = 0;               // time per output token = decode step
  double prefill_s = 0;
  double ttft_s = 0;        // the prefill of the batch (its LM head gives the first token)
  double achieved_Bps = 0;  // HBM bytes of the decode step / its time
  double bw_fraction = 0;   // of the measured (or default) read ceiling
  std::int64_t max_throughput_batch = 0;
  double max_throughput_tokens_per_s = 0;
  double max_throughput_step_s = 0;
  bool meets_tpot_limit = true;  // the workload's own batch meets the limit
  // SLA goodput (models/simulate.hpp design_goodput): the highest Poisson rate meeting the
  // workload's TTFT / TPOT targets; NaN when no target is set (the search is not run).
  double goodput_rps = std::numeric_limits<double>::quiet_NaN();
  std::string goodput_reason;  // why goodput_rps is 0 (empty otherwise)
};

// The workload must have been validated; p must have been built with w.tp. With a serving target
// (w.serving.has_slo()) this includes the goodput search, a discrete-event simulation per probe
// (docs/model.md §6): ~0.1 s for 1,000 16k-token requests; `cancel` stops it (goodput_rps NaN).
Evaluation evaluate(const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t, const Workload& w,
                    const std::atomic<bool>* cancel = nullptr);
// The goodput figures of e from a search (cancelled: left NaN).
struct GoodputResult;
void set_goodput(Evaluation& e, const GoodputResult& g);

// The per-step figures derived from e.decode and e.prefill (TPOT, tokens/s, TTFT, achieved
// bandwidth and its fraction of the read ceiling, latency check): one definition for evaluate()
// and the explorer's memoized path.
void derive_step_metrics(Evaluation& e, double batch, const TimingParams& t, double tpot_limit_s);
// Serving view: decode step time grows with batch while tokens/s = B / step(B) keeps rising (the
// weight stream is shared), so the best batch is the largest of `max_batch` (what fits in memory)
// whose step at `context` still meets `tpot_limit_s` (0 = no limit; binary search, step(B) is
// monotone). batch 0: none does. One definition for evaluate() and the sweep engine.
struct ServingView {
  std::int64_t batch = 0;
  double step_s = 0, tokens_per_s = 0;
};
ServingView serving_view(const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t, std::int64_t max_batch, double context,
                         Runtime runtime, double tpot_limit_s);

// Convenience for front ends: validates, builds the profile, evaluates.
Evaluation evaluate(const Architecture& arch, const GpuSpec& gpu, const Workload& w);

}  // namespace kvscope::models
