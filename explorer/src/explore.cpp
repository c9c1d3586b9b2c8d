#include "kvscope/explorer/explore.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <iterator>
#include <limits>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>

#include "kvscope/core/axes.hpp"
#include "kvscope/core/error.hpp"
#include "kvscope/explorer/pareto.hpp"
#include "kvscope/models/evaluate.hpp"
#include "kvscope/models/memory.hpp"
#include "kvscope/models/simulate.hpp"
#include "kvscope/models/timing.hpp"

namespace kvscope::models {

namespace {

using Clock = std::chrono::steady_clock;

// The architecture-override axes, in flattened-index order (outermost first): the registry's
// architecture rows in table order.
const std::vector<const DesignField*>& override_fields() {
  static const std::vector<const DesignField*> f = [] {
    std::vector<const DesignField*> v;
    for (const DesignField& d : design_fields()) {
      if (d.is_arch()) v.push_back(&d);
    }
    return v;
  }();
  return f;
}

std::vector<std::size_t> override_sizes(const OverrideAxes& o) {
  std::vector<std::size_t> n;
  for (const DesignField* f : override_fields()) n.push_back(f->bind.axis_size(o));
  return n;
}

// a * b, or an InputError naming the sweep when the product leaves 64 bits.
std::uint64_t mul_checked(std::uint64_t a, std::uint64_t b, const std::string& where) {
  if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) {
    throw InputError(where, "", "a sweep of at most 2^64 points", "a Cartesian product larger than that");
  }
  return a * b;
}

template <typename T>
std::size_t at_least_one(const std::vector<T>& v) {
  return std::max<std::size_t>(v.size(), 1);
}

// The workload axes with defaults filled in, validated value by value with the single-point
// rules (validate(Workload)), so a bad value fails before the sweep, naming its axis.
struct Axes {
  std::vector<std::int64_t> batch, context, prompt;
  std::vector<int> tp;
  std::vector<Runtime> runtime;
  std::vector<double> tpot;
};

Axes resolve_axes(const WorkloadAxes& a, const std::string& where) {
  const Workload d;
  Axes x;
  x.batch = a.batch.empty() ? std::vector<std::int64_t>{1} : a.batch;
  x.context = a.context.empty() ? std::vector<std::int64_t>{d.context} : a.context;
  x.prompt = a.prompt.empty() ? std::vector<std::int64_t>{d.prompt} : a.prompt;
  x.tp = a.tp.empty() ? std::vector<int>{1} : a.tp;
  x.runtime = a.runtime.empty() ? std::vector<Runtime>{Runtime::graph} : a.runtime;
  x.tpot = a.tpot_limit_s.empty() ? std::vector<double>{0.0} : a.tpot_limit_s;
  Workload w;
  w.engine = a.engine;
  w.serving = a.serving;
  validate(w, where);
  // Every value of an axis, in the workload it makes with the sweep's one-value knobs.
  auto check_axis = [&](const auto& values, auto member, const char* axis) {
    for (auto v : values) {
      Workload t = w;
      t.*member = v;
      validate(t, where + " " + axis + " axis");
    }
  };
  check_axis(x.batch, &Workload::batch, "batch");
  check_axis(x.context, &Workload::context, "context");
  check_axis(x.prompt, &Workload::prompt, "prompt");
  check_axis(x.tp, &Workload::tp, "tp");
  check_axis(x.tpot, &Workload::tpot_limit_s, "tpot_limit");
  return x;
}

// Skip reasons group alike errors: digit runs that start a token ("(32)", "found 12") become
// '#', while digits inside names ("fp8", "CLA2", "n_q_heads") stay.
std::string strip_numbers(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const bool token_start = i == 0 || !(std::isalnum(static_cast<unsigned char>(s[i - 1])) || s[i - 1] == '_');
    if (token_start && std::isdigit(static_cast<unsigned char>(s[i]))) {
      while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
      out += '#';
    } else {
      out += s[i++];
    }
  }
  return out;
}

struct ProfileEntry {
  ArchProfile profile;
  std::uint32_t reason = 0;  // 0: valid; else 1 + index into State::reasons
};

struct State {
  std::string where;
  Axes ax;
  EngineMemory engine;
  ServingLoad serving;
  std::vector<GpuSpec> gpus;
  std::vector<TimingParams> tparams;
  std::vector<std::string> stack_of;  // by GPU-axis index: the stack of that (GPU, stack) pair
  std::vector<double> capacity_B;
  std::vector<ProfileEntry> profiles;  // [combo * n_tp + tp_i]
  std::shared_ptr<SweepTables> tables;
  std::vector<std::string> reasons, examples;
  // Sizes, outermost first, and the number of points under one (architecture, tp).
  std::uint64_t n_combo = 0, n_tp = 0, n_gpu = 0, n_rt = 0, n_tpot = 0, n_prompt = 0, n_ctx = 0, n_batch = 0;
  std::uint64_t per_profile = 0, total = 0;
  std::vector<Constraint> constraints;
  std::vector<const Field*> constraint_fields;
  std::vector<Objective> objectives;
  std::vector<const Field*> objective_fields;
  std::vector<Sense> senses;
  bool frontier_infeasible = false;  // SweepOptions::frontier_infeasible
  // Goodput per design [(profile entry * n_gpu + gpu) * n_rt + runtime], when searched.
  bool goodput = false;
  std::vector<double> goodput_rps;
  std::vector<std::string> goodput_reason;
};

