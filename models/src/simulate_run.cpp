#include "kvscope/models/simulate_run.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "kvscope/core/design.hpp"
#include "kvscope/core/design_fields.hpp"
#include "kvscope/core/error.hpp"
#include "kvscope/core/json_util.hpp"
#include "kvscope/core/stack.hpp"
#include "kvscope/models/profile.hpp"

namespace kvscope::models {

void check_simulate_scenario(const Scenario& s) {
  for (const auto& [name, text] : s.values) {
    const DesignField* f = find_design_field(name);
    if (text.empty() || !f ||
        !(f->name == "batch" || f->name == "context" || f->name == "prompt" || f->name == "tpot_limit_ms")) {
      continue;
    }
    const std::string& spelling = name;  // values are stored under the spelling written
    const std::string expected =
        "no value in `kvscope simulate` (the scheduler sets batch and context; prompts come from --isl or --trace)";
    if (s.source == "flags") throw InputError(flag_of(spelling), "", expected, fmt::format("'{}'", text));
    throw InputError(s.source, spelling, expected, fmt::format("'{}'", text));
  }
}

SimulationRun run_simulation(const SingleDesign& d, LoadSpec load, const std::atomic<bool>* cancel, const std::string& where) {
  SimulationRun r;
  r.design = d;
  const ArchProfile profile = make_profile(d.arch, d.workload.tp);
  const StackTiming st = stack_timing(d.gpu, d.workload.stack);
  r.stack = st.stack;
  r.timing_origin = st.origin;
  const ServingLoad& sv = d.workload.serving;
  r.slo_given = sv.has_slo();
  r.slo = serving_slo(sv);
  r.search = r.slo_given && load.rate_per_s == 0 && load.concurrency == 0 && load.trace.empty();
  if (r.search) {
    load.rate_per_s = 1;  // varied by the search
    r.goodput = find_goodput(profile, d.gpu, st.params, d.workload, load, r.slo, sv.goodput_precision, where, cancel);
    r.result = r.goodput.at_goodput;
    load.rate_per_s = r.goodput.goodput_rps;
  } else {
    r.result = simulate(profile, d.gpu, st.params, d.workload, load, where, cancel);
  }
  r.load = std::move(load);
  r.cancelled = r.goodput.cancelled || r.result.cancelled;
  // The pool the simulation ran on (a goodput search that found no rate ran none at the goodput).
  r.pool = r.result.pool.block_B > 0 ? r.result.pool : kv_pool(profile, memory_capacity_B(d.gpu), d.workload.engine);
  // vLLM's "Maximum concurrency" line, at the longest request simulated (prompt + output).
  for (const auto& q : r.result.requests)
    r.concurrency_context = std::max(r.concurrency_context, q.input_tokens + q.output_tokens);
  r.max_concurrency = max_concurrency(profile, r.pool, static_cast<double>(r.concurrency_context));
  return r;
}

std::vector<double> rate_grid(const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t, const Workload& w,
                              const LoadSpec& lengths, int n) {
  LoadSpec one = lengths;
  one.rate_per_s = 1, one.concurrency = 0, one.trace.clear();
  one.requests = 1;
  const SimulationResult single = simulate(p, gpu, t, w, one, "serving view");
  std::vector<double> rates;
  if (single.completed == 0 || !(single.e2e_s.mean > 0) || n < 1) return rates;
  const double r0 = 1.0 / single.e2e_s.mean, lo = r0 / 4, hi = r0 * 32;
  for (int i = 0; i < n; ++i) rates.push_back(n == 1 ? lo : lo * std::pow(hi / lo, static_cast<double>(i) / (n - 1)));
  return rates;
}

RateCurve rate_curve(const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t, const Workload& w, const LoadSpec& lengths,
                     const Slo& slo, const std::vector<double>& rates, const std::atomic<bool>* cancel,
                     const std::function<void()>& step) {
  RateCurve c;
  for (double rate : rates) {
    if (cancel && cancel->load()) {
      c.cancelled = true;
      return c;
    }
    LoadSpec l = lengths;
    l.rate_per_s = rate, l.concurrency = 0, l.trace.clear();
    const SimulationResult r = simulate(p, gpu, t, w, l, "serving view", cancel);
    if (r.cancelled) {
      c.cancelled = true;
      return c;
    }
    RatePoint pt;
    pt.rate_rps = rate;
    const LatencyAt at = latency_at(r, slo.percentile);
    pt.ttft_s = at.ttft_s;
    pt.tpot_s = at.tpot_s;
    pt.throughput_tokens_per_s = r.throughput_tokens_per_s;
    pt.rejected = r.rejected;
    pt.meets = (slo.ttft_s > 0 || slo.tpot_s > 0) && meets_slo(r, slo);
    c.points.push_back(pt);
    if (step) step();
  }
  return c;
}

boost::json::object kv_pool_json(const KvPool& k, double concurrency, std::int64_t context, const GpuSpec& gpu) {
  return {{"engine", "vLLM V1 (vllm serve, chunked prefill)"},
          {"device_total_bytes", json_number(k.device_total_B)},
          {"device_total_source",
           gpu.memory_usable_source.empty() ? "datasheet capacity (no device total known)" : gpu.memory_usable_source},
          {"gpu_memory_utilization", json_number(k.utilization)},
          {"budget_bytes", json_number(k.budget_B)},
          {"weights_bytes", json_number(k.weights_B)},
          {"activation_peak_bytes", json_number(k.activation_B)},
          {"sampler_bytes", json_number(k.sampler_B)},
          {"cuda_graph_bytes", json_number(k.cuda_graph_B)},
          {"allreduce_buffers_bytes", json_number(k.allreduce_B)},
          {"non_torch_bytes", json_number(k.non_torch_B)},
          {"block_size", k.block_size},
          {"block_bytes", json_number(k.block_B)},
          {"blocks", json_number(k.blocks)},
          {"pool_bytes", json_number(k.pool_B)},
          {"pool_tokens", json_number(k.tokens())},
          {"max_num_seqs", k.max_num_seqs},
          {"max_concurrency", json_number(concurrency)},
          {"max_concurrency_context", context}};
}

namespace {

boost::json::object stats_json(const LatencyStats& s) {
  return {{"mean", json_number(s.mean)}, {"p50", json_number(s.p50)}, {"p90", json_number(s.p90)}, {"p99", json_number(s.p99)}};
}

// The result fields of one simulation, keys as documented in README / docs/model.md §6.
void add_result_json(boost::json::object& o, const SimulationResult& r) {
  o["throughput_tokens_per_s"] = json_number(r.throughput_tokens_per_s);
  o["request_throughput_per_s"] = json_number(r.request_throughput_per_s);
  o["ttft_s"] = stats_json(r.ttft_s);
  o["tpot_s"] = stats_json(r.tpot_s);
  o["e2e_s"] = stats_json(r.e2e_s);
  o["mean_running_requests"] = json_number(r.mean_running_requests);
  o["max_running_requests"] = r.max_running_requests;
  o["mean_waiting_requests"] = json_number(r.mean_waiting_requests);
  o["mean_kv_block_utilization"] = json_number(r.mean_kv_block_utilization);
  o["max_kv_block_utilization"] = json_number(r.max_kv_block_utilization);
  o["preemptions"] = r.preemptions;
  o["completed_requests"] = r.completed;
  o["rejected_requests"] = r.rejected;
  o["iterations"] = r.iterations;
  o["mean_batch_tokens"] = json_number(r.mean_batch_tokens);
  o["busy_fraction"] = json_number(r.busy_fraction);
  o["duration_s"] = json_number(r.duration_s);
  boost::json::array rej;
  for (std::size_t i = 0; i < r.requests.size(); ++i) {
    const auto& q = r.requests[i];
    if (!q.rejected) continue;
    rej.push_back({{"request", i},
                   {"arrival_s", json_number(q.arrival_s)},
                   {"input_tokens", q.input_tokens},
                   {"output_tokens", q.output_tokens},
                   {"reason", q.reason}});
  }
  o["rejections"] = std::move(rej);
}

}  // namespace

boost::json::object simulation_json(const SimulationRun& r) {
  const SingleDesign& d = r.design;
  const LoadSpec& load = r.load;
  const EngineMemory& sc = d.workload.engine;
  boost::json::object o;
  o["model"] = d.arch.id;
  o["model_name"] = d.arch.name;
  o["variant"] = variant_name(d.arch);
  o["kv_dtype"] = to_string(d.arch.kv_dtype);
  o["gpu"] = d.gpu.id;
  o["gpu_name"] = d.gpu.name;
  o["tp"] = d.workload.tp;
  o["runtime"] = to_string(d.workload.runtime);
  o["stack"] = r.stack;
  o["timing_params"] = r.timing_origin;
  o["scheduler"] = {
      {"max_num_seqs", sc.max_num_seqs}, {"max_num_batched_tokens", sc.max_num_batched_tokens}, {"block_size", sc.block_size}};
  o["kv_pool"] = kv_pool_json(r.pool, r.max_concurrency, r.concurrency_context, d.gpu);
  boost::json::object l;
  l["mode"] = !load.trace.empty() ? "trace" : load.concurrency > 0 ? "closed_loop" : "poisson";
  if (load.trace.empty()) {
    if (load.concurrency > 0)
      l["concurrency"] = load.concurrency;
    else
      l["rate_per_s"] = json_number(load.rate_per_s);
    l["requests"] = load.requests;
    l["isl"] = load.isl.text;
    l["osl"] = load.osl.text;
    l["seed"] = load.seed;
  } else {
    l["trace"] = load.trace_source;
    l["requests"] = load.trace.size();
  }
  o["load"] = std::move(l);
  if (r.slo_given) {
    o["slo"] = {{"ttft_s", r.slo.ttft_s > 0 ? json_number(r.slo.ttft_s) : nullptr},
                {"tpot_s", r.slo.tpot_s > 0 ? json_number(r.slo.tpot_s) : nullptr},
                {"percentile", json_number(r.slo.percentile)}};
  }
  if (r.search) {
    boost::json::array probes;
    for (const auto& p : r.goodput.probes) {
      probes.push_back({{"rate_per_s", json_number(p.rate_rps)},
                        {"ttft_s", json_number(p.ttft_s)},
                        {"tpot_s", json_number(p.tpot_s)},
                        {"meets", p.meets}});
    }
    o["goodput_rps"] = json_number(r.goodput.goodput_rps);
    o["goodput_search"] = {{"lo_rps", json_number(r.goodput.lo_rps)},
                           {"hi_rps", json_number(r.goodput.hi_rps)},
                           {"precision", json_number(d.workload.serving.goodput_precision)},
                           {"simulations", r.goodput.simulations},
                           {"note", r.goodput.reason},
                           {"probes", std::move(probes)}};
  } else if (r.slo_given) {
    o["meets_slo"] = meets_slo(r.result, r.slo);
  }
  if (!r.search || r.goodput.goodput_rps > 0) add_result_json(o, r.result);
  return o;
}

}  // namespace kvscope::models
