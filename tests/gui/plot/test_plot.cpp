// kvscope::plot: every chart type to SVG and PNG offscreen, metadata, validation errors, 1e5 points.
#include <QtCharts/QChart>
#include <QtCharts/QLegend>
#include <QtCharts/QLegendMarker>
#include <QtCharts/QLogValueAxis>
#include <QtCharts/QScatterSeries>
#include <QtCharts/QValueAxis>
#include <QtCore/QCoreApplication>
#include <QtCore/QFile>
#include <QtCore/QXmlStreamReader>
#include <QtGui/QImage>
#include <QtWidgets/QGraphicsScene>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <random>
#include <set>
#include <string>

#include "kvscope/plot/charts.hpp"
#include "kvscope/plot/plot.hpp"

namespace fs = std::filesystem;
using namespace kvscope::plot;
using Catch::Matchers::Contains;

namespace {

// One QApplication for the whole test run (never destroyed: destroying it during static
// destruction is not safe).
void ensure_app() {
  static OffscreenApp* app = [] {
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
    return new OffscreenApp();
  }();
  (void)app;
}

struct TempDir {
  fs::path path;
  TempDir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("kvscope-plot-test-" + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// KVSCOPE_PLOT_KEEP=<dir>: also copy every rendered file there, to look at them.
void keep(const fs::path& file) {
  if (const char* dir = std::getenv("KVSCOPE_PLOT_KEEP")) {
    fs::create_directories(dir);
    fs::copy_file(file, fs::path(dir) / file.filename(), fs::copy_options::overwrite_existing);
  }
}

struct SvgInfo {
  bool well_formed = false;
  std::string error;
  std::string title, desc;
  int elements = 0;
  int images = 0;  // raster <image> elements (must be none: vector output)
};

SvgInfo read_svg(const fs::path& p) {
  SvgInfo info;
  QFile f(QString::fromStdString(p.string()));
  REQUIRE(f.open(QIODevice::ReadOnly));
  QXmlStreamReader xml(&f);
  while (!xml.atEnd()) {
    xml.readNext();
    if (xml.isStartElement()) {
      ++info.elements;
      const auto name = xml.name();
      if (name == QStringLiteral("title") && info.title.empty()) {
        info.title = xml.readElementText().toStdString();
      } else if (name == QStringLiteral("desc") && info.desc.empty()) {
        info.desc = xml.readElementText().toStdString();
      } else if (name == QStringLiteral("image")) {
        ++info.images;
      }
    }
  }
  info.well_formed = !xml.hasError();
  info.error = xml.errorString().toStdString();
  return info;
}

std::size_t distinct_colours(const QImage& img) {
  std::set<QRgb> colours;
  for (int y = 0; y < img.height(); y += 2) {
    for (int x = 0; x < img.width(); x += 2) colours.insert(img.pixel(x, y));
  }
  return colours.size();
}

// Share of pixels that are not (near) white.
double ink_ratio(const QImage& img) {
  std::size_t ink = 0, total = 0;
  for (int y = 0; y < img.height(); y += 2) {
    for (int x = 0; x < img.width(); x += 2) {
      const QColor c = img.pixelColor(x, y);
      if (c.red() < 235 || c.green() < 235 || c.blue() < 235) ++ink;
      ++total;
    }
  }
  return static_cast<double>(ink) / static_cast<double>(total);
}

// Renders to SVG and PNG and checks both; returns the SVG description.
std::string render_both(const ChartSpec& spec, const std::string& stem, std::size_t series) {
  TempDir dir;
  const fs::path svg = dir.path / (stem + ".svg");
  const fs::path png = dir.path / (stem + ".png");
  render_to_file(spec, svg);
  render_to_file(spec, png);
  keep(svg);
  keep(png);

  const SvgInfo info = read_svg(svg);
  INFO(info.error);
  CHECK(info.well_formed);
  CHECK(info.title == spec.title);
  CHECK_THAT(info.desc, Catch::StartsWith("kvscope-plot series=" + std::to_string(series) + ":"));
  CHECK(info.images == 0);
  CHECK(info.elements > 50);

  QImage img;
  REQUIRE(img.load(QString::fromStdString(png.string())));
  CHECK(img.width() == spec.width_px);
  CHECK(img.height() == spec.height_px);
  CHECK(distinct_colours(img) > 100);
  const double ink = ink_ratio(img);
  CHECK(ink > 0.02);
  CHECK(ink < 0.9);
  CHECK(img.text(QStringLiteral("Title")).toStdString() == spec.title);
  CHECK(img.text(QStringLiteral("Description")).toStdString() == info.desc);

  // no temporary files left behind by the atomic write
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path)) ++files;
  CHECK(files == 2);
  return info.desc;
}

ChartSpec pareto_spec(std::size_t n_all) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  ParetoData d;
  for (std::size_t i = 0; i < n_all; ++i) {
    const double bytes = std::pow(10.0, 3.0 + 3.0 * u(rng));  // 1 KB .. 1 MB per token
    const double loss = 0.2 + 1.5 / std::log10(bytes) + 0.25 * u(rng);
    d.all_x.push_back(bytes);
    d.all_y.push_back(loss);
  }
  const char* names[] = {"MLA r=128", "GQA g=8", "GQA g=4", "MQA", "CLA2+GQA8", "MLA r=512"};
  const double fx[] = {2.3e3, 1.6e5, 8.2e4, 2.0e4, 4.1e4, 9.0e3};
  for (std::size_t i = 0; i < 6; ++i) {
    d.frontier_x.push_back(fx[i]);
    d.frontier_y.push_back(0.2 + 1.5 / std::log10(fx[i]) + 0.01);
    d.frontier_labels.emplace_back(names[i]);
  }
  d.current = Point{3.3e5, 0.2 + 1.5 / std::log10(3.3e5) + 0.12};
  d.current_label = "current: MHA 70B";
  ChartSpec spec = pareto_chart(d, Axis{"KV bytes per token", "B", Scale::log10, {}, {}, false},
                                Axis{"eval loss", "nats", Scale::linear, {}, {}, false}, "KV-cache design space",
                                "llama-3-70b shape, 4k context, fp16 KV");
  spec.footnote = "kvscope 0.1.0 — kvscope sweep --model llama3-70b --gpu h100-sxm --ctx 4096";
  return spec;
}

