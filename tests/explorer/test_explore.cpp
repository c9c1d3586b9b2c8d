// Explorer: counts and skip reasons of a small sweep, bit-identity with models::evaluate,
// deterministic order over thread counts and chunk sizes, sink blocks, frontier, constraint
// filtering, cancellation and spec errors.
#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <functional>
#include <thread>
#include <vector>

#include "kvscope/core/design.hpp"
#include "kvscope/core/error.hpp"
#include "kvscope/core/loaders.hpp"
#include "kvscope/explorer/explore.hpp"
#include "kvscope/explorer/pareto.hpp"
#include "kvscope/models/evaluate.hpp"
#include "kvscope/models/simulate.hpp"

using namespace kvscope;
using namespace kvscope::models;

namespace {

Architecture llama_like() {
  Architecture a;
  a.id = "llama-like";
  a.n_layers = 32, a.d_model = 4096, a.n_q_heads = 32, a.n_kv_heads = 8, a.head_dim = 128, a.ffn_dim = 14336;
  a.vocab = 128256;
  return a;
}

GpuSpec gpu(const char* id, double memory_B) {
  GpuSpec g;
  g.id = id;
  g.name = id;
  g.memory_B = memory_B;
  g.hbm_bandwidth_Bps = 3.35e12;
  g.bf16_flops = 989e12;
  g.l2_cache_B = 50 * 1048576.0;
  g.sm_count = 132;
  g.interconnect_Bps = 900e9;
  return g;
}

// 10 architectures (kv_heads x cla) x 3 tp x [2 GPUs x 2 runtimes x 2 TPOT limits x 2 prompts x
// 3 contexts x 4 batches = 192] = 5760 points. kv_heads 3 and 12 do not divide 32 query heads (4
// architectures: 4 x 3 x 192 = 2304 skipped); tp 3 does not divide them either (the 6 valid
// architectures: 6 x 192 = 1152 skipped). 2304 points are evaluated.
SweepSpec small_spec() {
  SweepSpec s;
  s.models = {llama_like()};
  s.overrides.n_kv_heads = {1, 3, 8, 12, 32};
  s.overrides.cla_factor = {1, 2};
  s.gpus = {gpu("big", 80e9), gpu("small", 24e9)};
  s.workload.tp = {1, 2, 3};
  s.workload.runtime = {Runtime::graph, Runtime::eager};
  s.workload.tpot_limit_s = {0, 0.02};
  s.workload.prompt = {512, 2048};
  s.workload.context = {1024, 32768, 131072};
  s.workload.batch = {1, 8, 64, 512};
  return s;
}

// Every number of two evaluations, bit for bit (memory.reason is compared separately).
bool same_numbers(const Evaluation& a, const Evaluation& b) {
  auto phase = [](const PhaseCost& x, const PhaseCost& y) {
    for (int o = 0; o < kOpCount; ++o) {
      const OpCost& p = x.ops[static_cast<std::size_t>(o)];
      const OpCost& q = y.ops[static_cast<std::size_t>(o)];
      if (p.time_s != q.time_s || p.bytes != q.bytes || p.flops != q.flops || p.kernels != q.kernels ||
          p.launch_s != q.launch_s || p.memory_s != q.memory_s || p.compute_s != q.compute_s)
        return false;
    }
    return x.time_s == y.time_s && x.bytes == y.bytes && x.flops == y.flops && x.kernels == y.kernels &&
           x.l2_saved_bytes == y.l2_saved_bytes;
  };
  const MemoryResult& m = a.memory;
  const MemoryResult& n = b.memory;
  return m.kv_bytes_per_token == n.kv_bytes_per_token && m.kv_bytes_per_token_gpu == n.kv_bytes_per_token_gpu &&
         m.kv_cache_bytes == n.kv_cache_bytes && m.kv_read_bytes_per_step == n.kv_read_bytes_per_step &&
         m.weight_bytes == n.weight_bytes && m.workspace_bytes == n.workspace_bytes && m.reserve_bytes == n.reserve_bytes &&
         m.total_bytes == n.total_bytes && m.capacity_bytes == n.capacity_bytes && m.param_count == n.param_count &&
         m.active_param_count == n.active_param_count && m.max_batch == n.max_batch && m.max_context == n.max_context &&
         m.feasible == n.feasible && phase(a.decode, b.decode) && phase(a.prefill, b.prefill) &&
         a.decode_step_s == b.decode_step_s && a.decode_tokens_per_s == b.decode_tokens_per_s && a.tpot_s == b.tpot_s &&
         a.prefill_s == b.prefill_s && a.ttft_s == b.ttft_s && a.achieved_Bps == b.achieved_Bps &&
         a.bw_fraction == b.bw_fraction && a.max_throughput_batch == b.max_throughput_batch &&
         a.max_throughput_tokens_per_s == b.max_throughput_tokens_per_s && a.max_throughput_step_s == b.max_throughput_step_s &&
         a.meets_tpot_limit == b.meets_tpot_limit &&
         (a.goodput_rps == b.goodput_rps || (std::isnan(a.goodput_rps) && std::isnan(b.goodput_rps)));
}

bool same_point(const PointResult& a, const PointResult& b) {
  return a.arch_index == b.arch_index && a.gpu_index == b.gpu_index && a.arch->n_kv_heads == b.arch->n_kv_heads &&
         a.workload.batch == b.workload.batch && a.workload.context == b.workload.context &&
         a.workload.prompt == b.workload.prompt && a.workload.tp == b.workload.tp && a.workload.runtime == b.workload.runtime &&
         a.workload.tpot_limit_s == b.workload.tpot_limit_s && same_numbers(a.eval, b.eval);
}

}  // namespace

