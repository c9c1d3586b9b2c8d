#include "view_specs.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "format.hpp"
#include "kvscope/core/design.hpp"
#include "kvscope/core/error.hpp"
#include "kvscope/core/loaders.hpp"
#include "kvscope/core/units.hpp"
#include "kvscope/models/accuracy.hpp"
#include "kvscope/models/fields.hpp"
#include "kvscope/models/memory.hpp"
#include "kvscope/models/timing.hpp"

namespace kvscope::gui {

namespace {

plot::Axis field_axis(std::string_view name, bool log) {
  plot::Axis a;
  a.title = std::string(name);
  if (const models::Field* f = models::find_field(name)) {
    if (f->unit != "bool") a.unit = std::string(f->unit);
  }
  a.scale = log ? plot::Scale::log10 : plot::Scale::linear;
  return a;
}

}  // namespace

Sense default_sense(std::string_view f) {
  for (std::string_view m : {"tokens_per_s", "max_batch", "max_context", "feasible", "bandwidth", "l2_saved"}) {
    if (f.find(m) != std::string_view::npos) return Sense::maximize;
  }
  return Sense::minimize;
}

ParetoPlot pareto_plot(const SweepData& data, const ParetoChoice& c, const DesignPoint* current) {
  ParetoPlot out;
  const int cx = field_column(c.x_field), cy = field_column(c.y_field), cf = field_column("feasible");
  if (cx < 0 || cy < 0) throw InputError("pareto", "axis", "a field of the registry", c.x_field + " / " + c.y_field);
  plot::ParetoData pd;
  std::vector<double> keys;
  const std::size_t n = data.rows();
  out.rows.reserve(n);
  pd.all_x.reserve(n);
  pd.all_y.reserve(n);
  for (std::size_t r = 0; r < n; ++r) {
    const double x = data.value(r, static_cast<std::size_t>(cx)), y = data.value(r, static_cast<std::size_t>(cy));
    const bool ok = std::isfinite(x) && std::isfinite(y) && (!c.x_log || x > 0) && (!c.y_log || y > 0) &&
                    (!c.feasible_only || cf < 0 || data.value(r, static_cast<std::size_t>(cf)) != 0);
    if (!ok) {
      ++out.hidden;
      continue;
    }
    out.rows.push_back(r);
    pd.all_x.push_back(x);
    pd.all_y.push_back(y);
    keys.push_back(x);
    keys.push_back(y);
  }
  const Sense senses[2] = {c.x_sense, c.y_sense};
  std::vector<std::size_t> front = pareto_front(keys, senses);
  std::sort(front.begin(), front.end(), [&](std::size_t a, std::size_t b) {
    return pd.all_x[a] != pd.all_x[b] ? pd.all_x[a] < pd.all_x[b] : pd.all_y[a] < pd.all_y[b];
  });
  // A design is one architecture combination of the sweep (K/V heads, head_dim, CLA, K/V dtype):
  // the batch and context axes repeat it. Frontier and legend count designs, not rows.
  {
    std::set<std::uint32_t> all, on_front;
    for (std::size_t r : out.rows) all.insert(data.arch_index[r]);
    for (std::size_t i : front) on_front.insert(data.arch_index[out.rows[i]]);
    out.designs = all.size();
    out.frontier_designs = on_front.size();
  }
  for (std::size_t i : front) {
    out.frontier_rows.push_back(out.rows[i]);
    pd.frontier_x.push_back(pd.all_x[i]);
    pd.frontier_y.push_back(pd.all_y[i]);
  }
  pd.label_frontier = false;
  // Level of detail: faded points closer than a screen pixel overlap exactly, so one point per
  // cell of a 1200 x 800 grid (in axis space, log-aware) is drawn; hover and click still search
  // every row. Keeps a 10^5-point redraw well under a second without OpenGL.
  {
    auto tx = [&](double v) { return c.x_log ? std::log10(v) : v; };
    auto ty = [&](double v) { return c.y_log ? std::log10(v) : v; };
    double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
    for (std::size_t i = 0; i < pd.all_x.size(); ++i) {
      x0 = std::min(x0, tx(pd.all_x[i]));
      x1 = std::max(x1, tx(pd.all_x[i]));
      y0 = std::min(y0, ty(pd.all_y[i]));
      y1 = std::max(y1, ty(pd.all_y[i]));
    }
    constexpr int kW = 1200, kH = 800;
    const double sx = x1 > x0 ? (kW - 1) / (x1 - x0) : 0, sy = y1 > y0 ? (kH - 1) / (y1 - y0) : 0;
    std::vector<bool> taken(static_cast<std::size_t>(kW) * kH, false);
    std::vector<double> dx, dy;
    for (std::size_t i = 0; i < pd.all_x.size(); ++i) {
      const auto cx = static_cast<std::size_t>((tx(pd.all_x[i]) - x0) * sx);
      const auto cy = static_cast<std::size_t>((ty(pd.all_y[i]) - y0) * sy);
      const std::size_t cell = cy * kW + cx;
      if (taken[cell]) continue;
      taken[cell] = true;
      dx.push_back(pd.all_x[i]);
      dy.push_back(pd.all_y[i]);
      out.drawn_rows.push_back(out.rows[i]);
    }
    pd.all_x = std::move(dx);
    pd.all_y = std::move(dy);
  }
  if (current) {
    const models::PointResult p = current->point();
    const double x = models::find_field(c.x_field)->get(p), y = models::find_field(c.y_field)->get(p);
    if (std::isfinite(x) && std::isfinite(y) && (!c.x_log || x > 0) && (!c.y_log || y > 0)) pd.current = plot::Point{x, y};
  }
  const auto designs = [](std::size_t k) { return std::to_string(k) + (k == 1 ? " design" : " designs"); };
  const auto points = [](std::size_t k) { return std::to_string(k) + (k == 1 ? " point" : " points"); };
  // Legend entries stay short (a Qt legend is one row and elides what does not fit); the point
  // counts go into the subtitle.
  pd.all_name = "swept: " + designs(out.designs);
  pd.frontier_name = "Pareto frontier: " + designs(out.frontier_designs);
  pd.current_label = "current";
  const auto sense = [](Sense s) { return s == Sense::minimize ? "min" : "max"; };
  // Short lines: the title must fit a chart a third of a 1366-pixel screen wide.
  std::string sub = c.x_field + " (" + sense(c.x_sense) + ") vs " + c.y_field + " (" + sense(c.y_sense) + "); " +
                    std::to_string(data.evaluated) + " points evaluated in " +
                    std::to_string(static_cast<int>(std::lround(data.elapsed_s * 1000))) + " ms";
  std::string sub2 = points(out.rows.size()) + " drawn, " + points(front.size()) + " on the frontier";
  if (out.hidden) sub2 += ", " + std::to_string(out.hidden) + " not drawn (out of memory or n/a)";
  sub += "\n" + sub2;
  out.spec = plot::pareto_chart(pd, field_axis(c.x_field, c.x_log), field_axis(c.y_field, c.y_log), "Design space", sub);
  out.spec.non_positive_on_log = plot::NonPositive::drop;
  return out;
}

plot::ChartSpec memory_spec(const DesignPoint& d, bool vs_context) {
  const auto& m = d.eval.memory;
  Workload w = d.design.workload;
  std::vector<double> xs;
  if (vs_context) {
    const double hi = m.max_context >= models::kUnboundedContext
                          ? std::max<double>(4.0 * static_cast<double>(w.context), 262144.0)
                          : std::clamp(2.0 * static_cast<double>(m.max_context), 4096.0, 1e8);
    for (int i = 0; i <= 80; ++i) xs.push_back(std::max(1.0, std::round(hi * i / 80.0)));
  } else {
    const double hi = std::max(8.0, 2.0 * static_cast<double>(std::max<std::int64_t>(m.max_batch, 1)));
    for (int i = 0; i <= 80; ++i) xs.push_back(std::max(1.0, std::round(hi * i / 80.0)));
  }
  xs.erase(std::unique(xs.begin(), xs.end()), xs.end());
  plot::MemoryChartData md;
  md.x = xs;
  plot::MemoryStack weights{"weights", {}}, kv{"K/V cache", {}}, ws{"engine buffers", {}};
  for (double x : xs) {
    if (vs_context)
      w.context = static_cast<std::int64_t>(x);
    else
      w.batch = static_cast<std::int64_t>(x);
    const models::MemoryResult r = models::evaluate_memory(d.profile, d.design.gpu, w);
    weights.y.push_back(r.weight_bytes / units::kGiB);
    kv.y.push_back(r.kv_cache_bytes / units::kGiB);
    ws.y.push_back((r.workspace_bytes + r.reserve_bytes) / units::kGiB);
  }
  md.stacks = {weights, kv, ws};
  md.capacity = m.capacity_bytes / units::kGiB;
  // The engine's budget: device total x --gpu-memory-utilization (memory.hpp KvPool).
  md.capacity_label =
      d.design.gpu.id + " x " + std::to_string(static_cast<int>(std::lround(100 * m.pool.utilization))) + " % (engine budget)";
  if (vs_context) {
    if (m.max_context < models::kUnboundedContext && m.max_context > 0) md.run_out_x = static_cast<double>(m.max_context);
    md.run_out_label = "max context";
  } else if (m.max_batch > 0) {
    md.run_out_x = static_cast<double>(m.max_batch);
    md.run_out_label = "max batch";
  }
  plot::Axis x{vs_context ? "context" : "batch", vs_context ? "positions" : "", plot::Scale::linear, 0.0, xs.back(), false};
  plot::Axis y{"memory per GPU", "GiB", plot::Scale::linear, {}, {}, true};
  const std::string at = vs_context ? "batch " + std::to_string(w.batch) : "context " + std::to_string(w.context);
  return plot::memory_chart(md, x, y, vs_context ? "Memory per GPU vs context" : "Memory per GPU vs batch",
                            d.label().toStdString() + "\nat " + at + ", tp " + std::to_string(w.tp) + "; " + d.design.gpu.name);
}

std::vector<ThroughputLine> throughput_lines(const std::shared_ptr<const DesignPoint>& current,
                                             const std::vector<DesignModel::Pin>& pins, bool compare_cla, bool compare_stacks) {
  // Short names: the legend of a laptop-width chart holds them all; the subtitle names the
  // current design in full and the pins table the pinned ones.
  std::vector<ThroughputLine> out;
  const auto sharing = [](const DesignPoint& d) { return QString::fromStdString(sharing_label(d.design.arch)); };
  if (current) out.push_back({"current (" + sharing(*current) + ")", current});
  for (std::size_t i = 0; i < pins.size(); ++i) {
    out.push_back({QStringLiteral("pin %1 (%2)").arg(i + 1).arg(QString::fromStdString(variant_name(pins[i].point->design.arch))),
                   pins[i].point});
  }
  if (compare_cla && current) {
    const int own = cla_factor_of(current->design.arch);
    for (int c : {1, 2, 3, 4}) {
      if (c == own || c > current->design.arch.n_layers) continue;
      Scenario s = current->scenario;
      s.set("kv_producers", "");
      s.set("variant", "");
      s.set("cla_factor", std::to_string(c));
      try {
        auto pt = evaluate_scenario(s);
        out.push_back({QStringLiteral("CLA%1").arg(c), pt});
      } catch (const Error&) {
      }
    }
  }
  if (compare_stacks && current) {
    for (const StackDef& st : stacks()) {
      if (st.id == current->design.workload.stack) continue;
      Scenario s = current->scenario;
      s.set("stack", st.id);
      try {
        out.push_back({QString::fromStdString("stack " + st.id), evaluate_scenario(s)});
      } catch (const Error&) {
      }
    }
  }
  return out;
}

plot::ChartSpec throughput_spec(const std::vector<ThroughputLine>& lines) {
  // Lines of designs that differ only in layer sharing lie on top of each other (CLA shares K/V
  // storage, not reads: the step time at a given batch barely changes); what differs is where
  // each line ends. So every line ends in a marker of its colour at its largest batch, labelled
  // with that batch and the throughput there.
  plot::ChartSpec spec;
  std::vector<plot::Series> markers;
  const auto& pal = plot::palette();
  std::string ctx;
  double widest = 1;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const ThroughputLine& l = lines[i];
    const DesignPoint& d = *l.point;
    const std::uint32_t rgb = pal[i % pal.size()];
    plot::Series line{l.name.toStdString(), plot::SeriesStyle::line_points, {}, {}, {}, false, rgb, {}};
    const std::int64_t maxb = d.eval.memory.max_batch;
    if (ctx.empty()) ctx = d.label().toStdString();
    if (maxb < 1) {
      line.name += ": does not fit";
      spec.series.push_back(line);
      continue;
    }
    std::vector<std::int64_t> bs;
    for (std::int64_t b = 1; b < maxb; b *= 2) bs.push_back(b);
    bs.push_back(maxb);
    double at_max = 0;
    for (std::int64_t b : bs) {
      Workload w = d.design.workload;
      w.batch = b;
      const models::Evaluation e = models::evaluate(d.profile, d.design.gpu, d.params, w);
      line.x.push_back(static_cast<double>(b));
      line.y.push_back(e.decode_tokens_per_s);
      at_max = e.decode_tokens_per_s;
    }
    spec.series.push_back(line);
    widest = std::max(widest, static_cast<double>(maxb));
    markers.push_back({"",
                       plot::SeriesStyle::points,
                       {static_cast<double>(maxb)},
                       {at_max},
                       {l.name.section(QStringLiteral(" ("), 0, 0).toStdString() + ": B=" + std::to_string(maxb) + ", " +
                        format_count(std::round(at_max)).toStdString() + " tok/s"},
                       true,
                       rgb,
                       {}});
  }
  for (auto& m : markers) spec.series.push_back(std::move(m));
  spec.title = "Decode throughput vs batch";
  spec.subtitle = ctx + "\neach line ends at the largest batch that fits (marker)";
  // Room right of the largest batch for its marker's label.
  spec.x = {"batch", "", plot::Scale::log10, 1.0, widest * 8, false};
  spec.y = {"decode throughput", "tokens/s", plot::Scale::log10, {}, {}, false};
  return spec;
}

