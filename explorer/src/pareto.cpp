#include "kvscope/explorer/pareto.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "kvscope/core/error.hpp"

namespace kvscope {

namespace {

// Every objective is turned into "smaller is better" by negating maximized ones; the algorithms
// then only ever minimize.
inline double key_of(double v, Sense s) {
  return s == Sense::maximize ? -v : v;
}

inline bool dominates(const double* a, const double* b, std::size_t m) {
  bool strictly = false;
  for (std::size_t j = 0; j < m; ++j) {
    if (a[j] > b[j]) return false;
    strictly |= a[j] < b[j];
  }
  return strictly;
}

inline bool lex_less(const double* a, const double* b, std::size_t m) {
  for (std::size_t j = 0; j < m; ++j) {
    if (a[j] < b[j]) return true;
    if (a[j] > b[j]) return false;
  }
  return false;
}

std::size_t row_count(std::span<const double> values, std::size_t m) {
  if (m == 0) return 0;
  if (values.size() % m != 0) {
    throw InputError("pareto_front", "values", fmt::format("a row-major n x {} array (size a multiple of {})", m, m),
                     fmt::format("{} values", values.size()));
  }
  return values.size() / m;
}

}  // namespace

std::vector<std::size_t> pareto_front(std::span<const double> values, std::span<const Sense> senses) {
  const std::size_t m = senses.size();
  const std::size_t n = row_count(values, m);
  std::vector<std::size_t> front;
  if (n == 0) return front;

  // Normalized keys of the rows without NaN; rows with a NaN can neither be on the front nor
  // dominate anything (every comparison with NaN is false), so they are dropped here.
  std::vector<double> keys(n * m);
  std::vector<std::size_t> idx;
  idx.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    bool nan = false;
    for (std::size_t j = 0; j < m; ++j) {
      const double v = values[i * m + j];
      nan |= std::isnan(v);
      keys[i * m + j] = key_of(v, senses[j]);
    }
    if (!nan) idx.push_back(i);
  }
  if (idx.empty()) return front;
  const double* k = keys.data();

  if (m == 1) {
    double best = std::numeric_limits<double>::infinity();
    for (std::size_t i : idx) best = std::min(best, k[i]);
    for (std::size_t i : idx) {
      if (k[i] == best) front.push_back(i);
    }
    return front;
  }

  if (m == 2) {
    std::sort(idx.begin(), idx.end(), [k](std::size_t a, std::size_t b) {
      if (k[2 * a] != k[2 * b]) return k[2 * a] < k[2 * b];
      return k[2 * a + 1] < k[2 * b + 1];
    });
    // Sweep groups of equal first key. Within a group only the copies of the smallest second key
    // can survive (a larger second key is dominated by the group's minimum); they survive iff no
    // point with a strictly smaller first key has a second key <= theirs.
    bool have_prev = false;
    double prev_min = 0;
    for (std::size_t g = 0; g < idx.size();) {
      std::size_t e = g;
      const double x = k[2 * idx[g]];
      while (e < idx.size() && k[2 * idx[e]] == x) ++e;
      const double group_min = k[2 * idx[g] + 1];
      if (!have_prev || group_min < prev_min) {
        for (std::size_t i = g; i < e && k[2 * idx[i] + 1] == group_min; ++i) front.push_back(idx[i]);
        prev_min = group_min;
        have_prev = true;
      }
      g = e;
    }
    std::sort(front.begin(), front.end());
    return front;
  }

  // m >= 3, sort-filter: after a lexicographic sort every dominator of a point comes before it
  // (a dominates b implies a <lex b, and duplicates are lexicographically equal but do not
  // dominate). Dominance is transitive, so comparing each point with the front found so far
  // suffices: if an earlier point dominates it, some front member does.
  std::sort(idx.begin(), idx.end(), [k, m](std::size_t a, std::size_t b) { return lex_less(k + a * m, k + b * m, m); });
  std::vector<double> window;  // keys of the front so far, contiguous for the scan
  for (std::size_t i : idx) {
    const double* p = k + i * m;
    bool dominated = false;
    for (std::size_t w = 0; w < window.size(); w += m) {
      if (dominates(window.data() + w, p, m)) {
        dominated = true;
        break;
      }
    }
    if (!dominated) {
      window.insert(window.end(), p, p + m);
      front.push_back(i);
    }
  }
  std::sort(front.begin(), front.end());
  return front;
}

