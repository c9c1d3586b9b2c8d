// Sweep-engine threads on every exit path (issue #14, class 1): an exception from the sink or
// the progress callback on the calling thread, cancellation from another thread during the sweep
// and during set-up, thread-count limits. Each case must end with every worker joined (a joinable
// std::thread destroyed is std::terminate: the test binary would abort). Runs under the `tsan`
// preset (scripts/test.sh: ctest -R threads) to check the hand-off between workers and the
// delivering thread for data races.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "kvscope/core/error.hpp"
#include "kvscope/explorer/explore.hpp"

using namespace kvscope;
using namespace kvscope::models;

namespace {

Architecture model() {
  Architecture a;
  a.id = "threads-test";
  a.n_layers = 32, a.d_model = 4096, a.n_q_heads = 32, a.n_kv_heads = 8, a.head_dim = 128, a.ffn_dim = 14336;
  a.vocab = 128256;
  return a;
}

GpuSpec gpu() {
  GpuSpec g;
  g.id = g.name = "g";
  g.memory_B = 80e9, g.hbm_bandwidth_Bps = 3.35e12, g.bf16_flops = 989e12, g.l2_cache_B = 50 * 1048576.0;
  g.sm_count = 132, g.interconnect_Bps = 900e9;
  return g;
}

// 8 x 4 x 4000 = 128k points: many chunks in flight on every thread.
SweepSpec spec(std::int64_t batches = 4000) {
  SweepSpec s;
  s.models = {model()};
  s.gpus = {gpu()};
  s.overrides.n_kv_heads = {1, 2, 4, 8, 16, 32, 3, 5};  // 3 and 5 are skipped: reasons counted concurrently
  s.overrides.cla_factor = {1, 2, 3, 4};
  for (std::int64_t b = 1; b <= batches; ++b) s.workload.batch.push_back(b);
  return s;
}

}  // namespace

TEST_CASE("threads: an exception in the sink stops and joins every worker and reaches the caller", "[explore][threads]") {
  for (unsigned threads : {1u, 2u, 4u, 8u}) {
    for (int after_blocks : {0, 1, 5}) {
      INFO(threads << " threads, throw after " << after_blocks << " blocks");
      SweepOptions o;
      o.threads = threads;
      o.block_points = 512;
      int blocks = 0;
      o.sink = [&](std::span<const PointResult>, std::span<const std::uint64_t>) {
        if (blocks++ == after_blocks) throw IoError("cannot write to stdout: No space left on device");
      };
      CHECK_THROWS_WITH(explore(spec(), o), "cannot write to stdout: No space left on device");
    }
  }
}

TEST_CASE("threads: an exception in the progress callback and bad_alloc reach the caller", "[explore][threads]") {
  SweepOptions o;
  o.threads = 4;
  o.progress_interval_s = 0.001;
  o.progress = [](const SweepProgress&) { throw std::bad_alloc(); };
  CHECK_THROWS_AS(explore(spec(), o), std::bad_alloc);
}

TEST_CASE("threads: cancellation from another thread, during the sweep and during set-up", "[explore][threads]") {
  for (unsigned threads : {1u, 3u, 8u}) {
    INFO(threads << " threads");
    std::atomic<bool> cancel{false};
    SweepOptions o;
    o.threads = threads;
    o.cancel = &cancel;
    o.block_points = 256;
    std::uint64_t sunk = 0;
    o.sink = [&](std::span<const PointResult> p, std::span<const std::uint64_t>) {
      sunk += p.size();
      if (sunk > 2000) cancel.store(true);
    };
    const SweepResult r = explore(spec(20000), o);
    CHECK(r.partial);
    CHECK(r.completed < r.total);
    CHECK(r.kept + r.skipped + r.filtered_out == r.completed);
  }
  // Set before the start: nothing is evaluated, the result says partial with 0 completed.
  std::atomic<bool> cancel{true};
  SweepOptions o;
  o.threads = 4;
  o.cancel = &cancel;
  const SweepResult r = explore(spec(), o);
  CHECK(r.partial);
  CHECK(r.completed == 0);
  CHECK(r.evaluated == 0);
  CHECK(r.frontier.empty());
}

