// Enum names of the models library (core/enum_names.hpp): every enumerator keeps its name, and a
// value outside an enum's enumerators reads "?", as the switches that enum_name replaced did.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "kvscope/models/accuracy.hpp"
#include "kvscope/models/fields.hpp"
#include "kvscope/models/timing.hpp"

using namespace kvscope;
using namespace kvscope::models;

TEST_CASE("every models enumerator has its name", "[enum_names]") {
  const std::vector<std::string> ops = {"qkv_proj", "attention", "o_proj", "mlp", "norms_elementwise", "lm_head", "allreduce"};
  REQUIRE(ops.size() == static_cast<std::size_t>(kOpCount));
  for (int i = 0; i < kOpCount; ++i) CHECK(std::string(op_name(static_cast<Op>(i))) == ops[static_cast<std::size_t>(i)]);
  CHECK(std::string(op_name(static_cast<Op>(kOpCount))) == "?");

  const std::vector<std::string> kinds = {"config", "memory", "timing", "serving", "accuracy"};
  for (std::size_t i = 0; i < kinds.size(); ++i) CHECK(std::string(to_string(static_cast<FieldKind>(i))) == kinds[i]);
  CHECK(std::string(to_string(static_cast<FieldKind>(kinds.size()))) == "?");

  CHECK(std::string(to_string(AccuracyKind::measured)) == "measured");
  CHECK(std::string(to_string(AccuracyKind::estimated)) == "estimated");
  CHECK(std::string(to_string(AccuracyKind::unavailable)) == "unavailable");
  CHECK(std::string(to_string(static_cast<AccuracyKind>(3))) == "?");
}
