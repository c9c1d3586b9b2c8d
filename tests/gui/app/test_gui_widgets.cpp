// QTest: drives kvscope-gui's widgets (offscreen) and checks the view-models follow.
#include <QAbstractSeries>
#include <QChart>
#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QXYSeries>
#include <QtTest>

#include "chart_panel.hpp"
#include "design_model.hpp"
#include "details_panel.hpp"
#include "field_editor.hpp"
#include "inputs_panel.hpp"
#include "layer_strip.hpp"
#include "kvscope/core/loaders.hpp"
#include "main_window.hpp"
#include "pareto_view.hpp"
#include "sweep_model.hpp"

using namespace kvscope::gui;

namespace {
QLineEdit* line_of(FieldEditor* e) { return e->lineEdit() ? e->lineEdit() : e->comboBox()->lineEdit(); }

void type_into(FieldEditor* e, const QString& text) {
  QLineEdit* l = line_of(e);
  QVERIFY(l);
  l->setFocus();
  l->selectAll();
  QTest::keyClick(l, Qt::Key_Backspace);
  QTest::keyClicks(l, text);
}

bool wait_settled(MainWindow& w) {
  QSignalSpy spy(&w, &MainWindow::settled);
  if (!w.sweep()->running()) w.sweep()->startNow();
  return spy.wait(60000);
}
}  // namespace

class TestWidgets : public QObject {
  Q_OBJECT
 private slots:
  void typing_updates_the_model() {
    MainWindow w;
    w.show();
    FieldEditor* batch = w.inputs()->editor("batch");
    QVERIFY(batch);
    type_into(batch, "64");
    QCOMPARE(w.design()->value("batch"), QString("64"));
    QCOMPARE(w.design()->current()->design.workload.batch, 64);
    // The details table shows the new figure.
    QTableWidget* t = w.details()->figuresTable();
    bool found = false;
    for (int r = 0; r < t->rowCount(); ++r) {
      if (t->item(r, 0)->text() == "batch") found = t->item(r, 1)->text() == "64";
    }
    QVERIFY(found);
  }

  void invalid_kv_heads_shows_an_inline_error() {
    MainWindow w;
    w.show();
    FieldEditor* kv = w.inputs()->editor("kv_heads");
    type_into(kv, "3");
    QVERIFY(!w.design()->valid());
    QVERIFY(kv->hasError());
    QVERIFY(kv->errorLabel()->isVisibleTo(&w));
    QVERIFY2(kv->errorLabel()->text().contains("divisor"), qPrintable(kv->errorLabel()->text()));
    QVERIFY(w.design()->current());  // views keep the last valid design
    type_into(kv, "8");
    QVERIFY(w.design()->valid());
    QVERIFY(!kv->hasError());
    QVERIFY(!kv->errorLabel()->isVisibleTo(&w));
    // Garbage in a workload field.
    FieldEditor* ctx = w.inputs()->editor("context");
    type_into(ctx, "12abc");
    QVERIFY(ctx->hasError());
    type_into(ctx, "");
    QVERIFY(!ctx->hasError());
  }

  void combos_write_scenario_fields() {
    MainWindow w;
    w.show();
    QComboBox* dtype = w.inputs()->editor("kv_dtype")->comboBox();
    const int i = dtype->findData("int4");
    QVERIFY(i >= 0);
    dtype->setFocus();
    dtype->setCurrentIndex(i);
    emit dtype->activated(i);
    QCOMPARE(w.design()->value("kv_dtype"), QString("int4"));
    QCOMPARE(w.design()->current()->design.arch.kv_dtype, kvscope::KvDtype::int4);
    QComboBox* gpu = w.inputs()->editor("gpu")->comboBox();
    // Every GPU says where its timing parameters come from (measured, borrowed or datasheet).
    QVERIFY(gpu->count() > 3);
    for (int k = 0; k < gpu->count(); ++k) {
      const kvscope::GpuSpec g = kvscope::load_gpu(gpu->itemData(k).toString().toStdString());
      const QString t = gpu->itemText(k);
      if (!g.calibration) QVERIFY2(t.contains("datasheet defaults"), qPrintable(t));
      else if (g.calibration->borrowed) QVERIFY2(t.contains("borrowed"), qPrintable(t));
      else QVERIFY2(t.contains("✓ calibrated"), qPrintable(t));
    }
  }

