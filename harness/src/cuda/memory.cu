// Family 1: memory ceilings. read / copy / triad / write over a footprint sweep (L2 -> HBM).
// 16-byte accesses, grid-stride, 4 independent accesses in flight per thread, L1 bypassed (.cg) so that
// repeated passes inside one launch measure L2, not L1.
#include <algorithm>
#include <cstdio>
#include <cstring>

#include "common.cuh"

namespace kvb {
namespace {
constexpr int U = 4;

__global__ void __launch_bounds__(256) k_read(const uint4* __restrict__ a, std::size_t n, int reps, unsigned* out) {
  const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
  const std::size_t tid = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  unsigned acc = 0;
  for (int r = 0; r < reps; ++r) {
    std::size_t i = tid;
    for (; i + (U - 1) * stride < n; i += U * stride) {
      uint4 v[U];
#pragma unroll
      for (int k = 0; k < U; ++k) v[k] = __ldcg(a + i + k * stride);
#pragma unroll
      for (int k = 0; k < U; ++k) acc ^= v[k].x ^ v[k].y ^ v[k].z ^ v[k].w;
    }
    for (; i < n; i += stride) {
      const uint4 v = __ldcg(a + i);
      acc ^= v.x ^ v.y ^ v.z ^ v.w;
    }
    acc = acc * 0x9E3779B1u + r;
  }
  if (acc == 0x2545F491u) out[0] = acc;
}

__global__ void __launch_bounds__(256) k_copy(const uint4* __restrict__ a, uint4* __restrict__ b, std::size_t n, int reps) {
  const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
  const std::size_t tid = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  for (int r = 0; r < reps; ++r) {
    std::size_t i = tid;
    for (; i + (U - 1) * stride < n; i += U * stride) {
      uint4 v[U];
#pragma unroll
      for (int k = 0; k < U; ++k) v[k] = __ldcg(a + i + k * stride);
#pragma unroll
      for (int k = 0; k < U; ++k) __stcg(b + i + k * stride, v[k]);
    }
    for (; i < n; i += stride) __stcg(b + i, __ldcg(a + i));
  }
}

__device__ __forceinline__ float4 fma4(float4 x, float s, float4 y) {
  return make_float4(x.x + s * y.x, x.y + s * y.y, x.z + s * y.z, x.w + s * y.w);
}
// a = b + s c
__global__ void __launch_bounds__(256) k_triad(float4* __restrict__ a, const float4* __restrict__ b, const float4* __restrict__ c,
                                               float s, std::size_t n, int reps) {
  const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
  const std::size_t tid = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  for (int r = 0; r < reps; ++r) {
    std::size_t i = tid;
    for (; i + (U - 1) * stride < n; i += U * stride) {
      float4 x[U], y[U];
#pragma unroll
      for (int k = 0; k < U; ++k) x[k] = __ldcg(b + i + k * stride), y[k] = __ldcg(c + i + k * stride);
#pragma unroll
      for (int k = 0; k < U; ++k) __stcg(a + i + k * stride, fma4(x[k], s, y[k]));
    }
    for (; i < n; i += stride) __stcg(a + i, fma4(__ldcg(b + i), s, __ldcg(c + i)));
  }
}

__global__ void __launch_bounds__(256) k_write(uint4* __restrict__ a, std::size_t n, int reps, unsigned seed) {
  const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
  const std::size_t tid = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  for (int r = 0; r < reps; ++r) {
    const unsigned s = seed + 0x9E3779B9u * r;
    std::size_t i = tid;
    for (; i + (U - 1) * stride < n; i += U * stride) {
#pragma unroll
      for (int k = 0; k < U; ++k) {
        const unsigned x = unsigned(i + k * stride) * 2654435761u + s;
        __stcg(a + i + k * stride, make_uint4(x | 1u, x ^ 0x5bd1e995u, x + 0x3c6ef372u, ~x));
      }
    }
    for (; i < n; i += stride) {
      const unsigned x = unsigned(i) * 2654435761u + s;
      __stcg(a + i, make_uint4(x | 1u, x ^ 0x5bd1e995u, x + 0x3c6ef372u, ~x));
    }
  }
}
}  // namespace

void run_memory(Ctx& c) {
  const double MiB = 1048576.0;
  std::vector<double> fp_mib = c.opt.quick ? std::vector<double>{2, 8, 16, 32, 48, 64, 96, 128, 512, 1024}
                                           : std::vector<double>{1,  2,  3,  4,  6,   8,   12,  16,  20,  24,   32,   40,  48,
                                                                 56, 64, 80, 96, 128, 192, 256, 384, 512, 1024, 2048, 4096};
  const std::size_t max_fp = static_cast<std::size_t>(fp_mib.back() * MiB);
  DevBuf arena(max_fp + (1 << 20));
  DevBuf sink(4096);
  fill_f32(arena.p, arena.bytes / 4, 11, -1.0f, 1.0f, c.stream);
  CK(cudaStreamSynchronize(c.stream));
  const int grid = c.dev.sm_count * 8;  // 8 x 256 threads = full occupancy per SM
  const double per_launch_target = 256 * MiB;
  std::vector<double> read_hbm, copy_hbm, read_l2;
  for (double mib : fp_mib) {
    for (const auto k :
         {kvbench::MemKernel::read, kvbench::MemKernel::copy, kvbench::MemKernel::triad, kvbench::MemKernel::write}) {
      const int arrays = kvbench::mem_arrays(k);
      // Each array: footprint / arrays, rounded down to 4 KiB.
      const std::size_t arr = (static_cast<std::size_t>(mib * MiB) / arrays) & ~std::size_t(4095);
      const std::size_t footprint = arr * arrays;
      const int reps = static_cast<int>(std::max(1.0, std::ceil(per_launch_target / double(footprint))));
      const std::size_t n16 = arr / 16;
      char* base = arena.as<char>();
      auto work = [&](int, cudaStream_t s, Marker&) {
        switch (k) {
          case kvbench::MemKernel::read:
            k_read<<<grid, 256, 0, s>>>(reinterpret_cast<const uint4*>(base), n16, reps, sink.as<unsigned>());
            break;
          case kvbench::MemKernel::copy:
            k_copy<<<grid, 256, 0, s>>>(reinterpret_cast<const uint4*>(base), reinterpret_cast<uint4*>(base + arr), n16, reps);
            break;
          case kvbench::MemKernel::triad:
            k_triad<<<grid, 256, 0, s>>>(reinterpret_cast<float4*>(base), reinterpret_cast<const float4*>(base + arr),
                                         reinterpret_cast<const float4*>(base + 2 * arr), 0.5f, n16, reps);
            break;
          case kvbench::MemKernel::write:
            k_write<<<grid, 256, 0, s>>>(reinterpret_cast<uint4*>(base), n16, reps, 12345u);
            break;
        }
        CK_LAUNCH();
      };
      kvbench::StopRule rule = c.rule;
      rule.max_samples = c.opt.quick ? 100 : 200;
      const Measured m = measure(c, work, {}, 2, &rule);
      // Spot check of the output (first and last 4 KiB of the written array) against the inputs.
      bool ok = true;
      if (k != kvbench::MemKernel::read) {
        CK(cudaStreamSynchronize(c.stream));
        const std::size_t nw = 1024;  // floats / words per window
        for (const std::size_t off : {std::size_t(0), arr - nw * 4}) {
          std::vector<std::uint32_t> a(nw), b(nw), cc(nw);
          CK(cudaMemcpy(a.data(), base + off, nw * 4, cudaMemcpyDeviceToHost));
          if (k == kvbench::MemKernel::copy) {
            CK(cudaMemcpy(b.data(), base + arr + off, nw * 4, cudaMemcpyDeviceToHost));
            ok = ok && a == b;
          } else if (k == kvbench::MemKernel::triad) {
            CK(cudaMemcpy(b.data(), base + arr + off, nw * 4, cudaMemcpyDeviceToHost));
            CK(cudaMemcpy(cc.data(), base + 2 * arr + off, nw * 4, cudaMemcpyDeviceToHost));
            for (std::size_t q = 0; q < nw; ++q) {
              float fa, fb, fc;
              std::memcpy(&fa, &a[q], 4), std::memcpy(&fb, &b[q], 4), std::memcpy(&fc, &cc[q], 4);
              if (std::isfinite(fb) && std::isfinite(fc) &&
                  std::abs(fa - (fb + 0.5f * fc)) > 1e-6f * (1 + std::abs(fb) + std::abs(fc)))
                ok = false;
            }
          } else {
            for (std::size_t q = 0; q < nw; q += 4) {
              const unsigned x = unsigned((off / 16) + q / 4) * 2654435761u + 12345u + 0x9E3779B9u * unsigned(reps - 1);
              if (a[q] != (x | 1u) || a[q + 3] != ~x) ok = false;
            }
          }
        }
        if (!ok) {
          ++c.failed_checks;
          std::printf("  CHECK FAILED: memory %s output spot check\n", kvbench::to_string(k));
        }
      }
      const kvbench::Traffic t = kvbench::memory_traffic(k, double(arr), reps);
      Json axes = Json::object();
      axes.set("kernel", kvbench::to_string(k));
      axes.set("footprint_B", static_cast<long long>(footprint));
      axes.set("array_B", static_cast<long long>(arr));
      axes.set("reps_per_launch", reps);
      axes.set("footprint_over_l2", double(footprint) / double(c.dev.l2_B));
      Json rec = make_record(c, "memory", std::string("memory_") + kvbench::to_string(k), std::move(axes), "warm", t.bytes_read,
                             t.bytes_written, t.flops, m.samples, m, ok, std::numeric_limits<double>::quiet_NaN());
      const double bw = (t.bytes_read + t.bytes_written) / kvbench::summarize(m.samples).median;
      rec.set("verified_note", k == kvbench::MemKernel::read ? "read kernel: no output (loads kept live by a checksum)"
                                                             : "output spot-checked (first and last 4 KiB) against the inputs");
      c.add(std::move(rec));
      if (footprint >= 8 * c.dev.l2_B && k == kvbench::MemKernel::read) read_hbm.push_back(bw);
      if (footprint >= 8 * c.dev.l2_B && k == kvbench::MemKernel::copy) copy_hbm.push_back(bw);
      if (footprint <= c.dev.l2_B / 4 && k == kvbench::MemKernel::read) read_l2.push_back(bw);
      std::printf("  memory %-5s %9.1f MiB reps %4d  %8.1f GB/s\n", kvbench::to_string(k), footprint / MiB, reps, bw / 1e9);
    }
    if (c.checkpoint) c.checkpoint();
  }
  auto med = [](std::vector<double> v) { return v.empty() ? 0.0 : kvbench::quantile(v, 0.5); };
  c.ceil.hbm_read_Bps = med(read_hbm);
  c.ceil.hbm_copy_Bps = med(copy_hbm);
  c.ceil.l2_read_Bps = med(read_l2);
}

}  // namespace kvb
