// Constraint and objective parsing against a list of known field names.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "kvscope/core/error.hpp"
#include "kvscope/explorer/constraints.hpp"

using namespace kvscope;

namespace {
const std::vector<std::string_view> kKnown = {"max_context",         "max_batch",          "ppl_delta", "feasible",
                                              "decode_tokens_per_s", "kv_bytes_per_token", "val_ppl",   "context"};
}

TEST_CASE("constraints parse", "[constraints]") {
  struct Row {
    const char* text;
    const char* field;
    CmpOp op;
    double value;
  };
  const std::vector<Row> rows = {
      {"max_context >= 32768", "max_context", CmpOp::ge, 32768},
      {"ppl_delta <= 1", "ppl_delta", CmpOp::le, 1},
      {"feasible == 1", "feasible", CmpOp::eq, 1},
      {"decode_tokens_per_s > 1e4", "decode_tokens_per_s", CmpOp::gt, 1e4},
      {"max_batch<8", "max_batch", CmpOp::lt, 8},
      {"  val_ppl != 0 ", "val_ppl", CmpOp::ne, 0},
      {"ppl_delta >= -0.5", "ppl_delta", CmpOp::ge, -0.5},
  };
  for (const Row& r : rows) {
    INFO(r.text);
    const Constraint c = parse_constraint(r.text, "--constraint", kKnown);
    CHECK(c.field == r.field);
    CHECK(c.op == r.op);
    CHECK(c.value == r.value);
  }
}

TEST_CASE("constraints hold, and NaN never passes", "[constraints]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  struct Row {
    const char* text;
    double v;
    bool holds;
  };
  const std::vector<Row> rows = {
      {"max_batch <= 4", 4, true},
      {"max_batch <= 4", 5, false},
      {"max_batch < 4", 4, false},
      {"max_batch >= 4", 4, true},
      {"max_batch > 4", 4, false},
      {"max_batch == 4", 4, true},
      {"max_batch != 4", 4, false},
      {"max_batch != 4", 3, true},
      {"max_batch <= 4", nan, false},
      {"max_batch != 4", nan, false},
      {"max_batch > 4", std::numeric_limits<double>::infinity(), true},
  };
  for (const Row& r : rows) {
    INFO(r.text << " at " << r.v);
    CHECK(parse_constraint(r.text, "--constraint", kKnown).holds(r.v) == r.holds);
  }
}

TEST_CASE("constraint errors", "[constraints]") {
  struct Row {
    const char* text;
    const char* message;
  };
  const std::vector<Row> rows = {
      {"max_context 32768",
       "--constraint: expected FIELD OP NUMBER with OP one of <= < >= > == != (e.g. max_context >= 32768), found 'max_context "
       "32768'"},
      {"max_context => 5",
       "--constraint: expected FIELD OP NUMBER with OP one of <= < >= > == != (e.g. max_context >= 32768), found 'max_context => "
       "5'"},
      {">= 5", "--constraint: expected FIELD OP NUMBER with OP one of <= < >= > == != (e.g. max_context >= 32768), found '>= 5'"},
      {"max context >= 5",
       "--constraint: expected FIELD OP NUMBER with OP one of <= < >= > == != (e.g. max_context >= 32768), found 'max context >= "
       "5'"},
      {"max_context >= 32k",
       "--constraint: 'max_context': expected a finite number after the operator (e.g. 32768, 1e4), found '32k' in 'max_context "
       ">= 32k'"},
      {"max_context >=",
       "--constraint: 'max_context': expected a finite number after the operator (e.g. 32768, 1e4), found '' in 'max_context "
       ">='"},
      {"max_context >= inf",
       "--constraint: 'max_context': expected a finite number after the operator (e.g. 32768, 1e4), found 'inf' in 'max_context "
       ">= inf'"},
      {"max_ctx >= 5",
       "--constraint: expected a known output field (closest: max_context, max_batch, val_ppl; `kvscope fields` lists all), "
       "found 'max_ctx'"},
  };
  for (const Row& r : rows) {
    INFO(r.text);
    CHECK_THROWS_MATCHES(parse_constraint(r.text, "--constraint", kKnown), InputError, Catch::Message(r.message));
  }
  const std::vector<std::string> list = {"feasible == 1", "max_ctx >= 5"};
  CHECK_THROWS_AS(parse_constraints(list, "scenario.json", kKnown), InputError);
}

TEST_CASE("objectives", "[constraints]") {
  const auto o = parse_objectives("kv_bytes_per_token:min, val_ppl:min,decode_tokens_per_s:maximize", "--objectives", kKnown);
  REQUIRE(o.size() == 3);
  CHECK(o[0].field == "kv_bytes_per_token");
  CHECK(o[0].sense == Sense::minimize);
  CHECK(o[1].field == "val_ppl");
  CHECK(o[2].sense == Sense::maximize);

  struct Row {
    const char* text;
    const char* message;
  };
  const std::vector<Row> rows = {
      {"",
       "--objectives: 'objective 1': expected FIELD:min or FIELD:max, comma separated (e.g. kv_bytes_per_token:min,val_ppl:min), "
       "found ''"},
      {"val_ppl",
       "--objectives: 'objective 1': expected FIELD:min or FIELD:max, comma separated (e.g. kv_bytes_per_token:min,val_ppl:min), "
       "found 'val_ppl'"},
      {"val_ppl:min,",
       "--objectives: 'objective 2': expected FIELD:min or FIELD:max, comma separated (e.g. kv_bytes_per_token:min,val_ppl:min), "
       "found ''"},
      {"val_ppl:lowest", "--objectives: 'objective 1': expected min or max after the ':', found 'val_ppl:lowest'"},
      {"val_ppl:min,vall_ppl:max",
       "--objectives: 'objective 2': expected a known output field (closest: val_ppl, ppl_delta, max_batch; `kvscope fields` "
       "lists all), found 'vall_ppl'"},
      {"val_ppl:min,val_ppl:max", "--objectives: 'objective 2': expected each field once, found 'val_ppl' again"},
  };
  for (const Row& r : rows) {
    INFO(r.text);
    CHECK_THROWS_MATCHES(parse_objectives(r.text, "--objectives", kKnown), InputError, Catch::Message(r.message));
  }
}