plot::ChartSpec serving_spec(const std::vector<ServingCurve>& curves, ServingMetric metric, const ServingInputs& in) {
  plot::ChartSpec spec;
  const auto& pal = plot::palette();
  const ServingLoad& sv = in.load;
  const std::string pct = "p" + format_count(sv.slo_percentile).toStdString();
  for (std::size_t i = 0; i < curves.size(); ++i) {
    plot::Series line{curves[i].name.toStdString(), plot::SeriesStyle::line_points, {}, {}, {}, false, pal[i % pal.size()], {}};
    for (const models::RatePoint& p : curves[i].curve.points) {
      const double y = metric == ServingMetric::ttft   ? p.ttft_s
                       : metric == ServingMetric::tpot ? p.tpot_s
                                                       : p.throughput_tokens_per_s;
      if (!(y > 0) || !std::isfinite(y)) continue;  // no completed request (or none with 2+ outputs) at this rate
      line.x.push_back(p.rate_rps);
      line.y.push_back(y);
    }
    if (line.x.empty()) line.name += ": no request fits";
    spec.series.push_back(std::move(line));
  }
  const double target = metric == ServingMetric::ttft ? sv.ttft_slo_s : metric == ServingMetric::tpot ? sv.tpot_slo_s : 0.0;
  if (target > 0) {
    spec.ref_lines.push_back(
        {false, target,
         (metric == ServingMetric::ttft ? "TTFT " : "TPOT ") + pct + " target " + format_time(target).toStdString(),
         std::nullopt});
  }
  const char* what = metric == ServingMetric::ttft ? "TTFT" : metric == ServingMetric::tpot ? "TPOT" : "Output throughput";
  spec.title = std::string(what) + " vs request rate";
  spec.subtitle = in.design_label + "\nPoisson, " + std::to_string(sv.requests) + " requests, prompt " + sv.isl + ", output " +
                  sv.osl + " tokens, seed " + std::to_string(sv.seed);
  spec.footnote =
      "kvscope simulate's vLLM-style scheduler (continuous batching, chunked prefill, preemption; docs/model.md §6); "
      "CLA siblings keep the current K/V heads";
  spec.x = {"request rate", "requests/s", plot::Scale::log10, {}, {}, false};
  if (metric == ServingMetric::throughput) {
    spec.y = {"output tokens/s", "tokens/s", plot::Scale::log10, {}, {}, false};
  } else {
    spec.y = {std::string(metric == ServingMetric::ttft ? "TTFT " : "TPOT ") + pct, "s", plot::Scale::log10, {}, {}, false};
  }
  spec.non_positive_on_log = plot::NonPositive::drop;
  return spec;
}

