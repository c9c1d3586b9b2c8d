// Ready-made chart specs: they arrange given numbers, no model math.
#include "kvscope/plot/charts.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace kvscope::plot {

namespace {

std::string fmt3(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

struct Prefix {
  double factor;     // divide values by this
  const char* name;  // "", "k", "M", ...
};

// SI prefix so that `reference` shows as 1 .. <1000.
Prefix si_prefix(double reference) {
  static constexpr Prefix table[] = {{1.0, ""}, {1e3, "k"}, {1e6, "M"}, {1e9, "G"}, {1e12, "T"}, {1e15, "P"}, {1e18, "E"}};
  Prefix p = table[0];
  for (const Prefix& t : table) {
    if (reference >= t.factor) p = t;
  }
  return p;
}

std::string with_prefix(double v, const std::string& unit) {
  const Prefix p = si_prefix(v);
  return fmt3(v / p.factor) + " " + p.name + unit;
}

double decade_floor(double v) {
  return std::pow(10.0, std::floor(std::log10(v) + 1e-9));
}
double decade_ceil(double v) {
  return std::pow(10.0, std::ceil(std::log10(v) - 1e-9));
}

void require_positive(double v, const char* what) {
  if (!std::isfinite(v) || v <= 0) {
    throw PlotError(std::string("roofline chart: ") + what + " must be a positive finite number, got " + fmt3(v));
  }
}

}  // namespace

const std::vector<std::uint32_t>& palette() {
  static const std::vector<std::uint32_t> p = {0x4C72B0, 0xDD8452, 0x55A868, 0xC44E52, 0x8172B3,
                                               0x937860, 0xDA8BC3, 0x8C8C8C, 0xCCB974, 0x64B5CD};
  return p;
}

ChartSpec pareto_chart(const ParetoData& data, Axis x, Axis y, std::string title, std::string subtitle) {
  ChartSpec spec;
  spec.title = std::move(title);
  spec.subtitle = std::move(subtitle);
  spec.x = std::move(x);
  spec.y = std::move(y);

  Series all;
  all.name = data.all_name;
  all.style = SeriesStyle::faded_points;
  all.x = data.all_x;
  all.y = data.all_y;
  all.rgb = 0x4C72B0;
  spec.series.push_back(std::move(all));

  Series front;
  front.name = data.frontier_name;
  front.style = SeriesStyle::frontier;
  front.x = data.frontier_x;
  front.y = data.frontier_y;
  front.labels = data.frontier_labels;
  front.show_labels = data.label_frontier && !data.frontier_labels.empty();
  front.rgb = 0xC44E52;
  spec.series.push_back(std::move(front));

  if (data.current) {
    Series cur;
    cur.name = data.current_label;
    cur.style = SeriesStyle::current;
    cur.x = {data.current->x};
    cur.y = {data.current->y};
    cur.rgb = 0xF2B134;
    spec.series.push_back(std::move(cur));
  }
  return spec;
}

ChartSpec roofline_chart(const std::vector<RooflineOp>& ops, const RooflineCeilings& c, std::string title, std::string subtitle) {
  require_positive(c.peak_flops_per_s, "peak FLOP/s");
  require_positive(c.hbm_bytes_per_s, "HBM bandwidth");
  if (c.l2_bytes_per_s) require_positive(*c.l2_bytes_per_s, "L2 bandwidth");

  const Prefix yp = si_prefix(c.peak_flops_per_s);
  const double ridge = c.peak_flops_per_s / c.hbm_bytes_per_s;
  const double l2_ridge = c.l2_bytes_per_s ? c.peak_flops_per_s / *c.l2_bytes_per_s : ridge;

  // x range: whole decades around the ops and the ridge points (with some room on both sides)
  double ilo = std::min(ridge, l2_ridge), ihi = std::max(ridge, l2_ridge);
  double plo = c.peak_flops_per_s;
  for (const RooflineOp& op : ops) {
    if (std::isfinite(op.intensity) && op.intensity > 0) {
      ilo = std::min(ilo, op.intensity);
      ihi = std::max(ihi, op.intensity);
    }
    if (std::isfinite(op.flops_per_s) && op.flops_per_s > 0) plo = std::min(plo, op.flops_per_s);
  }
  const double xmin = decade_floor(ilo / 2.0);
  const double xmax = decade_ceil(ihi * 2.0);
  plo = std::min(plo, c.hbm_bytes_per_s * xmin);

  ChartSpec spec;
  spec.title = std::move(title);
  spec.subtitle = std::move(subtitle);
  spec.x = Axis{"arithmetic intensity", "FLOP/B", Scale::log10, xmin, xmax, false};
  spec.y = Axis{"throughput",
                std::string(yp.name) + "FLOP/s",
                Scale::log10,
                decade_floor(plo / 1.5) / yp.factor,
                decade_ceil(c.peak_flops_per_s * 1.5) / yp.factor,
                false};

  const double peak = c.peak_flops_per_s / yp.factor;
  Series hbm;
  hbm.name = c.hbm_name + " roof (" + with_prefix(c.hbm_bytes_per_s, "B/s") + "), " + c.peak_name + " " +
             with_prefix(c.peak_flops_per_s, "FLOP/s");
  hbm.style = SeriesStyle::line;
  hbm.x = {xmin, ridge, xmax};
  hbm.y = {c.hbm_bytes_per_s * xmin / yp.factor, peak, peak};
  hbm.rgb = 0x2F3A4A;
  spec.series.push_back(std::move(hbm));

  if (c.l2_bytes_per_s) {
    Series l2;
    l2.name = c.l2_name + " roof (" + with_prefix(*c.l2_bytes_per_s, "B/s") + ")";
    l2.style = SeriesStyle::line;
    l2.x = {xmin, l2_ridge};
    l2.y = {*c.l2_bytes_per_s * xmin / yp.factor, peak};
    l2.rgb = 0x8172B3;
    spec.series.push_back(std::move(l2));
  }

  Series pts;
  pts.name = "operations";
  pts.style = SeriesStyle::points;
  pts.show_labels = true;
  pts.rgb = 0xDD8452;
  for (const RooflineOp& op : ops) {
    pts.x.push_back(op.intensity);
    pts.y.push_back(op.flops_per_s / yp.factor);
    pts.labels.push_back(op.name);
  }
  spec.series.push_back(std::move(pts));

  spec.ref_lines.push_back(RefLine{true, ridge, c.hbm_name + " ridge " + fmt3(ridge) + " FLOP/B", {}});
  return spec;
}

ChartSpec memory_chart(const MemoryChartData& data, Axis x, Axis y, std::string title, std::string subtitle) {
  const std::size_t n = data.x.size();
  for (const MemoryStack& s : data.stacks) {
    if (s.y.size() != n) {
      throw PlotError("memory chart: stack '" + s.name + "' has " + std::to_string(s.y.size()) + " values for " +
                      std::to_string(n) + " x values");
    }
  }
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return data.x[a] < data.x[b]; });

  ChartSpec spec;
  spec.title = std::move(title);
  spec.subtitle = std::move(subtitle);
  spec.x = std::move(x);
  spec.y = std::move(y);
  spec.y.include_zero = true;

  std::vector<double> xs(n), base(n, 0.0);
  for (std::size_t k = 0; k < n; ++k) xs[k] = data.x[order[k]];
  for (const MemoryStack& s : data.stacks) {
    Series a;
    a.name = s.name;
    a.style = SeriesStyle::area;
    a.x = xs;
    a.y_base = base;
    a.y.resize(n);
    for (std::size_t k = 0; k < n; ++k) a.y[k] = base[k] + s.y[order[k]];
    base = a.y;
    spec.series.push_back(std::move(a));
  }

  const std::string xunit = spec.x.unit.empty() ? "" : " " + spec.x.unit;
  if (data.capacity) {
    spec.ref_lines.push_back(
        RefLine{false, *data.capacity,
                data.capacity_label + " " + fmt3(*data.capacity) + (spec.y.unit.empty() ? "" : " " + spec.y.unit), 0xC0392Bu});
  }
  std::optional<double> run_out = data.run_out_x;
  if (!run_out && data.capacity && n > 0 && !data.stacks.empty()) {
    const double cap = *data.capacity;
    for (std::size_t k = 0; k < n; ++k) {
      if (base[k] > cap) {
        if (k == 0) {
          run_out = xs[0];
        } else {
          const double t = (cap - base[k - 1]) / (base[k] - base[k - 1]);
          run_out = xs[k - 1] + t * (xs[k] - xs[k - 1]);
        }
        break;
      }
    }
  }
  if (run_out) {
    spec.ref_lines.push_back(RefLine{true, *run_out, data.run_out_label + " at " + fmt3(*run_out) + xunit, 0xC0392Bu});
  }
  return spec;
}

ChartSpec lines_chart(const std::vector<NamedLine>& lines, Axis x, Axis y, std::string title, std::string subtitle) {
  ChartSpec spec;
  spec.title = std::move(title);
  spec.subtitle = std::move(subtitle);
  spec.x = std::move(x);
  spec.y = std::move(y);
  for (const NamedLine& l : lines) {
    Series s;
    s.name = l.name;
    s.style = SeriesStyle::line_points;
    if (l.x.size() != l.y.size() || (!l.labels.empty() && l.labels.size() != l.x.size())) {
      // leave it to validation, which reports the mismatch with the series name
      s.x = l.x;
      s.y = l.y;
      s.labels = l.labels;
    } else {
      std::vector<std::size_t> order(l.x.size());
      std::iota(order.begin(), order.end(), std::size_t{0});
      std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return l.x[a] < l.x[b]; });
      for (std::size_t i : order) {
        s.x.push_back(l.x[i]);
        s.y.push_back(l.y[i]);
        if (!l.labels.empty()) s.labels.push_back(l.labels[i]);
      }
    }
    s.show_labels = !s.labels.empty();
    spec.series.push_back(std::move(s));
  }
  return spec;
}

}  // namespace kvscope::plot
