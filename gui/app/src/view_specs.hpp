#pragma once
// Chart specs for the six views, built from the view-models' data. They arrange numbers the
// kvscope libraries computed (evaluate, evaluate_memory, the fields registry, the paper rows);
// the charts themselves come from kvscope::plot, the same library the CLI's --plot uses.
#include <memory>
#include <string>
#include <vector>

#include "design_model.hpp"
#include "kvscope/explorer/pareto.hpp"
#include "kvscope/models/simulate_run.hpp"
#include "kvscope/plot/charts.hpp"
#include "sweep_model.hpp"

namespace kvscope::gui {

// Whether a field is better small or large (throughput and capacity fields are maximized).
Sense default_sense(std::string_view field);

struct ParetoChoice {
  std::string x_field = "tpot_s";
  std::string y_field = "decode_tokens_per_s";
  Sense x_sense = Sense::minimize;
  Sense y_sense = Sense::maximize;
  bool x_log = true;
  bool y_log = true;
  bool feasible_only = true;  // leave out points that do not fit in GPU memory
};

struct ParetoPlot {
  plot::ChartSpec spec;
  std::vector<std::size_t> rows;           // usable sweep rows (finite, feasible if asked), ascending
  std::vector<std::size_t> drawn_rows;     // the rows the "all" series draws (one per screen cell)
  std::vector<std::size_t> frontier_rows;  // sweep rows on the frontier, in the order drawn (by x)
  std::size_t hidden = 0;                  // rows left out (infeasible, NaN, <= 0 on a log axis)
  std::size_t designs = 0;                 // distinct designs (architecture combinations) among rows
  std::size_t frontier_designs = 0;        // distinct designs among frontier_rows (batch and
                                           // context repeat a design: rows overcount it)
};

// Rows usable for the choice (finite values, positive on log axes, feasible if asked) and their
// Pareto frontier (kvscope::pareto_front), sorted by x.
ParetoPlot pareto_plot(const SweepData& data, const ParetoChoice& choice, const DesignPoint* current);

// Weights / K/V cache / workspace + reserve against capacity as batch (or context) grows.
plot::ChartSpec memory_spec(const DesignPoint& d, bool vs_context);
// Decode throughput vs batch, one line per configuration, each ending at its largest batch in a
// labelled marker of its colour (CLA siblings' lines overlap; their ends do not).
struct ThroughputLine {
  QString name;
  std::shared_ptr<const DesignPoint> point;
};
std::vector<ThroughputLine> throughput_lines(const std::shared_ptr<const DesignPoint>& current,
                                             const std::vector<DesignModel::Pin>& pins, bool compare_cla,
                                             bool compare_stacks = false);
plot::ChartSpec throughput_spec(const std::vector<ThroughputLine>& lines);
// Serving under load: the current design and its CLA siblings (same K/V heads; the lines of
// throughput_lines(current, {}, true)) at a range of Poisson request rates, simulated by the models
// library (models::rate_curve). One chart per metric; the SLO target is a reference line.
enum class ServingMetric { ttft, tpot, throughput };
struct ServingCurve {
  QString name;
  models::RateCurve curve;
};
struct ServingInputs {
  ServingLoad load;          // lengths, requests, seed, targets, percentile (the registry's fields)
  std::string design_label;  // the current design, for the subtitle
};
plot::ChartSpec serving_spec(const std::vector<ServingCurve>& curves, ServingMetric metric, const ServingInputs& in);
// Each op of the decode step (or prefill) against the GPU's ceilings.
plot::ChartSpec roofline_spec(const DesignPoint& d, bool prefill);
// The CLA paper's 1B design space: measured Table 1 rows, the fit's estimates, the current point.
plot::ChartSpec paper_spec(const DesignPoint* current);

}  // namespace kvscope::gui
