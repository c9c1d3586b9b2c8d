// kvscope::plot — ChartSpec -> QChart, offscreen SVG/PNG rendering, OffscreenApp.
#include "kvscope/plot/plot.hpp"

#include <QtCharts/QAreaSeries>
#include <QtCharts/QChart>
#include <QtCharts/QLegend>
#include <QtCharts/QLegendMarker>
#include <QtCharts/QLineSeries>
#include <QtCharts/QLogValueAxis>
#include <QtCharts/QScatterSeries>
#include <QtCharts/QValueAxis>
#include <QtCore/QBuffer>
#include <QtCore/QByteArray>
#include <QtCore/QCoreApplication>
#include <QtCore/QSaveFile>
#include <QtGui/QFont>
#include <QtGui/QImage>
#include <QtGui/QPainter>
#include <QtSvg/QSvgGenerator>
#include <QtWidgets/QApplication>
#include <QtWidgets/QGraphicsLayout>
#include <QtWidgets/QGraphicsRectItem>
#include <QtWidgets/QGraphicsScene>
#include <QtWidgets/QGraphicsSimpleTextItem>
#include <QtWidgets/QGraphicsTextItem>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <sstream>

#include "kvscope/plot/charts.hpp"

namespace kvscope::plot {

namespace {

// ---- small helpers ------------------------------------------------------------------------------

QString qs(const std::string& s) {
  return QString::fromStdString(s);
}

QColor rgb_color(std::uint32_t rgb, int alpha = 255) {
  return QColor(static_cast<int>((rgb >> 16) & 0xFFu), static_cast<int>((rgb >> 8) & 0xFFu), static_cast<int>(rgb & 0xFFu),
                alpha);
}

QFont font_px(int px, bool bold = false) {
  QFont f = QGuiApplication::font();
  f.setPixelSize(px);
  f.setBold(bold);
  return f;
}

std::string fmt_num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

void require_app() {
  if (qobject_cast<QApplication*>(QCoreApplication::instance()) == nullptr) {
    throw PlotError("kvscope::plot needs a QApplication: create a kvscope::plot::OffscreenApp first");
  }
}

std::string series_display_name(const Series& s, std::size_t index) {
  return s.name.empty() ? "#" + std::to_string(index) : "'" + s.name + "'";
}

// ---- validation and filtering -------------------------------------------------------------------

struct Prepared {
  ChartSpec spec;           // copy with non-positive log points removed (drop policy)
  std::size_t dropped = 0;  // points (and ref lines) left out
};

Prepared prepare(const ChartSpec& in) {
  Prepared out{in, 0};
  ChartSpec& spec = out.spec;
  const bool xlog = spec.x.scale == Scale::log10;
  const bool ylog = spec.y.scale == Scale::log10;
  const bool drop = spec.non_positive_on_log == NonPositive::drop;

  auto check_axis = [](const Axis& a, const char* which) {
    for (const auto& [v, end] : {std::pair{a.min, "min"}, std::pair{a.max, "max"}}) {
      if (!v) continue;
      if (!std::isfinite(*v)) {
        throw PlotError(std::string(which) + " axis " + end + " is not a finite number");
      }
      if (a.scale == Scale::log10 && *v <= 0) {
        throw PlotError(std::string(which) + " axis " + end + " = " + fmt_num(*v) + " is not positive on a log10 axis");
      }
    }
    if (a.min && a.max && !(*a.min < *a.max)) {
      throw PlotError(std::string(which) + " axis min " + fmt_num(*a.min) + " is not below max " + fmt_num(*a.max));
    }
  };
  check_axis(spec.x, "x");
  check_axis(spec.y, "y");
  if (spec.width_px < 200 || spec.height_px < 150 || spec.width_px > 20000 || spec.height_px > 20000) {
    throw PlotError("chart size " + std::to_string(spec.width_px) + "x" + std::to_string(spec.height_px) +
                    " px is outside 200x150 .. 20000x20000");
  }

  std::size_t total = 0;
  for (std::size_t si = 0; si < spec.series.size(); ++si) {
    Series& s = spec.series[si];
    const std::string sname = "series " + series_display_name(s, si);
    if (s.x.size() != s.y.size()) {
      throw PlotError(sname + ": " + std::to_string(s.x.size()) + " x values but " + std::to_string(s.y.size()) + " y values");
    }
    if (!s.labels.empty() && s.labels.size() != s.x.size()) {
      throw PlotError(sname + ": " + std::to_string(s.labels.size()) + " labels for " + std::to_string(s.x.size()) + " points");
    }
    if (!s.y_base.empty() && s.y_base.size() != s.x.size()) {
      throw PlotError(sname + ": " + std::to_string(s.y_base.size()) + " y_base values for " + std::to_string(s.x.size()) +
                      " points");
    }
    std::vector<std::size_t> keep;
    keep.reserve(s.x.size());
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      const std::string where = sname + " point " + std::to_string(i);
      auto finite = [&](double v, const char* what) {
        if (std::isnan(v)) throw PlotError(where + ": " + what + " is NaN");
        if (!std::isfinite(v)) throw PlotError(where + ": " + what + " is infinite");
      };
      finite(s.x[i], "x");
      finite(s.y[i], "y");
      if (!s.y_base.empty()) finite(s.y_base[i], "y_base");
      const char* bad = nullptr;
      double bad_v = 0;
      if (xlog && s.x[i] <= 0) {
        bad = "x";
        bad_v = s.x[i];
      } else if (ylog && s.y[i] <= 0) {
        bad = "y";
        bad_v = s.y[i];
      } else if (ylog && !s.y_base.empty() && s.y_base[i] <= 0) {
        bad = "y_base";
        bad_v = s.y_base[i];
      }
      if (bad != nullptr) {
        if (!drop) {
          throw PlotError(where + ": " + bad + " = " + fmt_num(bad_v) + " is not positive on the log10 " +
                          (bad[0] == 'x' ? "x" : "y") + " axis (set non_positive_on_log = drop to omit such points)");
        }
        ++out.dropped;
        continue;
      }
      keep.push_back(i);
    }
    if (keep.size() != s.x.size()) {
      auto pick = [&](auto& v) {
        if (v.empty()) return;
        std::remove_reference_t<decltype(v)> r;
        r.reserve(keep.size());
        for (std::size_t k : keep) r.push_back(v[k]);
        v = std::move(r);
      };
      pick(s.x);
      pick(s.y);
      pick(s.labels);
      pick(s.y_base);
    }
    total += s.x.size();
  }

