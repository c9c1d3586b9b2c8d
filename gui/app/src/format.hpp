#pragma once
// Number formatting for labels and tables (presentation only): Qt strings of kvscope's one
// formatter (kvscope/core/format.hpp, the one the CLI uses): memory in binary units (GiB = 2^30 B),
// times as µs / ms / s, bandwidth in GB/s, counts and rates with their unit. NaN -> "n/a".
#include <QString>
#include <string_view>

namespace kvscope::gui {

QString format_value(double v, std::string_view unit);
QString format_bytes(double bytes);  // "1.00 GiB" (kvscope::format_bytes)
QString format_time(double seconds);
QString format_count(double v);  // "8.03 B", "32768" (kvscope::format_count)

}  // namespace kvscope::gui
