#include "plotting.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "kvscope/core/display.hpp"
#include "kvscope/core/error.hpp"
#include "kvscope/core/output_file.hpp"
#include "output.hpp"
#include "signals.hpp"

#ifdef KVSCOPE_WITH_PLOT
#include "kvscope/plot/charts.hpp"
#include "kvscope/plot/plot.hpp"
#endif

namespace kvscope::cli {

std::string field_title(const models::Field& f) {
  std::string t(f.name);
  std::replace(t.begin(), t.end(), '_', ' ');
  return t;
}

std::string plot_format_of(const std::string& path, const std::string& flag) {
  const auto dot = path.find_last_of('.');
  const auto slash = path.find_last_of('/');
  std::string ext = dot == std::string::npos || (slash != std::string::npos && dot < slash) ? "" : path.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext != "svg" && ext != "png") {
    throw InputError(flag, "", "a file name ending in .svg or .png", fmt::format("'{}'", display_text(path, 200)));
  }
#ifndef KVSCOPE_WITH_PLOT
  throw InputError(flag, "", "a kvscope built with Qt (KVSCOPE_BUILD_GUI=ON)",
                   fmt::format("a request to write '{}'", display_text(path, 200)));
#endif
  return ext;
}

#ifdef KVSCOPE_WITH_PLOT
namespace {
template <typename T>
std::vector<T> every_kth(const std::vector<T>& v, std::size_t stride) {
  std::vector<T> out;
  out.reserve(v.size() / stride + 2);
  for (std::size_t i = 0; i < v.size(); i += stride) out.push_back(v[i]);
  return out;
}

std::size_t stride_for(std::size_t n, std::size_t max) {
  return n <= max ? 1 : (n + max - 1) / max;
}

// Points without a value (NaN: an accuracy the model has no estimate for) cannot be drawn.
std::size_t drop_non_finite(std::vector<double>& x, std::vector<double>& y, std::vector<std::string>* labels) {
  std::size_t k = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i]) || !std::isfinite(y[i])) continue;
    x[k] = x[i], y[k] = y[i];
    if (labels && !labels->empty()) (*labels)[k] = std::move((*labels)[i]);
    ++k;
  }
  const std::size_t dropped = x.size() - k;
  x.resize(k), y.resize(k);
  if (labels && !labels->empty()) labels->resize(k);
  return dropped;
}

std::string sample_pareto(ParetoPlot& p) {
  std::string note;
  const std::size_t dropped = drop_non_finite(p.all_x, p.all_y, nullptr) + drop_non_finite(p.front_x, p.front_y, &p.front_labels);
  if (dropped > 0) note = fmt::format("{} points without a value not drawn", dropped);
  const std::size_t n_all = p.all_x.size(), n_front = p.front_x.size();
  if (const std::size_t k = stride_for(n_all, kMaxDrawnPoints); k > 1) {
    p.all_x = every_kth(p.all_x, k);
    p.all_y = every_kth(p.all_y, k);
    note += fmt::format("{}drew every {}th of {} points ({})", note.empty() ? "" : "; ", k, n_all, p.all_x.size());
  }
  if (const std::size_t k = stride_for(n_front, kMaxDrawnFrontier); k > 1) {
    // Every k-th frontier point plus the last, so both ends of the front stay drawn.
    std::vector<std::size_t> keep;
    for (std::size_t i = 0; i < n_front; i += k) keep.push_back(i);
    if (keep.back() != n_front - 1) keep.push_back(n_front - 1);
    ParetoPlot q;
    for (std::size_t i : keep) {
      q.front_x.push_back(p.front_x[i]);
      q.front_y.push_back(p.front_y[i]);
      if (!p.front_labels.empty()) q.front_labels.push_back(p.front_labels[i]);
    }
    p.front_x = std::move(q.front_x), p.front_y = std::move(q.front_y), p.front_labels = std::move(q.front_labels);
    note += fmt::format("{}drew {} of {} frontier points", note.empty() ? "" : "; ", p.front_x.size(), n_front);
  }
  if (p.front_labels.size() > kMaxPlotLabels) {
    const std::size_t k = stride_for(p.front_labels.size(), kMaxPlotLabels);
    std::size_t shown = 0;
    for (std::size_t i = 0; i < p.front_labels.size(); ++i) {
      if (i % k != 0)
        p.front_labels[i].clear();
      else
        ++shown;
    }
    note += fmt::format("{}labelled {} of {} frontier points", note.empty() ? "" : "; ", shown, p.front_labels.size());
  }
  for (auto& l : p.front_labels) l = display_text(l, 60);
  return note;
}

std::string sample_lines(LinesPlot& p) {
  std::string note;
  if (p.lines.size() > kMaxPlotLines) {
    note = fmt::format("drew {} of {} lines", kMaxPlotLines, p.lines.size());
    p.lines.resize(kMaxPlotLines);
  }
  std::size_t sampled = 0, dropped = 0;
  for (auto& l : p.lines) {
    l.name = display_text(l.name, 60);
    dropped += drop_non_finite(l.x, l.y, nullptr);
    if (const std::size_t k = stride_for(l.x.size(), kMaxDrawnFrontier); k > 1) {
      l.x = every_kth(l.x, k), l.y = every_kth(l.y, k);
      ++sampled;
    }
  }
  if (sampled > 0) note += fmt::format("{}{} lines drawn with every k-th point", note.empty() ? "" : "; ", sampled);
  if (dropped > 0) note += fmt::format("{}{} points without a value not drawn", note.empty() ? "" : "; ", dropped);
  return note;
}

