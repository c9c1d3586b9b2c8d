// `kvscope eval`: one design point — memory, decode/prefill timing, serving view, accuracy.
#include <fmt/format.h>

#include "command.hpp"
#include "design_flags.hpp"
#include "design_point.hpp"
#include "kvscope/core/csv.hpp"
#include "kvscope/core/design.hpp"
#include "kvscope/core/display.hpp"
#include "kvscope/core/loaders.hpp"
#include "kvscope/core/output_file.hpp"
#include "kvscope/core/units.hpp"
#include "kvscope/explorer/scenario_sweep.hpp"
#include "kvscope/models/evaluate.hpp"
#include "kvscope/models/fields.hpp"
#include "output.hpp"
#include "pool_output.hpp"
#include "writers.hpp"

namespace kvscope::cli {

namespace {

struct EvalOptions {
  DesignFlags design;
  OutputFlags out;
  bool per_layer = false;
};

std::string ops_table(const models::PhaseCost& ph) {
  Table t({"op", "time", "share", "HBM bytes", "FLOPs", "bound", "kernels"}, {false, true, true, true, true, false, true});
  for (int i = 0; i < models::kOpCount; ++i) {
    const auto& c = ph.ops[static_cast<std::size_t>(i)];
    if (c.kernels == 0) continue;
    t.add({models::op_name(static_cast<models::Op>(i)), human_time(c.time_s), fmt::format("{:.1f} %", 100 * c.time_s / ph.time_s),
           human_bytes_short(c.bytes), human_count(c.flops), c.compute_bound() ? "compute" : "memory",
           fmt::format("{:.0f}", c.kernels)});
  }
  t.add({"total", human_time(ph.time_s), "100 %", human_bytes_short(ph.bytes), human_count(ph.flops), "",
         fmt::format("{:.0f}", ph.kernels)});
  return t.str();
}

void run_eval(const EvalOptions& opt) {
  const Format format = parse_format(opt.out.format);
  check_output_target(opt.out.output);  // before any work
  const Scenario scenario = to_scenario(opt.design);
  const std::unique_ptr<DesignPoint> dp = evaluate_design(scenario);
  const SingleDesign& d = dp->design;
  const models::ArchProfile& profile = dp->profile;
  const StackTiming& st = dp->timing;
  const TimingParams& params = st.params;
  const models::ArchFacts& facts = dp->facts;
  const models::PointResult& p = dp->point;
  const auto& m = p.eval.memory;
  const auto& acc = facts.accuracy;
  const std::string variant = variant_name(d.arch);
  const std::string weight_note = models::weight_timing_note(profile, d.gpu, params);
  const auto layers = opt.per_layer ? models::layer_breakdown(d.arch, profile, d.workload) : std::vector<models::LayerRow>{};
  const std::string context_warn = context_warning(d.arch, d.workload.context);

  // The point record every command writes (writers.hpp): the same CSV columns and JSON keys, in
  // the same order, as a sweep's row of this design.
  const Record record = dp->record();
  if (format == Format::json) {
    boost::json::object o = to_json(record);
    // What only a single point reports, after the record.
    o["provenance"] = provenance_json(recorded_command_line());
    o["model_name"] = d.arch.name;
    o["sharing"] = sharing_label(d.arch);
    o["weight_timing"] = weight_note;
    o["weight_timing_estimated"] = models::weight_timing_estimated(profile, d.gpu, params);
    o["gpu_name"] = d.gpu.name;
    o["timing_params"] = st.origin;
    o["max_position_embeddings"] = json_number(static_cast<double>(d.arch.max_position_embeddings));
    boost::json::array warnings;
    if (!context_warn.empty()) warnings.push_back(boost::json::value(context_warn));
    o["warnings"] = std::move(warnings);
    o["accuracy_caveat"] = acc.caveat;
    o["kv_pool"] = kv_pool_json(m.pool, m.max_concurrency, d.workload.context, d.gpu);
    o["decode_ops"] = ops_json(p.eval.decode);
    o["prefill_ops"] = ops_json(p.eval.prefill);
    if (opt.per_layer) {
      boost::json::array a;
      for (const auto& r : layers) {
        a.push_back({{"layer", r.layer},
                     {"producer", r.producer},
                     {"stores_kv", r.stores_kv},
                     {"local", r.local},
                     {"positions_stored", json_number(r.positions_stored)},
                     {"positions_read", json_number(r.positions_read)},
                     {"kv_stored_bytes", json_number(r.kv_stored_bytes)},
                     {"kv_read_bytes", json_number(r.kv_read_bytes)},
                     {"weight_bytes", json_number(r.weight_bytes)}});
      }
      o["layers"] = std::move(a);
    }
    emit(pretty_json(o), opt.out.output);
    return;
  }
  if (format == Format::csv) {
    auto w = csv_writer();
    emit(w->begin(record) + w->row(record), opt.out.output);
    return;
  }
  std::string out;
  // Names come from files: one line, no control characters, elided.
  out += fmt::format("kvscope {} — {} ({}, {} K/V) on {}\n", KVSCOPE_VERSION,
                     display_text(d.arch.name.empty() ? d.arch.id : d.arch.name, 120), variant, to_string(d.arch.kv_dtype),
                     display_text(d.gpu.name, 120));
  out += fmt::format("timing parameters: {}\n", st.origin);
  out += fmt::format("weights: {} ({:.4g} B per linear-layer weight incl. scales; embedding, LM head, norms, router bf16){}\n",
                     to_string(d.arch.weight_dtype), profile.weight_bytes_per_elem,
                     weight_note.empty() ? "" : "\n  timing: " + weight_note);
  out += fmt::format("workload: batch {}, context {}, prompt {}, tp {}, stack {}, runtime {}{}\n\n", d.workload.batch,
                     d.workload.context, d.workload.prompt, d.workload.tp, st.stack, to_string(d.workload.runtime),
                     d.workload.tpot_limit_s > 0 ? fmt::format(", TPOT limit {}", human_time(d.workload.tpot_limit_s)) : "");
  if (!context_warn.empty()) out += fmt::format("warning: {}\n\n", context_warn);
  Table mem({"memory (per GPU)", "value", "note"}, {false, true, false});
  mem.add({"KV bytes per token", fmt::format("{:.0f} B", m.kv_bytes_per_token),
           fmt::format("whole model; {} of {} layers store K/V{}", facts.kv_layers, d.arch.n_layers,
                       d.arch.window > 0 ? ", unwindowed (every position on every layer)" : "")});
  if (d.arch.window > 0) {
    mem.add({"KV bytes per token, effective", fmt::format("{:.0f} B", m.kv_bytes_per_token_effective),
             fmt::format("at context {}: local layers hold min(S, {}) positions", d.workload.context, d.arch.window)});
  }
  if (d.workload.tp > 1) {
    mem.add({"KV bytes per token per GPU", fmt::format("{:.0f} B", m.kv_bytes_per_token_gpu),
             fmt::format("{} K/V heads per GPU{}", profile.kv_heads_per_gpu,
                         d.arch.n_kv_heads < d.workload.tp ? " (replicated: fewer K/V heads than GPUs)" : "")});
  }
  mem.add(
      {"KV cache", human_bytes(m.kv_cache_bytes), fmt::format("batch {} x context {}", d.workload.batch, d.workload.context)});
  mem.add({"KV read per decode step", human_bytes(m.kv_read_bytes_per_step),
           facts.kv_layers < d.arch.n_layers ? "every attention layer reads what it attends to (CLA shares storage, not reads)"
                                             : "every attention layer reads its K/V"});
  mem.add({"weights", human_bytes(m.weight_bytes), fmt::format("{} parameters", human_count(m.param_count))});
  mem.add({"engine buffers", human_bytes(m.workspace_bytes + m.reserve_bytes),
           "activation peak + sampler + CUDA graphs + all-reduce + non-torch (below)"});
  mem.add({"total / budget", fmt::format("{} / {}", human_bytes_short(m.total_bytes), human_bytes_short(m.capacity_bytes)),
           m.feasible ? "fits" : m.reason});
  mem.add({"max batch", std::to_string(m.max_batch),
           fmt::format(
               "at context {}{}", d.workload.context,
               m.max_batch == m.pool.max_num_seqs ? fmt::format(" (limited by --max-num-seqs {})", m.pool.max_num_seqs) : "")});
  mem.add({"max context", m.max_context >= models::kUnboundedContext ? "unbounded" : std::to_string(m.max_context),
           fmt::format("at batch {}", d.workload.batch)});
  out += mem.str();
  out += kv_pool_text(m.pool, m.max_concurrency, d.workload.context, d.workload.engine) + "\n";
  out += fmt::format("decode step: {} → {:.1f} tokens/s (TPOT {}), {:.0f} GB/s = {:.1f} % of the read ceiling\n",
                     human_time(p.eval.decode_step_s), p.eval.decode_tokens_per_s, human_time(p.eval.tpot_s),
                     p.eval.achieved_Bps / 1e9, 100 * p.eval.bw_fraction);
  if (p.eval.decode.l2_saved_bytes > 0) {
    out +=
        fmt::format("  CLA consumers found {} of their producers' K/V in L2\n", human_bytes_short(p.eval.decode.l2_saved_bytes));
  }
  out += ops_table(p.eval.decode) + "\n";
  out += fmt::format("prefill ({} x {} tokens): {} ; TTFT {}\n", d.workload.batch, d.workload.prompt,
                     human_time(p.eval.prefill_s), human_time(p.eval.ttft_s));
  out += ops_table(p.eval.prefill) + "\n";
  out += fmt::format("serving view at context {}: best batch {} → {:.1f} tokens/s (TPOT {}){}\n", d.workload.context,
                     p.eval.max_throughput_batch, p.eval.max_throughput_tokens_per_s, human_time(p.eval.max_throughput_step_s),
                     d.workload.tpot_limit_s > 0 ? " within the TPOT limit" : ", limited by memory");
  if (d.workload.serving.has_slo()) {
    const ServingLoad& sv = d.workload.serving;
    out += fmt::format(
        "goodput (TTFT p{:g} <= {}, TPOT p{:g} <= {}; Poisson, {} requests, prompt {}, output {}, seed {}): {} req/s{}\n",
        sv.slo_percentile, sv.ttft_slo_s > 0 ? human_time(sv.ttft_slo_s) : "any", sv.slo_percentile,
        sv.tpot_slo_s > 0 ? human_time(sv.tpot_slo_s) : "any", sv.requests, sv.isl, sv.osl, sv.seed,
        fmt::format("{:.4g}", p.eval.goodput_rps), p.eval.goodput_reason.empty() ? "" : " — " + p.eval.goodput_reason);
  }
  out += fmt::format("accuracy: val_ppl {} ({}), ppl change vs MHA/no sharing {} ({}){}\n  source: {}{}\n",
                     std::isfinite(acc.val_ppl) ? fmt::format("{:.2f}", acc.val_ppl) : "n/a", models::to_string(acc.val_ppl_kind),
                     std::isfinite(acc.ppl_delta_pct) ? fmt::format("{:+.2f} %", acc.ppl_delta_pct) : "n/a",
                     models::to_string(acc.delta_kind), acc.extrapolated ? ", extrapolated beyond the fitted range" : "",
                     acc.source, *acc.caveat ? fmt::format("\n  caveat: {}", acc.caveat) : "");
  if (opt.per_layer) {
    Table t({"layer", "reads K/V of", "stores", "kind", "positions stored", "KV stored", "KV read/step", "weights"},
            {true, true, false, false, true, true, true, true});
    for (const auto& r : layers) {
      t.add({std::to_string(r.layer), std::to_string(r.producer), r.stores_kv ? "yes" : "-", r.local ? "local" : "global",
             fmt::format("{:.0f}", r.positions_stored), human_bytes_short(r.kv_stored_bytes), human_bytes_short(r.kv_read_bytes),
             human_bytes_short(r.weight_bytes)});
    }
    out += "\n" + t.str();
  }
  emit_text(out, opt.out.output);
}

const Registrar reg(10, [](CLI::App& app) {
  auto opt = std::make_shared<EvalOptions>();
  CLI::App* sub = app.add_subcommand("eval", "evaluate one design point: memory, decode/prefill time, serving view, accuracy");
  add_design_flags(sub, opt->design, false);
  add_output_flags(sub, opt->out, "table, json or csv");
  sub->add_flag("--per-layer", opt->per_layer, "add the per-layer breakdown (producer map, K/V stored and read)");
  sub->callback([opt] { run_eval(*opt); });
});

}  // namespace
}  // namespace kvscope::cli
