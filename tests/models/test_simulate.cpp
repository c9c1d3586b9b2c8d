// Serving simulator (models/simulate.hpp) and the mixed-iteration cost (timing.hpp mixed_step):
// properties any correct simulator has (low-load latencies equal the cost model's single-request
// prefill and decode steps, Little's law, saturation throughput, CLA capacity, determinism),
// the scheduler's rules on small cases, and bad input with its messages.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "kvscope/core/design.hpp"
#include "kvscope/core/error.hpp"
#include "kvscope/core/loaders.hpp"
#include "kvscope/models/evaluate.hpp"
#include "kvscope/models/simulate.hpp"
#include "kvscope/models/timing.hpp"

using namespace kvscope;
using namespace kvscope::models;

namespace {

struct Design {
  Architecture arch;
  GpuSpec gpu;
  Workload w;
  ArchProfile p;
  TimingParams t;
};

Design design(const std::string& model = "llama-3-8b", int cla = 1, int kv_heads = 0, const std::string& stack = "torch-flash",
              const std::string& gpu = "h100-sxm", Runtime rt = Runtime::graph) {
  Design d;
  ArchOverrides o;
  if (cla > 1) o.cla_factor = cla;
  if (kv_heads > 0) o.n_kv_heads = kv_heads;
  d.arch = apply_overrides(load_architecture(model), o, "test");
  d.gpu = load_gpu(gpu);
  d.w.stack = stack;
  d.w.runtime = rt;
  d.p = make_profile(d.arch, 1);
  d.t = stack_timing(d.gpu, stack).params;
  return d;
}

LoadSpec poisson(double rate, std::int64_t n, const std::string& isl, const std::string& osl, std::uint64_t seed = 1) {
  LoadSpec l;
  l.rate_per_s = rate;
  l.requests = n;
  l.isl = parse_length_dist(isl, "--isl");
  l.osl = parse_length_dist(osl, "--osl");
  l.seed = seed;
  return l;
}

SimulationResult run(const Design& d, const LoadSpec& l) {
  return simulate(d.p, d.gpu, d.t, d.w, l);
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("mixed_step: causal pairs of a chunk after its prefix", "[simulate][timing]") {
  struct Row {
    double prefix, chunk, window, pairs;
  };
  const Row rows[] = {
      {0, 4, 0, 10},   // 1+2+3+4
      {4, 4, 0, 26},   // 5+6+7+8
      {0, 10, 4, 34},  // 1+2+3+4 + 6 x 4
      {2, 3, 4, 11},   // 3+4+4
      {8, 2, 4, 8},    // both past the window
      {0, 8192, 0, 8192.0 * 8193 / 2},
  };
  for (const Row& r : rows) {
    INFO("prefix " << r.prefix << " chunk " << r.chunk << " window " << r.window);
    CHECK(causal_pairs(r.prefix, r.chunk, r.window) == r.pairs);
  }
  // A prompt cut into chunks has the pairs of the whole prompt.
  CHECK(causal_pairs(0, 3000, 0) + causal_pairs(3000, 5000, 0) == causal_pairs(0, 8000, 0));
}

TEST_CASE("mixed_step: pure decode and pure prefill batches equal decode_step and prefill", "[simulate][timing]") {
  struct Row {
    const char* model;
    int cla;
    const char* stack;
    Runtime rt;
  };
  const Row rows[] = {{"llama-3-8b", 1, "torch-flash", Runtime::graph},
                      {"llama-3-8b", 2, "kvbench", Runtime::graph},
                      {"llama-3.2-1b", 1, "torch-cudnn", Runtime::eager},
                      {"mistral-7b", 1, "kvbench", Runtime::graph}};
  for (const Row& r : rows) {
    const Design d = design(r.model, r.cla, 0, r.stack, "h100-sxm", r.rt);
    MixedStepModel m(d.p, d.gpu, d.t, d.w.runtime, 8192);
    for (double batch : {1.0, 7.0, 64.0}) {
      for (double ctx : {300.0, 4096.0, 20000.0}) {
        INFO(r.model << " CLA" << r.cla << " " << r.stack << " batch " << batch << " context " << ctx);
        MixedBatch b;
        for (int i = 0; i < batch; ++i) add_decode_request(b, d.p, ctx);
        const double want = decode_step(d.p, d.gpu, d.t, batch, ctx, d.w.runtime).time_s;
        CHECK(mixed_step(d.p, d.gpu, d.t, b, d.w.runtime).time_s == Approx(want).epsilon(1e-12));
        CHECK(m.time_s(b) == Approx(want).epsilon(1e-12));
      }
    }
    for (double prompt : {16.0, 2048.0, 8192.0}) {
      INFO(r.model << " " << r.stack << " prompt " << prompt);
      MixedBatch b;
      add_prefill_chunk(b, d.p, 0, prompt);
      const double want = prefill(d.p, d.gpu, d.t, 1, prompt, d.w.runtime).time_s;
      CHECK(mixed_step(d.p, d.gpu, d.t, b, d.w.runtime).time_s == Approx(want).epsilon(1e-12));
      CHECK(m.time_s(b) == Approx(want).epsilon(1e-12));
    }
  }
}

TEST_CASE("mixed_step: a mixed iteration streams the weights once", "[simulate][timing]") {
  const Design d = design();
  MixedStepModel m(d.p, d.gpu, d.t, d.w.runtime, 8192);
  MixedBatch dec, pre, both;
  for (int i = 0; i < 32; ++i) add_decode_request(dec, d.p, 4096 + 37.0 * i), add_decode_request(both, d.p, 4096 + 37.0 * i);
  add_prefill_chunk(pre, d.p, 1024, 512), add_prefill_chunk(both, d.p, 1024, 512);
  const double td = m.time_s(dec), tp = m.time_s(pre), tb = m.time_s(both);
  CHECK(tb > std::max(td, tp));
  CHECK(tb < td + tp);
  // The per-op breakdown sums to the fast path's time, and HBM bytes count the weights once.
  const PhaseCost ph = m.phase(both);
  CHECK(ph.time_s == Approx(tb).epsilon(1e-12));
  CHECK(ph.bytes < m.phase(dec).bytes + m.phase(pre).bytes - 0.9 * d.p.weight_bytes_gpu);
  // Decodes at their own contexts: the K/V stream is their sum, as the mean context's.
  MixedBatch mean;
  for (int i = 0; i < 32; ++i) add_decode_request(mean, d.p, 4096 + 37.0 * 15.5);
  CHECK(m.time_s(dec) == Approx(m.time_s(mean)).epsilon(1e-9));
}

TEST_CASE("simulate: at low load TTFT is one prefill and TPOT one decode step at batch 1", "[simulate]") {
  // Requests arrive minutes apart (0.002 / s): each prefill follows an idle GPU and starts with the
  // rested power headroom (power_headroom_after_s past 20 ms); the decode steps follow each other (none).
  struct Row {
    const char* model;
    int cla;
    const char* stack;
    std::int64_t isl, osl;
  };
  const Row rows[] = {{"llama-3-8b", 1, "torch-flash", 2048, 64},
                      {"llama-3-8b", 2, "kvbench", 4000, 16},
                      {"llama-3.2-1b", 1, "torch-cudnn", 512, 128},
                      {"mistral-7b", 1, "kvbench", 4000, 200}};  // crosses its 4096-position window while decoding
  for (const Row& r : rows) {
    INFO(r.model << " CLA" << r.cla << " " << r.stack << " isl " << r.isl << " osl " << r.osl);
    const Design d = design(r.model, r.cla, 0, r.stack);
    const SimulationResult s = run(d, poisson(0.002, 20, std::to_string(r.isl), std::to_string(r.osl)));
    REQUIRE(s.max_running_requests == 1);  // requests one at a time
    TimingParams rested = d.t;
    rested.power_headroom_s = power_headroom_after_s(d.t, 1.0);
    const double ttft = prefill(d.p, d.gpu, rested, 1, static_cast<double>(r.isl), d.w.runtime).time_s;
    // Output token j (j >= 2) comes from a decode step attending to isl + j - 1 positions.
    double steps = 0;
    for (std::int64_t j = 2; j <= r.osl; ++j)
      steps += decode_step(d.p, d.gpu, d.t, 1, static_cast<double>(r.isl + j - 1), d.w.runtime).time_s;
    for (const RequestRecord& q : s.requests) {
      CHECK(q.ttft_s() == Approx(ttft).epsilon(1e-9));
      CHECK(q.tpot_s() == Approx(steps / static_cast<double>(r.osl - 1)).epsilon(1e-9));
    }
    CHECK(s.preemptions == 0);
    CHECK(s.ttft_s.p99 == Approx(ttft).epsilon(1e-9));
  }
}

TEST_CASE("simulate: chunked prefill splits a long prompt at the token budget", "[simulate]") {
  Design d = design();
  d.w.engine.max_num_batched_tokens = 4096;
  const SimulationResult s = run(d, poisson(0.001, 3, "10000", "4"));
  REQUIRE(s.max_running_requests == 1);
  // Chunks of 4096, 4096 and 1808 tokens, each after the K/V of the ones before; the first follows an
  // idle GPU (the rested power headroom), the others follow it back to back.
  MixedStepModel m(d.p, d.gpu, d.t, d.w.runtime, 4096);
  double ttft = 0;
  for (double prefix : {0.0, 4096.0, 8192.0}) {
    MixedBatch b;
    add_prefill_chunk(b, d.p, prefix, std::min(4096.0, 10000 - prefix));
    ttft += m.time_s(b, prefix == 0 ? power_headroom_after_s(d.t, 1.0) : -1.0);
  }
  // The headroom is real on this torch stack: the idle GPU's first chunk is faster than a loaded one's.
  MixedBatch first;
  add_prefill_chunk(first, d.p, 0, 4096);
  CHECK(m.time_s(first, power_headroom_after_s(d.t, 1.0)) < m.time_s(first));
  for (const auto& q : s.requests) CHECK(q.ttft_s() == Approx(ttft).epsilon(1e-9));
  CHECK(s.iterations == 3 * (3 + 3));  // 3 prefill chunks + 3 decode steps per request
}

TEST_CASE("simulate: Little's law holds for every load", "[simulate]") {
  const Design d = design();
  // A small pool (non-torch memory that leaves ~200k tokens) makes the heavy rows preempt.
  Design tight = d;
  tight.w.engine.non_torch_B += kv_pool(d.p, memory_capacity_B(d.gpu), d.w.engine).available_B - 200000 * 131072.0;
  REQUIRE(kv_pool(tight.p, memory_capacity_B(d.gpu), tight.w.engine).tokens() == Approx(200000).epsilon(0.001));
  LoadSpec closed = poisson(1, 400, "uniform:500..3000", "uniform:20..400");
  closed.rate_per_s = 0;
  closed.concurrency = 64;
  struct Row {
    const char* name;
    const Design* d;
    LoadSpec load;
    bool must_preempt;
  };
  const Row rows[] = {{"light", &d, poisson(0.5, 300, "2048", "128"), false},
                      {"moderate", &d, poisson(8, 1000, "lognormal:1500,800", "lognormal:200,150"), false},
                      {"overloaded", &d, poisson(200, 600, "normal:4000,1000", "256"), false},  // fills the pool: may preempt
                      {"closed loop", &d, closed, false},
                      {"preempting", &tight, poisson(40, 400, "uniform:1000..6000", "uniform:100..1500"), true}};
  for (const Row& r : rows) {
    INFO(r.name);
    const SimulationResult s = run(*r.d, r.load);
    REQUIRE(s.completed == static_cast<std::int64_t>(s.requests.size()));
    if (r.must_preempt) CHECK(s.preemptions > 0);
    // Mean number in the system (running + waiting) = throughput x mean time in the system.
    CHECK(s.mean_running_requests + s.mean_waiting_requests == Approx(s.request_throughput_per_s * s.e2e_s.mean).epsilon(1e-9));
    for (const auto& q : s.requests) {
      REQUIRE(q.first_token_s > q.arrival_s);
      REQUIRE(q.finish_s >= q.first_token_s);
    }
  }
  // Below saturation the engine keeps up with the offered rate.
  const SimulationResult m = run(d, poisson(8, 2000, "lognormal:1500,800", "lognormal:200,150"));
  CHECK(m.request_throughput_per_s == Approx(8).epsilon(0.1));
  CHECK(m.mean_waiting_requests < 0.1 * m.mean_running_requests);
}

TEST_CASE("simulate: a saturated closed loop reaches the static serving view's throughput once prefill is counted",
          "[simulate]") {
  // The static view (evaluate): the largest batch B that fits at the final context, tokens/s =
  // B / step(B). A closed loop of B clients runs B requests at a time; each request also costs
  // one prefill, so B requests of `osl` tokens take osl x step + B x prefill of GPU time. Mixed
  // iterations share the weight stream between prefill chunks and decodes, so the simulated
  // rate may exceed that sum by a little, never fall far below it.
  struct Row {
    const char* model;
    int cla;
    std::int64_t isl, osl;
  };
  const Row rows[] = {{"llama-3-8b", 1, 8192, 256}, {"llama-3-8b", 2, 8192, 256}, {"llama-3.2-1b", 1, 4096, 512}};
  for (const Row& r : rows) {
    INFO(r.model << " CLA" << r.cla << " isl " << r.isl << " osl " << r.osl);
    const Design d = design(r.model, r.cla);
    Workload w = d.w;
    w.context = r.isl + r.osl;
    w.batch = 1;
    w.prompt = r.isl;
    const Evaluation e = evaluate(d.p, d.gpu, d.t, w);
    const std::int64_t B = std::min<std::int64_t>(e.max_throughput_batch, 1024);
    REQUIRE(B > 8);
    const double step =
        decode_step(d.p, d.gpu, d.t, static_cast<double>(B), static_cast<double>(r.isl + r.osl / 2), w.runtime).time_s;
    const double pf = prefill(d.p, d.gpu, d.t, 1, static_cast<double>(r.isl), w.runtime).time_s;
    const double expected = static_cast<double>(B * r.osl) / (static_cast<double>(r.osl) * step + static_cast<double>(B) * pf);
    LoadSpec l = poisson(1, 20 * B, std::to_string(r.isl), std::to_string(r.osl));
    l.rate_per_s = 0;
    l.concurrency = static_cast<int>(B);
    const SimulationResult s = run(d, l);
    CHECK(s.preemptions == 0);
    CHECK(s.max_running_requests == B);
    CHECK(s.throughput_tokens_per_s / expected > 0.97);
    CHECK(s.throughput_tokens_per_s / expected < 1.15);
    // Counting prefill matters: the static view alone overstates the rate.
    CHECK(s.throughput_tokens_per_s < 0.9 * static_cast<double>(B) / step);
  }
}

TEST_CASE("simulate: CLA2 at long prompts admits about twice the concurrent requests of CLA1", "[simulate]") {
  // GQA-8 and MHA: at 16k prompts the KV pool, not the arrivals or max_num_seqs, limits them.
  for (int kv : {8, 32}) {
    INFO("K/V heads " << kv);
    const SimulationResult a = run(design("llama-3-8b", 1, kv), poisson(100, 300, "16384", "128"));
    const SimulationResult b = run(design("llama-3-8b", 2, kv), poisson(100, 300, "16384", "128"));
    const double ratio = static_cast<double>(b.max_running_requests) / a.max_running_requests;
    CHECK(ratio > 1.9);
    CHECK(ratio < 2.2);
    CHECK(b.mean_running_requests > 1.8 * a.mean_running_requests);
  }
}

TEST_CASE("simulate: the same seed gives the same result, another seed another", "[simulate]") {
  const Design d = design();
  const LoadSpec l = poisson(12, 500, "lognormal:2000,1000", "uniform:10..500", 7);
  const SimulationResult a = run(d, l), b = run(d, l);
  REQUIRE(a.requests.size() == b.requests.size());
  for (std::size_t i = 0; i < a.requests.size(); ++i) {
    CHECK(a.requests[i].arrival_s == b.requests[i].arrival_s);
    CHECK(a.requests[i].input_tokens == b.requests[i].input_tokens);
    CHECK(a.requests[i].finish_s == b.requests[i].finish_s);
  }
  CHECK(a.iterations == b.iterations);
  LoadSpec other = l;
  other.seed = 8;
  const SimulationResult c = run(d, other);
  CHECK(c.requests[0].arrival_s != a.requests[0].arrival_s);
  CHECK(c.requests[0].input_tokens != a.requests[0].input_tokens);
  // Changing the output lengths does not move the arrivals or the prompts (separate streams).
  LoadSpec osl = l;
  osl.osl = parse_length_dist("64", "--osl");
  const SimulationResult e = run(d, osl);
  CHECK(e.requests[9].arrival_s == a.requests[9].arrival_s);
  CHECK(e.requests[9].input_tokens == a.requests[9].input_tokens);
}

TEST_CASE("simulate: length distributions have their mean and range", "[simulate]") {
  const Design d = design("llama-3.2-1b");
  struct Row {
    const char* text;
    double mean, lo, hi;
  };
  const Row rows[] = {{"777", 777, 777, 777},
                      {"uniform:100..300", 200, 100, 300},
                      {"2k", 2048, 2048, 2048},
                      {"uniform:1k..1.5k", 1280, 1024, 1536},
                      {"normal:1000,100", 1000, 1, 1e9},
                      {"lognormal:1000,500", 1000, 1, 1e9}};
  for (const Row& r : rows) {
    INFO(r.text);
    const SimulationResult s = run(d, poisson(50, 4000, r.text, "2"));
    double sum = 0, lo = 1e300, hi = 0;
    for (const auto& q : s.requests)
      sum += double(q.input_tokens), lo = std::min(lo, double(q.input_tokens)), hi = std::max(hi, double(q.input_tokens));
    CHECK(sum / 4000 == Approx(r.mean).epsilon(0.03));
    CHECK(lo >= r.lo);
    CHECK(hi <= r.hi);
  }
}

TEST_CASE("simulate: impossible requests are rejected with a reason, the rest complete", "[simulate]") {
  const Design d = design();
  const KvPool pool = kv_pool(d.p, memory_capacity_B(d.gpu), d.w.engine);
  const auto blocks = static_cast<std::int64_t>(pool.blocks);
  const std::int64_t too_long = blocks * 16 + 1;
  LoadSpec l;
  l.trace = {{0.0, 1000, 10}, {0.1, too_long, 10}, {0.2, 2000, 10}, {0.3, blocks * 16 - 5, 10}};
  const SimulationResult s = run(d, l);
  CHECK(s.completed == 2);
  CHECK(s.rejected == 2);
  CHECK(s.requests[1].rejected);
  CHECK(s.requests[1].reason == fmt::format("needs {} KV blocks ({} prompt + 10 output tokens, 16 per block); the pool holds {}",
                                            (too_long + 9 + 15) / 16, too_long, blocks));
  CHECK(s.requests[3].rejected);  // the prompt fits, prompt + output does not
  CHECK_FALSE(s.requests[2].rejected);
  CHECK(std::isnan(s.requests[1].tpot_s()));
}

TEST_CASE("simulate: scheduler limits", "[simulate]") {
  Design d = design("llama-3.2-1b");
  d.w.engine.max_num_seqs = 8;
  d.w.engine.max_num_batched_tokens = 2048;
  const SimulationResult s = run(d, poisson(1000, 200, "300", "50"));
  CHECK(s.max_running_requests == 8);
  CHECK(s.mean_batch_tokens <= 2048);
  CHECK(s.mean_waiting_requests > 50);  // the rest queue
}

TEST_CASE("simulate: percentiles interpolate like numpy", "[simulate]") {
  CHECK(percentile({1, 2, 3, 4}, 50) == 2.5);
  CHECK(percentile({4, 1, 3, 2}, 90) == Approx(3.7));
  CHECK(percentile({1, 2, 3, 4}, 0) == 1);
  CHECK(percentile({1, 2, 3, 4}, 100) == 4);
  CHECK(percentile({5}, 99) == 5);
  CHECK(std::isnan(percentile({}, 50)));
  const LatencyStats s = latency_stats({3, 1, 2});
  CHECK(s.mean == 2);
  CHECK(s.p50 == 2);
  CHECK(s.count == 3);
}

TEST_CASE("simulate: goodput is the highest rate that meets the SLO", "[simulate]") {
  const Design d = design();
  const LoadSpec l = poisson(1, 300, "4096", "128");
  const Slo slo{1.0, 0.03, 90};
  const GoodputResult g = find_goodput(d.p, d.gpu, d.t, d.w, l, slo, 0.02);
  REQUIRE(g.goodput_rps > 0);
  CHECK(g.hi_rps > g.lo_rps);
  CHECK(g.hi_rps - g.lo_rps <= 0.02 * g.hi_rps);
  CHECK(meets_slo(g.at_goodput, slo));
  LoadSpec at_hi = l;
  at_hi.rate_per_s = g.hi_rps;
  CHECK_FALSE(meets_slo(run(d, at_hi), slo));
  // A looser target admits at least as high a rate; CLA2 (twice the KV capacity) at least as high.
  const GoodputResult loose = find_goodput(d.p, d.gpu, d.t, d.w, l, Slo{2.0, 0.05, 90}, 0.02);
  CHECK(loose.goodput_rps >= g.goodput_rps);
  // Targets no single request can meet: 0, with the reason.
  const GoodputResult none = find_goodput(d.p, d.gpu, d.t, d.w, l, Slo{0.001, 0, 90}, 0.02);
  CHECK(none.goodput_rps == 0);
  CHECK_THAT(none.reason, Catch::Contains("misses the targets even at"));
}

TEST_CASE("simulate: bad load, scheduler and trace input", "[simulate][errors]") {
  struct Row {
    std::function<void()> f;
    const char* fragment;
  };
  const Design d = design("llama-3.2-1b");
  auto sim = [&](LoadSpec l, EngineMemory e = {}) {
    Workload w = d.w;
    w.engine = e;
    return [=] { (void)simulate(d.p, d.gpu, d.t, w, l); };
  };
  LoadSpec none = poisson(1, 10, "10", "10");
  none.rate_per_s = 0;
  LoadSpec both = poisson(1, 10, "10", "10");
  both.concurrency = 4;
  EngineMemory small_budget;
  small_budget.max_num_seqs = 64, small_budget.max_num_batched_tokens = 32;
  EngineMemory bad_block;
  bad_block.block_size = 0;
  const Row rows[] = {
      {sim(poisson(-1, 10, "10", "10")), "simulate: '--rate': expected a request rate > 0 (requests/s), found -1"},
      {sim(poisson(INFINITY, 10, "10", "10")), "'--rate': expected a request rate > 0 (requests/s), found inf"},
      {sim(none), "expected exactly one of --rate, --concurrency, --trace, found none"},
      {sim(both), "expected exactly one of --rate, --concurrency, --trace, found 2 of them"},
      {sim(poisson(1, 0, "10", "10")), "'--requests': expected a request count in 1..100000000, found 0"},
      {sim(poisson(1, 10, "10", "10"), small_budget), "'--max-num-batched-tokens': expected at least --max-num-seqs (64)"},
      {sim(poisson(1, 10, "10", "10"), bad_block), "simulate: 'block_size': expected an integer in 1..1048576, found 0"},
      {[] { (void)parse_length_dist("0", "--isl"); },
       "--isl: expected a token count >= 1, uniform:A..B, normal:MEAN,SD or lognormal:MEAN,SD, found '0'"},
      {[] { (void)parse_length_dist("12.5", "--isl"); }, "found '12.5'"},
      {[] { (void)parse_length_dist("1.3k", "--isl"); }, "found '1.3k'"},
      {[] { (void)parse_length_dist("uniform:9..3", "--osl"); },
       "--osl: expected uniform:A..B with A <= B, found 'uniform:9..3'"},
      {[] { (void)parse_length_dist("uniform:3", "--osl"); }, "expected uniform:A..B with token counts 1 <= A <= B"},
      {[] { (void)parse_length_dist("normal:100", "--isl"); },
       "expected normal:MEAN,SD with 1 <= MEAN <= 1e8 and 0 <= SD <= 1e8 tokens"},
      {[] { (void)parse_length_dist("lognormal:100,-5", "--isl"); }, "expected lognormal:MEAN,SD"},
      {[] { (void)parse_length_dist("poisson:5", "--isl"); }, "found 'poisson:5'"},
      {[] { (void)parse_trace("", "t.csv"); },
       "t.csv: expected at least one request (CSV rows arrival_s,input_tokens,output_tokens or JSON lines), found an empty "
       "trace"},
      {[] { (void)parse_trace("arrival_s,input_tokens,output_tokens\n", "t.csv"); }, "found only the header"},
      {[] { (void)parse_trace("0,10,10\n", "t.csv"); },
       "t.csv line 1: expected the CSV header 'arrival_s,input_tokens,output_tokens' (or JSON lines), found '0,10,10'"},
      {[] { (void)parse_trace("arrival_s,input_tokens,output_tokens\n0,10,10\n\n0.5,abc,3\n", "t.csv"); },
       "t.csv line 4: 'input_tokens': expected a token count in 1..100000000, found 'abc'"},
      {[] { (void)parse_trace("arrival_s,input_tokens,output_tokens\n-1,10,10\n", "t.csv"); },
       "t.csv line 2: 'arrival_s': expected a time in seconds >= 0, found '-1'"},
      {[] { (void)parse_trace("arrival_s,input_tokens,output_tokens\n1,10\n", "t.csv"); },
       "t.csv line 2: expected 3 fields arrival_s,input_tokens,output_tokens, found 2 field(s): '1,10'"},
      {[] { (void)parse_trace("arrival_s,input_tokens,output_tokens\n1,10,0\n", "t.csv"); },
       "'output_tokens': expected a token count in 1..100000000, found '0'"},
      {[] {
         (void)parse_trace(
             "{\"arrival_s\": 0, \"input_tokens\": 5, \"output_tokens\": 5}\n{\"arrival_s\": 1, \"input_tokens\": 5}\n",
             "t.jsonl");
       },
       "t.jsonl line 2: 'output_tokens': expected a number, found nothing (missing key)"},
      {[] { (void)parse_trace("{\"arrival_s\": 0, \"input_tokens\": 5, \"output_tokens\": 5, \"x\": 1}\n", "t.jsonl"); },
       "t.jsonl line 1: 'x': expected only the keys arrival_s, input_tokens, output_tokens, found an unknown key"},
      {[] { (void)parse_trace("{\"arrival_s\": 0, \"input_tokens\": 5.5, \"output_tokens\": 5}\n", "t.jsonl"); },
       "t.jsonl line 1: 'input_tokens': expected a token count in 1..100000000, found 5.5"},
      {[] { (void)parse_trace("{\"arrival_s\": 0, \"input_tokens\": 5, \"output_tokens\": 5}\n{oops\n", "t.jsonl"); },
       "t.jsonl line 2: invalid JSON"},
      {[] { (void)load_trace("/nonexistent/trace.csv"); }, "cannot open '/nonexistent/trace.csv'"},
  };
  for (const Row& r : rows) {
    INFO(r.fragment);
    CHECK_THAT(message_of(r.f), Catch::Contains(r.fragment));
  }
  // A valid trace in both forms, unsorted, with blank lines and CRLF.
  const auto csv = parse_trace("arrival_s, input_tokens, output_tokens\r\n2.5,100,7\r\n\r\n0.5,200,9\r\n", "t.csv");
  REQUIRE(csv.size() == 2);
  CHECK(csv[0].arrival_s == 0.5);
  CHECK(csv[0].input_tokens == 200);
  const auto jl = parse_trace("{\"arrival_s\": 1, \"input_tokens\": 3, \"output_tokens\": 4}\n", "t.jsonl");
  CHECK(jl.at(0).output_tokens == 4);
}