  std::vector<RefLine> refs;
  for (const RefLine& r : spec.ref_lines) {
    const std::string where = "reference line '" + r.label + "'";
    if (!std::isfinite(r.value)) throw PlotError(where + ": value is not a finite number");
    const bool log = r.vertical ? xlog : ylog;
    if (log && r.value <= 0) {
      if (!drop) {
        throw PlotError(where + ": value " + fmt_num(r.value) + " is not positive on the log10 " + (r.vertical ? "x" : "y") +
                        " axis");
      }
      ++out.dropped;
      continue;
    }
    refs.push_back(r);
  }
  spec.ref_lines = std::move(refs);

  if (total == 0) {
    throw PlotError("nothing to plot: chart '" + spec.title + "' has no data points" +
                    (out.dropped > 0 ? " left after omitting non-positive values on log axes" : ""));
  }
  return out;
}

std::string describe_prepared(const Prepared& p) {
  std::ostringstream d;
  d << "kvscope-plot series=" << p.spec.series.size() << ":";
  for (std::size_t i = 0; i < p.spec.series.size(); ++i) {
    d << (i == 0 ? " " : "|") << p.spec.series[i].name;
  }
  if (!p.spec.ref_lines.empty()) {
    d << "; ref_lines=" << p.spec.ref_lines.size() << ":";
    for (std::size_t i = 0; i < p.spec.ref_lines.size(); ++i) {
      d << (i == 0 ? " " : "|") << p.spec.ref_lines[i].label;
    }
  }
  if (p.dropped > 0) d << "; dropped=" << p.dropped;
  return d.str();
}

// ---- axis ranges and ticks ----------------------------------------------------------------------

struct AxisPlan {
  double lo = 0, hi = 1;
  double step = 0;  // linear tick interval
  QString format;   // printf-style label format
};

double nice_step(double raw) {
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  const double nf = f <= 1.0 ? 1.0 : f <= 2.0 ? 2.0 : f <= 2.5 ? 2.5 : f <= 5.0 ? 5.0 : 10.0;
  return nf * mag;
}

AxisPlan plan_axis(const Axis& a, double dlo, double dhi, int target_ticks) {
  AxisPlan p;
  if (a.scale == Scale::log10) {
    double lo = a.min.value_or(std::pow(10.0, std::floor(std::log10(dlo) + 1e-9)));
    double hi = a.max.value_or(std::pow(10.0, std::ceil(std::log10(dhi) - 1e-9)));
    if (!(lo < hi)) {
      if (!a.min) lo = hi / 10.0;
      if (!(lo < hi) && !a.max) hi = lo * 10.0;
    }
    p.lo = lo;
    p.hi = hi;
    // labels sit on powers of ten: plain integers where they fit, else short exponent form
    p.format = (lo >= 1.0 && hi <= 1e9)    ? QStringLiteral("%.0f")
               : (lo >= 1e-4 && hi <= 1e5) ? QStringLiteral("%g")
                                           : QStringLiteral("%.0e");
    return p;
  }
  double lo = dlo, hi = dhi;
  if (a.include_zero) {
    lo = std::min(lo, 0.0);
    hi = std::max(hi, 0.0);
  }
  if (!(lo < hi)) {
    const double d = lo == 0 ? 1.0 : std::abs(lo) * 0.1;
    lo -= d;
    hi += d;
  }
  // pad 4% so that markers on the edge stay whole, but never across zero
  const double pad = (hi - lo) * 0.04;
  if (!(a.include_zero && lo == 0.0)) lo = lo >= 0 ? std::max(0.0, lo - pad) : lo - pad;
  if (!(a.include_zero && hi == 0.0)) hi = hi <= 0 ? std::min(0.0, hi + pad) : hi + pad;
  if (a.min) lo = *a.min;
  if (a.max) hi = *a.max;
  if (!(lo < hi)) {  // only one end fixed and it lies beyond the data
    if (a.min)
      hi = lo + std::max(1.0, std::abs(lo));
    else
      lo = hi - std::max(1.0, std::abs(hi));
  }
  const double step = nice_step((hi - lo) / std::max(2, target_ticks));
  if (!a.min) lo = std::floor(lo / step + 1e-9) * step;
  if (!a.max) hi = std::ceil(hi / step - 1e-9) * step;
  // non-negative data: do not let rounding noise push the axis below 0 (or above for <= 0)
  if (dlo >= 0 && !a.min) lo = std::max(lo, 0.0);
  if (dhi <= 0 && !a.max) hi = std::min(hi, 0.0);
  p.lo = lo;
  p.hi = hi;
  p.step = step;
  const double big = std::max(std::abs(lo), std::abs(hi));
  if (big >= 1e7 || (big < 1e-3 && big > 0)) {
    p.format = QStringLiteral("%.3g");
  } else {
    const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
    // a 2.5 step needs one more decimal than its magnitude suggests
    const double scaled = step * std::pow(10.0, decimals);
    const int extra = std::abs(scaled - std::round(scaled)) > 1e-6 ? 1 : 0;
    p.format = QStringLiteral("%.") + QString::number(decimals + extra) + QStringLiteral("f");
  }
  return p;
}

QString axis_title(const Axis& a) {
  QString t = qs(a.title);
  if (!a.unit.empty()) t += QStringLiteral(" [") + qs(a.unit) + QStringLiteral("]");
  return t;
}

QAbstractAxis* make_axis(const Axis& a, const AxisPlan& p) {
  const QColor grid(0xE3, 0xE5, 0xEA);
  const QColor minor_grid(0xF0, 0xF1, 0xF4);
  const QColor line(0x70, 0x74, 0x7C);
  QAbstractAxis* axis = nullptr;
  if (a.scale == Scale::log10) {
    auto* ax = new QLogValueAxis();
    ax->setBase(10.0);
    ax->setRange(p.lo, p.hi);
    ax->setLabelFormat(p.format);
    ax->setMinorTickCount(8);
    ax->setMinorGridLineColor(minor_grid);
    ax->setMinorGridLineVisible(true);
    axis = ax;
  } else {
    auto* ax = new QValueAxis();
    ax->setRange(p.lo, p.hi);
    ax->setTickType(QValueAxis::TicksDynamic);
    ax->setTickAnchor(0.0);
    ax->setTickInterval(p.step);
    ax->setLabelFormat(p.format);
    ax->setMinorTickCount(0);
    axis = ax;
  }
  axis->setTitleText(axis_title(a));
  axis->setTitleFont(font_px(13, true));
  axis->setTitleBrush(QColor(0x2B, 0x2F, 0x36));
  axis->setLabelsFont(font_px(12));
  axis->setLabelsBrush(QColor(0x3C, 0x40, 0x48));
  axis->setGridLineColor(grid);
  axis->setLinePenColor(line);
  axis->setGridLineVisible(true);
  return axis;
}

// ---- overlay: point labels, ref line labels, footnote -------------------------------------------

struct PointLabel {
  QAbstractSeries* series;
  QPointF value;
  QGraphicsRectItem* box;  // white translucent background, parent of the text
  QGraphicsSimpleTextItem* text;
};

struct RefOverlay {
  RefLine ref;
  QLineSeries* series;
  QGraphicsRectItem* box;
  QGraphicsSimpleTextItem* text;
};

struct Overlay {
  QChart* chart = nullptr;
  QAbstractAxis* xaxis = nullptr;
  QAbstractAxis* yaxis = nullptr;
  std::vector<PointLabel> labels;
  std::vector<RefOverlay> refs;
  QGraphicsTextItem* footnote = nullptr;
  bool busy = false;

