#include "details_panel.hpp"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

#include "design_model.hpp"
#include "format.hpp"
#include "kvscope/core/design.hpp"
#include "kvscope/core/display.hpp"
#include "kvscope/models/fields.hpp"
#include "kvscope/models/timing.hpp"

namespace kvscope::gui {

namespace {
QString qs(std::string_view s) {
  return QString::fromUtf8(s.data(), static_cast<qsizetype>(s.size()));
}

QTableWidget* make_table(QWidget* parent, const char* name, const QStringList& headers, const QString& tip) {
  auto* t = new QTableWidget(parent);
  t->setObjectName(name);
  t->setColumnCount(static_cast<int>(headers.size()));
  t->setHorizontalHeaderLabels(headers);
  t->verticalHeader()->setVisible(false);
  t->verticalHeader()->setDefaultSectionSize(20);
  t->setEditTriggers(QAbstractItemView::NoEditTriggers);
  t->setSelectionBehavior(QAbstractItemView::SelectRows);
  t->setAlternatingRowColors(true);
  t->horizontalHeader()->setStretchLastSection(true);
  t->setToolTip(tip);
  // A point smaller than the window's font: the per-op table's six columns fit a 1366-pixel
  // screen's details dock.
  QFont f = t->font();
  if (f.pointSizeF() > 8) f.setPointSizeF(f.pointSizeF() - 1);
  t->setFont(f);
  t->horizontalHeader()->setFont(f);
  return t;
}

// A pane of the splitter: a row of controls over the pane's column (a table below them).
struct Pane {
  QWidget* box;
  QVBoxLayout* column;
  QHBoxLayout* row;
};
Pane make_pane(QSplitter* split) {
  Pane p;
  p.box = new QWidget(split);
  p.column = new QVBoxLayout(p.box);
  p.column->setContentsMargins(0, 0, 0, 0);
  p.row = new QHBoxLayout;
  p.column->addLayout(p.row);
  return p;
}

QPushButton* make_button(QWidget* parent, const QString& text, const char* name, const QString& tip) {
  auto* b = new QPushButton(text, parent);
  b->setObjectName(name);
  b->setToolTip(tip);
  return b;
}

QTableWidgetItem* item(const QString& text, bool right = false) {
  auto* i = new QTableWidgetItem(text);
  if (right) i->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
  return i;
}

// The figures compared across pinned designs.
const char* const kPinFields[] = {"n_kv_heads",
                                  "head_dim",
                                  "kv_layers",
                                  "kv_bytes_per_token",
                                  "kv_cache_bytes",
                                  "max_batch",
                                  "max_context",
                                  "tpot_s",
                                  "decode_tokens_per_s",
                                  "ttft_s",
                                  "max_throughput_tokens_per_s",
                                  "max_throughput_batch",
                                  "ppl_delta",
                                  "val_ppl"};
}  // namespace

DetailsPanel::DetailsPanel(DesignModel* model, QWidget* parent) : QWidget(parent), model_(model) {
  setObjectName("details_panel");
  auto* v = new QVBoxLayout(this);
  v->setContentsMargins(4, 4, 4, 4);
  header_ = new QLabel(this);
  header_->setObjectName("details_header");
  header_->setWordWrap(true);
  header_->setTextFormat(Qt::RichText);
  v->addWidget(header_);

  auto* split = new QSplitter(Qt::Vertical, this);
  figures_ = make_table(split, "figures_table", {tr("figure"), tr("value")},
                        tr("Every output field of `kvscope eval` for the current design (hover a row for its meaning)."));
  split->addWidget(figures_);

  const Pane ops = make_pane(split);
  auto* ol = new QLabel(tr("Per-op &breakdown of the"), ops.box);
  phase_ = new QComboBox(ops.box);
  phase_->setObjectName("ops_phase");
  phase_->addItem(tr("decode step"));
  phase_->addItem(tr("prefill"));
  phase_->setToolTip(tr("Which phase the per-op table shows."));
  ol->setBuddy(phase_);
  ops.row->addWidget(ol);
  ops.row->addWidget(phase_);
  ops.row->addStretch(1);
  ops_ = make_table(ops.box, "ops_table", {tr("op"), tr("time"), tr("share"), tr("HBM"), tr("FLOP"), tr("bound")},
                    tr("Each operation class of the phase: modelled time, its share, HBM bytes, FLOPs and which "
                       "roofline term bounds it."));
  ops.column->addWidget(ops_);
  split->addWidget(ops.box);

  const Pane pins = make_pane(split);
  auto* pin =
      make_button(pins.box, tr("&Pin current"), "pin_button",
                  tr("Keep the current design for comparison (Ctrl+P). Pinned designs also appear in the throughput view."));
  auto* unpin = make_button(pins.box, tr("&Unpin"), "unpin_button", tr("Remove the pinned design whose column is selected."));
  auto* clear = make_button(pins.box, tr("Clear pins"), "clear_pins_button", tr("Remove every pinned design."));
  pins.row->addWidget(pin);
  pins.row->addWidget(unpin);
  pins.row->addWidget(clear);
  pins.row->addStretch(1);
  pins_ = make_table(pins.box, "pins_table", {tr("figure")}, tr("The current design next to the pinned ones."));
  pins_->setSelectionBehavior(QAbstractItemView::SelectColumns);
  pins.column->addWidget(pins_);
  split->addWidget(pins.box);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  split->setStretchFactor(2, 2);
  v->addWidget(split, 1);

  connect(pin, &QPushButton::clicked, model_, &DesignModel::pinCurrent);
  connect(unpin, &QPushButton::clicked, this, [this] {
    const int c = pins_->currentColumn();
    if (c >= 2) model_->unpin(c - 2);
  });
  connect(clear, &QPushButton::clicked, model_, &DesignModel::clearPins);
  connect(phase_, &QComboBox::currentIndexChanged, this, &DetailsPanel::refreshOps);
  connect(model_, &DesignModel::evaluated, this, &DetailsPanel::refresh);
  connect(model_, &DesignModel::pinsChanged, this, &DetailsPanel::refreshPins);
  refresh();
}

void DetailsPanel::refresh() {
  auto d = model_->current();
  if (!d) return;
  const auto& a = d->design.arch;
  const auto& acc = d->facts.accuracy;
  const auto& m = d->eval.memory;
  QString h = QStringLiteral("<b>%1</b> — %2, %3 K/V, %4<br>on %5 (%6)<br>")
                  // Names come from files: escaped and elided, so no name widens the window.
                  .arg(QString::fromStdString(display_text(a.name.empty() ? a.id : a.name, 80)).toHtmlEscaped(),
                       QString::fromStdString(variant_name(a)), QString::fromStdString(to_string(a.kv_dtype)),
                       QString::fromStdString(sharing_label(a)),
                       QString::fromStdString(display_text(d->design.gpu.name, 80)).toHtmlEscaped(),
                       QString::fromStdString(stack_timing(d->design.gpu, d->design.workload.stack).origin).toHtmlEscaped());
  h += m.feasible ? QStringLiteral("<span style='color:#1b7837'>fits: %1 of %2</span>")
                        .arg(format_bytes(m.total_bytes), format_bytes(m.capacity_bytes))
                  : QStringLiteral("<span style='color:#b00020'>%1</span>").arg(QString::fromStdString(m.reason).toHtmlEscaped());
  // Name what is known: the absolute perplexity (paper models), else the relative change.
  if (acc.val_ppl_kind != models::AccuracyKind::unavailable) {
    // The source text starts with its kind ("measured: ...", "estimated: ...").
    h += QStringLiteral("<br>accuracy: val ppl %1 — %2")
             .arg(QString::number(acc.val_ppl, 'f', 3), QString::fromUtf8(acc.source).toHtmlEscaped());
  } else if (acc.delta_kind != models::AccuracyKind::unavailable) {
    h += QStringLiteral("<br>accuracy: ppl change %1 % — %2")
             .arg(QString::asprintf("%+.2f", acc.ppl_delta_pct), QString::fromUtf8(acc.source).toHtmlEscaped());
  } else {
    h += QStringLiteral("<br>accuracy: %1").arg(QString::fromUtf8(acc.source).toHtmlEscaped());
  }
  if (*acc.caveat) h += QStringLiteral("<br><i>%1</i>").arg(QString::fromUtf8(acc.caveat).toHtmlEscaped());
  if (const std::string w = context_warning(a, d->design.workload.context); !w.empty()) {
    h += QStringLiteral("<br><span style='color:#a04800'>warning: %1</span>").arg(QString::fromStdString(w).toHtmlEscaped());
  }
  if (!model_->valid())
    h = "<span style='color:#b00020'>" + tr("inputs invalid; showing the last valid design") + "</span><br>" + h;
  header_->setText(h);

  const models::PointResult p = d->point();
  const auto& fields = models::fields();
  figures_->setRowCount(static_cast<int>(fields.size()));
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const auto& f = fields[i];
    auto* n = item(qs(f.name));
    n->setToolTip(qs(f.help));
    figures_->setItem(static_cast<int>(i), 0, n);
    auto* val = item(format_value(f.get(p), f.unit), true);
    val->setToolTip(QString::number(f.get(p), 'g', 10) + " " + qs(f.unit));
    figures_->setItem(static_cast<int>(i), 1, val);
  }
  // Values are never cut: the value column fits its contents and the names take the rest (a
  // name too long for a narrow panel is elided; its tooltip says what it is).
  figures_->horizontalHeader()->setStretchLastSection(false);
  figures_->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
  figures_->horizontalHeader()->setSectionResizeMode(1, QHeaderView::ResizeToContents);
  refreshOps();
  refreshPins();
}

