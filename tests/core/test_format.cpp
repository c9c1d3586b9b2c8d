// kvscope/core/format.hpp: the quantities every front end prints (CLI tables, GUI).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "kvscope/core/format.hpp"

TEST_CASE("format_bytes prints binary units as the CLI tables do", "[format]") {
  const struct {
    double bytes;
    const char* want;
  } rows[] = {
      {0, "0 B"},
      {512, "512 B"},
      {1023, "1023 B"},
      {1024, "1.00 KiB"},
      {65536, "64.00 KiB"},
      {1048576, "1.00 MiB"},
      {1073741824.0, "1.00 GiB"},
      {85520809984.0, "79.65 GiB"},  // an H100 SXM's 80 GiB less the driver's share
      {1e9, "953.67 MiB"},           // 1 GB is not 1 GiB
      {-2147483648.0, "-2.00 GiB"},
      // Not a size: never a number.
      {std::numeric_limits<double>::quiet_NaN(), "n/a"},
      {std::numeric_limits<double>::infinity(), "n/a"},
      {-std::numeric_limits<double>::infinity(), "n/a"},
  };
  for (const auto& r : rows) {
    INFO(r.bytes);
    CHECK(kvscope::format_bytes(r.bytes) == r.want);
  }
}

TEST_CASE("format_count prints counts as the CLI tables do", "[format]") {
  const struct {
    double n;
    const char* want;
  } rows[] = {
      {0, "0"},
      {31, "31"},
      {32768, "32768"},
      {999999, "999999"},
      {1.2e6, "1.20 M"},
      {8.03e9, "8.03 B"},
      {2.5e12, "2.50 T"},
      {0.734, "0.734"},
      {std::numeric_limits<double>::quiet_NaN(), "n/a"},
      {std::numeric_limits<double>::infinity(), "n/a"},
  };
  for (const auto& r : rows) {
    INFO(r.n);
    CHECK(kvscope::format_count(r.n) == r.want);
  }
}
