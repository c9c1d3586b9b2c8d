// kvbench: CUDA microbenchmark harness for kvscope's cost model (issue #5).
//   kvbench [--quick|--full] [--out-json F] [--out-csv F] [--families a,b] [--check-only] [--git-sha S] [--notes T]
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "common.cuh"

namespace {
void usage() {
  std::puts(
      "kvbench [--quick|--full] [--out-json FILE] [--out-csv FILE] [--families LIST] [--check-only]\n"
      "        [--git-sha SHA] [--notes TEXT]\n"
      "families: memory,launch,elementwise,gemm,attention,attention_prefill,cla_reuse,e2e (default: all, in that order)");
}
}  // namespace

int main(int argc, char** argv) {
  using namespace kvb;
  Ctx c;
  bool check_only = false;
  c.opt.command_line = kvbench::join_args(argc, argv);
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "kvbench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--quick")
      c.opt.quick = true, c.opt.mode = "quick";
    else if (a == "--full")
      c.opt.quick = false, c.opt.mode = "full";
    else if (a == "--out-json")
      c.opt.out_json = next();
    else if (a == "--out-csv")
      c.opt.out_csv = next();
    else if (a == "--check-only")
      check_only = true;
    else if (a == "--git-sha")
      c.opt.git_sha = next();
    else if (a == "--notes")
      c.opt.notes = next();
    else if (a == "--families") {
      std::stringstream ss(next());
      std::string f;
      while (std::getline(ss, f, ',')) {
        if (f != "memory" && f != "launch" && f != "elementwise" && f != "gemm" && f != "attention" && f != "attention_prefill" &&
            f != "cla_reuse" && f != "e2e") {
          std::fprintf(stderr, "kvbench: unknown family '%s'\n", f.c_str());
          return 2;
        }
        c.opt.families.push_back(f);
      }
    } else if (a == "-h" || a == "--help") {
      usage();
      return 0;
    } else {
      std::fprintf(stderr, "kvbench: unknown argument '%s'\n", a.c_str());
      usage();
      return 2;
    }
  }
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  c.opt.host = host;
  const auto t_start = std::chrono::steady_clock::now();
  const std::string date = kvbench::utc_now_iso8601();
  Json checks = Json::array(), errors = Json::array();
  int check_failures = 0;
  try {
    init_ctx(c);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kvbench: cannot initialise the device: %s\n", e.what());
    return 3;
  }
  c.rule.min_samples = 10;
  c.rule.max_samples = 200;
  c.rule.max_rel_stdev = 0.005;
  c.rule.min_time_s = 0.02;
  c.rule.max_time_s = c.opt.quick ? 0.1 : 0.3;
  std::printf("kvbench %s (%s) on %s: %d SMs, L2 %.1f MiB, %.1f GB, driver peak %.1f GB/s, SM clock max %.0f MHz\n",
              kvbench::kVersion, c.opt.mode.c_str(), c.dev.name.c_str(), c.dev.sm_count, c.dev.l2_B / 1048576.0,
              c.dev.mem_total_B / 1e9, c.dev.driver_peak_Bps / 1e9, c.dev.sm_clock_max_kHz / 1e3);

  int cublas_ver = 0;
  cublasGetVersion(c.cublas, &cublas_ver);
  auto write_files = [&](bool final_write) {
    Json root = Json::object();
    root.set("schema", kvbench::kSchema);
    Json h = Json::object();
    h.set("version", kvbench::kVersion);
    h.set("git_sha", c.opt.git_sha);
    h.set("nvcc", std::to_string(__CUDACC_VER_MAJOR__) + "." + std::to_string(__CUDACC_VER_MINOR__));
    h.set("arch", "sm_90");
    h.set("mode", c.opt.mode);
    h.set("command_line", c.opt.command_line);
    h.set("cublas_version", cublas_ver);
    root.set("harness", std::move(h));
    root.set("device", c.dev.to_json());
    Json run = Json::object();
    run.set("date_utc", date);
    run.set("host", c.opt.host);
    run.set("notes", c.opt.notes);
    run.set("complete", final_write);
    run.set("duration_s", std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count());
    run.set("checks", checks);
    run.set("check_failures", check_failures);
    run.set("benchmark_check_failures", c.failed_checks);
    run.set("errors", errors);
    Json proto = Json::object();
    proto.set("timer",
              "CUDA events around the work, queued behind a blocking kernel (host-released flag); one launch per sample");
    proto.set("clock",
              "globaltimer + clock64 read on SM 0 before and after each sample; samples under 75% of the max SM clock dropped");
    proto.set("stop_rule", "min " + std::to_string(c.rule.min_samples) + " samples; stop when rel stdev < " +
                               kvbench::format_double(c.rule.max_rel_stdev) + " after " +
                               kvbench::format_double(c.rule.min_time_s) + " s, or at " +
                               kvbench::format_double(c.rule.max_time_s) + " s of measured time, or " +
                               std::to_string(c.rule.max_samples) + " samples");
    proto.set("warmup", "global ~0.2 s bandwidth kernel; 2 untimed samples per configuration");
    proto.set("l2",
              "memory: warm (re-read same buffers, L1 bypassed); gemm/attention: cold by rotating >= 5 x L2 of buffer sets; "
              "cla_reuse: flush by reading 2 x L2 before each sample; e2e: footprint >> L2");
    run.set("protocol", std::move(proto));
    root.set("run", std::move(run));
    Json ce = Json::object();
    ce.set("hbm_read_Bps", c.ceil.hbm_read_Bps > 0 ? Json(c.ceil.hbm_read_Bps) : Json());
    ce.set("hbm_copy_Bps", c.ceil.hbm_copy_Bps > 0 ? Json(c.ceil.hbm_copy_Bps) : Json());
    ce.set("l2_read_Bps", c.ceil.l2_read_Bps > 0 ? Json(c.ceil.l2_read_Bps) : Json());
    ce.set("definition", "medians of the family-1 plateaus: read/copy at footprint >= 8 x L2; L2 read at footprint <= L2/4");
    root.set("ceilings", std::move(ce));
    root.set("benchmarks", Json(Json::Array(c.records)));
    root.set("skipped", Json(Json::Array(c.skipped)));
    {
      std::ofstream f(c.opt.out_json + ".tmp");
      root.write(f, 1);
      f << '\n';
    }
    std::rename((c.opt.out_json + ".tmp").c_str(), c.opt.out_json.c_str());
    std::ofstream csv(c.opt.out_csv);
    kvbench::write_csv(csv, c.records);
  };
  c.checkpoint = [&] { write_files(false); };

  // Correctness checks first (host fp64 references).
  auto run_check = [&](const char* name, int (*fn)(Ctx&)) {
    Json j = Json::object();
    j.set("name", name);
    try {
      const int f = fn(c);
      j.set("failures", f);
      check_failures += f;
    } catch (const std::exception& e) {
      j.set("error", e.what());
      ++check_failures;
      std::printf("  check %s: ERROR %s\n", name, e.what());
    }
    checks.push(std::move(j));
  };
  std::puts("== correctness checks");
  run_check("layers", check_layers);
  run_check("attention", check_attention);
  run_check("gemm", check_gemm);
  std::printf("== checks: %d failure(s)\n", check_failures);
  if (check_only) {
    write_files(true);
    destroy_ctx(c);
    return check_failures ? 1 : 0;
  }
  try {
    global_warmup(c, 0.2);
  } catch (const std::exception& e) {
    errors.push(std::string("warmup: ") + e.what());
  }
  struct Fam {
    const char* name;
    void (*fn)(Ctx&);
  };
  const Fam fams[] = {{"memory", run_memory},           {"launch", run_launch},
                      {"elementwise", run_elementwise}, {"gemm", run_gemm},
                      {"attention", run_attention},     {"attention_prefill", run_attention_prefill},
                      {"cla_reuse", run_cla_reuse},     {"e2e", run_e2e}};
  for (const auto& f : fams) {
    if (!c.opt.wants(f.name)) continue;
    std::printf("== %s\n", f.name);
    std::fflush(stdout);
    const auto t0 = std::chrono::steady_clock::now();
    try {
      f.fn(c);
    } catch (const std::exception& e) {
      std::printf("  ERROR in %s: %s\n", f.name, e.what());
      errors.push(std::string(f.name) + ": " + e.what());
      const cudaError_t sticky = cudaDeviceSynchronize();
      if (sticky != cudaSuccess) {
        errors.push(std::string("sticky CUDA error, stopping: ") + cudaGetErrorString(sticky));
        write_files(true);
        return 4;
      }
    }
    std::printf("== %s done in %.1f s\n", f.name, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    write_files(false);
  }
  write_files(true);
  std::printf(
      "== ceilings: HBM read %.1f GB/s, HBM copy %.1f GB/s, L2 read %.1f GB/s; %zu benchmarks, %zu skipped; "
      "check failures %d + %d; errors %zu\n",
      c.ceil.hbm_read_Bps / 1e9, c.ceil.hbm_copy_Bps / 1e9, c.ceil.l2_read_Bps / 1e9, c.records.size(), c.skipped.size(),
      check_failures, c.failed_checks, errors.as_array().size());
  destroy_ctx(c);
  return (check_failures || c.failed_checks || !errors.as_array().empty()) ? 1 : 0;
}
