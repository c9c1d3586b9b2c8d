#pragma once
// Pareto frontier of points with m objectives, each minimized or maximized.
//
// Dominance: a dominates b iff a is no worse than b in every objective and strictly better in at
// least one. Consequences the callers rely on:
//  - exact duplicates do not dominate each other: every copy of a non-dominated point is on the
//    front (so the front of a sweep does not depend on which copy came first);
//  - a point with a NaN objective is never on the front (and dominates nothing);
//  - +-infinity are ordinary values; -0.0 and +0.0 are equal.
// Results are indices (or ids) in ascending order, so they do not depend on the algorithm, the
// insertion order or the number of threads that produced them.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace kvscope {

enum class Sense { minimize, maximize };

// `values` is row-major n x m with m = senses.size(). Returns the indices of the non-dominated
// rows, ascending. m = 0 or n = 0: empty. m = 1: all rows holding the best value.
// m = 2: O(n log n) (sort + sweep). m >= 3: sort-filter (lexicographic sort, then each point is
// compared with the front found so far; O(n log n + n f), f = front size).
std::vector<std::size_t> pareto_front(std::span<const double> values, std::span<const Sense> senses);

// Streaming frontier: points arrive one at a time or in blocks, each with a caller-chosen id
// (e.g. the point's index in a sweep); only the current frontier is kept (memory O(front)). The
// final ids() equal, as a set and in order, the ids pareto_front() selects over all points
// inserted. Ids should be unique; the accumulator does not check.
class ParetoAccumulator {
 public:
  explicit ParetoAccumulator(std::vector<Sense> senses);

  std::size_t objectives() const { return senses_.size(); }
  std::span<const Sense> senses() const { return senses_; }

  // Insert one point (point.size() == objectives()). Returns true when it is on the current front.
  bool insert(std::uint64_t id, std::span<const double> point);
  // Insert n points: ids[i] with values row i of the row-major n x m block. The new front is
  // pareto_front() of (current front + block), so a block costs O((f + n) log(f + n)) for two
  // objectives instead of O(f) per point; prefer it to insert() for bulk data.
  void insert_block(std::span<const std::uint64_t> ids, std::span<const double> values);
  // Insert every point of another accumulator's front (merging per-thread accumulators).
  void merge(const ParetoAccumulator& other);

  std::size_t size() const { return ids_.size(); }
  bool empty() const { return ids_.empty(); }
  // Ids on the front, ascending.
  std::vector<std::uint64_t> ids() const;
  // The front as (id, values) sorted by id: ids() and the matching rows (row-major, in the
  // caller's units and signs).
  void sorted(std::vector<std::uint64_t>& ids, std::vector<double>& values) const;
  void clear();

 private:
  std::vector<Sense> senses_;
  // Current front, unordered: ids and values in minimization form (maximized objectives negated).
  std::vector<std::uint64_t> ids_;
  std::vector<double> keys_;
  std::vector<double> scratch_;
};

}  // namespace kvscope
