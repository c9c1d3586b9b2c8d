#pragma once
// Sweep axes: the value of a flag such as `--batch` or `--gpu` parsed into the list of values a
// sweep iterates over. One syntax for every numeric axis:
//
//   8                   a single value
//   1,2,4,8             a list (items are separated by ',')
//   1..512              an inclusive range, step 1
//   1024..131072:x2     a geometric range: 1024, 2048, ... (factor: integer >= 2; for floating
//                       axes any number > 1)
//   0..4096:+512        an additive range: 0, 512, ..., 4096
//   1,2,4..64:x2,100    items may mix single values and ranges
//
// A range ends at the last value <= its upper bound (1..10:+4 is 1, 5, 9). Values keep the order
// they are written in; a value that appears twice is an error (it would evaluate the same point
// twice and put both copies on a Pareto front).
//
// String axes (GPU ids, model ids, K/V dtypes, variants) are ','-separated lists. Producer maps
// ("0,0,2,2") contain commas themselves, so the producer axis separates alternatives with ';':
//   --kv-producers '0,0,2,2;KeepEnds;0_0_0_3'   three alternatives.
//
// Errors are InputError naming the flag and, in a list, the item's position:
//   --batch item 2: expected a list or range like 1,2,4 or 1..512 or 1024..131072:x2, found '1..'
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kvscope {

// Most values one axis may expand to: a sweep larger than this is almost certainly a typo
// (1..1e9), and the expanded list must fit in memory before the sweep starts.
inline constexpr std::size_t kMaxAxisValues = 10'000'000;

// Token counts (context, prompt, window, max_num_batched_tokens, block_size) take size suffixes
// as most serving tools write them: k = 1024 and M = 1024^2 (binary, so that "128k" is the
// 131072-token context of Llama-3.1 and "32k" Mistral's 32768), upper or lower case, on an
// integer or a decimal whose product is a whole number ("1.5k" = 1536). This rewrites every such
// number in a value or axis text ("1k..128k:x2" -> "1024..131072:x2"); step factors (":x2") are
// left alone, as is text with no suffix. A suffixed number that is not a whole count ("1.3k"),
// or too large, is left as written, so the parser's message quotes it.
std::string expand_token_suffixes(std::string_view text);

// Integer axis; every value must lie in [min, max]. `flag` ("--batch") names the flag in errors.
std::vector<std::int64_t> parse_int_axis(std::string_view text, std::string_view flag, std::int64_t min, std::int64_t max,
                                         std::size_t max_values = kMaxAxisValues);

// Floating axis (e.g. a TPOT limit in ms). Additive ranges compute a + i * step (no accumulated
// rounding), geometric ranges a * factor^i; the upper bound is inclusive with a relative slack of
// 1e-9 so that 0..1:+0.1 ends at 1.
std::vector<double> parse_double_axis(std::string_view text, std::string_view flag, double min, double max,
                                      std::size_t max_values = kMaxAxisValues);

// String axis: items separated by `separator`, surrounding blanks trimmed; empty items and
// duplicates are errors.
std::vector<std::string> parse_string_axis(std::string_view text, std::string_view flag, char separator = ',');

// Producer-map axis (`--kv-producers`): alternatives separated by ';' (each alternative may be a
// comma list "0,0,2,2", an LCKV list "0_0_2_2" or a pattern name).
inline std::vector<std::string> parse_producer_axis(std::string_view text, std::string_view flag) {
  return parse_string_axis(text, flag, ';');
}

}  // namespace kvscope
