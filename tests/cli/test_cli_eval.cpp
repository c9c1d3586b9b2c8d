// `kvscope eval`, `models`, `gpus`, `paper` through the real binary.
#include <algorithm>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>

#include "cli_runner.hpp"
#include "kvscope/core/csv.hpp"
#include "kvscope/core/embedded_data.hpp"

namespace bj = boost::json;

namespace {
bj::value parse(const std::string& s) {
  return bj::parse(s);
}
double num(const bj::value& v, const char* key) {
  const auto& x = v.at(key);
  return x.is_int64() ? double(x.get_int64()) : x.is_uint64() ? double(x.get_uint64()) : x.get_double();
}
}  // namespace

TEST_CASE("eval with no flags evaluates Llama-3-8B on an H100 SXM", "[cli][eval]") {
  const CliResult r = run_kvscope({"eval", "--format", "json"});
  REQUIRE(r.status == 0);
  INFO(r.err);
  const bj::value j = parse(r.out);
  CHECK(j.at("model").as_string() == "llama-3-8b");
  CHECK(j.at("gpu").as_string() == "h100-sxm");
  CHECK(num(j, "kv_bytes_per_token") == 131072);
  for (const char* key : {"kv_cache_bytes", "weight_bytes", "param_count", "max_batch", "max_context", "decode_step_s",
                          "decode_tokens_per_s", "prefill_s", "ttft_s", "max_throughput_tokens_per_s", "max_throughput_batch"}) {
    INFO(key);
    CHECK(num(j, key) > 0);
  }
  CHECK(j.at("feasible").as_bool());
  CHECK(j.at("reason").as_string() == "");
  CHECK(j.at("provenance").at("tool").as_string() == "kvscope");
  // Table form has the per-op breakdown.
  const CliResult t = run_kvscope({"eval"});
  REQUIRE(t.status == 0);
  CHECK_THAT(t.out, Catch::Contains("attention") && Catch::Contains("qkv_proj") && Catch::Contains("serving view"));
}

TEST_CASE("paper golden through the CLI: all 29 rows reproduce KV bytes/token", "[cli][paper]") {
  std::string csv;
  for (const auto& f : kvscope::embedded_files()) {
    if (f.path == "paper/cla_paper_results.csv") csv = std::string(f.content);
  }
  const auto t = kvscope::parse_csv(csv, "csv");
  REQUIRE(t.rows.size() == 29);
  for (const auto& row : t.rows) {
    const std::string model = row[t.column("model_size", "")] == "1B" ? "cla-paper-1b" : "cla-paper-3b";
    const std::string name = row[t.column("config_name", "")];
    INFO(model << " " << name);
    const CliResult r = run_kvscope(
        {"eval", "--model", model, "--variant", name, "--q-heads", row[t.column("n_query_heads", "")], "--format", "json"});
    REQUIRE(r.status == 0);
    const bj::value j = parse(r.out);
    CHECK(num(j, "kv_bytes_per_token") == std::stod(row[t.column("kv_bytes_per_token", "")]));
    CHECK(j.at("variant").as_string() == name);
  }
}

TEST_CASE("eval reports infeasible points as results with a reason", "[cli][eval]") {
  const CliResult r = run_kvscope({"eval", "--batch", "200", "--context", "32768", "--format", "json"});
  REQUIRE(r.status == 0);
  const bj::value j = parse(r.out);
  CHECK_FALSE(j.at("feasible").as_bool());
  CHECK_THAT(std::string(j.at("reason").as_string()), Catch::Contains("exceeds the K/V pool") && Catch::Contains("GiB") &&
                                                          Catch::Contains("max batch at context 32768 is 13"));
  // Above --max-num-seqs the engine admits nothing more, whatever the memory.
  const bj::value k = parse(run_kvscope({"eval", "--batch", "300", "--context", "1024", "--format", "json"}).out);
  CHECK(std::string(k.at("reason").as_string()) == "batch 300 exceeds --max-num-seqs 256; max batch at context 1024 is 256");
  const bj::value k2 =
      parse(run_kvscope({"eval", "--batch", "300", "--context", "1024", "--max-num-seqs", "512", "--format", "json"}).out);
  CHECK(k2.at("feasible").as_bool());
}

