#pragma once
// Human-readable quantities, shared by every front end (CLI tables, GUI labels and charts) so that
// a figure reads the same wherever it is shown. Memory is binary (GiB = 2^30 B, see units.hpp).
#include <string>

namespace kvscope {

// "1.00 GiB", "12.50 MiB", "3.00 KiB", "512 B"; "n/a" when not finite.
std::string format_bytes(double bytes);
// "8.03 B", "1.20 M", "512", "0.734"; "n/a" when not finite. (B = 10^9, as in "8.03 B parameters".)
std::string format_count(double n);
// "12.3 µs", "4.560 ms", "1.200 s" (tables); "n/a" when not finite.
std::string format_time(double seconds);
// "12.3 µs", "31.9 ms", "4.56 ms", "1.20 s", "0 s" (labels: about 3 significant digits).
std::string format_time_short(double seconds);
// "1234 tokens/s" style: 4 significant digits and the unit; "n/a" when not finite.
std::string format_rate(double per_s, const char* unit);
// A value by its unit, as output fields are shown (models::Field::unit): "B" -> format_bytes,
// "s" -> format_time, "B/s" -> "123.4 GB/s" (bandwidth in decimal GB/s, as datasheets state it),
// "bool" -> yes/no, "%" -> "+1.23 %", "tokens/s" -> 5 significant digits, counts (with or
// without a unit such as "positions") -> format_count. `label` is the style of a figure without
// a column header (GUI): counts and rates carry their unit ("32768 positions", "12345 tokens/s")
// and times are short (format_time_short).
std::string format_value(double v, const std::string& unit, bool label = false);

}  // namespace kvscope
