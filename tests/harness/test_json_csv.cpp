// kvbench_host: JSON writer (escaping, NaN -> null, order), CSV view.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <sstream>

#include "kvbench/host.hpp"

using namespace kvbench;

TEST_CASE("JSON escaping", "[harness][json]") {
  struct Row {
    std::string in, out;
  };
  for (const auto& r : std::vector<Row>{{"plain", "\"plain\""},
                                        {"a\"b", "\"a\\\"b\""},
                                        {"back\\slash", "\"back\\\\slash\""},
                                        {"line\nbreak\t", "\"line\\nbreak\\t\""},
                                        {std::string("\x01", 1), "\"\\u0001\""},
                                        {"H100 \xc2\xb5s", "\"H100 \xc2\xb5s\""}}) {
    CAPTURE(r.in);
    CHECK(json_escape(r.in) == r.out);
  }
}

TEST_CASE("JSON numbers: shortest round trip, NaN and inf become null", "[harness][json]") {
  CHECK(format_double(0.1) == "0.1");
  CHECK(format_double(3e12) == "3e+12");
  CHECK(std::stod(format_double(1.0 / 3)) == 1.0 / 3);
  CHECK(format_double(std::nan("")) == "null");
  CHECK(format_double(std::numeric_limits<double>::infinity()) == "null");
  Json j = Json::object();
  j.set("x", std::nan(""));
  j.set("n", 42);
  j.set("big", 85017493504LL);
  j.set("b", false);
  j.set("nul", Json());
  CHECK(j.dump() == "{\"x\":null,\"n\":42,\"big\":85017493504,\"b\":false,\"nul\":null}");
}

TEST_CASE("JSON objects keep order, set replaces, arrays nest", "[harness][json]") {
  Json j = Json::object();
  j.set("schema", kSchema);
  j.set("a", 1);
  j.set("a", 2);
  Json arr = Json::array();
  arr.push(1.5);
  arr.push("s");
  Json inner = Json::object();
  inner.set("k", Json::numbers({1, 2}));
  arr.push(std::move(inner));
  j.set("arr", std::move(arr));
  CHECK(j.dump() == "{\"schema\":\"kvbench-result/1\",\"a\":2,\"arr\":[1.5,\"s\",{\"k\":[1,2]}]}");
  REQUIRE(j.find("a") != nullptr);
  CHECK(j.find("missing") == nullptr);
  CHECK_THROWS_AS(Json(1).set("x", 1), std::logic_error);
  CHECK_THROWS_AS(Json::object().push(1), std::logic_error);
  const std::string pretty = j.dump(1);
  CHECK(pretty.find("\n \"a\": 2") != std::string::npos);
  CHECK(Json::from(AxisValue{std::int64_t{7}}).dump() == "7");
  CHECK(Json::from(AxisValue{std::string("fp8")}).dump() == "\"fp8\"");
}

TEST_CASE("CSV: escaping and flattened axes", "[harness][csv]") {
  CHECK(csv_escape("abc") == "abc");
  CHECK(csv_escape("a,b") == "\"a,b\"");
  CHECK(csv_escape("say \"hi\"") == "\"say \"\"hi\"\"\"");
  Json r = Json::object();
  r.set("family", "memory");
  r.set("name", "memory_read");
  r.set("median_s", 0.5);
  r.set("verified", true);
  r.set("max_rel_error", std::nan(""));
  Json axes = Json::object();
  axes.set("kernel", "read");
  axes.set("footprint_B", 1048576);
  r.set("axes", std::move(axes));
  std::ostringstream os;
  write_csv(os, {r});
  const std::string s = os.str();
  const auto nl = s.find('\n');
  REQUIRE(nl != std::string::npos);
  CHECK(s.substr(0, 15) == "family,name,l2_");
  const std::string row = s.substr(nl + 1);
  CHECK(row.rfind("memory,memory_read,", 0) == 0);
  CHECK(row.find(",0.5,") != std::string::npos);
  CHECK(row.find(",true,") != std::string::npos);
  CHECK(row.find("kernel=read;footprint_B=1048576") != std::string::npos);
  std::ostringstream bad;
  CHECK_THROWS_AS(write_csv(bad, {Json(1)}), std::invalid_argument);
}

TEST_CASE("join_args quotes what a shell would split", "[harness][misc]") {
  char a0[] = "kvbench", a1[] = "--notes", a2[] = "two words", a3[] = "it's";
  char* argv[] = {a0, a1, a2, a3};
  CHECK(join_args(4, argv) == "kvbench --notes 'two words' 'it'\\''s'");
  const std::string d = utc_now_iso8601();
  CHECK(d.size() == 20);
  CHECK(d.back() == 'Z');
}
