#include "format.hpp"

#include <cmath>

#include "kvscope/core/format.hpp"

namespace kvscope::gui {

namespace {
QString si(double v, const QString& unit) {
  static const char* const prefixes[] = {"", " k", " M", " G", " T", " P", " E"};
  const double a = std::fabs(v);
  int i = 0;
  double s = v;
  while (i < 6 && std::fabs(s) >= 1000.0) {
    s /= 1000.0;
    ++i;
  }
  const int decimals = a == 0 ? 0 : (std::fabs(s) >= 100 ? 0 : (std::fabs(s) >= 10 ? 1 : 2));
  QString out = QString::number(s, 'f', decimals) + prefixes[i];
  if (!unit.isEmpty()) out += (i == 0 ? " " : "") + unit;
  return out;
}
}  // namespace

QString format_bytes(double b) { return QString::fromStdString(kvscope::format_bytes(b)); }

QString format_time(double s) {
  if (!std::isfinite(s)) return QStringLiteral("n/a");
  const double a = std::fabs(s);
  if (a == 0) return QStringLiteral("0 s");
  if (a < 1e-3) return QString::number(s * 1e6, 'f', a < 1e-5 ? 2 : 1) + QStringLiteral(" µs");
  if (a < 1) return QString::number(s * 1e3, 'f', a < 1e-2 ? 2 : 1) + QStringLiteral(" ms");
  return QString::number(s, 'f', 2) + QStringLiteral(" s");
}

QString format_count(double v) { return QString::fromStdString(kvscope::format_count(v)); }

QString format_value(double v, std::string_view unit) {
  if (!std::isfinite(v)) return QStringLiteral("n/a");
  const QString u = QString::fromUtf8(unit.data(), static_cast<qsizetype>(unit.size()));
  if (unit == "B") return format_bytes(v);
  if (unit == "s") return format_time(v);
  if (unit == "bool") return v != 0 ? QStringLiteral("yes") : QStringLiteral("no");
  if (unit == "%") return QString::asprintf("%+.2f %%", v);
  if (unit == "B/s") return QString::asprintf("%.1f GB/s", v / 1e9);
  if (unit.empty()) return format_count(v);
  // Counts with a unit ("positions", "tokens") read as the CLI prints them: "32768 positions".
  if (unit.find('/') == std::string_view::npos) return format_count(v) + " " + u;
  if (std::fabs(v) < 1000) return QString::number(v, 'g', 4) + " " + u;
  return si(v, u);
}

}  // namespace kvscope::gui
