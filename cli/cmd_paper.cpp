// `kvscope paper`: the CLA paper's 1B design space (Table 1) from bundled data — KV bytes/token
// recomputed by kvscope next to the paper's, validation perplexity, and the Pareto frontier of
// (KV bytes/token: min, val ppl: min), plus the accuracy fit's coefficients and residuals.
#include <fmt/format.h>

#include <cmath>

#include "command.hpp"
#include "kvscope/core/csv.hpp"
#include "kvscope/core/design.hpp"
#include "kvscope/core/display.hpp"
#include "kvscope/core/error.hpp"
#include "kvscope/core/loaders.hpp"
#include "kvscope/core/output_file.hpp"
#include "kvscope/explorer/pareto.hpp"
#include "kvscope/models/accuracy.hpp"
#include "kvscope/models/memory.hpp"
#include "kvscope/models/profile.hpp"
#include "output.hpp"
#include "plotting.hpp"

namespace kvscope::cli {
namespace {

struct PaperOptions {
  std::string format = "table";
  std::string plot;
  std::string output;
};

struct PaperPoint {
  const models::PaperRow* row;
  double kvscope_bytes;
  bool frontier = false;
};

void run_paper(const PaperOptions& o) {
  const Format f = parse_format(o.format);
  check_output_target(o.output);
  if (!o.plot.empty()) {
    plot_format_of(o.plot, "--plot");
    check_output_target(o.plot);
    if (same_output_file(o.plot, o.output)) {
      throw InputError("--plot", "", "a file other than the one -o writes",
                       fmt::format("'{}' (also -o)", display_text(o.plot, 200)));
    }
  }
  const auto& acc = models::AccuracyModel::bundled();
  const Architecture base = load_architecture("cla-paper-1b");
  std::vector<PaperPoint> pts;
  for (const auto& r : acc.rows()) {
    if (r.model_size != "1B" || !r.design_space) continue;
    ArchOverrides ov;
    ov.variant = r.config;
    ov.n_q_heads = r.n_q_heads;
    const Architecture a = apply_overrides(base, ov, "paper " + r.config);
    const models::ArchProfile p = models::make_profile(a, 1);
    pts.push_back({&r, p.kv_bytes_per_elem * p.kv_elems_layer_total * p.kv_layers});
  }
  std::vector<double> values;
  for (const auto& p : pts) values.insert(values.end(), {p.kvscope_bytes, p.row->val_ppl});
  const std::vector<Sense> senses = {Sense::minimize, Sense::minimize};
  for (std::size_t i : pareto_front(values, senses)) pts[i].frontier = true;

  if (f == Format::json) {
    boost::json::object j;
    j["provenance"] = provenance_json(recorded_command_line());
    j["source"] = "CLA paper arXiv 2405.12981 v1 Table 1 (1B, LR 3e-4), data/paper/cla_paper_results.csv";
    boost::json::array rows, frontier;
    for (const auto& p : pts) {
      rows.push_back({{"config", p.row->config},
                      {"d_head", p.row->head_dim},
                      {"n_query_heads", p.row->n_q_heads},
                      {"n_kv_heads", p.row->n_kv_heads},
                      {"n_kv_layers", p.row->kv_layers},
                      {"kv_bytes_per_token_paper", json_number(p.row->kv_bytes_per_token)},
                      {"kv_bytes_per_token", json_number(p.kvscope_bytes)},
                      {"val_ppl", json_number(p.row->val_ppl)},
                      {"val_ppl_kind", "measured"},
                      {"on_frontier", p.frontier}});
      if (p.frontier) frontier.push_back(boost::json::value(p.row->config));
    }
    j["rows"] = std::move(rows);
    j["frontier"] = std::move(frontier);
    const auto& c = acc.coefficients();
    j["fit"] = {{"formula", acc.formula()},
                {"coefficients", {c[0], c[1], c[2], c[3]}},
                {"points", acc.fit_points()},
                {"rms_residual", acc.fit_rms()},
                {"max_abs_residual", acc.fit_max_abs()}};
    emit(pretty_json(j), o.output);
  } else if (f == Format::csv) {
    std::string s =
        "config,d_head,n_query_heads,n_kv_heads,n_kv_layers,kv_bytes_per_token_paper,kv_bytes_per_token,val_ppl,on_frontier\n";
    for (const auto& p : pts) {
      s +=
          fmt::format("{},{},{},{},{},{:.0f},{:.0f},{},{}\n", p.row->config, p.row->head_dim, p.row->n_q_heads, p.row->n_kv_heads,
                      p.row->kv_layers, p.row->kv_bytes_per_token, p.kvscope_bytes, p.row->val_ppl, p.frontier ? 1 : 0);
    }
    emit(s, o.output);
  } else {
    std::string s =
        "CLA paper (Brandon et al. 2024, arXiv 2405.12981 v1), Table 1: 1B models, 20 layers, d_model 2048, LR 3e-4\n";
    s += "KV bytes/token recomputed by kvscope from each configuration; val ppl as measured by the paper.\n\n";
    Table t({"configuration", "d_head", "q heads", "kv heads", "kv layers", "KV B/token (paper)", "KV B/token (kvscope)",
             "val ppl", "Pareto"},
            {false, true, true, true, true, true, true, true, false});
    for (const auto& p : pts) {
      t.add({p.row->config, std::to_string(p.row->head_dim), std::to_string(p.row->n_q_heads), std::to_string(p.row->n_kv_heads),
             std::to_string(p.row->kv_layers), fmt::format("{:.0f}", p.row->kv_bytes_per_token),
             fmt::format("{:.0f}", p.kvscope_bytes), fmt::format("{:.2f}", p.row->val_ppl), p.frontier ? "frontier" : ""});
    }
    s += t.str();
    s += fmt::format("\naccuracy fit (for configurations the paper did not train):\n  {}\n", acc.formula());
    emit(s, o.output);
  }
  if (!o.plot.empty()) {
    ParetoPlot pp;
    for (const auto& p : pts) {
      pp.all_x.push_back(p.kvscope_bytes);
      pp.all_y.push_back(p.row->val_ppl);
      if (p.frontier) {
        pp.front_x.push_back(p.kvscope_bytes);
        pp.front_y.push_back(p.row->val_ppl);
        pp.front_labels.push_back(p.row->config);
      }
    }
    pp.x_title = "KV bytes per token (16-bit)";
    pp.x_unit = "B";
    pp.x_log = true;
    pp.y_title = "validation perplexity (measured)";
    pp.title = "CLA paper, 1B design space: KV memory vs. perplexity";
    pp.subtitle = "Table 1 of arXiv 2405.12981 v1 (LR 3e-4); frontier = non-dominated configurations";
    pp.footnote = fmt::format("kvscope {} — `{}` — data/paper/cla_paper_results.csv", KVSCOPE_VERSION, recorded_command_line());
    write_pareto_plot(o.plot, pp);
    if (f == Format::table) std::fprintf(stderr, "wrote %s\n", o.plot.c_str());
  }
}

const Registrar reg(30, [](CLI::App& app) {
  auto o = std::make_shared<PaperOptions>();
  CLI::App* sub =
      app.add_subcommand("paper", "reproduce the CLA paper's 1B design-space table and Pareto frontier from bundled data");
  sub->add_option("--format", o->format, "table, json or csv [table]");
  sub->add_option("--plot", o->plot, "write the Pareto figure (.svg or .png)");
  sub->add_option("-o,--output", o->output, "write the table/JSON/CSV here (atomically)");
  sub->callback([o] { run_paper(*o); });
});

}  // namespace
}  // namespace kvscope::cli
