#include "main_window.hpp"

#include <QAction>
#include <QApplication>
#include <QDockWidget>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QGuiApplication>
#include <QKeySequence>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QProgressBar>
#include <QSaveFile>
#include <QScreen>
#include <QScrollArea>
#include <QScrollBar>
#include <QStatusBar>
#include <QTabWidget>
#include <algorithm>
#include <cmath>

#include "chart_panel.hpp"
#include "design_model.hpp"
#include "details_panel.hpp"
#include "inputs_panel.hpp"
#include "kvscope/core/error.hpp"
#include "kvscope/models/fields.hpp"
#include "pareto_view.hpp"
#include "serving_view.hpp"
#include "simple_views.hpp"
#include "sweep_model.hpp"

namespace kvscope::gui {

namespace {
// The file actions' error convention: true when `act` returns, false with the exception's
// message in *error (where the caller asks for it) when it throws.
template <typename Act>
bool succeeds(QString* error, Act&& act) {
  try {
    act();
    return true;
  } catch (const std::exception& e) {
    if (error) *error = QString::fromUtf8(e.what());
    return false;
  }
}
}  // namespace

QStringList MainWindow::viewNames() {
  return {"pareto", "memory", "throughput", "serving", "roofline", "paper"};
}

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setObjectName("main_window");
  setWindowTitle(tr("kvscope — KV-cache design explorer"));
  design_ = new DesignModel(this);
  sweep_ = new SweepModel(this);

  tabs_ = new QTabWidget(this);
  tabs_->setObjectName("views");
  pareto_ = new ParetoView(design_, sweep_, tabs_);
  tabs_->addTab(pareto_, tr("Pareto explorer"));
  tabs_->setTabToolTip(0, tr("The swept design space: two objectives, the frontier, the current design (Ctrl+1)."));
  serving_ = new ServingView(design_, tabs_);
  design_views_ = {new MemoryView(design_, tabs_), new ThroughputView(design_, tabs_), serving_, new RooflineView(design_, tabs_),
                   new PaperView(design_, tabs_)};
  const QStringList titles = {tr("Memory"), tr("Throughput vs batch"), tr("Serving"), tr("Roofline"), tr("Paper (CLA 1B)")};
  const QStringList tips = {tr("Weights, K/V cache and workspace against the GPU's capacity (Ctrl+2)."),
                            tr("Decode tokens/s vs batch for the current, pinned and CLA-sibling designs (Ctrl+3)."),
                            tr("TTFT / TPOT p90 and throughput against the request rate, simulated, for the current design and "
                               "its CLA siblings (Ctrl+4)."),
                            tr("Each op of the decode step against the GPU's ceilings (Ctrl+5)."),
                            tr("The CLA paper's 1B design space: measured vs estimated (Ctrl+6).")};
  for (int i = 0; i < design_views_.size(); ++i) {
    tabs_->addTab(design_views_[i], titles[i]);
    tabs_->setTabToolTip(i + 1, tips[i]);
  }
  setCentralWidget(tabs_);