// Position of a point in every axis.
struct Cursor {
  std::uint64_t combo = 0, tp = 0, gpu = 0, rt = 0, tpot = 0, prompt = 0, ctx = 0, batch = 0;
};

std::uint64_t design_index(const State& s, const Cursor& c) {
  return ((c.combo * s.n_tp + c.tp) * s.n_gpu + c.gpu) * s.n_rt + c.rt;
}

Cursor decode_index(const State& s, std::uint64_t i) {
  Cursor c;
  c.batch = i % s.n_batch, i /= s.n_batch;
  c.ctx = i % s.n_ctx, i /= s.n_ctx;
  c.prompt = i % s.n_prompt, i /= s.n_prompt;
  c.tpot = i % s.n_tpot, i /= s.n_tpot;
  c.rt = i % s.n_rt, i /= s.n_rt;
  c.gpu = i % s.n_gpu, i /= s.n_gpu;
  c.tp = i % s.n_tp, i /= s.n_tp;
  c.combo = i;
  return c;
}

void fill_workload(const State& s, const Cursor& c, Workload& w) {
  w.batch = s.ax.batch[c.batch];
  w.context = s.ax.context[c.ctx];
  w.prompt = s.ax.prompt[c.prompt];
  w.tp = s.ax.tp[c.tp];
  w.runtime = s.ax.runtime[c.rt];
  w.stack = s.stack_of[c.gpu];
  w.tpot_limit_s = s.ax.tpot[c.tpot];
  w.engine = s.engine;
  w.serving = s.serving;
}

// ---- Building the per-(architecture, tp) tables ---------------------------------------------

ArchOverrides combo_overrides(const OverrideAxes& o, const std::vector<std::size_t>& k) {
  ArchOverrides r;
  const auto& fields = override_fields();
  for (std::size_t a = 0; a < fields.size(); ++a) {
    if (fields[a]->bind.axis_size(o) > 0) fields[a]->bind.pick(o, k[a], r);
  }
  return r;
}

// Worker threads that are always stopped and joined: the destructor runs `stop` (which must wake
// every worker) and joins, on every exit path of the caller (an exception in the sink, bad_alloc,
// a failed thread creation), so no joinable std::thread is ever destroyed (std::terminate).
class ThreadGroup {
 public:
  explicit ThreadGroup(std::function<void()> stop) : stop_(std::move(stop)) {}
  ThreadGroup(const ThreadGroup&) = delete;
  ThreadGroup& operator=(const ThreadGroup&) = delete;
  ~ThreadGroup() { join(); }
  // Starts `n` threads running `body`; a thread the system cannot create is an Error naming the
  // count (the ones started are stopped and joined first).
  template <typename Body>
  void start(unsigned n, const Body& body) {
    threads_.reserve(n);
    for (unsigned t = 0; t < n; ++t) {
      try {
        threads_.emplace_back(body);
      } catch (const std::system_error& e) {
        const std::size_t started = threads_.size();
        join();
        throw Error(fmt::format("cannot start {} worker threads (the system refused after {}): {}; use fewer --threads", n,
                                started, e.what()));
      }
    }
  }
  void join() noexcept {
    if (threads_.empty()) return;
    stop_();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    threads_.clear();
  }

 private:
  std::function<void()> stop_;
  std::vector<std::thread> threads_;
};

// Runs job(i) for i in [0, n) on `threads` threads; the first exception is rethrown after every
// thread has stopped. Stops early (returns false) when `cancel` is set.
template <typename Job>
bool parallel_for(std::size_t n, unsigned threads, const std::atomic<bool>* cancel, Job job) {
  std::atomic<std::size_t> next{0};
  std::exception_ptr error;
  std::mutex m;
  auto run = [&] {
    try {
      for (std::size_t i; (i = next.fetch_add(1)) < n;) {
        if (cancel && cancel->load(std::memory_order_relaxed)) {
          next = n;
          return;
        }
        job(i);
      }
    } catch (...) {
      std::lock_guard lk(m);
      if (!error) error = std::current_exception();
      next = n;
    }
  };
  {
    ThreadGroup pool([&] { next = n; });
    const unsigned extra = static_cast<unsigned>(std::min<std::size_t>(threads, n)) - (n > 0 ? 1 : 0);
    pool.start(extra, run);
    run();
  }
  if (error) std::rethrow_exception(error);
  return !(cancel && cancel->load());
}