  static std::pair<double, double> range_of(QAbstractAxis* a) {
    if (auto* v = qobject_cast<QValueAxis*>(a)) return {v->min(), v->max()};
    if (auto* l = qobject_cast<QLogValueAxis*>(a)) return {l->min(), l->max()};
    return {0, 1};
  }

  void layout_footnote() {
    if (footnote == nullptr) return;
    const QRectF g = chart->geometry();
    footnote->setTextWidth(std::max(100.0, g.width() - 24.0));
    const qreal h = footnote->boundingRect().height();
    footnote->setPos(12.0, g.height() - h - 4.0);
    const int bottom = static_cast<int>(std::ceil(h)) + 6;
    QMargins m = chart->margins();
    if (m.bottom() != bottom) {
      m.setBottom(bottom);
      chart->setMargins(m);
    }
  }

  void update_ref_series() {
    const auto [x0, x1] = range_of(xaxis);
    const auto [y0, y1] = range_of(yaxis);
    for (RefOverlay& r : refs) {
      QList<QPointF> pts;
      if (r.ref.vertical) {
        pts = {QPointF(r.ref.value, y0), QPointF(r.ref.value, y1)};
      } else {
        pts = {QPointF(x0, r.ref.value), QPointF(x1, r.ref.value)};
      }
      if (r.series->points() != pts) r.series->replace(pts);
    }
  }