ChartSpec roofline_spec() {
  RooflineCeilings c;
  c.peak_flops_per_s = 989e12;
  c.hbm_bytes_per_s = 3.35e12;
  c.l2_bytes_per_s = 12e12;
  std::vector<RooflineOp> ops = {
      {"attn decode (MHA)", 1.0, 3.1e12}, {"attn decode (GQA8)", 8.0, 25e12}, {"attn decode (MLA)", 110.0, 290e12},
      {"QKV proj (b=64)", 60.0, 180e12},  {"MLP (b=256)", 240.0, 610e12},     {"prefill attn", 900.0, 720e12},
  };
  ChartSpec spec = roofline_chart(ops, c, "Decode roofline — H100 SXM", "batch 64, 4k context");
  spec.footnote = "kvscope 0.1.0 — kvscope eval --gpu h100-sxm";
  return spec;
}

ChartSpec memory_spec() {
  MemoryChartData d;
  for (int b = 1; b <= 128; b *= 2) d.x.push_back(b);
  MemoryStack w{"weights", {}}, kv{"KV cache", {}}, ws{"workspace", {}};
  for (double b : d.x) {
    w.y.push_back(35.0);
    kv.y.push_back(0.64 * b);
    ws.y.push_back(2.0 + 0.05 * b);
  }
  d.stacks = {w, kv, ws};
  d.capacity = 80.0;
  d.capacity_label = "H100 HBM";
  MemoryChartData copy = d;
  ChartSpec spec = memory_chart(d, Axis{"batch size", "sequences", Scale::linear, {}, {}, false},
                                Axis{"memory", "GB", Scale::linear, {}, {}, false}, "Memory at 4k context", "llama-3-8b, fp16");
  spec.footnote = "kvscope 0.1.0";
  return spec;
}

ChartSpec lines_spec() {
  std::vector<NamedLine> lines;
  const char* names[] = {"MHA", "GQA g=8", "MLA r=512", "CLA2"};
  const double scale[] = {1.0, 3.2, 5.5, 1.9};
  for (int k = 0; k < 4; ++k) {
    NamedLine l;
    l.name = names[k];
    for (int b = 256; b >= 1; b /= 2) {  // deliberately unsorted: the builder sorts by x
      l.x.push_back(b);
      l.y.push_back(scale[k] * 900.0 * b / (1.0 + b / (12.0 * scale[k])));
    }
    lines.push_back(std::move(l));
  }
  ChartSpec spec = lines_chart(lines, Axis{"batch size", "", Scale::log10, {}, {}, false},
                               Axis{"decode throughput", "tok/s", Scale::linear, {}, {}, true}, "Throughput vs batch");
  spec.footnote = "kvscope 0.1.0";
  return spec;
}

}  // namespace

