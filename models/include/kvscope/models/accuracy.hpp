#pragma once
// Accuracy model. Quality numbers come from the CLA paper (Brandon et al. 2024, arXiv
// 2405.12981 v1), bundled as data/paper/cla_paper_results.csv. For a configuration the paper
// trained, the measured validation perplexity is returned, labelled `measured` with its table.
// Otherwise an estimate from a least-squares fit on the paper's 1B design-space points (Table 1,
// uniform sharing only), labelled `estimated`, in sharing ratios against the model's own MHA (so
// a bigger model with the same head layout gets the same estimate, never a worse one):
//   ppl = c0 + c1 u + c2 v^2 + c3 x2,
//   u  = log2(n_q_heads / n_kv_heads)              (query heads per K/V head: 0 MHA, 2 GQA4, 4 MQA at 16 heads)
//   v  = max(0, log2(128 / head_dim))              (heads narrower than 128: the paper's H64/H46/H32)
//   x2 = log2(n_layers / storing layers)           (1 for CLA2).
// Every coefficient is >= 0 by the data (asserted by tests): more sharing never estimates better.
// For models other than the paper's 1B shape the fit is used *relatively*: ppl_delta_pct =
// 100 (f(x) - c0) / c0 against the same model with MHA and no layer sharing; `extrapolated` when
// the model's scale (d_model, layers) or its sharing lies outside the paper's data. Quantized
// K/V, sliding windows and MLA are outside the paper's data: flagged, never silently scored.
#include <string>
#include <vector>

#include "kvscope/core/architecture.hpp"

namespace kvscope::models {

enum class AccuracyKind { measured, estimated, unavailable };
const char* to_string(AccuracyKind);

struct AccuracyEstimate {
  double val_ppl = 0;        // absolute validation perplexity; NaN when not meaningful
  double ppl_delta_pct = 0;  // vs. the same model with MHA and no layer sharing; NaN if n/a
  AccuracyKind val_ppl_kind = AccuracyKind::unavailable;
  AccuracyKind delta_kind = AccuracyKind::unavailable;
  bool extrapolated = false;  // features outside the range the fit saw
  const char* source = "";    // static text: table, or which fit
  const char* caveat = "";    // static text: what the estimate ignores (K/V dtype, window)
};

struct PaperRow {
  std::string model_size;  // "1B", "3B"
  std::string table;
  std::string config;  // "H128-GQA4-CLA2"
  int head_dim = 0, n_q_heads = 0, n_kv_heads = 0, n_layers = 0, kv_layers = 0;
  double kv_bytes_per_token = 0;
  double learning_rate = 0;
  double val_ppl = 0;         // NaN when the table has none
  bool design_space = false;  // Table 1 (LR 3e-4), the rows the fit uses
  bool uniform = false;       // uniform sharing (no KeepEnds/DenseFront/DenseBack)
};

class AccuracyModel {
 public:
  // The model built from the embedded paper table (parsed and fitted once, thread-safe).
  static const AccuracyModel& bundled();
  explicit AccuracyModel(std::vector<PaperRow> rows);

  AccuracyEstimate estimate(const Architecture& arch) const;
  const std::vector<PaperRow>& rows() const { return rows_; }
  const std::vector<double>& coefficients() const { return coef_; }
  double fit_rms() const { return rms_; }
  double fit_max_abs() const { return max_abs_; }
  int fit_points() const { return n_fit_; }
  // ppl at features (u, v, x2) as above.
  double predict(double u, double v, double x2) const;
  // The fitted formula with its coefficients and residuals, one line (GUI footnote, paper command).
  std::string formula() const;
  // The 1B Table 1 row matching this architecture, or nullptr.
  const PaperRow* find_measured(const Architecture& arch) const;

 private:
  std::vector<PaperRow> rows_;
  std::vector<double> coef_;
  double rms_ = 0, max_abs_ = 0;
  double u_max_ = 0, v_max_ = 0, x2_max_ = 0;
  int n_fit_ = 0;
  double baseline_ppl_1b_ = 0;  // H128-MHA, Table 1
};

std::vector<PaperRow> parse_paper_rows(const std::string& csv_text, const std::string& where);

}  // namespace kvscope::models