  void layout_labels() {
    const QRectF area = chart->plotArea();
    if (area.width() <= 1 || area.height() <= 1) return;
    const auto [x0, x1] = range_of(xaxis);
    const auto [y0, y1] = range_of(yaxis);
    std::vector<QRectF> taken;
    taken.reserve(labels.size() + refs.size());

    for (RefOverlay& r : refs) {
      const bool inside = r.ref.vertical ? (r.ref.value >= x0 && r.ref.value <= x1) : (r.ref.value >= y0 && r.ref.value <= y1);
      r.box->setVisible(inside);
      if (!inside) continue;
      const QRectF tb = r.text->boundingRect();
      const QSizeF sz(tb.width() + 6, tb.height() + 2);
      QPointF pos;
      if (r.ref.vertical) {
        const qreal px = chart->mapToPosition(QPointF(r.ref.value, y1), r.series).x();
        pos = QPointF(px + 4, area.top() + 4);
        if (pos.x() + sz.width() > area.right()) pos.setX(px - 4 - sz.width());
      } else {
        const qreal py = chart->mapToPosition(QPointF(x1, r.ref.value), r.series).y();
        pos = QPointF(area.right() - sz.width() - 4, py - sz.height() - 2);
        if (pos.y() < area.top()) pos.setY(py + 2);
      }
      r.box->setRect(0, 0, sz.width(), sz.height());
      r.box->setPos(pos);
      taken.push_back(QRectF(pos, sz));
    }

    // Every labelled point is an obstacle for the labels of the others: a label never covers
    // another labelled point's marker (half-size 6 px).
    std::vector<QPointF> anchors(labels.size());
    std::vector<bool> shown(labels.size(), false);
    for (std::size_t i = 0; i < labels.size(); ++i) {
      PointLabel& l = labels[i];
      anchors[i] = chart->mapToPosition(l.value, l.series);
      shown[i] = area.adjusted(-0.5, -0.5, 0.5, 0.5).contains(anchors[i]) && (l.series == nullptr || l.series->isVisible());
    }
    for (std::size_t i = 0; i < labels.size(); ++i) {
      PointLabel& l = labels[i];
      const QPointF p = anchors[i];
      l.box->setVisible(false);
      if (!shown[i]) continue;
      const QRectF tb = l.text->boundingRect();
      const qreal w = tb.width() + 6, h = tb.height() + 2;
      const QPointF cands[] = {
          {p.x() + 8, p.y() - h - 3},  {p.x() + 8, p.y() + 3},          {p.x() - w - 8, p.y() - h - 3},
          {p.x() - w - 8, p.y() + 3},  {p.x() - w / 2, p.y() - h - 9},  {p.x() - w / 2, p.y() + 9},
          {p.x() + 10, p.y() - h / 2}, {p.x() - w - 10, p.y() - h / 2},
      };
      auto covers_other_point = [&](const QRectF& r) {
        for (std::size_t j = 0; j < labels.size(); ++j) {
          if (j == i || !shown[j] || anchors[j] == p) continue;
          if (r.intersects(QRectF(anchors[j] - QPointF(6, 6), QSizeF(12, 12)))) return true;
        }
        return false;
      };
      for (const QPointF& c : cands) {
        const QRectF r(c, QSizeF(w, h));
        if (!area.contains(r)) continue;
        if (std::any_of(taken.begin(), taken.end(), [&](const QRectF& t) { return t.intersects(r); })) continue;
        if (covers_other_point(r)) continue;
        // Crowded points keep their marker and lose the label (no overlapping text); the
        // tooltips of the GUI and the data tables still name them.
        l.box->setRect(0, 0, w, h);
        l.box->setPos(r.topLeft());
        l.box->setVisible(true);
        taken.push_back(r);
        break;
      }
    }
  }

  void relayout() {
    if (busy) return;
    busy = true;
    layout_footnote();
    update_ref_series();
    layout_labels();
    busy = false;
  }
};

QGraphicsRectItem* make_label_box(QChart* chart, const QString& text, const QColor& color, int px, qreal z) {
  auto* box = new QGraphicsRectItem(chart);
  box->setBrush(QColor(255, 255, 255, 215));
  box->setPen(Qt::NoPen);
  box->setZValue(z);
  auto* t = new QGraphicsSimpleTextItem(text, box);
  t->setFont(font_px(px));
  t->setBrush(color);
  t->setPos(3, 1);
  return box;
}

void hide_from_legend(QChart* chart, QAbstractSeries* s) {
  for (QLegendMarker* m : chart->legend()->markers(s)) m->setVisible(false);
}

void attach(QChart* chart, QAbstractSeries* s, QAbstractAxis* x, QAbstractAxis* y) {
  chart->addSeries(s);
  s->attachAxis(x);
  s->attachAxis(y);
}

// A filled series between the outlines `up` and `lo` (bars, areas); the area owns both lines.
QAreaSeries* area_between(const QList<QPointF>& up, const QList<QPointF>& lo, const QString& name, const QColor& fill,
                          const QPen& pen) {
  auto* upper = new QLineSeries();
  auto* lower = new QLineSeries();
  upper->replace(up);
  lower->replace(lo);
  auto* area = new QAreaSeries(upper, lower);
  upper->setParent(area);
  lower->setParent(area);
  area->setName(name);
  area->setBrush(fill);
  area->setPen(pen);
  return area;
}

// Half-widths of bars: a fraction of the smallest gap between distinct x (multiplicative on log x).
std::pair<double, bool> bar_half_width(const std::vector<double>& xs, bool xlog, const AxisPlan& xp) {
  std::vector<double> v = xs;
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  if (xlog) {
    double min_ratio = 10.0;
    for (std::size_t i = 1; i < v.size(); ++i) min_ratio = std::min(min_ratio, v[i] / v[i - 1]);
    return {std::pow(min_ratio, 0.35), true};
  }
  double gap = (xp.hi - xp.lo) / 10.0;
  for (std::size_t i = 1; i < v.size(); ++i) gap = std::min(gap, v[i] - v[i - 1]);
  return {gap * 0.35, false};
}

constexpr std::size_t max_labels_per_series = 500;
constexpr std::size_t scatter_chunk = 1000;

}  // namespace

