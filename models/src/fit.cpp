#include "kvscope/models/fit.hpp"

#include <algorithm>
#include <cmath>

#include "kvscope/core/error.hpp"

namespace kvscope::models {

namespace {
// Solve A x = b (k x k, row-major) by Gaussian elimination with partial pivoting.
std::vector<double> solve(std::vector<double> a, std::vector<double> b, std::size_t k) {
  for (std::size_t col = 0; col < k; ++col) {
    std::size_t piv = col;
    for (std::size_t r = col + 1; r < k; ++r) {
      if (std::abs(a[r * k + col]) > std::abs(a[piv * k + col])) piv = r;
    }
    if (std::abs(a[piv * k + col]) < 1e-300)
      throw NumericError("least squares: singular system (parameters not identifiable from the data)");
    if (piv != col) {
      for (std::size_t c = 0; c < k; ++c) std::swap(a[col * k + c], a[piv * k + c]);
      std::swap(b[col], b[piv]);
    }
    for (std::size_t r = col + 1; r < k; ++r) {
      const double f = a[r * k + col] / a[col * k + col];
      for (std::size_t c = col; c < k; ++c) a[r * k + c] -= f * a[col * k + c];
      b[r] -= f * b[col];
    }
  }
  std::vector<double> x(k);
  for (std::size_t i = k; i-- > 0;) {
    double s = b[i];
    for (std::size_t c = i + 1; c < k; ++c) s -= a[i * k + c] * x[c];
    x[i] = s / a[i * k + i];
  }
  return x;
}
}  // namespace

std::vector<double> linear_least_squares(std::span<const double> x, std::span<const double> y, std::size_t k,
                                         std::span<const double> weights) {
  const std::size_t n = y.size();
  if (n < k) throw NumericError("least squares: fewer points than parameters");
  std::vector<double> ata(k * k, 0.0), atb(k, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    const double w = weights.empty() ? 1.0 : weights[i];
    for (std::size_t r = 0; r < k; ++r) {
      atb[r] += w * x[i * k + r] * y[i];
      for (std::size_t c = 0; c < k; ++c) ata[r * k + c] += w * x[i * k + r] * x[i * k + c];
    }
  }
  return solve(std::move(ata), std::move(atb), k);
}

namespace {
NonlinearFit robust_least_squares_unit(const std::function<void(std::span<const double>, std::span<double>)>& residuals,
                                       std::vector<double> p, std::span<const double> lower, std::span<const double> upper,
                                       std::size_t n, double huber_delta, int max_iterations) {
  const std::size_t k = p.size();
  auto clamp = [&](std::vector<double>& q) {
    for (std::size_t j = 0; j < k; ++j) q[j] = std::clamp(q[j], lower[j], upper[j]);
  };
  clamp(p);
  std::vector<double> r(n), r2(n), jac(n * k), w(n);
  auto loss = [&](std::span<const double> res) {
    double s = 0;
    for (double v : res) {
      const double a = std::abs(v);
      s += a <= huber_delta ? 0.5 * v * v : huber_delta * (a - 0.5 * huber_delta);
    }
    return s;
  };
  residuals(p, r);
  double current = loss(r);
  double lambda = 1e-3;
  NonlinearFit out;
  for (int it = 0; it < max_iterations; ++it) {
    out.iterations = it + 1;
    // Huber weights (IRLS) and a forward-difference Jacobian.
    for (std::size_t i = 0; i < n; ++i) {
      const double a = std::abs(r[i]);
      w[i] = a <= huber_delta ? 1.0 : huber_delta / a;
    }
    for (std::size_t j = 0; j < k; ++j) {
      std::vector<double> q = p;
      const double h = std::max(1e-7, 1e-5 * std::abs(p[j]));
      q[j] += h;
      residuals(q, r2);
      for (std::size_t i = 0; i < n; ++i) jac[i * k + j] = (r2[i] - r[i]) / h;
    }
    std::vector<double> jtj(k * k, 0.0), jtr(k, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t a = 0; a < k; ++a) {
        jtr[a] -= w[i] * jac[i * k + a] * r[i];
        for (std::size_t b = 0; b < k; ++b) jtj[a * k + b] += w[i] * jac[i * k + a] * jac[i * k + b];
      }
    }
    bool improved = false;
    for (int tries = 0; tries < 12 && !improved; ++tries) {
      std::vector<double> a = jtj;
      for (std::size_t j = 0; j < k; ++j) a[j * k + j] += lambda * (jtj[j * k + j] + 1e-12);
      std::vector<double> step;
      try {
        step = solve(a, jtr, k);
      } catch (const NumericError&) {
        lambda *= 10;
        continue;
      }
      std::vector<double> q = p;
      for (std::size_t j = 0; j < k; ++j) q[j] += step[j];
      clamp(q);
      residuals(q, r2);
      const double trial = loss(r2);
      if (std::isfinite(trial) && trial < current) {
        const double rel = (current - trial) / std::max(current, 1e-300);
        p = q;
        r = r2;
        current = trial;
        lambda = std::max(lambda / 3, 1e-12);
        improved = true;
        if (rel < 1e-10) out.converged = true;
      } else {
        lambda *= 10;
      }
    }
    if (!improved || out.converged) {
      out.converged = true;
      break;
    }
  }
  out.params = p;
  double ss = 0;
  for (double v : r) {
    ss += v * v;
    out.max_abs = std::max(out.max_abs, std::abs(v));
  }
  out.rms = n ? std::sqrt(ss / static_cast<double>(n)) : 0.0;
  return out;
}
}  // namespace

NonlinearFit robust_least_squares(const std::function<void(std::span<const double>, std::span<double>)>& residuals,
                                  std::vector<double> p, std::span<const double> lower, std::span<const double> upper,
                                  std::size_t n, double huber_delta, int max_iterations) {
  // Work on parameters scaled to O(1): a ceiling of 1e14 FLOP/s next to a fraction of 0.9 would
  // otherwise get a Jacobian column ~1e-14, and the damping would freeze it where it started.
  const std::size_t k = p.size();
  std::vector<double> scale(k), u(k), lo(k), hi(k);
  for (std::size_t j = 0; j < k; ++j) {
    scale[j] = std::abs(p[j]) > 0 ? std::abs(p[j]) : std::max({std::abs(lower[j]), std::abs(upper[j]), 1e-300});
    u[j] = p[j] / scale[j], lo[j] = lower[j] / scale[j], hi[j] = upper[j] / scale[j];
  }
  std::vector<double> q(k);
  auto unit = [&](std::span<const double> x, std::span<double> r) {
    for (std::size_t j = 0; j < k; ++j) q[j] = x[j] * scale[j];
    residuals(q, r);
  };
  NonlinearFit out = robust_least_squares_unit(unit, std::move(u), lo, hi, n, huber_delta, max_iterations);
  for (std::size_t j = 0; j < k; ++j) out.params[j] *= scale[j];
  return out;
}

}  // namespace kvscope::models
