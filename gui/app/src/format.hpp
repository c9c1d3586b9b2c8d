#pragma once
// Number formatting for labels and tables (presentation only: SI prefixes, units).
#include <QString>
#include <string_view>

namespace kvscope::gui {

// "12.3 GB", "4.56 ms", "1.2 k tokens/s", "0.734". Binary sizes are not used: bytes are shown
// in decimal units as everywhere in kvscope (GB = 1e9 B). NaN -> "n/a".
QString format_value(double v, std::string_view unit);
QString format_bytes(double bytes);
QString format_time(double seconds);
QString format_count(double v);

}  // namespace kvscope::gui