// ---- public API ---------------------------------------------------------------------------------

std::string describe(const ChartSpec& spec) {
  return describe_prepared(prepare(spec));
}

namespace {

// The x and y range the data covers: every series point (and area base) and every ref line.
struct Extents {
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
};
Extents data_extents(const ChartSpec& spec) {
  Extents e;
  double &xlo = e.xlo, &xhi = e.xhi, &ylo = e.ylo, &yhi = e.yhi;
  for (const Series& s : spec.series) {
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      xlo = std::min(xlo, s.x[i]);
      xhi = std::max(xhi, s.x[i]);
      ylo = std::min(ylo, s.y[i]);
      yhi = std::max(yhi, s.y[i]);
      if (!s.y_base.empty()) {
        ylo = std::min(ylo, s.y_base[i]);
        yhi = std::max(yhi, s.y_base[i]);
      }
    }
  }
  for (const RefLine& r : spec.ref_lines) {
    if (r.vertical) {
      xlo = std::min(xlo, r.value);
      xhi = std::max(xhi, r.value);
    } else {
      ylo = std::min(ylo, r.value);
      yhi = std::max(yhi, r.value);
    }
  }
  return e;
}

// An empty chart in the house style (light theme, no animation, white frame) with the spec's
// title and subtitle.
QChart* new_styled_chart(const ChartSpec& spec) {
  auto* chart = new QChart();
  chart->setTheme(QChart::ChartThemeLight);
  chart->setAnimationOptions(QChart::NoAnimation);
  chart->setBackgroundRoundness(0);
  chart->setDropShadowEnabled(false);
  chart->setBackgroundBrush(Qt::white);
  chart->setBackgroundPen(Qt::NoPen);
  chart->setPlotAreaBackgroundVisible(true);
  chart->setPlotAreaBackgroundBrush(QColor(0xFC, 0xFC, 0xFD));
  chart->setPlotAreaBackgroundPen(QPen(QColor(0xC8, 0xCB, 0xD2), 1));
  chart->setMargins(QMargins(10, 6, 18, 8));
  chart->resize(spec.width_px, spec.height_px);

  QString title = QStringLiteral("<span style=\"font-size:19px; font-weight:600; color:#1f2329\">") +
                  qs(spec.title).toHtmlEscaped() + QStringLiteral("</span>");
  if (!spec.subtitle.empty()) {
    title += QStringLiteral("<br><span style=\"font-size:13px; font-weight:400; color:#5b616b\">") +
             qs(spec.subtitle).toHtmlEscaped().replace(QLatin1Char('\n'), QStringLiteral("<br>")) + QStringLiteral("</span>");
  }
  chart->setTitleFont(font_px(19, true));
  chart->setTitle(title);
  return chart;
}

// What every series of one chart is drawn into: the chart, its axes and their plans, the legend,
// the overlay that places labels, the bar / area base on this y axis.
struct SeriesTarget {
  QChart* chart;
  QAbstractAxis *ax, *ay;
  const AxisPlan &xp, &yp;
  bool xlog;
  QLegend* legend;
  Overlay& overlay;
  const BuildOptions& options;
  double y_base_default;
};