TEST_CASE("eval prints the K/V pool as vLLM's start-up log does, every term named", "[cli][eval][pool]") {
  const CliResult r = run_kvscope({"eval"});
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("device total 79.18 GiB x gpu_memory_utilization 0.90 = 71.26 GiB") &&
                        Catch::Contains("activation peak 0.84 GiB (--max-num-batched-tokens 8192)") &&
                        Catch::Contains("sampler 0.37 GiB (--max-num-seqs 256)") && Catch::Contains("non-torch 0.13 GiB") &&
                        Catch::Contains("the rest for the K/V cache: 54.96 GiB = 28140 blocks of 16 tokens") &&
                        Catch::Contains("Maximum concurrency for 8192 tokens per request: 54.96x"));
  const bj::value j = parse(
      run_kvscope({"eval", "--gpu-memory-utilization", "0.95", "--tp", "2", "--cuda-graph-memory-gib", "1", "--format", "json"})
          .out);
  const auto& pool = j.at("kv_pool").as_object();
  CHECK(pool.at("gpu_memory_utilization").as_double() == 0.95);
  CHECK(pool.at("cuda_graph_bytes").as_int64() == 1073741824);
  CHECK(pool.at("allreduce_buffers_bytes").to_number<double>() == 0.42 * 1073741824.0);
  CHECK(pool.at("block_size").as_int64() == 16);
  for (const char* key : {"device_total_bytes", "budget_bytes", "weights_bytes", "activation_peak_bytes", "sampler_bytes",
                          "non_torch_bytes", "block_bytes", "blocks", "pool_bytes", "pool_tokens", "max_concurrency"}) {
    INFO(key);
    CHECK(pool.contains(key));
  }
  CHECK(j.at("kv_pool_bytes").to_number<double>() == pool.at("pool_bytes").to_number<double>());
  // A bad value names its flag.
  const CliResult bad = run_kvscope({"eval", "--gpu-memory-utilization", "1.5"});
  CHECK(bad.status == 2);
  CHECK_THAT(bad.err, Catch::Contains("--gpu-memory-utilization: expected a number in 0..1, found '1.5'"));
}

TEST_CASE("eval flags override the preset; TP replicates K/V heads", "[cli][eval]") {
  const CliResult r =
      run_kvscope({"eval", "--model", "llama-3-70b", "--gpu", "h200", "--tp", "16", "--kv-heads", "8", "--format", "json"});
  REQUIRE(r.status == 0);
  const bj::value j = parse(r.out);
  // 8 K/V heads on 16 GPUs: one head per GPU (replicated), 2 x 1 x 128 x 80 layers x 2 B.
  CHECK(num(j, "kv_bytes_per_token_gpu") == 2 * 1 * 128 * 80 * 2);
  const CliResult c = run_kvscope({"eval", "--cla", "2", "--format", "json"});
  REQUIRE(c.status == 0);
  CHECK(num(parse(c.out), "kv_bytes_per_token") == 65536);
}

TEST_CASE("models and gpus list presets with ids", "[cli][list]") {
  const CliResult m = run_kvscope({"models", "--format", "json"});
  REQUIRE(m.status == 0);
  const bj::value models_json = parse(m.out);
  const auto& models = models_json.as_array();
  CHECK(models.size() >= 15);
  bool has_llama = false;
  for (const auto& x : models) has_llama = has_llama || x.at("id").as_string() == "llama-3-8b";
  CHECK(has_llama);
  const CliResult g = run_kvscope({"gpus", "--format", "json"});
  REQUIRE(g.status == 0);
  bool has_h200 = false;
  const bj::value gpus = parse(g.out);
  for (const auto& x : gpus.as_array()) has_h200 = has_h200 || x.at("id").as_string() == "h200";
  CHECK(has_h200);
  CHECK(run_kvscope({"models"}).status == 0);
  CHECK(run_kvscope({"gpus", "--format", "csv"}).status == 0);
}

TEST_CASE("paper: Table 1 and its Pareto frontier", "[cli][paper]") {
  const CliResult r = run_kvscope({"paper", "--format", "json"});
  REQUIRE(r.status == 0);
  const bj::value j = parse(r.out);
  std::vector<std::string> front;
  for (const auto& x : j.at("frontier").as_array()) front.emplace_back(x.as_string());
  // Non-dominated (KV bytes/token, val ppl) rows of Table 1, worked out by hand from the table:
  // 163840/13.15, 40960/13.36, 20480/13.48, 10240/13.51, 5120/13.60, 3600/13.73, 3584/13.77, 2560/13.89.
  CHECK(front == std::vector<std::string>{"H128-MHA", "H128-GQA4", "H256-MQA-CLA2", "H128-MQA-CLA2", "H90-MQA-CLA2",
                                          "H64-MQA-CLA2", "H128-GQA4-CLA2", "H128-MQA-CLA3"});
  CHECK(j.at("rows").as_array().size() == 20);
  for (const auto& row : j.at("rows").as_array()) CHECK(num(row, "kv_bytes_per_token") == num(row, "kv_bytes_per_token_paper"));
}