TEST_CASE("explore: counts and skip reasons are exact", "[explore]") {
  SweepSpec spec = small_spec();
  SweepOptions opt;
  opt.threads = 2;
  const SweepResult r = explore(spec, opt);
  CHECK(point_count(spec) == 5760);
  CHECK(r.total == 5760);
  CHECK(r.completed == 5760);
  CHECK_FALSE(r.partial);
  CHECK(r.skipped == 3456);
  CHECK(r.evaluated == 2304);
  CHECK(r.kept == 2304);  // no constraints
  CHECK(r.filtered_out == 0);
  REQUIRE(r.skipped_by_reason.size() == 2);
  CHECK(r.skipped_by_reason[0].count == 2304);
  CHECK(r.skipped_by_reason[0].reason == "'n_kv_heads': expected a divisor of n_q_heads (#), found #");
  CHECK(r.skipped_by_reason[0].example ==
        "llama-like kv_heads=3 cla=1: 'n_kv_heads': expected a divisor of n_q_heads (32), found 3 (tp 1)");
  CHECK(r.skipped_by_reason[1].count == 1152);
  CHECK(r.skipped_by_reason[1].reason == "'tp': expected a divisor of the query heads (#), found #");
  CHECK(r.skipped_by_reason[1].example ==
        "llama-like kv_heads=1 cla=1: 'tp': expected a divisor of the query heads (32), found 3 (tp 3)");
  REQUIRE(r.tables);
  CHECK(r.tables->arch_names.size() == 10);
  CHECK(r.tables->arch_names[4] == "llama-like kv_heads=8 cla=1");  // cla varies fastest
  CHECK(r.tables->gpu_ids == std::vector<std::string>{"big", "small"});
  CHECK(r.infeasible > 0);  // batch 512 x 131072 positions does not fit
  CHECK(r.infeasible < r.kept);
  CHECK(r.frontier.empty());  // no objectives
}