  void layer_strip_edits_the_producer_map() {
    MainWindow w;
    w.show();
    type_into(w.inputs()->editor("cla"), "2");
    LayerStrip* strip = w.inputs()->layerStrip();
    QCOMPARE(strip->producers()[1], 0);
    QTest::qWait(10);
    const QPoint at = strip->rect().topLeft() + QPoint(strip->width() / 32 + strip->width() / 64 + 4, 30);
    const int cell = strip->cellAt(at);
    QCOMPARE(cell, 1);
    QTest::mouseClick(strip, Qt::LeftButton, {}, at);
    QVERIFY(w.design()->valid());
    QCOMPARE(w.design()->value("cla"), QString());
    QVERIFY(w.design()->value("kv_producers").startsWith("0,1,2,2"));
    QCOMPARE(strip->producers()[1], 1);
    QCOMPARE(kvscope::kv_layer_count(w.design()->current()->design.arch), 17);
    // The producer map editor shows the map and accepts typed maps; a forward map is an error.
    type_into(w.inputs()->editor("kv_producers"), "0,2");
    QVERIFY(!w.design()->valid());
    QVERIFY(w.inputs()->editor("kv_producers")->hasError() || w.inputs()->generalError()->isVisibleTo(&w));
  }

  void pareto_view_draws_frontier_and_clicks_make_current() {
    MainWindow w;
    w.show();
    ParetoView* pv = w.paretoView();
    type_into(pv->axisEditor("batch"), "1,8,64");
    type_into(pv->axisEditor("context"), "8192,65536");
    QVERIFY(wait_settled(w));
    QTest::qWait(50);
    const ParetoPlot& p = pv->plotData();
    QVERIFY(!p.frontier_rows.empty());
    QChart* chart = pv->chartPanel()->chart();
    QVERIFY(chart);
    // Large scatter series come in chunks sharing one name: count them all.
    int frontier_points = 0, all_points = 0;
    for (QAbstractSeries* s : chart->series()) {
      auto* xy = qobject_cast<QXYSeries*>(s);
      if (!xy) continue;
      if (s->name().startsWith("Pareto frontier")) frontier_points += static_cast<int>(xy->count());
      if (s->name().startsWith("swept designs")) all_points += static_cast<int>(xy->count());
    }
    QVERIFY(frontier_points >= static_cast<int>(p.frontier_rows.size()));
    QCOMPARE(all_points, static_cast<int>(p.drawn_rows.size()));
    QVERIFY(p.drawn_rows.size() <= p.rows.size());
    // Changing an objective redraws without a new sweep.
    QComboBox* y = pv->findChild<QComboBox*>("y_field");
    y->setCurrentIndex(y->findData("kv_cache_bytes"));
    QCOMPARE(pv->choice().y_field, std::string("kv_cache_bytes"));
    QCOMPARE(pv->choice().y_sense, kvscope::Sense::minimize);
    QTest::qWait(20);  // the redraw runs on the next event-loop turn
    QCOMPARE(w.design()->scenario().objectives.substr(0, 7), std::string("tpot_s:"));
    // Clicking a frontier point (through its value-space position) makes it current.
    const std::size_t row = pv->plotData().frontier_rows.front();
    const auto data = w.sweep()->result();
    const double x = data->value(row, static_cast<std::size_t>(field_column(pv->choice().x_field)));
    const double yy = data->value(row, static_cast<std::size_t>(field_column(pv->choice().y_field)));
    const long long hit = pv->rowAt(x, yy);
    QVERIFY(hit >= 0);
    QVERIFY(!pv->describeRow(static_cast<std::size_t>(hit)).isEmpty());
    pv->choose(static_cast<std::size_t>(hit));
    const auto want = data->scenario_values(static_cast<std::size_t>(hit));
    for (const auto& [k, v] : want) QCOMPARE(w.design()->value(QString::fromStdString(k)).toStdString(), v);
  }

