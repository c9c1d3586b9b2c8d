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

TEST_CASE("format_time, format_time_short and format_value: tables and labels from one formatter", "[format]") {
  const struct {
    double v;
    const char* unit;
    bool label;
    const char* want;
  } rows[] = {
      {0.0319, "s", false, "31.900 ms"},
      {0.0319, "s", true, "31.9 ms"},
      {4.56e-3, "s", true, "4.56 ms"},
      {1.2e-5, "s", false, "12.0 µs"},
      {2.5e-6, "s", true, "2.50 µs"},
      {1.2, "s", false, "1.200 s"},
      {1.2, "s", true, "1.20 s"},
      {0, "s", true, "0 s"},
      {3.35e12, "B/s", false, "3350.0 GB/s"},
      {12345.6, "tokens/s", false, "12346"},
      {12345.6, "tokens/s", true, "12346 tokens/s"},
      {32768, "positions", false, "32768"},
      {32768, "positions", true, "32768 positions"},
      {1.6, "%", true, "+1.60 %"},
      {1, "bool", false, "yes"},
      {1073741824.0, "B", true, "1.00 GiB"},
      {std::numeric_limits<double>::quiet_NaN(), "s", true, "n/a"},
      {-std::numeric_limits<double>::infinity(), "B/s", false, "n/a"},
  };
  for (const auto& r : rows) {
    INFO(r.v << " " << r.unit << " " << r.label);
    CHECK(kvscope::format_value(r.v, r.unit, r.label) == r.want);
  }
  CHECK(kvscope::format_time(2.5e-3) == "2.500 ms");
  CHECK(kvscope::format_time_short(2.5e-3) == "2.50 ms");
  CHECK(kvscope::format_rate(1234.5678, "tokens/s") == "1235 tokens/s");
  CHECK(kvscope::format_rate(std::numeric_limits<double>::quiet_NaN(), "x") == "n/a");
}
