#include "kvscope/models/accuracy.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "kvscope/core/csv.hpp"
#include "kvscope/core/embedded_data.hpp"
#include "kvscope/core/enum_names.hpp"
#include "kvscope/core/error.hpp"
#include "kvscope/models/fit.hpp"

namespace kvscope::models {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr const char* kTable1 = "CLA paper arXiv v1 Table 1 (1B, LR 3e-4), measured";
constexpr const char* kTable56 = "CLA paper arXiv v1 Tables 5+6 (3B, tuned LR), measured";
constexpr const char* kFit1B =
    "estimated: fit on CLA paper 1B Table 1 uniform rows (ppl = c0 + c1 log2(n_q/n_kv) + c2 max(0, log2(128/head_dim))^2 + c3 "
    "log2(L/L_kv))";
constexpr const char* kFitRel = "estimated: CLA paper 1B fit applied relatively (vs. same model, MHA, no sharing)";

// Features in sharing ratios against the model's own MHA (accuracy.hpp).
double feature_u(double n_q, double n_kv) {
  return std::log2(n_q / n_kv);
}
double feature_v(double head_dim) {
  return std::max(0.0, std::log2(128.0 / head_dim));
}
double feature_x2(double layers, double kv_layers) {
  return std::log2(layers / kv_layers);
}
bool is_paper_1b(const Architecture& a) {
  return a.d_model == 2048 && a.n_layers == 20 && a.ffn_dim == 5472;
}
bool is_paper_3b(const Architecture& a) {
  return a.d_model == 3072 && a.n_layers == 32 && a.ffn_dim == 8192;
}
}  // namespace

const char* to_string(AccuracyKind k) {
  return enum_name<AccuracyKind::unavailable>(k, {"measured", "estimated", "unavailable"});
}

std::vector<PaperRow> parse_paper_rows(const std::string& text, const std::string& where) {
  const CsvTable t = parse_csv(text, where);
  const std::size_t c_size = t.column("model_size", where), c_table = t.column("source_table", where),
                    c_name = t.column("config_name", where), c_hd = t.column("d_head", where),
                    c_q = t.column("n_query_heads", where), c_kv = t.column("n_kv_heads", where),
                    c_l = t.column("n_layers", where), c_kvl = t.column("n_kv_layers", where),
                    c_bytes = t.column("kv_bytes_per_token", where), c_lr = t.column("learning_rate", where),
                    c_ppl = t.column("val_ppl", where), c_pat = t.column("sharing_pattern", where);
  std::vector<PaperRow> rows;
  std::size_t line = 1;
  for (const auto& r : t.rows) {
    ++line;
    const std::string at = fmt::format("{} row {}", where, line);
    auto num = [&](std::size_t c) {
      try {
        std::size_t used = 0;
        const double v = std::stod(r[c], &used);
        if (used != r[c].size() || !std::isfinite(v)) throw std::invalid_argument("x");
        return v;
      } catch (const std::exception&) {
        throw InputError(at, t.header[c], "a number", fmt::format("'{}'", r[c]));
      }
    };
    PaperRow p;
    p.model_size = r[c_size];
    p.table = r[c_table];
    p.config = r[c_name];
    p.head_dim = static_cast<int>(num(c_hd));
    p.n_q_heads = static_cast<int>(num(c_q));
    p.n_kv_heads = static_cast<int>(num(c_kv));
    p.n_layers = static_cast<int>(num(c_l));
    p.kv_layers = static_cast<int>(num(c_kvl));
    p.kv_bytes_per_token = num(c_bytes);
    p.learning_rate = num(c_lr);
    p.val_ppl = r[c_ppl].empty() ? kNaN : num(c_ppl);
    p.design_space = p.table.find("Table 1 ") != std::string::npos;
    p.uniform = r[c_pat].rfind("none", 0) == 0 || r[c_pat].rfind("uniform", 0) == 0;
    rows.push_back(std::move(p));
  }
  return rows;
}

const AccuracyModel& AccuracyModel::bundled() {
  static const AccuracyModel model = [] {
    for (const auto& f : embedded_files()) {
      if (f.path == "paper/cla_paper_results.csv") {
        return AccuracyModel(parse_paper_rows(std::string(f.content), "data/paper/cla_paper_results.csv"));
      }
    }
    throw IoError("embedded data lacks paper/cla_paper_results.csv (rebuild kvscope)");
  }();
  return model;
}