bool build_profiles(const SweepSpec& spec, State& s, unsigned threads, const std::atomic<bool>* cancel) {
  const auto sizes = override_sizes(spec.overrides);
  std::uint64_t per_model = 1;
  for (std::size_t z : sizes) per_model = mul_checked(per_model, std::max<std::size_t>(z, 1), s.where);
  s.n_combo = mul_checked(per_model, spec.models.size(), s.where);
  // Profiles are held in memory for the whole sweep: refuse a table that cannot be.
  constexpr std::uint64_t kMaxProfiles = 2'000'000;
  if (mul_checked(s.n_combo, s.n_tp, s.where) > kMaxProfiles) {
    throw InputError(s.where, "", fmt::format("at most {} (architecture, tp) combinations", kMaxProfiles),
                     fmt::format("{} architectures x {} tp values", s.n_combo, s.n_tp));
  }
  auto tables = std::make_shared<SweepTables>();
  tables->arch_names.resize(s.n_combo);
  tables->arch_facts.resize(s.n_combo);
  tables->tp_values = s.ax.tp;
  for (const GpuSpec& g : s.gpus) tables->gpu_ids.push_back(g.id);
  tables->stack_ids = s.stack_of;
  s.profiles.resize(s.n_combo * s.n_tp);
  std::vector<std::string> errors(s.n_combo * s.n_tp);  // full message per invalid entry

  const bool complete = parallel_for(s.n_combo, threads, cancel, [&](std::size_t c) {
    std::vector<std::size_t> k(sizes.size());
    std::uint64_t rest = c;
    for (std::size_t a = sizes.size(); a-- > 0;) {
      const std::size_t n = std::max<std::size_t>(sizes[a], 1);
      k[a] = rest % n, rest /= n;
    }
    const Architecture& base = spec.models[rest];
    const std::string label = architecture_label(base.id, spec.overrides, k);
    tables->arch_names[c] = label;
    try {
      const Architecture arch = apply_overrides(base, combo_overrides(spec.overrides, k), label);
      tables->arch_facts[c] = make_arch_facts(arch);
      for (std::uint64_t t = 0; t < s.n_tp; ++t) {
        try {
          s.profiles[c * s.n_tp + t].profile = make_profile(arch, s.ax.tp[t]);
        } catch (const InputError& e) {  // ConfigError: tp does not fit the heads
          // make_profile names the architecture by its id; name the combination instead.
          std::string msg = e.what();
          const std::string id = (arch.id.empty() ? std::string("architecture") : arch.id) + ": ";
          if (msg.rfind(id, 0) == 0) msg = label + ": " + msg.substr(id.size());
          errors[c * s.n_tp + t] = std::move(msg);
        }
      }
    } catch (const InputError& e) {  // inconsistent shape: the whole architecture is skipped
      for (std::uint64_t t = 0; t < s.n_tp; ++t) errors[c * s.n_tp + t] = e.what();
    }
  });
  if (!complete) {
    s.tables = std::move(tables);
    return false;
  }

  // Reason ids in index order, so the example is the first skipped combination.
  std::map<std::string, std::uint32_t> ids;
  for (std::size_t i = 0; i < errors.size(); ++i) {
    if (errors[i].empty()) continue;
    const std::string& label = tables->arch_names[i / s.n_tp];
    std::string core = errors[i];
    if (core.rfind(label + ": ", 0) == 0) core.erase(0, label.size() + 2);
    const std::string key = strip_numbers(core);
    auto [it, fresh] = ids.emplace(key, static_cast<std::uint32_t>(s.reasons.size() + 1));
    if (fresh) {
      s.reasons.push_back(key);
      s.examples.push_back(fmt::format("{} (tp {})", errors[i], s.ax.tp[i % s.n_tp]));
    }
    s.profiles[i].reason = it->second;
  }
  s.tables = std::move(tables);
  return true;
}

