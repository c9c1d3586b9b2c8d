#include "kvscope/core/error.hpp"

#include <fmt/format.h>

namespace kvscope {

std::string one_line(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += "\\t";
    else if (c < 0x20 || c == 0x7f)
      out += fmt::format("\\x{:02x}", c);
    else
      out += ch;
  }
  return out;
}

namespace {
std::string compose(const std::string& where, const std::string& key, const std::string& expected, const std::string& found) {
  std::string msg = where.empty() ? std::string() : where + ": ";
  if (!key.empty()) msg += fmt::format("'{}': ", key);
  msg += fmt::format("expected {}, found {}", expected, found);
  return one_line(msg);
}
}  // namespace

InputError::InputError(std::string where, std::string key, std::string expected, std::string found)
    : Error(compose(where, key, expected, found)),
      where_(std::move(where)),
      key_(std::move(key)),
      expected_(std::move(expected)),
      found_(std::move(found)) {}

namespace {
std::string joined(const std::vector<std::string>& m) {
  std::string s;
  for (const std::string& x : m) s += (s.empty() ? "" : "; ") + x;
  return s;
}
}  // namespace

InputErrors::InputErrors(std::vector<std::string> messages) : InputError(joined(messages)), messages_(std::move(messages)) {
  for (std::string& m : messages_) m = one_line(m);
}

}  // namespace kvscope
