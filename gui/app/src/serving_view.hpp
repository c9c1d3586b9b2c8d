#pragma once
// The Serving view: TTFT / TPOT percentiles and output throughput against the Poisson request
// rate for the current design and its CLA siblings (the same K/V heads), simulated by the models
// library (models::rate_curve, kvscope simulate's scheduler) on a worker thread with progress; the
// SLO targets, when set, are reference lines. The load and targets are the registry's serving
// fields (--isl, --osl, --ttft-slo-ms, --tpot-slo-ms), held by the view: the design model's
// evaluation (every keystroke) never runs a simulation.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "simple_views.hpp"
#include "view_specs.hpp"

QT_BEGIN_NAMESPACE
class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QTimer;
QT_END_NAMESPACE

namespace kvscope::gui {

class ServingView : public DesignView {
  Q_OBJECT
 public:
  explicit ServingView(DesignModel* model, QWidget* parent = nullptr);
  ~ServingView() override;
  // Starts a computation for the current design (a running one is cancelled); the chart follows
  // when it finishes (computed()). A bad load or target is shown next to the controls.
  void refresh() override;
  bool busy() const { return job_ != nullptr; }
  QLineEdit* editor(const QString& field) const;  // "isl", "osl", "ttft_slo_ms", "tpot_slo_ms"
  QString errorText() const;
  const std::vector<ServingCurve>& curves() const { return curves_; }

 signals:
  void computed();  // a computation finished and the chart shows it (or its error)

 private:
  struct Job {
    std::atomic<bool> cancel{false};
    std::atomic<int> done{0};
    int total = 0;
    std::atomic<bool> finished{false};
    std::vector<ServingCurve> curves;  // written by the worker, read after `finished`
    std::string error;
  };
  void poll();
  void redraw();
  void stop();

  QLineEdit *isl_, *osl_, *ttft_, *tpot_;
  QComboBox* metric_;
  QProgressBar* progress_;
  QLabel* status_;
  QTimer* timer_;
  std::shared_ptr<Job> job_;
  std::thread worker_;
  std::vector<ServingCurve> curves_;
  ServingInputs inputs_;
  std::string key_;  // design and load of the curves shown or being computed
};

}  // namespace kvscope::gui
