// Sweep axis syntax: single values, lists, inclusive/geometric/additive ranges, string and
// producer axes, and the errors (flag, item position, expected, found).
#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "kvscope/core/axes.hpp"
#include "kvscope/core/error.hpp"

using namespace kvscope;
using I = std::vector<std::int64_t>;
using D = std::vector<double>;
using S = std::vector<std::string>;

TEST_CASE("integer axes expand lists and ranges", "[axes]") {
  struct Row {
    const char* text;
    I expected;
  };
  const std::vector<Row> rows = {
      {"8", {8}},
      {" 8 ", {8}},
      {"1,2,4,8", {1, 2, 4, 8}},
      {"4,1,2", {4, 1, 2}},  // written order is kept
      {"1..5", {1, 2, 3, 4, 5}},
      {"3..3", {3}},
      {"1024..16384:x2", {1024, 2048, 4096, 8192, 16384}},
      {"1..100:x3", {1, 3, 9, 27, 81}},  // ends at the last value <= 100
      {"0..4096:+1024", {0, 1024, 2048, 3072, 4096}},
      {"1..10:+4", {1, 5, 9}},
      {"1,2,4..16:x2,100", {1, 2, 4, 8, 16, 100}},
      {"-3..3:+3", {-3, 0, 3}},
      {"+5", {5}},
  };
  for (const Row& r : rows) {
    INFO(r.text);
    CHECK(parse_int_axis(r.text, "--batch", -100, 1000000) == r.expected);
  }
}

TEST_CASE("integer axes step without overflow near the int64 limits", "[axes]") {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  // Geometric: the last value is 2^62; 2^63 would overflow and must not be computed.
  const I geo = parse_int_axis("1..9223372036854775807:x2", "--x", kMin, kMax);
  REQUIRE(geo.size() == 63);
  CHECK(geo.back() == (std::int64_t{1} << 62));
  // Additive across the whole range: hi - lo overflows int64 but not the unsigned span.
  const I add = parse_int_axis("-9223372036854775808..9223372036854775807:+9223372036854775807", "--x", kMin, kMax);
  CHECK(add == I{kMin, -1, kMax - 1});
  CHECK(parse_int_axis("9223372036854775806..9223372036854775807", "--x", kMin, kMax) == I{kMax - 1, kMax});
}

TEST_CASE("integer axis errors name the flag, the item and what was found", "[axes]") {
  struct Row {
    const char* text;
    const char* message;
  };
  const std::vector<Row> rows = {
      {"1..", "--batch: expected a list or range like 1,2,4 or 1..512 or 1024..131072:x2 or 0..4096:+512, found '1..'"},
      {"1,2,x", "--batch item 3: expected a list or range like 1,2,4 or 1..512 or 1024..131072:x2 or 0..4096:+512, found 'x'"},
      {"", "--batch: expected a list or range like 1,2,4 or 1..512 or 1024..131072:x2 or 0..4096:+512, found ''"},
      {"1,,2", "--batch item 2: expected a list or range like 1,2,4 or 1..512 or 1024..131072:x2 or 0..4096:+512, found ''"},
      {"1,2,", "--batch item 3: expected a list or range like 1,2,4 or 1..512 or 1024..131072:x2 or 0..4096:+512, found ''"},
      {"..5", "--batch: expected a list or range like 1,2,4 or 1..512 or 1024..131072:x2 or 0..4096:+512, found '..5'"},
      {"1.5", "--batch: expected a list or range like 1,2,4 or 1..512 or 1024..131072:x2 or 0..4096:+512, found '1.5'"},
      {"8:x2", "--batch: expected a list or range like 1,2,4 or 1..512 or 1024..131072:x2 or 0..4096:+512, found '8:x2'"},
      {"1..8:2", "--batch: expected a list or range like 1,2,4 or 1..512 or 1024..131072:x2 or 0..4096:+512, found '1..8:2'"},
      {"1..8:x", "--batch: expected a list or range like 1,2,4 or 1..512 or 1024..131072:x2 or 0..4096:+512, found '1..8:x'"},
      {"1..8:x1", "--batch: expected a step like :x2 (an integer factor >= 2) or :+512 (an integer >= 1), found '1..8:x1'"},
      {"1..8:+0", "--batch: expected a step like :x2 (an integer factor >= 2) or :+512 (an integer >= 1), found '1..8:+0'"},
      {"1..8:x1.5", "--batch: expected a step like :x2 (an integer factor >= 2) or :+512 (an integer >= 1), found '1..8:x1.5'"},
      {"8..1", "--batch: expected a range whose start is <= its end, found '8..1'"},
      {"0", "--batch: expected integers in 1..1000000, found 0 in '0'"},
      {"4,0..8:+2", "--batch item 2: expected integers in 1..1000000, found 0 in '0..8:+2'"},
      {"999999..2000000", "--batch: expected integers in 1..1000000, found 2000000 in '999999..2000000'"},
      {"1..2000000:x2", "--batch: expected integers in 1..1000000, found 1048576 in '1..2000000:x2'"},
      {"99999999999999999999",
       "--batch: expected a list or range like 1,2,4 or 1..512 or 1024..131072:x2 or 0..4096:+512, found '99999999999999999999'"},
      {"1,2,1",
       "--batch: expected each value once (a repeated value would evaluate the same points twice), found 1 twice (values 1 and 3 "
       "of the expansion)"},
      {"1..4,4",
       "--batch: expected each value once (a repeated value would evaluate the same points twice), found 4 twice (values 4 and 5 "
       "of the expansion)"},
  };
  for (const Row& r : rows) {
    INFO(r.text);
    CHECK_THROWS_MATCHES(parse_int_axis(r.text, "--batch", 1, 1000000), InputError, Catch::Message(r.message));
  }
}

