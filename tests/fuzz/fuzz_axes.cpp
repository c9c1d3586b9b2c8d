// Sweep axis syntax (axes.hpp): integer, floating, string and producer-map axes. The first byte
// picks the parser, the rest is the flag's text. Accepted values must respect the bounds, be
// distinct and (floating) finite.
#include <set>

#include "fuzz_common.hpp"
#include "kvscope/core/axes.hpp"

using namespace kvscope;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string text = fuzz::as_text(data + 1, size - 1);
  // Small caps on the expansion keep each input fast; the limit itself is part of what is fuzzed.
  constexpr std::size_t kMax = 4096;
  KVSCOPE_FUZZ_EXPECT_ERRORS({
    switch (data[0] % 5) {
      case 0: {
        const auto v = parse_int_axis(text, "--batch", 1, 1000000, kMax);
        if (v.empty() || v.size() > kMax) fuzz::fail("int axis size");
        std::set<std::int64_t> seen;
        for (auto x : v) {
          if (x < 1 || x > 1000000) fuzz::fail("int axis value out of bounds: " + std::to_string(x));
          if (!seen.insert(x).second) fuzz::fail("int axis duplicate");
        }
        break;
      }
      case 1: {
        // Extreme bounds: ranges near INT64_MAX must not overflow.
        const auto v = parse_int_axis(text, "--context", 0, INT64_MAX, kMax);
        for (auto x : v) {
          if (x < 0) fuzz::fail("int axis value below 0");
        }
        break;
      }
      case 2: {
        const auto v = parse_double_axis(text, "--tpot-limit-ms", 0, 1e9, kMax);
        if (v.empty() || v.size() > kMax) fuzz::fail("double axis size");
        std::set<double> seen;
        for (double x : v) {
          if (!std::isfinite(x) || x < 0 || x > 1e9) fuzz::fail("double axis value out of bounds: " + std::to_string(x));
          if (!seen.insert(x).second) fuzz::fail("double axis duplicate");
        }
        break;
      }
      case 3: {
        const auto v = parse_string_axis(text, "--gpu");
        std::set<std::string> seen;
        for (const auto& x : v) {
          if (x.empty() || !seen.insert(x).second) fuzz::fail("string axis empty or duplicate item");
        }
        break;
      }
      default: {
        const auto v = parse_producer_axis(text, "--kv-producers");
        if (v.empty()) fuzz::fail("producer axis empty");
        break;
      }
    }
  });
  return 0;
}
