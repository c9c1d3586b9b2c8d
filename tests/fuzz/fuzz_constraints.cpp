// Sweep constraints ("max_context >= 32768") and Pareto objectives ("kv_bytes_per_token:min,...")
// against the real field registry. Accepted constraints name a known field and hold a finite
// number; accepted objectives are non-empty with each field once.
#include <set>
#include <vector>

#include "fuzz_common.hpp"
#include "kvscope/explorer/constraints.hpp"
#include "kvscope/models/fields.hpp"

using namespace kvscope;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static const std::vector<std::string_view> known = [] {
    std::vector<std::string_view> k;
    for (const auto& f : models::fields()) k.push_back(f.name);
    return k;
  }();
  const std::string text = fuzz::as_text(data + 1, size - 1);
  KVSCOPE_FUZZ_EXPECT_ERRORS({
    if (data[0] % 3 == 0) {
      const Constraint c = parse_constraint(text, "--constraint", known);
      if (!std::isfinite(c.value)) fuzz::fail("constraint value not finite");
      if (!models::find_field(c.field)) fuzz::fail("constraint on an unknown field");
      (void)c.holds(0.0);
    } else if (data[0] % 3 == 1) {
      // Several constraints, one per line of the input (as repeated --constraint flags).
      std::vector<std::string> texts;
      std::size_t b = 0;
      while (b <= text.size()) {
        const std::size_t e = std::min(text.find('\n', b), text.size());
        texts.push_back(text.substr(b, e - b));
        b = e + 1;
      }
      for (const auto& c : parse_constraints(texts, "scenario.json", known)) {
        if (!std::isfinite(c.value)) fuzz::fail("constraint value not finite");
      }
    } else {
      const auto objs = parse_objectives(text, "--objectives", known);
      if (objs.empty()) fuzz::fail("no objectives accepted");
      std::set<std::string> seen;
      for (const auto& o : objs) {
        if (!models::find_field(o.field) || !seen.insert(o.field).second) fuzz::fail("objective unknown or repeated");
      }
    }
  });
  return 0;
}
