#pragma once
// Bounds on the work a command starts: the point count (and the output it may write) is known
// before any evaluation, said on stderr when large, and refused past a limit unless the user
// raises it (--max-points). A 10^13-point sweep is an input error, not a run until the disk fills.
#include <cstdint>
#include <string>

#include "kvscope/explorer/explore.hpp"

namespace kvscope::cli {

// Default point limit of sweep / pareto (~1 min of work per thread at the measured rate).
inline constexpr std::uint64_t kDefaultMaxPoints = 1'000'000'000;
// explore keeps every point of its two sweeps in memory: a lower default.
inline constexpr std::uint64_t kDefaultMaxExplorePoints = 2'000'000;
// Default frontier limit of pareto (the frontier is kept, re-evaluated and formatted in memory).
inline constexpr std::uint64_t kDefaultMaxFrontier = 100'000;
// Sweeps at least this large say their size on stderr before starting (unless --quiet).
inline constexpr std::uint64_t kAnnouncePoints = 10'000'000;

// Counts the points of `spec` (InputError past 2^64), throws InputError when above
// `max_points` ("--max-points N raises the limit"), and says the count and the largest output
// (every point kept, `bytes_per_row` each) on stderr when it is large and not `quiet`.
std::uint64_t check_point_budget(const models::SweepSpec& spec, std::uint64_t max_points, const std::string& command,
                                 double bytes_per_row, bool quiet);

// --threads: 0 (all cores) or at most models::max_sweep_threads(); InputError otherwise.
void check_threads_flag(unsigned threads);

}  // namespace kvscope::cli
