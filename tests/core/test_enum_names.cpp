// Enum names (core/enum_names.hpp): every enumerator of the core enums keeps its name, and a value
// outside an enum's enumerators reads "?", as the switches that enum_name replaced did.
#include <catch2/catch.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "kvscope/core/architecture.hpp"
#include "kvscope/core/design_fields.hpp"
#include "kvscope/core/enum_names.hpp"

using namespace kvscope;

namespace {
// The names of values 0..names.size()-1 of E, then that the next value is "?".
template <typename E>
void check_names(const std::vector<std::string>& names) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    CAPTURE(i);
    CHECK(std::string(to_string(static_cast<E>(i))) == names[i]);
  }
  CHECK(std::string(to_string(static_cast<E>(names.size()))) == "?");
  CHECK(std::string(to_string(static_cast<E>(-1))) == "?");
}

enum class Colour { red, green, blue };
enum class Small : unsigned char { a, b };
}  // namespace

TEST_CASE("enum_name maps declaration order to names, other values to ?", "[enum_names]") {
  constexpr auto name = [](Colour c) { return enum_name<Colour::blue>(c, {"red", "green", "blue"}); };
  static_assert(std::string_view(name(Colour::green)) == "green");
  CHECK(std::string(name(Colour::red)) == "red");
  CHECK(std::string(name(Colour::blue)) == "blue");
  CHECK(std::string(name(static_cast<Colour>(3))) == "?");
  CHECK(std::string(name(static_cast<Colour>(-1))) == "?");
  // An unsigned underlying type has no negative values to reject.
  CHECK(std::string(enum_name<Small::b>(Small::b, {"a", "b"})) == "b");
  CHECK(std::string(enum_name<Small::b>(static_cast<Small>(200), {"a", "b"})) == "?");
}

TEST_CASE("every core enumerator has its name", "[enum_names]") {
  check_names<FieldGroup>({"model", "shape", "sharing", "storage", "hardware", "workload", "engine", "serving"});
  check_names<ValueType>({"integer", "real", "text", "choice", "preset"});
  check_names<MlpKind>({"swiglu", "plain", "moe"});
  check_names<KvDtype>({"bf16", "fp16", "fp8", "int8", "int4"});
}