TEST_CASE("OffscreenApp is safe to create repeatedly", "[plot]") {
  ensure_app();
  OffscreenApp again;  // an app exists: does nothing
  CHECK_FALSE(again.owns_app());
  OffscreenApp nested;
  CHECK_FALSE(nested.owns_app());
}

TEST_CASE("pareto chart renders to SVG and PNG", "[plot]") {
  ensure_app();
  const ChartSpec spec = pareto_spec(3000);
  const std::string desc = render_both(spec, "pareto", 3);
  CHECK(desc == "kvscope-plot series=3: all designs|Pareto frontier|current: MHA 70B");
}

TEST_CASE("roofline chart renders to SVG and PNG", "[plot]") {
  ensure_app();
  const ChartSpec spec = roofline_spec();
  CHECK(spec.y.unit == "TFLOP/s");
  const std::string desc = render_both(spec, "roofline", 3);
  CHECK_THAT(desc, Contains("operations"));
  CHECK_THAT(desc, Contains("ref_lines=1: HBM ridge 295 FLOP/B"));
}

TEST_CASE("roofline chart rejects non-positive ceilings", "[plot]") {
  RooflineCeilings c;
  c.peak_flops_per_s = 1e15;
  c.hbm_bytes_per_s = 0;
  CHECK_THROWS_WITH(roofline_chart({}, c, "t"), Contains("HBM bandwidth must be a positive"));
}

TEST_CASE("stacked memory chart renders, finds the run-out point", "[plot]") {
  ensure_app();
  const ChartSpec spec = memory_spec();
  REQUIRE(spec.series.size() == 3);
  // stacking: the top of the KV area is weights + KV
  CHECK(spec.series[1].y_base == spec.series[0].y);
  CHECK(spec.series[2].y.back() == Approx(35.0 + 0.64 * 128 + 2.0 + 0.05 * 128));
  REQUIRE(spec.ref_lines.size() == 2);
  // total(b) = 37 + 0.69 b crosses 80 at b = 62.3, between the samples 32 and 64 (interpolated)
  CHECK(spec.ref_lines[1].vertical);
  CHECK(spec.ref_lines[1].value == Approx(32.0 + (80.0 - (37 + 0.69 * 32)) / (0.69 * 32) * 32.0));
  const std::string desc = render_both(spec, "memory", 3);
  CHECK_THAT(desc, Contains("weights|KV cache|workspace"));
  CHECK_THAT(desc, Contains("ref_lines=2: H100 HBM 80 GB|out of memory at 62.3 sequences"));
}

TEST_CASE("memory chart rejects stacks of the wrong length", "[plot]") {
  MemoryChartData d;
  d.x = {1, 2, 3};
  d.stacks = {{"weights", {1, 2}}};
  CHECK_THROWS_WITH(memory_chart(d, {}, {}, "t"), Contains("stack 'weights' has 2 values for 3"));
}

TEST_CASE("lines chart renders to SVG and PNG", "[plot]") {
  ensure_app();
  const ChartSpec spec = lines_spec();
  CHECK(spec.series[0].x.front() == 1.0);  // sorted by x
  const std::string desc = render_both(spec, "lines", 4);
  CHECK(desc == "kvscope-plot series=4: MHA|GQA g=8|MLA r=512|CLA2");
}

TEST_CASE("every series style renders (bars, area, line, points)", "[plot]") {
  ensure_app();
  ChartSpec spec;
  spec.title = "All styles";
  spec.x = Axis{"x", "", Scale::linear, {}, {}, false};
  spec.y = Axis{"y", "", Scale::linear, {}, {}, true};
  spec.width_px = 800;
  spec.height_px = 500;
  spec.series.push_back(Series{"bars", SeriesStyle::bars, {1, 2, 3, 4}, {3, 5, 2, 6}, {}, false, {}, {}});
  spec.series.push_back(Series{"area", SeriesStyle::area, {1, 2, 3, 4}, {1, 2, 1.5, 2.5}, {}, false, {}, {0, 0.5, 0.5, 1}});
  spec.series.push_back(Series{"line", SeriesStyle::line, {1, 4}, {6, 1}, {}, false, {}, {}});
  spec.series.push_back(Series{"line+points", SeriesStyle::line_points, {1, 2, 3}, {4, 4.5, 5}, {"a", "b", "c"}, true, {}, {}});
  spec.series.push_back(Series{"points", SeriesStyle::points, {1.5, 2.5}, {5.5, 3.5}, {}, false, 0x55A868u, {}});
  spec.series.push_back(Series{"current", SeriesStyle::current, {3.5}, {4}, {"here"}, true, {}, {}});
  spec.ref_lines.push_back(RefLine{false, 5.8, "limit", {}});
  spec.ref_lines.push_back(RefLine{true, 2.2, "ridge", 0x8172B3u});
  const std::string desc = render_both(spec, "styles", 6);
  CHECK(desc == "kvscope-plot series=6: bars|area|line|line+points|points|current; ref_lines=2: limit|ridge");
}

