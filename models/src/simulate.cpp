#include "kvscope/models/simulate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <deque>
#include <limits>
#include <numbers>
#include <queue>
#include <random>
#include <sstream>

#include "kvscope/core/axes.hpp"
#include "kvscope/core/error.hpp"
#include "kvscope/core/json_util.hpp"
#include "kvscope/core/units.hpp"
#include "kvscope/models/timing.hpp"

namespace kvscope::models {

namespace {
constexpr std::int64_t kMaxTokens = 100000000;  // per request, prompt or output
constexpr std::int64_t kMaxRequests = 100000000;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---- Deterministic random numbers ----------------------------------------------------------
// std::mt19937_64's output sequence is fixed by the C++ standard; std's distributions are not
// (libstdc++ and libc++ differ), so the draws below are our own: 53-bit uniforms, inverse-CDF
// exponentials, Box-Muller normals.
std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

class Rng {
 public:
  // One independent stream per purpose (arrivals, prompt lengths, output lengths), so changing
  // one distribution does not move the draws of the others.
  Rng(std::uint64_t seed, std::uint64_t stream) : g_(splitmix64(seed ^ splitmix64(stream))) {}
  double uniform() { return static_cast<double>(g_() >> 11) * 0x1.0p-53; }  // [0, 1)
  double exponential() { return -std::log1p(-uniform()); }                  // mean 1
  double normal() {
    const double u1 = 1.0 - uniform();  // (0, 1]
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }

 private:
  std::mt19937_64 g_;
};

std::int64_t draw(const LengthDist& d, Rng& r) {
  double v = d.a;
  switch (d.kind) {
    case LengthDist::Kind::fixed:
      return static_cast<std::int64_t>(d.a);
    case LengthDist::Kind::uniform:
      return static_cast<std::int64_t>(d.a) +
             std::min(static_cast<std::int64_t>(r.uniform() * (d.b - d.a + 1)), static_cast<std::int64_t>(d.b - d.a));
    case LengthDist::Kind::normal:
      v = d.a + d.b * r.normal();
      break;
    case LengthDist::Kind::lognormal: {
      // Mean m and sd s of the length itself: sigma^2 = ln(1 + s^2/m^2), mu = ln m - sigma^2/2.
      const double s2 = std::log1p(d.b * d.b / (d.a * d.a));
      v = std::exp(std::log(d.a) - s2 / 2 + std::sqrt(s2) * r.normal());
      break;
    }
  }
  return static_cast<std::int64_t>(std::clamp(std::round(v), 1.0, static_cast<double>(kMaxTokens)));
}

bool parse_number(std::string_view s, double& out) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && std::isfinite(out);
}

bool parse_count(std::string_view s, std::int64_t& out) {
  double v = 0;
  if (!parse_number(s, v) || v != std::floor(v) || v < 1 || v > static_cast<double>(kMaxTokens)) return false;
  out = static_cast<std::int64_t>(v);
  return true;
}

std::int64_t ceil_div(std::int64_t a, std::int64_t b) {
  return (a + b - 1) / b;
}
}  // namespace

// ---- Load ------------------------------------------------------------------------------------

LengthDist parse_length_dist(const std::string& typed, const std::string& where) {
  const std::string expected = "a token count >= 1, uniform:A..B, normal:MEAN,SD or lognormal:MEAN,SD";
  LengthDist d;
  d.text = typed;
  // Size suffixes as for every token count (core/axes.hpp: 16k = 16384); messages quote what was typed.
  const std::string text = expand_token_suffixes(typed);
  const auto colon = text.find(':');
  auto bad = [&](const std::string& what) { return InputError(where, "", what, fmt::format("'{}'", typed)); };
  if (colon == std::string::npos) {
    std::int64_t n = 0;
    if (!parse_count(text, n)) throw bad(expected);
    d.a = static_cast<double>(n);
    return d;
  }
  const std::string kind = text.substr(0, colon), args = text.substr(colon + 1);
  if (kind == "uniform") {
    const auto dots = args.find("..");
    std::int64_t lo = 0, hi = 0;
    if (dots == std::string::npos || !parse_count(args.substr(0, dots), lo) || !parse_count(args.substr(dots + 2), hi)) {
      throw bad("uniform:A..B with token counts 1 <= A <= B");
    }
    if (lo > hi) throw bad("uniform:A..B with A <= B");
    d.kind = LengthDist::Kind::uniform;
    d.a = static_cast<double>(lo), d.b = static_cast<double>(hi);
    return d;
  }
  if (kind == "normal" || kind == "lognormal") {
    const auto comma = args.find(',');
    double m = 0, s = 0;
    if (comma == std::string::npos || !parse_number(args.substr(0, comma), m) || !parse_number(args.substr(comma + 1), s) ||
        m < 1 || m > static_cast<double>(kMaxTokens) || s < 0 || s > static_cast<double>(kMaxTokens)) {
      throw bad(kind + ":MEAN,SD with 1 <= MEAN <= 1e8 and 0 <= SD <= 1e8 tokens");
    }
    d.kind = kind == "normal" ? LengthDist::Kind::normal : LengthDist::Kind::lognormal;
    d.a = m, d.b = s;
    return d;
  }
  throw bad(expected);
}