TEST_CASE("axis value cap", "[axes]") {
  CHECK(parse_int_axis("1..1000", "--context", 1, 100000000, 1000).size() == 1000);
  CHECK_THROWS_MATCHES(parse_int_axis("1..1001", "--context", 1, 100000000, 1000), InputError,
                       Catch::Message("--context: expected at most 1000 values in all, found '1..1001' expanding to 1001 more"));
  CHECK_THROWS_MATCHES(
      parse_int_axis("1..500,501..1001", "--context", 1, 100000000, 1000), InputError,
      Catch::Message("--context item 2: expected at most 1000 values in all, found '501..1001' expanding to 501 more"));
  // The default cap (10^7) refuses a typo before allocating 10^9 values.
  CHECK_THROWS_AS(parse_int_axis("1..1000000000", "--context", 1, 1000000000), InputError);
  CHECK_THROWS_AS(parse_double_axis("0..1:+1e-12", "--tpot-limit-ms", 0, 10), InputError);
}

TEST_CASE("floating axes", "[axes]") {
  struct Row {
    const char* text;
    D expected;
  };
  const std::vector<Row> rows = {
      {"20", {20}},
      {"0.5,1,2.5", {0.5, 1, 2.5}},
      {"10..50:+10", {10, 20, 30, 40, 50}},
      {"1..3", {1, 2, 3}},
      {"0..1:+0.25", {0, 0.25, 0.5, 0.75, 1}},
      {"0.001..1:x10", {0.001, 0.01, 0.1, 1}},
      {"1e-3,5e1", {0.001, 50}},
  };
  for (const Row& r : rows) {
    INFO(r.text);
    const D got = parse_double_axis(r.text, "--tpot-limit-ms", 0, 1e9);
    REQUIRE(got.size() == r.expected.size());
    for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(r.expected[i]).epsilon(1e-12));
  }
  // The written end point is reached exactly, not 0.30000000000000004 or 0.9999999999.
  CHECK(parse_double_axis("0..0.3:+0.1", "--x", 0, 1).back() == 0.3);
  CHECK(parse_double_axis("0.001..1:x10", "--x", 0, 1).back() == 1.0);

  struct Bad {
    const char* text;
    const char* message;
  };
  const std::vector<Bad> bad = {
      {"1..", "--tpot-limit-ms: expected a list or range like 0.5,1,2 or 10..50:+10 or 0.001..1:x10, found '1..'"},
      {"5,abc", "--tpot-limit-ms item 2: expected a list or range like 0.5,1,2 or 10..50:+10 or 0.001..1:x10, found 'abc'"},
      {"inf", "--tpot-limit-ms: expected a list or range like 0.5,1,2 or 10..50:+10 or 0.001..1:x10, found 'inf'"},
      {"1..2:x1", "--tpot-limit-ms: expected a step like :x10 (a factor > 1) or :+0.5 (a step > 0), found '1..2:x1'"},
      {"1..2:+0", "--tpot-limit-ms: expected a step like :x10 (a factor > 1) or :+0.5 (a step > 0), found '1..2:+0'"},
      {"0..2:x2", "--tpot-limit-ms: expected a geometric range starting above 0, found '0..2:x2'"},
      {"-1", "--tpot-limit-ms: expected numbers in 0..1000, found -1 in '-1'"},
      {"500..2000:+500", "--tpot-limit-ms: expected numbers in 0..1000, found 2000 in '500..2000:+500'"},
      {"2..1", "--tpot-limit-ms: expected a range whose start is <= its end, found '2..1'"},
      {"1,1.0",
       "--tpot-limit-ms: expected each value once (a repeated value would evaluate the same points twice), found 1 twice (values "
       "1 and 2 of the expansion)"},
  };
  for (const Bad& r : bad) {
    INFO(r.text);
    CHECK_THROWS_MATCHES(parse_double_axis(r.text, "--tpot-limit-ms", 0, 1000), InputError, Catch::Message(r.message));
  }
}

