// QTest: the view-models of kvscope-gui (DesignModel, SweepModel, chart specs) without widgets.
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>
#include <algorithm>
#include <cmath>
#include <set>

#include "design_model.hpp"
#include "format.hpp"
#include "kvscope/core/error.hpp"
#include "kvscope/core/scenario.hpp"
#include "kvscope/models/accuracy.hpp"
#include "kvscope/models/fields.hpp"
#include "sweep_model.hpp"
#include "view_specs.hpp"

using namespace kvscope;
using namespace kvscope::gui;

class TestViewModels : public QObject {
  Q_OBJECT
 private slots:
  void defaults_evaluate() {
    DesignModel m;
    QVERIFY(m.valid());
    QVERIFY(m.current());
    QCOMPARE(m.current()->design.arch.id, std::string("llama-3-8b"));
    QVERIFY(m.current()->eval.decode_step_s > 0);
    QCOMPARE(static_cast<int>(m.current()->layers.size()), m.current()->design.arch.n_layers);
  }

  void every_change_reevaluates() {
    DesignModel m;
    QSignalSpy spy(&m, &DesignModel::evaluated);
    const double kv8 = m.current()->eval.memory.kv_bytes_per_token;
    m.setValue("cla", "2");
    QCOMPARE(spy.count(), 1);
    QVERIFY(m.valid());
    QCOMPARE(m.current()->eval.memory.kv_bytes_per_token, kv8 / 2);
    m.setValue("kv_dtype", "fp8");
    QCOMPARE(m.current()->eval.memory.kv_bytes_per_token, kv8 / 4);
    m.setValue("cla", "2");  // unchanged: no re-evaluation
    QCOMPARE(spy.count(), 2);
  }

  void invalid_kv_heads_is_an_inline_error() {
    DesignModel m;
    auto before = m.current();
    m.setValue("kv_heads", "3");  // llama-3-8b has 32 query heads
    QVERIFY(!m.valid());
    QVERIFY(m.errors().count("kv_heads"));
    QVERIFY2(m.errors().at("kv_heads").contains("divisor"), qPrintable(m.errors().at("kv_heads")));
    QCOMPARE(m.current(), before);  // the views keep the last valid design
    m.setValue("kv_heads", "4");
    QVERIFY(m.valid());
    QCOMPARE(m.current()->design.arch.n_kv_heads, 4);
  }

  void parse_errors_belong_to_their_field() {
    DesignModel m;
    m.setValues({{"batch", "abc"}, {"context", "-5"}, {"kv_dtype", "fp7"}, {"tp", "3"}});
    QVERIFY(m.errors().count("batch"));
    QVERIFY(m.errors().count("context"));
    QVERIFY(m.errors().count("kv_dtype"));
    m.setValues({{"batch", ""}, {"context", ""}, {"kv_dtype", ""}});
    QVERIFY(!m.valid());
    QVERIFY2(m.errors().count("tp"), qPrintable(m.errorText()));  // 3 does not divide 32 heads
    m.setValue("tp", "2");
    QVERIFY(m.valid());
    m.setValue("model", "no-such-model");
    QVERIFY(m.errors().count("model"));
    m.selectModel("mistral-7b");
    QVERIFY(m.valid());
    QCOMPARE(m.current()->design.arch.id, std::string("mistral-7b"));
  }

  void producer_map_and_cla_conflict_is_reported() {
    DesignModel m;
    m.setValues({{"cla", "2"}, {"kv_producers", "KeepEnds"}});
    QVERIFY(!m.valid());
    QVERIFY(!m.errorText().isEmpty());
    m.setValue("cla", "");
    QVERIFY2(m.valid(), qPrintable(m.errorText()));
    QCOMPARE(QString::fromStdString(m.current()->design.arch.sharing), QString("KeepEnds"));
  }

