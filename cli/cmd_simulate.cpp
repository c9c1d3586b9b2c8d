// `kvscope simulate`: serving under load — a vLLM-style scheduler (continuous batching, chunked
// prefill, preemption) driven by the cost model, and the SLA goodput search.
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "command.hpp"
#include "design_flags.hpp"
#include "kvscope/core/csv.hpp"
#include "kvscope/core/design.hpp"
#include "kvscope/core/design_fields.hpp"
#include "kvscope/core/error.hpp"
#include "kvscope/core/output_file.hpp"
#include "kvscope/core/units.hpp"
#include "kvscope/models/simulate.hpp"
#include "kvscope/models/simulate_run.hpp"
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
  t.add({"KV blocks used mean / max",
         fmt::format("{:.1f} % / {:.1f} %", 100 * r.mean_kv_block_utilization, 100 * r.max_kv_block_utilization)});
  t.add({"preemptions (recompute)", std::to_string(r.preemptions)});
  t.add({"requests completed / rejected", fmt::format("{} / {}", r.completed, r.rejected)});
  t.add({"iterations, mean tokens each", fmt::format("{}, {:.1f}", r.iterations, r.mean_batch_tokens)});
  t.add({"duration, busy", fmt::format("{}, {:.1f} %", human_time(r.duration_s), 100 * r.busy_fraction)});
  return t.str();
}

std::string load_label(const models::LoadSpec& l) {
  if (!l.trace.empty()) return fmt::format("trace {} ({} requests)", l.trace_source, l.trace.size());
  const std::string lengths =
      fmt::format("{} requests, prompt {}, output {}, seed {}", l.requests, l.isl.text, l.osl.text, l.seed);
  if (l.concurrency > 0) return fmt::format("closed loop, {} clients, {}", l.concurrency, lengths);
  return fmt::format("Poisson {:.4g} req/s, {}", l.rate_per_s, lengths);
}

// The latency distributions (empirical CDFs of TTFT and TPOT) and running requests over time.
void write_plots(const std::string& path, const models::SimulationResult& r, const std::string& title,
                 const std::string& footnote) {
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
  lat.subtitle =
      fmt::format("TTFT p90 {}, TPOT p90 {} (empirical distributions)", human_time(r.ttft_s.p90), human_time(r.tpot_s.p90));
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
  const Scenario scenario = to_scenario(opt.design);
  models::check_simulate_scenario(scenario);
  const SingleDesign d = resolve_single(scenario);

  models::LoadSpec load = models::serving_load(d.workload.serving);  // lengths, requests, seed
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
  // Ctrl-C (SIGINT / SIGTERM / SIGHUP) stops the simulation; nothing is written from a run that
  // did not finish (a partial simulation's percentiles describe no load), and kvscope exits 128 + sig.
  const models::SimulationRun run = models::run_simulation(d, std::move(load), cancel_flag(), "simulate");
  if (run.cancelled) {
    std::fprintf(stderr, "kvscope: interrupted — simulate stopped %s; nothing written\n",
                 run.search ? fmt::format("after {} goodput probe(s)", run.goodput.simulations).c_str()
                            : fmt::format("after {} iterations", run.result.iterations).c_str());
    throw Interrupted{};
  }
  const models::SimulationResult& result = run.result;
  const models::GoodputResult& goodput = run.goodput;
  const models::LoadSpec& ran = run.load;
  const models::Slo& slo = run.slo;
  const bool search = run.search, slo_given = run.slo_given;
  const EngineMemory& sc = d.workload.engine;
  const models::KvPool& pool = run.pool;
  const std::string variant = variant_name(d.arch);
  const std::string design_label =
      fmt::format("{} ({}, {} K/V) on {}, TP {}, stack {}", d.arch.name.empty() ? d.arch.id : d.arch.name, variant,
                  to_string(d.arch.kv_dtype), d.gpu.name, d.workload.tp, run.stack);
  const std::string slo_label =
      fmt::format("TTFT p{:g} <= {} and TPOT p{:g} <= {}", slo.percentile, slo.ttft_s > 0 ? human_time(slo.ttft_s) : "any",
                  slo.percentile, slo.tpot_s > 0 ? human_time(slo.tpot_s) : "any");

  if (!opt.plot.empty()) {
    if (result.completed == 0) throw InputError("--plot", "", "at least one completed request to plot", "none");
    write_plots(opt.plot, result, fmt::format("{} ({}) on {}", d.arch.name.empty() ? d.arch.id : d.arch.name, variant, d.gpu.id),
                fmt::format("kvscope {}; {}; {}", KVSCOPE_VERSION, load_label(ran), recorded_command_line()));
  }

  if (format == Format::json) {
    // The record the Python module returns too (models/simulate_run.hpp), after the provenance.
    boost::json::object o;
    o["provenance"] = provenance_json(recorded_command_line());
    for (const auto& kv : models::simulation_json(run)) o[kv.key()] = kv.value();
    emit(pretty_json(o), opt.output);
    return;
  }
  if (format == Format::csv) {
    std::string head = "model,variant,gpu,stack,tp,load,max_num_seqs,max_num_batched_tokens,block_size,kv_pool_blocks";
    std::string row = fmt::format("{},{},{},{},{},{},{},{},{},{}", csv_escape(d.arch.id), csv_escape(variant),
                                  csv_escape(d.gpu.id), run.stack, d.workload.tp, csv_escape(load_label(ran)), sc.max_num_seqs,
                                  sc.max_num_batched_tokens, sc.block_size, static_cast<std::int64_t>(pool.blocks));
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
  out += fmt::format("timing parameters: {}\n", run.timing_origin);
  out += fmt::format(
      "engine: vLLM-style continuous batching, chunked prefill, max {} sequences, {} tokens per iteration, "
      "{}-token blocks\n",
      sc.max_num_seqs, sc.max_num_batched_tokens, sc.block_size);
  out += kv_pool_text(pool, run.max_concurrency, run.concurrency_context, sc);
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
    out += fmt::format("at the goodput rate:\n");
  }
  out += fmt::format("load: {}\n", load_label(ran));
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
  CLI::App* sub =
      app.add_subcommand("simulate",
                         "serving under load: vLLM-style continuous batching with chunked prefill and preemption; TTFT / TPOT "
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
