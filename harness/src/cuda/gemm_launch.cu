// Family 2: weight GEMMs through cuBLAS (bf16 in/out, fp32 accumulate), cold weights by rotation.
// Family 5: launch cost (empty kernels: stream, CUDA graph replay, host CPU time per launch call).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

#include "common.cuh"

namespace kvb {
namespace {
struct GemmShape {
  std::string model, label;
  int N, K;
};
std::vector<GemmShape> gemm_shapes(bool quick) {
  std::vector<GemmShape> v = {
      {"llama-3-8b", "qkv_gqa8", 6144, 4096},    {"llama-3-8b", "o", 4096, 4096},
      {"llama-3-8b", "gate_up", 28672, 4096},    {"llama-3-8b", "down", 4096, 14336},
      {"llama-3-8b", "lm_head", 128256, 4096},   {"llama-3-8b", "q_only", 4096, 4096},
      {"llama-3-8b", "qkv_mha", 12288, 4096},    {"llama-3-8b", "qkv_mqa", 4352, 4096},
      {"llama-3.2-1b", "qkv_gqa8", 3072, 2048},  {"llama-3.2-1b", "o", 2048, 2048},
      {"llama-3.2-1b", "gate_up", 16384, 2048},  {"llama-3.2-1b", "down", 2048, 8192},
      {"llama-3.2-1b", "lm_head", 128256, 2048}, {"llama-3.2-1b", "q_only", 2048, 2048},
      {"llama-3.2-1b", "qkv_mha", 6144, 2048},   {"llama-3.2-1b", "qkv_mqa", 2176, 2048},
  };
  if (quick) v.resize(5);
  return v;
}
}  // namespace

void run_gemm(Ctx& c) {
  const auto shapes = gemm_shapes(c.opt.quick);
  // M = 1..512 spans decode batches; 1024..8192 are prefill rows (B x P), where the GEMMs are compute-bound
  // long enough for the SM clock to settle at its power-limited value (recorded per sample).
  const std::vector<int> Ms = c.opt.quick ? std::vector<int>{1, 32, 128, 512, 4096}
                                          : std::vector<int>{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192};
  const int maxM = *std::max_element(Ms.begin(), Ms.end());
  std::size_t arena_B = 0, maxN = 0, maxK = 0;
  for (const auto& s : shapes) {
    const double set_B = 2.0 * s.N * s.K;
    const auto R = kvbench::rotation_sets(set_B, double(c.dev.l2_B));
    arena_B = std::max(arena_B, static_cast<std::size_t>(R * set_B));
    maxN = std::max<std::size_t>(maxN, s.N), maxK = std::max<std::size_t>(maxK, s.K);
  }
  DevBuf W(arena_B), X(std::size_t(2) * maxM * maxK), Y(std::size_t(2) * maxM * maxN);
  fill_bf16(W.p, W.bytes / 2, 21, -0.03f, 0.03f, c.stream);
  fill_bf16(X.p, X.bytes / 2, 22, -1.0f, 1.0f, c.stream);
  fill_bf16(Y.p, Y.bytes / 2, 23, -1.0f, 1.0f, c.stream);
  CK(cudaStreamSynchronize(c.stream));
  std::mt19937_64 rng(5);
  kvbench::StopRule rule = c.rule;
  rule.max_samples = c.opt.quick ? 100 : 200;
  rule.max_time_s = c.opt.quick ? 0.05 : 0.2;
  for (const auto& s : shapes) {
    const double set_B = 2.0 * s.N * s.K;
    const int R = static_cast<int>(kvbench::rotation_sets(set_B, double(c.dev.l2_B)));
    for (int M : Ms) {
      auto wptr = [&](int i) { return W.as<char>() + std::size_t(i % R) * std::size_t(set_B); };
      const Measured m = measure(
          c, [&](int i, cudaStream_t st, Marker&) { gemm_bf16(c.cublas, M, s.N, s.K, X.p, wptr(i), Y.p, 0.0f, st); }, {}, 2,
          &rule);
      // Verify: one more product with set 0, 24 random outputs against a host fp64 dot product.
      gemm_bf16(c.cublas, M, s.N, s.K, X.p, wptr(0), Y.p, 0.0f, c.stream);
      CK(cudaStreamSynchronize(c.stream));
      std::vector<double> got, ref;
      for (int q = 0; q < 24; ++q) {
        const int mi = static_cast<int>(rng() % M), ni = static_cast<int>(rng() % s.N);
        const auto xr = to_host_bf16(X.as<char>() + std::size_t(2) * mi * s.K, s.K);
        const auto wr = to_host_bf16(wptr(0) + std::size_t(2) * ni * s.K, s.K);
        double acc = 0;
        for (int k = 0; k < s.K; ++k) acc += double(xr[k]) * double(wr[k]);
        ref.push_back(acc);
        got.push_back(to_host_bf16(Y.as<char>() + (std::size_t(mi) * s.N + ni) * 2, 1)[0]);
      }
      const double err = rel_l2_error(got, ref);
      const bool ok = err < 2e-2;
      if (!ok) {
        ++c.failed_checks;
        std::printf("  CHECK FAILED: gemm %s M=%d rel error %.3g\n", s.label.c_str(), M, err);
      }
      const kvbench::Traffic t = kvbench::gemm_traffic(M, s.N, s.K);
      Json axes = Json::object();
      axes.set("M", M);
      axes.set("N", s.N);
      axes.set("K", s.K);
      axes.set("label", s.label);
      axes.set("model", s.model);
      axes.set("weight_sets", R);
      Json rec = make_record(c, "gemm", "cublas_gemm_bf16_" + s.model + "_" + s.label, std::move(axes), "cold", t.bytes_read,
                             t.bytes_written, t.flops, m.samples, m, ok, err);
      rec.set("fraction_of_hbm_read_ceiling",
              c.ceil.hbm_read_Bps > 0
                  ? (t.bytes_read + t.bytes_written) / kvbench::summarize(m.samples).median / c.ceil.hbm_read_Bps
                  : Json());
      c.add(std::move(rec));
      const double med = kvbench::summarize(m.samples).median;
      std::printf("  gemm %-13s %-9s M=%4d  %9.2f us  %7.1f GB/s  %7.1f TFLOP/s  err %.1e\n", s.model.c_str(), s.label.c_str(), M,
                  med * 1e6, (t.bytes_read + t.bytes_written) / med / 1e9, t.flops / med / 1e12, err);
    }
    if (c.checkpoint) c.checkpoint();
  }
}

int check_gemm(Ctx& c) {
  // Small odd shape with beta = 1 (the fused residual of the decode step).
  const int M = 5, N = 72, K = 136;
  DevBuf X(2 * M * K), W(2 * N * K), Y(2 * M * N);
  fill_bf16(X.p, M * K, 1, -1, 1, c.stream), fill_bf16(W.p, N * K, 2, -1, 1, c.stream), fill_bf16(Y.p, M * N, 3, -1, 1, c.stream);
  CK(cudaStreamSynchronize(c.stream));
  const auto x = to_host_bf16(X.p, M * K), w = to_host_bf16(W.p, N * K), y0 = to_host_bf16(Y.p, M * N);
  gemm_bf16(c.cublas, M, N, K, X.p, W.p, Y.p, 1.0f, c.stream);
  CK(cudaStreamSynchronize(c.stream));
  const auto y = to_host_bf16(Y.p, M * N);
  std::vector<double> got(y.begin(), y.end()), ref(M * N);
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) {
      double a = y0[m * N + n];
      for (int k = 0; k < K; ++k) a += double(x[m * K + k]) * w[n * K + k];
      ref[m * N + n] = a;
    }
  const double err = rel_l2_error(got, ref);
  std::printf("  check gemm (cuBLAS bf16, beta=1, %dx%dx%d): rel error %.2e %s\n", M, N, K, err, err < 1e-2 ? "ok" : "FAILED");
  return err < 1e-2 ? 0 : 1;
}

