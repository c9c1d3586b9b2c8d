#pragma once
// One `kvscope simulate` run for a resolved design, and its JSON record: the work and the keys
// shared by the CLI (`kvscope simulate --format json`) and the Python module
// (`kvscope.simulate()`), so both report the same run under the same names.
#include <atomic>
#include <boost/json.hpp>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "kvscope/core/scenario.hpp"
#include "kvscope/models/memory.hpp"
#include "kvscope/models/simulate.hpp"

namespace kvscope::models {

struct SimulationRun {
  SingleDesign design;
  std::string stack, timing_origin;      // stack_timing(gpu, stack): the stack id and where its parameters come from
  LoadSpec load;                         // as run; after a search rate_per_s is the goodput (0: none met the SLO)
  Slo slo;                               // from design.workload.serving
  bool slo_given = false;                // a TTFT or TPOT target is set
  bool search = false;                   // a goodput search ran (a target, and no rate, concurrency or trace)
  SimulationResult result;               // the simulation (after a search: the run at the goodput, empty when 0)
  GoodputResult goodput;                 // the search, when one ran
  KvPool pool;                           // the pool the simulation ran on
  std::int64_t concurrency_context = 1;  // longest request simulated (prompt + output), for "Maximum concurrency"
  double max_concurrency = 0;            // pool blocks / one such request's blocks
  bool cancelled = false;                // stopped by `cancel`: no result
};

// InputError for a design field `simulate` has no use for (batch, context, prompt, tpot_limit_ms:
// the scheduler sets batch and context, prompts come from --isl or a trace), naming the flag for
// the CLI (s.source "flags") or the keyword otherwise.
void check_simulate_scenario(const Scenario& s);

// The load, SLO and scheduler of d.workload with `load`'s arrivals (rate, concurrency or trace;
// none of them and a target: the goodput search). Throws InputError for bad values.
SimulationRun run_simulation(const SingleDesign& d, LoadSpec load, const std::atomic<bool>* cancel = nullptr,
                             const std::string& where = "simulate");

// The run's record: every key of `kvscope simulate --format json` except "provenance", in that
// order (model, variant, gpu, ..., scheduler, kv_pool, load, slo, goodput_rps / goodput_search or
// meets_slo, then the results: throughput_tokens_per_s, ttft_s {mean, p50, p90, p99}, ...).
boost::json::object simulation_json(const SimulationRun& r);

// ---- Latency against load (the GUI's serving view) -------------------------------------------

struct RatePoint {
  double rate_rps = 0;
  double ttft_s = std::numeric_limits<double>::quiet_NaN();  // at the SLO percentile (p90 by default)
  double tpot_s = std::numeric_limits<double>::quiet_NaN();
  double throughput_tokens_per_s = std::numeric_limits<double>::quiet_NaN();
  std::int64_t rejected = 0;  // requests that could never fit the pool
  bool meets = false;         // meets_slo (false without a target)
};
struct RateCurve {
  std::vector<RatePoint> points;  // ascending rate
  bool cancelled = false;         // stopped by `cancel`: points holds the rates done so far
};
// `n` Poisson rates spaced geometrically from 1/4 to 32 x the rate a one-at-a-time server
// sustains (1 / the end-to-end time of one request alone, as find_goodput starts): from an idle
// engine through its saturation. Empty when no request of `lengths` fits the pool.
std::vector<double> rate_grid(const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t, const Workload& w,
                              const LoadSpec& lengths, int n = 12);
// One simulation per rate with the lengths, request count and seed of `lengths` (common random
// numbers, as the goodput search), percentiles at slo.percentile. `step` is called after each
// rate (from the calling thread); `cancel` stops between and inside simulations.
RateCurve rate_curve(const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t, const Workload& w, const LoadSpec& lengths,
                     const Slo& slo, const std::vector<double>& rates, const std::atomic<bool>* cancel = nullptr,
                     const std::function<void()>& step = {});

// The engine's K/V pool, every term named as the flags that set them (eval and simulate).
boost::json::object kv_pool_json(const KvPool& k, double concurrency, std::int64_t context, const GpuSpec& gpu);

}  // namespace kvscope::models
