// kvbench_host: byte / FLOP formulas, split heuristic, model shapes.
#include <catch2/catch.hpp>
#include <stdexcept>

#include "kvbench/host.hpp"

using namespace kvbench;

TEST_CASE("memory traffic per kernel", "[harness][formulas]") {
  struct Row {
    MemKernel k;
    double reps, rd, wr;
  };
  const double A = 1 << 20;
  for (const auto& r : std::vector<Row>{{MemKernel::read, 1, A, 0},
                                        {MemKernel::copy, 1, A, A},
                                        {MemKernel::triad, 1, 2 * A, A},
                                        {MemKernel::write, 1, 0, A},
                                        {MemKernel::read, 4, 4 * A, 0},
                                        {MemKernel::triad, 2, 4 * A, 2 * A}}) {
    CAPTURE(to_string(r.k), r.reps);
    const Traffic t = memory_traffic(r.k, A, r.reps);
    CHECK(t.bytes_read == r.rd);
    CHECK(t.bytes_written == r.wr);
  }
  CHECK(memory_traffic(MemKernel::triad, 16, 1).flops == 8);  // 4 fp32 elements x 2 FLOPs
  CHECK(mem_arrays(MemKernel::triad) == 3);
  CHECK(parse_mem_kernel("copy") == MemKernel::copy);
  CHECK_THROWS_AS(parse_mem_kernel("scale"), std::invalid_argument);
  CHECK_THROWS_AS(memory_traffic(MemKernel::read, 0), std::invalid_argument);
  CHECK_THROWS_AS(memory_traffic(MemKernel::read, 16, 0), std::invalid_argument);
}

TEST_CASE("gemm traffic: Llama-3-8B shapes by hand", "[harness][formulas]") {
  const Traffic t = gemm_traffic(1, 6144, 4096);
  CHECK(t.bytes_read == 2.0 * (6144.0 * 4096 + 4096));
  CHECK(t.bytes_written == 2.0 * 6144);
  CHECK(t.flops == 2.0 * 6144 * 4096);
  const Traffic lm = gemm_traffic(512, 128256, 4096);
  CHECK(lm.flops == Approx(2.0 * 512 * 128256 * 4096));
  CHECK_THROWS_AS(gemm_traffic(0, 1, 1), std::invalid_argument);
  CHECK_THROWS_AS(gemm_traffic(1, -1, 1), std::invalid_argument);
}

TEST_CASE("decode attention bytes and FLOPs", "[harness][formulas]") {
  AttnShape a{64, 4096, 8, 4, 128, 2.0, 1};
  CHECK(kv_bytes(a) == 64.0 * 4096 * 2 * 8 * 128 * 2);
  Traffic t = decode_attention_traffic(a);
  CHECK(t.bytes_read == kv_bytes(a) + 64.0 * 32 * 128 * 2);
  CHECK(t.bytes_written == 64.0 * 32 * 128 * 2);
  CHECK(t.flops == 4.0 * 64 * 32 * 4096 * 128);
  a.splits = 4;
  t = decode_attention_traffic(a);
  CHECK(t.bytes_written == 64.0 * 32 * 128 * 2 + 64.0 * 32 * 4 * 130 * 4);
  a.kv_elem_B = 1;
  CHECK(kv_bytes(a) == 64.0 * 4096 * 2 * 8 * 128);
  CHECK(kv_read_traffic(a).bytes_read == kv_bytes(a) + 64.0 * 32 * 128 * 2);
  for (auto bad : {AttnShape{0, 1, 1, 1, 128, 2, 1}, AttnShape{1, 1, 1, 1, 128, 3, 1}, AttnShape{1, 4, 1, 1, 128, 2, 5},
                   AttnShape{1, 4, 1, 0, 128, 2, 1}}) {
    CHECK_THROWS_AS(kv_bytes(bad), std::invalid_argument);
  }
}