std::vector<TraceRequest> parse_trace(const std::string& text, const std::string& where) {
  std::vector<TraceRequest> out;
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  bool json_lines = false, header_seen = false;
  const std::string header_expected = "the CSV header 'arrival_s,input_tokens,output_tokens' (or JSON lines)";
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const std::string at = fmt::format("{} line {}", where, line_no);
    if (!header_seen && out.empty() && !json_lines) {
      if (line[line.find_first_not_of(" \t")] == '{') {
        json_lines = true;
      } else {
        std::string h;
        for (char c : line) {
          if (c != ' ' && c != '\t') h += c;
        }
        if (h != "arrival_s,input_tokens,output_tokens") throw InputError(at, "", header_expected, fmt::format("'{}'", line));
        header_seen = true;
        continue;
      }
    }
    TraceRequest r;
    if (json_lines) {
      const boost::json::value v = parse_json_text(line, at);
      if (!v.is_object()) throw InputError(at, "", "a JSON object {arrival_s, input_tokens, output_tokens}", describe_json(v));
      const auto& o = v.as_object();
      for (const auto& kv : o) {
        const std::string k(kv.key());
        if (k != "arrival_s" && k != "input_tokens" && k != "output_tokens") {
          throw InputError(at, k, "only the keys arrival_s, input_tokens, output_tokens", "an unknown key");
        }
      }
      auto number = [&](const char* key) {
        const auto* f = o.if_contains(key);
        if (!f) throw InputError(at, key, "a number", "nothing (missing key)");
        if (!f->is_number()) throw InputError(at, key, "a number", describe_json(*f));
        return f->to_number<double>();
      };
      r.arrival_s = number("arrival_s");
      if (!std::isfinite(r.arrival_s) || r.arrival_s < 0) {
        throw InputError(at, "arrival_s", "a time in seconds >= 0", describe_json(o.at("arrival_s")));
      }
      for (const char* key : {"input_tokens", "output_tokens"}) {
        const double x = number(key);
        if (x != std::floor(x) || x < 1 || x > static_cast<double>(kMaxTokens)) {
          throw InputError(at, key, "a token count in 1..100000000", describe_json(o.at(key)));
        }
        (std::string_view(key) == "input_tokens" ? r.input_tokens : r.output_tokens) = static_cast<std::int64_t>(x);
      }
    } else {
      std::vector<std::string_view> f;
      std::string_view rest(line);
      for (;;) {
        const auto c = rest.find(',');
        f.push_back(rest.substr(0, c));
        if (c == std::string_view::npos) break;
        rest.remove_prefix(c + 1);
      }
      if (f.size() != 3) {
        throw InputError(at, "", "3 fields arrival_s,input_tokens,output_tokens",
                         fmt::format("{} field(s): '{}'", f.size(), line));
      }
      if (!parse_number(f[0], r.arrival_s) || r.arrival_s < 0) {
        throw InputError(at, "arrival_s", "a time in seconds >= 0", fmt::format("'{}'", f[0]));
      }
      if (!parse_count(f[1], r.input_tokens))
        throw InputError(at, "input_tokens", "a token count in 1..100000000", fmt::format("'{}'", f[1]));
      if (!parse_count(f[2], r.output_tokens)) {
        throw InputError(at, "output_tokens", "a token count in 1..100000000", fmt::format("'{}'", f[2]));
      }
    }
    out.push_back(r);
    if (out.size() > static_cast<std::size_t>(kMaxRequests)) throw InputError(where, "", "at most 1e8 requests", "more");
  }
  if (out.empty()) {
    throw InputError(where, "", "at least one request (CSV rows arrival_s,input_tokens,output_tokens or JSON lines)",
                     header_seen ? "only the header" : "an empty trace");
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const TraceRequest& a, const TraceRequest& b) { return a.arrival_s < b.arrival_s; });
  return out;
}

std::vector<TraceRequest> load_trace(const std::string& path) {
  return parse_trace(read_text_file(path), path);
}

