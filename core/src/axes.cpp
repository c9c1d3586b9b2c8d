#include "kvscope/core/axes.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <utility>

#include "kvscope/core/error.hpp"

namespace kvscope {

namespace {

constexpr const char* kIntForms = "a list or range like 1,2,4 or 1..512 or 1024..131072:x2 or 0..4096:+512";
constexpr const char* kFloatForms = "a list or range like 0.5,1,2 or 10..50:+10 or 0.001..1:x10";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Items of a list with their 1-based positions. The whole text is kept for the "where" of
// errors: in a list the position matters, for a single item it adds nothing.
std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> items;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = text.find(sep, start);
    items.push_back(trim(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start)));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return items;
}

std::string where_of(std::string_view flag, std::size_t item, std::size_t n_items) {
  return n_items > 1 ? fmt::format("{} item {}", flag, item + 1) : std::string(flag);
}

template <typename T>
std::optional<T> to_number(std::string_view s) {
  T v{};
  if (s.empty()) return std::nullopt;
  if (s.front() == '+') s.remove_prefix(1);  // from_chars rejects a leading '+'
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  if constexpr (std::is_floating_point_v<T>) {
    if (!std::isfinite(v)) return std::nullopt;
  }
  return v;
}

// An item split into its parts: "lo", or "lo..hi", or "lo..hi:xK" / "lo..hi:+K".
struct ItemParts {
  std::string_view lo, hi, step;
  char step_kind = 0;  // 0 (none), 'x' or '+'
  bool range = false;
};

std::optional<ItemParts> split_item(std::string_view item) {
  ItemParts p;
  const std::size_t dots = item.find("..");
  if (dots == std::string_view::npos) {
    if (item.find(':') != std::string_view::npos) return std::nullopt;  // a step without a range
    p.lo = item;
    return p;
  }
  p.range = true;
  p.lo = trim(item.substr(0, dots));
  std::string_view rest = item.substr(dots + 2);
  const std::size_t colon = rest.find(':');
  p.hi = trim(rest.substr(0, colon));
  if (colon != std::string_view::npos) {
    std::string_view step = trim(rest.substr(colon + 1));
    if (step.empty() || (step.front() != 'x' && step.front() != '+')) return std::nullopt;
    p.step_kind = step.front();
    p.step = trim(step.substr(1));
    if (p.step.empty()) return std::nullopt;
  }
  if (p.lo.empty() || p.hi.empty()) return std::nullopt;
  return p;
}

template <typename T>
void reject_duplicates(const std::vector<T>& values, std::string_view flag) {
  std::vector<std::pair<T, std::size_t>> sorted;
  sorted.reserve(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) sorted.emplace_back(values[i], i);
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i].first == sorted[i - 1].first) {
      throw InputError(std::string(flag), "", "each value once (a repeated value would evaluate the same points twice)",
                       fmt::format("{} twice (values {} and {} of the expansion)", sorted[i].first,
                                   std::min(sorted[i].second, sorted[i - 1].second) + 1,
                                   std::max(sorted[i].second, sorted[i - 1].second) + 1));
    }
  }
}

void check_count(std::size_t have, double more, std::size_t max_values, std::string_view flag, std::size_t item,
                 std::size_t n_items, std::string_view text) {
  if (more > static_cast<double>(max_values) || static_cast<double>(have) + more > static_cast<double>(max_values)) {
    throw InputError(where_of(flag, item, n_items), "", fmt::format("at most {} values in all", max_values),
                     fmt::format("'{}' expanding to {:.0f} more", text, more));
  }
}

}  // namespace

