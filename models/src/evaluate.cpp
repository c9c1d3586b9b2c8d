#include "kvscope/models/evaluate.hpp"

#include <algorithm>

#include "kvscope/models/simulate.hpp"

namespace kvscope::models {

namespace {
double step_time(const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t, double batch, double context, Runtime rt) {
  return decode_step(p, gpu, t, batch, context, rt).time_s;
}
}  // namespace

void derive_step_metrics(Evaluation& e, double batch, const TimingParams& t, double tpot_limit_s) {
  e.decode_step_s = e.decode.time_s;
  e.tpot_s = e.decode_step_s;
  e.decode_tokens_per_s = batch / e.decode_step_s;
  e.prefill_s = e.prefill.time_s;
  // The prefill's LM head yields the first token: TTFT is the prefill (a serving simulation adds
  // the queueing before it), not prefill + a decode step.
  e.ttft_s = e.prefill_s;
  e.achieved_Bps = e.decode.bytes / e.decode_step_s;
  e.bw_fraction = e.achieved_Bps / t.hbm_read_Bps;
  e.meets_tpot_limit = tpot_limit_s <= 0 || e.tpot_s <= tpot_limit_s;
}

void set_goodput(Evaluation& e, const GoodputResult& g) {
  if (g.cancelled) return;
  e.goodput_rps = g.goodput_rps;
  e.goodput_reason = g.goodput_rps > 0 ? std::string() : g.reason;
}

ServingView serving_view(const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t, std::int64_t max_batch, double context,
                         Runtime runtime, double tpot_limit_s) {
  auto step = [&](std::int64_t b) { return step_time(p, gpu, t, static_cast<double>(b), context, runtime); };
  std::int64_t hi = max_batch;
  if (hi > 0 && tpot_limit_s > 0 && step(hi) > tpot_limit_s) {
    std::int64_t lo = 0;  // invariant: step(lo) meets the limit (lo = 0: none does yet)
    while (hi - lo > 1) {
      const std::int64_t mid = lo + (hi - lo) / 2;
      if (step(mid) <= tpot_limit_s)
        lo = mid;
      else
        hi = mid;
    }
    hi = lo;
  }
  ServingView v;
  v.batch = hi;
  if (hi > 0) {
    v.step_s = step(hi);
    v.tokens_per_s = static_cast<double>(hi) / v.step_s;
  }
  return v;
}

Evaluation evaluate(const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t, const Workload& w,
                    const std::atomic<bool>* cancel) {
  Evaluation e;
  const double b = static_cast<double>(w.batch);
  const double s = static_cast<double>(w.context);
  e.memory = evaluate_memory(p, gpu, w);
  e.decode = decode_step(p, gpu, t, b, s, w.runtime);
  e.prefill = prefill(p, gpu, t, b, static_cast<double>(w.prompt), w.runtime);
  derive_step_metrics(e, b, t, w.tpot_limit_s);

  const ServingView v = serving_view(p, gpu, t, e.memory.max_batch, s, w.runtime, w.tpot_limit_s);
  e.max_throughput_batch = v.batch;
  e.max_throughput_step_s = v.step_s;
  e.max_throughput_tokens_per_s = v.tokens_per_s;
  if (w.serving.has_slo()) set_goodput(e, design_goodput(p, gpu, t, w, cancel));
  return e;
}

Evaluation evaluate(const Architecture& arch, const GpuSpec& gpu, const Workload& w) {
  validate(arch, arch.id.empty() ? "architecture" : arch.id);
  validate(gpu, gpu.id.empty() ? "gpu" : gpu.id);
  validate(w, "workload");
  const ArchProfile p = make_profile(arch, w.tp);
  return evaluate(p, gpu, stack_timing(gpu, w.stack).params, w);
}

}  // namespace kvscope::models
