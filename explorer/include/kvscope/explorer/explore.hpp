#pragma once
// Design-space explorer: evaluate every point of a Cartesian product of architectures (base
// models x architecture-override alternatives), GPUs and workloads, filter by constraints, and
// keep the Pareto frontier of the objectives (and optionally every point).
//
// Point order. Points are numbered by a flattened index, outermost axis first:
//   model, then the architecture rows of core/design_fields.cpp in table order (n_layers,
//   d_model, n_q_heads, n_kv_heads, head_dim, ffn_dim, vocab, cla_factor, kv_producers, variant,
//   kv_dtype, window, layer_pattern, weight_dtype, weight_group_size: the "architecture"),
//   tp, gpu x stack (stack inner), runtime, tpot_limit, prompt, context, batch (batch innermost).
// Results (the sink's blocks, `points`, the frontier) are in ascending index order whatever the
// number of threads, so output is deterministic.
//
// Speed. Architecture, ArchProfile and accuracy are built once per (architecture, tp); the inner
// loops reuse them, the serving view (best batch under memory and TPOT limit) once per context
// row and the prefill once per (prompt, batch). Per point: one decode-step evaluation, no
// allocation, no string formatting. Values are bit-identical to models::evaluate() (the tests
// compare every field, the reason included). MemoryResult::reason is formatted for the points
// handed out (the sink's blocks, `points`, the frontier) that do not fit, so every infeasible
// result a caller sees says why; points only counted or compared against the frontier skip
// the formatting (it would cost more than the evaluation).
//
// Goodput. With a serving target (WorkloadAxes::serving.has_slo(): --ttft-slo-ms / --tpot-slo-ms)
// every point's goodput_rps is the goodput search (models/simulate.hpp design_goodput) of its
// design: once per (architecture, tp, GPU x stack, runtime), since the scheduler sets batch and
// context itself, run on the sweep's threads before the points and stopped by `cancel` (then the
// result is partial with no point completed). Without a target it is not run (goodput_rps NaN),
// and an objective or constraint naming goodput_rps is an InputError.
//
// Invalid combinations (K/V heads that do not divide query heads, tp that does not divide the
// heads, ...) are skipped and counted by reason; valid points that do not fit in memory are
// results (eval.memory.feasible = false), not skips, and are left off the Pareto frontier unless
// SweepOptions::frontier_infeasible asks for them.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "kvscope/core/architecture.hpp"
#include "kvscope/core/design.hpp"
#include "kvscope/core/design_fields.hpp"
#include "kvscope/core/gpu.hpp"
#include "kvscope/core/workload.hpp"
#include "kvscope/explorer/constraints.hpp"
#include "kvscope/models/fields.hpp"
#include "kvscope/models/profile.hpp"