plot::ChartSpec roofline_spec(const DesignPoint& d, bool prefill) {
  const models::PhaseCost& ph = prefill ? d.eval.prefill : d.eval.decode;
  std::vector<plot::RooflineOp> ops;
  for (int i = 0; i < models::kOpCount; ++i) {
    const models::OpCost& c = ph.ops[static_cast<std::size_t>(i)];
    if (c.kernels == 0 || c.bytes <= 0 || c.flops <= 0 || c.time_s <= 0) continue;
    ops.push_back({models::op_name(static_cast<models::Op>(i)), c.flops / c.bytes, c.flops / c.time_s});
  }
  plot::RooflineCeilings ceil;
  ceil.peak_flops_per_s = d.design.gpu.bf16_flops;
  ceil.hbm_bytes_per_s = d.params.hbm_read_Bps;
  if (d.params.l2_read_Bps > 0) ceil.l2_bytes_per_s = d.params.l2_read_Bps;
  ceil.peak_name = "bf16 peak";
  ceil.hbm_name = "HBM";
  ceil.l2_name = "L2";
  if (ops.empty()) ops.push_back({"(no ops)", 1.0, 1.0});
  return plot::roofline_chart(ops, ceil, std::string(prefill ? "Prefill" : "Decode step") + " roofline",
                              d.label().toStdString() + "\n" + d.design.gpu.name);
}

