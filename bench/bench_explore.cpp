// Explorer throughput: configurations evaluated per second (full evaluation: memory, decode,
// prefill, serving view, accuracy lookup, one constraint, two objectives, streaming frontier)
// for 10^6 and 10^7 points on one thread and on all cores, the plain models::evaluate() loop for
// comparison, and the Pareto front on its own. Prints a Markdown table (bench/run.sh saves it).
//
//   bench_explore [--quick]     --quick: 10^5 and 10^6 points (for profiling runs)
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "kvscope/core/axes.hpp"
#include "kvscope/explorer/explore.hpp"
#include "kvscope/explorer/pareto.hpp"
#include "kvscope/models/evaluate.hpp"

using namespace kvscope;
using namespace kvscope::models;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Llama-3-8B shape and H100/H200-like datasheet figures, written out so the bench needs no data
// files (datasheet-default timing parameters).
Architecture llama8b() {
  Architecture a;
  a.id = "llama-3-8b-shape";
  a.n_layers = 32, a.d_model = 4096, a.n_q_heads = 32, a.n_kv_heads = 8, a.head_dim = 128, a.ffn_dim = 14336;
  a.vocab = 128256;
  return a;
}

GpuSpec gpu(const char* id, double memory_B, double bw_Bps, double flops) {
  GpuSpec g;
  g.id = id;
  g.name = id;
  g.memory_B = memory_B;
  g.hbm_bandwidth_Bps = bw_Bps;
  g.bf16_flops = flops;
  g.fp8_flops = 2 * flops;
  g.l2_cache_B = 50 * 1048576.0;
  g.sm_count = 132;
  g.interconnect_Bps = 900e9;
  return g;
}

// 24 architectures (kv_heads 1..32 x CLA 1..4) x 2 GPUs x 128 contexts x `batches` batch values,
// TPOT limit 50 ms (so the serving view's binary search runs), tp 1.
SweepSpec spec_with(std::int64_t batches) {
  SweepSpec s;
  s.models = {llama8b()};
  s.overrides.n_kv_heads = {1, 2, 4, 8, 16, 32};
  s.overrides.cla_factor = {1, 2, 3, 4};
  s.gpus = {gpu("h100-like", 80e9, 3.35e12, 989e12), gpu("h200-like", 141e9, 4.8e12, 989e12)};
  s.workload.context = parse_int_axis("1024..131072:+1024", "--context", 1, 100000000);
  s.workload.batch = parse_int_axis(fmt::format("1..{}", batches), "--batch", 1, 1000000);
  s.workload.tpot_limit_s = {0.05};
  s.constraints = {"feasible == 1"};
  s.objectives = "kv_cache_bytes:min,decode_tokens_per_s:max";
  return s;
}

struct Row {
  std::string what;
  std::uint64_t points;
  unsigned threads;
  double seconds;
  std::string note;
};

Row run_sweep(std::int64_t batches, unsigned threads, const std::string& stack = "") {
  SweepSpec spec = spec_with(batches);
  if (!stack.empty()) spec.workload.stack = {stack};
  SweepOptions opt;
  opt.threads = threads;
  const SweepResult r = explore(spec, opt);
  return {stack.empty() ? std::string("explore (full eval + frontier)") : "explore, stack " + stack, r.total, threads,
          r.elapsed_s, fmt::format("{} kept, {} on the frontier", r.kept, r.frontier.size())};
}

// The same points through models::evaluate() one by one (no memoization), single thread.
Row run_plain(std::uint64_t max_points) {
  const SweepSpec spec = spec_with(163);
  std::vector<ArchProfile> profiles;
  for (int kv : spec.overrides.n_kv_heads) {
    for (int cla : spec.overrides.cla_factor) {
      ArchOverrides o;
      o.n_kv_heads = kv;
      o.cla_factor = cla;
      profiles.push_back(make_profile(apply_overrides(spec.models[0], o, "bench"), 1));
    }
  }
  std::vector<TimingParams> tp;
  for (const GpuSpec& g : spec.gpus) tp.push_back(timing_params(g));
  double sink = 0;
  std::uint64_t n = 0;
  const auto t0 = Clock::now();
  for (const ArchProfile& p : profiles) {
    for (std::size_t g = 0; g < spec.gpus.size(); ++g) {
      for (std::int64_t c : spec.workload.context) {
        for (std::int64_t b : spec.workload.batch) {
          Workload w;
          w.batch = b, w.context = c, w.tpot_limit_s = 0.05;
          const Evaluation e = evaluate(p, spec.gpus[g], tp[g], w);
          sink += e.decode_tokens_per_s;
          if (++n == max_points) goto done;
        }
      }
    }
  }
done:
  const double s = seconds_since(t0);
  return {"models::evaluate() loop", n, 1, s, fmt::format("no memoization, reason strings formatted (checksum {:.3g})", sink)};
}

