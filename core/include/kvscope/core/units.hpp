#pragma once
// Units used throughout kvscope.
//
// Inside the libraries every quantity is SI: bytes, seconds, FLOP, FLOP/s, B/s. Names carry the
// unit (`hbm_bandwidth_Bps`, `decode_step_s`). Conversion happens only at I/O (JSON keys such as
// `hbm_bandwidth_GBps`, table columns), using these constants:
//   GB  = 1e9 bytes (decimal, as on GPU datasheets)     GiB = 2^30 bytes (binary, as memory is sized)
//   TFLOP/s = 1e12 FLOP/s, GB/s = 1e9 B/s.
// Cache sizes are binary: a "50 MB" H100 L2 reports 52,428,800 B = 50 MiB, so GPU profiles use
// `l2_cache_MiB`.

namespace kvscope::units {

inline constexpr double kKB = 1e3;
inline constexpr double kMB = 1e6;
inline constexpr double kGB = 1e9;
inline constexpr double kTB = 1e12;
inline constexpr double kKiB = 1024.0;
inline constexpr double kMiB = 1024.0 * 1024.0;
inline constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
inline constexpr double kTera = 1e12;
inline constexpr double kMicro = 1e-6;
inline constexpr double kMilli = 1e-3;
inline constexpr double kNano = 1e-9;

}  // namespace kvscope::units