TEST_CASE("explore: every point equals models::evaluate bit for bit", "[explore]") {
  SweepSpec spec = small_spec();
  SweepOptions opt;
  opt.threads = 1;
  opt.keep = KeepPoints::all;
  const SweepResult r = explore(spec, opt);
  REQUIRE(r.points.size() == 2304);
  REQUIRE(r.point_indices.size() == 2304);
  std::size_t infeasible = 0;
  for (std::size_t k = 0; k < r.points.size(); ++k) {
    const PointResult& p = r.points[k];
    // Independent reconstruction from the names: kv_heads and cla from the architecture table.
    Architecture base = llama_like();
    ArchOverrides o;
    o.n_kv_heads = p.arch->n_kv_heads;
    o.cla_factor = p.arch->cla_factor;
    const Architecture arch = apply_overrides(base, o, "test");
    const GpuSpec& g = spec.gpus[p.gpu_index];
    const Evaluation e = evaluate(make_profile(arch, p.workload.tp), g, stack_timing(g, p.workload.stack).params, p.workload);
    INFO("point " << r.point_indices[k] << " " << r.arch_name(p) << " " << r.gpu_id(p) << " B=" << p.workload.batch
                  << " S=" << p.workload.context << " P=" << p.workload.prompt);
    REQUIRE(same_numbers(p.eval, e));
    // Kept points carry the reason evaluate() gives: empty when they fit, the why when not.
    CHECK(p.eval.memory.reason == e.memory.reason);
    CHECK(p.eval.memory.reason.empty() == e.memory.feasible);
    if (!e.memory.feasible) ++infeasible;
    // point() re-evaluates with the reason.
    if (k % 97 == 0 || !e.memory.feasible) {
      const PointResult q = r.point(r.point_indices[k]);
      REQUIRE(same_point(p, q));
      CHECK(q.eval.memory.reason == e.memory.reason);
    }
    // Fields read the same values.
    for (const Field& f : fields()) {
      const double a = f.get(p);
      PointResult full = p;
      full.eval = e;
      const double b = f.get(full);
      REQUIRE((a == b || (a != a && b != b)));
    }
  }
  CHECK(infeasible == r.infeasible);
  CHECK_THROWS_MATCHES(r.point(5760), InputError, Catch::Message("sweep: 'point': expected an index below 5760, found 5760"));
  CHECK_THROWS_MATCHES(r.point(192 * 2), InputError,
                       Catch::Message("sweep: 'point': expected an index of a valid combination, found 384 "
                                      "(skipped: 'tp': expected a divisor of the query heads (#), found #)"));
}

TEST_CASE("explore: output does not depend on threads or chunk size", "[explore]") {
  SweepSpec spec = small_spec();
  spec.objectives = "kv_bytes_per_token:min,max_throughput_tokens_per_s:max";
  SweepOptions one;
  one.threads = 1;
  one.keep = KeepPoints::all;
  const SweepResult a = explore(spec, one);
  for (unsigned threads : {2u, 4u}) {
    for (std::size_t block : {37u, 4096u}) {
      SweepOptions opt;
      opt.threads = threads;
      opt.keep = KeepPoints::all;
      opt.block_points = block;
      std::vector<std::uint64_t> sunk;
      std::uint64_t blocks = 0;
      opt.sink = [&](std::span<const PointResult> pts, std::span<const std::uint64_t> idx) {
        REQUIRE(pts.size() == idx.size());
        REQUIRE((sunk.empty() || idx.front() > sunk.back()));  // in order
        sunk.insert(sunk.end(), idx.begin(), idx.end());
        ++blocks;
      };
      const SweepResult b = explore(spec, opt);
      INFO("threads " << threads << " block " << block);
      CHECK(b.threads == threads);
      REQUIRE(b.point_indices == a.point_indices);
      CHECK(sunk == a.point_indices);
      CHECK(blocks > 1);
      for (std::size_t k = 0; k < a.points.size(); ++k) REQUIRE(same_point(a.points[k], b.points[k]));
      CHECK(b.frontier_indices == a.frontier_indices);
      CHECK(b.skipped == a.skipped);
      CHECK(b.skipped_by_reason.size() == a.skipped_by_reason.size());
      CHECK(b.infeasible == a.infeasible);
    }
  }
  // Frontier-only mode (no points kept, larger chunks) finds the same frontier.
  SweepOptions lean;
  lean.threads = 3;
  const SweepResult c = explore(spec, lean);
  CHECK(c.points.empty());
  CHECK(c.frontier_indices == a.frontier_indices);
}