std::string expand_token_suffixes(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  std::size_t i = 0;
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  while (i < text.size()) {
    // A number starts at a digit that does not continue a word or a step factor ("x2").
    // ("8k" in "1k..8k" starts after the range's "..").
    const char prev = i == 0 ? ' ' : text[i - 1];
    const bool starts =
        digit(text[i]) && !std::isalnum(static_cast<unsigned char>(prev)) && (prev != '.' || (i >= 2 && text[i - 2] == '.'));
    if (!starts) {
      out += text[i++];
      continue;
    }
    std::size_t j = i;
    while (j < text.size() && digit(text[j])) ++j;
    std::size_t frac_end = j;
    if (j + 1 < text.size() && text[j] == '.' && digit(text[j + 1])) {
      frac_end = j + 1;
      while (frac_end < text.size() && digit(text[frac_end])) ++frac_end;
    }
    const char suffix = frac_end < text.size() ? text[frac_end] : '\0';
    const bool is_suffix = suffix == 'k' || suffix == 'K' || suffix == 'm' || suffix == 'M';
    const bool ends = frac_end + 1 >= text.size() || !std::isalnum(static_cast<unsigned char>(text[frac_end + 1]));
    if (is_suffix && ends && frac_end - i <= 15) {
      const double mult = (suffix == 'k' || suffix == 'K') ? 1024.0 : 1048576.0;
      const double v = std::strtod(std::string(text.substr(i, frac_end - i)).c_str(), nullptr) * mult;
      if (v == std::floor(v) && v < 9e15) {
        out += fmt::format("{:.0f}", v);
        i = frac_end + 1;
        continue;
      }
    }
    out.append(text.substr(i, frac_end - i));
    i = frac_end;
  }
  return out;
}

std::vector<std::int64_t> parse_int_axis(std::string_view text, std::string_view flag, std::int64_t min, std::int64_t max,
                                         std::size_t max_values) {
  const std::vector<std::string_view> items = split(text, ',');
  std::vector<std::int64_t> out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string_view item = items[i];
    const std::string where = where_of(flag, i, items.size());
    const std::string found = fmt::format("'{}'", item);
    const std::optional<ItemParts> parts = split_item(item);
    if (!parts) throw InputError(where, "", kIntForms, found);
    const auto lo = to_number<std::int64_t>(parts->lo);
    if (!lo) throw InputError(where, "", kIntForms, found);
    auto in_bounds = [&](std::int64_t v) {
      if (v < min || v > max) {
        throw InputError(where, "", fmt::format("integers in {}..{}", min, max), fmt::format("{} in '{}'", v, item));
      }
    };
    if (!parts->range) {
      in_bounds(*lo);
      check_count(out.size(), 1, max_values, flag, i, items.size(), item);
      out.push_back(*lo);
      continue;
    }
    const auto hi = to_number<std::int64_t>(parts->hi);
    if (!hi) throw InputError(where, "", kIntForms, found);
    if (*hi < *lo) throw InputError(where, "", "a range whose start is <= its end", found);
    std::int64_t step = 1;
    if (parts->step_kind != 0) {
      const auto s = to_number<std::int64_t>(parts->step);
      if (!s || (parts->step_kind == 'x' && *s < 2) || (parts->step_kind == '+' && *s < 1)) {
        throw InputError(where, "", "a step like :x2 (an integer factor >= 2) or :+512 (an integer >= 1)", found);
      }
      step = *s;
    }
    in_bounds(*lo);
    if (parts->step_kind == 'x') {
      if (*lo < 1) throw InputError(where, "", "a geometric range starting at 1 or more", found);
      // v * step <= hi  <=>  v <= hi / step for positive integers: no product can overflow.
      std::size_t n = 1;
      std::int64_t last = *lo;
      while (last <= *hi / step) last *= step, ++n;
      in_bounds(last);
      check_count(out.size(), static_cast<double>(n), max_values, flag, i, items.size(), item);
      for (std::int64_t v = *lo;; v *= step) {
        out.push_back(v);
        if (v > *hi / step) break;
      }
    } else {
      // hi - lo fits in uint64 for any int64 pair with lo <= hi.
      const std::uint64_t span = static_cast<std::uint64_t>(*hi) - static_cast<std::uint64_t>(*lo);
      const std::uint64_t n = span / static_cast<std::uint64_t>(step) + 1;
      check_count(out.size(), static_cast<double>(n), max_values, flag, i, items.size(), item);
      const std::int64_t last =
          static_cast<std::int64_t>(static_cast<std::uint64_t>(*lo) + (n - 1) * static_cast<std::uint64_t>(step));
      in_bounds(last);
      for (std::uint64_t k = 0; k < n; ++k) {
        out.push_back(static_cast<std::int64_t>(static_cast<std::uint64_t>(*lo) + k * static_cast<std::uint64_t>(step)));
      }
    }
  }
  reject_duplicates(out, flag);
  return out;
}