TEST_CASE("build_chart gives a QChart with log axes, titles with units, legend", "[plot]") {
  ensure_app();
  const ChartSpec spec = pareto_spec(200);
  QGraphicsScene scene;  // owns the chart; markers report visibility only inside a scene
  QChart* chart = build_chart(spec);
  REQUIRE(chart);
  scene.addItem(chart);
  chart->setGeometry(QRectF(0, 0, spec.width_px, spec.height_px));
  QCoreApplication::processEvents();  // let the chart lay out, as a QChartView would
  const auto xs = chart->axes(Qt::Horizontal);
  const auto ys = chart->axes(Qt::Vertical);
  REQUIRE(xs.size() == 1);
  REQUIRE(ys.size() == 1);
  auto* xlog = qobject_cast<QLogValueAxis*>(xs.front());
  REQUIRE(xlog != nullptr);
  CHECK(xlog->titleText() == QStringLiteral("KV bytes per token [B]"));
  CHECK(xlog->min() == Approx(1e3));
  CHECK(xlog->max() == Approx(1e6));
  auto* ylin = qobject_cast<QValueAxis*>(ys.front());
  REQUIRE(ylin != nullptr);
  CHECK(ylin->titleText() == QStringLiteral("eval loss [nats]"));
  // legend entries: all points, frontier, current; helper series (frontier markers, chunks of
  // large scatter series) are hidden
  QStringList shown;
  for (QLegendMarker* m : chart->legend()->markers()) {
    if (m->isVisible()) shown << m->label();
  }
  CHECK(shown.join(QLatin1Char('|')).toStdString() == "all designs|Pareto frontier|current: MHA 70B");
}

TEST_CASE("explicit axis ranges are honoured", "[plot]") {
  ensure_app();
  ChartSpec spec;
  spec.title = "range";
  spec.x = Axis{"x", "", Scale::linear, 0.0, 10.0, false};
  spec.y = Axis{"y", "", Scale::log10, 1.0, 1e4, false};
  spec.series.push_back(Series{"s", SeriesStyle::line, {1, 2}, {10, 100}, {}, false, {}, {}});
  std::unique_ptr<QChart> chart(build_chart(spec));
  auto* x = qobject_cast<QValueAxis*>(chart->axes(Qt::Horizontal).front());
  auto* y = qobject_cast<QLogValueAxis*>(chart->axes(Qt::Vertical).front());
  REQUIRE(x != nullptr);
  REQUIRE(y != nullptr);
  CHECK(x->min() == 0.0);
  CHECK(x->max() == 10.0);
  CHECK(y->min() == 1.0);
  CHECK(y->max() == 1e4);
}

