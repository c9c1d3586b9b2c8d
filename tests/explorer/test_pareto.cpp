// Pareto front: hand-made cases (ties, duplicates, NaN, mixed senses), then the batch algorithm
// and the streaming accumulator against an O(n^2) brute force on random sets (fixed seeds).
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "kvscope/core/error.hpp"
#include "kvscope/explorer/pareto.hpp"

using namespace kvscope;
using Idx = std::vector<std::size_t>;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// The definition, literally: i is on the front iff no row j dominates it.
Idx brute_force(const std::vector<double>& v, const std::vector<Sense>& s) {
  const std::size_t m = s.size();
  const std::size_t n = m ? v.size() / m : 0;
  auto better = [&](std::size_t a, std::size_t b, std::size_t j) {
    return s[j] == Sense::minimize ? v[a * m + j] < v[b * m + j] : v[a * m + j] > v[b * m + j];
  };
  auto worse = [&](std::size_t a, std::size_t b, std::size_t j) { return better(b, a, j); };
  auto has_nan = [&](std::size_t a) {
    for (std::size_t j = 0; j < m; ++j)
      if (std::isnan(v[a * m + j])) return true;
    return false;
  };
  Idx out;
  for (std::size_t i = 0; i < n; ++i) {
    if (has_nan(i)) continue;
    bool dominated = false;
    for (std::size_t k = 0; k < n && !dominated; ++k) {
      if (k == i || has_nan(k)) continue;
      bool no_worse = true, strictly = false;
      for (std::size_t j = 0; j < m; ++j) {
        if (worse(k, i, j)) no_worse = false;
        if (better(k, i, j)) strictly = true;
      }
      dominated = no_worse && strictly;
    }
    if (!dominated) out.push_back(i);
  }
  return out;
}

std::vector<std::uint64_t> as_ids(const Idx& i) {
  return {i.begin(), i.end()};
}

}  // namespace

TEST_CASE("pareto front: hand-made cases", "[pareto]") {
  const Sense mn = Sense::minimize, mx = Sense::maximize;
  struct Row {
    const char* name;
    std::vector<double> values;
    std::vector<Sense> senses;
    Idx expected;
  };
  const std::vector<Row> rows = {
      {"empty", {}, {mn, mn}, {}},
      {"no objectives", {}, {}, {}},
      {"one point", {1, 2}, {mn, mn}, {0}},
      {"staircase", {1, 5, 2, 4, 3, 3, 2, 6, 4, 4}, {mn, mn}, {0, 1, 2}},
      {"tie in the first objective: only the best second survives", {1, 5, 1, 4, 2, 3}, {mn, mn}, {1, 2}},
      {"tie in the second objective", {1, 3, 2, 3, 0, 4}, {mn, mn}, {0, 2}},
      {"duplicates all stay", {1, 1, 1, 1, 0, 2, 1, 1}, {mn, mn}, {0, 1, 2, 3}},
      {"dominated duplicates all go", {2, 2, 2, 2, 1, 1}, {mn, mn}, {2}},
      {"NaN rows are never on the front", {kNaN, 0, 1, 1, 0, kNaN}, {mn, mn}, {1}},
      {"all NaN", {kNaN, kNaN}, {mn, mn}, {}},
      {"infinities are values", {kInf, 0, 0, kInf, 1, 1}, {mn, mn}, {0, 1, 2}},
      {"-0 equals +0", {0.0, 1, -0.0, 1}, {mn, mn}, {0, 1}},
      {"maximize both", {1, 5, 2, 4, 3, 3, 0, 0}, {mx, mx}, {0, 1, 2}},
      {"mixed: small memory, high throughput", {10, 100, 20, 300, 20, 200, 5, 50, 30, 300}, {mn, mx}, {0, 1, 3}},
      {"one objective: every copy of the best", {3, 1, 2, 1}, {mn}, {1, 3}},
      {"one objective max", {3, 1, 3, kNaN}, {mx}, {0, 2}},
      {"three objectives", {1, 1, 1, 0, 2, 2, 2, 0, 2, 1, 1, 1, 2, 2, 2}, {mn, mn, mn}, {0, 1, 2, 3}},
      {"three objectives, one dominated by a tie", {1, 1, 1, 1, 1, 2, 1, 2, 1}, {mn, mn, mn}, {0}},
      {"three objectives with duplicates", {1, 2, 3, 1, 2, 3, 3, 2, 1, 3, 2, 2}, {mn, mn, mn}, {0, 1, 2}},
  };
  for (const Row& r : rows) {
    INFO(r.name);
    CHECK(pareto_front(r.values, r.senses) == r.expected);
    CHECK(brute_force(r.values, r.senses) == r.expected);  // the reference agrees with the hand answer
    ParetoAccumulator acc(r.senses);
    const std::size_t m = r.senses.size();
    for (std::size_t i = 0; m && i < r.values.size() / m; ++i) acc.insert(i, std::span(r.values).subspan(i * m, m));
    CHECK(acc.ids() == as_ids(r.expected));
  }
}