std::vector<double> parse_double_axis(std::string_view text, std::string_view flag, double min, double max,
                                      std::size_t max_values) {
  const std::vector<std::string_view> items = split(text, ',');
  std::vector<double> out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string_view item = items[i];
    const std::string where = where_of(flag, i, items.size());
    const std::string found = fmt::format("'{}'", item);
    const std::optional<ItemParts> parts = split_item(item);
    if (!parts) throw InputError(where, "", kFloatForms, found);
    const auto lo = to_number<double>(parts->lo);
    if (!lo) throw InputError(where, "", kFloatForms, found);
    auto in_bounds = [&](double v) {
      if (!(v >= min && v <= max)) {
        throw InputError(where, "", fmt::format("numbers in {:g}..{:g}", min, max), fmt::format("{:g} in '{}'", v, item));
      }
    };
    in_bounds(*lo);
    if (!parts->range) {
      check_count(out.size(), 1, max_values, flag, i, items.size(), item);
      out.push_back(*lo);
      continue;
    }
    const auto hi = to_number<double>(parts->hi);
    if (!hi) throw InputError(where, "", kFloatForms, found);
    if (*hi < *lo) throw InputError(where, "", "a range whose start is <= its end", found);
    double step = 1;
    if (parts->step_kind != 0) {
      const auto s = to_number<double>(parts->step);
      if (!s || (parts->step_kind == 'x' && !(*s > 1)) || (parts->step_kind == '+' && !(*s > 0))) {
        throw InputError(where, "", "a step like :x10 (a factor > 1) or :+0.5 (a step > 0)", found);
      }
      step = *s;
    }
    // Relative slack so that rounding in (hi - lo) / step does not drop the end point.
    constexpr double kSlack = 1e-9;
    double count = 0;
    if (parts->step_kind == 'x') {
      if (!(*lo > 0)) throw InputError(where, "", "a geometric range starting above 0", found);
      count = std::floor(std::log(*hi / *lo) / std::log(step) + kSlack) + 1;
    } else {
      count = std::floor((*hi - *lo) / step + kSlack) + 1;
    }
    check_count(out.size(), count, max_values, flag, i, items.size(), item);
    const auto n = static_cast<std::size_t>(count);
    const std::size_t first = out.size();
    for (std::size_t k = 0; k < n; ++k) {
      const double kd = static_cast<double>(k);
      out.push_back(parts->step_kind == 'x' ? *lo * std::pow(step, kd) : *lo + kd * step);
    }
    // Snap a last value that rounding put just past (or just short of) the written end.
    double& last = out.back();
    if (out.size() > first && std::abs(last - *hi) <= kSlack * std::max(std::abs(*hi), std::abs(step))) last = *hi;
    in_bounds(last);
  }
  reject_duplicates(out, flag);
  return out;
}

std::vector<std::string> parse_string_axis(std::string_view text, std::string_view flag, char separator) {
  const std::vector<std::string_view> items = split(text, separator);
  std::vector<std::string> out;
  out.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (items[i].empty()) {
      throw InputError(where_of(flag, i, items.size()), "",
                       separator == ';' ? "alternatives separated by ';' like 0,0,2,2;KeepEnds"
                                        : fmt::format("a name, or names separated by '{}'", separator),
                       fmt::format("an empty item in '{}'", text));
    }
    for (std::size_t j = 0; j < out.size(); ++j) {
      if (out[j] == items[i]) {
        throw InputError(std::string(flag), "", "each value once",
                         fmt::format("'{}' twice (items {} and {})", items[i], j + 1, i + 1));
      }
    }
    out.emplace_back(items[i]);
  }
  return out;
}

}  // namespace kvscope