TEST_CASE("explore: the frontier is the Pareto front of the kept points", "[explore]") {
  SweepSpec spec = small_spec();
  spec.objectives = "kv_bytes_per_token:min,max_throughput_tokens_per_s:max,ttft_s:min";
  spec.constraints = {"feasible == 1", "max_context >= 32768"};
  SweepOptions opt;
  opt.keep = KeepPoints::all;
  const SweepResult r = explore(spec, opt);
  CHECK(r.evaluated == 2304);
  CHECK(r.kept + r.filtered_out == r.evaluated);
  CHECK(r.infeasible == 0);
  CHECK(r.filtered_out > 0);
  for (const PointResult& p : r.points) {
    REQUIRE(p.eval.memory.feasible);
    REQUIRE(p.eval.memory.max_context >= 32768);
  }
  // Brute-force filter over all points gives the same kept set.
  SweepSpec all = small_spec();
  const SweepResult u = explore(all, opt);
  std::vector<std::uint64_t> expected;
  for (std::size_t k = 0; k < u.points.size(); ++k) {
    const MemoryResult& m = u.points[k].eval.memory;
    if (m.feasible && m.max_context >= 32768) expected.push_back(u.point_indices[k]);
  }
  CHECK(r.point_indices == expected);
  // Frontier = pareto_front over the kept points' objective values.
  std::vector<double> values;
  const std::vector<Sense> senses = {Sense::minimize, Sense::maximize, Sense::minimize};
  for (const PointResult& p : r.points) {
    values.push_back(p.eval.memory.kv_bytes_per_token);
    values.push_back(p.eval.max_throughput_tokens_per_s);
    values.push_back(p.eval.ttft_s);
  }
  std::vector<std::uint64_t> front;
  for (std::size_t i : pareto_front(values, senses)) front.push_back(r.point_indices[i]);
  REQUIRE(!front.empty());
  CHECK(r.frontier_indices == front);
  REQUIRE(r.frontier.size() == front.size());
  for (std::size_t k = 0; k < front.size(); ++k) CHECK(same_point(r.frontier[k], r.point(front[k])));
}

TEST_CASE("explore: points that do not fit are off the frontier unless asked for", "[explore]") {
  // Objectives a batch the pool cannot hold would win (tokens/s and step time grow with batch).
  struct Row {
    const char* objectives;
    bool frontier_infeasible;
  };
  const Row rows[] = {
      {"kv_bytes_per_token:min,decode_tokens_per_s:max", false},
      {"kv_bytes_per_token:min,decode_tokens_per_s:max", true},
      {"kv_cache_bytes:max,ttft_s:min", false},  // the largest cache never fits
      {"kv_cache_bytes:max,ttft_s:min", true},
  };
  for (const Row& row : rows) {
    SweepSpec spec = small_spec();
    spec.objectives = row.objectives;
    SweepOptions opt;
    opt.keep = KeepPoints::all;
    opt.frontier_infeasible = row.frontier_infeasible;
    const SweepResult r = explore(spec, opt);
    INFO(row.objectives << " frontier_infeasible " << row.frontier_infeasible);
    REQUIRE(r.infeasible > 0);
    // The expected front: pareto_front over the kept points that may compete.
    std::vector<double> values;
    std::vector<std::uint64_t> ids;
    std::vector<Sense> senses;
    for (const Objective& o : r.objectives) senses.push_back(o.sense);
    for (std::size_t k = 0; k < r.points.size(); ++k) {
      const PointResult& p = r.points[k];
      if (!p.eval.memory.feasible && !row.frontier_infeasible) continue;
      ids.push_back(r.point_indices[k]);
      for (const Objective& o : r.objectives) values.push_back(find_field(o.field)->get(p));
    }
    std::vector<std::uint64_t> front;
    for (std::size_t i : pareto_front(values, senses)) front.push_back(ids[i]);
    CHECK(r.frontier_indices == front);
    std::size_t infeasible_on_front = 0;
    for (const PointResult& p : r.frontier) {
      infeasible_on_front += p.eval.memory.feasible ? 0 : 1;
      CHECK(p.eval.memory.reason.empty() == p.eval.memory.feasible);  // marked with its reason
    }
    if (row.frontier_infeasible)
      CHECK(infeasible_on_front > 0);  // the rows this test is about
    else
      CHECK(infeasible_on_front == 0);
  }
}