void DetailsPanel::refreshOps() {
  auto d = model_->current();
  if (!d) return;
  const models::PhaseCost& ph = phase_->currentIndex() == 1 ? d->eval.prefill : d->eval.decode;
  ops_->setRowCount(0);
  for (int i = 0; i < models::kOpCount; ++i) {
    const auto& c = ph.ops[static_cast<std::size_t>(i)];
    if (c.kernels == 0) continue;
    const int r = ops_->rowCount();
    ops_->insertRow(r);
    auto* name = item(models::op_name(static_cast<models::Op>(i)));
    name->setToolTip(name->text());
    ops_->setItem(r, 0, name);
    ops_->setItem(r, 1, item(format_time(c.time_s), true));
    ops_->setItem(r, 2, item(QString::number(100 * c.time_s / ph.time_s, 'f', 1) + " %", true));
    ops_->setItem(r, 3, item(format_bytes(c.bytes), true));
    ops_->setItem(r, 4, item(format_count(c.flops), true));
    ops_->setItem(r, 5, item(c.compute_bound() ? tr("compute") : tr("memory")));
  }
  const int r = ops_->rowCount();
  ops_->insertRow(r);
  ops_->setItem(r, 0, item(tr("total")));
  ops_->setItem(r, 1, item(format_time(ph.time_s), true));
  ops_->setItem(r, 2, item("100 %", true));
  ops_->setItem(r, 3, item(format_bytes(ph.bytes), true));
  ops_->setItem(r, 4, item(format_count(ph.flops), true));
  ops_->setItem(r, 5, item(QString()));
  for (int c = 0; c < ops_->columnCount(); ++c)
    ops_->item(r, c)->setFont([] {
      QFont f;
      f.setBold(true);
      return f;
    }());
  // The numbers fit their contents (never cut); the op names take the rest (a long name is
  // elided in a narrow dock, its tooltip names it).
  ops_->horizontalHeader()->setStretchLastSection(false);
  ops_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  ops_->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
}

