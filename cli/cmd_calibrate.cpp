// `kvscope calibrate` and `kvscope validate`: close the loop with kvbench measurements.
#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "command.hpp"
#include "kvscope/calibration/calibration.hpp"
#include "kvscope/core/display.hpp"
#include "kvscope/core/error.hpp"
#include "kvscope/core/json_util.hpp"
#include "kvscope/core/loaders.hpp"
#include "kvscope/core/output_file.hpp"
#include "output.hpp"
#include "plotting.hpp"

namespace kvscope::cli {
namespace {

struct CalibrateOptions {
  std::vector<std::string> results;
  std::string gpu;
  std::string output;
  std::string format = "table";
  std::string stack = "kvbench";
};

std::string param_table(const TimingParams& t, const TimingParams& d, bool eager) {
  Table tab({"parameter", "calibrated", "datasheet default"}, {false, true, true});
  auto row = [&](const char* name, double v, double dv, double scale, const char* unit) {
    tab.add({name, fmt::format("{:.4g} {}", v * scale, unit), fmt::format("{:.4g} {}", dv * scale, unit)});
  };
  row("hbm_read", t.hbm_read_Bps, d.hbm_read_Bps, 1e-9, "GB/s");
  row("hbm_copy", t.hbm_copy_Bps, d.hbm_copy_Bps, 1e-9, "GB/s");
  row("l2_read", t.l2_read_Bps, d.l2_read_Bps, 1e-9, "GB/s");
  row("l2_capacity", t.l2_capacity_B, d.l2_capacity_B, 1.0 / 1048576, "MiB");
  row("l2_transition", t.l2_transition, d.l2_transition, 1, "");
  row("compute_clock_ratio", t.compute_clock_ratio, d.compute_clock_ratio, 1, "");
  row("gemm_bw_fraction", t.gemm_bw_fraction, d.gemm_bw_fraction, 1, "");
  row("gemm_fixed", t.gemm_fixed_s, d.gemm_fixed_s, 1e6, "µs");
  row("gemm_compute_fraction", t.gemm_compute_fraction, d.gemm_compute_fraction, 1, "");
  row("gemm_m_half", t.gemm_m_half, d.gemm_m_half, 1, "rows");
  row("gemm_overlap_p", t.gemm_overlap_p, d.gemm_overlap_p, 1, "");
  row("gemm_splitk", t.gemm_splitk_s, d.gemm_splitk_s, 1e6, "µs");
  row("attn_bw_fraction", t.attn_bw_fraction, d.attn_bw_fraction, 1, "");
  row("attn_fixed", t.attn_fixed_s, d.attn_fixed_s, 1e6, "µs");
  row("attn_units_sat", t.attn_units_sat, d.attn_units_sat, 1, "CTAs");
  row("attn_compute", t.attn_compute_flops, d.attn_compute_flops, 1e-12, "TFLOP/s");
  row("attn_fp8_bw_fraction", t.attn_fp8_bw_fraction, d.attn_fp8_bw_fraction, 1, "");
  row("attn_combine_per_split", t.attn_combine_per_split_s, d.attn_combine_per_split_s, 1e6, "µs");
  row("attn_cta_fixed", t.attn_cta_fixed_s, d.attn_cta_fixed_s, 1e6, "µs");
  row("attn_lone_cta_efficiency", t.attn_lone_cta_efficiency, d.attn_lone_cta_efficiency, 1, "");
  row("attn_lone_cta_efficiency_d64", t.attn_lone_cta_efficiency_d64, d.attn_lone_cta_efficiency_d64, 1, "");
  row("attn_lone_cta_efficiency_d256", t.attn_lone_cta_efficiency_d256, d.attn_lone_cta_efficiency_d256, 1, "");
  row("attn_tile_reread_fraction", t.attn_tile_reread_fraction, d.attn_tile_reread_fraction, 1, "");
  row("attn_units_sat_d64", t.attn_units_sat_d64, d.attn_units_sat_d64, 1, "CTAs");
  row("attn_units_sat_d256", t.attn_units_sat_d256, d.attn_units_sat_d256, 1, "CTAs");
  row("attn_sat_sharpness", t.attn_sat_sharpness, d.attn_sat_sharpness, 1, "");
  row("attn_compute_d64", t.attn_compute_flops_d64, d.attn_compute_flops_d64, 1e-12, "TFLOP/s");
  row("attn_compute_d256", t.attn_compute_flops_d256, d.attn_compute_flops_d256, 1e-12, "TFLOP/s");
  row("attn_narrow_smem_efficiency", t.attn_narrow_smem_efficiency, d.attn_narrow_smem_efficiency, 1, "");
  row("attn_padded_efficiency", t.attn_padded_efficiency, d.attn_padded_efficiency, 1, "");
  row("prefill_attn_compute_fraction", t.prefill_attn_compute_fraction, d.prefill_attn_compute_fraction, 1, "");
  row("elementwise_bw_fraction", t.elementwise_bw_fraction, d.elementwise_bw_fraction, 1, "");
  row("elementwise_fixed", t.elementwise_fixed_s, d.elementwise_fixed_s, 1e6, "µs");
  row("rope_bw_fraction", t.rope_bw_fraction, d.rope_bw_fraction, 1, "");
  row("rope_fixed", t.rope_fixed_s, d.rope_fixed_s, 1e6, "µs");
  row("launch_graph", t.launch_graph_s, d.launch_graph_s, 1e6, "µs");
  row("launch_stream", t.launch_stream_s, d.launch_stream_s, 1e6, "µs");
  row("launch_cpu", t.launch_cpu_s, d.launch_cpu_s, 1e6, "µs");
  row("launch_event", t.launch_event_s, d.launch_event_s, 1e6, "µs");
  if (eager) {
    row("add_bw_fraction", t.add_bw_fraction, d.add_bw_fraction, 1, "");
    row("add_fixed", t.add_fixed_s, d.add_fixed_s, 1e6, "µs");
    row("act_bw_fraction", t.act_bw_fraction, d.act_bw_fraction, 1, "");
    row("act_fixed", t.act_fixed_s, d.act_fixed_s, 1e6, "µs");
    row("append_bw_fraction", t.append_bw_fraction, d.append_bw_fraction, 1, "");
    row("append_fixed", t.append_fixed_s, d.append_fixed_s, 1e6, "µs");
    row("embed_bw_fraction", t.embed_bw_fraction, d.embed_bw_fraction, 1, "");
    row("embed_fixed", t.embed_fixed_s, d.embed_fixed_s, 1e6, "µs");
    row("prefill_attn_fraction_d64", t.prefill_attn_fraction_d64, d.prefill_attn_fraction_d64, 1, "");
    row("prefill_attn_fraction_d256", t.prefill_attn_fraction_d256, d.prefill_attn_fraction_d256, 1, "");
    row("prefill_attn_units_sat", t.prefill_attn_units_sat, d.prefill_attn_units_sat, 1, "CTAs");
    row("prefill_attn_fixed", t.prefill_attn_fixed_s, d.prefill_attn_fixed_s, 1e6, "µs");
    row("prefill_attn_clock_ratio", t.prefill_attn_clock_ratio, d.prefill_attn_clock_ratio, 1, "");
  }
  if (t.power_governed()) {
    row("power_busy", t.power_busy, d.power_busy, 1, "x limit");
    row("power_per_tensor", t.power_per_tensor, d.power_per_tensor, 1, "x limit");
    row("power_rested_headroom", t.power_rested_headroom_s, d.power_rested_headroom_s, 1e3, "ms");
    row("power_gap_headroom", t.power_gap_headroom_s, d.power_gap_headroom_s, 1e3, "ms");
    row("power_refill_tau", t.power_refill_tau_s, d.power_refill_tau_s, 1e3, "ms");
    row("power_decode_attn_weight", t.power_decode_attn_weight, d.power_decode_attn_weight, 1, "x GEMM");
  }
  return tab.str();
}

void run_calibrate(const CalibrateOptions& o) {
  // Every flag is checked before anything is fitted or written (`-o X --format bad` writes nothing).
  const Format format = parse_format(o.format);
  if (format == Format::csv) throw InputError("--format", "", "table or json", "'csv'");
  if (!o.output.empty()) check_output_target(o.output);
  if (o.gpu.empty()) throw InputError("--gpu", "", "the GPU preset or profile the results were measured on", "nothing");
  GpuSpec gpu = load_gpu(o.gpu);
  std::vector<models::KvbenchResults> results;
  for (const auto& path : o.results) results.push_back(models::load_kvbench(path));
  const StackDef& stack = find_stack(o.stack, "--stack");
  const models::CalibrationResult c = models::calibrate_stack(results, gpu, stack.id);
  const TimingParams defaults = default_timing_params(gpu);
  if (stack.id == "kvbench") {
    gpu.calibration = c.calibration;
  } else {
    gpu.stack_calibrations[stack.id] = c.calibration;
  }
  std::string out =
      fmt::format("calibrated {} for stack {} from {} file(s): {}\n\n", gpu.id, stack.id, results.size(), c.calibration.source);
  Table fam({"family", "points", "rms error", "max error", "worst point", "sets"}, {false, true, true, true, false, false});
  for (const auto& f : c.families) {
    std::string params;
    for (const auto& p : f.params) params += (params.empty() ? "" : ", ") + p;
    fam.add({f.family, f.points ? std::to_string(f.points) : "plateau",
             f.points ? fmt::format("{:.2f} %", 100 * f.rms_rel_error) : "-",
             f.points ? fmt::format("{:.2f} %", 100 * f.max_rel_error) : "-", f.worst, params});
  }
  out += fam.str() + "\n" + param_table(c.calibration.params, defaults, !stack.fused_elementwise);
  // The profile is loaded back before it is written: a fit that produced a value kvscope would
  // refuse (NaN, Infinity, a parameter outside its range) is an error here, not a file that
  // breaks every later command.
  const std::string profile_text = pretty_json(to_json(gpu));
  try {
    (void)parse_gpu(parse_json_text(profile_text, "the calibrated profile"), "the calibrated profile");
  } catch (const InputError& e) {
    throw NumericError(
        fmt::format("calibrating {} gave a profile kvscope cannot load, so nothing was written: {} "
                    "(check the result files for degenerate values)",
                    gpu.id, e.what()));
  }
  if (!o.output.empty()) {
    write_output(o.output, profile_text);
    out += fmt::format("\nwrote {}\n", o.output);
  }
  if (format == Format::json) {
    boost::json::object j;
    j["provenance"] = provenance_json(recorded_command_line());
    j["profile"] = to_json(gpu);
    boost::json::array fams;
    for (const auto& f : c.families) {
      boost::json::array pts;
      for (const auto& [label, err] : f.residuals) pts.push_back({{"point", label}, {"rel_error", json_number(err)}});
      fams.push_back({{"family", f.family},
                      {"points", f.points},
                      {"rms_rel_error", json_number(f.rms_rel_error)},
                      {"max_rel_error", json_number(f.max_rel_error)},
                      {"worst", f.worst},
                      {"residuals", std::move(pts)}});
    }
    j["families"] = std::move(fams);
    emit(pretty_json(j), "");
  } else {
    emit_text(out, "");
  }
}

struct ValidateOptions {
  std::vector<std::string> results;
  std::string gpu;
  std::string format = "table";
  std::string plot;
  double max_mape = 0;
  double max_worst = 0;
  std::string stack = "kvbench";
};

void run_validate(const ValidateOptions& o) {
  const Format f = o.format == "markdown" ? Format::table : parse_format(o.format);
  if (f == Format::csv) throw InputError("--format", "", "table, markdown or json", "'csv'");
  if (!o.plot.empty()) {
    plot_format_of(o.plot, "--plot");
    check_output_target(o.plot);
  }
  if (o.gpu.empty()) throw InputError("--gpu", "", "a GPU preset or calibrated profile", "nothing");
  const GpuSpec gpu = load_gpu(o.gpu);
  std::vector<models::ValidationReport> reports;
  std::vector<std::string> names;
  for (const auto& path : o.results) {
    reports.push_back(models::validate_against(models::load_kvbench(path), gpu, o.stack));
    names.push_back(path);
  }
  bool failed = false;
  std::string text;
  boost::json::array jr;
  std::vector<double> meas, pred;
  std::vector<std::string> labels;
  for (std::size_t i = 0; i < reports.size(); ++i) {
    const auto& r = reports[i];
    const bool md = o.format == "markdown";
    text += fmt::format("{}{} vs {} ({})\n\n", md ? "### " : "", names[i], gpu.id, stack_timing(gpu, o.stack).origin);
    if (md) {
      text += "| point | measured | predicted | error |\n|---|---:|---:|---:|\n";
    }
    Table t({"point", "measured", "predicted", "error"}, {false, true, true, true});
    for (const auto& row : r.rows) {
      meas.push_back(row.point.measured_s);
      pred.push_back(row.predicted_s);
      labels.push_back(row.point.label);
      if (md) {
        text += fmt::format("| {} | {} | {} | {:+.1f} % |\n", row.point.label, human_time(row.point.measured_s),
                            human_time(row.predicted_s), row.error_pct);
      } else {
        t.add({row.point.label, human_time(row.point.measured_s), human_time(row.predicted_s),
               fmt::format("{:+.1f} %", row.error_pct)});
      }
      jr.push_back({{"file", names[i]},
                    {"point", row.point.label},
                    {"phase", row.point.phase},
                    {"measured_s", json_number(row.point.measured_s)},
                    {"predicted_s", json_number(row.predicted_s)},
                    {"error_pct", json_number(row.error_pct)},
                    {"predicted_ops", ops_json(row.predicted)}});
    }
    if (!md) text += t.str();
    text += fmt::format("\n{} points: mean absolute error {:.2f} % (decode {:.2f} %, prefill {:.2f} %), worst {:.2f} % ({})\n\n",
                        r.rows.size(), r.mape_pct, r.decode_mape_pct, r.prefill_mape_pct, r.worst_abs_pct, r.worst_label);
    if ((o.max_mape > 0 && r.mape_pct > o.max_mape) || (o.max_worst > 0 && r.worst_abs_pct > o.max_worst)) failed = true;
  }
  if (!o.plot.empty()) {
    write_validation_plot(o.plot, meas, pred, labels, fmt::format("kvscope validate — {}, stack {}", gpu.id, o.stack),
                          recorded_command_line());
    text += fmt::format("wrote {}\n", o.plot);
  }
  if (f == Format::json) {
    boost::json::object j;
    j["provenance"] = provenance_json(recorded_command_line());
    j["gpu"] = gpu.id;
    j["stack"] = o.stack;
    j["timing"] = stack_timing(gpu, o.stack).origin;
    j["rows"] = std::move(jr);
    boost::json::array summary;
    for (std::size_t i = 0; i < reports.size(); ++i) {
      summary.push_back({{"file", names[i]},
                         {"mape_pct", json_number(reports[i].mape_pct)},
                         {"worst_abs_pct", json_number(reports[i].worst_abs_pct)},
                         {"worst", reports[i].worst_label}});
    }
    j["summary"] = std::move(summary);
    emit(pretty_json(j), "");
  } else {
    emit_text(text, "");
  }
  if (failed) {
    std::string limits;
    if (o.max_mape > 0) limits += fmt::format("mean <= {:g} %", o.max_mape);
    if (o.max_worst > 0) limits += fmt::format("{}worst <= {:g} %", limits.empty() ? "" : ", ", o.max_worst);
    throw Error(fmt::format("validation error above the limit ({})", limits));
  }
}

const Registrar reg_cal(40, [](CLI::App& app) {
  auto o = std::make_shared<CalibrateOptions>();
  CLI::App* sub = app.add_subcommand("calibrate", "fit a GPU profile's timing parameters to kvbench results (families 1-5)");
  sub->add_option("results", o->results, "kvbench result JSON files (kvbench-result/1)")->required()->check(CLI::ExistingFile);
  sub->add_option("--gpu", o->gpu, "GPU preset or profile the results were measured on")->required();
  sub->add_option("-o,--output", o->output, "write the calibrated profile JSON here (atomically)");
  sub->add_option("--format", o->format, "table or json [table]");
  sub->add_option("--stack", o->stack,
                  "kernel stack the results measure: kvbench (kvbench files) or torch-flash / torch-cudnn "
                  "(torch_bench files; hardware ceilings from --gpu's kvbench calibration) [kvbench]");
  sub->callback([o] { run_calibrate(*o); });
});

const Registrar reg_val(41, [](CLI::App& app) {
  auto o = std::make_shared<ValidateOptions>();
  CLI::App* sub =
      app.add_subcommand("validate", "predict kvbench's end-to-end decode/prefill points (family 6) and report the error");
  sub->add_option("results", o->results, "kvbench result JSON files")->required()->check(CLI::ExistingFile);
  sub->add_option("--gpu", o->gpu, "GPU preset or calibrated profile")->required();
  sub->add_option("--format", o->format, "table, markdown or json [table]");
  sub->add_option("--plot", o->plot, "measured vs predicted plot (.svg or .png)");
  // A gate threshold is a positive finite percentage: "nan", "-1", "" or "inf" would turn the CI
  // gate off silently.
  const CLI::Validator percent(
      [](std::string& text) -> std::string {
        char* end = nullptr;
        errno = 0;
        const double v = text.empty() ? 0 : std::strtod(text.c_str(), &end);
        if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE || !std::isfinite(v) || !(v > 0)) {
          return fmt::format("expected a positive finite percentage, found '{}'", display_text(text, 40));
        }
        return "";
      },
      "PERCENT > 0");
  sub->add_option("--max-mape", o->max_mape, "exit 2 when the mean absolute error (%) exceeds this")->check(percent);
  sub->add_option("--max-worst", o->max_worst, "exit 2 when the worst absolute error (%) exceeds this")->check(percent);
  sub->add_option("--stack", o->stack,
                  "kernel stack whose end-to-end points are predicted (axes.stack of the records) [kvbench]");
  sub->callback([o] { run_validate(*o); });
});

}  // namespace
}  // namespace kvscope::cli
