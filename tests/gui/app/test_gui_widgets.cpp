// QTest: drives kvscope-gui's widgets (offscreen) and checks the view-models follow.
#include <QAbstractSeries>
#include <QChart>
#include <QComboBox>
#include <QDockWidget>
#include <QFontMetrics>
#include <QLabel>
#include <QLegendMarker>
#include <QLineEdit>
#include <QProcess>
#include <QProgressBar>
#include <QSignalSpy>
#include <QTabWidget>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QXYSeries>
#include <QtTest>

#include "chart_panel.hpp"
#include "design_model.hpp"
#include "details_panel.hpp"
#include "field_editor.hpp"
#include "inputs_panel.hpp"
#include "kvscope/core/loaders.hpp"
#include "kvscope/plot/plot.hpp"
#include "layer_strip.hpp"
#include "main_window.hpp"
#include "pareto_view.hpp"
#include "serving_view.hpp"
#include "sweep_model.hpp"

using namespace kvscope::gui;

namespace {
QLineEdit* line_of(FieldEditor* e) {
  return e->lineEdit() ? e->lineEdit() : e->comboBox()->lineEdit();
}

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
  // A 1366x768 laptop screen less a task bar (~40 px) and the title bar (~30 px).
  void window_fits_a_laptop_screen() {
    MainWindow w;
    const QSize hint = w.minimumSizeHint(), least = w.minimumSize().expandedTo(hint);
    QVERIFY2(least.width() <= 1366 && least.height() <= 698,
             qPrintable(QString("minimum %1x%2").arg(least.width()).arg(least.height())));
    // A new window opens at the screen's size (less its frame), at most 1600x1000.
    QCOMPARE(MainWindow::initialSize({1366, 728}), QSize(1350, 688));
    QCOMPARE(MainWindow::initialSize({3840, 2100}), QSize(1600, 1000));
    QCOMPARE(MainWindow::initialSize({800, 600}), QSize(MainWindow::kMinWidth, MainWindow::kMinHeight));
    w.resize(1366, 768);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QVERIFY(wait_settled(w));
    QCOMPARE(w.size(), QSize(1366, 768));
    // Both docks are shown beside the views, inside the window, and every view keeps a usable chart.
    auto* tabs = w.findChild<QTabWidget*>("views");
    QVERIFY(tabs);
    for (const char* dock : {"inputs_dock", "details_dock"}) {
      auto* d = w.findChild<QDockWidget*>(dock);
      QVERIFY(d && d->isVisible());
      QVERIFY2(w.rect().contains(d->geometry()), dock);
      QVERIFY2(!d->geometry().intersects(tabs->geometry()), dock);
    }
    for (const QString& v : MainWindow::viewNames()) {
      QVERIFY(w.setView(v));
      QTest::qWait(20);
      QTRY_VERIFY_WITH_TIMEOUT(w.currentChart()->hasChart(), 60000);  // the serving view simulates on a thread first
      ChartPanel* c = w.currentChart();
      QVERIFY2(c->width() >= 360 && c->height() >= 240, qPrintable(v));
      QVERIFY2(c->hasChart(), qPrintable(v));
      // Qt elides a chart title and legend entries that do not fit: every line of the title
      // and the legend's entries must fit the chart's width.
      const kvscope::plot::ChartSpec& spec = c->spec();
      QFont title_font;
      title_font.setPixelSize(19);
      title_font.setBold(true);
      QFont sub_font;
      sub_font.setPixelSize(13);
      const int room = c->width() - 40;
      QVERIFY2(QFontMetrics(title_font).horizontalAdvance(QString::fromStdString(spec.title)) <= room,
               qPrintable(v + ": " + QString::fromStdString(spec.title)));
      for (const QString& line : QString::fromStdString(spec.subtitle).split('\n')) {
        QVERIFY2(QFontMetrics(sub_font).horizontalAdvance(line) <= room, qPrintable(v + ": " + line));
      }
      QFont legend_font;
      legend_font.setPixelSize(12);
      int legend_w = 0;
      for (QLegendMarker* m : c->chart()->legend()->markers()) {
        if (m->isVisible()) legend_w += QFontMetrics(legend_font).horizontalAdvance(m->label()) + 34;
      }
      QVERIFY2(legend_w <= room, qPrintable(QString("%1: legend %2 px in %3").arg(v).arg(legend_w).arg(room)));
    }
  }

