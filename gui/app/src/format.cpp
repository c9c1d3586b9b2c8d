#include "format.hpp"

#include "kvscope/core/format.hpp"

namespace kvscope::gui {

// Every figure goes through kvscope/core/format.hpp, the formatter the CLI uses.
QString format_bytes(double b) {
  return QString::fromStdString(kvscope::format_bytes(b));
}

QString format_time(double s) {
  return QString::fromStdString(kvscope::format_time_short(s));
}

QString format_count(double v) {
  return QString::fromStdString(kvscope::format_count(v));
}

QString format_value(double v, std::string_view unit) {
  return QString::fromStdString(kvscope::format_value(v, std::string(unit), true));
}

}  // namespace kvscope::gui
