#include "kvscope/core/display.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <vector>

namespace kvscope {

namespace {

// Length of the valid UTF-8 sequence at s[i] (1..4), or 0 when the bytes there are not one.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  std::uint32_t cp = 0;
  if ((c & 0xE0) == 0xC0)
    n = 2, cp = c & 0x1F;
  else if ((c & 0xF0) == 0xE0)
    n = 3, cp = c & 0x0F;
  else if ((c & 0xF8) == 0xF0)
    n = 4, cp = c & 0x07;
  else
    return 0;
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are not text.
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
      (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return n;
}

// One printable unit per code point (escaped when it is a control character or invalid byte).
std::vector<std::string> units(std::string_view s, bool keep_newline) {
  std::vector<std::string> out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8_length(s, i);
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (n == 0) {
      out.push_back(fmt::format("\\x{:02x}", c));
      ++i;
      continue;
    }
    if (n == 1) {
      if (c == '\n' && keep_newline)
        out.emplace_back("\n");
      else if (c == '\n')
        out.emplace_back("\\n");
      else if (c == '\t')
        out.emplace_back("\\t");
      else if (c == '\r')
        out.emplace_back("\\r");
      else if (c < 0x20 || c == 0x7F)
        out.push_back(fmt::format("\\x{:02x}", c));
      else
        out.emplace_back(1, static_cast<char>(c));
      ++i;
      continue;
    }
    // C1 controls U+0080..U+009F (two bytes C2 80..C2 9F): CSI and friends on some terminals.
    if (n == 2 && c == 0xC2 && static_cast<unsigned char>(s[i + 1]) <= 0x9F) {
      out.push_back(fmt::format("\\u{:04x}", static_cast<unsigned char>(s[i + 1])));
    } else {
      out.emplace_back(s.substr(i, n));
    }
    i += n;
  }
  return out;
}

bool clean(std::string_view s, bool keep_newline) {
  for (unsigned char c : s) {
    if (c >= 0x80 || c < 0x20 || c == 0x7F) {
      if (c == '\n' && keep_newline) continue;
      return false;
    }
  }
  return true;
}

}  // namespace

std::string display_text(std::string_view text, std::size_t max_chars) {
  if (clean(text, false) && (max_chars == 0 || text.size() <= max_chars)) return std::string(text);
  const std::vector<std::string> u = units(text, false);
  std::string out;
  if (max_chars == 0 || u.size() <= max_chars) {
    for (const auto& x : u) out += x;
    return out;
  }
  const std::size_t head = max_chars * 2 / 3, tail = max_chars - head;
  for (std::size_t i = 0; i < head; ++i) out += u[i];
  out += fmt::format("…({} more)…", u.size() - head - tail);
  for (std::size_t i = u.size() - tail; i < u.size(); ++i) out += u[i];
  return out;
}

std::string terminal_safe(std::string_view text) {
  if (clean(text, true)) return std::string(text);
  std::string out;
  for (const auto& x : units(text, true)) out += x;
  return out;
}

}  // namespace kvscope