TEST_CASE("threads: thread counts above the cap are input errors, up to the cap they run", "[explore][threads]") {
  const unsigned cap = max_sweep_threads();
  CHECK(cap == 4 * std::max(1u, std::thread::hardware_concurrency()));
  SweepOptions o;
  o.threads = cap + 1;
  CHECK_THROWS_AS(explore(spec(10), o), InputError);
  CHECK_THROWS_WITH(check_sweep_threads(cap + 1, "--threads"), Catch::Contains("--threads: expected 0 (all cores) or 1.."));
  o.threads = cap;
  const SweepResult r = explore(spec(10), o);
  CHECK_FALSE(r.partial);
  CHECK(r.completed == r.total);
}

TEST_CASE("threads: a frontier past max_frontier is an InputError, not bad_alloc", "[explore][threads]") {
  SweepSpec s = spec(3000);
  s.overrides = {};
  s.objectives = "batch:max,tpot_s:min";  // a larger batch always takes longer: every point is on the front
  SweepOptions o;
  o.threads = 4;
  o.frontier_infeasible = true;  // most batches do not fit: let them onto the front
  o.max_frontier = 100;
  CHECK_THROWS_WITH(explore(s, o), Catch::Contains("expected a Pareto frontier of at most 100 points"));
  o.max_frontier = 0;
  CHECK(explore(s, o).frontier.size() > 100);
}

TEST_CASE("threads: goodput searches run on every thread, report progress, stop on exceptions and cancellation",
          "[explore][threads][goodput]") {
  // 6 valid K/V head counts x 4 CLA factors = 24 designs x 4 batches; short requests keep each
  // search to milliseconds (also under ThreadSanitizer).
  SweepSpec s = spec(4);
  s.workload.serving.isl = "512";
  s.workload.serving.osl = "32";
  s.workload.serving.requests = 30;
  s.workload.serving.ttft_slo_s = 0.2;
  s.workload.serving.tpot_slo_s = 0.02;
  std::vector<double> first;
  for (unsigned threads : {1u, 4u}) {
    INFO(threads << " threads");
    SweepOptions o;
    o.threads = threads;
    o.keep = KeepPoints::all;
    o.progress_interval_s = 0.0001;
    std::uint64_t last_done = 0, designs_total = 0;
    bool monotone = true;
    o.progress = [&](const SweepProgress& p) {
      if (p.designs_total == 0) return;
      monotone = monotone && p.designs_done >= last_done && p.designs_done <= p.designs_total;
      last_done = p.designs_done, designs_total = p.designs_total;
    };
    const SweepResult r = explore(s, o);
    CHECK(monotone);
    CHECK(designs_total == 24);
    std::vector<double> g;
    for (const PointResult& p : r.points) g.push_back(p.eval.goodput_rps);
    REQUIRE(g.size() == 24 * 4);
    for (double v : g) CHECK(v >= 0);
    if (first.empty())
      first = g;
    else
      CHECK(g == first);  // the same searches whatever the threads
  }
  // An exception from the progress callback during the searches reaches the caller.
  SweepOptions bad;
  bad.threads = 4;
  bad.progress_interval_s = 0.0001;
  bad.progress = [](const SweepProgress& p) {
    if (p.designs_total > 0) throw IoError("progress sink failed");
  };
  CHECK_THROWS_WITH(explore(s, bad), "progress sink failed");
  // Cancelled from another thread during the searches: no point completed.
  SweepSpec slow = s;
  slow.workload.serving.requests = 200000;
  for (unsigned threads : {1u, 3u}) {
    std::atomic<bool> cancel{false};
    SweepOptions o;
    o.threads = threads;
    o.cancel = &cancel;
    std::thread stopper([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      cancel.store(true);
    });
    const SweepResult r = explore(slow, o);
    stopper.join();
    CHECK(r.partial);
    CHECK(r.completed == 0);
  }
}