// Says on stderr and in the footnote what the plot leaves out.
void note_sampling(const std::string& path, const std::string& note, std::string& footnote) {
  if (note.empty()) return;
  footnote += (footnote.empty() ? "" : " — ") + std::string("sampled: ") + note;
  std::fprintf(stderr, "kvscope: plot %s sampled: %s\n", display_text(path, 200).c_str(), note.c_str());
}

void render(const std::string& path, plot::ChartSpec spec) {
  const std::string format = plot_format_of(path, "--plot");
  // A stopping signal before the (uninterruptible, bounded) rendering: do not start it.
  throw_if_interrupted();
  // Names and the command line come from input: no control character reaches the file.
  spec.title = display_text(spec.title, 160);
  spec.subtitle = display_text(spec.subtitle, 200);
  spec.footnote = display_text(spec.footnote, 600);
  for (auto& s : spec.series) s.name = display_text(s.name, 60);
  // Qt warns on every start without a runtime dir (CI, containers); give it a private one.
  if (!std::getenv("XDG_RUNTIME_DIR")) {
    const std::string dir = fmt::format("/tmp/kvscope-runtime-{}", static_cast<long>(::getuid()));
    ::mkdir(dir.c_str(), 0700);
    ::setenv("XDG_RUNTIME_DIR", dir.c_str(), 0);
  }
  std::string bytes;
  try {
    plot::OffscreenApp app;
    bytes = plot::render_to_bytes(spec, format);
  } catch (const plot::PlotError& e) {
    throw IoError(fmt::format("--plot {}: {}", display_text(path, 200), e.what()));
  }
  throw_if_interrupted();
  write_output(path, bytes);
}
plot::Axis axis(const std::string& title, const std::string& unit, bool log) {
  plot::Axis a;
  a.title = title;
  a.unit = unit;
  a.scale = log ? plot::Scale::log10 : plot::Scale::linear;
  return a;
}
}  // namespace

void write_validation_plot(const std::string& path, const std::vector<double>& measured, const std::vector<double>& predicted,
                           const std::vector<std::string>& labels, const std::string& title, const std::string& footnote) {
  plot::ChartSpec spec;
  spec.title = title;
  spec.subtitle = "each point: one end-to-end kvbench measurement (family 6, never used in fitting)";
  spec.footnote = footnote;
  // Validation files hold tens of points; past the label budget the points stay, labels thin out.
  std::vector<std::string> shown(labels.size());
  const std::size_t k = stride_for(labels.size(), kMaxPlotLabels);
  for (std::size_t i = 0; i < labels.size(); i += k) shown[i] = display_text(labels[i], 60);
  if (k > 1)
    note_sampling(path, fmt::format("labelled {} of {} points", (labels.size() + k - 1) / k, labels.size()), spec.footnote);
  spec.x = axis("measured time", "s", true);
  spec.y = axis("predicted time", "s", true);
  double lo = 1e300, hi = 0;
  for (std::size_t i = 0; i < measured.size(); ++i) {
    lo = std::min({lo, measured[i], predicted[i]});
    hi = std::max({hi, measured[i], predicted[i]});
  }
  plot::Series ideal;
  ideal.name = "predicted = measured";
  ideal.style = plot::SeriesStyle::line;
  ideal.x = {lo * 0.8, hi * 1.25};
  ideal.y = ideal.x;
  plot::Series pts;
  pts.name = "decode steps and prefills";
  pts.style = plot::SeriesStyle::points;
  pts.x = measured;
  pts.y = predicted;
  pts.labels = shown;
  spec.series = {ideal, pts};
  render(path, spec);
}

void write_pareto_plot(const std::string& path, const ParetoPlot& full) {
  ParetoPlot p = full;
  std::string footnote = p.footnote;
  note_sampling(path, sample_pareto(p), footnote);
  plot::ParetoData d;
  d.all_x = p.all_x;
  d.all_y = p.all_y;
  d.frontier_x = p.front_x;
  d.frontier_y = p.front_y;
  d.frontier_labels = p.front_labels;
  if (p.current) {
    d.current = plot::Point{p.current->first, p.current->second};
    d.current_label = p.current_label;
  }
  plot::ChartSpec spec =
      plot::pareto_chart(d, axis(p.x_title, p.x_unit, p.x_log), axis(p.y_title, p.y_unit, p.y_log), p.title, p.subtitle);
  spec.footnote = footnote;
  spec.non_positive_on_log = plot::NonPositive::drop;
  render(path, spec);
}

void write_lines_plot(const std::string& path, const LinesPlot& full) {
  LinesPlot p = full;
  std::string footnote = p.footnote;
  note_sampling(path, sample_lines(p), footnote);
  std::vector<plot::NamedLine> lines;
  for (const auto& l : p.lines) lines.push_back({l.name, l.x, l.y, {}});
  plot::ChartSpec spec =
      plot::lines_chart(lines, axis(p.x_title, p.x_unit, p.x_log), axis(p.y_title, p.y_unit, p.y_log), p.title, p.subtitle);
  spec.footnote = footnote;
  spec.non_positive_on_log = plot::NonPositive::drop;
  if (!p.markers) {
    for (auto& s : spec.series) s.style = plot::SeriesStyle::line;
  }
  render(path, spec);
}
#else
namespace {
[[noreturn]] void no_plot(const std::string& path) {
  throw InputError("--plot", "", "a kvscope built with Qt (KVSCOPE_BUILD_GUI=ON)", fmt::format("a request to write '{}'", path));
}
}  // namespace
void write_validation_plot(const std::string& path, const std::vector<double>&, const std::vector<double>&,
                           const std::vector<std::string>&, const std::string&, const std::string&) {
  no_plot(path);
}
void write_pareto_plot(const std::string& path, const ParetoPlot&) {
  no_plot(path);
}
void write_lines_plot(const std::string& path, const LinesPlot&) {
  no_plot(path);
}
#endif

}  // namespace kvscope::cli