void validate(const LoadSpec& l, const std::string& where) {
  const int modes = (l.rate_per_s != 0 ? 1 : 0) + (l.concurrency != 0 ? 1 : 0) + (l.trace.empty() ? 0 : 1);
  if (modes != 1) {
    throw InputError(where, "", "exactly one of --rate, --concurrency, --trace",
                     modes == 0 ? std::string("none") : fmt::format("{} of them", modes));
  }
  if (l.rate_per_s != 0 && !(std::isfinite(l.rate_per_s) && l.rate_per_s > 0)) {
    throw InputError(where, "--rate", "a request rate > 0 (requests/s)", fmt::format("{:g}", l.rate_per_s));
  }
  if (l.concurrency < 0) throw InputError(where, "--concurrency", "a number of clients >= 1", std::to_string(l.concurrency));
  if (l.trace.empty() && (l.requests < 1 || l.requests > kMaxRequests)) {
    throw InputError(where, "--requests", "a request count in 1..100000000", std::to_string(l.requests));
  }
}

// ---- Engine ----------------------------------------------------------------------------------

void validate_scheduler(const EngineMemory& e, const std::string& where) {
  if (e.max_num_batched_tokens < e.max_num_seqs) {
    throw InputError(where, "--max-num-batched-tokens",
                     fmt::format("at least --max-num-seqs ({}): one decode token of every running sequence must fit an iteration "
                                 "(vLLM refuses this too)",
                                 e.max_num_seqs),
                     std::to_string(e.max_num_batched_tokens));
  }
}

// ---- Results ---------------------------------------------------------------------------------

namespace {
double percentile_sorted(const std::vector<double>& v, double q) {
  if (v.empty()) return kNaN;
  const double pos = std::clamp(q, 0.0, 100.0) / 100.0 * static_cast<double>(v.size() - 1);
  const auto i = static_cast<std::size_t>(std::floor(pos));
  if (i + 1 >= v.size()) return v.back();
  return v[i] + (v[i + 1] - v[i]) * (pos - static_cast<double>(i));
}
}  // namespace

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return percentile_sorted(v, q);
}

LatencyStats latency_stats(const std::vector<double>& v) {
  LatencyStats s;
  s.count = static_cast<std::int64_t>(v.size());
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = v.empty() ? kNaN : sum / static_cast<double>(v.size());
  std::vector<double> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  s.p50 = percentile_sorted(sorted, 50), s.p90 = percentile_sorted(sorted, 90), s.p99 = percentile_sorted(sorted, 99);
  return s;
}

double RequestRecord::tpot_s() const {
  if (rejected || output_tokens < 2) return kNaN;
  return (finish_s - first_token_s) / static_cast<double>(output_tokens - 1);
}

// ---- The simulation --------------------------------------------------------------------------

namespace {

enum class State : std::uint8_t { pending, waiting, prefill, decode, done, rejected };

struct Req {
  double arrival = 0, first = -1, finish = -1;
  std::int64_t isl = 0, osl = 0;
  std::int64_t generated = 0;  // output tokens sampled (not maintained while decoding: see Engine)
  std::int64_t computed = 0;   // K/V positions computed (prefill / waiting states)
  std::int64_t blocks = 0;     // blocks held (prefill state)
  std::int64_t base = 0;       // decode state: computed = base + k at the start of iteration k
  std::int64_t finish_iter = 0;
  int prev = -1, next = -1;  // running list, in admission order
  int preemptions = 0;
  std::uint32_t epoch = 0;  // bumped when a decode stops decoding (stale heap entries)
  State state = State::pending;
  bool past_window = false;  // decode state: attends to more positions than the window
};

struct HeapEntry {
  std::int64_t iter;
  int req;
  std::uint32_t epoch;
  bool operator>(const HeapEntry& o) const { return iter != o.iter ? iter > o.iter : req > o.req; }
};

class Engine {
 public:
  Engine(const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t, const Workload& w, const LoadSpec& load, KvPool pool)
      : p_(p),
        s_(w.engine),
        load_(load),
        pool_(std::move(pool)),
        model_(p, gpu, t, w.runtime, static_cast<int>(std::min<std::int64_t>(w.engine.max_num_batched_tokens, 1 << 24))),
        bs_(w.engine.block_size),
        phase_count_(static_cast<std::size_t>(w.engine.block_size), 0),
        free_(static_cast<std::int64_t>(pool_.blocks)),
        arrivals_(load.seed, 1),
        isl_rng_(load.seed, 2),
        osl_rng_(load.seed, 3) {
    window_ = p.window;
    total_ = load.trace.empty() ? load.requests : static_cast<std::int64_t>(load.trace.size());
    reqs_.reserve(static_cast<std::size_t>(std::min<std::int64_t>(total_, 10000000)));
    if (!load.trace.empty()) {
      for (const auto& r : load.trace) issue(r.arrival_s, r.input_tokens, r.output_tokens);
    } else if (load.rate_per_s > 0) {
      double at = 0;
      for (std::int64_t i = 0; i < total_; ++i) {
        at += arrivals_.exponential() / load.rate_per_s;
        issue(at, draw(load.isl, isl_rng_), draw(load.osl, osl_rng_));
      }
    } else {
      const std::int64_t n = std::min<std::int64_t>(load.concurrency, total_);
      for (std::int64_t i = 0; i < n; ++i) issue(0.0, draw(load.isl, isl_rng_), draw(load.osl, osl_rng_));
    }
  }