TEST_CASE("explore: cancellation reports a partial prefix", "[explore]") {
  SweepSpec spec = small_spec();
  spec.objectives = "kv_bytes_per_token:min,decode_tokens_per_s:max";
  SweepOptions full_opt;
  full_opt.keep = KeepPoints::all;
  full_opt.block_points = 100;
  const SweepResult full = explore(spec, full_opt);

  for (unsigned threads : {1u, 4u}) {
    std::atomic<bool> cancel{false};
    SweepOptions opt = full_opt;
    opt.threads = threads;
    opt.cancel = &cancel;
    int blocks = 0;
    opt.sink = [&](std::span<const PointResult>, std::span<const std::uint64_t>) {
      if (++blocks == 3) cancel = true;  // as a SIGINT handler would
    };
    const SweepResult r = explore(spec, opt);
    INFO("threads " << threads);
    CHECK(r.partial);
    CHECK(r.completed < r.total);
    CHECK(r.completed % 100 == 0);
    CHECK(r.skipped + r.evaluated == r.completed);
    CHECK(r.kept == r.points.size());
    // Exactly the full run's points below `completed`.
    std::vector<std::uint64_t> prefix;
    for (std::uint64_t i : full.point_indices)
      if (i < r.completed) prefix.push_back(i);
    CHECK(r.point_indices == prefix);
    for (std::uint64_t i : r.frontier_indices) CHECK(i < r.completed);
  }
  // Cancelled before it starts: nothing evaluated, still a well-formed result.
  std::atomic<bool> cancel{true};
  SweepOptions opt;
  opt.cancel = &cancel;
  const SweepResult r = explore(spec, opt);
  CHECK(r.partial);
  CHECK(r.completed == 0);
  CHECK(r.evaluated == 0);
  CHECK(r.frontier.empty());
}

TEST_CASE("explore: progress reports end at 100%", "[explore]") {
  SweepSpec spec = small_spec();
  SweepOptions opt;
  opt.progress_interval_s = 0.0001;
  std::vector<SweepProgress> seen;
  opt.progress = [&](const SweepProgress& p) { seen.push_back(p); };
  const SweepResult r = explore(spec, opt);
  REQUIRE(!seen.empty());
  CHECK(seen.back().done == r.total);
  CHECK(seen.back().fraction == 1.0);
  for (const SweepProgress& p : seen) CHECK(p.fraction <= 1.0);
}

TEST_CASE("explore: spec errors", "[explore]") {
  struct Row {
    const char* name;
    std::function<void(SweepSpec&)> edit;
    const char* message;
  };
  const std::vector<Row> rows = {
      {"no models", [](SweepSpec& s) { s.models.clear(); }, "sweep: 'model': expected at least one base model, found none"},
      {"no gpus", [](SweepSpec& s) { s.gpus.clear(); }, "sweep: 'gpu': expected at least one GPU, found none"},
      {"batch 0",
       [](SweepSpec& s) {
         s.workload.batch = {1, 0};
       },
       "sweep batch axis: 'batch': expected an integer in 1..1000000, found 0"},
      {"tp 0", [](SweepSpec& s) { s.workload.tp = {0}; }, "sweep tp axis: 'tp': expected an integer in 1..1024, found 0"},
      {"unknown constraint field", [](SweepSpec& s) { s.constraints = {"max_ctx >= 1"}; },
       "sweep constraint: expected a known output field (closest: max_batch, max_context, batch; `kvscope fields` lists all), "
       "found 'max_ctx'"},
      {"bad objective", [](SweepSpec& s) { s.objectives = "kv_bytes_per_token"; },
       "sweep objectives: 'objective 1': expected FIELD:min or FIELD:max, comma separated (e.g. "
       "kv_bytes_per_token:min,val_ppl:min), found 'kv_bytes_per_token'"},
  };
  for (const Row& r : rows) {
    INFO(r.name);
    SweepSpec s = small_spec();
    r.edit(s);
    CHECK_THROWS_MATCHES(explore(s), InputError, Catch::Message(r.message));
  }
}

