#pragma once
// The CLI's --plot: arranges result numbers into kvscope::plot charts and renders them offscreen
// (SVG or PNG by extension). Built without Qt (-DKVSCOPE_BUILD_GUI=OFF), asking for a plot is an
// error that says so.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "kvscope/models/fields.hpp"

namespace kvscope::cli {

// What a plot draws at most: SVG/PNG rendering is linear in the items drawn and labels are laid
// out pairwise, so a 300k-point frontier would take minutes and gigabytes. Past these the writers
// sample (every k-th point, both ends of a frontier kept) and say so in the footnote and on
// stderr.
inline constexpr std::size_t kMaxDrawnPoints = 50000;   // faded "all points"
inline constexpr std::size_t kMaxDrawnFrontier = 5000;  // frontier (and per line) points
inline constexpr std::size_t kMaxPlotLabels = 40;       // text labels
inline constexpr std::size_t kMaxPlotLines = 24;        // lines of a lines chart

// "svg" or "png" from a --plot path's extension (case-insensitive); InputError naming `flag`
// otherwise, or when kvscope was built without Qt. Commands call it before any work, so a bad
// plot path never costs a sweep.
std::string plot_format_of(const std::string& path, const std::string& flag);

struct PlotAxis {
  const models::Field* field = nullptr;
  bool log = false;
};

void write_validation_plot(const std::string& path, const std::vector<double>& measured, const std::vector<double>& predicted,
                           const std::vector<std::string>& labels, const std::string& title, const std::string& footnote);

struct ParetoPlot {
  std::vector<double> all_x, all_y, front_x, front_y;
  std::vector<std::string> front_labels;
  std::optional<std::pair<double, double>> current;
  std::string current_label;
  std::string x_title, x_unit, y_title, y_unit;
  bool x_log = false, y_log = false;
  std::string title, subtitle, footnote;
};
void write_pareto_plot(const std::string& path, const ParetoPlot& p);

struct LinesPlot {
  struct Line {
    std::string name;
    std::vector<double> x, y;
  };
  std::vector<Line> lines;
  std::string x_title, x_unit, y_title, y_unit;
  bool x_log = false, y_log = false;
  bool markers = true;  // false: plain lines (dense series, step functions)
  std::string title, subtitle, footnote;
};
void write_lines_plot(const std::string& path, const LinesPlot& p);

// Axis title and unit of a field for plots ("KV bytes per token", "B"); log when it spans decades.
std::string field_title(const models::Field& f);

}  // namespace kvscope::cli