TEST_CASE("pareto front: invalid shapes are errors", "[pareto]") {
  const std::vector<double> v = {1, 2, 3};
  const std::vector<Sense> s = {Sense::minimize, Sense::minimize};
  CHECK_THROWS_MATCHES(
      pareto_front(v, s), InputError,
      Catch::Message("pareto_front: 'values': expected a row-major n x 2 array (size a multiple of 2), found 3 values"));
  ParetoAccumulator acc(s);
  CHECK_THROWS_MATCHES(acc.insert(0, v), InputError,
                       Catch::Message("ParetoAccumulator::insert: 'point': expected 2 objective values, found 3"));
  const std::vector<std::uint64_t> ids = {0};
  const std::vector<double> two_rows = {1, 2, 3, 4};
  CHECK_THROWS_MATCHES(acc.insert_block(ids, two_rows), InputError,
                       Catch::Message("ParetoAccumulator::insert_block: 'ids': expected one id per row (2 rows), found 1 ids"));
  ParetoAccumulator other({Sense::minimize, Sense::maximize});
  CHECK_THROWS_AS(acc.merge(other), InputError);
}

TEST_CASE("pareto front equals brute force on random sets", "[pareto]") {
  // Values drawn from a small integer grid force many ties and exact duplicates; a continuous
  // draw gives the generic case. A few NaNs are sprinkled in.
  const std::vector<std::size_t> sizes = {0, 1, 2, 3, 10, 57, 200, 1000, 2000};
  std::uint64_t seed = 12345;
  for (std::size_t m : {2u, 3u, 4u}) {
    for (std::size_t n : sizes) {
      for (int grid : {0, 4, 20}) {
        for (int mixed = 0; mixed < 2; ++mixed) {
          std::mt19937_64 rng(seed++);
          std::vector<Sense> senses(m, Sense::minimize);
          if (mixed)
            for (std::size_t j = 1; j < m; j += 2) senses[j] = Sense::maximize;
          std::vector<double> v(n * m);
          std::uniform_real_distribution<double> u(0, 1);
          std::uniform_int_distribution<int> g(0, std::max(grid, 1) - 1);
          for (double& x : v) x = grid ? g(rng) : u(rng);
          if (n > 20) v[7 * m + 1] = kNaN;
          // Anti-correlated objectives (a large front) for the continuous case.
          if (!grid && n > 0 && m == 2)
            for (std::size_t i = 0; i < n; ++i) v[i * 2 + 1] = (mixed ? 1.0 : -1.0) * v[i * 2] + 0.05 * u(rng);
          INFO("m=" << m << " n=" << n << " grid=" << grid << " mixed=" << mixed);
          const Idx expected = brute_force(v, senses);
          REQUIRE(pareto_front(v, senses) == expected);

          // Streaming, one point at a time, in a shuffled order.
          std::vector<std::size_t> order(n);
          for (std::size_t i = 0; i < n; ++i) order[i] = i;
          std::shuffle(order.begin(), order.end(), rng);
          ParetoAccumulator one(senses);
          for (std::size_t i : order) one.insert(i, std::span(v).subspan(i * m, m));
          REQUIRE(one.ids() == as_ids(expected));

          // Streaming in blocks of 64, split over two accumulators merged at the end (threads).
          ParetoAccumulator a(senses), b(senses);
          for (std::size_t start = 0; start < n; start += 64) {
            const std::size_t len = std::min<std::size_t>(64, n - start);
            std::vector<std::uint64_t> ids(len);
            for (std::size_t i = 0; i < len; ++i) ids[i] = start + i;
            ((start / 64) % 2 ? a : b).insert_block(ids, std::span(v).subspan(start * m, len * m));
          }
          a.merge(b);
          REQUIRE(a.ids() == as_ids(expected));
          std::vector<std::uint64_t> ids;
          std::vector<double> vals;
          a.sorted(ids, vals);
          REQUIRE(ids == as_ids(expected));
          for (std::size_t k = 0; k < ids.size(); ++k) {
            for (std::size_t j = 0; j < m; ++j) REQUIRE(vals[k * m + j] == v[ids[k] * m + j]);  // caller's signs
          }
        }
      }
    }
  }
}