  SimulationResult run();
  const std::atomic<bool>* cancel = nullptr;  // polled every 1024 iterations

 private:
  void issue(double at, std::int64_t isl, std::int64_t osl) {
    Req r;
    r.arrival = at, r.isl = isl, r.osl = osl;
    reqs_.push_back(r);
  }
  // A closed-loop client sends its next request when one of its requests ends (or is rejected).
  void client_done(double now) {
    if (load_.concurrency > 0 && static_cast<std::int64_t>(reqs_.size()) < total_) {
      issue(now, draw(load_.isl, isl_rng_), draw(load_.osl, osl_rng_));
    }
  }
  std::int64_t max_blocks(const Req& r) const { return ceil_div(r.isl + r.osl - 1, bs_); }
  std::size_t phase_of(std::int64_t base) const { return static_cast<std::size_t>(((base % bs_) + bs_) % bs_); }

  void list_append(int i) {
    Req& r = reqs_[static_cast<std::size_t>(i)];
    r.prev = tail_, r.next = -1;
    if (tail_ >= 0)
      reqs_[static_cast<std::size_t>(tail_)].next = i;
    else
      head_ = i;
    tail_ = i;
    ++running_;
  }
  void list_remove(int i) {
    Req& r = reqs_[static_cast<std::size_t>(i)];
    if (r.prev >= 0)
      reqs_[static_cast<std::size_t>(r.prev)].next = r.next;
    else
      head_ = r.next;
    if (r.next >= 0)
      reqs_[static_cast<std::size_t>(r.next)].prev = r.prev;
    else
      tail_ = r.prev;
    r.prev = r.next = -1;
    --running_;
  }
  void start_decode(int i, std::int64_t next_iter) {
    Req& r = reqs_[static_cast<std::size_t>(i)];
    r.state = State::decode;
    r.base = r.computed - next_iter;
    // Iteration k samples token generated+1+(k-next_iter); the last one is token osl.
    r.finish_iter = next_iter + (r.osl - r.generated) - 1;
    heap_.push({r.finish_iter, i, r.epoch});
    ++n_decode_;
    sum_base_ += r.base;
    ++phase_count_[phase_of(r.base)];
    if (window_ > 0) {
      // It attends to base + k + 1 positions at iteration k: past the window from k = W - 1 - base.
      const std::int64_t cross = window_ - 1 - r.base;
      r.past_window = cross <= next_iter;
      if (r.past_window) {
        ++n_past_;
      } else {
        ++n_within_, sum_base_within_ += r.base;
        window_heap_.push({cross, i, r.epoch});
      }
    }
  }
  // Leaves the decode set at the start of iteration k (preemption) or after it (finish,
  // `after` = 1): its computed / generated counts become explicit again.
  void stop_decode(int i, std::int64_t k, int after) {
    Req& r = reqs_[static_cast<std::size_t>(i)];
    r.computed = r.base + k + after;
    r.generated = r.computed - r.isl + 1;
    --n_decode_;
    sum_base_ -= r.base;
    --phase_count_[phase_of(r.base)];
    if (window_ > 0) {
      if (r.past_window)
        --n_past_;
      else
        --n_within_, sum_base_within_ -= r.base;
    }
    ++r.epoch;
  }
  std::int64_t blocks_held(const Req& r, std::int64_t k) const {
    return r.state == State::decode ? ceil_div(r.base + k, bs_) : r.blocks;
  }
  // vLLM _preempt_request: free the blocks, forget the computed tokens, back to the head of the
  // waiting queue (recomputed on resumption).
  void preempt(int i, std::int64_t k) {
    Req& r = reqs_[static_cast<std::size_t>(i)];
    free_ += blocks_held(r, k);
    if (r.state == State::decode) stop_decode(i, k, 0);
    list_remove(i);
    r.state = State::waiting;
    r.computed = 0;
    r.blocks = 0;
    ++r.preemptions;
    ++preemptions_;
    waiting_.push_front(i);
    preempted_ = true;
  }
  void finish(int i, double now) {
    Req& r = reqs_[static_cast<std::size_t>(i)];
    r.state = State::done;
    r.finish = now;
    ++done_;
    client_done(now);
  }
  void enqueue_arrivals(double now);
  void slow_decode_pass(std::int64_t k);
  void record(double now);

