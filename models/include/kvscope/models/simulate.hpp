#pragma once
// Serving under load: a discrete-event simulation of a vLLM-style engine (V1 scheduler) on one
// design point. Requests arrive (Poisson, closed loop or a trace), wait in an FCFS queue, are
// admitted while KV blocks, --max-num-seqs and the per-iteration token budget allow, and run in
// continuously batched iterations that mix decode rows with chunked prefills; when a running
// request needs a block and none is free, the most recently admitted request is preempted and
// later recomputed. Every iteration's time is the cost model's mixed_step() for exactly that
// batch (models/timing.hpp), every request at its own context. docs/model.md §6 states the
// scheduler's rules and what is left out.
//
// Speed: the per-iteration work does not grow with the number of running requests. Decode
// requests advance together, so their summed context is one running total; a request needs a
// new block when its context crosses a block boundary, which happens on a fixed iteration
// residue, so the blocks the decodes need are one count per residue; finishes come off a heap.
// Only iterations where blocks run out (preemption) walk the running list.
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "kvscope/core/gpu.hpp"
#include "kvscope/core/workload.hpp"
#include "kvscope/models/memory.hpp"
#include "kvscope/models/profile.hpp"

namespace kvscope::models {

// ---- Load ------------------------------------------------------------------------------------

// Token counts of requests: a fixed number, or `uniform:A..B` (integers, both ends included),
// `normal:mean,sd`, `lognormal:mean,sd` (mean and sd of the token count itself), rounded to the
// nearest integer and clamped to >= 1.
struct LengthDist {
  enum class Kind { fixed, uniform, normal, lognormal };
  Kind kind = Kind::fixed;
  double a = 1, b = 0;
  std::string text;  // as written, for outputs
};
LengthDist parse_length_dist(const std::string& text, const std::string& where);

struct TraceRequest {
  double arrival_s = 0;
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
};
// CSV with the header `arrival_s,input_tokens,output_tokens`, or JSON lines with those keys (the
// first non-blank character '{' selects JSON lines). Blank lines are skipped; every error names
// `where` and the line. Requests are returned in arrival order (stable).
std::vector<TraceRequest> parse_trace(const std::string& text, const std::string& where);
std::vector<TraceRequest> load_trace(const std::string& path);

struct LoadSpec {
  double rate_per_s = 0;  // Poisson arrivals; or
  int concurrency = 0;    // closed loop: N clients, each sends its next request when the last one ends
  std::int64_t requests = 1000;
  LengthDist isl, osl;
  std::uint64_t seed = 1;
  std::vector<TraceRequest> trace;  // non-empty: arrivals and lengths from here (rate, isl, osl unused)
  std::string trace_source;         // file name, for outputs
};
// Throws InputError naming `where` unless exactly one of rate, concurrency, trace is set and
// every value is in range.
void validate(const LoadSpec& load, const std::string& where);

// ---- Engine ----------------------------------------------------------------------------------

// The scheduler's limits and the KV pool come from the workload's engine settings
// (Workload::engine: --max-num-seqs, --max-num-batched-tokens, --block-size, memory knobs), the
// pool from models::kv_pool() (memory.hpp), as `kvscope eval` sizes it. InputError naming `where`
// when max_num_batched_tokens < max_num_seqs: vLLM refuses that too (a decode token of every
// running sequence must fit one iteration).
void validate_scheduler(const EngineMemory& e, const std::string& where);

// ---- Results ---------------------------------------------------------------------------------

struct LatencyStats {
  double mean = 0, p50 = 0, p90 = 0, p99 = 0;  // NaN when no sample
  std::int64_t count = 0;
};
// Percentile with linear interpolation between order statistics (numpy's default, which vLLM's
// benchmark_serving uses), q in [0, 100]. NaN for an empty sample.
double percentile(std::vector<double> values, double q);
LatencyStats latency_stats(const std::vector<double>& values);

struct RequestRecord {
  double arrival_s = 0;
  double first_token_s = 0;  // end of the iteration that sampled its first token
  double finish_s = 0;
  std::int64_t input_tokens = 0, output_tokens = 0;
  int preemptions = 0;
  bool rejected = false;
  std::string reason;  // why it was rejected
  double ttft_s() const { return first_token_s - arrival_s; }
  double e2e_s() const { return finish_s - arrival_s; }
  // Mean time per output token after the first (vLLM's TPOT); NaN for a single output token.
  double tpot_s() const;
};

struct SimulationResult {
  KvPool pool;                          // as kv_pool() sized it
  std::vector<RequestRecord> requests;  // in issue order
  std::int64_t completed = 0, rejected = 0;
  std::int64_t iterations = 0;
  std::int64_t preemptions = 0;
  double duration_s = 0;  // first arrival to last finish
  double output_tokens = 0;
  double throughput_tokens_per_s = 0;   // output tokens / duration
  double request_throughput_per_s = 0;  // completed requests / duration
  LatencyStats ttft_s, tpot_s, e2e_s;
  double mean_running_requests = 0;  // time-averaged over the duration (admitted, holding KV)
  double mean_waiting_requests = 0;  // arrived, not admitted (incl. preempted)
  int max_running_requests = 0;
  double mean_kv_block_utilization = 0;  // used / pool blocks, time-averaged
  double max_kv_block_utilization = 0;
  double mean_batch_tokens = 0;  // tokens per iteration
  double busy_fraction = 0;      // fraction of the duration spent in iterations
  // Running requests over time: the count from series_t_s[i] until the next sample.
  std::vector<double> series_t_s, series_running;
  bool cancelled = false;  // stopped by the cancel flag: the figures above are incomplete, not a result
};

// p, gpu, t must describe one design (t = stack_timing(gpu, w.stack).params, p built with w.tp).
// Throws InputError (naming `where`) for bad load or scheduler values; impossible requests are
// results (RequestRecord::rejected with a reason), not errors. `cancel` (e.g. the CLI's SIGINT
// flag) is polled every 1024 iterations; when set the run stops with `cancelled`.
SimulationResult simulate(const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t, const Workload& w,
                          const LoadSpec& load, const std::string& where = "simulate", const std::atomic<bool>* cancel = nullptr);

// ---- SLA goodput -----------------------------------------------------------------------------

struct Slo {
  double ttft_s = 0;       // 0 = no TTFT target
  double tpot_s = 0;       // 0 = no TPOT target
  double percentile = 90;  // both targets hold at this percentile
};
struct GoodputResult {
  double goodput_rps = 0;         // highest Poisson rate found that meets the SLO (0: none does)
  double lo_rps = 0, hi_rps = 0;  // final bracket: lo meets, hi does not
  int simulations = 0;
  std::string reason;           // why it is 0, or how the bracket ended
  SimulationResult at_goodput;  // the run at goodput_rps (when > 0)
  // Every rate tried, in order, with its percentile latencies and whether it met the SLO.
  struct Probe {
    double rate_rps, ttft_s, tpot_s;
    bool meets;
  };
  std::vector<Probe> probes;
  bool cancelled = false;  // stopped by the cancel flag: goodput_rps is not a result
};
// Bisection over the Poisson rate with the load's seed, lengths and request count (common random
// numbers: the same draws, arrivals scaled by 1/rate). Bracket: from r0 = 1 / (end-to-end time of
// one request alone), doubling while the SLO is met (or halving while it is not), at most 2^24
// either way; then bisection until hi - lo <= rel_precision x hi. A rate meets the SLO when both
// percentiles are within their targets and no request was rejected. docs/model.md §6.
GoodputResult find_goodput(const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t, const Workload& w,
                           const LoadSpec& load, const Slo& slo, double rel_precision = 0.01,
                           const std::string& where = "simulate", const std::atomic<bool>* cancel = nullptr);
bool meets_slo(const SimulationResult& r, const Slo& slo);
// TTFT and TPOT of the completed requests at percentile q (TPOT over requests with > 1 output).
struct LatencyAt {
  double ttft_s, tpot_s;
};
LatencyAt latency_at(const SimulationResult& r, double q);

// ---- Goodput of a design from its workload (the goodput_rps output field) ------------------

// The load and the SLO that Workload::serving describes (--isl, --osl, --requests, --seed,
// --ttft-slo-ms, --tpot-slo-ms, --slo-percentile); the load has no arrivals yet (rate 0: the caller
// sets a rate, a closed loop or a trace). InputError naming the flag for a bad length.
LoadSpec serving_load(const ServingLoad& s);
Slo serving_slo(const ServingLoad& s);
// Everything the search of `w` would refuse, checked before any work (a sweep calls it once):
// a target set, the lengths, the percentile and precision, the scheduler limits.
void validate_goodput(const Workload& w, const std::string& where);
// find_goodput() with the load and SLO of w.serving (w.serving.has_slo() must hold): what the
// goodput_rps field reports. A design that cannot hold one request (weights larger than the GPU,
// a pool smaller than one request) is goodput 0 with the reason.
GoodputResult design_goodput(const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t, const Workload& w,
                             const std::atomic<bool>* cancel = nullptr);

}  // namespace kvscope::models
