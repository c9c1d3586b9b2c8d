// kvscope::plot — the chart library shared by kvscope-gui and `kvscope --plot`.
//
// Data-only: a ChartSpec holds numbers and strings, nothing from the kvscope model. The library
// turns a spec into a Qt Charts QChart (for a QChartView in the GUI) or renders it offscreen to
// .svg (QSvgGenerator, vector) or .png (QImage). It is the only kvscope library besides the front
// ends that links Qt.
//
// Threading and Qt application: everything here must run on the thread that owns the
// QApplication. Programs without one (the CLI, tests) create a kvscope::plot::OffscreenApp first;
// build_chart/render_to_file throw PlotError when no QApplication exists.
//
// Data rules (checked by build_chart and render_to_file, PlotError on violation):
//  * x.size() == y.size() in every series; labels empty or of the same size; y_base empty or of
//    the same size (area style only).
//  * the spec must hold at least one point in all its series together ("nothing to plot").
//  * NaN/inf anywhere (points, ref lines, axis min/max) is an error: it always means a bug
//    upstream, never a value to hide.
//  * a point with x <= 0 on a log10 x axis or y <= 0 on a log10 y axis (likewise a ref line
//    value <= 0 on a log axis): with NonPositive::reject (default) an error naming the series and
//    point; with NonPositive::drop the point is left out and the footnote gets a line
//    "N point(s) with non-positive values omitted from log axes". The count also goes into the
//    SVG/PNG description as "dropped=N".
//
// Metadata (for tests and tooling): the SVG gets <title> = spec.title and <desc> =
//   "kvscope-plot series=N: name1|name2|...[; ref_lines=K: label1|...][; dropped=D]"
// where N counts spec.series (not the helper items drawn for ref lines or labels). A PNG gets
// the same strings as text chunks "Title" and "Description".
#pragma once

#include <QtCore/qglobal.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

QT_BEGIN_NAMESPACE
class QApplication;
class QChart;
QT_END_NAMESPACE

namespace kvscope::plot {

/// Every failure of this library: bad data, unknown file extension, unwritable path, no app.
class PlotError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Scale { linear, log10 };

struct Axis {
  std::string title;  ///< e.g. "KV bytes per token"
  std::string unit;   ///< e.g. "B"; shown as "title [unit]"; empty: no brackets
  Scale scale = Scale::linear;
  std::optional<double> min, max;  ///< fixed range; unset: from data and ref lines (padded,
                                   ///< rounded to nice ticks, or to whole decades on log axes)
  bool include_zero = false;       ///< linear auto range always reaches 0 (bars, stacks)
};

enum class SeriesStyle {
  faded_points,  ///< many small translucent points (alpha ~0.25), e.g. all explored designs
  points,        ///< solid medium markers, e.g. measured operations
  frontier,      ///< highlighted points connected by a thick line, sorted by x
  line,          ///< plain line in the given order
  line_points,   ///< line in the given order with small markers
  current,       ///< one (or a few) big star markers, e.g. the current design
  bars,          ///< vertical bars from the axis base (0, or the axis min on log y) to y
  area,          ///< filled band between y_base (empty: axis base) and y, in the given order
};

struct Series {
  std::string name;  ///< legend entry; empty: not in the legend
  SeriesStyle style = SeriesStyle::line;
  std::vector<double> x, y;
  std::vector<std::string> labels;   ///< per-point text; drawn next to the points if show_labels
  bool show_labels = false;          ///< at most 500 labels per series; a label with no free
                                     ///< spot (overlapping another label or labelled point) is left out
  std::optional<std::uint32_t> rgb;  ///< 0xRRGGBB; unset: next colour of the palette
  std::vector<double> y_base;        ///< area style: lower edge per point
};

/// A dashed full-width (horizontal) or full-height (vertical) line with a text label next to it,
/// e.g. GPU memory capacity, the roofline ridge point, the out-of-memory batch size.
struct RefLine {
  bool vertical = false;
  double value = 0;
  std::string label;
  std::optional<std::uint32_t> rgb;  ///< unset: dark grey
};

enum class NonPositive { reject, drop };

struct ChartSpec {
  std::string title;
  std::string subtitle;  ///< smaller line(s) under the title ('\n' breaks); may be empty
  std::string footnote;  ///< provenance (tool version, inputs); bottom left, wrapped
  Axis x, y;
  std::vector<Series> series;  ///< drawn in order (later on top)
  std::vector<RefLine> ref_lines;
  int width_px = 1100, height_px = 720;  ///< output size of render_to_file (PNG pixels, SVG px)
  NonPositive non_positive_on_log = NonPositive::reject;
  bool legend = true;
};

/// Options only for the interactive GUI; files never use OpenGL (SVG must stay vector).
struct BuildOptions {
  /// Series with more points than this use QXYSeries::setUseOpenGL(true) (faded/points/current
  /// styles only). 0 disables OpenGL. Only sensible inside a QChartView with a GL context.
  std::size_t opengl_threshold = 0;
};

/// Builds a QChart from the spec. The caller owns the chart (QChartView::setChart takes it over).
/// Labels, ref line labels and the footnote are extra graphics items that follow resizes and
/// zooming. Throws PlotError on invalid data or when no QApplication exists.
[[nodiscard]] QChart* build_chart(const ChartSpec& spec, const BuildOptions& options = {});

/// Renders the spec to `path`: ".svg" (vector, QSvgGenerator) or ".png" (QImage, width_px x
/// height_px), extension case-insensitive. Writes atomically (QSaveFile: temporary file in the same
/// folder, renamed on success); the folder must exist. Throws PlotError on an unknown extension,
/// invalid data, an unwritable path or no QApplication.
void render_to_file(const ChartSpec& spec, const std::filesystem::path& path);

/// Renders the spec in memory: format "svg" or "png"; returns the file's bytes (never empty).
/// The CLI writes them through kvscope::OutputFile, so a plot on a full disk is an error and never
/// a truncated file. Throws PlotError like render_to_file.
[[nodiscard]] std::string render_to_bytes(const ChartSpec& spec, const std::string& format);

/// The SVG/PNG description string of a spec (see the top of this header). Validates like
/// build_chart.
[[nodiscard]] std::string describe(const ChartSpec& spec);

/// Makes sure a QApplication exists so that a non-Qt program (CLI, tests) can render charts.
/// If none exists, it selects the "offscreen" platform when QT_QPA_PLATFORM is unset and neither
/// DISPLAY nor WAYLAND_DISPLAY is set, then creates a QApplication that this object owns and
/// deletes in its destructor. If a QApplication already exists it does nothing (nesting and
/// repeated construction are safe). Throws PlotError if a QCoreApplication that is not a
/// QApplication exists. Main thread only; the object must outlive all charts it serves.
class OffscreenApp {
 public:
  OffscreenApp();
  ~OffscreenApp();
  OffscreenApp(const OffscreenApp&) = delete;
  OffscreenApp& operator=(const OffscreenApp&) = delete;
  /// True when this object created (and will delete) the application.
  [[nodiscard]] bool owns_app() const noexcept { return app_ != nullptr; }

 private:
  std::unique_ptr<QApplication> app_;
};

}  // namespace kvscope::plot
