#include "serving_view.hpp"

#include <QComboBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QTimer>
#include <QVBoxLayout>

#include "chart_panel.hpp"
#include "design_model.hpp"
#include "kvscope/core/design.hpp"
#include "kvscope/core/design_fields.hpp"
#include "kvscope/core/error.hpp"
#include "kvscope/core/scenario.hpp"
#include "kvscope/models/simulate.hpp"

namespace kvscope::gui {

ServingView::ServingView(DesignModel* model, QWidget* parent) : DesignView(model, parent) {
  setObjectName("serving_view");
  // Editors of the registry's serving fields: label and tooltip from the row, default as placeholder.
  auto edit = [&](const char* name, const QString& label, const QString& initial) {
    const DesignField& f = design_field(name);
    auto* e = new QLineEdit(initial, this);
    e->setObjectName(QString("serving_") + name);
    e->setPlaceholderText(QString::fromUtf8(f.default_text.data(), static_cast<int>(f.default_text.size())));
    e->setToolTip(QString::fromUtf8(f.description.data(), static_cast<int>(f.description.size())) + " (" +
                  QString::fromStdString(f.flag()) + ")");
    e->setMaximumWidth(110);
    auto* l = new QLabel(label, this);
    l->setBuddy(e);
    controls_->addWidget(l);
    controls_->addWidget(e);
    connect(e, &QLineEdit::editingFinished, this, &ServingView::refresh);
    return e;
  };
  isl_ = edit("isl", tr("Pro&mpt"), "2048");
  osl_ = edit("osl", tr("O&utput"), "256");
  ttft_ = edit("ttft_slo_ms", tr("TTFT ≤ ms"), "2000");
  tpot_ = edit("tpot_slo_ms", tr("TPOT ≤ ms"), "50");
  controls_->addStretch(1);
  // Second row: what to plot, progress, messages.
  auto* row = new QHBoxLayout;
  metric_ = new QComboBox(this);
  metric_->setObjectName("serving_metric");
  metric_->addItem(tr("TTFT p90"), static_cast<int>(ServingMetric::ttft));
  metric_->addItem(tr("TPOT p90"), static_cast<int>(ServingMetric::tpot));
  metric_->addItem(tr("output tokens/s"), static_cast<int>(ServingMetric::throughput));
  metric_->setToolTip(tr("The percentile latency (or the throughput) plotted against the request rate."));
  auto* ml = new QLabel(tr("&Plot"), this);
  ml->setBuddy(metric_);
  row->addWidget(ml);
  row->addWidget(metric_);
  progress_ = new QProgressBar(this);
  progress_->setObjectName("serving_progress");
  progress_->setMaximumWidth(160);
  progress_->setTextVisible(true);
  row->addWidget(progress_);
  status_ = new QLabel(this);
  status_->setObjectName("serving_status");
  status_->setWordWrap(true);
  row->addWidget(status_, 1);
  static_cast<QVBoxLayout*>(layout())->insertLayout(1, row);
  connect(metric_, &QComboBox::currentIndexChanged, this, &ServingView::redraw);
  timer_ = new QTimer(this);
  timer_->setInterval(50);
  connect(timer_, &QTimer::timeout, this, &ServingView::poll);
}

ServingView::~ServingView() {
  stop();
}

QLineEdit* ServingView::editor(const QString& field) const {
  if (field == "isl") return isl_;
  if (field == "osl") return osl_;
  if (field == "ttft_slo_ms") return ttft_;
  if (field == "tpot_slo_ms") return tpot_;
  return nullptr;
}

QString ServingView::errorText() const {
  return status_->property("error").toString();
}

void ServingView::stop() {
  if (job_) job_->cancel = true;
  if (worker_.joinable()) worker_.join();  // a cancelled simulation stops within 1024 iterations
  job_.reset();
  timer_->stop();
}

void ServingView::refresh() {
  auto current = model_->current();
  if (!current) return;
  // Tab switches and pins refresh every view: recompute only when the design or the load changed.
  std::string key = scenario_to_json(current->scenario);
  for (QLineEdit* e : {isl_, osl_, ttft_, tpot_}) key += "\n" + e->text().trimmed().toStdString();
  if (key == key_ && (job_ || !curves_.empty())) return;
  key_ = key;
  stop();
  // The view's load and targets through the registry (bounds and messages as the CLI's flags).
  Workload w = current->design.workload;
  w.serving = ServingLoad{};
  std::string bad_field;
  try {
    for (QLineEdit* e : {isl_, osl_, ttft_, tpot_}) {
      const std::string name = e->objectName().mid(8).toStdString();
      bad_field = name;
      if (!e->text().trimmed().isEmpty()) set_workload(w, name, e->text().trimmed().toStdString());
      (void)models::serving_load(w.serving);  // the lengths parse (the others' defaults do)
    }
    bad_field.clear();
    validate(w.serving, "serving view");
  } catch (const Error& e) {
    status_->setText(tr("invalid input: ") + QString::fromUtf8(e.what()));
    status_->setProperty("error", QString::fromUtf8(e.what()));
    for (QLineEdit* ed : {isl_, osl_, ttft_, tpot_})
      ed->setStyleSheet(ed->objectName().mid(8).toStdString() == bad_field ? "background: #fdd" : "");
    emit computed();
    return;
  }
  for (QLineEdit* ed : {isl_, osl_, ttft_, tpot_}) ed->setStyleSheet("");
  status_->setProperty("error", QString());
  inputs_.load = w.serving;
  // The design without batch and context: the scheduler sets them.
  const SingleDesign& sd = current->design;
  inputs_.design_label = sd.arch.id + " " + variant_name(sd.arch) + " " + to_string(sd.arch.kv_dtype) + " | " + sd.gpu.id + " " +
                         sd.workload.stack + " | tp=" + std::to_string(sd.workload.tp);
  // The current design and its CLA siblings (same K/V heads, CLA 1-4), as the throughput view has them.
  const std::vector<ThroughputLine> designs = throughput_lines(current, {}, true, false);
  auto job = std::make_shared<Job>();
  constexpr int kRates = 12;
  job->total = static_cast<int>(designs.size()) * kRates;
  job_ = job;
  progress_->setRange(0, job->total);
  progress_->setValue(0);
  status_->setText(tr("simulating %1 designs at %2 request rates…").arg(designs.size()).arg(kRates));
  worker_ = std::thread([job, designs, w] {
    try {
      const models::LoadSpec lengths = models::serving_load(w.serving);
      const models::Slo slo = models::serving_slo(w.serving);
      // One rate grid for every line (from the current design's single-request time): lines compare at equal rates.
      std::vector<double> rates;
      for (const ThroughputLine& d : designs) {
        if (!rates.empty()) break;
        Workload dw = d.point->design.workload;
        dw.serving = w.serving;
        rates = models::rate_grid(d.point->profile, d.point->design.gpu, d.point->params, dw, lengths, kRates);
      }
      for (const ThroughputLine& d : designs) {
        Workload dw = d.point->design.workload;
        dw.serving = w.serving;
        ServingCurve c{d.name, models::rate_curve(d.point->profile, d.point->design.gpu, d.point->params, dw, lengths, slo, rates,
                                                  &job->cancel, [&job] { job->done.fetch_add(1); })};
        if (c.curve.cancelled) break;
        job->done = static_cast<int>(job->curves.size() + 1) * kRates;
        job->curves.push_back(std::move(c));
      }
    } catch (const std::exception& e) {
      job->error = e.what();
    }
    job->finished = true;
  });
  timer_->start();
}

void ServingView::poll() {
  if (!job_) return;
  progress_->setValue(std::min(job_->done.load(), job_->total));
  if (!job_->finished) return;
  worker_.join();
  const std::shared_ptr<Job> job = std::move(job_);
  job_.reset();
  timer_->stop();
  if (!job->error.empty()) {
    status_->setText(tr("simulation failed: ") + QString::fromStdString(job->error));
    emit computed();
    return;
  }
  curves_ = std::move(job->curves);
  status_->setText(tr("%1 designs simulated; the SLO percentile is p%2").arg(curves_.size()).arg(inputs_.load.slo_percentile));
  redraw();
  emit computed();
}

void ServingView::redraw() {
  if (curves_.empty()) return;
  chart_->setSpec(serving_spec(curves_, static_cast<ServingMetric>(metric_->currentData().toInt()), inputs_));
}

}  // namespace kvscope::gui
