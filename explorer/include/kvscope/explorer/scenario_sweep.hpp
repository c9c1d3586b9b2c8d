#pragma once
// Turning a Scenario (flags, scenario file, GUI state) into a SweepSpec: model and GPU lists are
// resolved to descriptions (preset ids or files), every other field becomes an axis.
#include "kvscope/core/scenario.hpp"
#include "kvscope/explorer/explore.hpp"

namespace kvscope::models {

// Defaults as for `eval`: model llama-3-8b, gpu h100-sxm, batch 1, context 8192, prompt 2048.
SweepSpec sweep_spec_from_scenario(const Scenario& s);

// "llama-3-8b kv_heads=4 cla=2 | h100-sxm torch-flash | tp=1 B=64 S=32768 P=2048": a point's
// configuration.
std::string configuration_name(const SweepResult& r, const PointResult& p);
std::string configuration_name(std::string_view architecture, std::string_view gpu, std::string_view stack, const Workload& w);
// The configuration a sweep of this scenario's single design point would print (`eval` names its
// point by it, so eval and sweep rows of one design agree column for column).
std::string configuration_name(const Scenario& s, const SingleDesign& d);

}  // namespace kvscope::models