  const ArchProfile& p_;
  const EngineMemory& s_;
  const LoadSpec& load_;
  KvPool pool_;
  std::int64_t blocks_ = static_cast<std::int64_t>(pool_.blocks);
  MixedStepModel model_;
  std::int64_t bs_;
  std::vector<Req> reqs_;
  std::int64_t total_ = 0;
  std::size_t next_arrival_ = 0;
  std::deque<int> waiting_;
  int head_ = -1, tail_ = -1;
  int running_ = 0;
  std::int64_t n_decode_ = 0, sum_base_ = 0;
  std::vector<std::int64_t> phase_count_;
  std::priority_queue<HeapEntry, std::vector<HeapEntry>, std::greater<>> heap_;
  // Sliding-window models: decodes still within the window (their positions summed as base + k + 1)
  // and past it (W each); each crosses once, at a known iteration (window_heap_).
  std::int64_t window_ = 0, n_within_ = 0, n_past_ = 0, sum_base_within_ = 0;
  std::priority_queue<HeapEntry, std::vector<HeapEntry>, std::greater<>> window_heap_;
  std::int64_t free_ = 0;
  std::int64_t done_ = 0;
  std::int64_t preemptions_ = 0;
  bool preempted_ = false;
  double waiting_integral_ = 0;
  Rng arrivals_, isl_rng_, osl_rng_;
  // Decimated time series.
  std::vector<double> st_, sr_;
};

void Engine::enqueue_arrivals(double now) {
  while (next_arrival_ < reqs_.size() && reqs_[next_arrival_].arrival <= now) {
    const int i = static_cast<int>(next_arrival_++);
    Req& r = reqs_[static_cast<std::size_t>(i)];
    if (max_blocks(r) > blocks_) {
      // A request that cannot fit even alone would preempt itself forever: rejected on arrival,
      // as vLLM rejects a prompt longer than the model length the KV pool can hold.
      r.state = State::rejected;
      ++done_;
      client_done(now);
      continue;
    }
    // It arrived during the last iteration: count its wait from the arrival (Little's law).
    waiting_integral_ += now - r.arrival;
    r.state = State::waiting;
    waiting_.push_back(i);
  }
}

// Walks the running list when the decodes need more blocks than are free: vLLM's schedule()
// allocates per request in order and preempts from the tail (running.pop()) until the request
// fits or is itself preempted.
void Engine::slow_decode_pass(std::int64_t k) {
  int i = head_;
  while (i >= 0) {
    Req& r = reqs_[static_cast<std::size_t>(i)];
    if (r.state != State::decode) break;  // the partial prefill is last
    const int next = r.next;
    if ((r.base + k) % bs_ == 0) {
      bool self = false;
      while (free_ < 1) {
        const int victim = tail_;
        preempt(victim, k);
        if (victim == i) {
          self = true;
          break;
        }
      }
      if (self) break;
      --free_;
    }
    i = next;
  }
}

// The running count as a step function: a sample whenever it changes. Past 8192 samples every
// other one is dropped (a plot of 10^4 requests needs no more).
void Engine::record(double now) {
  if (!sr_.empty() && sr_.back() == running_) return;
  st_.push_back(now), sr_.push_back(running_);
  if (st_.size() >= 8192) {
    for (std::size_t j = 0; 2 * j < st_.size(); ++j) st_[j] = st_[2 * j], sr_[j] = sr_[2 * j];
    st_.resize((st_.size() + 1) / 2), sr_.resize(st_.size());
  }
}

SimulationResult Engine::run() {
  SimulationResult res;
  res.pool = pool_;
  const double W = p_.window > 0 ? static_cast<double>(p_.window) : 0.0;
  struct Chunk {
    int req;
    std::int64_t tokens;
  };
  std::vector<Chunk> chunks;
  double now = reqs_.empty() ? 0.0 : reqs_.front().arrival;
  const double start = now;
  double running_integral = 0, used_integral = 0, busy = 0, tokens_sum = 0;
  double max_util = 0;
  int max_running = 0;
  std::int64_t k = 0, empty_rounds = 0;
  // Idle since the last step: the next one starts with the power headroom it refilled
  // (power_headroom_after_s); steps that follow each other start with the profile's (0: loaded). The
  // server idles before the first request: its first step starts rested.
  double idle_s = kPowerRestedRest_s;
  while (done_ < total_) {
    if ((k & 1023) == 0 && cancel && cancel->load(std::memory_order_relaxed)) {
      SimulationResult stopped;
      stopped.pool = pool_;
      stopped.iterations = k;
      stopped.cancelled = true;
      return stopped;
    }
    enqueue_arrivals(now);
    if (running_ == 0 && waiting_.empty()) {
      if (next_arrival_ >= reqs_.size()) break;  // every request has ended
      const double idle_from = now;
      now = std::max(now, reqs_[next_arrival_].arrival);  // idle until the next arrival
      idle_s += now - idle_from;
      continue;
    }
    preempted_ = false;
    std::int64_t budget = s_.max_num_batched_tokens;
    MixedBatch batch;
    chunks.clear();
    // 1. Running decodes, one token each (they precede the partial prefill in the running list,
    //    and max_num_batched_tokens >= max_num_seqs, so the budget always covers them).
    if (n_decode_ > 0) {
      const std::int64_t need = phase_count_[static_cast<std::size_t>((bs_ - k % bs_) % bs_)];
      if (need <= free_) {
        free_ -= need;
      } else {
        slow_decode_pass(k);
      }
      budget -= n_decode_;
      batch.decode_requests = static_cast<double>(n_decode_);
      // Each decode attends to its computed positions plus the new token: base + k + 1.
      batch.decode_positions = static_cast<double>(sum_base_) + static_cast<double>(n_decode_) * static_cast<double>(k + 1);
      if (W > 0) {
        while (!window_heap_.empty() && window_heap_.top().iter <= k) {
          const HeapEntry e = window_heap_.top();
          window_heap_.pop();
          Req& r = reqs_[static_cast<std::size_t>(e.req)];
          if (r.epoch != e.epoch || r.state != State::decode || r.past_window) continue;
          r.past_window = true;
          --n_within_, sum_base_within_ -= r.base, ++n_past_;
        }
        batch.decode_positions_local = static_cast<double>(sum_base_within_) +
                                       static_cast<double>(n_within_) * static_cast<double>(k + 1) +
                                       static_cast<double>(n_past_) * W;
      }
    }
    // 2. The partial prefill at the tail of the running list continues.
    if (tail_ >= 0 && reqs_[static_cast<std::size_t>(tail_)].state == State::prefill && budget > 0) {
      const int i = tail_;
      Req& r = reqs_[static_cast<std::size_t>(i)];
      const std::int64_t chunk = std::min(r.isl + r.generated - r.computed, budget);
      const std::int64_t need = ceil_div(r.computed + chunk, bs_) - r.blocks;
      if (need > free_) {
        preempt(i, k);  // the lowest-priority running request is itself
      } else {
        free_ -= need;
        r.blocks += need;
        budget -= chunk;
        add_prefill_chunk(batch, p_, static_cast<double>(r.computed), static_cast<double>(chunk));
        chunks.push_back({i, chunk});
      }
    }
    // 3. Waiting requests, FCFS, unless this iteration preempted (vLLM schedules no new request
    //    then); the head blocks the queue when its first chunk's blocks are not free.
    if (!preempted_) {
      while (!waiting_.empty() && budget > 0 && running_ < s_.max_num_seqs) {
        const int i = waiting_.front();
        Req& r = reqs_[static_cast<std::size_t>(i)];
        const std::int64_t chunk = std::min(r.isl + r.generated, budget);
        const std::int64_t need = ceil_div(chunk, bs_);
        if (need > free_) break;
        waiting_.pop_front();
        free_ -= need;
        r.blocks = need;
        r.computed = 0;
        r.state = State::prefill;
        list_append(i);
        budget -= chunk;
        add_prefill_chunk(batch, p_, 0.0, static_cast<double>(chunk));
        chunks.push_back({i, chunk});
      }
    }
    if (batch.tokens() <= 0) {
      // Only after a preemption emptied the batch; the next round admits from the queue.
      if (!preempted_ || ++empty_rounds > 1000000) {
        throw NumericError("simulate: the scheduler made no progress (internal error)");
      }
      continue;
    }
    record(now);  // admissions at the iteration's start
    const TimingParams& tp = model_.params();
    const double dt = model_.time_s(batch, idle_s > 0 ? std::max(tp.power_headroom_s, power_headroom_after_s(tp, idle_s)) : -1.0);
    idle_s = 0;
    const double used = static_cast<double>(blocks_ - free_);
    const double util = blocks_ > 0 ? used / static_cast<double>(blocks_) : 0.0;
    running_integral += running_ * dt;
    waiting_integral_ += static_cast<double>(waiting_.size()) * dt;
    used_integral += util * dt;
    busy += dt;
    tokens_sum += batch.tokens();
    max_util = std::max(max_util, util);
    max_running = std::max(max_running, running_);
    now += dt;
    ++res.iterations;
    // 4. Outputs of the iteration. Decodes sampled one token each; those on their last finish.
    while (!heap_.empty() && heap_.top().iter <= k) {
      const HeapEntry e = heap_.top();
      heap_.pop();
      Req& r = reqs_[static_cast<std::size_t>(e.req)];
      if (r.epoch != e.epoch || r.state != State::decode) continue;  // preempted since
      free_ += ceil_div(r.base + k + 1, bs_);
      stop_decode(e.req, k, 1);
      list_remove(e.req);
      finish(e.req, now);
    }
    // Prefill chunks that reached the end of the request's tokens sample a token.
    for (const Chunk& c : chunks) {
      Req& r = reqs_[static_cast<std::size_t>(c.req)];
      if (r.state != State::prefill) continue;
      r.computed += c.tokens;
      if (r.computed < r.isl + r.generated) continue;
      ++r.generated;
      if (r.first < 0) r.first = now;
      if (r.generated >= r.osl) {
        free_ += r.blocks;
        r.blocks = 0;
        list_remove(c.req);
        finish(c.req, now);
      } else {
        r.blocks = 0;  // held implicitly from here: ceil(computed / block)
        start_decode(c.req, k + 1);
      }
    }
    record(now);  // finishes at its end
    ++k;
  }
  // Statistics.
  std::vector<double> ttft, tpot, e2e;
  double last = start;
  for (const Req& r : reqs_) {
    RequestRecord rec;
    rec.arrival_s = r.arrival;
    rec.input_tokens = r.isl, rec.output_tokens = r.osl;
    rec.preemptions = r.preemptions;
    if (r.state == State::rejected) {
      rec.rejected = true;
      rec.reason = fmt::format("needs {} KV blocks ({} prompt + {} output tokens, {} per block); the pool holds {}",
                               max_blocks(r), r.isl, r.osl, bs_, blocks_);
      ++res.rejected;
    } else {
      rec.first_token_s = r.first, rec.finish_s = r.finish;
      ++res.completed;
      ttft.push_back(rec.ttft_s());
      e2e.push_back(rec.e2e_s());
      if (r.osl > 1) tpot.push_back(rec.tpot_s());
      res.output_tokens += static_cast<double>(r.osl);
      last = std::max(last, r.finish);
    }
    res.requests.push_back(std::move(rec));
  }
  res.preemptions = preemptions_;
  res.duration_s = last - start;
  const double dur = res.duration_s > 0 ? res.duration_s : kNaN;
  res.throughput_tokens_per_s = res.output_tokens / dur;
  res.request_throughput_per_s = static_cast<double>(res.completed) / dur;
  res.ttft_s = latency_stats(ttft), res.tpot_s = latency_stats(tpot), res.e2e_s = latency_stats(e2e);
  res.mean_running_requests = running_integral / dur;
  res.mean_waiting_requests = waiting_integral_ / dur;
  res.max_running_requests = max_running;
  res.mean_kv_block_utilization = used_integral / dur;
  res.max_kv_block_utilization = max_util;
  res.mean_batch_tokens = res.iterations > 0 ? tokens_sum / static_cast<double>(res.iterations) : kNaN;
  res.busy_fraction = busy / dur;
  res.series_t_s = std::move(st_), res.series_running = std::move(sr_);
  return res;
}

}  // namespace