// `built` is false when `cancel` stopped the set-up (the profiles are then incomplete).
std::shared_ptr<State> make_state(const SweepSpec& spec, unsigned threads, const std::atomic<bool>* cancel, bool& built) {
  auto s = std::make_shared<State>();
  s->where = spec.where;
  if (spec.models.empty()) throw InputError(spec.where, "model", "at least one base model", "none");
  if (spec.gpus.empty()) throw InputError(spec.where, "gpu", "at least one GPU", "none");
  s->ax = resolve_axes(spec.workload, spec.where);
  s->engine = spec.workload.engine;
  std::vector<std::string> stack_axis = spec.workload.stack;
  if (stack_axis.empty()) stack_axis.push_back(Workload{}.stack);
  for (std::string& st : stack_axis) st = find_stack(st, spec.where + " stack axis").id;
  // The GPU axis runs over (GPU, stack) pairs: each pair has its own parameters, so every cache
  // keyed by the GPU index stays valid.
  for (const GpuSpec& g : spec.gpus) {
    validate(g, g.id.empty() ? spec.where + " gpu" : g.id);
    for (const std::string& st : stack_axis) {
      s->gpus.push_back(g);
      s->tparams.push_back(stack_timing(g, st).params);
      s->stack_of.push_back(st);
      s->capacity_B.push_back(memory_capacity_B(g));
    }
  }
  std::vector<std::string_view> names;
  for (const Field& f : fields()) names.push_back(f.name);
  s->constraints = parse_constraints(spec.constraints, spec.where + " constraint", names);
  for (const Constraint& c : s->constraints) s->constraint_fields.push_back(find_field(c.field));
  if (!spec.objectives.empty()) s->objectives = parse_objectives(spec.objectives, spec.where + " objectives", names);
  for (const Objective& o : s->objectives) {
    s->objective_fields.push_back(find_field(o.field));
    s->senses.push_back(o.sense);
  }
  // The goodput search runs only with a target; a goodput_rps objective or constraint needs one.
  s->serving = spec.workload.serving;
  s->goodput = s->serving.has_slo();
  for (const Constraint& c : s->constraints) {
    if (c.field == "goodput_rps" && !s->goodput) validate_goodput(Workload{}, spec.where + " constraint");
  }
  for (const Objective& o : s->objectives) {
    if (o.field == "goodput_rps" && !s->goodput) validate_goodput(Workload{}, spec.where + " objectives");
  }
  if (s->goodput) {
    Workload w;
    w.engine = s->engine;
    w.serving = s->serving;
    validate_goodput(w, spec.where);
  }
  s->n_tp = s->ax.tp.size();
  s->n_gpu = s->gpus.size();
  s->n_rt = s->ax.runtime.size();
  s->n_tpot = s->ax.tpot.size();
  s->n_prompt = s->ax.prompt.size();
  s->n_ctx = s->ax.context.size();
  s->n_batch = s->ax.batch.size();
  std::uint64_t inner = 1;
  for (std::uint64_t n : {s->n_gpu, s->n_rt, s->n_tpot, s->n_prompt, s->n_ctx, s->n_batch})
    inner = mul_checked(inner, n, spec.where);
  s->per_profile = inner;
  built = build_profiles(spec, *s, threads, cancel);
  s->total = mul_checked(mul_checked(s->n_combo, s->n_tp, spec.where), inner, spec.where);
  return s;
}

// ---- The per-point kernel -------------------------------------------------------------------

// Per-thread memo. Everything cached is a pure function of its key, so cached and recomputed
// values are bit-identical and the results do not depend on chunk boundaries or threads.
struct Worker {
  const State& s;
  PointResult pr;
  // Context row (everything but batch fixed): memory terms and the serving view.
  bool row_valid = false;
  KvPool pool;
  double kv_seq = 0, kv_read_seq = 0;
  std::int64_t max_batch_mem = 0, best_batch = 0;
  double best_step_s = 0, best_tokens_per_s = 0;
  // Prefill and max_context per batch value, for the current group (everything above context
  // fixed): with batch innermost they would otherwise be recomputed for every context.
  bool use_cache = false;
  std::uint64_t group = 1;  // generation; entries with another generation are stale
  std::vector<std::uint64_t> cache_gen;
  std::vector<PhaseCost> cache_prefill;
  std::vector<PhaseCost> cache_decode_static;  // decode step without attention, per batch value
  std::vector<SplitMemo> split_memo;           // split-KV choices per batch value (any group)
  std::vector<std::int64_t> cache_max_context;

  explicit Worker(const State& st) : s(st) {
    // A cache of |batch| prefill costs pays off only when contexts repeat the batch values;
    // bounded so that a 10^6-value batch axis does not allocate 10^6 phase costs per thread.
    use_cache = s.n_ctx > 1 && s.n_batch <= 8192;
    if (use_cache) {
      cache_gen.assign(s.n_batch, 0);
      cache_prefill.resize(s.n_batch);
      cache_decode_static.resize(s.n_batch);
      split_memo.resize(s.n_batch);
      cache_max_context.resize(s.n_batch);
    }
  }

  // Mirrors models::evaluate (evaluate.cpp) and evaluate_memory (memory.cpp) term by term, with
  // the same expressions in the same order: the sweep tests compare every field bit for bit.
  // `with_reason`: format MemoryResult::reason when the point does not fit (points handed out by
  // the sink or kept; the frontier is re-evaluated by evaluate(), which always formats it).
  void evaluate_point(const ArchProfile& p, std::uint64_t g, std::uint64_t batch_i, bool with_reason) {
    const GpuSpec& gpu = s.gpus[g];
    const TimingParams& t = s.tparams[g];
    const Workload& w = pr.workload;
    Evaluation& e = pr.eval;
    const double b = static_cast<double>(w.batch);
    const double ctx = static_cast<double>(w.context);
    const double cap = s.capacity_B[g];

    if (!row_valid) {
      pool = kv_pool(p, cap, w.engine);
      kv_seq = kv_bytes_per_sequence(p, ctx);
      kv_read_seq = kv_read_bytes_per_sequence(p, ctx);
      max_batch_mem = max_batch(p, pool, ctx);
      // Serving view, as in evaluate(): the largest batch in memory whose step meets the limit.
      const ServingView v = serving_view(p, gpu, t, max_batch_mem, ctx, w.runtime, w.tpot_limit_s);
      best_batch = v.batch;
      best_step_s = v.step_s;
      best_tokens_per_s = v.tokens_per_s;
      row_valid = true;
    }

    MemoryResult& r = e.memory;
    std::int64_t mc = 0;
    if (use_cache) {
      if (cache_gen[batch_i] != group) {
        cache_prefill[batch_i] = prefill(p, gpu, t, b, static_cast<double>(w.prompt), w.runtime);
        cache_decode_static[batch_i] = decode_step_static(p, gpu, t, b, w.runtime);
        cache_max_context[batch_i] = max_context(p, pool, w.batch);
        cache_gen[batch_i] = group;
      }
      // Only attention depends on the context: bit-identical to decode_step() (timing.hpp).
      e.decode = decode_step_from_static(cache_decode_static[batch_i], p, gpu, t, b, ctx, w.runtime, &split_memo[batch_i]);
      e.prefill = cache_prefill[batch_i];
      mc = cache_max_context[batch_i];
    } else {
      e.decode = decode_step(p, gpu, t, b, ctx, w.runtime);
      e.prefill = prefill(p, gpu, t, b, static_cast<double>(w.prompt), w.runtime);
      mc = max_context(p, pool, w.batch);
    }
    // The shared memory definition (memory.cpp), with the row's pool and the cached solves.
    fill_memory(r, p, pool, w, kv_seq, kv_read_seq, max_batch_mem, mc, with_reason);
    derive_step_metrics(e, b, t, w.tpot_limit_s);
    e.max_throughput_batch = best_batch;
    e.max_throughput_step_s = best_step_s;
    e.max_throughput_tokens_per_s = best_tokens_per_s;
  }
};