TEST_CASE("causal prefill attention bytes and FLOPs by hand", "[harness][formulas]") {
  // B=2 prompts of P=3 tokens, 2 KV heads x g 4, d 64: query t attends to t+1 positions -> 6 pairs.
  const AttnShape a{2, 3, 2, 4, 64, 2.0, 1};
  const Traffic t = prefill_attention_traffic(a);
  CHECK(t.flops == 4.0 * 2 * 8 * 64 * 6);
  CHECK(t.bytes_read == 2.0 * 3 * 2 * 2 * 64 * 2 + 2.0 * 8 * 3 * 64 * 2);
  CHECK(t.bytes_written == 2.0 * 8 * 3 * 64 * 2);
  CHECK_THROWS_AS(prefill_attention_traffic(AttnShape{1, 0, 1, 1, 64, 2, 1}), std::invalid_argument);
}

TEST_CASE("split-KV heuristic: wave quantisation", "[harness][formulas]") {
  struct Row {
    std::int64_t B, H, S;
    int sms, per_sm;
    std::int64_t expect;
  };
  for (const auto& r : std::vector<Row>{
           {1, 8, 2048, 132, 3, 8},     // limited by 256 keys per split
           {1, 1, 512, 132, 3, 2},      // idem
           {1, 8, 100, 132, 3, 1},      // too short to split
           {16, 8, 2048, 132, 3, 3},    // 384 CTAs in 396 slots: one wave
           {1, 32, 32768, 132, 3, 12},  // 384 CTAs
           {16, 32, 32768, 132, 3, 3},  // 1536 CTAs = 3.9 waves
           {128, 32, 512, 132, 3, 1},   // 11 waves vs 2 splits: 21 waves / 2 = 10.5, within 5 %
       }) {
    CAPTURE(r.B, r.H, r.S, r.sms, r.per_sm);
    CHECK(choose_splits(r.B, r.H, r.S, r.sms, r.per_sm) == r.expect);
  }
  CHECK(choose_splits(1, 1, 1 << 20, 132, 3, 256, 16) <= 16);
  CHECK_THROWS_AS(choose_splits(0, 1, 1, 1, 1), std::invalid_argument);
  CHECK_THROWS_AS(choose_splits(1, 1, 1, 0, 1), std::invalid_argument);
}

TEST_CASE("rotation sets reach 5 x L2", "[harness][formulas]") {
  const double l2 = 50.0 * (1 << 20);
  CHECK(rotation_sets(l2, l2) == 5);
  CHECK(rotation_sets(2 * l2, l2) == 3);
  CHECK(rotation_sets(100 * l2, l2) == 1);
  CHECK(rotation_sets(1 << 20, l2) == 250);
  CHECK_THROWS_AS(rotation_sets(0, l2), std::invalid_argument);
  CHECK_THROWS_AS(rotation_sets(1, 0), std::invalid_argument);
}

namespace {
ModelShape llama8b(std::int64_t kv, std::int64_t c) {
  ModelShape m;
  m.label = "llama-3-8b";
  m.n_layers = 32, m.d_model = 4096, m.n_q_heads = 32, m.n_kv_heads = kv, m.head_dim = 128, m.ffn_dim = 14336, m.vocab = 128256;
  m.kv_producers = uniform_cla_producers(32, c);
  return m;
}
}  // namespace

TEST_CASE("CLA producer maps", "[harness][model]") {
  CHECK(uniform_cla_producers(6, 1) == std::vector<std::int64_t>{0, 1, 2, 3, 4, 5});
  CHECK(uniform_cla_producers(6, 2) == std::vector<std::int64_t>{0, 0, 2, 2, 4, 4});
  CHECK(uniform_cla_producers(5, 4) == std::vector<std::int64_t>{0, 0, 0, 0, 4});
  CHECK_THROWS_AS(uniform_cla_producers(0, 1), std::invalid_argument);
  CHECK_THROWS_AS(uniform_cla_producers(4, 0), std::invalid_argument);
  ModelShape m = llama8b(8, 2);
  CHECK(m.n_producers() == 16);
  CHECK(m.is_producer(2));
  CHECK_FALSE(m.is_producer(3));
}

