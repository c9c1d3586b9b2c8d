#include "sweep_plot.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "kvscope/core/display.hpp"
#include "kvscope/core/error.hpp"

namespace kvscope::cli {

namespace {

// The design fields a plot can put on x: numeric knobs reported as an output column, in the
// order a default is chosen on ties (batch before context: throughput against batch is the
// usual question).
const char* const kXPreference[] = {"batch", "context", "prompt", "n_kv_heads", "cla_factor", "tp", "n_q_heads", "head_dim"};

std::size_t axis_values(const models::SweepSpec& spec, const DesignField& d) {
  if (d.is_arch()) return d.bind.axis_size(spec.overrides);
  const WorkloadAxes& w = spec.workload;
  if (d.name == "batch") return w.batch.size();
  if (d.name == "context") return w.context.size();
  if (d.name == "prompt") return w.prompt.size();
  if (d.name == "tp") return w.tp.size();
  return 0;
}

std::string choices() {
  std::string s;
  for (const char* n : kXPreference) s += (s.empty() ? "" : ", ") + std::string(n);
  return s;
}

}  // namespace

SweepPlot::SweepPlot(const models::SweepSpec& spec, const std::string& x_name, const std::string& y_name) {
  y_ = models::find_field(y_name);
  if (!y_) {
    std::string close;
    for (std::string_view c : models::closest_fields(y_name)) close += (close.empty() ? "" : ", ") + std::string(c);
    throw InputError("--plot-y", "", fmt::format("an output field (closest: {}; `kvscope fields` lists them)", close),
                     fmt::format("'{}'", display_text(y_name, 100)));
  }
  if (x_name.empty()) {
    std::size_t best = 1;
    for (const char* n : kXPreference) {
      const DesignField* d = find_design_field(n);
      if (const std::size_t k = axis_values(spec, *d); k > best) best = k, x_design_ = d;
    }
    if (!x_design_) {
      throw InputError("--plot", "",
                       fmt::format("a sweep with a numeric axis of two or more values to plot against ({})", choices()),
                       "none (give a list or range, e.g. --batch 1..256:x2)");
    }
  } else {
    const DesignField* d = find_design_field(x_name);
    const bool allowed = d && std::find_if(std::begin(kXPreference), std::end(kXPreference),
                                           [&](const char* n) { return d->name == n; }) != std::end(kXPreference);
    if (!allowed)
      throw InputError("--plot-x", "", fmt::format("a numeric design field ({})", choices()),
                       fmt::format("'{}'", display_text(x_name, 100)));
    if (axis_values(spec, *d) < 2) {
      throw InputError("--plot-x", "", fmt::format("an axis the sweep varies (give {} a list or range)", d->flag()),
                       fmt::format("'{}' with one value", x_name));
    }
    x_design_ = d;
  }
  x_ = models::find_field(x_design_->output);
}

void SweepPlot::add(const models::SweepResult& r, const models::PointResult& p) {
  // The point's other coordinates: the architecture label's "field=value" tokens (without the
  // x axis's), the GPU and stack, and the workload values not on x.
  std::vector<std::string> parts;
  const std::string& arch = r.arch_name(p);
  const std::string x_token = std::string(x_design_->label) + "=";
  std::size_t start = 0;
  while (start <= arch.size()) {
    const std::size_t end = std::min(arch.find(' ', start), arch.size());
    std::string tok = arch.substr(start, end - start);
    if (!(x_design_->is_arch() && tok.rfind(x_token, 0) == 0)) parts.push_back(std::move(tok));
    start = end + 1;
  }
  parts.push_back(r.gpu_id(p));
  parts.push_back(r.stack_id(p));
  const Workload& w = p.workload;
  auto workload_part = [&](const char* name, const std::string& text) {
    if (x_design_->name != name) parts.push_back(text);
  };
  workload_part("tp", fmt::format("tp={}", w.tp));
  workload_part("batch", fmt::format("B={}", w.batch));
  workload_part("context", fmt::format("S={}", w.context));
  workload_part("prompt", fmt::format("P={}", w.prompt));
  parts.push_back(to_string(w.runtime));
  parts.push_back(fmt::format("tpot_limit={}", w.tpot_limit_s));
  std::string key;
  for (const std::string& s : parts) key += s + '\x1f';
  auto it = index_.find(key);
  if (it == index_.end()) {
    if (lines_.size() >= kMaxPlotLines) {
      // Counted once per new line: the key set is bounded by the cap on counted keys.
      if (index_.size() < 100000) index_.emplace(key, SIZE_MAX), ++extra_lines_;
      return;
    }
    it = index_.emplace(key, lines_.size()).first;
    lines_.push_back({std::move(parts), {}, {}});
  }
  if (it->second == SIZE_MAX) return;
  // A point that does not fit is not a design one can run: left off the line, and counted.
  if (!p.eval.memory.feasible) {
    ++not_fitting_;
    return;
  }
  Line& l = lines_[it->second];
  l.x.push_back(x_->get(p));
  l.y.push_back(y_->get(p));
}

void SweepPlot::write(const std::string& path, const models::SweepResult& r, const std::string& footnote) const {
  LinesPlot lp;
  // A line is named by the coordinates that differ between the lines.
  std::vector<bool> varies(lines_.empty() ? 0 : lines_[0].parts.size(), false);
  for (const Line& l : lines_) {
    for (std::size_t i = 0; i < varies.size() && i < l.parts.size(); ++i)
      varies[i] = varies[i] || l.parts[i] != lines_[0].parts[i];
  }
  double x_min = INFINITY, x_max = -INFINITY, y_min = INFINITY, y_max = -INFINITY;
  for (const Line& l : lines_) {
    LinesPlot::Line out;
    for (std::size_t i = 0; i < l.parts.size(); ++i) {
      if (i < varies.size() && varies[i]) out.name += (out.name.empty() ? "" : " ") + l.parts[i];
    }
    if (out.name.empty()) out.name = l.parts.empty() ? "all" : l.parts[0];
    std::vector<std::size_t> order(l.x.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return l.x[a] < l.x[b]; });
    for (std::size_t k : order) {
      out.x.push_back(l.x[k]);
      out.y.push_back(l.y[k]);
      if (std::isfinite(l.x[k])) x_min = std::min(x_min, l.x[k]), x_max = std::max(x_max, l.x[k]);
      if (std::isfinite(l.y[k])) y_min = std::min(y_min, l.y[k]), y_max = std::max(y_max, l.y[k]);
    }
    lp.lines.push_back(std::move(out));
  }
  // Log scales where the field spans orders of magnitude (the registry's hint) and is positive.
  lp.x_log = x_->log_scale_hint && x_min > 0 && x_max / x_min >= 16;
  lp.y_log = y_->log_scale_hint && y_min > 0 && y_max / y_min >= 100;
  lp.x_title = field_title(*x_);
  lp.x_unit = std::string(x_->unit);
  lp.y_title = field_title(*y_);
  lp.y_unit = std::string(y_->unit);
  lp.title = fmt::format("{} vs {}", y_->name, x_->name);
  std::string sub =
      fmt::format("{}{} points, one line per combination of the other swept values",
                  r.partial ? fmt::format("PARTIAL (interrupted after {} of {} points): ", r.completed, r.total) : "", r.kept);
  if (not_fitting_ > 0) sub += fmt::format("; {} points that do not fit in memory are not drawn", not_fitting_);
  if (extra_lines_ > 0) sub += fmt::format("; {} more lines not drawn (narrow the axes)", extra_lines_);
  lp.subtitle = sub;
  lp.footnote = footnote;
  lp.markers = true;
  if (extra_lines_ > 0) {
    std::fprintf(stderr, "kvscope: plot %s: drew the first %zu lines, %llu more not drawn\n", display_text(path, 200).c_str(),
                 lines_.size(), static_cast<unsigned long long>(extra_lines_));
  }
  write_lines_plot(path, lp);
}

}  // namespace kvscope::cli