namespace kvscope::models {

// The axes of a sweep (core/design_fields.hpp): one vector per design field, generated from the
// field registry.
using kvscope::OverrideAxes;
using kvscope::WorkloadAxes;

struct SweepSpec {
  std::vector<Architecture> models;  // base architectures (the front end resolves ids / files)
  OverrideAxes overrides;
  std::vector<GpuSpec> gpus;
  WorkloadAxes workload;
  std::vector<std::string> constraints;  // "max_context >= 32768", ... (all must hold)
  std::string objectives;                // "kv_bytes_per_token:min,val_ppl:min"; empty: no frontier
  std::string where = "sweep";           // flag or scenario file, for messages
};

// Set one axis from a scenario field (any spelling) and its flag text ("kv_heads", "1,2,4,8"),
// with the bounds of its registry row (core/design_fields.hpp). Returns false for "model" and
// "gpu", which the caller resolves to Architecture / GpuSpec; throws InputError for other
// unknown names. Engine memory knobs hold one value for the whole sweep.
bool set_axis(SweepSpec& spec, const std::string& name, const std::string& text);

// "llama-3-8b kv_heads=4 cla=2": a base model's id with the value of alternative k[a] of every
// architecture axis that has alternatives (axes in registry order, k indexed like them; the
// spelling is each row's `label`). What sweeps name an architecture by, and `eval` its design.
std::string architecture_label(std::string_view model_id, const OverrideAxes& o, const std::vector<std::size_t>& k);

// Number of points of the Cartesian product (skipped ones included). Throws InputError when it
// does not fit in 64 bits.
std::uint64_t point_count(const SweepSpec& spec);

enum class KeepPoints { frontier, all };

struct SweepProgress {
  std::uint64_t done = 0;  // points processed (evaluated, filtered or skipped)
  std::uint64_t total = 0;
  double fraction = 0;      // done / total
  double points_per_s = 0;  // since the start
  double elapsed_s = 0;
  // Goodput searches (with a serving target, before any point): designs searched / to search.
  std::uint64_t designs_done = 0, designs_total = 0;
};

struct SweepOptions {
  unsigned threads = 0;  // 0 = std::thread::hardware_concurrency(); at most max_sweep_threads()
  KeepPoints keep = KeepPoints::frontier;
  // Called with consecutive blocks of the points that pass the constraints, in index order, from
  // the thread that called explore() (never concurrently). `indices` are the points' indices.
  std::function<void(std::span<const PointResult> points, std::span<const std::uint64_t> indices)> sink;
  std::size_t block_points = 4096;  // points per work chunk when points are kept or sunk
  // Called from the calling thread about every progress_interval_s, and once at the end.
  std::function<void(const SweepProgress&)> progress;
  double progress_interval_s = 0.2;
  // Set (e.g. by a SIGINT handler) to stop: the result then covers the first `completed`
  // points exactly and says `partial`.
  const std::atomic<bool>* cancel = nullptr;
  // Called once before any point is evaluated, with the result's tables (names, facts) in place
  // but no counts yet: lets a sink write complete rows while the sweep streams.
  std::function<void(const struct SweepResult&)> on_start;
  // Refuse (InputError) a Pareto frontier larger than this many points, before it exhausts
  // memory; 0 = no limit.
  std::size_t max_frontier = 0;
  // Points that do not fit in memory compete for the frontier too (`pareto --include-infeasible`);
  // by default the frontier is over the points that fit (a batch the pool cannot hold is not a
  // design one can run, and would otherwise dominate on tokens/s).
  bool frontier_infeasible = false;
};

// Threads a sweep may use: 4 x std::thread::hardware_concurrency() (at least 4). More is an
// InputError (check_sweep_threads) rather than a failed thread creation mid-sweep.
unsigned max_sweep_threads();
void check_sweep_threads(unsigned threads, const std::string& where);

struct SkipReason {
  std::string reason;   // the error with its numbers replaced by '#': groups alike combinations
  std::string example;  // the first full message, naming the combination
  std::uint64_t count = 0;
};

// Per-sweep tables that PointResult's small indices point into.
struct SweepTables {
  std::vector<std::string> arch_names;  // "llama-3-8b kv_heads=4 cla=2"
  std::vector<ArchFacts> arch_facts;    // PointResult::arch points into this
  std::vector<std::string> gpu_ids;     // by gpu_index: each GPU once per stack
  std::vector<std::string> stack_ids;   // by gpu_index: the stack of that (GPU, stack) entry
  std::vector<int> tp_values;
};

struct SweepResult {
  std::uint64_t total = 0;      // points in the Cartesian product
  std::uint64_t completed = 0;  // points processed: total, or fewer when partial
  bool partial = false;         // cancelled: everything below covers indices [0, completed)
  std::uint64_t evaluated = 0;  // completed - skipped
  std::uint64_t skipped = 0;
  std::vector<SkipReason> skipped_by_reason;  // most frequent first
  std::uint64_t filtered_out = 0;             // evaluated but failing a constraint
  std::uint64_t kept = 0;                     // evaluated and passing every constraint
  std::uint64_t infeasible = 0;               // among kept: does not fit in GPU memory
  double elapsed_s = 0;
  unsigned threads = 0;
  std::vector<Constraint> constraints;
  std::vector<Objective> objectives;
  // Pareto frontier of the kept points over the objectives (NaN objectives never on it; points
  // that do not fit only with SweepOptions::frontier_infeasible), ascending index; records fully
  // evaluated (memory.reason filled).
  std::vector<std::uint64_t> frontier_indices;
  std::vector<PointResult> frontier;
  // KeepPoints::all: every kept point, ascending index (memory.reason filled where infeasible).
  std::vector<std::uint64_t> point_indices;
  std::vector<PointResult> points;
  std::shared_ptr<const SweepTables> tables;  // keeps PointResult::arch valid

  // Re-evaluates one point by its index with models::evaluate (reason included). Throws
  // InputError for an index out of range or a skipped (invalid) combination.
  PointResult point(std::uint64_t index) const;
  // Names for a point: "llama-3-8b kv_heads=4", "h100-sxm".
  const std::string& arch_name(const PointResult& p) const { return tables->arch_names[p.arch_index]; }
  const std::string& gpu_id(const PointResult& p) const { return tables->gpu_ids[p.gpu_index]; }
  const std::string& stack_id(const PointResult& p) const { return tables->stack_ids[p.gpu_index]; }

  std::shared_ptr<const void> state;  // what point() needs (profiles, GPUs, axes)
};

// Runs the sweep. Throws InputError / ConfigError for a malformed spec (empty models or GPUs,
// unknown constraint or objective fields, out-of-range axis values) before evaluating anything.
// Threads: every worker is stopped and joined on every exit path (an exception from `sink` or
// `progress`, bad_alloc, cancellation); an exception in a worker is rethrown here after the
// join; a thread the system cannot create is an Error. `cancel` is honoured during set-up too
// (then nothing is evaluated: partial, completed = 0).
SweepResult explore(const SweepSpec& spec, const SweepOptions& options = {});

}  // namespace kvscope::models