plot::ChartSpec paper_spec(const DesignPoint* current) {
  const models::AccuracyModel& acc = models::AccuracyModel::bundled();
  plot::Series measured{"measured (Table 1)", plot::SeriesStyle::points, {}, {}, {}, true, {}, {}};
  std::vector<double> keys;
  std::set<std::string> measured_names;
  for (const auto& r : acc.rows()) {
    if (r.model_size != "1B" || !r.design_space || !std::isfinite(r.val_ppl)) continue;
    measured.x.push_back(r.kv_bytes_per_token);
    measured.y.push_back(r.val_ppl);
    measured.labels.push_back(r.config);
    measured_names.insert(r.config);
    keys.push_back(r.kv_bytes_per_token);
    keys.push_back(r.val_ppl);
  }
  const Sense senses[2] = {Sense::minimize, Sense::minimize};
  std::vector<std::size_t> front = pareto_front(keys, senses);
  plot::Series frontier{"measured frontier", plot::SeriesStyle::frontier, {}, {}, {}, false, {}, {}};
  for (std::size_t i : front) {
    frontier.x.push_back(measured.x[i]);
    frontier.y.push_back(measured.y[i]);
  }
  // The fit's estimates for shapes the paper did not train (uniform sharing of the 1B base).
  plot::Series estimated{"estimated by the fit (not trained)", plot::SeriesStyle::faded_points, {}, {}, {}, false, {}, {}};
  try {
    const Architecture base = load_architecture("cla-paper-1b");
    GpuSpec gpu = load_gpu("h100-sxm");
    for (int h : {64, 128, 256, 512}) {
      const int q = static_cast<int>(base.d_model / h);
      for (int kv = q; kv >= 1; --kv) {
        if (q % kv) continue;
        const std::string mech = kv == q ? "MHA" : kv == 1 ? "MQA" : "GQA" + std::to_string(kv);
        for (int c : {1, 2, 3, 4}) {
          const std::string v = "H" + std::to_string(h) + "-" + mech + (c > 1 ? "-CLA" + std::to_string(c) : "");
          if (measured_names.count(v)) continue;
          ArchOverrides o;
          o.variant = v;
          try {
            const Architecture a = apply_overrides(base, o, "paper view");
            const models::AccuracyEstimate e = acc.estimate(a);
            if (e.val_ppl_kind != models::AccuracyKind::estimated || !std::isfinite(e.val_ppl)) continue;
            const models::ArchProfile p = models::make_profile(a, 1);
            const models::MemoryResult m = models::evaluate_memory(p, gpu, Workload{});
            estimated.x.push_back(m.kv_bytes_per_token);
            estimated.y.push_back(e.val_ppl);
          } catch (const Error&) {
          }
        }
      }
    }
  } catch (const Error&) {
  }
  plot::ChartSpec spec;
  spec.title = "CLA paper, 1B models";
  spec.subtitle =
      "validation perplexity vs K/V bytes per token\nBrandon et al. 2024 (arXiv 2405.12981) Table 1; kvscope's fit (" +
      std::to_string(acc.fit_points()) + " points, rms " + std::to_string(acc.fit_rms()).substr(0, 5) + ")";
  spec.x = {"K/V bytes per token", "B", plot::Scale::log10, {}, {}, false};
  spec.y = {"validation perplexity", "", plot::Scale::linear, {}, {}, false};
  if (!estimated.x.empty()) spec.series.push_back(estimated);
  spec.series.push_back(frontier);
  spec.series.push_back(measured);
  if (current) {
    const auto& a = current->facts.accuracy;
    if (std::isfinite(a.val_ppl) && current->eval.memory.kv_bytes_per_token > 0) {
      plot::Series cur{std::string("current (") + models::to_string(a.val_ppl_kind) + ")",
                       plot::SeriesStyle::current,
                       {current->eval.memory.kv_bytes_per_token},
                       {a.val_ppl},
                       {},
                       false,
                       {},
                       {}};
      spec.series.push_back(cur);
    }
  }
  // The formula the library fitted, with its coefficients: never a copy that can drift.
  spec.footnote = "measured: the paper's trained models; estimated: " + models::AccuracyModel::bundled().formula();
  return spec;
}

}  // namespace kvscope::gui
