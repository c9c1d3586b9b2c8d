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

}  // namespace kvscope
