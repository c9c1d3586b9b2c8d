#include "pareto_view.hpp"

#include <QChart>
#include <QCheckBox>
#include <QComboBox>
#include <QCursor>
#include <QElapsedTimer>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QScatterSeries>
#include <QTimer>
#include <QToolTip>
#include <QVBoxLayout>
#include <cmath>

#include "chart_panel.hpp"
#include "design_model.hpp"
#include "field_editor.hpp"
#include "format.hpp"
#include "kvscope/models/fields.hpp"
#include "sweep_model.hpp"

namespace kvscope::gui {

ParetoView::ParetoView(DesignModel* design, SweepModel* sweep, QWidget* parent)
    : QWidget(parent), design_(design), sweep_(sweep) {
  setObjectName("pareto_view");
  auto* v = new QVBoxLayout(this);
  v->setContentsMargins(4, 4, 4, 4);

  auto* objectives = new QHBoxLayout;
  auto make_field_combo = [&](const char* name, const QString& tip) {
    auto* c = new QComboBox(this);
    c->setObjectName(name);
    c->setToolTip(tip);
    // Field names are long ("max_throughput_tokens_per_s [tokens/s]"): the combo shrinks to
    // fit a laptop-width window, and its popup still shows the full names.
    c->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    c->setMinimumContentsLength(16);
    for (const auto& f : models::fields()) {
      const QString n = QString::fromUtf8(f.name.data(), static_cast<qsizetype>(f.name.size()));
      const QString u = QString::fromUtf8(f.unit.data(), static_cast<qsizetype>(f.unit.size()));
      c->addItem(u.isEmpty() || u == "bool" ? n : n + " [" + u + "]", n);
      c->setItemData(c->count() - 1, QString::fromUtf8(f.help.data(), static_cast<qsizetype>(f.help.size())), Qt::ToolTipRole);
    }
    return c;
  };
  auto make_sense = [&](const char* name) {
    auto* c = new QComboBox(this);
    c->setObjectName(name);
    c->addItem(tr("min"), 0);
    c->addItem(tr("max"), 1);
    c->setToolTip(tr("Whether smaller (min) or larger (max) values are better for the frontier."));
    return c;
  };
  x_field_ = make_field_combo("x_field", tr("Objective on the horizontal axis (any field of `kvscope fields`)."));
  x_sense_ = make_sense("x_sense");
  x_log_ = new QCheckBox(tr("log"), this);
  x_log_->setObjectName("x_log");
  x_log_->setToolTip(tr("Logarithmic horizontal axis (suggested for fields spanning orders of magnitude)."));
  y_field_ = make_field_combo("y_field", tr("Objective on the vertical axis."));
  y_sense_ = make_sense("y_sense");
  y_log_ = new QCheckBox(tr("log"), this);
  y_log_->setObjectName("y_log");
  y_log_->setToolTip(tr("Logarithmic vertical axis."));
  feasible_ = new QCheckBox(tr("fits in memory only"), this);
  feasible_->setObjectName("feasible_only");
  feasible_->setToolTip(tr("Leave out swept points that do not fit in GPU memory."));
  auto* xl = new QLabel(tr("&X:"), this);
  xl->setBuddy(x_field_);
  auto* yl = new QLabel(tr("&Y:"), this);
  yl->setBuddy(y_field_);
  objectives->addWidget(xl);
  objectives->addWidget(x_field_, 2);
  objectives->addWidget(x_sense_);
  objectives->addWidget(x_log_);
  objectives->addSpacing(12);
  objectives->addWidget(yl);
  objectives->addWidget(y_field_, 2);
  objectives->addWidget(y_sense_);
  objectives->addWidget(y_log_);
  v->addLayout(objectives);

  auto* grid = new QGridLayout;
  grid->setHorizontalSpacing(10);
  grid->setVerticalSpacing(0);
  const std::map<std::string, std::pair<QString, QString>> axis_text = {
      {"kv_heads", {tr("K/V heads"), tr("Swept K/V heads (--kv-heads), e.g. 1,2,4,8. Empty: the current value.")}},
      {"head_dim",
       {tr("head dim"), tr("Swept head dimensions (--head-dim); query heads follow d_model / head_dim (paper rule).")}},
      {"cla", {tr("CLA"), tr("Swept CLA factors (--cla), e.g. 1,2,3,4. Empty: the current sharing.")}},
      {"kv_dtype", {tr("K/V dtype"), tr("Swept K/V dtypes (--kv-dtype), e.g. bf16,fp8,int8,int4.")}},
      {"context", {tr("context"), tr("Swept context lengths (--context), e.g. 1024..131072:x2.")}},
      {"batch", {tr("batch"), tr("Swept batch sizes (--batch), e.g. 1..256:x2.")}}};
  int col = 0;
  for (const std::string& n : SweepModel::axisNames()) {
    const auto& [label, tip] = axis_text.at(n);
    auto* e = new FieldEditor(QString::fromStdString(n), label, tip, this);
    e->setObjectName("axis_" + QString::fromStdString(n));
    e->setLabelWidth(-1);
    axes_[QString::fromStdString(n)] = e;
    grid->addWidget(e, col / 3, col % 3);
    ++col;
    connect(e, &FieldEditor::edited, this, [this](const QString& f, const QString& t) { sweep_->setAxis(f, t); });
  }
  v->addLayout(grid);

  auto* status_row = new QHBoxLayout;
  status_ = new QLabel(this);
  status_->setObjectName("sweep_status");
  status_->setWordWrap(true);
  progress_ = new QProgressBar(this);
  progress_->setObjectName("sweep_progress");
  progress_->setRange(0, 1000);
  progress_->setMaximumWidth(220);
  progress_->setToolTip(tr("Progress of the sweep (runs on a worker thread; a change cancels it and starts anew)."));
  auto* reset = new QPushButton(tr("Reset a&xes"), this);
  reset->setObjectName("reset_axes");
  reset->setToolTip(tr("Back to the default design space for the current model."));
  connect(reset, &QPushButton::clicked, sweep_, &SweepModel::resetAxes);
  status_row->addWidget(status_, 1);
  status_row->addWidget(feasible_);
  status_row->addWidget(progress_);
  status_row->addWidget(reset);
  v->addLayout(status_row);

  chart_ = new ChartPanel(this);
  chart_->setToolTip(tr("Hover a point for its configuration; click it to make it the current design."));
  v->addWidget(chart_, 1);

  for (QComboBox* c : {x_field_, y_field_, x_sense_, y_sense_}) {
    connect(c, &QComboBox::currentIndexChanged, this, [this, c] {
      if (updating_) return;
      if (c == x_field_ || c == y_field_) {
        // A new field brings its natural sense and scale.
        const std::string f = c->currentData().toString().toStdString();
        updating_ = true;
        (c == x_field_ ? x_sense_ : y_sense_)->setCurrentIndex(default_sense(f) == Sense::maximize ? 1 : 0);
        if (const models::Field* fd = models::find_field(f)) (c == x_field_ ? x_log_ : y_log_)->setChecked(fd->log_scale_hint);
        updating_ = false;
      }
      readChoice();
    });
  }
  for (QCheckBox* b : {x_log_, y_log_, feasible_}) {
    connect(b, &QCheckBox::toggled, this, [this] {
      if (!updating_) readChoice();
    });
  }
  connect(sweep_, &SweepModel::axesChanged, this, &ParetoView::syncAxes);
  connect(sweep_, &SweepModel::started, this, [this](quint64 n) {
    progress_->setValue(0);
    status_->setText(tr("sweeping %1 points…").arg(n));
  });
  connect(sweep_, &SweepModel::progress, this, [this](double f, double rate) {
    progress_->setValue(static_cast<int>(f * 1000));
    status_->setText(tr("sweeping… %1 % (%2 points/s)").arg(f * 100, 0, 'f', 0).arg(format_count(rate)));
  });
  connect(sweep_, &SweepModel::finished, this, [this] {
    progress_->setValue(1000);
    data_ = sweep_->result();
    redraw();
  });
  connect(sweep_, &SweepModel::failed, this, [this](const QString& msg) {
    progress_->setValue(0);
    status_->setText(tr("sweep not run: %1").arg(msg));
  });
  connect(design_, &DesignModel::scenarioChanged, this, [this] {
    // The scenario's first two objectives are the axes ("tpot_s:min,decode_tokens_per_s:max").
    const QStringList parts = QString::fromStdString(design_->scenario().objectives).split(',', Qt::SkipEmptyParts);
    if (parts.size() < 2 || updating_) return;
    ParetoChoice c = choice_;
    auto apply = [](const QString& obj, std::string& field, Sense& sense, bool& log) {
      const QStringList fs = obj.trimmed().split(':');
      const models::Field* f = models::find_field(fs[0].trimmed().toStdString());
      if (!f) return false;
      field = std::string(f->name);
      sense = fs.size() > 1 ? (fs[1].trimmed() == "max" ? Sense::maximize : Sense::minimize) : default_sense(field);
      log = f->log_scale_hint;
      return true;
    };
    if (apply(parts[0], c.x_field, c.x_sense, c.x_log) && apply(parts[1], c.y_field, c.y_sense, c.y_log) &&
        (c.x_field != choice_.x_field || c.y_field != choice_.y_field || c.x_sense != choice_.x_sense ||
         c.y_sense != choice_.y_sense)) {
      setChoice(c);
    }
  });
  setChoice(choice_);
  syncAxes();
}

FieldEditor* ParetoView::axisEditor(const QString& name) const {
  auto it = axes_.find(name);
  return it == axes_.end() ? nullptr : it->second;
}

void ParetoView::syncAxes() {
  for (auto& [n, e] : axes_) {
    if (!(e->editor()->hasFocus())) e->setText(sweep_->axis(n));
    auto it = sweep_->axisErrors().find(n.toStdString());
    e->setError(it == sweep_->axisErrors().end() ? QString() : it->second);
  }
  if (auto it = sweep_->axisErrors().find(""); it != sweep_->axisErrors().end())
    status_->setText(it->second);
  else if (!sweep_->running() && sweep_->plannedPoints())
    status_->setText(tr("%1 points planned").arg(sweep_->plannedPoints()));
}

void ParetoView::setChoice(const ParetoChoice& c) {
  updating_ = true;
  x_field_->setCurrentIndex(x_field_->findData(QString::fromStdString(c.x_field)));
  y_field_->setCurrentIndex(y_field_->findData(QString::fromStdString(c.y_field)));
  x_sense_->setCurrentIndex(c.x_sense == Sense::maximize ? 1 : 0);
  y_sense_->setCurrentIndex(c.y_sense == Sense::maximize ? 1 : 0);
  x_log_->setChecked(c.x_log);
  y_log_->setChecked(c.y_log);
  feasible_->setChecked(c.feasible_only);
  updating_ = false;
  readChoice();
}

void ParetoView::readChoice() {
  choice_.x_field = x_field_->currentData().toString().toStdString();
  choice_.y_field = y_field_->currentData().toString().toStdString();
  choice_.x_sense = x_sense_->currentIndex() == 1 ? Sense::maximize : Sense::minimize;
  choice_.y_sense = y_sense_->currentIndex() == 1 ? Sense::maximize : Sense::minimize;
  choice_.x_log = x_log_->isChecked();
  choice_.y_log = y_log_->isChecked();
  choice_.feasible_only = feasible_->isChecked();
  const auto sense = [](Sense s) { return s == Sense::maximize ? ":max" : ":min"; };
  updating_ = true;
  design_->setObjectives(
      QString::fromStdString(choice_.x_field + sense(choice_.x_sense) + "," + choice_.y_field + sense(choice_.y_sense)));
  updating_ = false;
  redraw();
}

void ParetoView::redraw() {
  // Coalesced: several changes in one event-loop turn draw once.
  if (redraw_pending_) return;
  redraw_pending_ = true;
  QTimer::singleShot(0, this, [this] {
    redraw_pending_ = false;
    redrawNow();
  });
}

void ParetoView::redrawNow() {
  if (!data_) {
    chart_->showMessage(tr("waiting for the sweep…"));
    return;
  }
  auto cur = design_->current();
  QElapsedTimer timer;
  timer.start();
  plot_ = pareto_plot(*data_, choice_, cur.get());
  if (qEnvironmentVariableIsSet("KVSCOPE_GUI_TIMING")) qInfo("pareto_plot: %lld ms", static_cast<long long>(timer.restart()));
  if (plot_.rows.empty()) {
    chart_->showMessage(tr("no swept point has finite values for both objectives (%1 hidden)").arg(plot_.hidden));
    return;
  }
  QChart* c = chart_->setSpec(plot_.spec, ChartPanel::openGlThreshold());
  if (qEnvironmentVariableIsSet("KVSCOPE_GUI_TIMING")) qInfo("build_chart: %lld ms", static_cast<long long>(timer.restart()));
  // One or two lines: the reason of the skipped combinations is in the tooltip.
  QString status = tr("%1 points in %2 ms · frontier: %3 designs (%4 points)")
                       .arg(data_->evaluated)
                       .arg(data_->elapsed_s * 1000, 0, 'f', 0)
                       .arg(plot_.frontier_designs)
                       .arg(plot_.frontier_rows.size());
  if (data_->skipped) status += tr(" · %1 invalid combinations skipped (hover for why)").arg(data_->skipped);
  status_->setText(status);
  status_->setToolTip(data_->skip_summary);
  if (!c) return;
  for (QAbstractSeries* s : c->series()) {
    auto* xy = qobject_cast<QXYSeries*>(s);
    if (!xy) continue;
    connect(xy, &QXYSeries::hovered, this, [this](const QPointF& p, bool on) {
      if (!on) {
        QToolTip::hideText();
        return;
      }
      const long long r = rowAt(p.x(), p.y());
      if (r >= 0) QToolTip::showText(QCursor::pos(), describeRow(static_cast<std::size_t>(r)), chart_);
    });
    connect(xy, &QXYSeries::clicked, this, [this](const QPointF& p) {
      const long long r = rowAt(p.x(), p.y());
      if (r >= 0) choose(static_cast<std::size_t>(r));
    });
  }
}

long long ParetoView::rowAt(double x, double y) const {
  if (!data_ || plot_.rows.empty()) return -1;
  const int cx = field_column(choice_.x_field), cy = field_column(choice_.y_field);
  auto tx = [&](double v) { return choice_.x_log ? std::log10(std::max(v, 1e-300)) : v; };
  auto ty = [&](double v) { return choice_.y_log ? std::log10(std::max(v, 1e-300)) : v; };
  double xmin = 1e300, xmax = -1e300, ymin = 1e300, ymax = -1e300;
  for (std::size_t i = 0; i < plot_.spec.series.front().x.size(); ++i) {
    xmin = std::min(xmin, tx(plot_.spec.series.front().x[i]));
    xmax = std::max(xmax, tx(plot_.spec.series.front().x[i]));
    ymin = std::min(ymin, ty(plot_.spec.series.front().y[i]));
    ymax = std::max(ymax, ty(plot_.spec.series.front().y[i]));
  }
  const double sx = xmax > xmin ? xmax - xmin : 1, sy = ymax > ymin ? ymax - ymin : 1;
  long long best = -1;
  double bd = 1e300;
  // Frontier rows first: on ties they win (they are drawn on top).
  auto consider = [&](std::size_t r) {
    const double dx = (tx(data_->value(r, static_cast<std::size_t>(cx))) - tx(x)) / sx;
    const double dy = (ty(data_->value(r, static_cast<std::size_t>(cy))) - ty(y)) / sy;
    const double d = dx * dx + dy * dy;
    if (d < bd) {
      bd = d;
      best = static_cast<long long>(r);
    }
  };
  for (std::size_t r : plot_.frontier_rows) consider(r);
  for (std::size_t r : plot_.rows) consider(r);
  return bd < 0.02 * 0.02 ? best : -1;
}

QString ParetoView::describeRow(std::size_t row) const {
  QString t = "<b>" + data_->configuration(row).toHtmlEscaped() + "</b><table>";
  const auto& fields = models::fields();
  for (const char* name : {choice_.x_field.c_str(), choice_.y_field.c_str(), "kv_bytes_per_token", "max_batch", "tpot_s",
                           "decode_tokens_per_s", "max_throughput_tokens_per_s", "ppl_delta"}) {
    const int c = field_column(name);
    if (c < 0) continue;
    t += "<tr><td>" + QString(name) + "</td><td align=right>" +
         format_value(data_->value(row, static_cast<std::size_t>(c)), fields[static_cast<std::size_t>(c)].unit) + "</td></tr>";
  }
  return t + "</table><i>click to make it the current design</i>";
}

void ParetoView::choose(std::size_t row) {
  if (!data_ || row >= data_->rows()) return;
  auto v = data_->scenario_values(row);
  if (v.count("cla")) {
    v["kv_producers"] = "";
    v["variant"] = "";
  }
  design_->setValues(v);
  emit pointChosen(row);
}

}  // namespace kvscope::gui