SimulationResult simulate(const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t, const Workload& w,
                          const LoadSpec& load, const std::string& where, const std::atomic<bool>* cancel) {
  validate(load, where);
  validate(w.engine, where);
  validate_scheduler(w.engine, where);
  // Blocks hold block_size positions of every storing layer; sliding-window layers are counted at
  // full length here (vLLM's hybrid allocator frees their blocks outside the window).
  Engine e(p, gpu, t, w, load, kv_pool(p, memory_capacity_B(gpu), w.engine));
  e.cancel = cancel;
  return e.run();
}

// ---- SLA goodput -----------------------------------------------------------------------------

LatencyAt latency_at(const SimulationResult& r, double q) {
  std::vector<double> ttft, tpot;
  for (const auto& rec : r.requests) {
    if (rec.rejected) continue;
    ttft.push_back(rec.ttft_s());
    if (rec.output_tokens > 1) tpot.push_back(rec.tpot_s());
  }
  return {percentile(std::move(ttft), q), percentile(std::move(tpot), q)};
}

bool meets_slo(const SimulationResult& r, const Slo& slo) {
  if (r.completed == 0) return false;
  const LatencyAt at = latency_at(r, slo.percentile);
  if (slo.ttft_s > 0 && !(at.ttft_s <= slo.ttft_s)) return false;
  // NaN TPOT: no request with more than one output token, nothing to hold to the target.
  if (slo.tpot_s > 0 && !std::isnan(at.tpot_s) && !(at.tpot_s <= slo.tpot_s)) return false;
  return r.rejected == 0;
}