// What one chunk of consecutive indices produced. Vectors keep their capacity between chunks.
struct Slot {
  bool ready = false;
  bool complete = false;  // false: abandoned on cancellation
  std::uint64_t first = 0, end = 0;
  std::uint64_t skipped = 0, filtered = 0, kept = 0, infeasible = 0;
  std::vector<std::uint64_t> skip_counts;  // by reason id - 1
  std::vector<std::uint64_t> cand_ids;     // frontier candidates (the chunk's own front)
  std::vector<double> cand_values;
  std::vector<std::uint64_t> point_ids;  // kept points, when they are kept or sunk
  std::vector<PointResult> points;
};

// Replace the candidates by their own front (ascending index order preserved).
void reduce_candidates(Slot& slot, std::span<const Sense> senses) {
  const std::size_t m = senses.size();
  const std::vector<std::size_t> keep = pareto_front(slot.cand_values, senses);
  for (std::size_t k = 0; k < keep.size(); ++k) {
    slot.cand_ids[k] = slot.cand_ids[keep[k]];
    std::copy_n(slot.cand_values.begin() + static_cast<std::ptrdiff_t>(keep[k] * m), m,
                slot.cand_values.begin() + static_cast<std::ptrdiff_t>(k * m));
  }
  slot.cand_ids.resize(keep.size());
  slot.cand_values.resize(keep.size() * m);
}

constexpr std::size_t kCandidateReduce = 8192;  // candidates buffered before reducing to a front

void run_chunk(Worker& wk, Slot& slot, std::uint64_t first, std::uint64_t end, bool keep_points,
               const std::atomic<bool>* cancel) {
  const State& s = wk.s;
  slot.first = first, slot.end = end;
  slot.skipped = slot.filtered = slot.kept = slot.infeasible = 0;
  slot.skip_counts.assign(s.reasons.size(), 0);
  slot.cand_ids.clear(), slot.cand_values.clear(), slot.point_ids.clear(), slot.points.clear();
  slot.complete = false;
  const std::size_t m = s.objectives.size();
  const std::size_t nc = s.constraints.size();

  Cursor c = decode_index(s, first);
  wk.row_valid = false;
  ++wk.group;
  std::uint64_t i = first;
  while (i < end) {
    const ProfileEntry& entry = s.profiles[c.combo * s.n_tp + c.tp];
    if (entry.reason != 0) {
      // Skip to the end of this (architecture, tp) block, counting every point in it.
      const std::uint64_t block_end = std::min(end, (i / s.per_profile + 1) * s.per_profile);
      slot.skip_counts[entry.reason - 1] += block_end - i;
      slot.skipped += block_end - i;
      i = block_end;
      if (i < end) c = decode_index(s, i);
      wk.row_valid = false;
      ++wk.group;
      continue;
    }
    // Stop an abandoned chunk early; its slot is then never delivered.
    if ((i & 0xfff) == 0 && cancel && cancel->load(std::memory_order_relaxed)) return;
    PointResult& pr = wk.pr;
    pr.arch_index = static_cast<std::uint32_t>(c.combo);
    pr.gpu_index = static_cast<std::uint32_t>(c.gpu);
    pr.arch = &s.tables->arch_facts[c.combo];
    fill_workload(s, c, pr.workload);
    wk.evaluate_point(entry.profile, c.gpu, c.batch, keep_points);
    if (s.goodput) {
      pr.eval.goodput_rps = s.goodput_rps[design_index(s, c)];
      pr.eval.goodput_reason = s.goodput_reason[design_index(s, c)];
    }

    bool pass = true;
    for (std::size_t k = 0; k < nc && pass; ++k) pass = s.constraints[k].holds(s.constraint_fields[k]->get(pr));
    if (!pass) {
      ++slot.filtered;
    } else {
      ++slot.kept;
      slot.infeasible += pr.eval.memory.feasible ? 0 : 1;
      // A point that does not fit in memory is a result, but not a design one can run: it is on
      // the frontier only when asked for (SweepOptions::frontier_infeasible).
      if (m > 0 && (pr.eval.memory.feasible || s.frontier_infeasible)) {
        slot.cand_ids.push_back(i);
        for (std::size_t k = 0; k < m; ++k) slot.cand_values.push_back(s.objective_fields[k]->get(pr));
        if (slot.cand_ids.size() >= kCandidateReduce) reduce_candidates(slot, s.senses);
      }
      if (keep_points) {
        slot.point_ids.push_back(i);
        slot.points.push_back(pr);
      }
    }

    // Advance the cursor (batch innermost); a carry out of batch starts a new context row, a
    // carry out of context a new prefill group.
    ++i;
    if (++c.batch < s.n_batch) continue;
    c.batch = 0;
    wk.row_valid = false;
    if (++c.ctx < s.n_ctx) continue;
    c.ctx = 0;
    ++wk.group;
    if (++c.prompt < s.n_prompt) continue;
    c.prompt = 0;
    if (++c.tpot < s.n_tpot) continue;
    c.tpot = 0;
    if (++c.rt < s.n_rt) continue;
    c.rt = 0;
    if (++c.gpu < s.n_gpu) continue;
    c.gpu = 0;
    if (++c.tp < s.n_tp) continue;
    c.tp = 0;
    ++c.combo;
  }
  if (m > 0 && !slot.cand_ids.empty()) reduce_candidates(slot, s.senses);
  slot.complete = true;
}

