#include "kvscope/core/format.hpp"

#include <fmt/format.h>

#include <cmath>

#include "kvscope/core/units.hpp"

namespace kvscope {

std::string format_bytes(double b) {
  using namespace units;
  if (!std::isfinite(b)) return "n/a";
  const double a = std::abs(b);
  if (a >= kGiB) return fmt::format("{:.2f} GiB", b / kGiB);
  if (a >= kMiB) return fmt::format("{:.2f} MiB", b / kMiB);
  if (a >= kKiB) return fmt::format("{:.2f} KiB", b / kKiB);
  return fmt::format("{:.0f} B", b);
}

std::string format_count(double n) {
  if (!std::isfinite(n)) return "n/a";
  const double a = std::abs(n);
  if (a >= 1e12) return fmt::format("{:.2f} T", n / 1e12);
  if (a >= 1e9) return fmt::format("{:.2f} B", n / 1e9);
  if (a >= 1e6) return fmt::format("{:.2f} M", n / 1e6);
  if (a == std::floor(a)) return fmt::format("{:.0f}", n);
  return fmt::format("{:.4g}", n);
}

std::string format_time(double s) {
  if (!std::isfinite(s)) return "n/a";
  if (s < 1e-3) return fmt::format("{:.1f} µs", s * 1e6);
  if (s < 1.0) return fmt::format("{:.3f} ms", s * 1e3);
  return fmt::format("{:.3f} s", s);
}

std::string format_time_short(double s) {
  if (!std::isfinite(s)) return "n/a";
  const double a = std::abs(s);
  if (a == 0) return "0 s";
  if (a < 1e-3) return fmt::format("{:.{}f} µs", s * 1e6, a < 1e-5 ? 2 : 1);
  if (a < 1) return fmt::format("{:.{}f} ms", s * 1e3, a < 1e-2 ? 2 : 1);
  return fmt::format("{:.2f} s", s);
}

std::string format_rate(double v, const char* unit) {
  if (!std::isfinite(v)) return "n/a";
  return fmt::format("{:.4g} {}", v, unit);
}

std::string format_value(double v, const std::string& unit, bool label) {
  if (!std::isfinite(v)) return "n/a";
  if (label && unit == "s") return format_time_short(v);
  if (label && !unit.empty() && unit != "B" && unit != "B/s" && unit != "bool" && unit != "%") {
    return format_value(v, unit, false) + " " + unit;
  }
  if (unit == "B") return format_bytes(v);
  if (unit == "s") return format_time(v);
  if (unit == "B/s") return fmt::format("{:.1f} GB/s", v / units::kGB);
  if (unit == "bool") return v != 0 ? "yes" : "no";
  if (unit == "%") return fmt::format("{:+.2f} %", v);
  if (unit == "tokens/s") return fmt::format("{:.5g}", v);
  return format_count(v);
}

}  // namespace kvscope