TEST_CASE("fp8 weights: the standard FP8 deployments fit, measured fp8 GEMMs on torch stacks, an estimate on kvbench",
          "[cli][eval][weights]") {
  // The torch stacks carry fp8 GEMM efficiencies fitted on torch_gemm_fp8 (H200; the H100
  // borrows them with the rest of the stack); kvbench has no fp8 GEMM kernel: an estimate.
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"eval", "--model", "llama-3.1-405b", "--gpu", "h100-sxm", "--tp", "8", "--weight-dtype", "fp8", "--format", "json"},
           {"eval", "--model", "deepseek-v3", "--gpu", "h200", "--tp", "8", "--weight-dtype", "fp8", "--format", "json"},
           {"eval", "--model", "deepseek-v3", "--gpu", "h200", "--tp", "8", "--weight-dtype", "fp8", "--stack", "kvbench",
            "--format", "json"}}) {
    INFO(args[2]);
    const CliResult r = run_kvscope(args);
    REQUIRE(r.status == 0);
    const bj::value j = parse(r.out);
    CHECK(j.at("feasible").as_bool());
    CHECK(j.at("weight_dtype").as_string() == "fp8");
    const bool kvbench = std::find(args.begin(), args.end(), "kvbench") != args.end();
    CHECK(j.at("weight_timing_estimated").as_bool() == kvbench);
    CHECK_THAT(std::string(j.at("weight_timing").as_string()),
               Catch::Contains(kvbench ? "an estimate" : "with the measured fp8 GEMM efficiencies"));
    const double per_gpu_params = j.at("param_count").to_number<double>() / 8;
    CHECK(j.at("weight_bytes").to_number<double>() / per_gpu_params == Approx(1.01).margin(0.01));
  }
  // A sweep axis like the others; a bad value names the flag.
  const CliResult s = run_kvscope({"sweep", "--weight-dtype", "bf16,fp8,int4", "--format", "csv"});
  REQUIRE(s.status == 0);
  CHECK_THAT(s.out, Catch::Contains("weight_dtype=fp8") && Catch::Contains("weight_dtype=int4"));
  const CliResult bad = run_kvscope({"eval", "--weight-dtype", "fp4"});
  CHECK(bad.status == 2);
  CHECK_THAT(bad.err,
             Catch::Contains("--weight-dtype: 'weight_dtype': expected one of bf16, fp16, fp8, int8, int4, found 'fp4'"));
}

TEST_CASE("a Hugging Face config.json is a model file: Llama-3-8B's evaluates as the preset does", "[cli][eval][hf]") {
  const std::string cfg = std::string(KVSCOPE_SOURCE_DIR) + "/tests/data/hf/Meta-Llama-3-8B/config.json";
  const CliResult r = run_kvscope({"eval", "--model", cfg, "--format", "json"});
  INFO(r.err);
  REQUIRE(r.status == 0);
  const bj::value j = parse(r.out);
  CHECK(j.at("model").as_string() == "meta-llama-3-8b");
  CHECK(num(j, "kv_bytes_per_token") == 131072);
  CHECK(std::round(num(j, "param_count") / 1e7) == 803);  // 8.03 B
  CHECK(num(j, "max_position_embeddings") == 8192);
  CHECK(j.at("warnings").as_array().empty());
  // The same numbers as the curated preset.
  const bj::value p = parse(run_kvscope({"eval", "--model", "llama-3-8b", "--format", "json"}).out);
  for (const char* key : {"kv_bytes_per_token", "param_count", "weight_bytes", "max_batch", "decode_step_s"}) {
    INFO(key);
    CHECK(num(j, key) == num(p, key));
  }
  // Past max_position_embeddings: still evaluated, flagged in JSON and in the table.
  const CliResult past = run_kvscope({"eval", "--model", cfg, "--context", "16384", "--format", "json"});
  REQUIRE(past.status == 0);
  const bj::array w = parse(past.out).at("warnings").as_array();
  REQUIRE(w.size() == 1);
  CHECK_THAT(std::string(w[0].as_string()),
             Catch::Matchers::Contains("context 16384 is past meta-llama-3-8b's max_position_embeddings (8192)"));
  const CliResult table = run_kvscope({"eval", "--model", cfg, "--context", "16384"});
  CHECK_THAT(table.out, Catch::Matchers::Contains("warning: context 16384 is past"));
  CHECK_THAT(table.out, Catch::Matchers::Contains("8.03 B parameters"));
  // A config it cannot map: exit 2, one line naming every missing field.
  const std::string dir = temp_dir();
  const std::string bad = dir + "/config.json";
  {
    std::FILE* f = std::fopen(bad.c_str(), "w");
    REQUIRE(f);
    std::fputs(R"({"model_type": "llama", "hidden_size": 4096, "num_attention_heads": 32, "vocab_size": 128256})", f);
    std::fclose(f);
  }
  const CliResult e = run_kvscope({"eval", "--model", bad});
  CHECK(e.status == 2);
  CHECK_THAT(e.err,
             Catch::Matchers::Contains("cannot map this Hugging Face config (model_type 'llama'): missing key "
                                       "'num_hidden_layers' (expected an integer in 1..10000); missing key 'intermediate_size'"));
}

TEST_CASE("token counts take k and M suffixes on the command line (k = 1024), and --help says so", "[cli][suffix]") {
  const bj::value j = parse(run_kvscope({"eval", "--context", "128k", "--prompt", "4k", "--format", "json"}).out);
  CHECK(num(j, "context") == 131072);
  CHECK(num(j, "prompt") == 4096);
  const CliResult help = run_kvscope({"--help"});
  CHECK_THAT(help.out,
             Catch::Matchers::Contains("take k = 1024 and M = 1024^2") && Catch::Matchers::Contains("--context 128k = 131072"));
  const CliResult bad = run_kvscope({"eval", "--context", "200M"});
  CHECK(bad.status == 2);
  CHECK_THAT(bad.err, Catch::Matchers::Contains("found '200M' (= 209715200)"));
}