TEST_CASE("set_axis parses scenario fields into axes", "[explore]") {
  SweepSpec s;
  CHECK(set_axis(s, "kv_heads", "1,2,4,8"));
  CHECK(s.overrides.n_kv_heads == std::vector<int>{1, 2, 4, 8});
  CHECK(set_axis(s, "context", "1024..8192:x2"));
  CHECK(s.workload.context == std::vector<std::int64_t>{1024, 2048, 4096, 8192});
  CHECK(set_axis(s, "kv_producers", "0,0,2,2;KeepEnds"));
  CHECK(s.overrides.kv_producers == std::vector<std::string>{"0,0,2,2", "KeepEnds"});
  CHECK(set_axis(s, "kv_dtype", "bf16,fp8"));
  CHECK(s.overrides.kv_dtype == std::vector<KvDtype>{KvDtype::bf16, KvDtype::fp8});
  CHECK(set_axis(s, "runtime", "graph,eager"));
  CHECK(s.workload.runtime.size() == 2);
  CHECK(set_axis(s, "tpot_limit_ms", "10,20"));
  CHECK(s.workload.tpot_limit_s == std::vector<double>{0.01, 0.02});
  CHECK_FALSE(set_axis(s, "model", "llama-3-8b"));
  CHECK_FALSE(set_axis(s, "gpu", "h100-sxm"));
  CHECK_THROWS_MATCHES(
      set_axis(s, "batch", "1.."), InputError,
      Catch::Message("--batch: expected a list or range like 1,2,4 or 1..512 or 1024..131072:x2 or 0..4096:+512, found '1..'"));
  CHECK_THROWS_MATCHES(set_axis(s, "batch", "1,2000000"), InputError,
                       Catch::Message("--batch item 2: expected integers in 1..1000000, found 2000000 in '2000000'"));
  CHECK_THROWS_WITH(set_axis(s, "kv_dtype", "bf16,fp7"), Catch::Contains("fp7"));
  CHECK_THROWS_MATCHES(set_axis(s, "colour", "red"), InputError,
                       Catch::Message("--colour: expected a sweep axis (a scenario field name), found 'colour'"));
}

// ---- goodput_rps: the goodput search per design (docs/model.md §6) ----------------------------

namespace {

// Llama-3-8B K/V heads x CLA on an H100 with a serving load; small request counts keep each search
// to a few milliseconds of simulated iterations.
SweepSpec goodput_spec(std::vector<int> kv, std::vector<int> cla, const std::string& isl, const std::string& osl,
                       std::int64_t requests, double ttft_s, double tpot_s) {
  SweepSpec s;
  s.models = {load_architecture("llama-3-8b")};
  s.gpus = {load_gpu("h100-sxm")};
  s.overrides.n_kv_heads = std::move(kv);
  s.overrides.cla_factor = std::move(cla);
  s.workload.serving.isl = isl;
  s.workload.serving.osl = osl;
  s.workload.serving.requests = requests;
  s.workload.serving.ttft_slo_s = ttft_s;
  s.workload.serving.tpot_slo_s = tpot_s;
  return s;
}

// The design of a single-K/V-head-value goodput spec with its k-th CLA factor, for direct calls.
struct Design1 {
  Architecture arch;
  GpuSpec gpu;
  Workload w;
  ArchProfile p;
  TimingParams t;
  Design1(const SweepSpec& s, std::size_t k) {
    ArchOverrides o;
    if (!s.overrides.n_kv_heads.empty()) o.n_kv_heads = s.overrides.n_kv_heads[0];
    if (!s.overrides.cla_factor.empty()) o.cla_factor = s.overrides.cla_factor[k];
    arch = apply_overrides(s.models[0], o, "test");
    gpu = s.gpus[0];
    w.serving = s.workload.serving;
    w.engine = s.workload.engine;
    p = make_profile(arch, 1);
    t = stack_timing(gpu, w.stack).params;
  }
};

std::vector<double> goodputs(const SweepSpec& spec, unsigned threads = 0) {
  SweepOptions o;
  o.threads = threads;
  o.keep = KeepPoints::all;
  const SweepResult r = explore(spec, o);
  std::vector<double> g;
  for (const PointResult& p : r.points) g.push_back(p.eval.goodput_rps);
  return g;
}

}  // namespace

TEST_CASE("goodput_rps: a looser SLO never lowers the goodput of any design", "[explore][goodput]") {
  // Targets from tight to loose (TTFT, TPOT in s; 0 = none): each row is at least as loose as the
  // one before in both, so no design's goodput may fall from one row to the next.
  struct Row {
    double ttft_s, tpot_s;
  };
  const Row rows[] = {{0.5, 0.02}, {0.5, 0.03}, {1.0, 0.03}, {2.0, 0.05}, {2.0, 0}, {0, 0}};
  std::vector<double> before;
  for (const Row& row : rows) {
    INFO("TTFT " << row.ttft_s << " s, TPOT " << row.tpot_s << " s");
    if (row.ttft_s == 0 && row.tpot_s == 0) {
      // No target at all: the search does not run, the field is empty (NaN) on every point.
      for (double g : goodputs(goodput_spec({1, 8}, {1, 2}, "4096", "128", 200, 0, 0))) CHECK(std::isnan(g));
      continue;
    }
    const std::vector<double> g = goodputs(goodput_spec({1, 8}, {1, 2}, "4096", "128", 200, row.ttft_s, row.tpot_s));
    REQUIRE(g.size() == 4);
    for (std::size_t i = 0; i < g.size(); ++i) {
      INFO("design " << i);
      CHECK(g[i] >= 0);
      if (!before.empty()) CHECK(g[i] >= before[i]);
    }
    before = g;
  }
  CHECK(before[0] > 0);  // the loosest row is met by every design
}

