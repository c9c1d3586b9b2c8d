#pragma once
// Human-readable quantities, shared by every front end (CLI tables, GUI labels and charts) so that
// a figure reads the same wherever it is shown. Memory is binary (GiB = 2^30 B, see units.hpp).
#include <string>

namespace kvscope {

// "1.00 GiB", "12.50 MiB", "3.00 KiB", "512 B"; "n/a" when not finite.
std::string format_bytes(double bytes);
// "8.03 B", "1.20 M", "512", "0.734"; "n/a" when not finite. (B = 10^9, as in "8.03 B parameters".)
std::string format_count(double n);

}  // namespace kvscope