  // Side panels are docks that scroll (never clip) and can be closed from the View menu, so that
  // the window fits a 1366x768 laptop screen with all three columns, and the chart can take the
  // whole width on a smaller one.
  inputs_ = new InputsPanel(design_);
  auto* scroll = new QScrollArea;
  scroll->setObjectName("inputs_scroll");
  scroll->setWidget(inputs_);
  scroll->setWidgetResizable(true);
  scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  scroll->setMinimumWidth(inputs_->minimumSizeHint().width() + scroll->verticalScrollBar()->sizeHint().width() + 4);
  scroll->setMinimumHeight(200);
  auto* left = new QDockWidget(tr("Design"), this);
  left->setObjectName("inputs_dock");
  left->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable | QDockWidget::DockWidgetClosable);
  left->setWidget(scroll);
  addDockWidget(Qt::LeftDockWidgetArea, left);

  details_ = new DetailsPanel(design_);
  auto* right = new QDockWidget(tr("Details"), this);
  right->setObjectName("details_dock");
  right->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable | QDockWidget::DockWidgetClosable);
  right->setWidget(details_);
  addDockWidget(Qt::RightDockWidgetArea, right);
  // Start the docks at their useful widths; the user can drag the separators.
  resizeDocks({left, right}, {310, 410}, Qt::Horizontal);
  docks_ = {left, right};

  progress_ = new QProgressBar(this);
  progress_->setRange(0, 1000);
  progress_->setMaximumWidth(160);
  progress_->setToolTip(tr("Sweep progress"));
  status_ = new QLabel(this);
  statusBar()->addWidget(status_, 1);
  statusBar()->addPermanentWidget(progress_);

  connect(design_, &DesignModel::evaluated, this, [this] {
    if (design_->valid() && design_->current()) sweep_->setBase(design_->current()->scenario);
    status_->setText(design_->valid() ? design_->current()->label()
                                      : tr("invalid input: ") + design_->errorText().section('\n', 0, 0));
    refreshVisible();
  });
  connect(design_, &DesignModel::pinsChanged, this, &MainWindow::refreshVisible);
  connect(tabs_, &QTabWidget::currentChanged, this, &MainWindow::refreshVisible);
  connect(sweep_, &SweepModel::progress, this, [this](double f, double) { progress_->setValue(static_cast<int>(f * 1000)); });
  // Settled: the sweep has finished and the serving view (a simulation on its own thread) is idle.
  auto settle = [this] {
    if (!sweep_->running() && !serving_->busy()) emit settled();
  };
  connect(sweep_, &SweepModel::finished, this, [this, settle] {
    progress_->setValue(1000);
    settle();
  });
  connect(sweep_, &SweepModel::failed, this, [this, settle](const QString& m) {
    status_->setText(tr("sweep: ") + m);
    settle();
  });
  connect(serving_, &ServingView::computed, this, settle);
  buildMenus();
  if (design_->current()) sweep_->setBase(design_->current()->scenario);
  refreshVisible();
  setMinimumSize(kMinWidth, kMinHeight);
  const QScreen* screen = QGuiApplication::primaryScreen();
  resize(initialSize(screen ? screen->availableGeometry().size() : QSize(kMinWidth, kMinHeight)));
}

QSize MainWindow::initialSize(const QSize& available) {
  // Leave room for the window frame (~40 px of title bar and borders).
  const int w = std::clamp(available.width() - 16, kMinWidth, 1600);
  const int h = std::clamp(available.height() - 40, kMinHeight, 1000);
  return {w, h};
}

void MainWindow::buildMenus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  auto* open = file->addAction(tr("&Open scenario…"), this, [this] {
    const QString p = QFileDialog::getOpenFileName(this, tr("Open scenario"), {}, tr("kvscope scenario (*.json)"));
    QString err;
    if (!p.isEmpty() && !openScenario(p, &err)) QMessageBox::warning(this, tr("Open scenario"), err);
  });
  open->setShortcut(QKeySequence::Open);
  auto* save = file->addAction(tr("&Save scenario…"), this, [this] {
    const QString p = QFileDialog::getSaveFileName(this, tr("Save scenario"), "scenario.json", tr("kvscope scenario (*.json)"));
    QString err;
    if (!p.isEmpty() && !saveScenario(p, &err)) QMessageBox::warning(this, tr("Save scenario"), err);
  });
  save->setShortcut(QKeySequence::Save);
  file->addSeparator();
  auto* exp = file->addAction(tr("&Export chart…"), this, [this] {
    const QString p = QFileDialog::getSaveFileName(this, tr("Export chart"), currentViewName() + ".png",
                                                   tr("PNG image (*.png);;SVG drawing (*.svg)"));
    QString err;
    if (!p.isEmpty() && !exportChart(p, &err)) QMessageBox::warning(this, tr("Export chart"), err);
  });
  exp->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
  auto* csv = file->addAction(tr("Export sweep as &CSV…"), this, [this] {
    const QString p = QFileDialog::getSaveFileName(this, tr("Export sweep"), "sweep.csv", tr("CSV (*.csv)"));
    QString err;
    if (!p.isEmpty() && !exportSweepCsv(p, &err)) QMessageBox::warning(this, tr("Export sweep"), err);
  });
  csv->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E));
  file->addSeparator();
  auto* quit = file->addAction(tr("&Quit"), qApp, &QApplication::quit);
  quit->setShortcut(QKeySequence::Quit);

  QMenu* view = menuBar()->addMenu(tr("&View"));
  const QStringList names = {tr("&Pareto explorer"), tr("&Memory"),   tr("&Throughput vs batch"),
                             tr("&Serving"),         tr("&Roofline"), tr("P&aper")};
  for (int i = 0; i < names.size(); ++i) {
    auto* a = view->addAction(names[i], this, [this, i] { tabs_->setCurrentIndex(i); });
    a->setShortcut(QKeySequence(Qt::CTRL | static_cast<Qt::Key>(Qt::Key_1 + i)));
  }
  view->addSeparator();
  for (QDockWidget* d : docks_) view->addAction(d->toggleViewAction());
  QMenu* design = menuBar()->addMenu(tr("&Design"));
  auto* pin = design->addAction(tr("&Pin current design"), design_, &DesignModel::pinCurrent);
  pin->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_P));
  design->addAction(tr("&Clear pins"), design_, &DesignModel::clearPins);
  auto* rerun = design->addAction(tr("&Re-run sweep"), sweep_, &SweepModel::startNow);
  rerun->setShortcut(QKeySequence::Refresh);
}

