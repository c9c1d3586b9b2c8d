// `kvscope sweep`, `kvscope pareto` and `kvscope explore`: evaluate a design space (every eval
// flag takes a list or range), filter by constraints, keep the Pareto frontier, plot it.
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>

#include "command.hpp"
#include "design_flags.hpp"
#include "kvscope/core/csv.hpp"
#include "kvscope/core/display.hpp"
#include "kvscope/core/error.hpp"
#include "kvscope/core/output_file.hpp"
#include "kvscope/explorer/constraints.hpp"
#include "kvscope/explorer/explore.hpp"
#include "kvscope/explorer/scenario_sweep.hpp"
#include "output.hpp"
#include "plotting.hpp"
#include "signals.hpp"
#include "sweep_limits.hpp"
#include "sweep_plot.hpp"
#include "writers.hpp"

namespace kvscope::cli {
namespace {

struct SweepOptionsCli {
  DesignFlags design;
  OutputFlags out;
  SweepRunFlags run{0, false, kDefaultMaxPoints};
  std::string plot;
  std::string plot_x, plot_y = "decode_tokens_per_s";  // sweep --plot: the field against the axis
  std::size_t max_rows = 40;
  std::uint64_t max_frontier = kDefaultMaxFrontier;
  bool include_infeasible = false;  // pareto: points that do not fit compete for the frontier
};

// Measured row sizes of the default design flags (kvscope sweep --format csv / json): an
// estimate for the "output up to" line, not a limit.
double bytes_per_row(Format f) {
  return f == Format::csv ? 700 : f == Format::json ? 1800 : 0;
}

// "measured", "estimated", "estimated, extrapolated", "unavailable": the kind of the ppl change.
std::string accuracy_kind_text(const models::AccuracyEstimate& a) {
  return std::string(models::to_string(a.delta_kind)) +
         (a.extrapolated && a.delta_kind == models::AccuracyKind::estimated ? ", extrapolated" : "");
}

// CSV rows are point records (writers.hpp): the same columns in sweep and pareto.
std::string csv_header() {
  return csv_writer()->begin(point_record_names(), {});
}

std::string csv_row(const models::SweepResult& r, std::uint64_t index, const models::PointResult& p) {
  return csv_writer()->row(point_record(r, index, p));
}

// JSON point objects are the same records: the CSV's columns as keys, in the same order.
boost::json::object point_entry(const models::SweepResult& r, std::uint64_t index, const models::PointResult& p) {
  return to_json(point_record(r, index, p));
}

boost::json::object counts_json(const models::SweepResult& r) {
  boost::json::array reasons;
  for (const auto& s : r.skipped_by_reason) reasons.push_back({{"reason", s.reason}, {"example", s.example}, {"count", s.count}});
  return {{"total", r.total},
          {"completed", r.completed},
          {"partial", r.partial},
          {"evaluated", r.evaluated},
          {"skipped", r.skipped},
          {"skipped_by_reason", reasons},
          {"filtered_out", r.filtered_out},
          {"kept", r.kept},
          {"infeasible", r.infeasible},
          {"threads", r.threads},
          {"elapsed_s", json_number(r.elapsed_s)}};
}

std::string counts_text(const models::SweepResult& r) {
  std::string s = fmt::format(
      "{} points{}: {} evaluated, {} skipped, {} filtered out by constraints, {} kept ({} do not fit in memory) — {:.2f} s on {} "
      "thread(s)\n",
      r.total, r.partial ? fmt::format(" (PARTIAL: interrupted after {})", r.completed) : "", r.evaluated, r.skipped,
      r.filtered_out, r.kept, r.infeasible, r.elapsed_s, r.threads);
  for (const auto& k : r.skipped_by_reason) s += fmt::format("  skipped {} x: {}  (e.g. {})\n", k.count, k.reason, k.example);
  return s;
}

// Which points the frontier is over, when some did not fit (pareto's table).
std::string frontier_scope_text(const models::SweepResult& r, bool include_infeasible) {
  if (r.infeasible == 0) return "";
  return include_infeasible
             ? fmt::format("the frontier is over all {} kept points, {} of which do not fit in memory (--include-infeasible)\n",
                           r.kept, r.infeasible)
             : fmt::format(
                   "the frontier is over the {} kept points that fit in memory; {} that do not are left off "
                   "(--include-infeasible keeps them)\n",
                   r.kept - r.infeasible, r.infeasible);
}

models::SweepOptions sweep_options(const SweepOptionsCli& o) {
  models::SweepOptions so;
  so.threads = o.run.threads;
  so.cancel = cancel_flag();
  if (!o.run.quiet && ::isatty(STDERR_FILENO)) {
    so.progress = [](const models::SweepProgress& p) {
      if (p.designs_total > 0 && p.done == 0) {  // goodput searches, before the points
        std::fprintf(stderr, "\r  goodput search: %llu / %llu designs  %.1f s  ", static_cast<unsigned long long>(p.designs_done),
                     static_cast<unsigned long long>(p.designs_total), p.elapsed_s);
        return;
      }
      std::fprintf(stderr, "\r  %5.1f %%  %llu / %llu points  %.3g points/s  ", 100 * p.fraction,
                   static_cast<unsigned long long>(p.done), static_cast<unsigned long long>(p.total), p.points_per_s);
    };
  }
  return so;
}

void end_progress(const SweepOptionsCli& o) {
  if (!o.run.quiet && ::isatty(STDERR_FILENO)) std::fprintf(stderr, "\r%60s\r", "");
}

// Output paths are checked before the sweep: a bad --plot name must not cost the sweep, and the
// plot must not overwrite the result (`-o F --plot F`).
void check_plot_target(const SweepOptionsCli& o) {
  check_output_target(o.out.output);
  if (o.plot.empty()) return;
  plot_format_of(o.plot, "--plot");
  check_output_target(o.plot);
  if (same_output_file(o.plot, o.out.output)) {
    throw InputError("--plot", "", "a file other than the one -o writes",
                     fmt::format("'{}' (also -o)", display_text(o.plot, 200)));
  }
}

void run_sweep(const SweepOptionsCli& o) {
  const Format format = parse_format(o.out.format);
  check_threads_flag(o.run.threads);
  check_plot_target(o);
  if (o.plot.empty() && (!o.plot_x.empty() || o.plot_y != "decode_tokens_per_s")) {
    throw InputError(o.plot_x.empty() ? "--plot-y" : "--plot-x", "", "--plot FILE to draw into", "no --plot");
  }
  const Scenario scenario = to_scenario(o.design);
  const models::SweepSpec spec = models::sweep_spec_from_scenario(scenario);
  check_point_budget(spec, o.run.max_points, "sweep", bytes_per_row(format), o.run.quiet);
  // The plot's axes are checked against the sweep before it runs.
  std::optional<SweepPlot> plot;
  if (!o.plot.empty()) plot.emplace(spec, o.plot_x, o.plot_y);
  models::SweepOptions so = sweep_options(o);
  // Streams through one OutputFile: a temporary beside the target, renamed over it only when
  // complete (or when an interrupted sweep has written its partial trailer), so the target is
  // always the previous file or a complete one.
  OutputFile out(o.out.output);
  // The command line is input: escaped, so a newline in an argument cannot end the comment.
  const std::string prov = fmt::format("kvscope {} sweep — {} — {}", KVSCOPE_VERSION, display_text(recorded_command_line(), 4000),
                                       provenance_json("").at("date_utc").as_string().c_str());
  std::size_t shown = 0;
  // With a serving target the table shows each design's goodput too (CSV / JSON always carry goodput_rps).
  const bool goodput = spec.workload.serving.has_slo();
  std::vector<std::string> head = {"#",        "configuration", "KV B/token", "KV cache",   "max batch", "step",
                                   "tokens/s", "best tokens/s", "ppl Δ",      "ppl Δ kind", "fits"};
  std::vector<bool> right = {true, false, true, true, true, true, true, true, true, false, false};
  if (goodput) head.push_back("goodput req/s"), right.push_back(true);
  Table table(head, right);
  bool first_json = true;
  if (format == Format::csv) out.write("# " + prov + "\n" + csv_header());
  if (format == Format::json) {
    boost::json::object head{{"provenance", provenance_json(recorded_command_line())}};
    std::string h = boost::json::serialize(head);
    h.pop_back();  // reopen the object to stream "points"
    out.write(h + ",\"points\":[\n");
  }
  // Rows are written as blocks arrive (in index order), so a sweep larger than memory streams
  // to the file; only the table format keeps its first rows.
  const models::SweepResult* names = nullptr;
  so.keep = models::KeepPoints::frontier;
  so.on_start = [&](const models::SweepResult& r0) { names = &r0; };
  std::uint64_t streamed = 0;
  so.sink = [&](std::span<const models::PointResult> pts, std::span<const std::uint64_t> idx) {
    for (std::size_t i = 0; i < pts.size(); ++i) {
      const auto& p = pts[i];
      ++streamed;
      if (plot) plot->add(*names, p);
      if (format == Format::csv) {
        out.write(csv_row(*names, idx[i], p));
      } else if (format == Format::json) {
        out.write(std::string(first_json ? "" : ",\n") + boost::json::serialize(point_entry(*names, idx[i], p)));
        first_json = false;
      } else if (shown < o.max_rows) {
        const auto& a = p.arch->accuracy;
        std::vector<std::string> row = {std::to_string(idx[i]),
                                        models::configuration_name(*names, p),
                                        fmt::format("{:.0f}", p.eval.memory.kv_bytes_per_token),
                                        human_bytes_short(p.eval.memory.kv_cache_bytes),
                                        std::to_string(p.eval.memory.max_batch),
                                        human_time(p.eval.decode_step_s),
                                        fmt::format("{:.4g}", p.eval.decode_tokens_per_s),
                                        fmt::format("{:.4g}", p.eval.max_throughput_tokens_per_s),
                                        std::isfinite(a.ppl_delta_pct) ? fmt::format("{:+.2f} %", a.ppl_delta_pct) : "n/a",
                                        accuracy_kind_text(a),
                                        p.eval.memory.feasible ? "yes" : "no"};
        if (goodput) row.push_back(fmt::format("{:.4g}", p.eval.goodput_rps));
        table.add(row);
        ++shown;
      }
    }
  };
  models::SweepResult r = models::explore(spec, so);
  end_progress(o);
  if (format == Format::csv) {
    if (r.partial) out.write(fmt::format("# partial: {} of {} points (interrupted)\n", r.completed, r.total));
  } else if (format == Format::json) {
    out.write("\n],\"counts\":" + boost::json::serialize(counts_json(r)) + "}\n");
  } else {
    std::string s = table.str();
    if (streamed > shown) s += fmt::format("(showing {} of {} points; use --format csv or json for all)\n", shown, streamed);
    out.write(terminal_safe(s + "\n" + counts_text(r)));
  }
  out.commit();
  if (plot) plot->write(o.plot, r, fmt::format("kvscope {} — {}", KVSCOPE_VERSION, recorded_command_line()));
  if (r.skipped > 0 && format != Format::table && !o.run.quiet) {
    // The table prints these counts; csv / json keep them out of stdout's rows, so say it here.
    std::fprintf(stderr, "kvscope: %s", terminal_safe(counts_text(r)).c_str());
  }
  if (r.partial) {
    std::fprintf(stderr, "kvscope: interrupted — wrote a partial result (%llu of %llu points)\n",
                 static_cast<unsigned long long>(r.completed), static_cast<unsigned long long>(r.total));
    throw Interrupted{};
  }
}

struct PlotSample {
  std::vector<double> x, y;
  std::uint64_t stride = 1;
};

void run_pareto(const SweepOptionsCli& o) {
  const Format format = parse_format(o.out.format);
  check_threads_flag(o.run.threads);
  check_plot_target(o);
  Scenario scenario = to_scenario(o.design);
  if (scenario.objectives.empty()) {
    throw InputError("--objectives", "", "two or more objectives like kv_bytes_per_token:min,val_ppl:min", "none");
  }
  const models::SweepSpec spec = models::sweep_spec_from_scenario(scenario);
  check_point_budget(spec, o.run.max_points, "pareto", 0, o.run.quiet);
  models::SweepOptions so = sweep_options(o);
  so.max_frontier = static_cast<std::size_t>(o.max_frontier);
  so.frontier_infeasible = o.include_infeasible;
  // Faded points for the plot: every point's two plotted objectives, sampled with a stride so
  // at most ~200k points are drawn.
  PlotSample sample;
  const std::uint64_t total = models::point_count(spec);
  sample.stride = std::max<std::uint64_t>(1, total / 200000);
  std::vector<const models::Field*> obj;
  models::SweepResult r;
  if (!o.plot.empty()) {
    so.sink = [&](std::span<const models::PointResult> pts, std::span<const std::uint64_t> idx) {
      for (std::size_t i = 0; i < pts.size(); ++i) {
        if (idx[i] % sample.stride != 0 || obj.size() < 2) continue;
        sample.x.push_back(obj[0]->get(pts[i]));
        sample.y.push_back(obj[1]->get(pts[i]));
      }
    };
    // Objective fields are known before the sweep: parse them here for the sink.
    std::vector<std::string_view> known;
    for (const auto& f : models::fields()) known.push_back(f.name);
    for (const auto& ob : parse_objectives(scenario.objectives, "--objectives", known))
      obj.push_back(models::find_field(ob.field));
  }
  so.keep = models::KeepPoints::frontier;
  r = models::explore(spec, so);
  end_progress(o);
  if (format == Format::json) {
    boost::json::object j;
    j["provenance"] = provenance_json(recorded_command_line());
    boost::json::array objs, front, cons;
    for (const auto& ob : r.objectives)
      objs.push_back({{"field", ob.field}, {"sense", ob.sense == Sense::minimize ? "min" : "max"}});
    for (const auto& c : r.constraints) cons.push_back(boost::json::value(c.text));
    for (std::size_t i = 0; i < r.frontier.size(); ++i) front.push_back(point_entry(r, r.frontier_indices[i], r.frontier[i]));
    j["objectives"] = std::move(objs);
    j["constraints"] = std::move(cons);
    j["frontier_includes_infeasible"] = o.include_infeasible;
    j["counts"] = counts_json(r);
    j["frontier"] = std::move(front);
    emit(pretty_json(j), o.out.output);
  } else if (format == Format::csv) {
    std::string s =
        fmt::format("# kvscope {} pareto — {}\n", KVSCOPE_VERSION, display_text(recorded_command_line(), 4000)) + csv_header();
    for (std::size_t i = 0; i < r.frontier.size(); ++i) s += csv_row(r, r.frontier_indices[i], r.frontier[i]);
    if (r.partial) s += fmt::format("# partial: {} of {} points (interrupted)\n", r.completed, r.total);
    emit(s, o.out.output);
  } else {
    std::vector<std::string> head = {"#", "configuration", "val_ppl kind", "ppl Δ kind", "fits"};
    std::vector<bool> right = {true, false, false, false, false};
    for (const auto& ob : r.objectives) {
      head.push_back(fmt::format("{} ({})", ob.field, ob.sense == Sense::minimize ? "min" : "max"));
      right.push_back(true);
    }
    Table t(head, right);
    for (std::size_t i = 0; i < r.frontier.size(); ++i) {
      const auto& a = r.frontier[i].arch->accuracy;
      std::vector<std::string> row = {std::to_string(r.frontier_indices[i]), models::configuration_name(r, r.frontier[i]),
                                      models::to_string(a.val_ppl_kind), accuracy_kind_text(a),
                                      r.frontier[i].eval.memory.feasible ? "yes" : "no"};
      for (const auto& ob : r.objectives) {
        const models::Field* f = models::find_field(ob.field);
        row.push_back(human_field(*f, f->get(r.frontier[i])));
      }
      t.add(row);
    }
    std::string why;
    for (std::size_t i = 0; i < r.frontier.size(); ++i) {
      const auto& m = r.frontier[i].eval.memory;
      if (!m.feasible) why += fmt::format("  #{} does not fit: {}\n", r.frontier_indices[i], m.reason);
    }
    emit_text(fmt::format("Pareto frontier ({} points)\n", r.frontier.size()) + t.str() + why + "\n" + counts_text(r) +
                  frontier_scope_text(r, o.include_infeasible),
              o.out.output);
  }
  if (!o.plot.empty()) {
    if (r.objectives.size() < 2) throw InputError("--plot", "", "two objectives to plot", std::to_string(r.objectives.size()));
    const models::Field* fx = models::find_field(r.objectives[0].field);
    const models::Field* fy = models::find_field(r.objectives[1].field);
    ParetoPlot pp;
    pp.all_x = sample.x;
    pp.all_y = sample.y;
    for (const auto& p : r.frontier) {
      pp.front_x.push_back(fx->get(p));
      pp.front_y.push_back(fy->get(p));
      pp.front_labels.push_back(r.arch_name(p) + (p.eval.memory.feasible ? "" : " (does not fit)"));
    }
    pp.x_title = field_title(*fx);
    pp.x_unit = std::string(fx->unit);
    pp.x_log = fx->log_scale_hint;
    pp.y_title = field_title(*fy);
    pp.y_unit = std::string(fy->unit);
    pp.y_log = fy->log_scale_hint;
    pp.title = fmt::format("Pareto frontier: {} vs {}", fx->name, fy->name);
    pp.subtitle = fmt::format("{}{} points evaluated, {} on the frontier{}",
                              r.partial ? fmt::format("PARTIAL (interrupted after {} of {} points): ", r.completed, r.total) : "",
                              r.evaluated, r.frontier.size(),
                              sample.stride > 1 ? fmt::format(" (every {}th point drawn)", sample.stride) : "");
    if (r.infeasible > 0) {
      pp.subtitle += o.include_infeasible ? "; points that do not fit compete (marked)"
                                          : "; points that do not fit are left off the frontier";
    }
    pp.footnote = fmt::format("kvscope {} — {}", KVSCOPE_VERSION, recorded_command_line());
    write_pareto_plot(o.plot, pp);
  }
  if (r.partial) {
    std::fprintf(stderr, "kvscope: interrupted — wrote the frontier of a partial sweep (%llu of %llu points)\n",
                 static_cast<unsigned long long>(r.completed), static_cast<unsigned long long>(r.total));
    throw Interrupted{};
  }
}

void add_common(CLI::App* sub, SweepOptionsCli& o, bool with_objectives) {
  add_design_flags(sub, o.design, true);
  sub->add_option("--constraint", o.design.constraints, "keep points where this holds, e.g. 'max_context >= 32768' (repeatable)");
  if (with_objectives) {
    sub->add_option("--objectives", o.design.objectives, "objectives, e.g. kv_bytes_per_token:min,val_ppl:min");
    sub->add_option("--plot", o.plot, "write the frontier plot (.svg or .png)");
  }
  add_output_flags(sub, o.out, "table, csv or json");
  add_sweep_run_flags(sub, o.run, "a design space");
  if (with_objectives) {
    sub->add_option("--max-frontier", o.max_frontier, "refuse a Pareto frontier larger than this [100000]");
    sub->add_flag("--include-infeasible", o.include_infeasible,
                  "let points that do not fit in memory onto the frontier (marked: feasible 0, fits 'no', with the reason)");
  }
}

const Registrar reg_sweep(20, [](CLI::App& app) {
  auto o = std::make_shared<SweepOptionsCli>();
  CLI::App* sub = app.add_subcommand("sweep", "evaluate every point of a design space (lists and ranges for any eval flag)");
  add_common(sub, *o, false);
  sub->add_option("--rows", o->max_rows, "rows shown in table format [40]");
  sub->add_option("--plot", o->plot, "write a plot (.svg or .png): --plot-y against --plot-x, one line per other swept value");
  sub->add_option("--plot-x", o->plot_x,
                  "the swept axis on x: batch, context, prompt, n_kv_heads, cla_factor, tp, n_q_heads or head_dim "
                  "[the one with most values]");
  sub->add_option("--plot-y", o->plot_y, "the output field on y (`kvscope fields`) [decode_tokens_per_s]");
  sub->callback([o] { run_sweep(*o); });
});

const Registrar reg_pareto(21, [](CLI::App& app) {
  auto o = std::make_shared<SweepOptionsCli>();
  CLI::App* sub = app.add_subcommand("pareto", "the Pareto frontier of a design space over two or more objectives");
  add_common(sub, *o, true);
  sub->callback([o] { run_pareto(*o); });
});

}  // namespace
}  // namespace kvscope::cli