namespace {
__global__ void k_empty() {}
}  // namespace

void run_launch(Ctx& c) {
  // One empty kernel between the two events, queued behind the blocking kernel like every other family's
  // sample: what the timer itself adds to a one-launch sample (event records, launch latency, the empty
  // kernel's own run). kvscope calibrate subtracts it from gemm / attention samples before fitting the
  // per-kernel costs that apply inside a CUDA graph.
  {
    const Measured m = measure(c, [&](int, cudaStream_t s, Marker&) {
      k_empty<<<1, 32, 0, s>>>();
      CK_LAUNCH();
    });
    Json axes = Json::object();
    axes.set("mode", "event_single");
    axes.set("kernels", 1);
    axes.set("kernel", "empty<<<1,32>>>");
    c.add(make_record(c, "launch", "launch_event_single_empty", std::move(axes), "warm", 0, 0, 0, m.samples, m, true,
                      std::numeric_limits<double>::quiet_NaN()));
    std::printf("  launch event-timed single kernel  %.3f us\n", kvbench::summarize(m.samples).median * 1e6);
  }
  const std::vector<int> counts = c.opt.quick ? std::vector<int>{200} : std::vector<int>{100, 1000};
  for (int n : counts) {
    // Stream: n back-to-back launches between two events, no blocking kernel (a blocked queue of n launches
    // would stall the host): the steady-state cost per launch, host issue rate or GPU, whichever is slower.
    {
      const Measured m = measure(
          c,
          [&](int, cudaStream_t s, Marker&) {
            for (int i = 0; i < n; ++i) k_empty<<<1, 32, 0, s>>>();
            CK_LAUNCH();
          },
          {}, 2, nullptr, false);
      Json axes = Json::object();
      axes.set("mode", "stream");
      axes.set("kernels", n);
      axes.set("kernel", "empty<<<1,32>>>");
      c.add(make_record(c, "launch", "launch_stream_empty", std::move(axes), "warm", 0, 0, 0, m.samples, m, true,
                        std::numeric_limits<double>::quiet_NaN()));
      std::printf("  launch stream  n=%5d  %.3f us/kernel\n", n, kvbench::summarize(m.samples).median / n * 1e6);
    }
    // Graph: the n launches captured as one graph, replayed.
    {
      cudaGraph_t g;
      cudaGraphExec_t ge;
      CK(cudaStreamBeginCapture(c.stream, cudaStreamCaptureModeThreadLocal));
      for (int i = 0; i < n; ++i) k_empty<<<1, 32, 0, c.stream>>>();
      CK(cudaStreamEndCapture(c.stream, &g));
      CK(cudaGraphInstantiate(&ge, g, 0));
      CK(cudaGraphUpload(ge, c.stream));
      const Measured m = measure(c, [&](int, cudaStream_t s, Marker&) { CK(cudaGraphLaunch(ge, s)); });
      Json axes = Json::object();
      axes.set("mode", "graph");
      axes.set("kernels", n);
      axes.set("kernel", "empty<<<1,32>>>");
      c.add(make_record(c, "launch", "launch_graph_empty", std::move(axes), "warm", 0, 0, 0, m.samples, m, true,
                        std::numeric_limits<double>::quiet_NaN()));
      std::printf("  launch graph   n=%5d  %.3f us/kernel\n", n, kvbench::summarize(m.samples).median / n * 1e6);
      CK(cudaGraphExecDestroy(ge));
      CK(cudaGraphDestroy(g));
    }
    // Host CPU time of the launch calls alone (steady clock around the loop, no sync inside).
    if (n == counts.front()) {
      Measured m;
      std::vector<double> samples;
      const int batch = std::min(n, 256);  // stay below the launch queue depth
      for (int rep = 0; rep < 3 + 20; ++rep) {
        CK(cudaStreamSynchronize(c.stream));
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < batch; ++i) k_empty<<<1, 32, 0, c.stream>>>();
        const auto t1 = std::chrono::steady_clock::now();
        CK_LAUNCH();
        if (rep >= 3) samples.push_back(std::chrono::duration<double>(t1 - t0).count());
      }
      CK(cudaStreamSynchronize(c.stream));
      m.samples = samples;
      m.reason = kvbench::StopReason::sample_cap;
      Json axes = Json::object();
      axes.set("mode", "host_cpu");
      axes.set("kernels", batch);
      axes.set("kernel", "empty<<<1,32>>>");
      Json rec = make_record(c, "launch", "launch_host_cpu_empty", std::move(axes), "warm", 0, 0, 0, samples, m, true,
                             std::numeric_limits<double>::quiet_NaN());
      rec.set("timer", "host steady_clock around the cudaLaunchKernel calls (no GPU clock sampled)");
      c.add(std::move(rec));
      std::printf("  launch host    n=%5d  %.3f us/call\n", batch, kvbench::summarize(samples).median / batch * 1e6);
    }
  }
}

}  // namespace kvb