// One series in its style (points in chunks, lines, bars, areas), its legend marker and its point
// labels; `rgb` is its colour.
void add_series(const SeriesTarget& c, const Series& s, std::uint32_t rgb) {
  QChart* chart = c.chart;
  QAbstractAxis *ax = c.ax, *ay = c.ay;
  const AxisPlan& xp = c.xp;
  const bool xlog = c.xlog;
  QLegend* legend = c.legend;
  const BuildOptions& options = c.options;
  const double y_base_default = c.y_base_default;
  const QColor col = rgb_color(rgb);
  const QString name = qs(s.name);
  QAbstractSeries* label_series = nullptr;
  std::vector<std::size_t> order(s.x.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  const bool use_gl = options.opengl_threshold > 0 && s.x.size() > options.opengl_threshold;

  switch (s.style) {
    case SeriesStyle::faded_points:
    case SeriesStyle::points:
    case SeriesStyle::current: {
      // Qt Charts 6.4 makes one graphics item per scatter point and adding them to one series
      // costs O(n^2); large series are therefore split into chunks of QScatterSeries that share
      // the name (only the first chunk has a legend marker). OpenGL series draw no items.
      const std::size_t n = s.x.size();
      const std::size_t chunk = use_gl ? std::max<std::size_t>(n, 1) : scatter_chunk;
      QScatterSeries* first_sc = nullptr;
      for (std::size_t from = 0; from < n || (n == 0 && from == 0); from += chunk) {
        const std::size_t to = std::min(n, from + chunk);
        auto* sc = new QScatterSeries();
        sc->setName(name);
        sc->setUseOpenGL(use_gl);
        // attach and style while empty: style changes touch every marker item
        attach(chart, sc, ax, ay);
        if (s.style == SeriesStyle::faded_points) {
          sc->setMarkerShape(QScatterSeries::MarkerShapeCircle);
          sc->setMarkerSize(n > 20000 ? 4.0 : 6.0);
          sc->setColor(rgb_color(rgb, 64));
          sc->setBorderColor(Qt::transparent);
          sc->setPen(Qt::NoPen);
        } else if (s.style == SeriesStyle::points) {
          sc->setMarkerShape(QScatterSeries::MarkerShapeCircle);
          sc->setMarkerSize(11.0);
          sc->setColor(col);
          sc->setPen(QPen(Qt::white, 1.2));
        } else {
          sc->setMarkerShape(QScatterSeries::MarkerShapeStar);
          sc->setMarkerSize(24.0);
          sc->setColor(col);
          sc->setPen(QPen(QColor(0x1f, 0x23, 0x29), 1.2));
        }
        QList<QPointF> pts;
        pts.reserve(static_cast<qsizetype>(to - from));
        for (std::size_t i = from; i < to; ++i) pts.append(QPointF(s.x[i], s.y[i]));
        sc->replace(pts);
        if (first_sc == nullptr) {
          first_sc = sc;
          if (s.style == SeriesStyle::faded_points) {
            for (QLegendMarker* m : legend->markers(sc)) m->setBrush(rgb_color(rgb, 150));
          }
        } else {
          hide_from_legend(chart, sc);
        }
        if (n == 0) break;
      }
      QScatterSeries* sc = first_sc;
      label_series = sc;
      break;
    }
    case SeriesStyle::frontier:
    case SeriesStyle::line:
    case SeriesStyle::line_points: {
      if (s.style == SeriesStyle::frontier) {
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return s.x[a] < s.x[b]; });
      }
      QList<QPointF> pts;
      pts.reserve(static_cast<qsizetype>(order.size()));
      for (std::size_t i : order) pts.append(QPointF(s.x[i], s.y[i]));
      auto* ln = new QLineSeries();
      ln->setName(name);
      QPen pen(col, s.style == SeriesStyle::frontier ? 2.6 : 2.0);
      pen.setCapStyle(Qt::RoundCap);
      pen.setJoinStyle(Qt::RoundJoin);
      ln->setPen(pen);
      ln->replace(pts);
      attach(chart, ln, ax, ay);
      label_series = ln;
      if (s.style != SeriesStyle::line) {
        auto* mk = new QScatterSeries();
        mk->setName(name);
        mk->setMarkerShape(QScatterSeries::MarkerShapeCircle);
        mk->setMarkerSize(s.style == SeriesStyle::frontier ? 10.0 : 7.5);
        mk->setColor(col);
        mk->setPen(QPen(Qt::white, s.style == SeriesStyle::frontier ? 1.5 : 1.0));
        mk->replace(pts);
        attach(chart, mk, ax, ay);
        hide_from_legend(chart, mk);
      }
      break;
    }
    case SeriesStyle::bars: {
      const auto [hw, mult] = bar_half_width(s.x, xlog, xp);
      std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return s.x[a] < s.x[b]; });
      QList<QPointF> up;
      up.reserve(static_cast<qsizetype>(order.size() * 4));
      double first = 0, last = 0;
      for (std::size_t k = 0; k < order.size(); ++k) {
        const std::size_t i = order[k];
        const double base = s.y_base.empty() ? y_base_default : s.y_base[i];
        const double l = mult ? s.x[i] / hw : s.x[i] - hw;
        const double r = mult ? s.x[i] * hw : s.x[i] + hw;
        if (k == 0) first = l;
        last = r;
        up << QPointF(l, base) << QPointF(l, s.y[i]) << QPointF(r, s.y[i]) << QPointF(r, base);
      }
      auto* area = area_between(up, {QPointF(first, y_base_default), QPointF(last, y_base_default)}, name, rgb_color(rgb, 215),
                                QPen(col.darker(125), 1.0));
      attach(chart, area, ax, ay);
      label_series = area;
      break;
    }
    case SeriesStyle::area: {
      QList<QPointF> up, lo;
      up.reserve(static_cast<qsizetype>(s.x.size()));
      lo.reserve(static_cast<qsizetype>(s.x.size()));
      for (std::size_t i = 0; i < s.x.size(); ++i) {
        up.append(QPointF(s.x[i], s.y[i]));
        lo.append(QPointF(s.x[i], s.y_base.empty() ? y_base_default : s.y_base[i]));
      }
      auto* area = area_between(up, lo, name, rgb_color(rgb, 200), QPen(col.darker(130), 1.2));
      attach(chart, area, ax, ay);
      label_series = area;
      break;
    }
  }
  if (s.style == SeriesStyle::area || s.style == SeriesStyle::bars) {
    for (QLegendMarker* m : legend->markers(label_series)) {
      m->setShape(QLegend::MarkerShapeRectangle);
    }
  }
  if (s.name.empty() && label_series != nullptr) hide_from_legend(chart, label_series);

  if (s.show_labels && !s.labels.empty()) {
    const std::size_t n = std::min(s.labels.size(), max_labels_per_series);
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t i = order[k];
      if (s.labels[i].empty()) continue;
      QGraphicsRectItem* box = make_label_box(chart, qs(s.labels[i]), QColor(0x22, 0x26, 0x2C), 12, 20.0);
      auto* text = static_cast<QGraphicsSimpleTextItem*>(box->childItems().front());
      c.overlay.labels.push_back(PointLabel{label_series, QPointF(s.x[i], s.y[i]), box, text});
    }
  }
}