TEST_CASE("goodput_rps: CLA2 serves at least CLA1's rate at long prompts when the K/V pool binds", "[explore][goodput]") {
  // 16k prompts, 1024 outputs: requests hold the pool ~4x longer than they take to prefill, so
  // CLA1's pool fills before the TTFT / TPOT targets bind (README's worked example).
  for (int kv : {8, 32}) {
    INFO("K/V heads " << kv);
    SweepSpec spec = goodput_spec({kv}, {1, 2}, "16384", "1024", 300, 2.0, 0.05);
    const std::vector<double> g = goodputs(spec);
    REQUIRE(g.size() == 2);
    CHECK(g[1] >= g[0]);
    // The premise: at CLA1's goodput its pool is (nearly) full, so it is memory-bound there.
    const Design1 d{spec, 0};
    const GoodputResult at = design_goodput(d.p, d.gpu, d.t, d.w);
    CHECK(at.goodput_rps == g[0]);
    CHECK(at.at_goodput.max_kv_block_utilization > 0.9);
  }
}

TEST_CASE("goodput_rps: a design that cannot hold one request has goodput 0 with the reason", "[explore][goodput]") {
  struct Row {
    const char* model;
    const char* isl;
    const char* reason;
  };
  const Row rows[] = {
      // 70B bf16 weights (141 GB) do not fit an 80 GB GPU: no K/V pool at all.
      {"llama-3-70b", "2048", "the pool holds 0"},
      // A prompt longer than the whole pool of an 8B model.
      {"llama-3-8b", "4M", "needs 262160 KV blocks (4194304 prompt + 256 output tokens, 16 per block)"},
  };
  for (const Row& row : rows) {
    INFO(row.model << " isl " << row.isl);
    SweepSpec spec = goodput_spec({}, {}, row.isl, "256", 100, 1.0, 0.05);
    spec.models = {load_architecture(row.model)};
    spec.objectives = "goodput_rps:max,kv_bytes_per_token:min";
    SweepOptions o;
    o.keep = KeepPoints::all;
    o.frontier_infeasible = true;  // the 70B point does not fit in memory either
    const SweepResult r = explore(spec, o);
    REQUIRE(r.points.size() == 1);
    CHECK(r.points[0].eval.goodput_rps == 0);
    CHECK_THAT(r.points[0].eval.goodput_reason, Catch::Contains(row.reason));
    CHECK_THAT(point_reason(r.points[0]), Catch::Contains(std::string("goodput 0: ")));
    // The frontier's fully evaluated record and evaluate() say the same.
    REQUIRE(r.frontier.size() == 1);
    CHECK(r.frontier[0].eval.goodput_rps == 0);
    CHECK(r.frontier[0].eval.goodput_reason == r.points[0].eval.goodput_reason);
    Workload w;
    w.serving = spec.workload.serving;
    const Evaluation e = evaluate(spec.models[0], spec.gpus[0], w);
    CHECK(e.goodput_rps == 0);
    CHECK(e.goodput_reason == r.points[0].eval.goodput_reason);
  }
}

TEST_CASE("goodput_rps: each point's value is evaluate()'s search, on any number of threads", "[explore][goodput]") {
  SweepSpec spec = goodput_spec({2, 8}, {1, 2}, "lognormal:3000,1500", "uniform:64..256", 150, 1.5, 0.04);
  spec.workload.batch = {1, 64};  // batch and context do not enter the search: one per design
  spec.workload.context = {4096, 32768};
  const std::vector<double> one = goodputs(spec, 1), three = goodputs(spec, 3);
  REQUIRE(one.size() == 16);
  CHECK(one == three);
  SweepOptions o;
  o.keep = KeepPoints::all;
  const SweepResult r = explore(spec, o);
  for (std::size_t i = 0; i < r.points.size(); ++i) {
    INFO("point " << r.point_indices[i]);
    const PointResult& p = r.points[i];
    CHECK(p.eval.goodput_rps == one[i - i % 4]);  // same design, same goodput
    CHECK(p.eval.goodput_rps > 0);
    if (i % 4 == 0) {
      ArchOverrides ov;
      ov.n_kv_heads = p.arch->n_kv_heads;
      ov.cla_factor = p.arch->cla_factor;
      const Evaluation e = evaluate(apply_overrides(spec.models[0], ov, "test"), spec.gpus[0], p.workload);
      CHECK(e.goodput_rps == p.eval.goodput_rps);
    }
  }
}