AccuracyModel::AccuracyModel(std::vector<PaperRow> rows) : rows_(std::move(rows)) {
  std::vector<double> x, y;
  u_max_ = 0, v_max_ = 0, x2_max_ = 0;
  for (const PaperRow& r : rows_) {
    if (r.model_size == "1B" && r.config == "H128-MHA" && r.design_space) baseline_ppl_1b_ = r.val_ppl;
    if (!(r.model_size == "1B" && r.design_space && r.uniform && std::isfinite(r.val_ppl))) continue;
    const double u = feature_u(r.n_q_heads, r.n_kv_heads), v = feature_v(r.head_dim), x2 = feature_x2(r.n_layers, r.kv_layers);
    x.insert(x.end(), {1.0, u, v * v, x2});
    y.push_back(r.val_ppl);
    u_max_ = std::max(u_max_, u);
    v_max_ = std::max(v_max_, v);
    x2_max_ = std::max(x2_max_, x2);
  }
  n_fit_ = static_cast<int>(y.size());
  coef_ = linear_least_squares(x, y, 4);
  double ss = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    const double e = y[i] - (coef_[0] + coef_[1] * x[i * 4 + 1] + coef_[2] * x[i * 4 + 2] + coef_[3] * x[i * 4 + 3]);
    ss += e * e;
    max_abs_ = std::max(max_abs_, std::abs(e));
  }
  rms_ = y.empty() ? 0.0 : std::sqrt(ss / static_cast<double>(y.size()));
}

double AccuracyModel::predict(double u, double v, double x2) const {
  return coef_[0] + coef_[1] * u + coef_[2] * v * v + coef_[3] * x2;
}

std::string AccuracyModel::formula() const {
  return fmt::format(
      "ppl = {:.4f} {:+.4f} log2(n_q/n_kv) {:+.4f} max(0, log2(128/head_dim))^2 {:+.4f} log2(L/L_kv); fitted on {} uniform CLA "
      "paper 1B Table 1 rows, rms residual {:.3f} ppl, max {:.3f}; other models: relative to their own MHA",
      coef_[0], coef_[1], coef_[2], coef_[3], n_fit_, rms_, max_abs_);
}

const PaperRow* AccuracyModel::find_measured(const Architecture& a) const {
  if (a.mla || std::any_of(a.layer_kind.begin(), a.layer_kind.end(), [](LayerKind k) { return k == LayerKind::local; })) {
    return nullptr;
  }
  if (a.kv_dtype != KvDtype::bf16 && a.kv_dtype != KvDtype::fp16) return nullptr;
  const std::string name = variant_name(a);
  const bool b1 = is_paper_1b(a), b3 = is_paper_3b(a);
  if (!b1 && !b3) return nullptr;
  for (const PaperRow& r : rows_) {
    if (r.config != name || r.n_q_heads != a.n_q_heads || !std::isfinite(r.val_ppl)) continue;
    if (b1 && r.model_size == "1B" && r.design_space) return &r;
    if (b3 && r.model_size == "3B") return &r;
  }
  return nullptr;
}

AccuracyEstimate AccuracyModel::estimate(const Architecture& a) const {
  AccuracyEstimate e;
  e.val_ppl = kNaN;
  e.ppl_delta_pct = kNaN;
  if (a.mla) {
    e.source = "unavailable: MLA is outside the CLA paper's data";
    return e;
  }
  const bool local = std::any_of(a.layer_kind.begin(), a.layer_kind.end(), [](LayerKind k) { return k == LayerKind::local; });
  if (local) e.caveat = "sliding-window layers not in the paper's data: their effect is not estimated";
  if (a.kv_dtype != KvDtype::bf16 && a.kv_dtype != KvDtype::fp16) {
    // No quality data for quantized K/V in the paper: scoring it like bf16 would put every int4
    // cache on the frontier for free. Say so instead.
    e.source = "unavailable: K/V quantization is outside the CLA paper's data";
    e.caveat = "the quality cost of fp8/int8/int4 K/V is not estimated";
    return e;
  }
  const double u = feature_u(a.n_q_heads, a.n_kv_heads), v = feature_v(a.head_dim);
  const double x2 = feature_x2(a.n_layers, kv_layer_count(a));
  // The paper's data: 1B and 3B models (d_model 2048 / 3072, 20 / 32 layers), head_dim 32..512,
  // up to 64 query heads per K/V head, up to 4 layers per K/V layer.
  const bool scale_out = a.d_model < 2048 || a.d_model > 3072 || a.n_layers < 20 || a.n_layers > 32;
  const bool sharing_out = u > u_max_ + 1e-9 || v > v_max_ + 1e-9 || a.head_dim > 512 || x2 > x2_max_ + 1e-9;
  e.extrapolated = scale_out || sharing_out;
  const double f0 = predict(0.0, 0.0, 0.0);
  e.ppl_delta_pct = 100.0 * (predict(u, v, x2) - f0) / f0;
  e.delta_kind = AccuracyKind::estimated;
  e.source = kFitRel;
  if (const PaperRow* m = find_measured(a)) {
    e.val_ppl = m->val_ppl;
    e.val_ppl_kind = AccuracyKind::measured;
    if (m->model_size == "1B") {
      e.ppl_delta_pct = 100.0 * (m->val_ppl - baseline_ppl_1b_) / baseline_ppl_1b_;
      e.delta_kind = AccuracyKind::measured;
      e.source = kTable1;
    } else {
      e.source = kTable56;
    }
  } else if (is_paper_1b(a)) {
    e.val_ppl = predict(u, v, x2);
    e.val_ppl_kind = AccuracyKind::estimated;
    e.source = kFit1B;
  }
  return e;
}

}  // namespace kvscope::models