  void scenario_round_trip() {
    QTemporaryDir dir;
    DesignModel a;
    a.setValues({{"model", "llama-3-8b"},
                 {"kv_heads", "4"},
                 {"cla", "2"},
                 {"kv_dtype", "int8"},
                 {"gpu", "h200"},
                 {"batch", "64"},
                 {"context", "32768"},
                 {"tpot_limit_ms", "40"}});
    a.setObjectives("kv_bytes_per_token:min,ppl_delta:min");
    QVERIFY(a.valid());
    const QString path = dir.filePath("s.json");
    a.save(path);
    DesignModel b;
    b.load(path);
    QCOMPARE(b.scenario().values, a.scenario().values);
    QCOMPARE(b.scenario().objectives, a.scenario().objectives);
    QVERIFY(b.valid());
    QCOMPARE(b.current()->eval.decode_step_s, a.current()->eval.decode_step_s);
    // The file is exactly what the CLI takes with --scenario.
    const Scenario s = load_scenario(path.toStdString());
    QCOMPARE(scenario_to_json(s), scenario_to_json(a.scenario()));
    // A broken file is an error, not a crash, and leaves the model as it was.
    QFile bad(dir.filePath("bad.json"));
    QVERIFY(bad.open(QIODevice::WriteOnly));
    bad.write(R"({"schema": "kvscope-scenario/1", "kv_heads": "4", "bogus": 1})");
    bad.close();
    bool threw = false;
    try {
      b.load(bad.fileName());
    } catch (const kvscope::Error&) {
      threw = true;
    }
    QVERIFY(threw);
    QCOMPARE(b.scenario().values, a.scenario().values);
  }

  void pins() {
    DesignModel m;
    m.pinCurrent();
    m.pinCurrent();  // the same design once
    QCOMPARE(static_cast<int>(m.pins().size()), 1);
    m.setValue("cla", "2");
    m.pinCurrent();
    QCOMPARE(static_cast<int>(m.pins().size()), 2);
    m.unpin(0);
    QCOMPARE(m.pins().front().point->design.arch.n_layers / kvscope::kv_layer_count(m.pins().front().point->design.arch), 2);
  }

  void sweep_runs_and_decodes_points() {
    DesignModel d;
    SweepModel s;
    s.setDebounce(0);
    s.setAxis("head_dim", "");
    s.setAxis("kv_heads", "1,2,4,8,32");
    s.setAxis("cla", "1,2");
    s.setAxis("kv_dtype", "bf16,int4");
    s.setAxis("context", "4096,32768");
    s.setAxis("batch", "1..64:x2");
    QSignalSpy done(&s, &SweepModel::finished);
    s.setBase(d.current()->scenario);
    QVERIFY(done.wait(60000));
    auto r = s.result();
    QVERIFY(r);
    QCOMPARE(r->total, quint64(5 * 2 * 2 * 2 * 7));
    QCOMPARE(static_cast<quint64>(r->rows()), r->evaluated);
    const int ckv = field_column("n_kv_heads"), cb = field_column("batch"), cc = field_column("context");
    for (std::size_t row = 0; row < r->rows(); row += 7) {
      const auto v = r->scenario_values(row);
      QCOMPARE(std::to_string(static_cast<int>(r->value(row, static_cast<std::size_t>(ckv)))), v.at("kv_heads"));
      QCOMPARE(std::to_string(static_cast<long long>(r->value(row, static_cast<std::size_t>(cb)))), v.at("batch"));
      QCOMPARE(std::to_string(static_cast<long long>(r->value(row, static_cast<std::size_t>(cc)))), v.at("context"));
    }
    // A point made current reproduces the sweep's figures.
    const std::size_t row = r->rows() / 2;
    d.setValues(r->scenario_values(row));
    QVERIFY(d.valid());
    const auto& fields = models::fields();
    const models::PointResult p = d.current()->point();
    for (std::size_t c = 0; c < fields.size(); ++c) {
      const double a = fields[c].get(p), b = r->value(row, c);
      QVERIFY2((std::isnan(a) && std::isnan(b)) || a == b, fields[c].name.data());
    }
  }

