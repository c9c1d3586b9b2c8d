// Ready-made chart specs shared by the front ends. They only arrange the numbers they are given
// (sorting, stacking, unit prefixes, where a ceiling crosses); no model math. Each returns a
// ChartSpec the caller may still adjust (footnote, size, colours) before build_chart or
// render_to_file. Invalid numbers are reported later by build_chart/render_to_file, except where
// a builder says otherwise.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "kvscope/plot/plot.hpp"

namespace kvscope::plot {

/// Palette used by the library (colour-blind friendly, 0xRRGGBB), also handy for front ends.
[[nodiscard]] const std::vector<std::uint32_t>& palette();

struct Point {
  double x = 0, y = 0;
};

// ---- Pareto / design-space scatter -------------------------------------------------------------
struct ParetoData {
  std::vector<double> all_x, all_y;            ///< every evaluated design (faded points)
  std::vector<double> frontier_x, frontier_y;  ///< the non-dominated ones (any order)
  std::vector<std::string> frontier_labels;    ///< empty or one per frontier point
  std::optional<Point> current;                ///< the design under consideration
  std::string current_label = "current";
  std::string all_name = "all designs";
  std::string frontier_name = "Pareto frontier";
  bool label_frontier = true;  ///< draw frontier_labels next to the points
};
/// Series order: all points, frontier, current (if any). x/y carry titles, units and log flags.
[[nodiscard]] ChartSpec pareto_chart(const ParetoData& data, Axis x, Axis y, std::string title, std::string subtitle = {});

// ---- Roofline ----------------------------------------------------------------------------------
struct RooflineOp {
  std::string name;
  double intensity = 0;    ///< arithmetic intensity [FLOP/B]
  double flops_per_s = 0;  ///< achieved (or modelled) [FLOP/s]
};
struct RooflineCeilings {
  double peak_flops_per_s = 0;           ///< compute roof [FLOP/s]
  double hbm_bytes_per_s = 0;            ///< memory roof slope [B/s]
  std::optional<double> l2_bytes_per_s;  ///< optional second memory roof [B/s]
  std::string peak_name = "compute peak";
  std::string hbm_name = "HBM";
  std::string l2_name = "L2";
};
/// Log-log roofline: the HBM roof min(peak, bw*I) (and the L2 roof if given) as lines, the ridge
/// point I = peak/bw as a vertical reference line, the ops as labelled points. The y values are
/// shown with an SI prefix chosen from the peak (e.g. "TFLOP/s"). Throws PlotError if the peak or
/// a bandwidth is not a positive finite number.
[[nodiscard]] ChartSpec roofline_chart(const std::vector<RooflineOp>& ops, const RooflineCeilings& ceilings, std::string title,
                                       std::string subtitle = {});

// ---- Stacked memory ----------------------------------------------------------------------------
struct MemoryStack {
  std::string name;       ///< e.g. "weights", "KV cache", "workspace"
  std::vector<double> y;  ///< one value per x, same unit as the capacity
};
struct MemoryChartData {
  std::vector<double> x;            ///< e.g. batch size or context length
  std::vector<MemoryStack> stacks;  ///< bottom to top
  std::optional<double> capacity;   ///< horizontal reference line
  std::string capacity_label = "capacity";
  /// x where memory runs out. Unset and capacity set: the first crossing of the stacked total
  /// over the capacity, linearly interpolated between samples (none if it never crosses).
  std::optional<double> run_out_x;
  std::string run_out_label = "out of memory";
};
/// Stacked filled areas (area style, one series per stack, y_base = the stack below), a
/// capacity line and a run-out marker (vertical ref line). y axis linear from 0; x as given.
[[nodiscard]] ChartSpec memory_chart(const MemoryChartData& data, Axis x, Axis y, std::string title, std::string subtitle = {});

// ---- Lines -------------------------------------------------------------------------------------
struct NamedLine {
  std::string name;
  std::vector<double> x, y;
  std::vector<std::string> labels;  ///< optional point labels (shown if non-empty)
};
/// Several named lines (line_points style, sorted by x), e.g. throughput vs batch per config.
[[nodiscard]] ChartSpec lines_chart(const std::vector<NamedLine>& lines, Axis x, Axis y, std::string title,
                                    std::string subtitle = {});

}  // namespace kvscope::plot