// anti = true: the last objective anti-correlated with the others (a large front, the worst case
// for m >= 3, whose sort-filter costs O(n f)); false: independent uniform objectives.
Row run_pareto(std::size_t n, std::size_t m, bool anti) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<double> v(n * m);
  for (std::size_t i = 0; i < n; ++i) {
    double sum = 0;
    for (std::size_t j = 0; j + 1 < m; ++j) sum += v[i * m + j] = u(rng);
    v[i * m + m - 1] = anti ? 1.0 - sum / static_cast<double>(m - 1) + 0.01 * u(rng) : u(rng);
  }
  const std::vector<Sense> senses(m, Sense::minimize);
  const auto t0 = Clock::now();
  const auto front = pareto_front(v, senses);
  const double s = seconds_since(t0);
  return {fmt::format("pareto_front, {} objectives, {}", m, anti ? "anti-correlated" : "uniform"), n, 1, s,
          fmt::format("front of {}", front.size())};
}

Row run_accumulator(std::size_t n, std::size_t m) {
  std::mt19937_64 rng(43);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<double> v(n * m);
  for (std::size_t i = 0; i < n; ++i) {
    double sum = 0;
    for (std::size_t j = 0; j + 1 < m; ++j) sum += v[i * m + j] = u(rng);
    v[i * m + m - 1] = 1.0 - sum / static_cast<double>(m - 1) + 0.01 * u(rng);
  }
  ParetoAccumulator acc(std::vector<Sense>(m, Sense::minimize));
  constexpr std::size_t kBlock = 8192;
  std::vector<std::uint64_t> ids(kBlock);
  const auto t0 = Clock::now();
  for (std::size_t start = 0; start < n; start += kBlock) {
    const std::size_t len = std::min(kBlock, n - start);
    for (std::size_t i = 0; i < len; ++i) ids[i] = start + i;
    acc.insert_block(std::span(ids).first(len), std::span(v).subspan(start * m, len * m));
  }
  const double s = seconds_since(t0);
  return {fmt::format("ParetoAccumulator, blocks of 8192, {} objectives", m), n, 1, s, fmt::format("front of {}", acc.size())};
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  // 24 architectures x 2 GPUs x 128 contexts x B batches: B = 163 -> 1,001,472 points;
  // B = 1628 -> 10,002,432; B = 16 -> 98,304 (quick).
  const std::vector<std::int64_t> batches = quick ? std::vector<std::int64_t>{16, 163} : std::vector<std::int64_t>{163, 1628};
  std::vector<Row> rows;
  auto print = [](const Row& r) {
    std::printf("| %s | %s | %u | %.3f | %.3g | %s |\n", r.what.c_str(), fmt::format("{:L}", r.points).c_str(), r.threads,
                r.seconds, static_cast<double>(r.points) / r.seconds, r.note.c_str());
    std::fflush(stdout);
  };
  std::printf("| what | points | threads | seconds | points/s | note |\n|---|---:|---:|---:|---:|---|\n");
  for (std::int64_t b : batches) {
    print(run_sweep(b, 1));
    if (cores > 1) print(run_sweep(b, cores));
  }
  // Kernel stacks side by side in one run (same points; the default stack is torch-flash).
  for (const char* st : {"kvbench", "torch-flash", "torch-cudnn"}) print(run_sweep(quick ? 16 : 163, 1, st));
  print(run_plain(quick ? 100000 : 1000000));
  for (std::size_t n : quick ? std::vector<std::size_t>{100000, 1000000} : std::vector<std::size_t>{1000000, 10000000}) {
    print(run_pareto(n, 2, true));
    print(run_pareto(n, 3, false));
    print(run_accumulator(n, 2));
  }
  // The m >= 3 worst case, kept small: every point near one plane, half of them on the front.
  print(run_pareto(20000, 3, true));
  return 0;
}