TEST_CASE("errors: extension, unwritable path, bad data", "[plot]") {
  ensure_app();
  TempDir dir;
  const ChartSpec good = lines_spec();

  SECTION("unknown extension") {
    CHECK_THROWS_AS(render_to_file(good, dir.path / "chart.jpg"), PlotError);
    CHECK_THROWS_WITH(render_to_file(good, dir.path / "chart.jpg"),
                      Contains("unsupported extension '.jpg'") && Contains("use .svg or .png"));
    CHECK_THROWS_WITH(render_to_file(good, dir.path / "chart"), Contains("unsupported extension"));
  }
  SECTION("upper-case extension is fine") {
    CHECK_NOTHROW(render_to_file(good, dir.path / "chart.SVG"));
    CHECK(fs::exists(dir.path / "chart.SVG"));
  }
  SECTION("missing folder") {
    CHECK_THROWS_WITH(render_to_file(good, dir.path / "no" / "such" / "dir" / "c.png"),
                      Contains("cannot write plot") && Contains("c.png"));
  }
  SECTION("parent is a regular file (unwritable even for root)") {
    std::ofstream(dir.path / "file.txt") << "x";
    CHECK_THROWS_WITH(render_to_file(good, dir.path / "file.txt" / "c.svg"), Contains("cannot write plot"));
  }
  SECTION("an existing file is replaced, a failed render leaves it alone") {
    const fs::path p = dir.path / "keep.svg";
    render_to_file(good, p);
    const auto size = fs::file_size(p);
    ChartSpec bad = good;
    bad.series[0].y[1] = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS(render_to_file(bad, p));
    CHECK(fs::file_size(p) == size);
  }
  SECTION("NaN and inf") {
    ChartSpec bad = good;
    bad.series[1].y[2] = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_WITH(render_to_file(bad, dir.path / "n.svg"), Contains("series 'GQA g=8' point 2: y is NaN"));
    bad = good;
    bad.series[0].x[0] = std::numeric_limits<double>::infinity();
    CHECK_THROWS_WITH(build_chart(bad), Contains("series 'MHA' point 0: x is infinite"));
    CHECK_FALSE(fs::exists(dir.path / "n.svg"));
  }
  SECTION("non-positive value on a log axis: rejected by default") {
    ChartSpec bad = good;  // x is log10
    bad.series[2].x[3] = 0.0;
    CHECK_THROWS_WITH(render_to_file(bad, dir.path / "l.png"),
                      Contains("series 'MLA r=512' point 3: x = 0 is not positive on the log10 x axis"));
    ChartSpec ref = good;
    ref.ref_lines.push_back(RefLine{true, -1.0, "bad ref", {}});
    CHECK_THROWS_WITH(build_chart(ref), Contains("reference line 'bad ref'"));
  }
  SECTION("non-positive value on a log axis: dropped and noted when asked") {
    ChartSpec spec = good;
    spec.series[2].x[3] = 0.0;
    spec.series[3].x[0] = -4.0;
    spec.non_positive_on_log = NonPositive::drop;
    CHECK_THAT(describe(spec), Contains("; dropped=2"));
    const std::string desc = render_both(spec, "dropped", 4);
    CHECK_THAT(desc, Contains("dropped=2"));
  }
  SECTION("mismatched sizes") {
    ChartSpec bad = good;
    bad.series[0].y.pop_back();
    CHECK_THROWS_WITH(build_chart(bad), Contains("series 'MHA': 9 x values but 8 y values"));
    bad = good;
    bad.series[0].labels = {"only one"};
    CHECK_THROWS_WITH(build_chart(bad), Contains("1 labels for 9 points"));
  }
  SECTION("nothing to plot") {
    ChartSpec empty;
    empty.title = "empty";
    CHECK_THROWS_WITH(render_to_file(empty, dir.path / "e.svg"), Contains("nothing to plot: chart 'empty' has no data points"));
    empty.series.push_back(Series{"s", SeriesStyle::line, {}, {}, {}, false, {}, {}});
    CHECK_THROWS_WITH(build_chart(empty), Contains("nothing to plot"));
  }
  SECTION("bad axis settings") {
    ChartSpec bad = good;
    bad.y.min = 5.0;
    bad.y.max = 1.0;
    CHECK_THROWS_WITH(build_chart(bad), Contains("y axis min 5 is not below max 1"));
    bad = good;
    bad.x.min = 0.0;  // x is log10
    CHECK_THROWS_WITH(build_chart(bad), Contains("x axis min = 0 is not positive on a log10 axis"));
  }
}

TEST_CASE("1e5 faded points build and render", "[plot][large]") {
  ensure_app();
  ChartSpec spec = pareto_spec(100000);
  std::unique_ptr<QChart> chart(build_chart(spec));
  REQUIRE(chart);
  const auto series = chart->series();
  REQUIRE_FALSE(series.isEmpty());
  // large scatter series are split into chunks that share the name (Qt Charts 6.4 costs O(n^2)
  // per series); together they hold every point
  qsizetype total = 0;
  for (QAbstractSeries* s : series) {
    auto* sc = qobject_cast<QScatterSeries*>(s);
    if (sc == nullptr || sc->name() != QStringLiteral("all designs")) continue;
    total += sc->count();
    CHECK_FALSE(sc->useOpenGL());
  }
  CHECK(total == 100000);

  BuildOptions gl;
  gl.opengl_threshold = 50000;
  std::unique_ptr<QChart> chart_gl(build_chart(spec, gl));
  CHECK(qobject_cast<QScatterSeries*>(chart_gl->series().front())->useOpenGL());

  TempDir dir;
  render_to_file(spec, dir.path / "big.png");
  QImage img;
  REQUIRE(img.load(QString::fromStdString((dir.path / "big.png").string())));
  CHECK(img.width() == spec.width_px);
  keep(dir.path / "big.png");
}