GoodputResult find_goodput(const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t, const Workload& w,
                           const LoadSpec& load, const Slo& slo, double rel_precision, const std::string& where,
                           const std::atomic<bool>* cancel) {
  if (slo.ttft_s <= 0 && slo.tpot_s <= 0) {
    throw InputError(where, "", "a TTFT or TPOT target (--ttft-slo-ms, --tpot-slo-ms) for the goodput search", "neither");
  }
  if (!(slo.percentile > 0 && slo.percentile <= 100)) {
    throw InputError(where, "--slo-percentile", "a percentile in (0, 100]", fmt::format("{:g}", slo.percentile));
  }
  if (!(rel_precision > 0 && rel_precision < 1)) {
    throw InputError(where, "--goodput-precision", "a relative precision in (0, 1)", fmt::format("{:g}", rel_precision));
  }
  if (!load.trace.empty() || load.concurrency > 0) {
    throw InputError(where, "", "Poisson arrivals for the goodput search (it varies --rate)", "--trace or --concurrency");
  }
  GoodputResult g;
  // A cancelled probe unwinds the search (caught below): its partial figures must not steer it.
  struct Stop {};
  auto run = [&](double rate) {
    LoadSpec l = load;
    l.rate_per_s = rate;
    SimulationResult r = simulate(p, gpu, t, w, l, where, cancel);
    if (r.cancelled) throw Stop{};
    const bool ok = meets_slo(r, slo);
    const LatencyAt at = latency_at(r, slo.percentile);
    g.probes.push_back({rate, at.ttft_s, at.tpot_s, ok});
    ++g.simulations;
    return std::make_pair(ok, std::move(r));
  };
  try {
    // Start at one request per single-request end-to-end time (the rate a one-at-a-time server
    // could sustain): batching engines sustain more, so the bracket usually grows upwards.
    LoadSpec one = load;
    one.rate_per_s = 1.0;
    one.requests = 1;
    const SimulationResult single = simulate(p, gpu, t, w, one, where, cancel);
    if (single.cancelled) throw Stop{};
    if (single.rejected > 0) {
      g.reason = single.requests.front().reason;
      return g;
    }
    const double r0 = 1.0 / single.e2e_s.mean;
    constexpr int kSteps = 24;  // 2^24 either way
    double lo = 0, hi = 0;
    SimulationResult best;
    auto [ok0, res0] = run(r0);
    if (ok0) {
      lo = r0, best = std::move(res0);
      for (int i = 0; i < kSteps && hi == 0; ++i) {
        auto [ok, r] = run(lo * 2);
        if (ok)
          lo *= 2, best = std::move(r);
        else
          hi = lo * 2;
      }
      if (hi == 0) {
        g.goodput_rps = lo, g.lo_rps = lo, g.hi_rps = kNaN;
        g.reason = fmt::format("meets the targets at every rate tried, up to {:.4g} req/s: {} requests are too few to queue", lo,
                               load.requests);
        g.at_goodput = std::move(best);
        return g;
      }
    } else {
      hi = r0;
      for (int i = 0; i < kSteps && lo == 0; ++i) {
        auto [ok, r] = run(hi / 2);
        if (ok)
          lo = hi / 2, best = std::move(r);
        else
          hi /= 2;
      }
      if (lo == 0) {
        g.hi_rps = hi;
        g.reason = fmt::format(
            "misses the targets even at {:.3g} req/s (requests one at a time): TTFT p{:g} {:.4g} s, TPOT p{:g} {:.4g} s", hi,
            slo.percentile, g.probes.back().ttft_s, slo.percentile, g.probes.back().tpot_s);
        return g;
      }
    }
    while (hi - lo > rel_precision * hi) {
      const double mid = 0.5 * (lo + hi);
      auto [ok, r] = run(mid);
      if (ok)
        lo = mid, best = std::move(r);
      else
        hi = mid;
    }
    g.goodput_rps = lo, g.lo_rps = lo, g.hi_rps = hi;
    g.reason = fmt::format("bisection: meets at {:.4g} req/s, misses at {:.4g} req/s ({} simulations)", lo, hi, g.simulations);
    g.at_goodput = std::move(best);
    return g;
  } catch (Stop) {
    GoodputResult stopped;
    stopped.cancelled = true;
    stopped.simulations = g.simulations;
    stopped.reason = "interrupted";
    return stopped;
  }
}

