// `kvscope simulate`: serving under load — a vLLM-style scheduler (continuous batching, chunked
// prefill, preemption) driven by the cost model, and the SLA goodput search.
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "command.hpp"
#include "design_flags.hpp"
#include "kvscope/core/output_file.hpp"
#include "kvscope/core/csv.hpp"
#include "kvscope/core/design.hpp"
#include "kvscope/core/design_fields.hpp"
#include "kvscope/core/error.hpp"
#include "kvscope/core/units.hpp"
#include "kvscope/models/simulate.hpp"
#include "output.hpp"
#include "plotting.hpp"
#include "pool_output.hpp"
#include "signals.hpp"

namespace kvscope::cli {

namespace {

// The load lengths, request count, seed and SLO flags (--isl, --osl, --requests, --seed,
// --ttft-slo-ms, --tpot-slo-ms, --slo-percentile, --goodput-precision) are design fields
// (core/design_fields.cpp, Workload::serving), shared with eval / sweep / pareto's goodput_rps.
struct SimOptions {
  DesignFlags design;
  double rate = 0;
  int concurrency = 0;
  std::string trace;
  std::string format = "table";
  std::string output;
  std::string plot;
  bool rate_given = false, concurrency_given = false;
};

boost::json::object stats_json(const models::LatencyStats& s) {
  return {{"mean", json_number(s.mean)}, {"p50", json_number(s.p50)}, {"p90", json_number(s.p90)}, {"p99", json_number(s.p99)}};
}

// The result fields of one simulation, JSON keys as documented in README / docs/model.md §6.
void add_result_json(boost::json::object& o, const models::SimulationResult& r) {
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
    rej.push_back({{"request", i}, {"arrival_s", json_number(q.arrival_s)}, {"input_tokens", q.input_tokens},
                   {"output_tokens", q.output_tokens}, {"reason", q.reason}});
  }
  o["rejections"] = std::move(rej);
}

// Columns of the CSV row (same names as the JSON keys; latency objects flattened as ttft_s_p90).
std::vector<std::pair<std::string, double>> result_columns(const models::SimulationResult& r) {
  std::vector<std::pair<std::string, double>> c = {{"throughput_tokens_per_s", r.throughput_tokens_per_s},
                                                   {"request_throughput_per_s", r.request_throughput_per_s}};
  for (const auto& [name, s] : {std::pair{"ttft_s", &r.ttft_s}, std::pair{"tpot_s", &r.tpot_s}, std::pair{"e2e_s", &r.e2e_s}}) {
    c.emplace_back(fmt::format("{}_mean", name), s->mean);
    c.emplace_back(fmt::format("{}_p50", name), s->p50);
    c.emplace_back(fmt::format("{}_p90", name), s->p90);
    c.emplace_back(fmt::format("{}_p99", name), s->p99);
  }
  c.insert(c.end(), {{"mean_running_requests", r.mean_running_requests},
                     {"max_running_requests", r.max_running_requests},
                     {"mean_waiting_requests", r.mean_waiting_requests},
                     {"mean_kv_block_utilization", r.mean_kv_block_utilization},
                     {"max_kv_block_utilization", r.max_kv_block_utilization},
                     {"preemptions", static_cast<double>(r.preemptions)},
                     {"completed_requests", static_cast<double>(r.completed)},
                     {"rejected_requests", static_cast<double>(r.rejected)},
                     {"iterations", static_cast<double>(r.iterations)},
                     {"duration_s", r.duration_s}});
  return c;
}

std::string stats_row(const models::LatencyStats& s) {
  return fmt::format("{} / {} / {} / {}", human_time(s.mean), human_time(s.p50), human_time(s.p90), human_time(s.p99));
}

std::string result_table(const models::SimulationResult& r) {
  Table t({"metric", "value"}, {false, true});
  t.add({"output tokens/s", fmt::format("{:.1f}", r.throughput_tokens_per_s)});
  t.add({"requests/s", fmt::format("{:.3f}", r.request_throughput_per_s)});
  t.add({"TTFT mean / p50 / p90 / p99", stats_row(r.ttft_s)});
  t.add({"TPOT mean / p50 / p90 / p99", stats_row(r.tpot_s)});
  t.add({"end-to-end mean / p50 / p90 / p99", stats_row(r.e2e_s)});
  t.add({"running requests mean / max", fmt::format("{:.1f} / {}", r.mean_running_requests, r.max_running_requests)});
  t.add({"waiting requests mean", fmt::format("{:.1f}", r.mean_waiting_requests)});
  t.add({"KV blocks used mean / max", fmt::format("{:.1f} % / {:.1f} %", 100 * r.mean_kv_block_utilization, 100 * r.max_kv_block_utilization)});
  t.add({"preemptions (recompute)", std::to_string(r.preemptions)});
  t.add({"requests completed / rejected", fmt::format("{} / {}", r.completed, r.rejected)});
  t.add({"iterations, mean tokens each", fmt::format("{}, {:.1f}", r.iterations, r.mean_batch_tokens)});
  t.add({"duration, busy", fmt::format("{}, {:.1f} %", human_time(r.duration_s), 100 * r.busy_fraction)});
  return t.str();
}

std::string load_label(const models::LoadSpec& l) {
  if (!l.trace.empty()) return fmt::format("trace {} ({} requests)", l.trace_source, l.trace.size());
  const std::string lengths = fmt::format("{} requests, prompt {}, output {}, seed {}", l.requests, l.isl.text, l.osl.text, l.seed);
  if (l.concurrency > 0) return fmt::format("closed loop, {} clients, {}", l.concurrency, lengths);
  return fmt::format("Poisson {:.4g} req/s, {}", l.rate_per_s, lengths);
}

// The latency distributions (empirical CDFs of TTFT and TPOT) and running requests over time.
void write_plots(const std::string& path, const models::SimulationResult& r, const std::string& title, const std::string& footnote) {
  auto cdf = [](std::vector<double> v, const std::string& name) {
    LinesPlot::Line l{name, {}, {}};
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size(), step = std::max<std::size_t>(1, n / 200);
    for (std::size_t i = 0; i < n; i += step) {
      l.x.push_back(v[i]);
      l.y.push_back(static_cast<double>(i + 1) / static_cast<double>(n));
    }
    if (n > 0 && l.x.back() != v.back()) l.x.push_back(v.back()), l.y.push_back(1.0);
    return l;
  };
  std::vector<double> ttft, tpot;
  for (const auto& q : r.requests) {
    if (q.rejected) continue;
    ttft.push_back(q.ttft_s());
    if (q.output_tokens > 1) tpot.push_back(q.tpot_s());
  }
  LinesPlot lat;
  lat.lines = {cdf(ttft, "TTFT"), cdf(tpot, "TPOT")};
  lat.markers = false;
  lat.x_title = "latency", lat.x_unit = "s", lat.x_log = true;
  lat.y_title = "fraction of requests", lat.y_unit = "";
  lat.title = title;
  lat.subtitle = fmt::format("TTFT p90 {}, TPOT p90 {} (empirical distributions)", human_time(r.ttft_s.p90), human_time(r.tpot_s.p90));
  lat.footnote = footnote;
  write_lines_plot(path, lat);

  const std::filesystem::path p(path);
  const std::string running_path = (p.parent_path() / (p.stem().string() + "-running" + p.extension().string())).string();
  LinesPlot run;
  LinesPlot::Line running{"running requests", {}, {}};
  // A step function; long runs keep every k-th change (an SVG of 10^4 steps is unreadable anyway).
  const std::size_t n = r.series_t_s.size(), step = std::max<std::size_t>(1, n / 1000);
  const double t0 = n ? r.series_t_s.front() : 0.0;
  for (std::size_t i = 0; i < n; i += step) {
    if (i > 0) running.x.push_back(r.series_t_s[i] - t0), running.y.push_back(running.y.back());
    running.x.push_back(r.series_t_s[i] - t0);
    running.y.push_back(r.series_running[i]);
  }
  run.lines = {running};
  run.markers = false;
  run.x_title = "time since the first arrival", run.x_unit = "s";
  run.y_title = "running requests", run.y_unit = "";
  run.title = title;
  run.subtitle = fmt::format("mean {:.1f}, max {}; KV blocks used mean {:.1f} %", r.mean_running_requests, r.max_running_requests,
                             100 * r.mean_kv_block_utilization);
  run.footnote = footnote;
  write_lines_plot(running_path, run);
}

void run_simulate(const SimOptions& opt) {
  const Format format = parse_format(opt.format);
  check_output_target(opt.output);  // before the simulation runs
  for (const auto& [spelling, text] : opt.design.values) {
    const DesignField* f = find_design_field(spelling);
    if (f && (f->name == "batch" || f->name == "context" || f->name == "prompt" || f->name == "tpot_limit_ms")) {
      throw InputError(flag_of(spelling), "",
                       "no value in `kvscope simulate` (the scheduler sets batch and context; prompts come from --isl or --trace)",
                       fmt::format("'{}'", text));
    }
  }
  const Scenario scenario = to_scenario(opt.design);
  const SingleDesign d = resolve_single(scenario);
  const models::ArchProfile profile = models::make_profile(d.arch, d.workload.tp);
  const StackTiming st = stack_timing(d.gpu, d.workload.stack);

  const ServingLoad& sv = d.workload.serving;
  models::LoadSpec load = models::serving_load(sv);  // lengths, requests, seed
  load.rate_per_s = opt.rate_given ? opt.rate : 0.0;
  if (opt.rate_given && opt.rate == 0) throw InputError("--rate", "", "a request rate > 0 (requests/s)", "0");
  load.concurrency = opt.concurrency;
  if (opt.concurrency_given && opt.concurrency < 1) {
    throw InputError("--concurrency", "", "a number of clients >= 1", std::to_string(opt.concurrency));
  }
  if (!opt.trace.empty()) {
    load.trace = models::load_trace(opt.trace);
    load.trace_source = opt.trace;
  }
  const bool slo_given = sv.has_slo();
  const models::Slo slo = models::serving_slo(sv);
  const bool search = slo_given && !opt.rate_given && !opt.concurrency_given && opt.trace.empty();
  const std::string where = "simulate";

  // Ctrl-C (SIGINT / SIGTERM / SIGHUP) stops the simulation; nothing is written from a run that
  // did not finish (a partial simulation's percentiles describe no load), and kvscope exits 128 + sig.
  models::SimulationResult result;
  models::GoodputResult goodput;
  if (search) {
    load.rate_per_s = 1;  // varied by the search
    goodput = models::find_goodput(profile, d.gpu, st.params, d.workload, load, slo, sv.goodput_precision, where, cancel_flag());
    result = goodput.at_goodput;
    load.rate_per_s = goodput.goodput_rps;
  } else {
    result = models::simulate(profile, d.gpu, st.params, d.workload, load, where, cancel_flag());
  }
  if (goodput.cancelled || result.cancelled) {
    std::fprintf(stderr, "kvscope: interrupted — simulate stopped %s; nothing written\n",
                 search ? fmt::format("after {} goodput probe(s)", goodput.simulations).c_str()
                        : fmt::format("after {} iterations", result.iterations).c_str());
    throw Interrupted{};
  }
  const EngineMemory& sc = d.workload.engine;
  // The pool the simulation ran on (a goodput search that found no rate ran none at the goodput).
  const models::KvPool pool = result.pool.block_B > 0 ? result.pool : models::kv_pool(profile, memory_capacity_B(d.gpu), sc);
  // vLLM's "Maximum concurrency" line, at the longest request simulated (prompt + output).
  std::int64_t concurrency_context = 1;
  for (const auto& q : result.requests) concurrency_context = std::max(concurrency_context, q.input_tokens + q.output_tokens);
  const std::string variant = variant_name(d.arch);
  const std::string design_label = fmt::format("{} ({}, {} K/V) on {}, TP {}, stack {}", d.arch.name.empty() ? d.arch.id : d.arch.name,
                                               variant, to_string(d.arch.kv_dtype), d.gpu.name, d.workload.tp, st.stack);
  const std::string slo_label = fmt::format("TTFT p{:g} <= {} and TPOT p{:g} <= {}", slo.percentile,
                                            slo.ttft_s > 0 ? human_time(slo.ttft_s) : "any", slo.percentile,
                                            slo.tpot_s > 0 ? human_time(slo.tpot_s) : "any");

  if (!opt.plot.empty()) {
    if (result.completed == 0) throw InputError("--plot", "", "at least one completed request to plot", "none");
    write_plots(opt.plot, result,
                fmt::format("{} ({}) on {}", d.arch.name.empty() ? d.arch.id : d.arch.name, variant, d.gpu.id),
                fmt::format("kvscope {}; {}; {}", KVSCOPE_VERSION, load_label(load), recorded_command_line()));
  }

  if (format == Format::json) {
    boost::json::object o;
    o["provenance"] = provenance_json(recorded_command_line());
    o["model"] = d.arch.id;
    o["model_name"] = d.arch.name;
    o["variant"] = variant;
    o["kv_dtype"] = to_string(d.arch.kv_dtype);
    o["gpu"] = d.gpu.id;
    o["gpu_name"] = d.gpu.name;
    o["tp"] = d.workload.tp;
    o["runtime"] = to_string(d.workload.runtime);
    o["stack"] = st.stack;
    o["timing_params"] = st.origin;
    o["scheduler"] = {{"max_num_seqs", sc.max_num_seqs}, {"max_num_batched_tokens", sc.max_num_batched_tokens}, {"block_size", sc.block_size}};
    o["kv_pool"] = kv_pool_json(pool, models::max_concurrency(profile, pool, static_cast<double>(concurrency_context)),
                                concurrency_context, d.gpu);
    boost::json::object l;
    l["mode"] = !load.trace.empty() ? "trace" : load.concurrency > 0 ? "closed_loop" : "poisson";
    if (load.trace.empty()) {
      if (load.concurrency > 0) l["concurrency"] = load.concurrency; else l["rate_per_s"] = json_number(load.rate_per_s);
      l["requests"] = load.requests;
      l["isl"] = load.isl.text;
      l["osl"] = load.osl.text;
      l["seed"] = load.seed;
    } else {
      l["trace"] = load.trace_source;
      l["requests"] = load.trace.size();
    }
    o["load"] = std::move(l);
    if (slo_given) {
      o["slo"] = {{"ttft_s", slo.ttft_s > 0 ? json_number(slo.ttft_s) : nullptr},
                  {"tpot_s", slo.tpot_s > 0 ? json_number(slo.tpot_s) : nullptr},
                  {"percentile", json_number(slo.percentile)}};
    }
    if (search) {
      boost::json::array probes;
      for (const auto& p : goodput.probes) {
        probes.push_back({{"rate_per_s", json_number(p.rate_rps)}, {"ttft_s", json_number(p.ttft_s)}, {"tpot_s", json_number(p.tpot_s)},
                          {"meets", p.meets}});
      }
      o["goodput_rps"] = json_number(goodput.goodput_rps);
      o["goodput_search"] = {{"lo_rps", json_number(goodput.lo_rps)}, {"hi_rps", json_number(goodput.hi_rps)},
                             {"precision", json_number(sv.goodput_precision)}, {"simulations", goodput.simulations},
                             {"note", goodput.reason}, {"probes", std::move(probes)}};
    } else if (slo_given) {
      o["meets_slo"] = models::meets_slo(result, slo);
    }
    if (!search || goodput.goodput_rps > 0) add_result_json(o, result);
    emit(pretty_json(o), opt.output);
    return;
  }
  if (format == Format::csv) {
    std::string head = "model,variant,gpu,stack,tp,load,max_num_seqs,max_num_batched_tokens,block_size,kv_pool_blocks";
    std::string row = fmt::format("{},{},{},{},{},{},{},{},{},{}", csv_escape(d.arch.id), csv_escape(variant), csv_escape(d.gpu.id), st.stack,
                                  d.workload.tp, csv_escape(load_label(load)), sc.max_num_seqs, sc.max_num_batched_tokens, sc.block_size,
                                  static_cast<std::int64_t>(pool.blocks));
    if (search) {
      head += ",goodput_rps";
      row += fmt::format(",{}", goodput.goodput_rps);
    }
    for (const auto& [name, v] : result_columns(result)) {
      head += "," + name;
      row += std::isfinite(v) && (!search || goodput.goodput_rps > 0) ? fmt::format(",{}", v) : ",";
    }
    emit(head + "\n" + row + "\n", opt.output);
    return;
  }
  std::string out;
  out += fmt::format("kvscope {} simulate — {}\n", KVSCOPE_VERSION, design_label);
  out += fmt::format("timing parameters: {}\n", st.origin);
  out += fmt::format("engine: vLLM-style continuous batching, chunked prefill, max {} sequences, {} tokens per iteration, "
                     "{}-token blocks\n",
                     sc.max_num_seqs, sc.max_num_batched_tokens, sc.block_size);
  out += kv_pool_text(pool, models::max_concurrency(profile, pool, static_cast<double>(concurrency_context)), concurrency_context, sc);
  if (search) {
    out += fmt::format("SLO: {}\n", slo_label);
    if (goodput.goodput_rps > 0) {
      out += fmt::format("goodput: {:.4g} req/s ({})\n", goodput.goodput_rps, goodput.reason);
    } else {
      out += fmt::format("goodput: 0 req/s — {}\n", goodput.reason);
    }
    if (goodput.goodput_rps <= 0) {
      emit_text(out, opt.output);
      return;
    }
    load.rate_per_s = goodput.goodput_rps;
    out += fmt::format("at the goodput rate:\n");
  }
  out += fmt::format("load: {}\n", load_label(load));
  if (slo_given && !search) out += fmt::format("SLO {}: {}\n", slo_label, models::meets_slo(result, slo) ? "met" : "missed");
  out += "\n" + result_table(result);
  std::size_t shown = 0;
  for (std::size_t i = 0; i < result.requests.size() && shown < 10; ++i) {
    const auto& q = result.requests[i];
    if (!q.rejected) continue;
    if (shown++ == 0) out += "\nrejected requests:\n";
    out += fmt::format("  request {}: {}\n", i, q.reason);
  }
  if (result.rejected > 10) out += fmt::format("  ... {} in all (--format json lists every one)\n", result.rejected);
  emit_text(out, opt.output);
}

const Registrar reg(15, [](CLI::App& app) {
  auto opt = std::make_shared<SimOptions>();
  CLI::App* sub = app.add_subcommand(
      "simulate", "serving under load: vLLM-style continuous batching with chunked prefill and preemption; TTFT / TPOT "
                  "percentiles, throughput; with SLO targets, the highest request rate that meets them (goodput)");
  add_design_flags(sub, opt->design, false);
  sub->add_option_function<double>(
      "--rate", [opt](double v) { opt->rate = v, opt->rate_given = true; }, "Poisson arrivals, requests/s");
  sub->add_option_function<int>(
      "--concurrency", [opt](int v) { opt->concurrency = v, opt->concurrency_given = true; },
      "closed loop: N clients, each sends its next request when the previous one ends");
  sub->add_option("--trace", opt->trace, "requests from a file: CSV arrival_s,input_tokens,output_tokens or JSON lines");
  sub->add_option("--format", opt->format, "table, json or csv [table]");
  sub->add_option("-o,--output", opt->output, "write to this file (atomically) instead of stdout");
  sub->add_option("--plot", opt->plot,
                  "write TTFT / TPOT distributions to FILE (.svg/.png) and running requests over time to FILE-running.svg");
  sub->callback([opt] { run_simulate(*opt); });
});

}  // namespace
}  // namespace kvscope::cli