// One goodput search per valid design, on the sweep's threads; progress from the calling thread.
// Returns false when `cancel` stopped it (the table is then incomplete).
bool search_goodput(State& s, unsigned threads, const SweepOptions& opt, Clock::time_point t0) {
  const std::uint64_t per_entry = s.n_gpu * s.n_rt;
  const std::uint64_t n = s.profiles.size() * per_entry;
  s.goodput_rps.assign(n, std::numeric_limits<double>::quiet_NaN());
  s.goodput_reason.assign(n, std::string());
  std::vector<std::uint64_t> todo;
  for (std::uint64_t d = 0; d < n; ++d) {
    if (s.profiles[d / per_entry].reason == 0) todo.push_back(d);
  }
  std::atomic<std::uint64_t> done{0};
  const auto caller = std::this_thread::get_id();
  const auto interval = std::chrono::duration<double>(std::max(opt.progress_interval_s, 0.001));
  auto last = Clock::now() - std::chrono::duration_cast<Clock::duration>(interval);
  auto report = [&] {
    SweepProgress p;
    p.total = s.total;
    p.elapsed_s = std::chrono::duration<double>(Clock::now() - t0).count();
    p.designs_done = done.load();
    p.designs_total = todo.size();
    opt.progress(p);
    last = Clock::now();
  };
  const bool finished = parallel_for(todo.size(), threads, opt.cancel, [&](std::size_t k) {
    const std::uint64_t d = todo[k], entry = d / per_entry, g = (d / s.n_rt) % s.n_gpu, rt = d % s.n_rt;
    if (opt.progress && std::this_thread::get_id() == caller && Clock::now() - last >= interval) report();
    Workload w;
    w.tp = s.ax.tp[entry % s.n_tp];
    w.runtime = s.ax.runtime[rt];
    w.stack = s.stack_of[g];
    w.engine = s.engine;
    w.serving = s.serving;
    const GoodputResult r = design_goodput(s.profiles[entry].profile, s.gpus[g], s.tparams[g], w, opt.cancel);
    if (!r.cancelled) {
      s.goodput_rps[d] = r.goodput_rps;
      if (!(r.goodput_rps > 0)) s.goodput_reason[d] = r.reason;
    }
    done.fetch_add(1);
  });
  // The calling thread reports while it takes searches; with several threads it may take none
  // (or only early ones), so the final count is always reported once the searches are over.
  if (opt.progress) report();
  return finished;
}

PointResult evaluate_index(const State& s, std::uint64_t index) {
  if (index >= s.total) {
    throw InputError(s.where, "point", fmt::format("an index below {}", s.total), std::to_string(index));
  }
  const Cursor c = decode_index(s, index);
  const ProfileEntry& entry = s.profiles[c.combo * s.n_tp + c.tp];
  if (entry.reason != 0) {
    throw InputError(s.where, "point", "an index of a valid combination",
                     fmt::format("{} (skipped: {})", index, s.reasons[entry.reason - 1]));
  }
  PointResult pr;
  pr.arch_index = static_cast<std::uint32_t>(c.combo);
  pr.gpu_index = static_cast<std::uint32_t>(c.gpu);
  pr.arch = &s.tables->arch_facts[c.combo];
  fill_workload(s, c, pr.workload);

  Workload w = pr.workload;
  w.serving = ServingLoad{};  // the goodput is the sweep's search of this design, not another one
  pr.eval = evaluate(entry.profile, s.gpus[c.gpu], s.tparams[c.gpu], w);
  if (s.goodput) {
    pr.eval.goodput_rps = s.goodput_rps[design_index(s, c)];
    pr.eval.goodput_reason = s.goodput_reason[design_index(s, c)];
  }
  return pr;
}

}  // namespace