  void frontier_is_the_non_dominated_set() {
    DesignModel d;
    SweepModel s;
    s.setDebounce(0);
    QSignalSpy done(&s, &SweepModel::finished);
    s.setBase(d.current()->scenario);
    QVERIFY(done.wait(60000));
    auto r = s.result();
    ParetoChoice c;
    c.x_field = "kv_bytes_per_token";
    c.y_field = "decode_tokens_per_s";
    c.x_sense = Sense::minimize;
    c.y_sense = Sense::maximize;
    const ParetoPlot p = pareto_plot(*r, c, d.current().get());
    QVERIFY(!p.frontier_rows.empty());
    QCOMPARE(p.rows.size() + p.hidden, r->rows());
    const auto cx = static_cast<std::size_t>(field_column(c.x_field)), cy = static_cast<std::size_t>(field_column(c.y_field));
    auto dominates = [&](std::size_t a, std::size_t b) {
      const double ax = r->value(a, cx), ay = r->value(a, cy), bx = r->value(b, cx), by = r->value(b, cy);
      return ax <= bx && ay >= by && (ax < bx || ay > by);
    };
    std::vector<bool> on(r->rows(), false);
    for (std::size_t f : p.frontier_rows) on[f] = true;
    // No drawn point dominates a frontier point; every other drawn point is dominated by one.
    for (std::size_t f : p.frontier_rows) {
      for (std::size_t q : p.rows) QVERIFY(!dominates(q, f));
    }
    for (std::size_t q = 0; q < p.rows.size(); q += 13) {
      const std::size_t row = p.rows[q];
      if (on[row]) continue;
      bool dominated = false;
      for (std::size_t f : p.frontier_rows) dominated = dominated || dominates(f, row);
      QVERIFY(dominated);
    }
    // The spec: all points faded, frontier sorted by x, the current design starred.
    QCOMPARE(p.spec.series.size(), std::size_t(3));
    QCOMPARE(p.spec.series[1].x.size(), p.frontier_rows.size());
    QVERIFY(std::is_sorted(p.spec.series[1].x.begin(), p.spec.series[1].x.end()));
    QCOMPARE(p.spec.series[2].x.size(), std::size_t(1));
  }

  // The legend counts designs (architecture combinations), not rows: a design repeats at every
  // swept batch and context, and with objectives that do not depend on them every repeat ties.
  void frontier_counts_distinct_designs() {
    DesignModel d;
    SweepModel s;
    s.setDebounce(0);
    QSignalSpy done(&s, &SweepModel::finished);
    s.setAxis("batch", "1,2,4");
    s.setAxis("context", "1024,2048");
    s.setAxis("head_dim", "");
    s.setAxis("kv_dtype", "bf16,fp8");
    s.setBase(d.current()->scenario);
    QVERIFY(done.wait(60000));
    auto r = s.result();
    QCOMPARE(r->rows(), std::size_t(6 * 6 * 4 * 2));  // 6 kv_heads x 4 CLA x 2 dtypes, 6 workloads
    ParetoChoice c;
    c.x_field = "kv_bytes_per_token";
    c.y_field = "ppl_delta";
    c.x_sense = c.y_sense = Sense::minimize;
    c.x_log = c.y_log = false;
    const ParetoPlot p = pareto_plot(*r, c, d.current().get());
    std::set<std::uint32_t> designs, front;
    for (std::size_t row : p.rows) designs.insert(r->arch_index[row]);
    for (std::size_t row : p.frontier_rows) front.insert(r->arch_index[row]);
    QCOMPARE(p.designs, designs.size());
    QCOMPARE(p.frontier_designs, front.size());
    // 6 (batch, context) repeats of each frontier design.
    QCOMPARE(p.frontier_rows.size(), 6 * p.frontier_designs);
    QCOMPARE(QString::fromStdString(p.spec.series[1].name),
             QString("Pareto frontier: %1 design%2").arg(front.size()).arg(front.size() == 1 ? "" : "s"));
    QCOMPARE(QString::fromStdString(p.spec.series[0].name), QString("swept: %1 designs").arg(designs.size()));
    QVERIFY(QString::fromStdString(p.spec.subtitle).contains(QString("%1 points on the frontier").arg(p.frontier_rows.size())));
  }

