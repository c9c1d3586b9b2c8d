// `kvscope explore` — the default question answered end to end (README's main job): for a
// model on a GPU at a long context, which head/layer-sharing choices are on the frontier of KV
// memory vs. estimated quality, and of tokens/s vs. latency — and how much throughput the memory
// saved buys. Writes tables, JSON and plots to --out-dir.
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <utility>

#include "command.hpp"
#include "design_flags.hpp"
#include "kvscope/core/axes.hpp"
#include "kvscope/core/display.hpp"
#include "kvscope/core/error.hpp"
#include "kvscope/core/loaders.hpp"
#include "kvscope/core/output_file.hpp"
#include "kvscope/explorer/explore.hpp"
#include "kvscope/explorer/scenario_sweep.hpp"
#include "output.hpp"
#include "plotting.hpp"
#include "signals.hpp"
#include "sweep_limits.hpp"
#include "writers.hpp"

namespace kvscope::cli {
namespace {

// The design flags are eval's and sweep's (design_flags.hpp); explore's question fills in what
// the user leaves out: every K/V-head count dividing the query heads, CLA 1-4, context 32768,
// batch 1..1024:x2 for the throughput sweep.
struct ExploreOptions {
  DesignFlags design;
  OutputFlags out;
  SweepRunFlags run{0, false, kDefaultMaxExplorePoints};
  std::string out_dir = "out";
  std::string plot_ext = "svg";
};
constexpr const char* kExploreContext = "32768";
constexpr const char* kExploreBatch = "1..1024:x2";
constexpr const char* kExploreCla = "1,2,3,4";

// One value of a field explore's titles and footnote name (model, gpu, stack): a list is a
// sweep's business.
std::string one_value(const Scenario& s, const char* field, const std::string& fallback) {
  const std::string* v = s.get(field);
  if (!v) return fallback;
  const std::vector<std::string> items = parse_string_axis(*v, flag_of(s.spelling(field)));
  if (items.size() != 1) {
    throw InputError(flag_of(s.spelling(field)), "", "one value for explore (sweep and pareto take lists)",
                     fmt::format("'{}'", *v));
  }
  return items[0];
}

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

// The words of one of explore's plots: its axes (title, unit, log scale), title, subtitle and the
// footnote every plot of a run shares.
struct PlotAxis {
  std::string title, unit;
  bool log;
};
template <typename Plot>
void label_plot(Plot& p, const PlotAxis& x, const PlotAxis& y, std::string title, std::string subtitle,
                const std::string& footnote) {
  p.x_title = x.title, p.x_unit = x.unit, p.x_log = x.log;
  p.y_title = y.title, p.y_unit = y.unit, p.y_log = y.log;
  p.title = std::move(title);
  p.subtitle = std::move(subtitle);
  p.footnote = footnote;
}

void run_explore(const ExploreOptions& o) {
  check_threads_flag(o.run.threads);
  const Format format = parse_format(o.out.format);
  if (format == Format::csv)
    throw InputError("--format", "", "table or json for explore (its CSV rows are sweep's and pareto's)", "'csv'");
  check_output_target(o.out.output);
  // The user's design (any eval / sweep flag, or --scenario), then explore's defaults.
  Scenario user = to_scenario(o.design);
  user.source = o.design.scenario_file.empty() ? "explore" : user.source;
  const std::string model_id = one_value(user, "model", "llama-3-8b");
  const std::string gpu_id = one_value(user, "gpu", "h100-sxm");
  const std::string stack_id = one_value(user, "stack", default_stack_id());
  const Architecture base = load_architecture(model_id);
  const std::string context = user.get("context") ? *user.get("context") : kExploreContext;
  const std::string batch = user.get("batch") ? *user.get("batch") : kExploreBatch;
  if (!o.out.output.empty() && same_output_file(o.out.output, (std::filesystem::path(o.out_dir) / "explore.json").string())) {
    throw InputError("-o", "", "a file other than those --out-dir holds", fmt::format("'{}'", display_text(o.out.output, 200)));
  }
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
  // 1. KV memory vs. estimated quality (one point per architecture, batch 1): the user's design
  // with explore's sharing axes where the user gave none.
  Scenario s1 = user;
  s1.source = "explore";
  s1.set(user.spelling("model"), model_id);
  s1.set(user.spelling("gpu"), gpu_id);
  s1.set(user.spelling("stack"), stack_id);
  if (!user.get("n_kv_heads")) s1.set("n_kv_heads", divisors_list(base.n_q_heads));
  if (!user.get("cla_factor") && !user.get("kv_producers") && !user.get("variant")) s1.set("cla_factor", kExploreCla);
  s1.set(user.spelling("context"), context);
  s1.set(user.spelling("batch"), "1");
  s1.constraints = user.constraints;
  s1.objectives = "kv_bytes_per_token:min,ppl_delta:min";
  const std::string footnote = fmt::format("kvscope {} — {} — timing: {}", KVSCOPE_VERSION, recorded_command_line(),
                                           stack_timing(load_gpu(gpu_id), stack_id).origin);
  std::string report = fmt::format("kvscope explore: {} on {} (stack {}) at context {}\n", display_text(base.name, 120),
                                   display_text(gpu_id, 120), stack_id, context);
  const std::string* kv_dtype = s1.get("kv_dtype");
  report += fmt::format("design space: K/V heads {{{}}} x CLA factor {{{}}} ({} K/V); batch {}\n\n",
                        s1.get("n_kv_heads") ? display_text(*s1.get("n_kv_heads"), 200) : "the model's",
                        s1.get("cla_factor") ? display_text(*s1.get("cla_factor"), 200) : "the model's",
                        kv_dtype ? display_text(*kv_dtype, 60) : to_string(base.kv_dtype), display_text(batch, 60));
  boost::json::object out;
  out["provenance"] = provenance_json(recorded_command_line());

  models::SweepOptions so;
  so.threads = o.run.threads;
  so.keep = models::KeepPoints::all;
  so.cancel = cancel_flag();
  // K/V bytes per token and quality do not depend on what fits: every architecture competes
  // (the table's "fits" column says which do at batch 1).
  models::SweepOptions so1 = so;
  so1.frontier_infeasible = true;
  // Both sweeps keep every point in memory: counted and bounded before either starts.
  const models::SweepSpec spec1 = models::sweep_spec_from_scenario(s1);
  check_point_budget(spec1, o.run.max_points, "explore", 0, true);
  // 2. The same designs over batch sizes, only what fits.
  Scenario s2 = s1;
  s2.set(user.spelling("batch"), batch);
  s2.constraints.push_back("feasible == 1");
  s2.objectives = "decode_tokens_per_s:max,tpot_s:min";
  const models::SweepSpec spec2 = models::sweep_spec_from_scenario(s2);
  check_point_budget(spec2, o.run.max_points, "explore", 0, o.run.quiet);
  const models::SweepResult r1 = models::explore(spec1, so1);
  stop_if_interrupted("the memory vs. quality sweep", out, report);
  Table t1({"configuration", "KV B/token", "ppl Δ vs MHA", "accuracy", "max batch @ ctx", "best tokens/s", "frontier"},
           {false, true, true, false, true, true, false});
  std::map<std::uint64_t, bool> on_front;
  for (auto i : r1.frontier_indices) on_front[i] = true;
  // Without a quality estimate (fp8 / int K/V, shapes the accuracy model does not cover) the
  // plot shows what the memory buys instead: the best tokens/s at the context.
  bool have_quality = false;
  for (const auto& p : r1.points) have_quality = have_quality || std::isfinite(p.arch->accuracy.ppl_delta_pct);
  auto plot_y = [&](const models::PointResult& p) {
    return have_quality ? p.arch->accuracy.ppl_delta_pct : p.eval.max_throughput_tokens_per_s;
  };
  ParetoPlot p1;
  boost::json::array j1;
  for (std::size_t i = 0; i < r1.points.size(); ++i) {
    const auto& p = r1.points[i];
    const bool front = on_front.count(r1.point_indices[i]) > 0;
    const auto& a = p.arch->accuracy;
    t1.add({short_name(*p.arch), fmt::format("{:.0f}", p.eval.memory.kv_bytes_per_token),
            fmt::format("{:+.2f} %", a.ppl_delta_pct),
            std::string(models::to_string(a.delta_kind)) + (a.extrapolated ? ", extrapolated" : ""),
            std::to_string(p.eval.memory.max_batch), fmt::format("{:.0f}", p.eval.max_throughput_tokens_per_s),
            front ? "frontier" : ""});
    p1.all_x.push_back(p.eval.memory.kv_bytes_per_token);
    p1.all_y.push_back(plot_y(p));
    if (front) {
      p1.front_x.push_back(p.eval.memory.kv_bytes_per_token);
      p1.front_y.push_back(plot_y(p));
      p1.front_labels.push_back(short_name(*p.arch));
    }
    // The point record eval, sweep and pareto write (writers.hpp), and whether it is on the front.
    boost::json::object e = to_json(point_record(r1, r1.point_indices[i], p));
    e["on_frontier"] = front;
    j1.push_back(std::move(e));
  }
  report += "1. KV memory vs. estimated quality (ppl Δ: the CLA paper's 1B fit applied relatively; see `kvscope paper`)\n";
  report += t1.str() + "\n";
  out["memory_vs_quality"] = std::move(j1);
  label_plot(
      p1, {"KV bytes per token", "B", true},
      {have_quality ? "perplexity change vs. MHA, no sharing (estimated)" : "best decode throughput at this context",
       have_quality ? "%" : "tokens/s", false},
      fmt::format("{}: KV memory vs. {}", base.name, have_quality ? "estimated quality" : "throughput (no quality estimate)"),
      have_quality ? "head sharing (MHA→GQA→MQA) × layer sharing (CLA); frontier = non-dominated"
                   : "no quality estimate for these designs (e.g. quantized K/V), so no frontier: the points show the "
                     "tokens/s the memory buys",
      footnote);
  const std::string plot1 = (std::filesystem::path(o.out_dir) / ("explore-memory-quality." + o.plot_ext)).string();
  plot_phase("the memory vs. quality plot", out, report, plot1, [&] { write_pareto_plot(plot1, p1); });

  // 2. Tokens/s vs. latency across batch sizes, only points that fit in memory. When none fits,
  // that is the answer, not an error: the plots then show the infeasible points and say so.
  models::SweepResult r2 = models::explore(spec2, so);
  stop_if_interrupted("the throughput vs. latency sweep", out, report);
  const bool none_fits = r2.kept == 0;
  if (none_fits) {
    Scenario s2all = s2;
    s2all.constraints = user.constraints;  // the user's, without "feasible == 1"
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
    j2.push_back(to_json(point_record(r2, r2.point_indices[i], p)));
  }
  if (none_fits) {
    report += fmt::format(
        "2. tokens/s vs. time per output token at context {}: no (sharing choice, batch) fits in memory "
        "({} points, all infeasible; the plots show them)\n",
        context, r2.kept);
  } else {
    report +=
        fmt::format("2. tokens/s vs. time per output token at context {} (frontier over {} feasible points, {} did not fit)\n",
                    context, r2.kept, r2.filtered_out);
  }
  out["throughput_vs_latency_feasible_points"] = none_fits ? 0 : r2.kept;
  report += t2.str() + "\n";
  out["throughput_vs_latency_frontier"] = std::move(j2);
  label_plot(p2, {"decode throughput", "tokens/s", true}, {"time per output token", "ms", true},
             fmt::format("{} on {}: throughput vs. latency at context {}", base.name, gpu_id, context),
             none_fits ? "nothing fits in memory at this context: every point shown is infeasible (no frontier)"
                       : "every (sharing choice, batch) that fits in memory; frontier = max tokens/s for its latency",
             footnote);
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
  label_plot(p3, {"batch", "", true}, {"decode throughput", "tokens/s", true},
             fmt::format("{} on {}: throughput vs. batch at context {}", base.name, gpu_id, context),
             none_fits
                 ? "nothing fits in memory at this context: the lines show infeasible points"
                 : "each line ends where the KV cache no longer fits: CLA and fewer K/V heads buy batch, batch buys tokens/s",
             footnote);
  const std::string plot3 = (std::filesystem::path(o.out_dir) / ("explore-throughput-vs-batch." + o.plot_ext)).string();
  plot_phase("the throughput vs. batch plot", out, report, plot3, [&] { write_lines_plot(plot3, p3); });

  const std::string json_path = (std::filesystem::path(o.out_dir) / "explore.json").string();
  emit(pretty_json(out), json_path);
  const std::string report_path = (std::filesystem::path(o.out_dir) / "explore.txt").string();
  emit_text(report, report_path);
  report += fmt::format("wrote {}, {}, {}, {}, {}\n", plot1, plot2, plot3, json_path, report_path);
  // stdout (or -o) gets the report, or with --format json the JSON explore.json holds.
  if (format == Format::json)
    emit(pretty_json(out), o.out.output);
  else
    emit_text(report, o.out.output);
}

const Registrar reg(25, [](CLI::App& app) {
  auto o = std::make_shared<ExploreOptions>();
  CLI::App* sub =
      app.add_subcommand("explore", "the default question: KV memory vs. quality and tokens/s vs. latency for sharing choices");
  // The same design, output and run flags as eval / sweep / pareto (design_flags.hpp).
  add_design_flags(sub, o->design, true);
  sub->add_option("--constraint", o->design.constraints,
                  "keep points where this holds, e.g. 'max_context >= 32768' (repeatable)");
  add_output_flags(sub, o->out, "table (the report) or json (explore.json)");
  add_sweep_run_flags(sub, o->run, "a throughput sweep (K/V heads x CLA x batch)");
  sub->add_option("--out-dir", o->out_dir, "folder for plots, JSON and the report [out]");
  sub->add_option("--plot-format", o->plot_ext, "svg or png [svg]")->check(CLI::IsMember({"svg", "png"}));
  sub->footer(
      fmt::format("explore's defaults where a flag is not given: --n-kv-heads every divisor of the query heads, "
                  "--cla-factor {}, --context {}, --batch {} (the throughput sweep; the memory vs. quality sweep is at batch 1).",
                  kExploreCla, kExploreContext, kExploreBatch));
  sub->callback([o] { run_explore(*o); });
});

}  // namespace
}  // namespace kvscope::cli
