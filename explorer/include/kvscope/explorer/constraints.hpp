#pragma once
// Sweep constraints ("max_context >= 32768") and Pareto objectives
// ("kv_bytes_per_token:min,val_ppl:min") as users write them. Parsing is checked against the
// names of the output fields the caller knows (models::fields() in practice: core does not know
// the registry), so a typo fails before a sweep starts, with the closest names in the message.
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kvscope/explorer/pareto.hpp"

namespace kvscope {

enum class CmpOp { le, lt, ge, gt, eq, ne };
const char* to_string(CmpOp op);  // "<=", "<", ...

struct Constraint {
  std::string field;  // a known field name
  CmpOp op = CmpOp::le;
  double value = 0;
  std::string text;  // as written, for messages and reports

  // A NaN value (a quantity that is not defined for the point, e.g. perplexity of a shape the
  // paper has no data for) satisfies no constraint, `!=` included: unknown is never "passes".
  bool holds(double v) const {
    switch (op) {
      case CmpOp::le:
        return v <= value;
      case CmpOp::lt:
        return v < value;
      case CmpOp::ge:
        return v >= value;
      case CmpOp::gt:
        return v > value;
      case CmpOp::eq:
        return v == value;
      case CmpOp::ne:
        return v == v && v != value;
    }
    return false;
  }
};

struct Objective {
  std::string field;
  Sense sense = Sense::minimize;
};

// "FIELD OP NUMBER", OP one of <= < >= > == != (blanks optional), NUMBER finite ("1e4" ok).
// `where` names the flag or file ("--constraint", "scenario.json"). Unknown field: InputError
// listing the closest known names.
Constraint parse_constraint(std::string_view text, std::string_view where, std::span<const std::string_view> known);
std::vector<Constraint> parse_constraints(std::span<const std::string> texts, std::string_view where,
                                          std::span<const std::string_view> known);

// "FIELD:min,FIELD:max,..." (also "minimize"/"maximize"); at least one, each field once.
std::vector<Objective> parse_objectives(std::string_view text, std::string_view where, std::span<const std::string_view> known);

// The `n` known names closest to `name` (edit distance; ties keep the order of `known`).
std::vector<std::string_view> closest_names(std::string_view name, std::span<const std::string_view> known, std::size_t n = 3);

}  // namespace kvscope