// ---- Public API -------------------------------------------------------------------------------

unsigned max_sweep_threads() {
  return 4 * std::max(1u, std::thread::hardware_concurrency());
}

void check_sweep_threads(unsigned threads, const std::string& where) {
  const unsigned cap = max_sweep_threads();
  if (threads > cap) {
    throw InputError(where, "", fmt::format("0 (all cores) or 1..{} (4 x the {} hardware threads)", cap, cap / 4),
                     std::to_string(threads));
  }
}

std::string architecture_label(std::string_view model_id, const OverrideAxes& o, const std::vector<std::size_t>& k) {
  std::string s = model_id.empty() ? std::string("model") : std::string(model_id);
  const auto& fields = override_fields();
  for (std::size_t a = 0; a < fields.size(); ++a) {
    if (fields[a]->bind.axis_size(o) > 0) {
      fmt::format_to(std::back_inserter(s), " {}={}", fields[a]->label, fields[a]->bind.axis_label(o, a < k.size() ? k[a] : 0));
    }
  }
  return s;
}

bool set_axis(SweepSpec& spec, const std::string& name, const std::string& text) {
  const DesignField* f = find_design_field(name);
  if (f && f->type == ValueType::preset) return false;
  if (!f) throw InputError(flag_of(name), "", "a sweep axis (a scenario field name)", fmt::format("'{}'", name));
  apply_axis(*f, name, text, spec.overrides, spec.workload);
  return true;
}

std::uint64_t point_count(const SweepSpec& spec) {
  std::uint64_t n = spec.models.size();
  for (std::size_t z : override_sizes(spec.overrides)) n = mul_checked(n, std::max<std::size_t>(z, 1), spec.where);
  const WorkloadAxes& w = spec.workload;
  for (std::size_t z : {at_least_one(w.tp), spec.gpus.size() * at_least_one(w.stack), at_least_one(w.runtime),
                        at_least_one(w.tpot_limit_s), at_least_one(w.prompt), at_least_one(w.context), at_least_one(w.batch)}) {
    n = mul_checked(n, z, spec.where);
  }
  return n;
}

PointResult SweepResult::point(std::uint64_t index) const {
  if (!state) throw InputError("sweep result", "point", "a result returned by explore()", "an empty result");
  return evaluate_index(*std::static_pointer_cast<const State>(state), index);
}