  // The GUI prints memory and counts as the CLI does (kvscope/core/format.hpp).
  void values_read_as_the_cli_prints_them() {
    const struct {
      double v;
      const char* unit;
      const char* want;
    } rows[] = {
        {1073741824.0, "B", "1.00 GiB"},
        {85520809984.0, "B", "79.65 GiB"},
        {65536.0, "B", "64.00 KiB"},
        {512.0, "B", "512 B"},
        {32768.0, "positions", "32768 positions"},
        {2048.0, "tokens", "2048 tokens"},
        {8.03e9, "", "8.03 B"},
        {31.0, "", "31"},
        {1.6, "%", "+1.60 %"},
        {3.35e12, "B/s", "3350.0 GB/s"},
        {0.0319, "s", "31.9 ms"},
        {1.0, "bool", "yes"},
        {0.0, "bool", "no"},
        // Not a number is never a figure.
        {std::nan(""), "B", "n/a"},
        {INFINITY, "", "n/a"},
        {-INFINITY, "s", "n/a"},
    };
    for (const auto& r : rows) QCOMPARE(format_value(r.v, r.unit), QString::fromUtf8(r.want));
  }

  void bad_axis_text_is_reported_and_not_run() {
    SweepModel s;
    s.setDebounce(0);
    DesignModel d;
    s.setBase(d.current()->scenario);
    QSignalSpy failed(&s, &SweepModel::failed);
    s.setAxis("batch", "1..");
    QVERIFY(s.axisErrors().count("batch"));
    QVERIFY(failed.wait(5000));
    s.setAxis("batch", "1,2,4");
    QVERIFY(!s.axisErrors().count("batch"));
  }

  void stale_sweeps_are_cancelled() {
    DesignModel d;
    SweepModel s;
    s.setDebounce(0);
    QSignalSpy done(&s, &SweepModel::finished);
    s.setAxis("batch", "1..2000");  // a large sweep
    s.setBase(d.current()->scenario);
    QTest::qWait(30);
    s.setAxis("batch", "1,2");  // supersedes it
    QVERIFY(done.wait(60000));
    QTest::qWait(200);
    QCOMPARE(done.count(), 1);
    QVERIFY(s.result());
    const int cb = field_column("batch");
    for (std::size_t row = 0; row < s.result()->rows(); ++row) QVERIFY(s.result()->value(row, static_cast<std::size_t>(cb)) <= 2);
  }

  // A scenario with serving targets (a file may carry them) evaluates without the goodput search:
  // the design model runs on every keystroke in the GUI thread.
  void serving_targets_do_not_run_in_the_design_model() {
    DesignModel d;
    d.setValues({{"ttft_slo_ms", "2000"}, {"isl", "16k"}, {"requests", "100000"}});
    QVERIFY(d.valid());
    QVERIFY(d.current()->design.workload.serving.has_slo());  // kept for the sweep and the file
    QVERIFY(std::isnan(d.current()->eval.goodput_rps));
  }

