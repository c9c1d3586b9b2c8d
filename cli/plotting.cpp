#include "plotting.hpp"

#include <fmt/format.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "kvscope/core/error.hpp"

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

#ifdef KVSCOPE_WITH_PLOT
namespace {
void render(const std::string& path, plot::ChartSpec spec) {
  // Qt warns on every start without a runtime dir (CI, containers); give it a private one.
  if (!std::getenv("XDG_RUNTIME_DIR")) {
    const std::string dir = fmt::format("/tmp/kvscope-runtime-{}", static_cast<long>(::getuid()));
    ::mkdir(dir.c_str(), 0700);
    ::setenv("XDG_RUNTIME_DIR", dir.c_str(), 0);
  }
  try {
    plot::OffscreenApp app;
    plot::render_to_file(spec, path);
  } catch (const plot::PlotError& e) {
    throw IoError(fmt::format("--plot {}: {}", path, e.what()));
  }
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
  pts.labels = labels;
  spec.series = {ideal, pts};
  render(path, spec);
}

void write_pareto_plot(const std::string& path, const ParetoPlot& p) {
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
  plot::ChartSpec spec = plot::pareto_chart(d, axis(p.x_title, p.x_unit, p.x_log), axis(p.y_title, p.y_unit, p.y_log), p.title,
                                            p.subtitle);
  spec.footnote = p.footnote;
  spec.non_positive_on_log = plot::NonPositive::drop;
  render(path, spec);
}

void write_lines_plot(const std::string& path, const LinesPlot& p) {
  std::vector<plot::NamedLine> lines;
  for (const auto& l : p.lines) lines.push_back({l.name, l.x, l.y, {}});
  plot::ChartSpec spec = plot::lines_chart(lines, axis(p.x_title, p.x_unit, p.x_log), axis(p.y_title, p.y_unit, p.y_log), p.title,
                                           p.subtitle);
  spec.footnote = p.footnote;
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
void write_pareto_plot(const std::string& path, const ParetoPlot&) { no_plot(path); }
void write_lines_plot(const std::string& path, const LinesPlot&) { no_plot(path); }
#endif

}  // namespace kvscope::cli
