#pragma once
// Names of an enum's values, written once in declaration order, so that a to_string() is one
// line instead of a switch that repeats the same case/return pair per enumerator.
#include <cstddef>
#include <type_traits>

namespace kvscope {

// The name of `e` from `names` (one per enumerator, in declaration order). `Last` is the enum's
// final enumerator: the enumerators must be 0..Last without gaps (no explicit values), and a list
// with a name missing or extra does not compile. A value outside them (an integer cast to the
// enum) is "?", as the switches' fall-through was.
//   const char* to_string(CmpOp op) { return enum_name<CmpOp::ne>(op, {"<=", "<", ">=", ">", "==", "!="}); }
template <auto Last, std::size_t N>
constexpr const char* enum_name(decltype(Last) e, const char* const (&names)[N]) noexcept {
  using E = decltype(Last);
  static_assert(std::is_enum_v<E>, "enum_name names the values of an enum");
  static_assert(static_cast<std::size_t>(Last) + 1 == N, "one name per enumerator, in declaration order");
  const auto i = static_cast<std::underlying_type_t<E>>(e);
  if constexpr (std::is_signed_v<decltype(i)>) {
    if (i < 0) return "?";
  }
  if (static_cast<std::size_t>(i) >= N) return "?";
  return names[static_cast<std::size_t>(i)];
}

}  // namespace kvscope
