#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <stdexcept>

#include "kvbench/host.hpp"

namespace kvbench {

namespace {
void require_finite(const std::vector<double>& v, const char* what) {
  if (v.empty()) throw std::invalid_argument(std::string(what) + ": empty sample");
  for (double x : v) {
    if (!std::isfinite(x)) throw std::invalid_argument(std::string(what) + ": non-finite value");
  }
}
double sorted_quantile(const std::vector<double>& s, double q) {
  const double pos = q * static_cast<double>(s.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, s.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  return s[lo] + (s[hi] - s[lo]) * frac;
}
}  // namespace

double quantile(std::vector<double> v, double q) {
  require_finite(v, "quantile");
  if (!(q >= 0.0 && q <= 1.0)) throw std::invalid_argument("quantile: q outside [0, 1]");
  std::sort(v.begin(), v.end());
  return sorted_quantile(v, q);
}

Summary summarize(const std::vector<double>& samples) {
  require_finite(samples, "summarize");
  std::vector<double> s = samples;
  std::sort(s.begin(), s.end());
  Summary r;
  r.count = s.size();
  r.median = sorted_quantile(s, 0.5);
  r.q1 = sorted_quantile(s, 0.25);
  r.q3 = sorted_quantile(s, 0.75);
  r.min = s.front();
  r.max = s.back();
  r.mean = std::accumulate(s.begin(), s.end(), 0.0) / static_cast<double>(s.size());
  if (s.size() > 1) {
    double ss = 0;
    for (double x : s) ss += (x - r.mean) * (x - r.mean);
    r.stdev = std::sqrt(ss / static_cast<double>(s.size() - 1));
  }
  r.rel_stdev = r.mean != 0 ? r.stdev / std::abs(r.mean) : 0.0;
  return r;
}

void StopRule::validate() const {
  if (min_samples < 2) throw std::invalid_argument("StopRule: min_samples must be >= 2");
  if (max_samples < min_samples) throw std::invalid_argument("StopRule: max_samples < min_samples");
  if (!(max_rel_stdev > 0)) throw std::invalid_argument("StopRule: max_rel_stdev must be > 0");
  if (!(min_time_s >= 0) || !(max_time_s > 0) || max_time_s < min_time_s) {
    throw std::invalid_argument("StopRule: need 0 <= min_time_s <= max_time_s, max_time_s > 0");
  }
}

const char* to_string(StopReason r) {
  switch (r) {
    case StopReason::none:
      return "none";
    case StopReason::converged:
      return "converged";
    case StopReason::time_cap:
      return "time_cap";
    case StopReason::sample_cap:
      return "sample_cap";
  }
  return "?";
}

StopReason should_stop(const StopRule& rule, const std::vector<double>& samples, double accumulated_s) {
  rule.validate();
  const std::size_t n = samples.size();
  if (n >= rule.max_samples) return StopReason::sample_cap;
  if (n < rule.min_samples) return StopReason::none;
  if (accumulated_s >= rule.max_time_s) return StopReason::time_cap;
  if (accumulated_s >= rule.min_time_s && summarize(samples).rel_stdev < rule.max_rel_stdev) return StopReason::converged;
  return StopReason::none;
}

ThrottleFilter::ThrottleFilter(double max_kHz, double thr) : max_clock_kHz(max_kHz), threshold(thr) {
  if (!(max_kHz > 0) || !std::isfinite(max_kHz)) throw std::invalid_argument("ThrottleFilter: max clock must be > 0");
  if (!(thr > 0 && thr <= 1)) throw std::invalid_argument("ThrottleFilter: threshold must be in (0, 1]");
}

bool ThrottleFilter::accept(double clock_kHz) const {
  if (!std::isfinite(clock_kHz) || clock_kHz <= 0) return true;
  return clock_kHz >= threshold * max_clock_kHz;
}

std::vector<Point> cartesian(const std::vector<Axis>& axes) {
  if (axes.empty()) throw std::invalid_argument("cartesian: no axes");
  std::set<std::string> names;
  for (const auto& a : axes) {
    if (a.name.empty()) throw std::invalid_argument("cartesian: unnamed axis");
    if (a.values.empty()) throw std::invalid_argument("cartesian: axis '" + a.name + "' has no values");
    if (!names.insert(a.name).second) throw std::invalid_argument("cartesian: duplicate axis '" + a.name + "'");
  }
  std::vector<Point> out(1);
  for (const auto& a : axes) {
    std::vector<Point> next;
    next.reserve(out.size() * a.values.size());
    for (const auto& p : out) {
      for (const auto& v : a.values) {
        Point q = p;
        q.emplace_back(a.name, v);
        next.push_back(std::move(q));
      }
    }
    out = std::move(next);
  }
  return out;
}

const AxisValue& at(const Point& p, const std::string& name) {
  for (const auto& kv : p) {
    if (kv.first == name) return kv.second;
  }
  throw std::out_of_range("axis '" + name + "' not in point");
}

std::int64_t as_int(const AxisValue& v) {
  return std::get<std::int64_t>(v);
}
double as_double(const AxisValue& v) {
  if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
  return std::get<double>(v);
}
const std::string& as_str(const AxisValue& v) {
  return std::get<std::string>(v);
}

Plan plan(const std::vector<Axis>& axes, const std::function<std::optional<std::string>(const Point&)>& skip) {
  Plan p;
  for (auto& pt : cartesian(axes)) {
    std::optional<std::string> why = skip ? skip(pt) : std::nullopt;
    if (why) {
      if (why->empty()) throw std::invalid_argument("plan: skip with an empty reason");
      p.skipped.emplace_back(std::move(pt), std::move(*why));
    } else {
      p.run.push_back(std::move(pt));
    }
  }
  return p;
}

}  // namespace kvbench