// The dashed reference lines, each with its label box.
void add_ref_lines(const ChartSpec& spec, QChart* chart, QAbstractAxis* ax, QAbstractAxis* ay, Overlay& overlay) {
  for (const RefLine& r : spec.ref_lines) {
    const QColor col = rgb_color(r.rgb.value_or(0x4A4F57u));
    auto* ln = new QLineSeries();
    ln->setName(qs(r.label));
    QPen pen(col, 1.6, Qt::DashLine);
    pen.setDashPattern({6.0, 4.0});
    ln->setPen(pen);
    attach(chart, ln, ax, ay);
    hide_from_legend(chart, ln);
    QGraphicsRectItem* box = make_label_box(chart, qs(r.label), col, 12, 21.0);
    auto* text = static_cast<QGraphicsSimpleTextItem*>(box->childItems().front());
    overlay.refs.push_back(RefOverlay{r, ln, box, text});
  }
}

// The footnote, with a line for points a log axis could not show.
void add_footnote(const ChartSpec& spec, std::size_t dropped, QChart* chart, Overlay& overlay) {
  std::string foot = spec.footnote;
  if (dropped > 0) {
    if (!foot.empty()) foot += "\n";
    foot += std::to_string(dropped) + (dropped == 1 ? " point" : " points") + " with non-positive values omitted from log axes";
  }
  if (!foot.empty()) {
    auto* ft = new QGraphicsTextItem(chart);
    ft->setFont(font_px(11));
    ft->setDefaultTextColor(QColor(0x6B, 0x71, 0x7B));
    ft->setPlainText(qs(foot));
    ft->setZValue(22.0);
    overlay.footnote = ft;
  }
}

QChart* build_prepared(const Prepared& prep, const BuildOptions& options) {
  const ChartSpec& spec = prep.spec;
  const bool xlog = spec.x.scale == Scale::log10;
  const bool ylog = spec.y.scale == Scale::log10;

  const Extents e = data_extents(spec);
  const double xlo = e.xlo, xhi = e.xhi, ylo = e.ylo, yhi = e.yhi;
  const AxisPlan xp = plan_axis(spec.x, xlo, xhi, std::clamp(spec.width_px / 120, 4, 12));
  const AxisPlan yp = plan_axis(spec.y, ylo, yhi, std::clamp(spec.height_px / 75, 4, 10));

  QChart* chart = new_styled_chart(spec);

  QAbstractAxis* ax = make_axis(spec.x, xp);
  QAbstractAxis* ay = make_axis(spec.y, yp);
  chart->addAxis(ax, Qt::AlignBottom);
  chart->addAxis(ay, Qt::AlignLeft);

  QLegend* legend = chart->legend();
  legend->setVisible(spec.legend);
  legend->setAlignment(Qt::AlignTop);
  legend->setFont(font_px(12));
  legend->setLabelColor(QColor(0x2B, 0x2F, 0x36));
  legend->setMarkerShape(QLegend::MarkerShapeFromSeries);

  auto overlay = std::make_shared<Overlay>();
  overlay->chart = chart;
  overlay->xaxis = ax;
  overlay->yaxis = ay;

  const std::vector<std::uint32_t>& pal = palette();
  std::size_t next_colour = 0;
  const double y_base_default = ylog ? yp.lo : 0.0;

  const SeriesTarget target{chart, ax, ay, xp, yp, xlog, legend, *overlay, options, y_base_default};
  for (const Series& s : spec.series) add_series(target, s, s.rgb.value_or(pal[next_colour++ % pal.size()]));
  add_ref_lines(spec, chart, ax, ay, *overlay);
  add_footnote(spec, prep.dropped, chart, *overlay);

  overlay->update_ref_series();
  auto relayout = [overlay] { overlay->relayout(); };
  QObject::connect(chart, &QChart::plotAreaChanged, chart, relayout);
  QObject::connect(chart, &QGraphicsWidget::geometryChanged, chart, relayout);
  for (QAbstractAxis* a : {ax, ay}) {
    if (auto* v = qobject_cast<QValueAxis*>(a)) {
      QObject::connect(v, &QValueAxis::rangeChanged, chart, relayout);
    } else if (auto* l = qobject_cast<QLogValueAxis*>(a)) {
      QObject::connect(l, &QLogValueAxis::rangeChanged, chart, relayout);
    }
  }
  overlay->relayout();
  return chart;
}

