// kvbench_host: statistics, stop rule, throttle filter, axis products.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "kvbench/host.hpp"

using namespace kvbench;

TEST_CASE("quantile: linear interpolation between order statistics (R type 7)", "[harness][stats]") {
  struct Row {
    std::vector<double> v;
    double q, expect;
  };
  const std::vector<Row> rows = {
      {{1}, 0.5, 1},
      {{1, 2}, 0.5, 1.5},
      {{3, 1, 2}, 0.5, 2},
      {{1, 2, 3, 4}, 0.25, 1.75},
      {{1, 2, 3, 4}, 0.75, 3.25},
      {{4, 3, 2, 1}, 0.0, 1},
      {{4, 3, 2, 1}, 1.0, 4},
      {{10, 20, 30, 40, 50}, 0.1, 14},
  };
  for (const auto& r : rows) {
    CAPTURE(r.v, r.q);
    CHECK(quantile(r.v, r.q) == Approx(r.expect));
  }
}

TEST_CASE("quantile and summarize refuse invalid input", "[harness][stats]") {
  CHECK_THROWS_AS(quantile({}, 0.5), std::invalid_argument);
  CHECK_THROWS_AS(quantile({1, 2}, -0.1), std::invalid_argument);
  CHECK_THROWS_AS(quantile({1, 2}, 1.5), std::invalid_argument);
  CHECK_THROWS_AS(quantile({1, std::nan("")}, 0.5), std::invalid_argument);
  CHECK_THROWS_AS(summarize({}), std::invalid_argument);
  CHECK_THROWS_AS(summarize({1, std::numeric_limits<double>::infinity()}), std::invalid_argument);
}

TEST_CASE("summarize: hand-computed values", "[harness][stats]") {
  const Summary s = summarize({2, 4, 4, 4, 5, 5, 7, 9});
  CHECK(s.count == 8);
  CHECK(s.mean == Approx(5));
  CHECK(s.median == Approx(4.5));
  CHECK(s.min == 2);
  CHECK(s.max == 9);
  CHECK(s.stdev == Approx(std::sqrt(32.0 / 7.0)));  // unbiased
  CHECK(s.rel_stdev == Approx(std::sqrt(32.0 / 7.0) / 5));
  CHECK(s.q1 == Approx(4));
  CHECK(s.q3 == Approx(5.5));
  const Summary one = summarize({3});
  CHECK(one.stdev == 0);
  CHECK(one.median == 3);
}

TEST_CASE("stop rule: min samples, convergence, time and sample caps", "[harness][stats]") {
  StopRule r;  // 10..200 samples, 0.5 %, 0.02 s .. 0.5 s
  const std::vector<double> steady(10, 1e-3), noisy = {1e-3, 2e-3, 1e-3, 2e-3, 1e-3, 2e-3, 1e-3, 2e-3, 1e-3, 2e-3};
  struct Row {
    std::vector<double> s;
    double acc;
    StopReason expect;
  };
  const std::vector<Row> rows = {
      {std::vector<double>(9, 1e-3), 1.0, StopReason::none},  // too few samples, even past the time cap
      {steady, 0.01, StopReason::none},                       // converged but under min_time
      {steady, 0.03, StopReason::converged},
      {noisy, 0.03, StopReason::none},
      {noisy, 0.6, StopReason::time_cap},
      {std::vector<double>(200, 1e-3), 0.2, StopReason::sample_cap},
  };
  for (const auto& row : rows) {
    CAPTURE(row.s.size(), row.acc);
    CHECK(should_stop(r, row.s, row.acc) == row.expect);
  }
  CHECK(std::string(to_string(StopReason::converged)) == "converged");
}

TEST_CASE("stop rule validation", "[harness][stats]") {
  StopRule r;
  r.min_samples = 1;
  CHECK_THROWS_AS(r.validate(), std::invalid_argument);
  r = StopRule{};
  r.max_samples = 5;
  CHECK_THROWS_AS(should_stop(r, {1, 2}, 1), std::invalid_argument);
  r = StopRule{};
  r.max_rel_stdev = 0;
  CHECK_THROWS_AS(r.validate(), std::invalid_argument);
  r = StopRule{};
  r.min_time_s = 2, r.max_time_s = 1;
  CHECK_THROWS_AS(r.validate(), std::invalid_argument);
}

TEST_CASE("throttle filter drops samples under 75 % of the max clock", "[harness][stats]") {
  ThrottleFilter f(1980000);
  struct Row {
    double clk;
    bool ok;
  };
  for (const auto& r : std::vector<Row>{
           {1980000, true}, {1485000, true}, {1484999, false}, {345000, false}, {std::nan(""), true}, {0, true}, {-5, true}}) {
    CAPTURE(r.clk);
    CHECK(f.accept(r.clk) == r.ok);
  }
  CHECK_THROWS_AS(ThrottleFilter(0), std::invalid_argument);
  CHECK_THROWS_AS(ThrottleFilter(1e6, 0), std::invalid_argument);
  CHECK_THROWS_AS(ThrottleFilter(1e6, 1.5), std::invalid_argument);
}

TEST_CASE("cartesian product: order, size, lookups", "[harness][axes]") {
  const std::vector<Axis> axes = {
      {"batch", {std::int64_t{1}, std::int64_t{8}}}, {"dtype", {std::string("bf16"), std::string("fp8")}}, {"scale", {0.5}}};
  const auto pts = cartesian(axes);
  REQUIRE(pts.size() == 4);
  CHECK(as_int(at(pts[0], "batch")) == 1);
  CHECK(as_str(at(pts[0], "dtype")) == "bf16");
  CHECK(as_str(at(pts[1], "dtype")) == "fp8");  // last axis fastest
  CHECK(as_int(at(pts[2], "batch")) == 8);
  CHECK(as_double(at(pts[3], "scale")) == 0.5);
  CHECK(as_double(at(pts[3], "batch")) == 8.0);
  CHECK_THROWS_AS(at(pts[0], "nope"), std::out_of_range);
  CHECK_THROWS_AS(as_str(at(pts[0], "batch")), std::bad_variant_access);
}

TEST_CASE("cartesian product refuses bad axes", "[harness][axes]") {
  CHECK_THROWS_AS(cartesian({}), std::invalid_argument);
  CHECK_THROWS_AS(cartesian({{"a", {}}}), std::invalid_argument);
  CHECK_THROWS_AS(cartesian({{"a", {std::int64_t{1}}}, {"a", {std::int64_t{2}}}}), std::invalid_argument);
  CHECK_THROWS_AS(cartesian({{"", {std::int64_t{1}}}}), std::invalid_argument);
}

TEST_CASE("plan: skip reasons recorded, empty reason refused", "[harness][axes]") {
  const std::vector<Axis> axes = {{"batch", {std::int64_t{1}, std::int64_t{64}, std::int64_t{512}}}};
  const Plan p = plan(axes, [](const Point& pt) -> std::optional<std::string> {
    if (as_int(at(pt, "batch")) > 100) return std::string("does not fit");
    return std::nullopt;
  });
  CHECK(p.run.size() == 2);
  REQUIRE(p.skipped.size() == 1);
  CHECK(p.skipped[0].second == "does not fit");
  CHECK_THROWS_AS(plan(axes, [](const Point&) -> std::optional<std::string> { return std::string(); }), std::invalid_argument);
}
