#include "design_point.hpp"

#include "kvscope/explorer/scenario_sweep.hpp"
#include "kvscope/models/evaluate.hpp"

namespace kvscope::cli {

Record DesignPoint::record() const {
  return point_record(PointNames{0, configuration, design.gpu.id, timing.stack}, point);
}

std::unique_ptr<DesignPoint> evaluate_design(const Scenario& s) {
  auto dp = std::make_unique<DesignPoint>();
  dp->design = resolve_single(s);
  const SingleDesign& d = dp->design;
  dp->profile = models::make_profile(d.arch, d.workload.tp);
  dp->timing = stack_timing(d.gpu, d.workload.stack);
  dp->facts = models::make_arch_facts(d.arch);
  dp->point.arch = &dp->facts;
  dp->point.workload = d.workload;
  dp->point.eval = models::evaluate(dp->profile, d.gpu, dp->timing.params, d.workload);
  dp->configuration = models::configuration_name(s, d);
  return dp;
}

}  // namespace kvscope::cli
