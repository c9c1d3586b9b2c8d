#include "simple_views.hpp"

#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QVBoxLayout>

#include "chart_panel.hpp"
#include "design_model.hpp"
#include "view_specs.hpp"

namespace kvscope::gui {

namespace {
// A control row of one labelled choice (item data 0, 1, ...) that refreshes `view` when changed.
QComboBox* add_choice(DesignView* view, QHBoxLayout* row, const char* name, const QString& label, const QStringList& items,
                      const QString& tip) {
  auto* box = new QComboBox(view);
  box->setObjectName(name);
  for (qsizetype i = 0; i < items.size(); ++i) box->addItem(items[i], static_cast<int>(i));
  box->setToolTip(tip);
  auto* l = new QLabel(label, view);
  l->setBuddy(box);
  row->addWidget(l);
  row->addWidget(box);
  row->addStretch(1);
  QObject::connect(box, &QComboBox::currentIndexChanged, view, &DesignView::refresh);
  return box;
}
}  // namespace

DesignView::DesignView(DesignModel* model, QWidget* parent) : QWidget(parent), model_(model) {
  auto* v = new QVBoxLayout(this);
  v->setContentsMargins(4, 4, 4, 4);
  controls_ = new QHBoxLayout;
  v->addLayout(controls_);
  chart_ = new ChartPanel(this);
  v->addWidget(chart_, 1);
}

MemoryView::MemoryView(DesignModel* model, QWidget* parent) : DesignView(model, parent) {
  setObjectName("memory_view");
  axis_ = add_choice(this, controls_, "memory_axis", tr("&Memory"),
                     {tr("as batch grows (at the workload's context)"), tr("as context grows (at the workload's batch)")},
                     tr("Which workload dimension grows along the horizontal axis."));
}

void MemoryView::refresh() {
  if (auto d = model_->current()) chart_->setSpec(memory_spec(*d, axis_->currentIndex() == 1));
}

ThroughputView::ThroughputView(DesignModel* model, QWidget* parent) : DesignView(model, parent) {
  setObjectName("throughput_view");
  compare_cla_ = new QCheckBox(tr("compare &CLA factors of the current design"), this);
  compare_cla_->setObjectName("compare_cla");
  compare_cla_->setChecked(true);
  compare_cla_->setToolTip(
      tr("Add the current design with CLA 1, 2, 3, 4 as extra lines: CLA's smaller cache admits a "
         "larger batch, which is where its capacity gain becomes tokens/s. Pin designs "
         "(Ctrl+P) to add them too."));
  controls_->addWidget(compare_cla_);
  compare_stacks_ = new QCheckBox(tr("compare kernel &stacks"), this);
  compare_stacks_->setObjectName("compare_stacks");
  compare_stacks_->setToolTip(
      tr("Add the current design on every other kernel stack (torch-flash, torch-cudnn, kvbench) as "
         "extra lines: the same capacity, the stack's own step time."));
  controls_->addWidget(compare_stacks_);
  controls_->addStretch(1);
  connect(compare_cla_, &QCheckBox::toggled, this, &ThroughputView::refresh);
  connect(compare_stacks_, &QCheckBox::toggled, this, &ThroughputView::refresh);
}

void ThroughputView::refresh() {
  if (!model_->current()) return;
  chart_->setSpec(throughput_spec(
      throughput_lines(model_->current(), model_->pins(), compare_cla_->isChecked(), compare_stacks_->isChecked())));
}

RooflineView::RooflineView(DesignModel* model, QWidget* parent) : DesignView(model, parent) {
  setObjectName("roofline_view");
  phase_ = add_choice(this, controls_, "roofline_phase", tr("&Phase"), {tr("decode step"), tr("prefill")},
                      tr("Which phase's operations to place on the roofline."));
}

void RooflineView::refresh() {
  if (auto d = model_->current()) chart_->setSpec(roofline_spec(*d, phase_->currentIndex() == 1));
}

PaperView::PaperView(DesignModel* model, QWidget* parent) : DesignView(model, parent) {
  setObjectName("paper_view");
  auto* l = new QLabel(tr("Validation perplexity of the CLA paper's 1B models (bundled data/paper). The current design is "
                          "starred when it is a paper shape (model cla-paper-1b)."),
                       this);
  l->setWordWrap(true);
  controls_->addWidget(l, 1);
}

void PaperView::refresh() {
  auto d = model_->current();
  chart_->setSpec(paper_spec(d.get()));
}

}  // namespace kvscope::gui
