#pragma once
// The bundled presets and kernel stacks as JSON records: one definition for `kvscope models /
// gpus / stacks --format json` and the Python module's models() / gpus() / stacks().
#include <boost/json.hpp>
#include <vector>

#include "kvscope/core/architecture.hpp"
#include "kvscope/core/gpu.hpp"
#include "kvscope/core/stack.hpp"

namespace kvscope::models {

// id, name, shape, sharing, variant, KV bytes per token, parameter counts, source.
boost::json::object model_record(const Architecture& a);
// id, name, datasheet figures, whether its timing parameters were measured on it (a borrowed
// profile is not), where they come from, source.
boost::json::object gpu_record(const GpuSpec& g);
// The stack's definition and, for each of `gpus`, whether it is calibrated or borrowed there.
boost::json::object stack_record(const StackDef& s, const std::vector<GpuSpec>& gpus);

}  // namespace kvscope::models