TEST_CASE("string and producer axes", "[axes]") {
  CHECK(parse_string_axis("h100-sxm", "--gpu") == S{"h100-sxm"});
  CHECK(parse_string_axis("h100-sxm, h200 ,a100-80gb", "--gpu") == S{"h100-sxm", "h200", "a100-80gb"});
  CHECK(parse_string_axis("bf16,fp8,int4", "--kv-dtype") == S{"bf16", "fp8", "int4"});
  // Producer maps contain commas: alternatives are separated by ';'.
  CHECK(parse_producer_axis("0,0,2,2;KeepEnds;0_0_0_3", "--kv-producers") == S{"0,0,2,2", "KeepEnds", "0_0_0_3"});
  CHECK(parse_producer_axis("0,0,2,2", "--kv-producers") == S{"0,0,2,2"});

  struct Bad {
    const char* text;
    char sep;
    const char* message;
  };
  const std::vector<Bad> bad = {
      {"", ',', "--gpu: expected a name, or names separated by ',', found an empty item in ''"},
      {"h100-sxm,,h200", ',',
       "--gpu item 2: expected a name, or names separated by ',', found an empty item in 'h100-sxm,,h200'"},
      {"h100-sxm,h200,h100-sxm", ',', "--gpu: expected each value once, found 'h100-sxm' twice (items 1 and 3)"},
      {"0,0,2,2;;KeepEnds", ';',
       "--gpu item 2: expected alternatives separated by ';' like 0,0,2,2;KeepEnds, found an empty item in '0,0,2,2;;KeepEnds'"},
  };
  for (const Bad& r : bad) {
    INFO(r.text);
    CHECK_THROWS_MATCHES(parse_string_axis(r.text, "--gpu", r.sep), InputError, Catch::Message(r.message));
  }
}

TEST_CASE("token counts take k = 1024 and M = 1024^2 suffixes", "[axes][suffix]") {
  const struct {
    const char* text;
    const char* expanded;
  } rows[] = {
      {"128k", "131072"},
      {"128K", "131072"},
      {"1M", "1048576"},
      {"0.5m", "524288"},
      {"1.5k", "1536"},
      {"1k..128k:x2", "1024..131072:x2"},
      {"512..2k:+512", "512..2048:+512"},
      {"0..64k:+4k", "0..65536:+4096"},
      {"8192,32k, 1M", "8192,32768, 1048576"},
      {"4096", "4096"},          // no suffix: as written
      {"1..64:x2", "1..64:x2"},  // a step factor is not a count
      // Not whole counts, or not a suffix: left as written, for the parser to reject with the
      // text the user typed.
      {"1.3k", "1.3k"},
      {"128kb", "128kb"},
      {"k128", "k128"},
      {"12g", "12g"},
      {"", ""},
      {"9999999999999999k", "9999999999999999k"},
  };
  for (const auto& r : rows) {
    INFO(r.text);
    CHECK(expand_token_suffixes(r.text) == r.expanded);
  }
  CHECK(parse_int_axis(expand_token_suffixes("1k..8k:x2"), "--context", 1, 100000000) == I{1024, 2048, 4096, 8192});
}