ParetoAccumulator::ParetoAccumulator(std::vector<Sense> senses) : senses_(std::move(senses)) {
  scratch_.resize(senses_.size());
}

namespace {
// Insert a normalized key into the front held in (ids, keys). Shared by insert() and merge().
bool insert_key(std::vector<std::uint64_t>& ids, std::vector<double>& keys, std::uint64_t id, const double* p, std::size_t m) {
  for (std::size_t j = 0; j < m; ++j) {
    if (std::isnan(p[j])) return false;
  }
  const std::size_t n = ids.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (dominates(keys.data() + i * m, p, m)) return false;
  }
  // p is not dominated; drop the members it dominates (swap with the last, order is irrelevant).
  std::size_t i = 0, live = n;
  while (i < live) {
    if (dominates(p, keys.data() + i * m, m)) {
      --live;
      ids[i] = ids[live];
      std::copy_n(keys.data() + live * m, m, keys.data() + i * m);
    } else {
      ++i;
    }
  }
  ids.resize(live);
  keys.resize(live * m);
  ids.push_back(id);
  keys.insert(keys.end(), p, p + m);
  return true;
}
}  // namespace

bool ParetoAccumulator::insert(std::uint64_t id, std::span<const double> point) {
  const std::size_t m = senses_.size();
  if (point.size() != m) {
    throw InputError("ParetoAccumulator::insert", "point", fmt::format("{} objective values", m),
                     fmt::format("{}", point.size()));
  }
  for (std::size_t j = 0; j < m; ++j) scratch_[j] = key_of(point[j], senses_[j]);
  return insert_key(ids_, keys_, id, scratch_.data(), m);
}

void ParetoAccumulator::insert_block(std::span<const std::uint64_t> ids, std::span<const double> values) {
  const std::size_t m = senses_.size();
  const std::size_t n = row_count(values, m);
  if (m == 0) return;
  if (n != ids.size()) {
    throw InputError("ParetoAccumulator::insert_block", "ids", fmt::format("one id per row ({} rows)", n),
                     fmt::format("{} ids", ids.size()));
  }
  // Front of (current front + block) in one pass: O((f + n) log(f + n)) for 2 objectives, where
  // inserting the block's survivors one by one would cost O(f) each. Dominance over the union is
  // the same relation, so the result is the one insert() would reach.
  std::vector<double> all(keys_);
  all.reserve(keys_.size() + values.size());
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < m; ++j) all.push_back(key_of(values[i * m + j], senses_[j]));
  }
  const std::vector<Sense> minimize(m, Sense::minimize);
  const std::vector<std::size_t> keep = pareto_front(all, minimize);
  const std::size_t f = ids_.size();
  std::vector<std::uint64_t> new_ids;
  new_ids.reserve(keep.size());
  keys_.clear();
  for (std::size_t k : keep) {
    new_ids.push_back(k < f ? ids_[k] : ids[k - f]);
    keys_.insert(keys_.end(), all.begin() + static_cast<std::ptrdiff_t>(k * m),
                 all.begin() + static_cast<std::ptrdiff_t>((k + 1) * m));
  }
  ids_ = std::move(new_ids);
}

void ParetoAccumulator::merge(const ParetoAccumulator& other) {
  const std::size_t m = senses_.size();
  if (other.senses_ != senses_) {
    throw InputError("ParetoAccumulator::merge", "senses", "accumulators over the same objectives", "different ones");
  }
  for (std::size_t i = 0; i < other.ids_.size(); ++i) insert_key(ids_, keys_, other.ids_[i], other.keys_.data() + i * m, m);
}

std::vector<std::uint64_t> ParetoAccumulator::ids() const {
  std::vector<std::uint64_t> out = ids_;
  std::sort(out.begin(), out.end());
  return out;
}

void ParetoAccumulator::sorted(std::vector<std::uint64_t>& ids, std::vector<double>& values) const {
  const std::size_t m = senses_.size();
  std::vector<std::size_t> order(ids_.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [this](std::size_t a, std::size_t b) { return ids_[a] < ids_[b]; });
  ids.clear();
  values.clear();
  ids.reserve(order.size());
  values.reserve(order.size() * m);
  for (std::size_t o : order) {
    ids.push_back(ids_[o]);
    for (std::size_t j = 0; j < m; ++j) values.push_back(key_of(keys_[o * m + j], senses_[j]));
  }
}

void ParetoAccumulator::clear() {
  ids_.clear();
  keys_.clear();
}

}  // namespace kvscope