// ---- Goodput of a design -----------------------------------------------------------------------

LoadSpec serving_load(const ServingLoad& s) {
  LoadSpec l;  // no arrivals yet: a rate, a closed loop, a trace, or the search's rates
  l.requests = s.requests;
  l.isl = parse_length_dist(s.isl, "--isl");
  l.osl = parse_length_dist(s.osl, "--osl");
  l.seed = static_cast<std::uint64_t>(s.seed);
  return l;
}

Slo serving_slo(const ServingLoad& s) {
  return Slo{s.ttft_slo_s, s.tpot_slo_s, s.slo_percentile};
}

void validate_goodput(const Workload& w, const std::string& where) {
  if (!w.serving.has_slo()) {
    throw InputError(where, "goodput_rps", "a TTFT or TPOT target (--ttft-slo-ms, --tpot-slo-ms) for the goodput search",
                     "neither");
  }
  validate(w.serving, where);
  LoadSpec l = serving_load(w.serving);
  l.rate_per_s = 1;  // the search varies it
  validate(l, where);
  validate_scheduler(w.engine, where);
}

GoodputResult design_goodput(const ArchProfile& p, const GpuSpec& gpu, const TimingParams& t, const Workload& w,
                             const std::atomic<bool>* cancel) {
  return find_goodput(p, gpu, t, w, serving_load(w.serving), serving_slo(w.serving), w.serving.goodput_precision, "goodput_rps",
                      cancel);
}

}  // namespace kvscope::models
