// `kvscope models` and `kvscope gpus`: the bundled presets with their key figures.
#include <fmt/format.h>

#include "command.hpp"
#include "kvscope/core/csv.hpp"
#include "kvscope/core/loaders.hpp"
#include "kvscope/models/accuracy.hpp"
#include "kvscope/models/catalog.hpp"
#include "kvscope/models/memory.hpp"
#include "kvscope/models/profile.hpp"
#include "output.hpp"

namespace kvscope::cli {
namespace {

struct ListOptions {
  std::string format = "table";
};

// One listing in the format asked for: JSON records, CSV rows or the text table.
void emit_listing(Format f, const boost::json::value& json, const std::string& csv, const std::string& text) {
  if (f == Format::json)
    emit(pretty_json(json), "");
  else if (f == Format::csv)
    emit(csv, "");
  else
    emit_text(text, "");
}

void run_models(const ListOptions& o) {
  const Format f = parse_format(o.format);
  boost::json::array arr;
  Table t({"id", "name", "layers", "d_model", "q/kv heads", "head_dim", "sharing", "KV B/token", "params", "published"},
          {false, false, true, true, true, true, false, true, true, true});
  std::string csv =
      "id,name,n_layers,d_model,n_q_heads,n_kv_heads,head_dim,sharing,variant,kv_bytes_per_token,param_count,published_params\n";
  for (const Architecture& a : list_model_presets()) {
    const models::ArchProfile p = models::make_profile(a, 1);
    const double kv = p.kv_bytes_per_elem * p.kv_elems_layer_total * p.kv_layers;
    const std::string sharing = sharing_label(a);
    const std::string published = a.published_params ? human_count(*a.published_params) : "";
    t.add({a.id, a.name, std::to_string(a.n_layers), std::to_string(a.d_model),
           a.mla ? "MLA" : fmt::format("{}/{}", a.n_q_heads, a.n_kv_heads), std::to_string(a.head_dim), sharing,
           fmt::format("{:.0f}", kv), human_count(p.params.total), published});
    csv += fmt::format("{},{},{},{},{},{},{},{},{},{:.0f},{:.0f},{}\n", a.id, csv_escape(a.name), a.n_layers, a.d_model,
                       a.n_q_heads, a.n_kv_heads, a.head_dim, sharing, variant_name(a), kv, p.params.total,
                       a.published_params ? fmt::format("{:.0f}", *a.published_params) : "");
    arr.push_back(models::model_record(a));
  }
  emit_listing(f, arr, csv, t.str());
}

void run_gpus(const ListOptions& o) {
  const Format f = parse_format(o.format);
  boost::json::array arr;
  Table t({"id", "name", "memory", "HBM GB/s", "bf16 TFLOP/s", "L2", "SMs", "timing parameters"},
          {false, false, true, true, true, true, true, false});
  std::string csv = "id,name,memory_B,hbm_bandwidth_Bps,bf16_flops,l2_cache_B,sm_count,calibrated,source\n";
  for (const GpuSpec& g : list_gpu_presets()) {
    const std::string origin = timing_params_origin(g);
    t.add({g.id, g.name, fmt::format("{:.0f} GB", g.memory_B / 1e9), fmt::format("{:.0f}", g.hbm_bandwidth_Bps / 1e9),
           fmt::format("{:.1f}", g.bf16_flops / 1e12), human_bytes_short(g.l2_cache_B), std::to_string(g.sm_count),
           g.calibration ? (g.calibration->borrowed ? "borrowed: " + g.calibration->borrowed_from : "calibrated (kvbench)")
                         : "datasheet defaults"});
    csv += fmt::format("{},{},{:.0f},{:.0f},{:.0f},{:.0f},{},{},{}\n", g.id, csv_escape(g.name), g.memory_B, g.hbm_bandwidth_Bps,
                       g.bf16_flops, g.l2_cache_B, g.sm_count, g.calibration && !g.calibration->borrowed ? "true" : "false",
                       csv_escape(g.provenance.source));
    arr.push_back(models::gpu_record(g));
  }
  emit_listing(f, arr, csv, t.str());
}

void run_stacks(const ListOptions& o) {
  const Format f = parse_format(o.format);
  const std::vector<GpuSpec> gpus = list_gpu_presets();
  boost::json::array arr;
  std::string text;
  std::string csv = "stack,gpu,calibrated,borrowed_from,origin\n";
  for (const StackDef& s : stacks()) {
    text += fmt::format("{}{}\n  {}\n  stands for: {}\n  measured by: {}\n  not measured: {}\n", s.id,
                        s.id == default_stack_id() ? " (default)" : "", s.name, s.stands_for, s.measured_by, s.not_measured);
    Table t({"gpu", "status", "parameters"}, {false, false, false});
    for (const GpuSpec& g : gpus) {
      const StackTiming st = stack_timing(g, s.id);
      const std::string status =
          st.calibrated ? "calibrated" : (st.borrowed ? "borrowed from " + st.borrowed_from : "not measured");
      t.add({g.id, status, st.origin});
      csv +=
          fmt::format("{},{},{},{},{}\n", s.id, g.id, st.calibrated ? "true" : "false", st.borrowed_from, csv_escape(st.origin));
    }
    arr.push_back(models::stack_record(s, gpus));
    text += t.str() + "\n";
  }
  boost::json::object root;
  root["provenance"] = provenance_json(recorded_command_line());
  root["default"] = default_stack_id();
  root["stacks"] = std::move(arr);
  emit_listing(f, root, csv, text);
}

const Registrar reg_stacks(3, [](CLI::App& app) {
  auto o = std::make_shared<ListOptions>();
  CLI::App* sub = app.add_subcommand("stacks", "list the kernel stacks and, per GPU, whether each is calibrated or borrowed");
  sub->add_option("--format", o->format, "table, json or csv [table]");
  sub->callback([o] { run_stacks(*o); });
});

const Registrar reg_models(1, [](CLI::App& app) {
  auto o = std::make_shared<ListOptions>();
  CLI::App* sub = app.add_subcommand("models", "list the bundled model presets");
  sub->add_option("--format", o->format, "table, json or csv [table]");
  sub->callback([o] { run_models(*o); });
});

const Registrar reg_gpus(2, [](CLI::App& app) {
  auto o = std::make_shared<ListOptions>();
  CLI::App* sub = app.add_subcommand("gpus", "list the bundled GPU profiles");
  sub->add_option("--format", o->format, "table, json or csv [table]");
  sub->callback([o] { run_gpus(*o); });
});

}  // namespace
}  // namespace kvscope::cli
