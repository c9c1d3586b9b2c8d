// `kvscope explore` — the default question answered end to end (README's main job): for a
// model on a GPU at a long context, which head/layer-sharing choices are on the frontier of KV
// memory vs. estimated quality, and of tokens/s vs. latency — and how much throughput the memory
// saved buys. Writes tables, JSON and plots to --out-dir.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <map>

#include "command.hpp"
#include "kvscope/core/loaders.hpp"
#include "kvscope/models/explore.hpp"
#include "kvscope/models/scenario_sweep.hpp"
#include "output.hpp"
#include "plotting.hpp"
#include "signals.hpp"
#include "sweep_limits.hpp"
#include "kvscope/core/display.hpp"
#include "kvscope/core/error.hpp"
#include "writers.hpp"

namespace kvscope::cli {
namespace {

struct ExploreOptions {
  std::string model = "llama-3-8b";
  std::string gpu = "h100-sxm";
  std::string context = "32768";
  std::string batch = "1..1024:x2";
  std::string stack = default_stack_id();
  std::string out_dir = "out";
  std::string plot_ext = "svg";
  unsigned threads = 0;
  std::uint64_t max_points = kDefaultMaxExplorePoints;
};

// "H128-GQA4-CLA2" from the facts a sweep keeps per architecture.
std::string short_name(const models::ArchFacts& a) {
  std::string mech = a.n_kv_heads == a.n_q_heads ? "MHA" : a.n_kv_heads == 1 ? "MQA" : fmt::format("GQA{}", a.n_kv_heads);
  std::string s = fmt::format("H{}-{}", a.head_dim, mech);
  if (a.cla_factor > 1) s += fmt::format("-CLA{}", a.cla_factor);
  if (a.cla_factor == 0) s += fmt::format("-KV{}of{}", a.kv_layers, a.n_layers);
  return s;
}

std::string divisors_list(int n) {
  std::string s;
  for (int d = 1; d <= n; ++d) {
    if (n % d == 0) s += (s.empty() ? "" : ",") + std::to_string(d);
  }
  return s;
}

// --out-dir: created when missing; an error is an IoError naming the folder (exit 2), never an
// internal error.
void make_out_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  if (dir.empty()) throw InputError("--out-dir", "", "a folder", "an empty path");
  std::error_code ec;
  const fs::file_status st = fs::status(dir, ec);
  if (fs::exists(st)) {
    if (!fs::is_directory(st)) throw IoError(fmt::format("--out-dir '{}': exists and is not a folder", display_text(dir, 200)));
    return;
  }
  fs::create_directories(dir, ec);
  if (ec) throw IoError(fmt::format("--out-dir '{}': cannot create the folder: {}", display_text(dir, 200), ec.message()));
}

void run_explore(const ExploreOptions& o) {
  check_threads_flag(o.threads);
  const Architecture base = load_architecture(o.model);
  make_out_dir(o.out_dir);
  std::vector<std::string> written;
  // A stopping signal between phases: the report and JSON of the phases done are written,
  // marked partial, and kvscope exits 128 + signal. Returns normally when no signal came.
  auto stop_if_interrupted = [&](const char* phase, boost::json::object& out, std::string& report) {
    if (!cancel_flag()->load()) return;
    out["partial"] = true;
    out["interrupted_during"] = phase;
    report += fmt::format("PARTIAL: interrupted during {}; the phases above are complete, the rest was not run\n", phase);
    const std::string json_path = (std::filesystem::path(o.out_dir) / "explore.json").string();
    const std::string report_path = (std::filesystem::path(o.out_dir) / "explore.txt").string();
    emit(pretty_json(out), json_path);
    emit_text(report, report_path);
    written.push_back(json_path);
    written.push_back(report_path);
    std::string list;
    for (const auto& w : written) list += (list.empty() ? "" : ", ") + w;
    std::fprintf(stderr, "kvscope: interrupted — wrote a partial explore (%s)\n", display_text(list, 2000).c_str());
    throw Interrupted{};
  };
  auto plot_phase = [&](const char* phase, boost::json::object& out, std::string& report, const std::string& path, auto&& draw) {
    stop_if_interrupted(phase, out, report);
    try {
      draw();
    } catch (const Interrupted&) {
      stop_if_interrupted(phase, out, report);
      throw;
    }
    written.push_back(path);
  };
  const std::string kv_heads = divisors_list(base.n_q_heads);
  const std::string footnote = fmt::format("kvscope {} — {} — timing: {}", KVSCOPE_VERSION, recorded_command_line(),
                                           stack_timing(load_gpu(o.gpu), o.stack).origin);
  std::string report = fmt::format("kvscope explore: {} on {} (stack {}) at context {}\n", display_text(base.name, 120),
                                   display_text(o.gpu, 120), o.stack, o.context);
  report += fmt::format("design space: K/V heads {{{}}} x CLA factor {{1,2,3,4}} (bf16 K/V); batch {}\n\n", kv_heads, o.batch);
  boost::json::object out;
  out["provenance"] = provenance_json(recorded_command_line());

  // 1. KV memory vs. estimated quality (one point per architecture).
  Scenario s1;
  s1.source = "explore";
  s1.values = {{"model", o.model}, {"gpu", o.gpu},         {"n_kv_heads", kv_heads}, {"cla_factor", "1,2,3,4"},
               {"context", o.context}, {"batch", "1"}, {"stack", o.stack}};
  s1.objectives = "kv_bytes_per_token:min,ppl_delta:min";
  models::SweepOptions so;
  so.threads = o.threads;
  so.keep = models::KeepPoints::all;
  so.cancel = cancel_flag();
  // Both sweeps keep every point in memory: counted and bounded before either starts.
  const models::SweepSpec spec1 = models::sweep_spec_from_scenario(s1);
  check_point_budget(spec1, o.max_points, "explore", 0, true);
  Scenario s2 = s1;
  s2.values["batch"] = o.batch;
  s2.constraints = {"feasible == 1"};
  s2.objectives = "decode_tokens_per_s:max,tpot_s:min";
  const models::SweepSpec spec2 = models::sweep_spec_from_scenario(s2);
  check_point_budget(spec2, o.max_points, "explore", 0, false);
  const models::SweepResult r1 = models::explore(spec1, so);
  stop_if_interrupted("the memory vs. quality sweep", out, report);
  Table t1({"configuration", "KV B/token", "ppl Δ vs MHA", "accuracy", "max batch @ ctx", "best tokens/s", "frontier"},
           {false, true, true, false, true, true, false});
  std::map<std::uint64_t, bool> on_front;
  for (auto i : r1.frontier_indices) on_front[i] = true;
  ParetoPlot p1;
  boost::json::array j1;
  for (std::size_t i = 0; i < r1.points.size(); ++i) {
    const auto& p = r1.points[i];
    const bool front = on_front.count(r1.point_indices[i]) > 0;
    const auto& a = p.arch->accuracy;
    t1.add({short_name(*p.arch), fmt::format("{:.0f}", p.eval.memory.kv_bytes_per_token), fmt::format("{:+.2f} %", a.ppl_delta_pct),
            std::string(models::to_string(a.delta_kind)) + (a.extrapolated ? ", extrapolated" : ""), std::to_string(p.eval.memory.max_batch),
            fmt::format("{:.0f}", p.eval.max_throughput_tokens_per_s), front ? "frontier" : ""});
    p1.all_x.push_back(p.eval.memory.kv_bytes_per_token);
    p1.all_y.push_back(a.ppl_delta_pct);
    if (front) {
      p1.front_x.push_back(p.eval.memory.kv_bytes_per_token);
      p1.front_y.push_back(a.ppl_delta_pct);
      p1.front_labels.push_back(short_name(*p.arch));
    }
    boost::json::object e = point_json(p);
    e["configuration"] = short_name(*p.arch);
    e["on_frontier"] = front;
    e["ppl_delta_kind"] = models::to_string(a.delta_kind);
    e["val_ppl_kind"] = models::to_string(a.val_ppl_kind);
    e["accuracy_extrapolated"] = a.extrapolated;
    e["accuracy_source"] = a.source;
    j1.push_back(std::move(e));
  }
  report += "1. KV memory vs. estimated quality (ppl Δ: the CLA paper's 1B fit applied relatively; see `kvscope paper`)\n";
  report += t1.str() + "\n";
  out["memory_vs_quality"] = std::move(j1);
  p1.x_title = "KV bytes per token";
  p1.x_unit = "B";
  p1.x_log = true;
  p1.y_title = "perplexity change vs. MHA, no sharing (estimated)";
  p1.y_unit = "%";
  p1.title = fmt::format("{}: KV memory vs. estimated quality", base.name);
  p1.subtitle = "head sharing (MHA→GQA→MQA) × layer sharing (CLA 1–4); frontier = non-dominated";
  p1.footnote = footnote;
  const std::string plot1 = (std::filesystem::path(o.out_dir) / ("explore-memory-quality." + o.plot_ext)).string();
  plot_phase("the memory vs. quality plot", out, report, plot1, [&] { write_pareto_plot(plot1, p1); });

  // 2. Tokens/s vs. latency across batch sizes, only points that fit in memory. When none fits,
  // that is the answer, not an error: the plots then show the infeasible points and say so.
  models::SweepResult r2 = models::explore(spec2, so);
  stop_if_interrupted("the throughput vs. latency sweep", out, report);
  const bool none_fits = r2.kept == 0;
  if (none_fits) {
    Scenario s2all = s2;
    s2all.constraints.clear();
    r2 = models::explore(models::sweep_spec_from_scenario(s2all), so);
    stop_if_interrupted("the throughput vs. latency sweep", out, report);
    r2.frontier_indices.clear();
  }
  Table t2({"configuration", "batch", "tokens/s", "TPOT", "KV cache"}, {false, true, true, true, true});
  ParetoPlot p2;
  boost::json::array j2;
  std::map<std::uint64_t, bool> front2;
  for (auto i : r2.frontier_indices) front2[i] = true;
  std::map<std::string, LinesPlot::Line> lines;
  for (std::size_t i = 0; i < r2.points.size(); ++i) {
    const auto& p = r2.points[i];
    p2.all_x.push_back(p.eval.decode_tokens_per_s);
    p2.all_y.push_back(p.eval.tpot_s * 1e3);
    auto& line = lines[short_name(*p.arch)];
    line.name = short_name(*p.arch);
    line.x.push_back(static_cast<double>(p.workload.batch));
    line.y.push_back(p.eval.decode_tokens_per_s);
    if (!front2.count(r2.point_indices[i])) continue;
    p2.front_x.push_back(p.eval.decode_tokens_per_s);
    p2.front_y.push_back(p.eval.tpot_s * 1e3);
    p2.front_labels.push_back(fmt::format("{} B={}", short_name(*p.arch), p.workload.batch));
    t2.add({short_name(*p.arch), std::to_string(p.workload.batch), fmt::format("{:.0f}", p.eval.decode_tokens_per_s),
            human_time(p.eval.tpot_s), human_bytes_short(p.eval.memory.kv_cache_bytes)});
    boost::json::object e = point_json(p);
    e["configuration"] = short_name(*p.arch);
    j2.push_back(std::move(e));
  }
  if (none_fits) {
    report += fmt::format("2. tokens/s vs. time per output token at context {}: no (sharing choice, batch) fits in memory "
                          "({} points, all infeasible; the plots show them)\n",
                          o.context, r2.kept);
  } else {
    report += fmt::format("2. tokens/s vs. time per output token at context {} (frontier over {} feasible points, {} did not fit)\n",
                          o.context, r2.kept, r2.filtered_out);
  }
  out["throughput_vs_latency_feasible_points"] = none_fits ? 0 : r2.kept;
  report += t2.str() + "\n";
  out["throughput_vs_latency_frontier"] = std::move(j2);
  p2.x_title = "decode throughput";
  p2.x_unit = "tokens/s";
  p2.x_log = true;
  p2.y_title = "time per output token";
  p2.y_unit = "ms";
  p2.y_log = true;
  p2.title = fmt::format("{} on {}: throughput vs. latency at context {}", base.name, o.gpu, o.context);
  p2.subtitle = none_fits ? "nothing fits in memory at this context: every point shown is infeasible (no frontier)"
                          : "every (sharing choice, batch) that fits in memory; frontier = max tokens/s for its latency";
  p2.footnote = footnote;
  const std::string plot2 = (std::filesystem::path(o.out_dir) / ("explore-throughput-latency." + o.plot_ext)).string();
  plot_phase("the throughput vs. latency plot", out, report, plot2, [&] { write_pareto_plot(plot2, p2); });

  // 3. Throughput vs. batch per configuration: where CLA's capacity gain becomes tokens/s.
  LinesPlot p3;
  // Keep the chart readable: MHA, the model's own K/V heads and MQA, each with CLA 1, 2 and 4.
  for (const auto& p : r1.points) {
    const auto& a = *p.arch;
    const bool heads = a.n_kv_heads == base.n_q_heads || a.n_kv_heads == base.n_kv_heads || a.n_kv_heads == 1;
    const bool cla = a.cla_factor == 1 || a.cla_factor == 2 || a.cla_factor == 4;
    auto it = lines.find(short_name(a));
    if (heads && cla && it != lines.end()) p3.lines.push_back({it->first, it->second.x, it->second.y});
  }
  if (p3.lines.empty()) {
    // None of the chosen configurations has a point: draw whatever has one.
    for (const auto& [name, line] : lines) p3.lines.push_back({name, line.x, line.y});
  }
  p3.x_title = "batch";
  p3.x_log = true;
  p3.y_title = "decode throughput";
  p3.y_unit = "tokens/s";
  p3.y_log = true;
  p3.title = fmt::format("{} on {}: throughput vs. batch at context {}", base.name, o.gpu, o.context);
  p3.subtitle = none_fits ? "nothing fits in memory at this context: the lines show infeasible points"
                          : "each line ends where the KV cache no longer fits: CLA and fewer K/V heads buy batch, batch buys tokens/s";
  p3.footnote = footnote;
  const std::string plot3 = (std::filesystem::path(o.out_dir) / ("explore-throughput-vs-batch." + o.plot_ext)).string();
  plot_phase("the throughput vs. batch plot", out, report, plot3, [&] { write_lines_plot(plot3, p3); });

  const std::string json_path = (std::filesystem::path(o.out_dir) / "explore.json").string();
  emit(pretty_json(out), json_path);
  const std::string report_path = (std::filesystem::path(o.out_dir) / "explore.txt").string();
  emit_text(report, report_path);
  report += fmt::format("wrote {}, {}, {}, {}, {}\n", plot1, plot2, plot3, json_path, report_path);
  emit_text(report, "");
}

const Registrar reg(25, [](CLI::App& app) {
  auto o = std::make_shared<ExploreOptions>();
  CLI::App* sub = app.add_subcommand("explore", "the default question: KV memory vs. quality and tokens/s vs. latency for sharing choices");
  sub->add_option("--model", o->model, "model preset or JSON file [llama-3-8b]");
  sub->add_option("--gpu", o->gpu, "GPU preset or profile [h100-sxm]");
  sub->add_option("--context", o->context, "positions each request holds [32768]");
  sub->add_option("--batch", o->batch, "batch sizes for the throughput frontier [1..1024:x2]");
  sub->add_option("--stack", o->stack, "kernel stack: torch-flash, torch-cudnn or kvbench [torch-flash]");
  sub->add_option("--out-dir", o->out_dir, "folder for plots, JSON and the report [out]");
  sub->add_option("--plot-format", o->plot_ext, "svg or png [svg]")->check(CLI::IsMember({"svg", "png"}));
  sub->add_option("--threads", o->threads, "worker threads, at most 4 x the hardware threads [all cores]");
  sub->add_option("--max-points", o->max_points, "refuse a throughput sweep (K/V heads x CLA x batch) larger than this [2000000]");
  sub->callback([o] { run_explore(*o); });
});

}  // namespace
}  // namespace kvscope::cli
