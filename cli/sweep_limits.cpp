#include "sweep_limits.hpp"

#include <fmt/format.h>

#include <cstdio>

#include "kvscope/core/error.hpp"
#include "output.hpp"

namespace kvscope::cli {

std::uint64_t check_point_budget(const models::SweepSpec& spec, std::uint64_t max_points, const std::string& command,
                                 double bytes_per_row, bool quiet) {
  const std::uint64_t n = models::point_count(spec);
  if (n > max_points) {
    throw InputError(command, "", fmt::format("at most {} points (raise the limit with --max-points N)", max_points),
                     fmt::format("a design space of {} points", n));
  }
  if (!quiet && n >= kAnnouncePoints) {
    std::fprintf(stderr, "kvscope: %s: %llu points, output up to %s if every point is kept\n", command.c_str(),
                 static_cast<unsigned long long>(n), human_bytes_short(static_cast<double>(n) * bytes_per_row).c_str());
  }
  return n;
}

void check_threads_flag(unsigned threads) {
  models::check_sweep_threads(threads, "--threads");
}

}  // namespace kvscope::cli