void DetailsPanel::refreshPins() {
  auto cur = model_->current();
  const auto& pins = model_->pins();
  QStringList headers = {tr("figure"), tr("current")};
  for (std::size_t i = 0; i < pins.size(); ++i) headers << tr("pin %1").arg(i + 1);
  pins_->setColumnCount(static_cast<int>(headers.size()));
  pins_->setHorizontalHeaderLabels(headers);
  const int nf = static_cast<int>(std::size(kPinFields));
  pins_->setRowCount(nf + 1);
  pins_->setItem(0, 0, item(tr("configuration")));
  auto column = [&](int col, const DesignPoint* d) {
    if (!d) return;
    auto* lab = item(d->label());
    lab->setToolTip(d->label());
    pins_->setItem(0, col, lab);
    const models::PointResult p = d->point();
    for (int r = 0; r < nf; ++r) {
      const models::Field* f = models::find_field(kPinFields[r]);
      pins_->setItem(r + 1, col, item(f ? format_value(f->get(p), f->unit) : QString(), true));
    }
  };
  for (int r = 0; r < nf; ++r) {
    auto* n = item(kPinFields[r]);
    if (const models::Field* f = models::find_field(kPinFields[r])) n->setToolTip(qs(f->help));
    pins_->setItem(r + 1, 0, n);
  }
  column(1, cur.get());
  for (std::size_t i = 0; i < pins.size(); ++i) column(static_cast<int>(i) + 2, pins[i].point.get());
  pins_->resizeColumnsToContents();
}

}  // namespace kvscope::gui
