#include "kvscope/models/catalog.hpp"

#include "kvscope/core/design.hpp"
#include "kvscope/core/json_util.hpp"
#include "kvscope/core/loaders.hpp"
#include "kvscope/models/profile.hpp"

namespace kvscope::models {

boost::json::object model_record(const Architecture& a) {
  const ArchProfile p = make_profile(a, 1);
  boost::json::object j;
  add_model_shape_json(j, a);
  j["sharing"] = sharing_label(a);
  j["variant"] = variant_name(a);
  j["kv_bytes_per_token"] = json_number(p.kv_bytes_per_elem * p.kv_elems_layer_total * p.kv_layers);
  j["param_count"] = json_number(p.params.total);
  j["published_params"] = a.published_params ? json_number(*a.published_params) : boost::json::value(nullptr);
  j["source"] = a.provenance.source;
  return j;
}

boost::json::object gpu_record(const GpuSpec& g) {
  boost::json::object j;
  j["id"] = g.id;
  j["name"] = g.name;
  j["memory_B"] = json_number(g.memory_B);
  j["hbm_bandwidth_Bps"] = json_number(g.hbm_bandwidth_Bps);
  j["bf16_flops"] = json_number(g.bf16_flops);
  j["fp8_flops"] = json_number(g.fp8_flops);
  j["l2_cache_B"] = json_number(g.l2_cache_B);
  j["sm_count"] = g.sm_count;
  // Measured on this GPU (a borrowed profile is not).
  j["calibrated"] = g.calibration.has_value() && !g.calibration->borrowed;
  j["borrowed_from"] = g.calibration && g.calibration->borrowed ? boost::json::value(g.calibration->borrowed_from) : nullptr;
  j["timing_params"] = timing_params_origin(g);
  j["source"] = g.provenance.source;
  return j;
}

boost::json::object stack_record(const StackDef& s, const std::vector<GpuSpec>& gpus) {
  boost::json::object j;
  j["id"] = s.id;
  j["description"] = s.name;
  j["stands_for"] = s.stands_for;
  j["measured_by"] = s.measured_by;
  j["not_measured"] = s.not_measured;
  j["default"] = s.id == default_stack_id();
  j["quantized_kv_kernel"] = s.quantized_kv_kernel;
  boost::json::array per_gpu;
  for (const GpuSpec& g : gpus) {
    const StackTiming st = stack_timing(g, s.id);
    per_gpu.push_back({{"gpu", g.id},
                       {"calibrated", st.calibrated},
                       {"borrowed", st.borrowed},
                       {"borrowed_from", st.borrowed ? boost::json::value(st.borrowed_from) : nullptr},
                       {"origin", st.origin}});
  }
  j["gpus"] = std::move(per_gpu);
  return j;
}

}  // namespace kvscope::models
