// Enum names of the explorer (core/enum_names.hpp): every comparison operator keeps its name, and
// a value outside the enum reads "?", as the switch that enum_name replaced did.
#include <catch2/catch.hpp>
#include <string>

#include "kvscope/explorer/constraints.hpp"

using namespace kvscope;

TEST_CASE("every explorer enumerator has its name", "[enum_names]") {
  const std::vector<std::string> names = {"<=", "<", ">=", ">", "==", "!="};
  for (std::size_t i = 0; i < names.size(); ++i) {
    CAPTURE(i);
    CHECK(std::string(to_string(static_cast<CmpOp>(i))) == names[i]);
  }
  CHECK(std::string(to_string(static_cast<CmpOp>(names.size()))) == "?");
  CHECK(std::string(to_string(static_cast<CmpOp>(-1))) == "?");
}