TEST_CASE("goodput_rps: the search stops on cancellation", "[explore][goodput]") {
  SweepSpec spec = goodput_spec({1, 2, 4, 8}, {1, 2}, "16384", "1024", 100000, 2.0, 0.05);  // minutes of searching
  for (unsigned threads : {1u, 2u}) {
    INFO("threads " << threads);
    std::atomic<bool> cancel{false};
    SweepOptions o;
    o.threads = threads;
    o.cancel = &cancel;
    std::thread stopper([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      cancel = true;  // as the SIGINT handler does
    });
    const SweepResult r = explore(spec, o);
    stopper.join();
    CHECK(r.partial);
    CHECK(r.completed == 0);  // the searches come before any point
    CHECK(r.frontier.empty());
  }
  // A single search and a single simulation say they were cancelled rather than return figures.
  std::atomic<bool> stop{true};
  const Design1 d{spec, 0};
  CHECK(design_goodput(d.p, d.gpu, d.t, d.w, &stop).cancelled);
  LoadSpec poisson = serving_load(d.w.serving);
  poisson.rate_per_s = 10;
  CHECK(simulate(d.p, d.gpu, d.t, d.w, poisson, "test", &stop).cancelled);
}

TEST_CASE("goodput_rps: spec errors name the flag", "[explore][goodput][errors]") {
  struct Row {
    const char* name;
    std::function<void(SweepSpec&)> edit;
    const char* message;
  };
  const std::vector<Row> rows = {
      {"objective without a target",
       [](SweepSpec& s) {
         s.workload.serving = {};
         s.objectives = "goodput_rps:max,ppl_delta:min";
       },
       "sweep objectives: 'goodput_rps': expected a TTFT or TPOT target (--ttft-slo-ms, --tpot-slo-ms) for the goodput search, "
       "found neither"},
      {"constraint without a target",
       [](SweepSpec& s) {
         s.workload.serving = {};
         s.constraints = {"goodput_rps >= 1"};
       },
       "sweep constraint: 'goodput_rps': expected a TTFT or TPOT target"},
      {"percentile 0", [](SweepSpec& s) { s.workload.serving.slo_percentile = 0; },
       "sweep: 'slo_percentile': expected a percentile in (0, 100], found 0"},
      {"precision 1", [](SweepSpec& s) { s.workload.serving.goodput_precision = 1; },
       "sweep: 'goodput_precision': expected a relative precision in (0, 1), found 1"},
      {"negative target", [](SweepSpec& s) { s.workload.serving.tpot_slo_s = -0.01; },
       "sweep: 'tpot_slo_ms': expected a non-negative target in ms (0 = none), found -10"},
      {"bad prompt lengths", [](SweepSpec& s) { s.workload.serving.isl = "uniform:9..3"; },
       "--isl: expected uniform:A..B with A <= B, found 'uniform:9..3'"},
      {"no requests", [](SweepSpec& s) { s.workload.serving.requests = 0; },
       "sweep: 'requests': expected a request count in 1..100000000, found 0"},
      {"scheduler", [](SweepSpec& s) { s.workload.engine.max_num_seqs = 512, s.workload.engine.max_num_batched_tokens = 256; },
       "'--max-num-batched-tokens': expected at least --max-num-seqs (512)"},
  };
  for (const Row& r : rows) {
    INFO(r.name);
    SweepSpec s = goodput_spec({8}, {1}, "2048", "128", 50, 1.0, 0.05);
    r.edit(s);
    CHECK_THROWS_WITH(explore(s), Catch::Contains(r.message));
  }
  // The same spec without the bad value runs (the rows fail for their own reason).
  CHECK(goodputs(goodput_spec({8}, {1}, "2048", "128", 50, 1.0, 0.05)).size() == 1);
}