  void every_view_spec_builds() {
    DesignModel d;
    d.setValues({{"cla", "2"}, {"batch", "8"}});
    QVERIFY(!memory_spec(*d.current(), false).series.empty());
    QVERIFY(!memory_spec(*d.current(), true).series.empty());
    QVERIFY(roofline_spec(*d.current(), false).series.size() >= 2);
    const auto lines = throughput_lines(d.current(), d.pins(), true);
    QCOMPARE(static_cast<int>(lines.size()), 4);  // current (CLA2) + CLA 1, 3, 4
    // One line per design and one marker per line at its largest batch (the CLA siblings'
    // lines overlap: their markers and labels tell them apart).
    const plot::ChartSpec tp = throughput_spec(lines);
    QCOMPARE(static_cast<int>(tp.series.size()), 8);
    std::set<double> ends;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const plot::Series& line = tp.series[i];
      const plot::Series& mark = tp.series[i + lines.size()];
      QCOMPARE(QString::fromStdString(line.name), lines[i].name);
      QVERIFY(mark.name.empty());  // not in the legend
      QCOMPARE(mark.x.size(), std::size_t(1));
      QCOMPARE(mark.x[0], static_cast<double>(lines[i].point->eval.memory.max_batch));
      QCOMPARE(mark.x[0], line.x.back());
      QCOMPARE(mark.y[0], line.y.back());
      QVERIFY(mark.rgb && line.rgb && *mark.rgb == *line.rgb);
      QVERIFY(mark.show_labels);
      const std::string want =
          lines[i].name.section(" (", 0, 0).toStdString() + ": B=" + std::to_string(lines[i].point->eval.memory.max_batch);
      QVERIFY2(mark.labels[0].rfind(want, 0) == 0, mark.labels[0].c_str());
      ends.insert(mark.x[0]);
    }
    QCOMPARE(ends.size(), lines.size());              // CLA 1..4 end at different batches
    QVERIFY(tp.x.max && *tp.x.max > *ends.rbegin());  // room for the last label
    // Serving: TTFT / TPOT / throughput against the request rate, one line per design, the SLO a ref line.
    {
      const auto designs = throughput_lines(d.current(), {}, true);
      ServingInputs in;
      in.load.isl = "1024", in.load.osl = "64", in.load.requests = 60;
      in.load.ttft_slo_s = 0.5, in.load.tpot_slo_s = 0.02;
      in.design_label = "test design";
      const models::LoadSpec lengths = models::serving_load(in.load);
      const std::vector<double> rates = models::rate_grid(d.current()->profile, d.current()->design.gpu, d.current()->params,
                                                          d.current()->design.workload, lengths, 6);
      QCOMPARE(static_cast<int>(rates.size()), 6);
      QVERIFY(std::is_sorted(rates.begin(), rates.end()));
      QCOMPARE(rates.back() / rates.front(), 128.0);  // 1/4 .. 32 x one-at-a-time
      std::vector<ServingCurve> curves;
      for (const auto& l : designs) {
        curves.push_back({l.name, models::rate_curve(l.point->profile, l.point->design.gpu, l.point->params,
                                                     l.point->design.workload, lengths, models::serving_slo(in.load), rates)});
      }
      for (ServingMetric m : {ServingMetric::ttft, ServingMetric::tpot, ServingMetric::throughput}) {
        const plot::ChartSpec sp = serving_spec(curves, m, in);
        QCOMPARE(sp.series.size(), designs.size());
        for (std::size_t i = 0; i < designs.size(); ++i) {
          QCOMPARE(QString::fromStdString(sp.series[i].name), designs[i].name);
          QCOMPARE(sp.series[i].x, rates);
          // Latency grows with load (queueing), throughput too until saturation.
          QVERIFY(sp.series[i].y.back() > sp.series[i].y.front());
        }
        QCOMPARE(sp.ref_lines.size(), std::size_t(m == ServingMetric::throughput ? 0 : 1));
        if (m == ServingMetric::ttft) QCOMPARE(sp.ref_lines[0].value, 0.5);
        if (m == ServingMetric::tpot) QCOMPARE(sp.ref_lines[0].value, 0.02);
        QVERIFY(sp.subtitle.rfind("test design\nPoisson, 60 requests, prompt 1024, output 64", 0) == 0);
      }
      // The first curve's values are rate_curve's percentiles, point by point.
      QCOMPARE(serving_spec(curves, ServingMetric::ttft, in).series[0].y[2], curves[0].curve.points[2].ttft_s);
      // A design with no K/V pool (70B weights on one 80 GB GPU): no rate, a line saying so.
      DesignModel big;
      big.setValues({{"model", "llama-3-70b"}});
      QVERIFY(models::rate_grid(big.current()->profile, big.current()->design.gpu, big.current()->params,
                                big.current()->design.workload, lengths, 6)
                  .empty());
      const std::vector<ServingCurve> none = {{"current", models::RateCurve{}}};
      QCOMPARE(serving_spec(none, ServingMetric::ttft, in).series[0].name, std::string("current: no request fits"));
    }
    const plot::ChartSpec paper = paper_spec(nullptr);
    bool measured = false, estimated = false;
    for (const auto& s : paper.series) {
      measured = measured || s.name.find("measured (Table 1)") != std::string::npos;
      estimated = estimated || (s.name.find("estimated") != std::string::npos && !s.x.empty());
    }
    QVERIFY(measured && estimated);
    // The footnote states the formula the library fitted, with its coefficients.
    QVERIFY2(paper.footnote.find(models::AccuracyModel::bundled().formula()) != std::string::npos, paper.footnote.c_str());
  }
};

QTEST_MAIN(TestViewModels)
#include "test_gui_view_models.moc"