  // --help and --version are answered without a window system: run with the xcb platform and
  // no display, where constructing a QApplication aborts.
  void help_and_version_need_no_display() {
    for (const QString& arg : {QString("--help"), QString("--version")}) {
      QProcess p;
      QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
      env.remove("DISPLAY");
      env.remove("WAYLAND_DISPLAY");
      env.insert("QT_QPA_PLATFORM", "xcb");
      p.setProcessEnvironment(env);
      p.start(KVSCOPE_GUI_EXE, {arg});
      QVERIFY(p.waitForFinished(30000));
      const QString out = QString::fromUtf8(p.readAllStandardOutput());
      QCOMPARE(p.exitStatus(), QProcess::NormalExit);
      QVERIFY2(p.exitCode() == 0, qPrintable(arg + ": " + out + QString::fromUtf8(p.readAllStandardError())));
      if (arg == "--help") {
        for (const char* want : {"Usage:", "--scenario", "--view", "--size", "--screenshot", "GiB"}) {
          QVERIFY2(out.contains(want), qPrintable(out));
        }
      } else {
        QVERIFY2(out.startsWith("kvscope-gui " KVSCOPE_VERSION), qPrintable(out));
      }
    }
    // A malformed --size is an error naming the flag (this one needs a display: offscreen).
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("QT_QPA_PLATFORM", "offscreen");
    p.setProcessEnvironment(env);
    const struct {
      const char* size;
      const char* message;
    } bad[] = {{"1366by768", "--size: expected WIDTHxHEIGHT in pixels (e.g. 1366x768), found '1366by768'"},
               {"800x600", "--size 800x600 is below the window's minimum"}};
    for (const auto& b : bad) {
      p.start(KVSCOPE_GUI_EXE, {"--size", b.size});
      QVERIFY(p.waitForFinished(60000));
      QCOMPARE(p.exitCode(), 2);
      const QString err = QString::fromUtf8(p.readAllStandardError());
      QVERIFY2(err.contains(b.message), qPrintable(err));
    }
  }

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
      if (!g.calibration)
        QVERIFY2(t.contains("datasheet defaults"), qPrintable(t));
      else if (g.calibration->borrowed)
        QVERIFY2(t.contains("borrowed"), qPrintable(t));
      else
        QVERIFY2(t.contains("✓ calibrated"), qPrintable(t));
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
      if (s->name().startsWith("swept: ")) all_points += static_cast<int>(xy->count());
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

  // The serving view simulates the current design and its CLA siblings on a worker thread (the
  // window stays responsive, the progress bar fills), draws one line per design with the SLO as a
  // reference line, recomputes on a new design or load, and marks a bad load value.
  void serving_view_simulates_in_the_background() {
    MainWindow w;
    w.show();
    QVERIFY(wait_settled(w));
    auto* view = w.findChild<ServingView*>("serving_view");
    QVERIFY(view);
    QSignalSpy computed(view, &ServingView::computed);
    QVERIFY(w.setView("serving"));
    QVERIFY(view->busy());  // started, not finished inside setView: the GUI thread is free
    QVERIFY(computed.wait(60000));
    QVERIFY(!view->busy());
    QCOMPARE(view->errorText(), QString());
    auto* progress = view->findChild<QProgressBar*>("serving_progress");
    QCOMPARE(progress->value(), progress->maximum());
    // Default design llama-3-8b (CLA1): the current line and CLA 2, 3, 4 with the same K/V heads.
    QCOMPARE(static_cast<int>(view->curves().size()), 4);
    const kvscope::plot::ChartSpec& spec = w.currentChart()->spec();
    QCOMPARE(static_cast<int>(spec.series.size()), 4);
    QCOMPARE(QString::fromStdString(spec.series[1].name), QString("CLA2"));
    QCOMPARE(spec.ref_lines.size(), std::size_t(1));  // the TTFT target (2000 ms)
    QCOMPARE(spec.ref_lines[0].value, 2.0);
    // The TPOT metric: another chart from the same curves, no new simulation.
    auto* metric = view->findChild<QComboBox*>("serving_metric");
    metric->setCurrentIndex(1);
    QVERIFY(!view->busy());
    QCOMPARE(w.currentChart()->spec().ref_lines[0].value, 0.05);
    metric->setCurrentIndex(2);
    QVERIFY(w.currentChart()->spec().ref_lines.empty());  // throughput has no target
    // A new design recomputes (the siblings follow its K/V heads).
    type_into(w.inputs()->editor("kv_heads"), "2");
    QTRY_VERIFY_WITH_TIMEOUT(!view->busy() && computed.size() >= 2, 60000);
    QVERIFY(w.currentChart()->spec().subtitle.find("H128-GQA2") != std::string::npos);
    // Bad load values: one line naming the flag's rule, nothing simulated.
    struct Row {
      const char* field;
      const char* text;
      const char* message;
    };
    const Row rows[] = {
        {"isl", "uniform:9..3", "--isl: expected uniform:A..B with A <= B, found 'uniform:9..3'"},
        {"osl", "0", "--osl: expected a token count >= 1"},
        {"ttft_slo_ms", "-5", "--ttft-slo-ms: expected a number in 0..1e+09, found '-5'"},
        {"tpot_slo_ms", "fast", "--tpot-slo-ms: expected a number in 0..1e+09, found 'fast'"},
    };
    for (const Row& r : rows) {
      QLineEdit* e = view->editor(r.field);
      QVERIFY(e);
      const QString before = e->text();
      e->setText(r.text);
      emit e->editingFinished();
      QVERIFY(!view->busy());
      QVERIFY2(view->errorText().contains(r.message), qPrintable(view->errorText()));
      QVERIFY(!e->styleSheet().isEmpty());  // the field is marked
      e->setText(before);
      emit e->editingFinished();
      QTRY_VERIFY_WITH_TIMEOUT(!view->busy(), 60000);
      QCOMPARE(view->errorText(), QString());
    }
  }

  void views_pins_and_exports() {
    QTemporaryDir dir;
    MainWindow w;
    w.show();
    QVERIFY(wait_settled(w));
    for (const QString& v : MainWindow::viewNames()) {
      QVERIFY(w.setView(v));
      QCOMPARE(w.currentViewName(), v);
      QTRY_VERIFY_WITH_TIMEOUT(w.currentChart()->hasChart(), 60000);
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