SweepResult explore(const SweepSpec& spec, const SweepOptions& opt) {
  const auto t0 = Clock::now();
  check_sweep_threads(opt.threads, spec.where + " threads");
  const unsigned threads = opt.threads > 0 ? opt.threads : std::max(1u, std::thread::hardware_concurrency());
  bool built = false;
  std::shared_ptr<State> st = make_state(spec, threads, opt.cancel, built);
  st->frontier_infeasible = opt.frontier_infeasible;
  if (built && st->goodput) built = search_goodput(*st, threads, opt, t0);
  const State& s = *st;

  SweepResult res;
  res.total = s.total;
  res.threads = threads;
  res.constraints = s.constraints;
  res.objectives = s.objectives;
  res.tables = s.tables;
  res.state = st;
  if (opt.on_start) opt.on_start(res);

  const bool keep_points = opt.keep == KeepPoints::all || static_cast<bool>(opt.sink);
  // Chunks: small enough to balance threads and bound the buffered points, large enough that
  // the per-chunk locking and front reduction are negligible.
  const std::uint64_t chunk = keep_points ? std::max<std::uint64_t>(opt.block_points, 1)
                                          : std::clamp<std::uint64_t>(s.total / (std::uint64_t{threads} * 64), 4096, 65536);
  // A set-up stopped by `cancel` evaluates nothing: the result is partial with 0 points completed.
  const std::uint64_t n_chunks = s.total == 0 || !built ? 0 : (s.total - 1) / chunk + 1;
  const std::uint64_t window = std::uint64_t{threads} * 4;  // chunks in flight ahead of delivery
  std::vector<Slot> slots(static_cast<std::size_t>(std::min(window, std::max<std::uint64_t>(n_chunks, 1))));
  const std::uint64_t n_slots = slots.size();

  std::mutex mu;
  std::condition_variable cv_main, cv_work;
  std::uint64_t next_chunk = 0, delivered = 0;
  bool stop = false;
  std::exception_ptr error;
  std::atomic<std::uint64_t> done{0};

  // A worker never lets an exception escape (std::terminate): the first one is kept, every
  // thread is stopped, and explore() rethrows it after the join.
  auto work = [&] {
    try {
      Worker wk(s);
      while (true) {
        std::uint64_t c;
        {
          std::unique_lock lk(mu);
          cv_work.wait(lk, [&] { return stop || next_chunk >= n_chunks || next_chunk < delivered + n_slots; });
          if (stop || next_chunk >= n_chunks) return;
          c = next_chunk++;
        }
        if (opt.cancel && opt.cancel->load()) {
          std::lock_guard lk(mu);
          stop = true;
          cv_main.notify_all();
          return;
        }
        Slot& slot = slots[c % n_slots];
        const std::uint64_t first = c * chunk, end = std::min(s.total, first + chunk);
        run_chunk(wk, slot, first, end, keep_points, opt.cancel);
        done.fetch_add(end - first, std::memory_order_relaxed);
        std::lock_guard lk(mu);
        slot.ready = true;
        cv_main.notify_all();
      }
    } catch (...) {
      std::lock_guard lk(mu);
      if (!error) error = std::current_exception();
      stop = true;
      cv_main.notify_all();
      cv_work.notify_all();
    }
  };

  // Declared after everything the workers use, so it is joined before any of it goes away.
  ThreadGroup pool([&] {
    std::lock_guard lk(mu);
    stop = true;
    cv_work.notify_all();
  });
  pool.start(static_cast<unsigned>(std::min<std::uint64_t>(threads, std::max<std::uint64_t>(n_chunks, 1))), work);

  ParetoAccumulator front(s.senses);
  std::vector<std::uint64_t> skip_counts(s.reasons.size(), 0);
  auto report = [&](bool final_call) {
    if (!opt.progress) return;
    SweepProgress p;
    p.total = s.total;
    p.done = final_call ? res.completed : std::min(done.load(), s.total);
    p.elapsed_s = std::chrono::duration<double>(Clock::now() - t0).count();
    p.fraction = s.total ? static_cast<double>(p.done) / static_cast<double>(s.total) : 1.0;
    p.points_per_s = p.elapsed_s > 0 ? static_cast<double>(p.done) / p.elapsed_s : 0.0;
    opt.progress(p);
  };
  auto last_report = Clock::now();
  const auto interval = std::chrono::duration<double>(std::max(opt.progress_interval_s, 0.001));

  // The calling thread delivers chunks in index order: counts, frontier, sink, kept points.
  while (delivered < n_chunks) {
    Slot* slot = nullptr;
    {
      std::unique_lock lk(mu);
      cv_main.wait_for(lk, std::chrono::duration_cast<Clock::duration>(interval),
                       [&] { return stop || slots[delivered % n_slots].ready; });
      if (slots[delivered % n_slots].ready && slots[delivered % n_slots].complete)
        slot = &slots[delivered % n_slots];
      else if (stop || error)
        break;
    }
    if (opt.cancel && opt.cancel->load()) {
      std::lock_guard lk(mu);
      stop = true;
      cv_work.notify_all();
      break;
    }
    if (slot) {
      res.skipped += slot->skipped;
      res.filtered_out += slot->filtered;
      res.kept += slot->kept;
      res.infeasible += slot->infeasible;
      for (std::size_t r = 0; r < skip_counts.size(); ++r) skip_counts[r] += slot->skip_counts[r];
      if (!slot->cand_ids.empty()) {
        front.insert_block(slot->cand_ids, slot->cand_values);
        if (opt.max_frontier > 0 && front.size() > opt.max_frontier) {
          throw InputError(
              s.where, "objectives",
              fmt::format("a Pareto frontier of at most {} points (raise the limit: --max-frontier)", opt.max_frontier),
              fmt::format("{} frontier points after {} of {} points; add a --constraint or drop an objective", front.size(),
                          slot->end, s.total));
        }
      }
      if (opt.sink && !slot->points.empty()) opt.sink(slot->points, slot->point_ids);
      if (opt.keep == KeepPoints::all) {
        res.point_indices.insert(res.point_indices.end(), slot->point_ids.begin(), slot->point_ids.end());
        res.points.insert(res.points.end(), slot->points.begin(), slot->points.end());
      }
      res.completed = slot->end;
      std::lock_guard lk(mu);
      slot->ready = false;
      ++delivered;
      cv_work.notify_all();
    }
    if (Clock::now() - last_report >= interval) {
      report(false);
      last_report = Clock::now();
    }
  }
  pool.join();
  if (error) std::rethrow_exception(error);

  res.partial = res.completed < s.total;
  res.evaluated = res.completed - res.skipped;
  for (std::size_t r = 0; r < skip_counts.size(); ++r) {
    if (skip_counts[r] > 0) res.skipped_by_reason.push_back({s.reasons[r], s.examples[r], skip_counts[r]});
  }
  std::stable_sort(res.skipped_by_reason.begin(), res.skipped_by_reason.end(),
                   [](const SkipReason& a, const SkipReason& b) { return a.count > b.count; });
  res.frontier_indices = front.ids();
  res.frontier.reserve(res.frontier_indices.size());
  for (std::uint64_t i : res.frontier_indices) res.frontier.push_back(evaluate_index(s, i));
  res.elapsed_s = std::chrono::duration<double>(Clock::now() - t0).count();
  report(true);
  return res;
}

}  // namespace kvscope::models
