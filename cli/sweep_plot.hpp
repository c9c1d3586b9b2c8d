#pragma once
// `sweep --plot`: one output field (--plot-y) against one swept numeric axis (--plot-x), one
// line per combination of the other swept values (named by what differs between the lines),
// drawn with cli/plotting.hpp's lines chart. Points are added as the sweep streams them; only
// the first kMaxPlotLines lines are kept (the rest are counted and said).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kvscope/core/design_fields.hpp"
#include "kvscope/explorer/explore.hpp"
#include "plotting.hpp"

namespace kvscope::cli {

class SweepPlot {
 public:
  // Checks the flags against the sweep before it runs: `x_name` (empty: the swept axis with the
  // most values, batch first on ties) must be a design field with a numeric output column that
  // the sweep varies; `y_name` an output field. InputError naming --plot-x / --plot-y otherwise.
  SweepPlot(const models::SweepSpec& spec, const std::string& x_name, const std::string& y_name);
  void add(const models::SweepResult& r, const models::PointResult& p);
  // Writes the chart (title, axes, subtitle with what is left out, `footnote`).
  void write(const std::string& path, const models::SweepResult& r, const std::string& footnote) const;

 private:
  struct Line {
    std::vector<std::string> parts;  // the point's other coordinates, in a fixed order
    std::vector<double> x, y;
  };
  const DesignField* x_design_ = nullptr;
  const models::Field* x_ = nullptr;
  const models::Field* y_ = nullptr;
  std::map<std::string, std::size_t> index_;  // line key -> position in lines_
  std::vector<Line> lines_;
  std::uint64_t extra_lines_ = 0;  // lines past kMaxPlotLines, not kept
  std::uint64_t not_fitting_ = 0;  // points left out because they do not fit in memory
};

}  // namespace kvscope::cli
