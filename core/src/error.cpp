#include "kvscope/core/error.hpp"

#include <fmt/format.h>

namespace kvscope {

namespace {
std::string compose(const std::string& where, const std::string& key, const std::string& expected,
                    const std::string& found) {
  std::string msg = where.empty() ? std::string() : where + ": ";
  if (!key.empty()) msg += fmt::format("'{}': ", key);
  msg += fmt::format("expected {}, found {}", expected, found);
  return msg;
}
}  // namespace

InputError::InputError(std::string where, std::string key, std::string expected, std::string found)
    : Error(compose(where, key, expected, found)),
      where_(std::move(where)),
      key_(std::move(key)),
      expected_(std::move(expected)),
      found_(std::move(found)) {}

}  // namespace kvscope
