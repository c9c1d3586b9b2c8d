// Shared CUDA-side infrastructure of kvbench: error checking, device description, the timing
// protocol (blocking kernel + events, SM clock per sample, throttle filter, stop rule), random fills.
#pragma once

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "kvbench/host.hpp"

namespace kvb {

using kvbench::Json;

[[noreturn]] void fail(const std::string& what, const char* file, int line);
inline void check_cuda(cudaError_t e, const char* expr, const char* file, int line) {
  if (e != cudaSuccess) fail(std::string(expr) + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")", file, line);
}
void check_cublas(cublasStatus_t s, const char* expr, const char* file, int line);

#define CK(x) ::kvb::check_cuda((x), #x, __FILE__, __LINE__)
#define CKB(x) ::kvb::check_cublas((x), #x, __FILE__, __LINE__)
#define CK_LAUNCH() ::kvb::check_cuda(cudaGetLastError(), "kernel launch", __FILE__, __LINE__)

struct DeviceInfo {
  int ordinal = 0;
  std::string name, uuid, driver_version_str;
  int cc_major = 0, cc_minor = 0, sm_count = 0;
  std::size_t l2_B = 0, persisting_l2_max_B = 0, mem_total_B = 0, smem_per_sm_B = 0;
  int mem_clock_kHz = 0, bus_width_bits = 0, sm_clock_max_kHz = 0;
  double driver_peak_Bps = 0;
  bool ecc = false;
  double power_limit_W = std::numeric_limits<double>::quiet_NaN();
  int driver_version = 0, runtime_version = 0;
  Json to_json() const;
};
DeviceInfo query_device(int ordinal);

// RAII device allocation.
struct DevBuf {
  void* p = nullptr;
  std::size_t bytes = 0;
  DevBuf() = default;
  explicit DevBuf(std::size_t n);
  ~DevBuf();
  DevBuf(const DevBuf&) = delete;
  DevBuf& operator=(const DevBuf&) = delete;
  DevBuf(DevBuf&& o) noexcept : p(o.p), bytes(o.bytes) { o.p = nullptr, o.bytes = 0; }
  DevBuf& operator=(DevBuf&& o) noexcept;
  template <class T>
  T* as() const {
    return static_cast<T*>(p);
  }
};

struct Options {
  bool quick = true;
  std::string mode = "quick";
  std::string out_json = "kvbench.json", out_csv = "kvbench.csv";
  std::vector<std::string> families;  // empty: all
  std::string git_sha = "unknown", notes, command_line, host;
  bool wants(const std::string& f) const;
};

struct Ceilings {
  double hbm_read_Bps = 0, hbm_copy_Bps = 0, l2_read_Bps = 0;
};

struct Ctx {
  Options opt;
  DeviceInfo dev;
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  DevBuf cublas_ws;
  volatile int* flag_host = nullptr;  // blocking-kernel release flag (mapped pinned memory)
  int* flag_dev = nullptr;
  volatile unsigned long long* ts_host = nullptr;  // [start: gt, clk, seq][end: gt, clk, seq]
  unsigned long long* ts_dev = nullptr;
  unsigned long long seq = 0;
  kvbench::StopRule rule;
  std::unique_ptr<kvbench::ThrottleFilter> throttle;
  Ceilings ceil;
  std::vector<Json> records, skipped;
  std::function<void()> checkpoint;  // writes the partial result files
  int failed_checks = 0;
  void add(Json rec);
  void skip(const std::string& family, Json axes, const std::string& reason);
};

void init_ctx(Ctx& c);
void destroy_ctx(Ctx& c);

// The sample index passed to work counts calls (warm-up included): use it to rotate buffer sets.
// One measured sample = [pre()] clock-start, blocking kernel (unless block = false), event 0, work(i, mark), event last,
// clock-end. work may call mark() to record intermediate events: the sample then has several intervals (interval k = event k+1 -
// event k); the primary time is the sum of `primary` intervals (all when empty).
struct Marker {
  std::function<void()> mark;
};
struct Measured {
  std::vector<double> samples;                 // primary time per accepted sample, s
  std::vector<std::vector<double>> intervals;  // per interval: accepted samples, s
  std::vector<double> clocks_kHz;              // per accepted sample (NaN when unknown)
  int discarded_throttled = 0;
  int unknown_clock = 0;
  double wall_s = 0;  // host wall time of the whole measurement (warm-up included)
  kvbench::StopReason reason = kvbench::StopReason::none;
  double clock_mean_kHz() const;
};
Measured measure(Ctx& c, const std::function<void(int sample, cudaStream_t s, Marker& m)>& work,
                 const std::function<void(cudaStream_t)>& pre = {}, int warmup = 2, const kvbench::StopRule* rule = nullptr,
                 bool block = true);

// A benchmark record with the contract's keys. max_rel_error NaN -> null.
Json make_record(const Ctx& c, const std::string& family, const std::string& name, Json axes, const std::string& l2_state,
                 double bytes_read, double bytes_written, double flops, const std::vector<double>& samples, const Measured& m,
                 bool verified, double max_rel_error);

// Random fills (hash-based, deterministic per seed): uniform in [lo, hi).
void fill_bf16(void* p, std::size_t n, std::uint64_t seed, float lo, float hi, cudaStream_t s);
void fill_f32(void* p, std::size_t n, std::uint64_t seed, float lo, float hi, cudaStream_t s);
void fill_fp8(void* p, std::size_t n, std::uint64_t seed, float lo, float hi, cudaStream_t s);
void fill_i32(int* p, std::size_t n, std::uint64_t seed, int mod, cudaStream_t s);
// L2 flush by reading `bytes` of buf (never a memset: no dirty lines left behind).
void flush_read(const DevBuf& buf, cudaStream_t s, int sm_count);
// Global warm-up: ~seconds of a bandwidth kernel so the SM clock leaves idle.
void global_warmup(Ctx& c, double seconds);

std::vector<float> to_host_bf16(const void* dev, std::size_t n);
float bf16_to_float_host(std::uint16_t bits);
float fp8_to_float_host(std::uint8_t bits);
double rel_l2_error(const std::vector<double>& got, const std::vector<double>& ref);

// Families (each adds records / skips to ctx).
void run_memory(Ctx& c);
void run_gemm(Ctx& c);
void run_launch(Ctx& c);
void run_attention(Ctx& c);
void run_attention_prefill(Ctx& c);
void run_elementwise(Ctx& c);
void run_cla_reuse(Ctx& c);
void run_e2e(Ctx& c);
// Correctness checks (host fp64 references). Return the number of failures; print one line each.
int check_attention(Ctx& c);
int check_layers(Ctx& c);
int check_gemm(Ctx& c);

// cuBLAS: Y[M,N] (ldy = N) = alpha X[M,K] W[N,K]^T + beta Y, bf16 in/out, fp32 accumulate.
void gemm_bf16(cublasHandle_t h, int M, int N, int K, const void* X, const void* W, void* Y, float beta, cudaStream_t s);

}  // namespace kvb
