#include "kvscope/models/scenario_sweep.hpp"

#include <fmt/format.h>

#include "kvscope/core/axes.hpp"
#include "kvscope/core/loaders.hpp"

namespace kvscope::models {

SweepSpec sweep_spec_from_scenario(const Scenario& s) {
  SweepSpec spec;
  spec.where = s.source;
  const std::string* model = s.get("model");
  for (const auto& id : parse_string_axis(model ? *model : "llama-3-8b", "--model")) spec.models.push_back(load_architecture(id));
  const std::string* gpu = s.get("gpu");
  for (const auto& id : parse_string_axis(gpu ? *gpu : "h100-sxm", "--gpu")) spec.gpus.push_back(load_gpu(id));
  set_axis(spec, "batch", "1");
  set_axis(spec, "context", "8192");
  set_axis(spec, "prompt", "2048");
  for (const auto& [name, text] : s.values) {
    if (name == "model" || name == "gpu" || text.empty()) continue;
    set_axis(spec, name, text);
  }
  spec.constraints = s.constraints;
  spec.objectives = s.objectives;
  return spec;
}

std::string configuration_name(const SweepResult& r, const PointResult& p) {
  const Workload& w = p.workload;
  return fmt::format("{} | {} {} | tp={} B={} S={} P={}{}", r.arch_name(p), r.gpu_id(p), r.stack_id(p), w.tp, w.batch, w.context,
                     w.prompt, w.runtime == Runtime::eager ? " eager" : "");
}

}  // namespace kvscope::models
