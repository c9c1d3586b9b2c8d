#pragma once
// Small least-squares solvers used by the accuracy fit and the calibration fit.
#include <functional>
#include <span>
#include <vector>

namespace kvscope::models {

// Weighted linear least squares: minimize sum_i w_i (y_i - x_i . beta)^2 with X row-major
// (n x k). Throws NumericError when the normal equations are singular.
std::vector<double> linear_least_squares(std::span<const double> x, std::span<const double> y, std::size_t k,
                                         std::span<const double> weights = {});

// Robust nonlinear least squares (Levenberg-Marquardt on a Huber/soft-L1 loss via iteratively
// reweighted residuals). `residuals(params, out)` fills one residual per point (already scaled,
// e.g. relative error). Parameters are kept inside [lower, upper]. Returns the fitted params.
struct NonlinearFit {
  std::vector<double> params;
  double rms = 0;      // root mean square of the final (unweighted) residuals
  double max_abs = 0;  // largest |residual|
  int iterations = 0;
  bool converged = false;
};
NonlinearFit robust_least_squares(const std::function<void(std::span<const double>, std::span<double>)>& residuals,
                                  std::vector<double> initial, std::span<const double> lower, std::span<const double> upper,
                                  std::size_t n_residuals, double huber_delta = 0.05, int max_iterations = 200);

}  // namespace kvscope::models
