#pragma once
// Number formatting for labels and tables (presentation only), as the CLI prints them: memory in
// binary units (GiB = 2^30 B) and counts through kvscope's shared formatter
// (kvscope/core/format.hpp, the one `kvscope eval` uses); times as µs / ms / s; rates with an SI
// prefix ("1.2 k tokens/s", "3.35 TB/s"). NaN -> "n/a".
#include <QString>
#include <string_view>

namespace kvscope::gui {

QString format_value(double v, std::string_view unit);
QString format_bytes(double bytes);   // "1.00 GiB" (kvscope::format_bytes)
QString format_time(double seconds);
QString format_count(double v);       // "8.03 B", "32768" (kvscope::format_count)

}  // namespace kvscope::gui