TEST_CASE("model validation refuses inconsistent shapes", "[harness][model]") {
  ModelShape m = llama8b(8, 1);
  REQUIRE_NOTHROW(m.validate());
  auto bad = m;
  bad.n_kv_heads = 5;
  CHECK_THROWS_AS(bad.validate(), std::invalid_argument);
  bad = m;
  bad.kv_producers.pop_back();
  CHECK_THROWS_AS(bad.validate(), std::invalid_argument);
  bad = m;
  bad.kv_producers[3] = 4;  // reads a later layer
  CHECK_THROWS_AS(bad.validate(), std::invalid_argument);
  bad = m;
  bad.kv_producers = uniform_cla_producers(32, 2);
  bad.kv_producers[5] = 1;  // layer 1 is itself a consumer
  CHECK_THROWS_AS(bad.validate(), std::invalid_argument);
  bad = m;
  bad.vocab = 0;
  CHECK_THROWS_AS(bad.validate(), std::invalid_argument);
}

TEST_CASE("decode step traffic: Llama-3-8B GQA, hand-derived", "[harness][model]") {
  const ModelShape m = llama8b(8, 1);
  const double d = 4096, L = 32;
  const double layer_w = (6144 * d + 4096 * d + 28672 * d + d * 14336) * 2;
  const StepTraffic t = decode_step_traffic(m, 1, 1000);
  CHECK(t.weight_read_B == Approx(L * layer_w + 128256 * d * 2 + d * 2));
  CHECK(t.kv_read_B == Approx(L * 1000 * 2 * 1024 * 2));
  CHECK(t.kv_written_B == Approx(L * 2 * 1024 * 2));
  CHECK(t.attn_flops == Approx(L * 4.0 * 32 * 1000 * 128));
  CHECK(t.gemm_flops == Approx(L * 2 * (6144 * d + 4096 * d + 28672 * d + d * 14336) + 2 * 128256 * d));
  // CLA 2: half the layers write KV and skip the K/V projection; all layers still read KV.
  const StepTraffic c2 = decode_step_traffic(llama8b(8, 2), 1, 1000);
  CHECK(c2.kv_written_B == Approx(t.kv_written_B / 2));
  CHECK(c2.kv_read_B == Approx(t.kv_read_B));
  CHECK(c2.weight_read_B == Approx(t.weight_read_B - 16 * 2048 * d * 2));
  CHECK(kv_cache_bytes(llama8b(8, 2), 4, 1000) == Approx(16.0 * 4 * 1000 * 2 * 1024 * 2));
  CHECK(weight_bytes(m) > 16e9);
  CHECK_THROWS_AS(decode_step_traffic(m, 0, 10), std::invalid_argument);
  CHECK_THROWS_AS(kv_cache_bytes(m, 1, 0), std::invalid_argument);
}

TEST_CASE("prefill traffic: causal attention pairs, LM head on last tokens", "[harness][model]") {
  const ModelShape m = llama8b(8, 1);
  const StepTraffic t = prefill_traffic(m, 2, 100);
  CHECK(t.attn_flops == Approx(32 * 4.0 * 2 * 32 * (100.0 * 101 / 2) * 128));
  CHECK(t.kv_written_B == Approx(32 * 2.0 * 100 * 2 * 1024 * 2));
  const double lm = 2.0 * 2 * 128256 * 4096;  // M = batch
  CHECK(t.gemm_flops == Approx(32 * 2.0 * 200 * (6144 * 4096.0 + 4096 * 4096.0 + 28672 * 4096.0 + 4096 * 14336.0) + lm));
  CHECK_THROWS_AS(prefill_traffic(m, 1, 0), std::invalid_argument);
}
