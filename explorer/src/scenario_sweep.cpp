#include "kvscope/explorer/scenario_sweep.hpp"

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

std::string configuration_name(std::string_view architecture, std::string_view gpu, std::string_view stack, const Workload& w) {
  return fmt::format("{} | {} {} | tp={} B={} S={} P={}{}", architecture, gpu, stack, w.tp, w.batch, w.context, w.prompt,
                     w.runtime == Runtime::eager ? " eager" : "");
}

std::string configuration_name(const SweepResult& r, const PointResult& p) {
  return configuration_name(r.arch_name(p), r.gpu_id(p), r.stack_id(p), p.workload);
}

std::string configuration_name(const Scenario& s, const SingleDesign& d) {
  // The architecture axes as a sweep reads them (one alternative each): the same label text.
  OverrideAxes o;
  WorkloadAxes unused;
  for (const auto& [name, text] : s.values) {
    const DesignField* f = find_design_field(name);
    if (f && f->is_arch() && !text.empty()) apply_axis(*f, name, text, o, unused);
  }
  return configuration_name(architecture_label(d.arch.id, o, {}), d.gpu.id, d.workload.stack, d.workload);
}

}  // namespace kvscope::models