  // Functional check only: a ~1e5-point sweep reaches the Pareto chart in full. How fast the
  // redraw is belongs to a benchmark (bench/), not to a timed assertion on a shared CI machine.
  void large_sweep_reaches_the_chart() {
    MainWindow w;
    w.show();
    ParetoView* pv = w.paretoView();
    // 6 kv_heads x 4 CLA x 4 dtypes x 8 contexts x 128 batches = 98,304 points.
    type_into(pv->axisEditor("head_dim"), "");
    type_into(pv->axisEditor("batch"), "1..128");
    QVERIFY(wait_settled(w));
    QVERIFY(w.sweep()->result()->rows() > 90000);
    ParetoChoice c = pv->choice();
    c.feasible_only = false;
    c.x_field = "kv_cache_bytes";
    c.y_field = "decode_tokens_per_s";
    QElapsedTimer t;
    t.start();
    pv->setChoice(c);  // recomputes the frontier and rebuilds the chart
    QCoreApplication::processEvents();
    const qint64 ms = t.elapsed();
    qInfo("redraw of %zu points: %lld ms", pv->plotData().rows.size(), static_cast<long long>(ms));
    QVERIFY(pv->plotData().rows.size() > 90000);
  }

  void bad_axis_text_is_marked() {
    MainWindow w;
    w.show();
    FieldEditor* cla = w.paretoView()->axisEditor("cla");
    type_into(cla, "1,,2");
    QVERIFY(cla->hasError());
    type_into(cla, "1,2");
    QVERIFY(!cla->hasError());
  }

  void views_pins_and_exports() {
    QTemporaryDir dir;
    MainWindow w;
    w.show();
    QVERIFY(wait_settled(w));
    for (const QString& v : MainWindow::viewNames()) {
      QVERIFY(w.setView(v));
      QCOMPARE(w.currentViewName(), v);
      QVERIFY2(w.currentChart()->hasChart(), qPrintable(v));
      QVERIFY(!w.currentChart()->chart()->series().isEmpty());
      QString err;
      const QString svg = dir.filePath(v + ".svg"), png = dir.filePath(v + ".png");
      QVERIFY2(w.exportChart(svg, &err), qPrintable(err));
      QVERIFY2(w.exportChart(png, &err), qPrintable(err));
      QVERIFY(QFileInfo(svg).size() > 1000 && QFileInfo(png).size() > 1000);
    }
    QString err;
    QVERIFY2(w.exportSweepCsv(dir.filePath("sweep.csv"), &err), qPrintable(err));
    QFile csv(dir.filePath("sweep.csv"));
    QVERIFY(csv.open(QIODevice::ReadOnly));
    const QList<QByteArray> lines = csv.readAll().split('\n');
    QVERIFY(lines.front().startsWith("index,configuration,"));
    QCOMPARE(static_cast<std::size_t>(lines.size() - 2), w.sweep()->result()->rows());
    // Pins show up in the comparison table and the throughput view.
    w.design()->pinCurrent();
    type_into(w.inputs()->editor("kv_heads"), "2");
    w.design()->pinCurrent();
    QCOMPARE(w.details()->pinsTable()->columnCount(), 4);  // figure, current, 2 pins
    w.setView("throughput");
    QVERIFY(w.currentChart()->chart()->series().size() >= 3);
    // Scenario save/open through the window.
    QVERIFY2(w.saveScenario(dir.filePath("s.json"), &err), qPrintable(err));
    MainWindow w2;
    QVERIFY2(w2.openScenario(dir.filePath("s.json"), &err), qPrintable(err));
    QCOMPARE(w2.design()->scenario().values, w.design()->scenario().values);
    QCOMPARE(w2.inputs()->editor("kv_heads")->text(), QString("2"));
    QVERIFY(!w2.openScenario(dir.filePath("missing.json"), &err));
    QVERIFY(!err.isEmpty());
  }
};

QTEST_MAIN(TestWidgets)
#include "test_gui_widgets.moc"