void MainWindow::refreshVisible() {
  if (tabs_->currentIndex() >= 1)
    design_views_[tabs_->currentIndex() - 1]->refresh();
  else
    pareto_->redraw();
}

bool MainWindow::setView(const QString& name) {
  const int i = static_cast<int>(viewNames().indexOf(name));
  if (i < 0) return false;
  tabs_->setCurrentIndex(i);
  if (i == 0)
    pareto_->redrawNow();
  else
    refreshVisible();
  return true;
}

QString MainWindow::currentViewName() const {
  return viewNames().value(tabs_->currentIndex());
}

ChartPanel* MainWindow::chart(const QString& view) const {
  const int i = static_cast<int>(viewNames().indexOf(view));
  if (i == 0) return pareto_->chartPanel();
  if (i > 0) return design_views_[i - 1]->chartPanel();
  return nullptr;
}

ChartPanel* MainWindow::currentChart() const {
  return chart(currentViewName());
}

bool MainWindow::openScenario(const QString& path, QString* error) {
  return succeeds(error, [&] { design_->load(path); });
}

bool MainWindow::saveScenario(const QString& path, QString* error) {
  return succeeds(error, [&] { design_->save(path); });
}

bool MainWindow::exportChart(const QString& path, QString* error) {
  ChartPanel* c = currentChart();
  if (!c || !c->hasChart()) {
    if (error) *error = tr("the current view has no chart yet");
    return false;
  }
  return succeeds(error, [&] { plot::render_to_file(c->spec(), path.toStdString()); });
}

bool MainWindow::exportSweepCsv(const QString& path, QString* error) {
  auto sweep_data = sweep_->result();
  if (!sweep_data) {
    if (error) *error = tr("no sweep has finished yet");
    return false;
  }
  QSaveFile f(path);
  if (!f.open(QIODevice::WriteOnly | QIODevice::Text)) {
    if (error) *error = tr("cannot write %1").arg(path);
    return false;
  }
  const auto& fields = models::fields();
  QByteArray out = "index,configuration,val_ppl_kind,ppl_delta_kind,accuracy_extrapolated";
  for (const auto& fd : fields) out += "," + QByteArray(fd.name.data(), static_cast<qsizetype>(fd.name.size()));
  out += "\n";
  for (std::size_t r = 0; r < sweep_data->rows(); ++r) {
    QString conf = sweep_data->configuration(r);
    conf.replace('"', "\"\"");
    out += QByteArray::number(static_cast<qulonglong>(sweep_data->indices[r])) + ",\"" + conf.toUtf8() + "\"";
    // Which accuracy numbers are measured and which estimated (and beyond the paper's data).
    const models::AccuracyEstimate& acc = sweep_data->tables->arch_facts[sweep_data->arch_index[r]].accuracy;
    out += QByteArray(",") + models::to_string(acc.val_ppl_kind) + "," + models::to_string(acc.delta_kind) + "," +
           (acc.extrapolated ? "1" : "0");
    for (std::size_t c = 0; c < fields.size(); ++c) {
      const double v = sweep_data->value(r, c);
      out += ",";
      if (std::isfinite(v)) out += QByteArray::number(v, 'g', 12);
    }
    out += "\n";
  }
  f.write(out);
  if (!f.commit()) {
    if (error) *error = tr("cannot write %1").arg(path);
    return false;
  }
  return true;
}

}  // namespace kvscope::gui
