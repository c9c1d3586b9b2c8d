#pragma once
// Accuracy model. Quality numbers come from the CLA paper (Brandon et al. 2024, arXiv
// 2405.12981 v1), bundled as data/paper/cla_paper_results.csv. For a configuration the paper
// trained, the measured validation perplexity is returned, labelled `measured` with its table.
// Otherwise an estimate from a least-squares fit on the paper's 1B design-space points (Table 1,
// uniform sharing only), labelled `estimated`:
//   ppl = c0 + c1 x1^2 + c2 x2   (no linear x1 term, so removing K/V width never *improves*
//   the estimate: the quadratic's vertex sits at MHA),
//   x1 = log2(K/V elements per token per storing layer / (2 d_model))  (0 for MHA with
//        n_q head_dim = d_model; -4 for MQA at head_dim 128 in the 1B model),
//   x2 = log2(n_layers / storing layers)                             (1 for CLA2).
// For models other than the paper's 1B shape the fit is used only *relatively*: ppl_delta_pct =
// 100 (f(x) - f(0, 0)) / f(0, 0), the change against the same model with MHA and no layer
// sharing. Quantized K/V, sliding windows and MLA are outside the paper's data: they are
// flagged, never silently scored.
#include <string>
#include <vector>

#include "kvscope/core/architecture.hpp"

namespace kvscope::models {

enum class AccuracyKind { measured, estimated, unavailable };
const char* to_string(AccuracyKind);

struct AccuracyEstimate {
  double val_ppl = 0;          // absolute validation perplexity; NaN when not meaningful
  double ppl_delta_pct = 0;    // vs. the same model with MHA and no layer sharing; NaN if n/a
  AccuracyKind val_ppl_kind = AccuracyKind::unavailable;
  AccuracyKind delta_kind = AccuracyKind::unavailable;
  bool extrapolated = false;   // features outside the range the fit saw
  const char* source = "";     // static text: table, or which fit
  const char* caveat = "";     // static text: what the estimate ignores (K/V dtype, window)
};

struct PaperRow {
  std::string model_size;  // "1B", "3B"
  std::string table;
  std::string config;      // "H128-GQA4-CLA2"
  int head_dim = 0, n_q_heads = 0, n_kv_heads = 0, n_layers = 0, kv_layers = 0;
  double kv_bytes_per_token = 0;
  double learning_rate = 0;
  double val_ppl = 0;      // NaN when the table has none
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
  double predict(double x1, double x2) const;
  // The 1B Table 1 row matching this architecture, or nullptr.
  const PaperRow* find_measured(const Architecture& arch) const;

 private:
  std::vector<PaperRow> rows_;
  std::vector<double> coef_;
  double rms_ = 0, max_abs_ = 0;
  double x1_min_ = 0, x1_max_ = 0, x2_max_ = 0;
  int n_fit_ = 0;
  double baseline_ppl_1b_ = 0;  // H128-MHA, Table 1
};

std::vector<PaperRow> parse_paper_rows(const std::string& csv_text, const std::string& where);

}  // namespace kvscope::models
