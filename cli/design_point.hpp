#pragma once
// One design point evaluated for output (eval, compare): the resolved design, its profile and
// timing parameters, and the PointResult the writers' point record reads. Kept behind a
// unique_ptr because `point.arch` points into `facts`.
#include <memory>
#include <string>

#include "kvscope/core/gpu.hpp"
#include "kvscope/core/scenario.hpp"
#include "kvscope/models/fields.hpp"
#include "kvscope/models/profile.hpp"
#include "writers.hpp"

namespace kvscope::cli {

struct DesignPoint {
  SingleDesign design;
  models::ArchProfile profile;
  StackTiming timing;
  models::ArchFacts facts;
  models::PointResult point;  // point.arch == &facts
  std::string configuration;  // as a sweep of this one design names it
  DesignPoint() = default;
  DesignPoint(const DesignPoint&) = delete;
  DesignPoint& operator=(const DesignPoint&) = delete;
  // The point record (writers.hpp): the same cells as a sweep's row of this design.
  Record record() const;
};

// Resolves the scenario's single design (resolve_single) and evaluates it (models::evaluate).
std::unique_ptr<DesignPoint> evaluate_design(const Scenario& s);

}  // namespace kvscope::cli