void disable_caching(QGraphicsItem* item) {
  item->setCacheMode(QGraphicsItem::NoCache);
  for (QGraphicsItem* c : item->childItems()) disable_caching(c);
}

}  // namespace

QChart* build_chart(const ChartSpec& spec, const BuildOptions& options) {
  require_app();
  return build_prepared(prepare(spec), options);
}

std::string render_to_bytes(const ChartSpec& spec, const std::string& format) {
  if (format != "svg" && format != "png") {
    throw PlotError("cannot render plot: unsupported format '" + format + "' (use svg or png)");
  }
  require_app();
  const Prepared prep = prepare(spec);
  const QString title = qs(prep.spec.title);
  const QString desc = qs(describe_prepared(prep));
  const int w = prep.spec.width_px, h = prep.spec.height_px;

  QGraphicsScene scene;
  QChart* chart = build_prepared(prep, BuildOptions{});
  scene.addItem(chart);  // the scene owns and deletes the chart
  scene.setSceneRect(0, 0, w, h);
  chart->setGeometry(QRectF(0, 0, w, h));
  // Run the chart's layout now (normally done from the event loop) so that the plot area and the
  // overlay items are in place before painting.
  for (int i = 0; i < 3; ++i) {
    if (chart->layout() != nullptr) chart->layout()->activate();
    QCoreApplication::sendPostedEvents(nullptr, QEvent::LayoutRequest);
  }
  disable_caching(chart);

  // In memory first: a file is only ever written whole, by the caller.
  QByteArray bytes;
  QBuffer buffer(&bytes);
  if (!buffer.open(QIODevice::WriteOnly)) throw PlotError("cannot render plot: in-memory buffer failed to open");
  const QRectF rect(0, 0, w, h);
  if (format == "svg") {
    QSvgGenerator gen;
    gen.setOutputDevice(&buffer);
    gen.setSize(QSize(w, h));
    gen.setViewBox(QRect(0, 0, w, h));
    gen.setResolution(96);
    gen.setTitle(title);
    gen.setDescription(desc);
    QPainter painter;
    if (!painter.begin(&gen)) throw PlotError("cannot render plot: SVG painter failed to start");
    painter.setRenderHints(QPainter::Antialiasing | QPainter::TextAntialiasing);
    scene.render(&painter, rect, rect);
    if (!painter.end()) throw PlotError("cannot render plot: SVG painter failed");
  } else {
    QImage image(w, h, QImage::Format_ARGB32_Premultiplied);
    if (image.isNull())
      throw PlotError("cannot render plot: out of memory for a " + std::to_string(w) + " x " + std::to_string(h) + " image");
    image.setDotsPerMeterX(3780);  // 96 dpi
    image.setDotsPerMeterY(3780);
    image.fill(Qt::white);
    {
      QPainter painter(&image);
      painter.setRenderHints(QPainter::Antialiasing | QPainter::TextAntialiasing | QPainter::SmoothPixmapTransform);
      scene.render(&painter, rect, rect);
    }
    image.setText(QStringLiteral("Title"), title);
    image.setText(QStringLiteral("Description"), desc);
    if (!image.save(&buffer, "PNG")) throw PlotError("cannot render plot: PNG encoding failed");
  }
  buffer.close();
  if (bytes.isEmpty()) throw PlotError("cannot render plot: the renderer produced no bytes");
  return std::string(bytes.constData(), static_cast<std::size_t>(bytes.size()));
}

void render_to_file(const ChartSpec& spec, const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext != ".svg" && ext != ".png") {
    throw PlotError("cannot write plot '" + path.string() + "': unsupported extension '" + ext + "' (use .svg or .png)");
  }
  const std::string bytes = render_to_bytes(spec, ext.substr(1));
  QSaveFile file(QString::fromStdString(path.string()));
  if (!file.open(QIODevice::WriteOnly)) {
    throw PlotError("cannot write plot '" + path.string() + "': " + file.errorString().toStdString());
  }
  if (file.write(bytes.data(), static_cast<qint64>(bytes.size())) != static_cast<qint64>(bytes.size())) {
    const std::string why = file.errorString().toStdString();
    file.cancelWriting();
    throw PlotError("cannot write plot '" + path.string() + "': " + why);
  }
  if (!file.commit()) {
    throw PlotError("cannot write plot '" + path.string() + "': " + file.errorString().toStdString());
  }
}

// ---- OffscreenApp -------------------------------------------------------------------------------

OffscreenApp::OffscreenApp() {
  if (QCoreApplication* existing = QCoreApplication::instance()) {
    if (qobject_cast<QApplication*>(existing) == nullptr) {
      throw PlotError("kvscope::plot needs a QApplication, but a QCoreApplication/QGuiApplication exists");
    }
    return;
  }
  if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM") && qEnvironmentVariableIsEmpty("DISPLAY") &&
      qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY")) {
    qputenv("QT_QPA_PLATFORM", "offscreen");
  }
  // QApplication keeps references to argc/argv for its whole life.
  static int argc = 1;
  static char arg0[] = "kvscope";
  static char* argv[] = {arg0, nullptr};
  app_ = std::make_unique<QApplication>(argc, argv);
}

OffscreenApp::~OffscreenApp() = default;

}  // namespace kvscope::plot
