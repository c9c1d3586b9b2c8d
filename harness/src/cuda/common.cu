#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "common.cuh"

namespace kvb {

void fail(const std::string& what, const char* file, int line) {
  throw std::runtime_error(std::string(file) + ":" + std::to_string(line) + ": " + what);
}

void check_cublas(cublasStatus_t s, const char* expr, const char* file, int line) {
  if (s != CUBLAS_STATUS_SUCCESS)
    fail(std::string(expr) + ": cuBLAS status " + std::to_string(int(s)) + " (" + cublasGetStatusString(s) + ")", file, line);
}

bool Options::wants(const std::string& f) const {
  return families.empty() || std::find(families.begin(), families.end(), f) != families.end();
}

DevBuf::DevBuf(std::size_t n) : bytes(n) {
  if (n) CK(cudaMalloc(&p, n));
}
DevBuf::~DevBuf() {
  if (p) cudaFree(p);
}
DevBuf& DevBuf::operator=(DevBuf&& o) noexcept {
  if (this != &o) {
    if (p) cudaFree(p);
    p = o.p, bytes = o.bytes;
    o.p = nullptr, o.bytes = 0;
  }
  return *this;
}

// ---------------------------------------------------------------- device description (NVML via dlopen, optional)
namespace {
struct Nvml {
  void* lib = nullptr;
  using Init = int (*)();
  using ByUuid = int (*)(const char*, void**);
  using PowerLimit = int (*)(void*, unsigned*);
  using DrvVer = int (*)(char*, unsigned);
  using MaxClock = int (*)(void*, int, unsigned*);
  Init init = nullptr;
  ByUuid by_uuid = nullptr;
  PowerLimit power = nullptr;
  DrvVer drv = nullptr;
  MaxClock max_clock = nullptr;
  Nvml() {
    lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return;
    init = reinterpret_cast<Init>(dlsym(lib, "nvmlInit_v2"));
    by_uuid = reinterpret_cast<ByUuid>(dlsym(lib, "nvmlDeviceGetHandleByUUID"));
    power = reinterpret_cast<PowerLimit>(dlsym(lib, "nvmlDeviceGetEnforcedPowerLimit"));
    drv = reinterpret_cast<DrvVer>(dlsym(lib, "nvmlSystemGetDriverVersion"));
    max_clock = reinterpret_cast<MaxClock>(dlsym(lib, "nvmlDeviceGetMaxClockInfo"));
    if (!init || init() != 0) lib = nullptr;
  }
};
}  // namespace

DeviceInfo query_device(int ordinal) {
  DeviceInfo d;
  d.ordinal = ordinal;
  cudaDeviceProp prop{};
  CK(cudaGetDeviceProperties(&prop, ordinal));
  d.name = prop.name;
  char u[64];
  const auto* b = reinterpret_cast<const unsigned char*>(prop.uuid.bytes);
  std::snprintf(u, sizeof u, "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
                b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  d.uuid = u;
  auto attr = [&](cudaDeviceAttr a) {
    int v = 0;
    CK(cudaDeviceGetAttribute(&v, a, ordinal));
    return v;
  };
  d.cc_major = attr(cudaDevAttrComputeCapabilityMajor);
  d.cc_minor = attr(cudaDevAttrComputeCapabilityMinor);
  d.sm_count = attr(cudaDevAttrMultiProcessorCount);
  d.l2_B = static_cast<std::size_t>(attr(cudaDevAttrL2CacheSize));
  d.persisting_l2_max_B = static_cast<std::size_t>(attr(cudaDevAttrMaxPersistingL2CacheSize));
  d.smem_per_sm_B = static_cast<std::size_t>(attr(cudaDevAttrMaxSharedMemoryPerMultiprocessor));
  d.mem_clock_kHz = attr(cudaDevAttrMemoryClockRate);
  d.bus_width_bits = attr(cudaDevAttrGlobalMemoryBusWidth);
  d.sm_clock_max_kHz = attr(cudaDevAttrClockRate);
  d.ecc = attr(cudaDevAttrEccEnabled) != 0;
  d.driver_peak_Bps = 2.0 * d.mem_clock_kHz * 1e3 * d.bus_width_bits / 8.0;
  CK(cudaSetDevice(ordinal));
  std::size_t free_b = 0, total_b = 0;
  CK(cudaMemGetInfo(&free_b, &total_b));
  d.mem_total_B = total_b;
  CK(cudaDriverGetVersion(&d.driver_version));
  CK(cudaRuntimeGetVersion(&d.runtime_version));
  Nvml nv;
  if (nv.lib && nv.by_uuid) {
    void* h = nullptr;
    if (nv.by_uuid(d.uuid.c_str(), &h) == 0) {
      unsigned mw = 0;
      if (nv.power && nv.power(h, &mw) == 0) d.power_limit_W = mw / 1000.0;
    }
    char ver[96] = {0};
    if (nv.drv && nv.drv(ver, sizeof ver) == 0) d.driver_version_str = ver;
  }
  return d;
}

Json DeviceInfo::to_json() const {
  Json j = Json::object();
  j.set("name", name);
  j.set("uuid", uuid);
  j.set("compute_capability", std::to_string(cc_major) + "." + std::to_string(cc_minor));
  j.set("sm_count", sm_count);
  j.set("l2_cache_B", static_cast<long long>(l2_B));
  j.set("persisting_l2_max_B", static_cast<long long>(persisting_l2_max_B));
  j.set("mem_total_B", static_cast<long long>(mem_total_B));
  j.set("mem_clock_kHz", mem_clock_kHz);
  j.set("bus_width_bits", bus_width_bits);
  j.set("driver_peak_bandwidth_Bps", driver_peak_Bps);
  j.set("sm_clock_max_kHz", sm_clock_max_kHz);
  j.set("ecc_enabled", ecc);
  j.set("power_limit_W", std::isfinite(power_limit_W) ? Json(power_limit_W) : Json());
  j.set("driver_version", driver_version_str.empty() ? Json(driver_version) : Json(driver_version_str));
  j.set("driver_api_version", driver_version);
  j.set("runtime_version", runtime_version);
  j.set("shared_mem_per_sm_B", static_cast<long long>(smem_per_sm_B));
  return j;
}

// ---------------------------------------------------------------- kernels of the timing protocol
namespace {
__device__ __forceinline__ unsigned long long globaltimer() {
  unsigned long long t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}
__global__ void k_block(volatile int* flag, unsigned long long timeout_ns) {
  const unsigned long long t0 = globaltimer();
  while (*flag == 0) {
    if (globaltimer() - t0 > timeout_ns) break;
  }
}
__global__ void k_clock(volatile unsigned long long* out, unsigned long long seq) {
  unsigned smid;
  asm volatile("mov.u32 %0, %%smid;" : "=r"(smid));
  if (smid == 0 && threadIdx.x == 0) {
    const unsigned long long clk = clock64();
    const unsigned long long gt = globaltimer();
    out[0] = gt;
    out[1] = clk;
    __threadfence_system();
    out[2] = seq;
  }
}
__device__ __forceinline__ std::uint64_t mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
__device__ __forceinline__ float u01(std::uint64_t h) {
  return static_cast<float>(h >> 40) * (1.0f / 16777216.0f);
}
__global__ void k_fill_bf16(__nv_bfloat16* p, std::size_t n, std::uint64_t seed, float lo, float hi) {
  for (std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; i < n; i += std::size_t(gridDim.x) * blockDim.x) {
    p[i] = __float2bfloat16(lo + (hi - lo) * u01(mix64(seed ^ (i * 0x632be59bd9b4e019ULL))));
  }
}
__global__ void k_fill_f32(float* p, std::size_t n, std::uint64_t seed, float lo, float hi) {
  for (std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; i < n; i += std::size_t(gridDim.x) * blockDim.x) {
    p[i] = lo + (hi - lo) * u01(mix64(seed ^ (i * 0x632be59bd9b4e019ULL)));
  }
}
__global__ void k_fill_fp8(__nv_fp8_e4m3* p, std::size_t n, std::uint64_t seed, float lo, float hi) {
  for (std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; i < n; i += std::size_t(gridDim.x) * blockDim.x) {
    p[i] = __nv_fp8_e4m3(lo + (hi - lo) * u01(mix64(seed ^ (i * 0x632be59bd9b4e019ULL))));
  }
}
__global__ void k_fill_i32(int* p, std::size_t n, std::uint64_t seed, int mod) {
  for (std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; i < n; i += std::size_t(gridDim.x) * blockDim.x) {
    p[i] = static_cast<int>(mix64(seed ^ (i * 0x632be59bd9b4e019ULL)) % static_cast<std::uint64_t>(mod));
  }
}
__global__ void k_flush(const uint4* __restrict__ a, std::size_t n, unsigned* out) {
  unsigned acc = 0;
  for (std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; i < n; i += std::size_t(gridDim.x) * blockDim.x) {
    const uint4 v = __ldcg(a + i);
    acc ^= v.x ^ v.y ^ v.z ^ v.w;
  }
  if (acc == 0x2545F491u) out[0] = acc;
}
int fill_grid() {
  return 132 * 8;
}
}  // namespace

void fill_bf16(void* p, std::size_t n, std::uint64_t seed, float lo, float hi, cudaStream_t s) {
  k_fill_bf16<<<fill_grid(), 256, 0, s>>>(static_cast<__nv_bfloat16*>(p), n, seed, lo, hi);
  CK_LAUNCH();
}
void fill_f32(void* p, std::size_t n, std::uint64_t seed, float lo, float hi, cudaStream_t s) {
  k_fill_f32<<<fill_grid(), 256, 0, s>>>(static_cast<float*>(p), n, seed, lo, hi);
  CK_LAUNCH();
}
void fill_fp8(void* p, std::size_t n, std::uint64_t seed, float lo, float hi, cudaStream_t s) {
  k_fill_fp8<<<fill_grid(), 256, 0, s>>>(static_cast<__nv_fp8_e4m3*>(p), n, seed, lo, hi);
  CK_LAUNCH();
}
void fill_i32(int* p, std::size_t n, std::uint64_t seed, int mod, cudaStream_t s) {
  k_fill_i32<<<fill_grid(), 256, 0, s>>>(p, n, seed, mod);
  CK_LAUNCH();
}
void flush_read(const DevBuf& buf, cudaStream_t s, int sm_count) {
  // The result slot is the buffer's first word: the condition is practically never true, and writing
  // one word back would not matter.
  k_flush<<<sm_count * 8, 256, 0, s>>>(buf.as<const uint4>(), buf.bytes / 16, buf.as<unsigned>());
  CK_LAUNCH();
}

void global_warmup(Ctx& c, double seconds) {
  DevBuf buf(std::size_t(1) << 30);
  fill_f32(buf.p, buf.bytes / 4, 7, -1, 1, c.stream);
  const auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < seconds) {
    for (int i = 0; i < 8; ++i) flush_read(buf, c.stream, c.dev.sm_count);
    CK(cudaStreamSynchronize(c.stream));
  }
}

std::vector<float> to_host_bf16(const void* dev, std::size_t n) {
  std::vector<std::uint16_t> raw(n);
  CK(cudaMemcpy(raw.data(), dev, n * 2, cudaMemcpyDeviceToHost));
  std::vector<float> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = bf16_to_float_host(raw[i]);
  return out;
}
float bf16_to_float_host(std::uint16_t bits) {
  std::uint32_t u = std::uint32_t(bits) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
float fp8_to_float_host(std::uint8_t bits) {
  __nv_fp8_e4m3 v;
  v.__x = bits;
  return static_cast<float>(v);
}
double rel_l2_error(const std::vector<double>& got, const std::vector<double>& ref) {
  if (got.size() != ref.size() || got.empty()) return std::numeric_limits<double>::infinity();
  double num = 0, den = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (!std::isfinite(got[i])) return std::numeric_limits<double>::infinity();
    num += (got[i] - ref[i]) * (got[i] - ref[i]);
    den += ref[i] * ref[i];
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

// ---------------------------------------------------------------- context
void Ctx::add(Json rec) {
  records.push_back(std::move(rec));
}
void Ctx::skip(const std::string& family, Json axes, const std::string& reason) {
  Json s = Json::object();
  s.set("family", family);
  s.set("axes", std::move(axes));
  s.set("reason", reason);
  skipped.push_back(std::move(s));
}

void init_ctx(Ctx& c) {
  c.dev = query_device(0);
  CK(cudaSetDevice(0));
  CK(cudaSetDeviceFlags(cudaDeviceMapHost));
  CK(cudaStreamCreateWithFlags(&c.stream, cudaStreamNonBlocking));
  CKB(cublasCreate(&c.cublas));
  CKB(cublasSetStream(c.cublas, c.stream));
  c.cublas_ws = DevBuf(std::size_t(64) << 20);
  CKB(cublasSetWorkspace(c.cublas, c.cublas_ws.p, c.cublas_ws.bytes));
  void* f = nullptr;
  CK(cudaHostAlloc(&f, 64, cudaHostAllocMapped));
  c.flag_host = static_cast<volatile int*>(f);
  CK(cudaHostGetDevicePointer(reinterpret_cast<void**>(&c.flag_dev), f, 0));
  void* t = nullptr;
  CK(cudaHostAlloc(&t, 64, cudaHostAllocMapped));
  c.ts_host = static_cast<volatile unsigned long long*>(t);
  CK(cudaHostGetDevicePointer(reinterpret_cast<void**>(&c.ts_dev), t, 0));
  c.throttle = std::make_unique<kvbench::ThrottleFilter>(double(c.dev.sm_clock_max_kHz), 0.75);
}

void destroy_ctx(Ctx& c) {
  if (c.cublas) cublasDestroy(c.cublas);
  c.cublas_ws = DevBuf();
  if (c.flag_host) cudaFreeHost(const_cast<int*>(c.flag_host));
  if (c.ts_host) cudaFreeHost(const_cast<unsigned long long*>(c.ts_host));
  if (c.stream) cudaStreamDestroy(c.stream);
}

double Measured::clock_mean_kHz() const {
  double s = 0;
  int n = 0;
  for (double x : clocks_kHz) {
    if (std::isfinite(x)) s += x, ++n;
  }
  return n ? s / n : std::numeric_limits<double>::quiet_NaN();
}

Measured measure(Ctx& c, const std::function<void(int, cudaStream_t, Marker&)>& work,
                 const std::function<void(cudaStream_t)>& pre, int warmup, const kvbench::StopRule* rule_override, bool block) {
  const kvbench::StopRule& rule = rule_override ? *rule_override : c.rule;
  constexpr int kMaxEvents = 8;
  cudaEvent_t ev[kMaxEvents];
  for (auto& e : ev) CK(cudaEventCreate(&e));
  Measured m;
  double accumulated = 0;
  int consecutive_throttled = 0;
  const auto wall0 = std::chrono::steady_clock::now();
  const double wall_cap = std::max(3.0, 6.0 * rule.max_time_s);
  for (int i = -warmup;; ++i) {
    if (pre) pre(c.stream);
    const unsigned long long seq0 = ++c.seq;
    k_clock<<<c.dev.sm_count * 2, 32, 0, c.stream>>>(c.ts_dev, seq0);
    CK_LAUNCH();
    *c.flag_host = 0;
    std::atomic_thread_fence(std::memory_order_seq_cst);
    // The first warm-up sample runs unblocked: lazy module loading or library set-up on a first call may
    // wait for the stream, which would stall behind the blocking kernel until its timeout.
    if (block && i > -warmup) {
      k_block<<<1, 1, 0, c.stream>>>(c.flag_dev, 1000000000ULL);
      CK_LAUNCH();
    }
    int n_ev = 0;
    CK(cudaEventRecord(ev[n_ev++], c.stream));
    Marker mk;
    mk.mark = [&] {
      if (n_ev >= kMaxEvents - 1) fail("too many markers in one sample", __FILE__, __LINE__);
      CK(cudaEventRecord(ev[n_ev++], c.stream));
    };
    work(i + warmup, c.stream, mk);
    CK(cudaEventRecord(ev[n_ev++], c.stream));
    const unsigned long long seq1 = ++c.seq;
    k_clock<<<c.dev.sm_count * 2, 32, 0, c.stream>>>(c.ts_dev + 3, seq1);
    CK_LAUNCH();
    std::atomic_thread_fence(std::memory_order_seq_cst);
    *c.flag_host = 1;
    CK(cudaStreamSynchronize(c.stream));
    if (i < 0) continue;
    std::vector<double> iv;
    double total = 0;
    for (int k = 0; k + 1 < n_ev; ++k) {
      float ms = 0;
      CK(cudaEventElapsedTime(&ms, ev[k], ev[k + 1]));
      iv.push_back(ms * 1e-3);
      total += ms * 1e-3;
    }
    double clk = std::numeric_limits<double>::quiet_NaN();
    if (c.ts_host[2] == seq0 && c.ts_host[5] == seq1 && c.ts_host[3] > c.ts_host[0]) {
      clk = double(c.ts_host[4] - c.ts_host[1]) / double(c.ts_host[3] - c.ts_host[0]) * 1e6;  // cycles/ns -> kHz
    } else {
      ++m.unknown_clock;
    }
    if (!c.throttle->accept(clk)) {
      ++m.discarded_throttled;
      ++consecutive_throttled;
      std::this_thread::sleep_for(std::chrono::milliseconds(consecutive_throttled > 3 ? 300 : 50));
    } else {
      consecutive_throttled = 0;
      m.samples.push_back(total);
      m.clocks_kHz.push_back(clk);
      if (m.intervals.size() < iv.size()) m.intervals.resize(iv.size());
      for (std::size_t k = 0; k < iv.size(); ++k) m.intervals[k].push_back(iv[k]);
      accumulated += total;
    }
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    m.reason = kvbench::should_stop(rule, m.samples, accumulated);
    if (m.reason != kvbench::StopReason::none) break;
    if (wall > wall_cap && m.samples.size() >= 3) {
      m.reason = kvbench::StopReason::time_cap;
      break;
    }
    if (wall > 4 * wall_cap) fail("measurement made no progress (every sample throttled?)", __FILE__, __LINE__);
  }
  for (auto& e : ev) cudaEventDestroy(e);
  m.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  return m;
}

Json make_record(const Ctx& c, const std::string& family, const std::string& name, Json axes, const std::string& l2_state,
                 double bytes_read, double bytes_written, double flops, const std::vector<double>& samples, const Measured& m,
                 bool verified, double max_rel_error) {
  const kvbench::Summary s = kvbench::summarize(samples);
  Json r = Json::object();
  r.set("family", family);
  r.set("name", name);
  r.set("axes", std::move(axes));
  r.set("l2_state", l2_state);
  r.set("bytes_read_B", bytes_read);
  r.set("bytes_written_B", bytes_written);
  r.set("flop_count", flops);
  r.set("samples_s", Json::numbers(samples));
  r.set("median_s", s.median);
  r.set("mean_s", s.mean);
  r.set("stdev_s", s.stdev);
  r.set("q1_s", s.q1);
  r.set("q3_s", s.q3);
  r.set("min_s", s.min);
  r.set("rel_stdev", s.rel_stdev);
  r.set("sample_count", static_cast<long long>(s.count));
  r.set("discarded_throttled_count", m.discarded_throttled);
  r.set("sm_clock_mean_kHz", m.clock_mean_kHz());
  r.set("achieved_Bps", (bytes_read + bytes_written) / s.median);
  r.set("achieved_flops", flops / s.median);
  r.set("verified", verified);
  r.set("max_rel_error", max_rel_error);
  r.set("stop_reason", kvbench::to_string(m.reason));
  r.set("unknown_clock_count", m.unknown_clock);
  r.set("measure_wall_s", m.wall_s);
  (void)c;
  return r;
}

void gemm_bf16(cublasHandle_t h, int M, int N, int K, const void* X, const void* W, void* Y, float beta, cudaStream_t) {
  const float alpha = 1.0f;
  CKB(cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, N, M, K, &alpha, W, CUDA_R_16BF, K, X, CUDA_R_16BF, K, &beta, Y, CUDA_R_16BF, N,
                   CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

}  // namespace kvb
