#!/usr/bin/env python3
"""kvbench's torch families: the kernels of a decode step / prefill *as eager PyTorch runs them*.

The stacks measured here ("torch-flash", "torch-cudnn") are the ones users run when they write a
transformer in plain PyTorch and capture a step in a CUDA graph:

  embedding     F.embedding                                  (1 kernel)
  rms_norm      F.rms_norm(x, (d,), w, eps)
  qkv / o / mlp F.linear (cuBLAS / cuBLASLt through at::linear), no bias
  rope          Hugging Face style: x*cos + cat(-x2, x1)*sin on q and k (5 kernels per tensor)
  kv_append     cache[:, :, pos:pos+P].copy_(k) and the same for v (2 kernels)
  attention     F.scaled_dot_product_attention, backend forced (FLASH_ATTENTION or
                CUDNN_ATTENTION); decode: q_len 1, enable_gqa; prefill: is_causal
  residual_add  h + x (a separate kernel: no fused epilogue)
  silu_mul      F.silu(gate) * up on the two halves of the gate_up output (2 kernels)
  lm_head       F.linear on the last token of each request

Families (schema "kvbench-result/1", the same protocol as kvbench where it applies):
  torch_launch            graphs of N tiny kernels: the in-graph cost per kernel and per replay
  torch_gemm              F.linear over M x (N, K) projection shapes, cold weights (rotated sets)
  torch_attention         SDPA decode over batch x context x (Hkv, g) x head_dim, cold K/V
  torch_attention_prefill SDPA causal prefill over batch x prompt x (Hkv, g) x head_dim
  torch_elementwise       each elementwise op of the step at rows x widths, 20 per graph; with
                          --families elementwise_layer (l2_state "layer") each decode-layout op in
                          its layer's regime: behind an L2 flush (a layer's weight stream) and a
                          kernel that writes its activation input (the producing GEMM's output)
  torch_power             bursts of 1..256 back-to-back GEMMs / prefill attentions (alone or
                          interleaved with DRAM copies): the SM clock a burst of that length runs at
  decode_step / prefill   the whole step, one CUDA graph (what kvscope validate predicts)

Timing: every measurement is a CUDA graph replay (R repetitions of the op captured in one graph,
time / R: the in-graph cost a step sees, launch gap included), queued behind torch.cuda._sleep so
that host submission stays out of the CUDA-event interval; SM clock read through NVML after each
sample, samples under 75 % of the maximum clock dropped and counted; stop at rel. stdev < 0.5 %
after >= 20 ms measured, or at a time / sample cap. Random data everywhere (never zeros).
Bytes and FLOPs per record come from the formulas in this file, never from the kernels.
"""
import argparse
import datetime
import json
import math
import os
import socket
import statistics
import sys
import tempfile
import time
import traceback

import torch
import torch.nn.functional as F

try:
    from torch.nn.attention import SDPBackend, sdpa_kernel
except Exception:  # pragma: no cover - old PyTorch
    SDPBackend = None
    sdpa_kernel = None

VERSION = "0.8.19"
# End-to-end sets measured with both stacks on every point (earlier sets run cuDNN on a subset).
HOLDOUTS_BOTH_STACKS = ("holdout6", "holdout7", "holdout8", "holdout9", "holdout10", "holdout11", "holdout12", "holdout13", "holdout14", "holdout15", "holdout16", "holdout17")
# End-to-end grids per set: (decode batches, decode contexts, (batch, prompt) prefills); "main" is fam_e2e's default.
E2E_GRIDS = {
    "holdout": ([1, 4, 16, 64, 256, 768], [1024, 4096, 16384, 65536], [(1, 1024), (1, 4096), (1, 16384), (1, 24576), (2, 4096)]),
    "holdout2": ([1, 3, 12, 48, 100, 200, 384], [700, 3000, 12000, 50000], [(1, 768), (1, 3000), (1, 12000), (2, 6000), (1, 20000)]),
    "holdout3": ([1, 6, 24, 96, 256, 640, 1024], [1500, 6000, 24000, 131072], [(1, 1000), (3, 3000), (1, 4000), (1, 16384), (1, 32768)]),
    "holdout4": ([1, 5, 20, 80, 320, 800], [1000, 5000, 20000, 100000], [(1, 1500), (1, 6000), (1, 20000), (2, 8000)]),
    "holdout5": ([1, 2, 6, 20, 72, 300], [600, 5000, 40000], [(1, 700), (1, 5000), (1, 18000)]),
    "holdout6": ([1, 7, 48, 192, 512, 1024], [900, 7000, 30000, 128000], [(1, 900), (1, 2500), (1, 9000), (2, 12000), (1, 28000)]),
    "holdout7": ([1, 3, 16, 60, 160, 450, 1024], [1200, 9000, 40000, 110000], [(1, 1200), (1, 6000), (3, 5000), (1, 20000)]),
    "holdout8": ([1, 5, 24, 100, 300, 1024], [800, 5000, 24000, 128000], [(1, 800), (1, 4000), (2, 10000), (1, 32000)]),
    "holdout9": ([1, 6, 32, 128, 400, 1024], [2000, 12000, 60000, 131072], [(1, 1500), (1, 8000), (2, 16000), (1, 32768)]),
    "holdout10": ([1, 10, 40, 144, 512, 1024], [1800, 10000, 50000, 131072], [(1, 600), (1, 6000), (2, 14000), (1, 32768)]),
    "holdout11": ([1, 8, 36, 160, 600, 1024], [1300, 7500, 45000, 131072], [(1, 1100), (1, 9000), (3, 4500), (1, 30000)]),
    "holdout12": ([2, 12, 28, 56, 220, 700], [3500, 20000, 70000, 131072], [(1, 2000), (1, 10000), (2, 7000), (1, 24000)]),
    "holdout13": ([1, 9, 44, 180, 480, 1024], [2500, 15000, 90000, 128000], [(1, 1500), (1, 12000), (2, 9000), (1, 32768)]),
    "holdout14": ([1, 11, 52, 200, 420, 1024], [3000, 18000, 75000, 131072], [(1, 1800), (1, 14000), (4, 4000), (1, 30000)]),
    "holdout15": ([1, 7, 30, 130, 350, 900], [1200, 9000, 48000, 131072], [(1, 2200), (1, 9000), (3, 6000), (1, 28000)]),
    "holdout16": ([1, 5, 24, 96, 320, 768], [1800, 7000, 36000, 131072], [(1, 1300), (1, 7000), (2, 11000), (1, 26000)]),
    "holdout17": ([1, 6, 28, 112, 384, 1024], [1600, 11000, 55000, 131072], [(1, 1700), (1, 8000), (2, 13000), (1, 31000)]),
    "fp8w": ([1, 16, 64, 256], [1024, 8192], [(1, 1024), (1, 4096), (1, 16384)]),
}
ACT = 2  # bf16 bytes per element
DEV = torch.device("cuda")
BF16 = torch.bfloat16
FP8 = getattr(torch, "float8_e4m3fn", None)


def fp8_linear(x, w8, one):
    """What an fp8-weight linear is in plain PyTorch: the activation cast to e4m3 (one kernel,
    static scale 1: rms-normed activations lie well inside e4m3's +-448) and torch._scaled_mm
    (cuBLASLt fp8 GEMM, per-tensor scales, bf16 out). w8 is [N, K] row-major, so w8.t() is the
    column-major [K, N] operand cuBLASLt wants."""
    shp = x.shape
    x2 = x.reshape(-1, shp[-1]).to(FP8)
    y = torch._scaled_mm(x2, w8.t(), scale_a=one, scale_b=one, out_dtype=BF16)
    return y.view(*shp[:-1], w8.shape[0])


# ----------------------------------------------------------------------------------------------
# statistics, clocks, timing


def quantile(v, q):
    s = sorted(v)
    pos = q * (len(s) - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def summarize(v):
    mean = sum(v) / len(v)
    sd = statistics.stdev(v) if len(v) > 1 else 0.0
    return dict(median_s=quantile(v, 0.5), mean_s=mean, stdev_s=sd, q1_s=quantile(v, 0.25), q3_s=quantile(v, 0.75),
                min_s=min(v), rel_stdev=sd / mean if mean else 0.0, sample_count=len(v))


class Nvml:
    def __init__(self):
        self.h = None
        self.max_kHz = float("nan")
        self.info = {}
        try:
            import pynvml
            pynvml.nvmlInit()
            self.nv = pynvml
            idx = torch.cuda.current_device()
            self.h = pynvml.nvmlDeviceGetHandleByIndex(idx)
            self.max_kHz = pynvml.nvmlDeviceGetMaxClockInfo(self.h, pynvml.NVML_CLOCK_SM) * 1000.0
            try:
                mem_mhz = pynvml.nvmlDeviceGetMaxClockInfo(self.h, pynvml.NVML_CLOCK_MEM)
                bus = pynvml.nvmlDeviceGetMemoryBusWidth(self.h)
                self.info["mem_clock_kHz"] = mem_mhz * 1000
                self.info["bus_width_bits"] = bus
                self.info["driver_peak_bandwidth_Bps"] = 2.0 * mem_mhz * 1e6 * bus / 8
            except Exception:
                pass
            try:
                self.info["power_limit_W"] = pynvml.nvmlDeviceGetPowerManagementLimit(self.h) / 1000.0
            except Exception:
                pass
            try:
                v = pynvml.nvmlSystemGetDriverVersion()
                self.info["driver_version"] = v.decode() if isinstance(v, bytes) else v
            except Exception:
                pass
            try:
                cur, _ = pynvml.nvmlDeviceGetEccMode(self.h)
                self.info["ecc_enabled"] = bool(cur)
            except Exception:
                pass
        except Exception as e:  # no NVML: clocks unknown, nothing dropped
            print(f"torch_bench: NVML unavailable ({e}); SM clock not sampled", flush=True)
            self.h = None

    def power_W(self):
        if self.h is None:
            return float("nan")
        try:
            return self.nv.nvmlDeviceGetPowerUsage(self.h) / 1000.0
        except Exception:
            return float("nan")

    def sm_kHz(self):
        if self.h is None:
            return float("nan")
        try:
            return self.nv.nvmlDeviceGetClockInfo(self.h, self.nv.NVML_CLOCK_SM) * 1000.0
        except Exception:
            return float("nan")


class Rule:
    def __init__(self, quick):
        self.min_samples = 5 if quick else 8
        self.max_samples = 60 if quick else 120
        self.min_time_s = 0.02
        self.max_time_s = 0.08 if quick else 0.2
        self.max_wall_s = 2.0 if quick else 4.0
        self.max_rel_stdev = 0.005


def side_stream_warmup(fn, n=2):
    """Runs fn n times on a side stream (cuBLAS handles, lazy modules) and returns the last output."""
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    out = None
    with torch.cuda.stream(s):
        for _ in range(n):
            out = fn()
    torch.cuda.current_stream().wait_stream(s)
    torch.cuda.synchronize()
    return out


SEP = {}


def separator():
    """A tiny dependent kernel (1-element add_) placed after every repetition of an op: in a step
    an op is always preceded and followed by a *different* kernel, and back-to-back repetitions of
    one kernel can overlap their prologue / epilogue (programmatic dependent launch in cuBLAS and
    friends) in a way the step never sees. Its own cost (a graph of separators alone) is taken off."""
    if "t" not in SEP:
        SEP["t"] = torch.zeros(1, device=DEV)
    SEP["t"].add_(1.0)


def flush():
    """Reads 2 x L2 (a sum over a 128 MiB buffer): what a step's weight stream does to L2 between
    two layers, so the next op finds its small operands (norm weights, RoPE tables) in DRAM."""
    if "f" not in SEP:
        SEP["f"] = torch.randn(64 * 2**20, device=DEV, dtype=BF16)
    return SEP["f"].sum()


def capture(fn_list, interleave=True, sep=None):
    """One CUDA graph holding every callable of fn_list in order (each already warmed up), each
    followed by the separator kernel (or `sep`) when `interleave`."""
    g = torch.cuda.CUDAGraph()
    outs = []
    with torch.cuda.graph(g):
        for f in fn_list:
            outs.append(f())
            if interleave:
                (sep or separator)()
    torch.cuda.synchronize()
    return g, outs


class Timer:
    def __init__(self, nvml, rule):
        self.nvml = nvml
        self.rule = rule
        self.ev0 = torch.cuda.Event(enable_timing=True)
        self.ev1 = torch.cuda.Event(enable_timing=True)

    def separator_s(self):
        """In-graph cost of one separator kernel (a graph of 100 alone), measured once."""
        if "cost" not in SEP:
            separator()
            torch.cuda.synchronize()
            g, _ = capture([lambda: None] * 100, interleave=True)
            summ = self.time_graph(g, 100, net=False)[0]
            SEP["cost"] = summ["median_s"]
            print(f"  separator kernel: {SEP['cost']*1e6:.3f} us in graph", flush=True)
        return SEP["cost"]

    def flush_s(self):
        """In-graph cost of one L2 flush (a graph of 20 alone), measured once."""
        if "fcost" not in SEP:
            flush()
            torch.cuda.synchronize()
            g, _ = capture([lambda: None] * 20, interleave=True, sep=flush)
            SEP["fcost"] = self.time_graph(g, 20, net=False)[0]["median_s"]
            print(f"  L2 flush: {SEP['fcost']*1e6:.3f} us in graph", flush=True)
        return SEP["fcost"]

    def time_graph(self, g, per, min_samples=None, max_time_s=None, warm=2, net=True, cold=False):
        """Median time of one replay / per, less one separator (or L2 flush when `cold`) per
        repetition when `net`. Returns (summary, samples, clocks, dropped, stop)."""
        sep = (self.flush_s() if cold else self.separator_s()) if net else 0.0
        rule = self.rule
        min_s = min_samples or rule.min_samples
        cap = max_time_s or rule.max_time_s
        for _ in range(warm):
            g.replay()
        torch.cuda.synchronize()
        # The host's submission of the graph (cudaGraphLaunch inside g.replay) must end before the GPU
        # reaches the start event, or the sample holds part of it: an end-to-end step of 300-1000 kernels
        # takes 0.2-0.4 ms of host time on torch 2.11, longer than the 0.1 ms sleep harness 0.5.0 used,
        # which made every such step 0.1-0.2 ms slow (torch_gap_probe.py, 2026-12-02). The lead is 3 x the
        # host's submission time, at least the old 0.1 ms (uniform microbenchmark graphs submit in < 20 us).
        t0 = time.perf_counter()
        g.replay()
        self.host_replay_s = time.perf_counter() - t0
        torch.cuda.synchronize()
        self.lead_cycles = max(200000, int(3 * self.host_replay_s * 2.0e9))  # _sleep cycles at ~2 GHz
        samples, clocks, dropped = [], [], 0
        acc, wall0, stop = 0.0, time.time(), "cap"
        while True:
            torch.cuda._sleep(self.lead_cycles)  # the replay is queued before the start event fires
            self.ev0.record()
            g.replay()
            self.ev1.record()
            self.ev1.synchronize()
            clk = self.nvml.sm_kHz()
            t = self.ev0.elapsed_time(self.ev1) * 1e-3
            if not math.isnan(clk) and not math.isnan(self.nvml.max_kHz) and clk < 0.75 * self.nvml.max_kHz:
                dropped += 1
                if time.time() - wall0 > rule.max_wall_s * 2:
                    stop = "throttled"
                    break
                continue
            samples.append(t / per - sep)
            clocks.append(clk)
            acc += t
            n = len(samples)
            if n >= rule.max_samples:
                stop = "max_samples"
                break
            if n >= min_s:
                rs = statistics.stdev(samples) / (sum(samples) / n)
                if acc >= rule.min_time_s and rs < rule.max_rel_stdev:
                    stop = "converged"
                    break
                if acc >= cap or time.time() - wall0 > rule.max_wall_s:
                    stop = "cap"
                    break
        if not samples:
            return None, [], [], dropped, stop
        return summarize(samples), samples, clocks, dropped, stop


def record(family, name, axes, summ, samples, clocks, dropped, stop, rd, wr, fl, verified, err, extra=None):
    kc = [c for c in clocks if not math.isnan(c)]
    r = {"family": family, "name": name, "axes": axes, "l2_state": "cold", "bytes_read_B": rd, "bytes_written_B": wr,
         "flop_count": fl, "samples_s": samples, **summ, "discarded_throttled_count": dropped,
         "sm_clock_mean_kHz": (sum(kc) / len(kc)) if kc else None, "stop_reason": stop,
         "achieved_Bps": (rd + wr) / summ["median_s"], "achieved_flops": fl / summ["median_s"],
         "verified": bool(verified), "max_rel_error": err}
    if extra:
        r.update(extra)
    return r


def rel_err(a, b):
    a = a.float()
    b = b.float()
    n = b.norm().item()
    return (a - b).norm().item() / n if n > 0 else float("inf")


def profiled_kernels(fn):
    """Names of the CUDA kernels one eager call of fn launches, in order (torch.profiler; copies and
    memsets left out); None if the profiler fails."""
    try:
        from torch.profiler import ProfilerActivity, profile
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            fn()
            torch.cuda.synchronize()
        return [e.name for e in prof.events() if "CUDA" in str(getattr(e, "device_type", ""))
                and not e.name.startswith(("Memcpy", "Memset", "cudaMemcpy", "cudaMemset"))]
    except Exception:
        return None


def kernel_launches(fn):
    """Each CUDA kernel one eager call of fn launches, in order, as the profiler's trace records it:
    name, duration (s), grid, block and CUPTI's occupancy figures (blocks per SM, registers, shared
    memory); None if the profiler fails."""
    try:
        from torch.profiler import ProfilerActivity, profile
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            fn()
            torch.cuda.synchronize()
        with tempfile.NamedTemporaryFile(suffix=".json") as f:
            prof.export_chrome_trace(f.name)
            trace = json.load(open(f.name))
        out = []
        for e in trace.get("traceEvents", []):
            if e.get("cat") != "kernel":
                continue
            a = e.get("args", {})
            out.append({"name": e.get("name", ""), "dur_s": float(e.get("dur", 0)) * 1e-6, "grid": a.get("grid"),
                        "block": a.get("block"), "blocks_per_sm": a.get("blocks per SM"),
                        "warps_per_sm": a.get("warps per SM"), "registers_per_thread": a.get("registers per thread"),
                        "shared_memory_B": a.get("shared memory"), "est_occupancy_pct": a.get("est. achieved occupancy %")})
        return out
    except Exception as ex:
        print(f"  kernel_launches: profiler failed: {str(ex).splitlines()[0][:200]}", flush=True)
        return None


def kernel_names(fn):
    """profiled_kernels, [] if the profiler fails."""
    return profiled_kernels(fn) or []


def count_kernels(fn):
    """Kernels one eager call of fn launches (torch.profiler); None if the profiler fails."""
    names = profiled_kernels(fn)
    return None if names is None else len(names)


def sdpa(q, k, v, backend, causal, gqa):
    kw = dict(is_causal=causal)
    if gqa:
        kw["enable_gqa"] = True
    if sdpa_kernel is None:
        return F.scaled_dot_product_attention(q, k, v, **kw)
    with sdpa_kernel([getattr(SDPBackend, backend)]):
        return F.scaled_dot_product_attention(q, k, v, **kw)


def ref_attention(q, k, v, causal):
    """fp32 reference for request 0: q [1,Hq,Lq,D], k/v [1,Hkv,S,D]."""
    g = q.shape[1] // k.shape[1]
    qf = q.float()
    kf = k.float().repeat_interleave(g, dim=1)
    vf = v.float().repeat_interleave(g, dim=1)
    s = qf @ kf.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if causal:
        Lq, S = q.shape[2], k.shape[2]
        mask = torch.ones(Lq, S, dtype=torch.bool, device=q.device).tril(S - Lq)
        s = s.masked_fill(~mask, float("-inf"))
    return torch.softmax(s, dim=-1) @ vf


# ----------------------------------------------------------------------------------------------
# the step's elementwise ops, exactly as the e2e step runs them (one definition for both)


def rope(x, cos, sin):
    half = x.shape[-1] // 2
    x1 = x[..., :half]
    x2 = x[..., half:]
    return x * cos + torch.cat((-x2, x1), dim=-1) * sin


def silu_mul(gu):
    gate, up = gu.chunk(2, dim=-1)
    return F.silu(gate) * up


def decode_layout(qkv, B, hq, hkv, hd, S):
    """The decode step's views of a projection output qkv [B, 1, (hq + 2 hkv) hd] (q, k, v as
    [B, heads, 1, hd]), cos / sin gathered per request from an S-row table, and K/V caches of S
    positions: the tensors RoPE and the K/V append run on."""
    q = qkv[..., :hq * hd].view(B, 1, hq, hd).transpose(1, 2)
    k = qkv[..., hq * hd:(hq + hkv) * hd].view(B, 1, hkv, hd).transpose(1, 2)
    vv = qkv[..., (hq + hkv) * hd:].view(B, 1, hkv, hd).transpose(1, 2)
    table = torch.randn(S, hd, device=DEV, dtype=BF16)
    pos = torch.randint(0, S, (B, 1), device=DEV)
    cos = F.embedding(pos, table).unsqueeze(1)
    sin = F.embedding(pos, table).unsqueeze(1)
    kc = torch.randn(B, hkv, S, hd, device=DEV, dtype=BF16)
    vc = torch.randn(B, hkv, S, hd, device=DEV, dtype=BF16)
    return q, k, vv, cos, sin, kc, vc


# Bytes each op moves (read + written), bf16, from its definition above. `rows` tokens.
def bytes_rms_norm(rows, d):
    return ACT * (2 * rows * d + d)


def bytes_residual_add(rows, d):
    return ACT * 3 * rows * d


def bytes_silu_mul(rows, f):
    return ACT * 5 * rows * f  # silu: read f, write f; mul: read 2f, write f


def bytes_rope(rows, heads, hd):
    # x*cos (2), -x2 (1), cat (2), *sin (2), add (3) in units of rows*heads*hd elements
    return ACT * 10 * rows * heads * hd


def bytes_kv_append(rows, kv_heads, hd):
    return ACT * 2 * 2 * rows * kv_heads * hd  # K and V: read + write each


def bytes_embedding(rows, d):
    return ACT * 2 * rows * d


# ----------------------------------------------------------------------------------------------


class Bench:
    def __init__(self, args):
        self.args = args
        self.quick = args.mode == "quick"
        self.nvml = Nvml()
        self.rule = Rule(self.quick)
        self.timer = Timer(self.nvml, self.rule)
        p = torch.cuda.get_device_properties(0)
        self.props = p
        self.l2 = int(getattr(p, "L2_cache_size", 50 * 2**20))
        self.sms = p.multi_processor_count
        self.records, self.skipped, self.errors = [], [], []
        self.t_start = time.time()
        self.deadline = self.t_start + args.budget_s
        self.date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        torch.manual_seed(args.seed)

    def out_of_time(self):
        return time.time() > self.deadline

    def skip(self, family, axes, reason):
        self.skipped.append({"family": family, "axes": axes, "reason": reason})

    def device_json(self):
        p = self.props
        d = {"name": p.name, "uuid": str(getattr(p, "uuid", "")), "compute_capability": f"{p.major}.{p.minor}",
             "sm_count": p.multi_processor_count, "l2_cache_B": self.l2, "mem_total_B": p.total_memory,
             "sm_clock_max_kHz": self.nvml.max_kHz if not math.isnan(self.nvml.max_kHz) else None}
        d.update(self.nvml.info)
        return d

    def write(self, final):
        a = self.args
        root = {
            "schema": "kvbench-result/1",
            "harness": {"version": VERSION, "tool": "harness/scripts/torch_bench.py", "git_sha": a.git_sha, "mode": a.mode,
                        "set": a.set, "command_line": " ".join(sys.argv), "torch": torch.__version__,
                        "torch_cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
                        "cublas": "through torch (at::linear)", "stacks": a.stacks.split(",")},
            "device": self.device_json(),
            "run": {"date_utc": self.date, "host": socket.gethostname(), "complete": final,
                    "duration_s": time.time() - self.t_start, "notes": a.notes, "errors": self.errors,
                    "protocol": {
                        "timer": "CUDA events around one CUDA-graph replay holding R repetitions of the op, each followed by "
                                 "a 1-element add_ separator kernel (time / R less the separator's own in-graph cost, measured "
                                 "by a graph of 100 separators), queued behind torch.cuda._sleep of max(0.1 ms, 3 x the host's graph submission time) so that the sample holds no host time (0.5.0 and earlier: 0.1 ms always); the whole step is one graph "
                                 "for decode_step/prefill (no separator)",
                        "clock": "NVML SM clock after each sample; samples under 75% of the max SM clock dropped",
                        "stop_rule": f"min {self.rule.min_samples} samples; stop at rel stdev < {self.rule.max_rel_stdev} after "
                                     f"{self.rule.min_time_s} s measured, or {self.rule.max_time_s} s / {self.rule.max_samples} "
                                     f"samples / {self.rule.max_wall_s} s wall",
                        "l2": "gemm/attention: weight or K/V sets rotated across the R repetitions (>= 5 x L2 where memory "
                              "allows); elementwise: buffers reused (activations are L2-warm in a step); e2e: footprint >> L2",
                        "data": "random normal bf16, never zeros"}},
            "ceilings": {},
            "benchmarks": self.records,
            "skipped": self.skipped,
        }
        tmp = a.out_json + ".tmp"
        with open(tmp, "w") as f:
            json.dump(root, f, indent=None, allow_nan=False, default=lambda x: None, separators=(",", ":"))
        os.replace(tmp, a.out_json)

    # ------------------------------------------------------------------------------------------
    def fam_launch(self):
        x = torch.zeros(1, device=DEV)
        self.timer.separator_s()
        # alternating: a cycle of 4 different tiny kernels (what a step's kernel sequence does)
        cyc = [lambda: x.add_(1.0), lambda: x.mul_(1.0), lambda: x.sub_(0.5), lambda: x.abs_()]
        for c in cyc:
            side_stream_warmup(c)
        for n in [20, 100]:
            g, _ = capture([cyc[i % 4] for i in range(n)], interleave=False)
            summ, smp, clk, dr, stop = self.timer.time_graph(g, 1, net=False)
            axes = {"mode": "graph_alternating", "kernels": n}
            self.records.append(record("torch_launch", f"torch_graph_alt_{n}", axes, summ, smp, clk, dr, stop, 0, 0, 0, True, 0.0))
            print(f"  launch graph alternating n={n:4d} {summ['median_s']*1e6:8.2f} us", flush=True)
            del g
        for n in [1, 20, 100]:
            fns = [lambda: x.add_(1.0) for _ in range(n)]
            side_stream_warmup(lambda: x.add_(1.0))
            g, _ = capture(fns, interleave=False)
            summ, smp, clk, dr, stop = self.timer.time_graph(g, 1, net=False)
            axes = {"mode": "graph", "kernels": n}
            self.records.append(record("torch_launch", f"torch_graph_{n}", axes, summ, smp, clk, dr, stop, 0, 0, 0, True, 0.0))
            print(f"  launch graph n={n:4d} {summ['median_s']*1e6:8.2f} us", flush=True)
            del g

    # ------------------------------------------------------------------------------------------
    def gemm_shapes(self):
        S = [
            ("llama-3-8b", "qkv_gqa8", 6144, 4096), ("llama-3-8b", "q_only", 4096, 4096), ("llama-3-8b", "qkv_mqa", 4352, 4096),
            ("llama-3-8b", "o", 4096, 4096), ("llama-3-8b", "gate_up", 28672, 4096), ("llama-3-8b", "down", 4096, 14336),
            ("llama-3-8b", "lm_head", 128256, 4096),
            ("llama-3.2-1b", "qkv_gqa8", 3072, 2048), ("llama-3.2-1b", "o", 2048, 2048),
            ("llama-3.2-1b", "gate_up", 16384, 2048), ("llama-3.2-1b", "down", 2048, 8192),
            ("llama-3.2-1b", "lm_head", 128256, 2048),
            ("qwen2.5-3b", "qkv_gqa2", 2560, 2048), ("qwen2.5-3b", "gate_up", 22016, 2048), ("qwen2.5-3b", "down", 2048, 11008),
            ("llama-2-13b", "qkv_mha", 15360, 5120), ("llama-2-13b", "gate_up", 27648, 5120), ("llama-2-13b", "down", 5120, 13824),
            ("hd256-9b", "qkv", 8192, 3584), ("hd256-9b", "o", 3584, 4096),
        ]
        if self.quick:
            S = [s for s in S if s[0] in ("llama-3-8b", "llama-3.2-1b")][:6]
        return S

    def fam_gemm_odd(self):
        """torch_gemm at row counts that are not powers of two (the decode batches of end-to-end sets) and at the
        projection shapes of sub-1B / 1280-wide models (session 16); each record names the kernels cuBLAS launched."""
        small = [("d576", "qkv_gqa3", 960, 576), ("d576", "o", 576, 576), ("d576", "gate_up", 3072, 576),
                 ("d576", "down", 576, 1536), ("d1280", "qkv_mha", 3840, 1280), ("d1280", "gate_up", 10240, 1280),
                 ("d1280", "down", 1280, 5120), ("d3200", "qkv_gqa8", 4800, 3200)]
        self.fam_gemm(Ms=[3, 6, 9, 12, 24, 44, 52, 96, 180, 200, 300, 420, 700], shapes=self.gemm_shapes() + small,
                      kernels=True)

    def fam_gemm(self, Ms=None, shapes=None, kernels=False):
        Ms = Ms or [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384]
        if self.quick:
            Ms = [1, 16, 128, 1024, 8192]
        for (model, label, N, K) in shapes or self.gemm_shapes():
            wb = N * K * ACT
            R = int(min(32, max(2, math.ceil(5 * self.l2 / wb))))
            ws = [torch.randn(N, K, device=DEV, dtype=BF16) * (1.0 / math.sqrt(K)) for _ in range(R)]
            for M in Ms:
                if self.out_of_time():
                    self.skip("torch_gemm", {"M": M, "N": N, "K": K}, "time budget")
                    continue
                if label == "lm_head" and M > 1024:
                    continue
                axes = {"M": M, "N": N, "K": K, "label": label, "model": model, "weight_sets": R}
                try:
                    x = torch.randn(M, K, device=DEV, dtype=BF16)
                    reps = R if M * N * K < 2e11 else 2
                    fns = [(lambda i=i: F.linear(x, ws[i % R])) for i in range(reps)]
                    side_stream_warmup(fns[0])
                    g, outs = capture(fns)
                    g.replay()
                    torch.cuda.synchronize()
                    # verify 16 random outputs of the first repetition against fp64
                    idx_m = torch.randint(0, M, (16,), device=DEV)
                    idx_n = torch.randint(0, N, (16,), device=DEV)
                    ref = (x[idx_m].double() * ws[0][idx_n].double()).sum(-1)
                    got = outs[0][idx_m, idx_n].double()
                    err = ((got - ref).norm() / ref.norm().clamp_min(1e-30)).item()
                    summ, smp, clk, dr, stop = self.timer.time_graph(g, reps)
                    if summ is None:
                        self.skip("torch_gemm", axes, "every sample throttled")
                        continue
                    if kernels:
                        axes["kernel_names"] = kernel_names(fns[0])
                    rd = ACT * (N * K + M * K)
                    wr = ACT * M * N
                    self.records.append(record("torch_gemm", f"torch_linear_{label}", axes, summ, smp, clk, dr, stop, rd, wr,
                                               2.0 * M * N * K, err < 2e-2, err))
                    print(f"  gemm {model:12s} {label:9s} M={M:6d} N={N:6d} K={K:6d} {summ['median_s']*1e6:10.2f} us "
                          f"{(rd+wr)/summ['median_s']/1e9:7.0f} GB/s {2*M*N*K/summ['median_s']/1e12:6.1f} TF/s", flush=True)
                    del g, outs, x
                except torch.OutOfMemoryError:
                    self.skip("torch_gemm", axes, "out of GPU memory")
                    torch.cuda.empty_cache()
            del ws
            torch.cuda.empty_cache()

    def fam_gemm_fp8(self):
        """torch._scaled_mm (cuBLASLt e4m3 x e4m3 -> bf16) over the same shapes as torch_gemm; the
        activation cast to fp8 is timed separately (torch_fp8_cast) since a step pays it once per
        linear input. M values torch refuses are recorded as skipped with the reason."""
        if FP8 is None or not hasattr(torch, "_scaled_mm"):
            self.skip("torch_gemm_fp8", {}, "this PyTorch has no float8 / _scaled_mm")
            return
        Ms = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384]
        if self.quick:
            Ms = [1, 16, 128, 1024, 8192]
        one = torch.ones((), device=DEV, dtype=torch.float32)
        for (model, label, N, K) in self.gemm_shapes():
            wb = N * K
            R = int(min(32, max(2, math.ceil(5 * self.l2 / wb))))
            ws = [(torch.randn(N, K, device=DEV, dtype=BF16) * (1.0 / math.sqrt(K))).to(FP8) for _ in range(R)]
            for M in Ms:
                if self.out_of_time():
                    self.skip("torch_gemm_fp8", {"M": M, "N": N, "K": K}, "time budget")
                    continue
                if label == "lm_head" and M > 1024:
                    continue
                axes = {"M": M, "N": N, "K": K, "label": label, "model": model, "weight_sets": R, "weight_dtype": "fp8_e4m3",
                        "activation_dtype": "fp8_e4m3", "scales": "per-tensor"}
                try:
                    x = torch.randn(M, K, device=DEV, dtype=BF16).to(FP8)
                    reps = R if M * N * K < 2e11 else 2
                    fns = [(lambda i=i: torch._scaled_mm(x, ws[i % R].t(), scale_a=one, scale_b=one, out_dtype=BF16))
                           for i in range(reps)]
                    side_stream_warmup(fns[0])
                    g, outs = capture(fns)
                    g.replay()
                    torch.cuda.synchronize()
                    idx_m = torch.randint(0, M, (16,), device=DEV)
                    idx_n = torch.randint(0, N, (16,), device=DEV)
                    ref = (x[idx_m].double() * ws[0][idx_n].double()).sum(-1)
                    got = outs[0][idx_m, idx_n].double()
                    err = ((got - ref).norm() / ref.norm().clamp_min(1e-30)).item()
                    summ, smp, clk, dr, stop = self.timer.time_graph(g, reps)
                    if summ is None:
                        self.skip("torch_gemm_fp8", axes, "every sample throttled")
                        continue
                    rd = N * K + M * K
                    wr = ACT * M * N
                    self.records.append(record("torch_gemm_fp8", f"torch_scaled_mm_{label}", axes, summ, smp, clk, dr, stop, rd,
                                               wr, 2.0 * M * N * K, err < 2e-2, err))
                    print(f"  gemm8 {model:12s} {label:9s} M={M:6d} N={N:6d} K={K:6d} {summ['median_s']*1e6:10.2f} us "
                          f"{(rd+wr)/summ['median_s']/1e9:7.0f} GB/s {2*M*N*K/summ['median_s']/1e12:6.1f} TF/s", flush=True)
                    del g, outs, x
                except torch.OutOfMemoryError:
                    self.skip("torch_gemm_fp8", axes, "out of GPU memory")
                    torch.cuda.empty_cache()
                except RuntimeError as e:
                    self.skip("torch_gemm_fp8", axes, f"refused: {str(e).splitlines()[0][:200]}")
                    torch.cuda.empty_cache()
            del ws
            torch.cuda.empty_cache()
        # the activation cast (bf16 -> e4m3), rows x K, 20 per graph like the elementwise family
        for K in [2048, 4096, 5120, 14336]:
            for M in [1, 8, 64, 256, 1024, 4096, 16384]:
                x = torch.randn(M, K, device=DEV, dtype=BF16)
                fns = [lambda: x.to(FP8) for _ in range(20)]
                side_stream_warmup(fns[0])
                g, outs = capture(fns)
                summ, smp, clk, dr, stop = self.timer.time_graph(g, 20)
                if summ is None:
                    continue
                ok = bool(torch.allclose(outs[0].float(), x.float(), rtol=0.07, atol=1e-2))
                axes = {"rows": M, "width": K, "op": "fp8_cast"}
                self.records.append(record("torch_fp8_cast", "torch_fp8_cast", axes, summ, smp, clk, dr, stop, ACT * M * K, M * K,
                                           0, ok, 0.0))
                print(f"  fp8 cast M={M:6d} K={K:6d} {summ['median_s']*1e6:8.2f} us", flush=True)
                del g, outs, x

    # ------------------------------------------------------------------------------------------
    def attn_backends(self):
        b = []
        for s in self.args.stacks.split(","):
            if s == "torch-flash":
                b.append(("FLASH_ATTENTION", "torch-flash"))
            elif s == "torch-cudnn":
                b.append(("CUDNN_ATTENTION", "torch-cudnn"))
        return b

    def fam_attention(self):
        Bs = [1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 512, 1024]
        Ss = [512, 2048, 8192, 32768, 131072]
        cfgs = [(8, 4, 128), (32, 1, 128), (1, 32, 128), (8, 8, 128), (2, 8, 128), (16, 2, 128), (4, 8, 128), (8, 4, 64),
                (32, 1, 64), (2, 16, 64), (8, 2, 256), (4, 4, 256)]
        if self.quick:
            Bs, Ss, cfgs = [1, 16, 256], [512, 8192], [(8, 4, 128), (1, 32, 128)]
        self.decode_attention_grid(cfgs, Bs, Ss, self.attn_backends())

    def decode_attention_grid(self, cfgs, Bs, Ss, backends):
        """SDPA decode over (Hkv, g, D) x B x S for each (backend, stack), K/V under --attn-max-kv-gb;
        cuDNN on its own subset (head_dim 128 and no Hkv 2 unless --cudnn-all; six batches)."""
        cap_B = self.args.attn_max_kv_gb * 1e9
        for backend, stack in backends:
            for (Hkv, g, D) in cfgs:
                if stack == "torch-cudnn" and (D != 128 or Hkv == 2) and not self.args.cudnn_all:
                    continue
                if self.args.cudnn_all and D == 128:
                    continue  # --cudnn-all adds the head_dims the default cuDNN grid leaves out
                for B in Bs:
                    for S in Ss:
                        if B * S * 2 * Hkv * D * ACT > cap_B:
                            continue
                        if stack == "torch-cudnn" and B not in (1, 4, 16, 64, 256, 1024):
                            continue
                        self.decode_point(backend, stack, B, S, Hkv, g, D)

    def decode_point(self, backend, stack, B, S, Hkv, g, D):
        """One decode attention record (or a 'time budget' skip)."""
        kvb = B * S * 2 * Hkv * D * ACT
        axes = {"batch": B, "kv_len": S, "n_kv_heads": Hkv, "group_size": g, "head_dim": D, "kv_dtype": "bf16",
                "backend": backend.lower(), "stack": stack}
        if self.out_of_time():
            self.skip("torch_attention", axes, "time budget")
            return
        self.one_decode_attention(backend, stack, B, S, Hkv, g, D, kvb, axes)

    def one_decode_attention(self, backend, stack, B, S, Hkv, g, D, kvb, axes):
        Hq = Hkv * g
        R = int(min(16, max(1, math.ceil(5 * self.l2 / kvb))))
        axes["rotation_sets"] = R
        try:
            # q as the step makes it: a view of the projection output [B, 1, Hq*D] as [B, Hq, 1, D]
            qs = torch.randn(B, 1, Hq * D, device=DEV, dtype=BF16).view(B, 1, Hq, D).transpose(1, 2)
            ks = [torch.randn(B, Hkv, S, D, device=DEV, dtype=BF16) for _ in range(R)]
            vs = [torch.randn(B, Hkv, S, D, device=DEV, dtype=BF16) for _ in range(R)]
        except torch.OutOfMemoryError:
            self.skip("torch_attention", axes, "out of GPU memory")
            torch.cuda.empty_cache()
            return
        gqa = g > 1
        try:
            out = sdpa(qs, ks[0], vs[0], backend, False, gqa)
            torch.cuda.synchronize()
        except Exception as e:
            self.skip("torch_attention", axes, f"{backend} does not run this shape: {str(e).splitlines()[0][:200]}")
            del qs, ks, vs
            torch.cuda.empty_cache()
            return
        try:
            ref = ref_attention(qs[:1], ks[0][:1], vs[0][:1], False)
            err = rel_err(out[:1], ref)
            fns = [(lambda i=i: sdpa(qs, ks[i % R], vs[i % R], backend, False, gqa)) for i in range(R)]
            side_stream_warmup(fns[0])
            kern = count_kernels(fns[0])
            gr, _ = capture(fns)
            summ, smp, clk, dr, stop = self.timer.time_graph(gr, R)
            del gr
        except Exception as e:
            self.skip("torch_attention", axes, f"capture/timing failed: {str(e).splitlines()[0][:200]}")
            del qs, ks, vs
            torch.cuda.empty_cache()
            return
        if summ is None:
            self.skip("torch_attention", axes, "every sample throttled")
            return
        rd = kvb + ACT * B * Hq * D
        wr = ACT * B * Hq * D
        fl = 4.0 * B * Hq * S * D
        self.records.append(record("torch_attention", f"sdpa_{backend.lower()}_decode", axes, summ, smp, clk, dr, stop, rd, wr, fl,
                                   math.isfinite(err) and err < 2e-2, err,
                                   {"kv_bytes_B": kvb, "kernels_per_call": kern}))
        print(f"  attn {stack:11s} B={B:5d} S={S:6d} Hkv={Hkv:2d} g={g:2d} D={D:3d} {summ['median_s']*1e6:10.2f} us "
              f"{(rd+wr)/summ['median_s']/1e9:7.0f} GB/s k={kern} err {err:.1e}", flush=True)
        del qs, ks, vs, out
        torch.cuda.empty_cache()

    # ------------------------------------------------------------------------------------------
    def fam_attention_prefill(self):
        Ps = [128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536]
        cfgs = [(8, 4, 128), (32, 1, 128), (1, 32, 128), (8, 8, 128), (8, 4, 64), (32, 1, 64), (8, 2, 256), (16, 1, 256)]
        Bs = [1, 4]
        if self.quick:
            Ps, cfgs, Bs = [512, 4096, 16384], [(8, 4, 128), (8, 2, 256)], [1]
        for backend, stack in self.attn_backends():
            for (Hkv, g, D) in cfgs:
                if stack == "torch-cudnn" and D not in (128, 256):
                    continue
                for B in Bs:
                    for P in Ps:
                        if B > 1 and P > 16384:
                            continue
                        if stack == "torch-cudnn" and P not in (512, 2048, 8192, 16384, 32768):
                            continue
                        self.prefill_point(backend, stack, B, P, Hkv, g, D)

    def fam_attention_prefill_dims(self):
        """SDPA causal prefill at the head_dims the main prefill grid lacks: 64 for cuDNN (its grid is 128 / 256
        only), 80 / 96 / 112 / 160 for both stacks (FA2 pads 80 -> 96 and 112 -> 128; cuDNN's widths are not
        public); B 1 at P 512-32768, B 4 at 2048 / 8192 (session 12)."""
        cfgs = [(8, 4, 64), (32, 1, 64), (32, 1, 80), (8, 4, 96), (8, 4, 112), (16, 1, 160)]
        pts = [(1, 512), (1, 2048), (1, 8192), (1, 16384), (1, 32768), (4, 2048), (4, 8192)]
        if self.quick:
            cfgs, pts = cfgs[:2], [(1, 2048)]
        for backend, stack in self.attn_backends():
            for (Hkv, g, D) in cfgs:
                if stack == "torch-flash" and D == 64:
                    continue  # in the main prefill grid
                for (B, P) in pts:
                    self.prefill_point(backend, stack, B, P, Hkv, g, D)

    def prefill_point(self, backend, stack, B, P, Hkv, g, D):
        """One causal prefill attention record (or a 'time budget' skip)."""
        axes = {"batch": B, "prompt": P, "n_kv_heads": Hkv, "group_size": g, "head_dim": D,
                "backend": backend.lower(), "stack": stack}
        if self.out_of_time():
            self.skip("torch_attention_prefill", axes, "time budget")
            return
        self.one_prefill_attention(backend, stack, B, P, Hkv, g, D, axes)

    def one_prefill_attention(self, backend, stack, B, P, Hkv, g, D, axes):
        Hq = Hkv * g
        try:
            q = torch.randn(B, P, Hq, D, device=DEV, dtype=BF16).transpose(1, 2)
            k = torch.randn(B, P, Hkv, D, device=DEV, dtype=BF16).transpose(1, 2)
            v = torch.randn(B, P, Hkv, D, device=DEV, dtype=BF16).transpose(1, 2)
        except torch.OutOfMemoryError:
            self.skip("torch_attention_prefill", axes, "out of GPU memory")
            torch.cuda.empty_cache()
            return
        gqa = g > 1
        try:
            out = sdpa(q, k, v, backend, True, gqa)
            torch.cuda.synchronize()
        except Exception as e:
            self.skip("torch_attention_prefill", axes, f"{backend} does not run this shape: {str(e).splitlines()[0][:200]}")
            return
        try:
            # reference on request 0, the last 64 queries (full causal rows)
            nq = min(64, P)
            ref = ref_attention(q[:1, :, P - nq:], k[:1], v[:1], True)
            err = rel_err(out[:1, :, P - nq:], ref)
            flops_one = 4.0 * B * Hq * D * P * (P + 1) / 2
            R = int(max(1, min(16, math.ceil(2e11 / flops_one))))
            fns = [(lambda: sdpa(q, k, v, backend, True, gqa)) for _ in range(R)]
            side_stream_warmup(fns[0], 1)
            gr, _ = capture(fns)
            summ, smp, clk, dr, stop = self.timer.time_graph(gr, R, min_samples=3 if P >= 32768 else None)
            del gr
        except Exception as e:
            self.skip("torch_attention_prefill", axes, f"capture/timing failed: {str(e).splitlines()[0][:200]}")
            return
        if summ is None:
            self.skip("torch_attention_prefill", axes, "every sample throttled")
            return
        rd = ACT * B * P * (Hq + 2 * Hkv) * D
        wr = ACT * B * P * Hq * D
        fl = 4.0 * B * Hq * D * P * (P + 1) / 2  # useful causal FLOPs
        self.records.append(record("torch_attention_prefill", f"sdpa_{backend.lower()}_causal", axes, summ, smp, clk, dr, stop, rd, wr,
                                   fl, math.isfinite(err) and err < 2e-2, err, {"repetitions": R}))
        print(f"  prefill-attn {stack:11s} B={B} P={P:6d} Hkv={Hkv:2d} g={g:2d} D={D:3d} {summ['median_s']*1e3:9.3f} ms "
              f"{fl/summ['median_s']/1e12:6.1f} TF/s err {err:.1e}", flush=True)
        del q, k, v, out
        torch.cuda.empty_cache()

    # ------------------------------------------------------------------------------------------
    def burst_samples(self, g, rest_cycles, nsamp):
        """Times one replay of `g` (a burst of back-to-back kernels) nsamp times, each queued
        behind torch.cuda._sleep(rest_cycles) (the GPU idles at low power for that long before the
        burst), reading the SM clock and board power through NVML right after each burst.
        Returns (burst times s, end clocks kHz, end powers W)."""
        ts, clks, pws = [], [], []
        for _ in range(2):
            g.replay()
        torch.cuda.synchronize()
        self.gaps_s = []
        t_done = None
        for _ in range(nsamp):
            if t_done is not None:  # host time between one burst's end and the next enqueue
                self.gaps_s.append(time.perf_counter() - t_done)
            torch.cuda._sleep(rest_cycles)
            self.ev0.record()
            g.replay()
            self.ev1.record()
            self.ev1.synchronize()
            t_sync = time.perf_counter()
            clks.append(self.nvml.sm_kHz())
            pws.append(self.nvml.power_W())
            ts.append(self.ev0.elapsed_time(self.ev1) * 1e-3)
            t_done = t_sync
        return ts, clks, pws

    def clock_trace(self, g, rest_cycles):
        """SM clock polled from the host while one burst runs (replay is asynchronous): the
        governor's response over the burst, [(seconds since the replay was queued, kHz), ...].
        The host poll period is what NVML allows (~0.1-1 ms)."""
        torch.cuda.synchronize()
        torch.cuda._sleep(rest_cycles)
        t0 = time.perf_counter()
        g.replay()
        done = torch.cuda.Event()
        done.record()
        tr = []
        while not done.query():
            tr.append((time.perf_counter() - t0, self.nvml.sm_kHz()))
            if len(tr) > 4000:
                break
        torch.cuda.synchronize()
        return tr

    def fam_power(self):
        """How long compute-bound work keeps the maximum SM clock: bursts of n back-to-back
        repetitions of one op (n = 1 ... 256, capped at ~80 ms per burst), the op alone or each
        repetition followed by a memory-bound copy of about its own length (half the burst at
        tensor-core power), after the timer's usual ~0.1 ms idle or after 20 ms of idle. Per-op
        time against burst length gives the clock a step of that length and mix really runs at
        (the power governor), which a single-length microbenchmark cannot show. One clock trace
        per long burst shows the governor's response in time."""
        self.ev0 = torch.cuda.Event(enable_timing=True)
        self.ev1 = torch.cuda.Event(enable_timing=True)
        cyc_per_s = (self.nvml.max_kHz * 1e3) if not math.isnan(self.nvml.max_kHz) else 1.98e9
        ops = []
        want = set(self.args.power_ops.split(","))
        # GEMMs of a prefill's MLP (Llama-3-8B gate_up / down widths): large M at full tensor-core
        # power, and M = 256 (lower occupancy, less power per second).
        for (M, N, K) in ([(2048, 14336, 4096), (256, 14336, 4096)] if "gemm" in want else []):
            ws = [torch.randn(N, K, device=DEV, dtype=BF16) * (1.0 / math.sqrt(K)) for _ in range(2)]
            x = torch.randn(M, K, device=DEV, dtype=BF16)
            ops.append((f"gemm_M{M}", {"op": "gemm", "M": M, "N": N, "K": K},
                        [(lambda i=i, x=x, ws=ws: F.linear(x, ws[i % 2])) for i in range(2)], 2.0 * M * N * K))
        # causal prefill attention (SDPA flash, 4k prompt, 32 q heads over 8 K/V heads, d 128)
        # "prefill_cudnn" (0.8.18): the same on the CUDNN_ATTENTION backend, which computes at about twice FA2's
        # rate: its energy per tensor-core FLOP is measured, not assumed to be FA2's (a GEMM's)
        for be, key, label in (("FLASH_ATTENTION", "prefill", "prefill_attn_P4096"),
                               ("CUDNN_ATTENTION", "prefill_cudnn", "prefill_attn_cudnn_P4096")):
            if SDPBackend is None or key not in want:
                continue
            P, Hq, Hkv, D = 4096, 32, 8, 128
            q = torch.randn(1, Hq, P, D, device=DEV, dtype=BF16)
            k = torch.randn(1, Hkv, P, D, device=DEV, dtype=BF16)
            v = torch.randn(1, Hkv, P, D, device=DEV, dtype=BF16)
            ops.append((label, {"op": "prefill_attention", "prompt": P, "n_q_heads": Hq, "n_kv_heads": Hkv,
                                "head_dim": D, "backend": be.lower()},
                        [lambda q=q, k=k, v=v, be=be: sdpa(q, k, v, be, True, True)], 4.0 * Hq * D * P * (P + 1) / 2))
        # unsplit FA2 decode (B x n_kv >= 0.8 x 2 x SMs): 128-row tiles (64 at head_dim 256) per
        # (request, KV head) -- per head for MHA -- the heavy decode steps' regime; flop_count = the
        # executed (padded) tile math. "decode" is the first shape (GQA-4, d 128); "decode_shapes" adds
        # MQA at d 64, MHA, GQA-8 and d 256 (torch_bench 0.7.0).
        dec_shapes = []
        if "decode" in want or "decode_shapes" in want:
            dec_shapes.append((128, 8192, 32, 8, 128))
        if "decode_shapes" in want:
            dec_shapes += [(256, 16384, 32, 1, 64), (64, 8192, 32, 32, 128), (96, 16384, 32, 4, 128), (128, 4096, 16, 8, 256)]
        for (B, S, Hq, Hkv, D) in (dec_shapes if SDPBackend is not None else []):
            qd = torch.randn(B, Hq, 1, D, device=DEV, dtype=BF16)
            kd = torch.randn(B, Hkv, S, D, device=DEV, dtype=BF16)
            vd = torch.randn(B, Hkv, S, D, device=DEV, dtype=BF16)
            tile = 64 if D >= 256 else 128
            units = B * Hkv * math.ceil((Hq // Hkv) / tile) if Hq > Hkv else B * Hq
            label = f"decode_attn_B{B}_S{S}" + ("" if (B, S, Hq, Hkv, D) == (128, 8192, 32, 8, 128) else f"_{Hq}x{Hkv}_d{D}")
            ops.append((label, {"op": "decode_attention", "batch": B, "kv_len": S, "n_q_heads": Hq, "n_kv_heads": Hkv,
                                "head_dim": D, "backend": "flash_attention",
                                "flops_counted": f"executed: {tile}-row tiles per (request, KV head)"},
                        [(lambda qd=qd, kd=kd, vd=vd, gq=Hq > Hkv: sdpa(qd, kd, vd, "FLASH_ATTENTION", False, gq))],
                        4.0 * units * tile * S * D))
        src = torch.randn(160 * 2**20, device=DEV, dtype=BF16)  # 320 MiB: a copy is DRAM-bound
        dst = torch.empty_like(src)
        nsamp = 5 if self.quick else 8
        gemm_fn, tgemm = None, 0.0
        for label, axes0, fns, flops in ops:
            side_stream_warmup(fns[0])
            # the op alone in a short burst: its time at the maximum clock
            g1, _ = capture([fns[i % len(fns)] for i in range(2)], interleave=False)
            t1 = statistics.median(self.burst_samples(g1, 200000, nsamp)[0]) / 2
            del g1
            # a copy sized to take about t1 (DRAM-bound, at ~4 TB/s of read + write traffic)
            ncopy = int(min(src.numel(), max(2**20, t1 * 2.0e12 / ACT)))
            cp = (lambda: dst[:ncopy].copy_(src[:ncopy]))
            side_stream_warmup(cp)
            gc, _ = capture([cp] * 4, interleave=False)
            tcopy = statistics.median(self.burst_samples(gc, 200000, nsamp)[0]) / 4
            del gc
            if label == "gemm_M2048":
                gemm_fn, tgemm = fns[0], t1
            fillers = ["none"] if axes0["op"] == "decode_attention" else (
                ["none", "copy"] + (["gemm"] if axes0["op"] == "prefill_attention" else []))
            fillers = [f for f in fillers if f in self.args.power_fillers.split(",")]
            # rests between the two defaults show how the headroom refills with idle time (session 17: an
            # end-to-end sample idles 0.6-1.5 ms behind its lead, a microbenchmark 0.1 ms)
            rests = [float(r) for r in self.args.power_rests.split(",")]
            for filler in fillers:
                for rest_ms in rests:
                    if filler == "copy" and rest_ms > 1 and axes0["op"] != "gemm":
                        continue
                    for n in [1, 2, 4, 8, 16, 32, 64, 128, 256]:
                        if self.out_of_time():
                            self.skip("torch_power", dict(axes0, n=n, filler=filler), "time budget")
                            continue
                        per = t1 + {"copy": tcopy, "gemm": tgemm}.get(filler, 0.0)
                        if n > 1 and n * per > 0.08:
                            continue
                        seq = []
                        for i in range(n):
                            seq.append(fns[i % len(fns)])
                            if filler == "copy":
                                seq.append(cp)
                            elif filler == "gemm":
                                seq.append(gemm_fn)
                        g, _ = capture(seq, interleave=False)
                        rest = int(rest_ms * 1e-3 * cyc_per_s)
                        ts, clks, pws = self.burst_samples(g, rest, nsamp)
                        trace = self.clock_trace(g, rest) if n * per > 0.004 and rest_ms < 1 else None
                        del g
                        axes = dict(axes0, n=n, filler=filler, rest_s=rest_ms * 1e-3, op_alone_s=t1,
                                    copy_alone_s=tcopy if filler == "copy" else 0.0,
                                    copy_bytes=2 * ACT * ncopy if filler == "copy" else 0,
                                    gemm_alone_s=tgemm if filler == "gemm" else 0.0,
                                    host_gap_s=statistics.median(self.gaps_s) if self.gaps_s else None)
                        per_op = [t / n for t in ts]
                        rec = record("torch_power", f"power_{label}_{filler}", axes, summarize(per_op), per_op, clks, 0,
                                     "fixed_samples", 0, 0, flops, True, 0.0,
                                     {"burst_s": ts, "end_clock_kHz": clks, "end_power_W": pws})
                        if trace:
                            rec["clock_trace"] = trace[:: max(1, len(trace) // 400)]
                        self.records.append(rec)
                        med = statistics.median(ts)
                        print(f"  power {label:18s} {filler:4s} rest={rest_ms:5.1f}ms n={n:4d} burst {med*1e3:8.3f} ms "
                              f"per-op {statistics.median(per_op)*1e6:9.2f} us clk {statistics.median(clks)/1e3:6.0f} MHz "
                              f"P {statistics.median(pws):5.0f} W", flush=True)
        del src, dst

    # ------------------------------------------------------------------------------------------
    def one_elementwise(self, fn, nbytes, axes, n, label):
        """One elementwise op, warm (n per graph, buffers reused) or cold (8 per graph, an L2 flush
        between repetitions, taken off), recorded per op with its kernel count."""
        l2 = axes["l2"]
        try:
            side_stream_warmup(fn)
            kern = count_kernels(fn)
            cold = l2 == "cold"
            g, _ = capture([fn] * (8 if cold else n), sep=flush if cold else None)
            summ, smp, clk, dr, stop = self.timer.time_graph(g, 8 if cold else n, cold=cold)
            del g
        except Exception as e:
            self.skip("torch_elementwise", axes, f"failed: {str(e).splitlines()[0][:200]}")
            return
        if summ is None:
            self.skip("torch_elementwise", axes, "every sample throttled")
            return
        axes["kernels_per_op"] = kern
        axes["kernels"] = 8 if cold else n
        # per-op record; bytes/flops per op (the timer divides by the repetitions)
        rec = record("torch_elementwise", f"torch_{axes['kernel']}", axes, summ, smp, clk, dr, stop, nbytes, 0, 0, True, 0.0)
        rec["l2_state"] = l2
        self.records.append(rec)
        print(f"  elementwise {l2:4s} {label} {summ['median_s']*1e6:8.2f} us/op k={kern}", flush=True)

    def fam_elementwise(self):
        rows_list = [1, 4, 16, 64, 256, 1024, 4096, 16384, 32768]
        if self.quick:
            rows_list = [1, 64, 4096]
        n = 20
        widths = [("llama-3-8b", 4096, 14336, 32, 8, 128), ("llama-3.2-1b", 2048, 8192, 32, 8, 64),
                  ("qwen2.5-3b", 2048, 11008, 16, 2, 128), ("llama-2-13b", 5120, 13824, 40, 40, 128)]
        for (model, d, f, hq, hkv, hd) in widths:
            for rows in rows_list:
                if self.out_of_time():
                    self.skip("torch_elementwise", {"rows": rows, "model": model}, "time budget")
                    continue
                x = torch.randn(rows, d, device=DEV, dtype=BF16)
                y = torch.randn(rows, d, device=DEV, dtype=BF16)
                w = torch.randn(d, device=DEV, dtype=BF16)
                gu = torch.randn(rows, 2 * f, device=DEV, dtype=BF16)
                # q/k as views of a projection output [rows, (hq + 2 hkv) hd], heads-major as the step does
                qkv = torch.randn(1, rows, (hq + 2 * hkv) * hd, device=DEV, dtype=BF16)
                q = qkv[..., :hq * hd].view(1, rows, hq, hd).transpose(1, 2)
                k = qkv[..., hq * hd:(hq + hkv) * hd].view(1, rows, hkv, hd).transpose(1, 2)
                vv = qkv[..., (hq + hkv) * hd:].view(1, rows, hkv, hd).transpose(1, 2)
                cos = torch.randn(1, 1, rows, hd, device=DEV, dtype=BF16)
                sin = torch.randn(1, 1, rows, hd, device=DEV, dtype=BF16)
                kc = torch.randn(1, hkv, rows + 16, hd, device=DEV, dtype=BF16)
                vc = torch.randn(1, hkv, rows + 16, hd, device=DEV, dtype=BF16)
                ids = torch.randint(0, 128256, (rows,), device=DEV)
                emb = torch.randn(128256, d, device=DEV, dtype=BF16)
                ops = {
                    "rms_norm": (lambda: F.rms_norm(x, (d,), w, 1e-5), bytes_rms_norm(rows, d), {"d_model": d}),
                    "residual_add": (lambda: x + y, bytes_residual_add(rows, d), {"d_model": d}),
                    "silu_mul": (lambda: silu_mul(gu), bytes_silu_mul(rows, f), {"ffn_dim": f}),
                    "rope_qk": (lambda: (rope(q, cos, sin), rope(k, cos, sin)), bytes_rope(rows, hq + hkv, hd),
                                {"n_q_heads": hq, "n_kv_heads": hkv, "head_dim": hd}),
                    "rope_q": (lambda: rope(q, cos, sin), bytes_rope(rows, hq, hd), {"n_q_heads": hq, "head_dim": hd}),
                    "kv_append": (lambda: (kc[:, :, 8:8 + rows].copy_(k), vc[:, :, 8:8 + rows].copy_(vv)),
                                  bytes_kv_append(rows, hkv, hd), {"n_kv_heads": hkv, "head_dim": hd}),
                    "embedding": (lambda: F.embedding(ids, emb), bytes_embedding(rows, d), {"d_model": d}),
                }
                for name, (fn, nbytes, ax) in ops.items():
                  # warm: buffers reused (L2-resident where they fit); cold: an L2 flush between
                  # repetitions, as between two layers of a step (decode-sized rows only)
                  for l2 in (["warm", "cold"] if (self.args.cold_elementwise and rows <= 1024) else ["warm"]):
                    self.one_elementwise(fn, nbytes, {"kernel": name, "model": model, "rows": rows, "kernels": n, "l2": l2, **ax}, n,
                                         f"{model:12s} {name:12s} rows={rows:6d}")
                del x, y, gu, qkv, kc, vc, emb
                torch.cuda.empty_cache()

    def fam_elementwise_decode(self):
        """The decode layout of the ops whose kernels depend on it: B requests x 1 token, exactly as
        Step makes them at P = 1 (q a view [B, Hq, 1, D] of the projection output, cos/sin gathered
        per request [B, 1, 1, D], K/V appended into [B, Hkv, S, D] caches at one position). The
        prefill layout (1 request x rows tokens, fam_elementwise) runs other kernels once B > 1:
        the strided append and the per-request RoPE broadcast are not vectorized."""
        n = 20
        Bs = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
        widths = [("llama-3-8b", 4096, 32, 8, 128), ("llama-3.2-1b", 2048, 32, 8, 64), ("qwen2.5-3b", 2048, 16, 2, 128),
                  ("llama-2-13b", 5120, 40, 40, 128)]
        S = 64
        for (model, d, hq, hkv, hd) in widths:
            for B in Bs:
                if self.out_of_time():
                    self.skip("torch_elementwise", {"rows": B, "model": model, "layout": "decode"}, "time budget")
                    continue
                qkv = torch.randn(B, 1, (hq + 2 * hkv) * hd, device=DEV, dtype=BF16)
                q, k, vv, cos, sin, kc, vc = decode_layout(qkv, B, hq, hkv, hd, S)
                ops = {
                    "rope_qk": (lambda: (rope(q, cos, sin), rope(k, cos, sin)), bytes_rope(B, hq + hkv, hd),
                                {"n_q_heads": hq, "n_kv_heads": hkv, "head_dim": hd}),
                    "rope_q": (lambda: rope(q, cos, sin), bytes_rope(B, hq, hd), {"n_q_heads": hq, "head_dim": hd}),
                    "kv_append": (lambda: (kc[:, :, 9:10].copy_(k), vc[:, :, 9:10].copy_(vv)), bytes_kv_append(B, hkv, hd),
                                  {"n_kv_heads": hkv, "head_dim": hd}),
                }
                for name, (fn, nbytes, ax) in ops.items():
                    for l2 in (["warm", "cold"] if self.args.cold_elementwise else ["warm"]):
                        self.one_elementwise(fn, nbytes, {"kernel": name, "model": model, "rows": B, "kernels": n, "l2": l2,
                                                          "layout": "decode", **ax}, n, f"decode {model:12s} {name:10s} B={B:5d}")
                del qkv, kc, vc
                torch.cuda.empty_cache()

    def fam_elementwise_layer(self):
        """Each decode-layout elementwise op in the regime a step runs it in (l2_state "layer"):
        every repetition follows an L2 flush (the layer's weight stream, which leaves norm weights,
        RoPE tables and cache lines in DRAM) and a copy kernel that writes the op's activation input
        (as the producing GEMM does: that input sits in L2). Two graphs of 16 repetitions, with and
        without the op; the op's in-graph cost is their difference / 16. The "cold" points of
        fam_elementwise flush the activations too, which no step does; the warm ones flush nothing."""
        n = 16
        Bs = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
        if self.quick:
            Bs = [1, 16, 256]
        dims = [2048, 2560, 3072, 3584, 4096, 5120, 8192]
        ffns = [8192, 11008, 14336, 18944, 28672]
        heads = [(32, 8, 128), (32, 8, 64), (16, 2, 128), (40, 40, 128), (32, 32, 80), (16, 8, 256)]
        S = 64
        base_cache = {}

        def base_s(key, writer):
            # the flush + writer graph alone, once per writer shape
            if key not in base_cache:
                g, _ = capture([lambda: None] * n, sep=lambda: (flush(), writer()))
                summ = self.timer.time_graph(g, n, net=False, min_samples=40)[0]
                base_cache[key] = summ["median_s"] if summ else None
                del g
            return base_cache[key]

        def one(name, fn, writer, wkey, nbytes, axes, label):
            axes = {"kernel": name, "rows": axes.pop("rows"), "kernels": n, "l2": "layer", "layout": "decode", **axes}
            if self.out_of_time():
                self.skip("torch_elementwise", axes, "time budget")
                return
            try:
                side_stream_warmup(writer)
                side_stream_warmup(fn)
                kern = count_kernels(fn)
                b = base_s(wkey, writer)
                g, _ = capture([fn] * n, sep=lambda: (flush(), writer()))
                summ, smp, clk, dr, stop = self.timer.time_graph(g, n, net=False, min_samples=40)
                del g
            except Exception as e:
                self.skip("torch_elementwise", axes, f"failed: {str(e).splitlines()[0][:200]}")
                return
            if summ is None or b is None:
                self.skip("torch_elementwise", axes, "every sample throttled")
                return
            smp = [x - b for x in smp]
            if statistics.median(smp) <= 0:
                # the difference of two graphs is only as good as both; a base timed while the clock
                # ramped (the run's first graph) can exceed the op's graph (seen once: 0.7.0, B 1 d 2048)
                self.skip("torch_elementwise", axes, f"op graph not slower than its base ({statistics.median(smp)*1e6:.2f} us)")
                return
            summ = summarize(smp)
            axes["kernels_per_op"] = kern
            axes["base_s"] = b
            rec = record("torch_elementwise", f"torch_{name}", axes, summ, smp, clk, dr, stop, nbytes, 0, 0, True, 0.0)
            rec["l2_state"] = "layer"
            self.records.append(rec)
            print(f"  elementwise layer {label} {summ['median_s']*1e6:8.2f} us/op (base {b*1e6:7.2f}) k={kern}", flush=True)

        for B in Bs:
            for d in dims:
                src = torch.randn(B, 1, d, device=DEV, dtype=BF16)
                h = torch.empty_like(src)
                o = torch.randn(B, 1, d, device=DEV, dtype=BF16)
                w = 1 + 0.1 * torch.randn(d, device=DEV, dtype=BF16)
                wr = lambda h=h, src=src: h.copy_(src)
                one("rms_norm", lambda h=h, w=w, d=d: F.rms_norm(h, (d,), w, 1e-5), wr, ("h", B, d), bytes_rms_norm(B, d),
                    {"rows": B, "d_model": d}, f"rms_norm     B={B:5d} d={d:5d}")
                # h = h + o_proj(a): the GEMM output is the fresh input, the residual an older one
                one("residual_add", lambda h=h, o=o: h + o, lambda o=o, src=src: o.copy_(src), ("o", B, d), bytes_residual_add(B, d),
                    {"rows": B, "d_model": d}, f"residual_add B={B:5d} d={d:5d}")
                del src, h, o, w
            for f in ffns:
                src = torch.randn(B, 1, 2 * f, device=DEV, dtype=BF16)
                gu = torch.empty_like(src)
                one("silu_mul", lambda gu=gu: silu_mul(gu), lambda gu=gu, src=src: gu.copy_(src), ("gu", B, f),
                    bytes_silu_mul(B, f), {"rows": B, "ffn_dim": f}, f"silu_mul     B={B:5d} f={f:5d}")
                del src, gu
            for (hq, hkv, hd) in heads:
                src = torch.randn(B, 1, (hq + 2 * hkv) * hd, device=DEV, dtype=BF16)
                qkv = torch.empty_like(src)
                q, k, vv, cos, sin, kc, vc = decode_layout(qkv, B, hq, hkv, hd, S)
                wr = lambda qkv=qkv, src=src: qkv.copy_(src)
                wkey = ("qkv", B, hq, hkv, hd)
                ax = {"n_q_heads": hq, "n_kv_heads": hkv, "head_dim": hd}
                one("rope_q", lambda q=q, cos=cos, sin=sin: rope(q, cos, sin), wr, wkey, bytes_rope(B, hq, hd),
                    {"rows": B, **ax}, f"rope_q       B={B:5d} {hq}/{hkv}/{hd}")
                one("rope_qk", lambda q=q, k=k, cos=cos, sin=sin: (rope(q, cos, sin), rope(k, cos, sin)), wr, wkey,
                    bytes_rope(B, hq + hkv, hd), {"rows": B, **ax}, f"rope_qk      B={B:5d} {hq}/{hkv}/{hd}")
                one("kv_append", lambda k=k, vv=vv, kc=kc, vc=vc: (kc[:, :, 9:10].copy_(k), vc[:, :, 9:10].copy_(vv)), wr, wkey,
                    bytes_kv_append(B, hkv, hd), {"rows": B, **ax}, f"kv_append    B={B:5d} {hq}/{hkv}/{hd}")
                del src, qkv, q, k, vv, kc, vc
            torch.cuda.empty_cache()

    def fam_elementwise_chain_small(self):
        """fam_elementwise_chain at the narrow widths of sub-1B models (session 16: a 135M shape at B 1 ran its
        725 kernels in 1.75-1.9 ms, 2.4-2.6 us each, where the chain grid's narrowest row was 1536)."""
        self.fam_elementwise_chain(
            shapes=[("d576-gqa3-hd64", 576, 1536, 9, 3, 64), ("d896-gqa7-hd64", 896, 4864, 14, 2, 64),
                    ("d1024-gqa4-hd64", 1024, 4096, 16, 4, 64), ("d1280-mha-hd64", 1280, 5120, 20, 20, 64)],
            Bs=[1, 2, 4, 8, 16, 32, 64, 128])

    def fam_elementwise_chain(self, shapes=None, Bs=None):
        """Each decode-layout elementwise op behind the kernels that precede it in a step (l2_state
        "step"). Every repetition starts with the projection GEMM that writes the op's input,
        streaming its weights from DRAM (a ring of weight copies >= 2.5 x L2, one per repetition),
        and goes on with the step's own sequence of ops after it:
          o-proj GEMM | + residual add | + rms_norm           (the attention block's tail)
          gate_up GEMM | + silu * mul                          (the MLP)
          qkv GEMM | + RoPE(q) | + RoPE(k) | + K/V append      (the attention block's head)
        One graph of `n` repetitions per chain depth; an op's in-step cost is the difference of
        consecutive depths / n. The op finds what it finds in a step: its input just written to L2 by
        the previous kernel, its small operands (norm weight, cos / sin rows, cache rows) behind a
        weight stream, the previous kernel's tail in front of it and the next GEMM behind it.
        fam_elementwise_layer stood a flush and a copy in for the GEMM and came out 0.4-1 us per op
        above the step's kernels (session 10); the cold points of fam_elementwise also flush the op's
        input, which no step does."""
        n = 16
        Bs = Bs or [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
        if self.quick:
            Bs = [1, 16]
        shapes = shapes or [  # label, d_model, ffn_dim, n_q_heads, n_kv_heads, head_dim
            ("d2048-gqa8-hd64", 2048, 8192, 32, 8, 64), ("d2048-mqa-hd64", 2048, 8192, 32, 1, 64),
            ("d2048-gqa8x2-hd128", 2048, 11008, 16, 2, 128), ("d3072-gqa3-hd128", 3072, 8192, 24, 8, 128),
            ("d4096-gqa4-hd128", 4096, 14336, 32, 8, 128), ("d4096-mqa-hd128", 4096, 14336, 32, 1, 128),
            ("d5120-mha-hd128", 5120, 13824, 40, 40, 128), ("d2560-mha-hd80", 2560, 10240, 32, 32, 80),
            ("d8192-gqa8-hd128", 8192, 28672, 64, 8, 128), ("d1536-gqa6-hd128", 1536, 8960, 12, 2, 128)]
        if self.quick:
            shapes = shapes[:2]
        S = 64

        def ring(N, K):
            # weight copies whose total exceeds 2.5 x L2, so every repetition streams its GEMM from DRAM
            wb = N * K * ACT
            sets = int(min(n, max(2, math.ceil(2.5 * self.l2 / wb))))
            return [torch.randn(N, K, device=DEV, dtype=BF16) / math.sqrt(K) for _ in range(sets)]

        W = {}
        for (lab, d, f, hq, hkv, hd) in shapes:
            W[lab] = {"o": ring(d, hq * hd), "gu": ring(2 * f, d), "qkv": ring((hq + 2 * hkv) * hd, d)}

        def measure(chain, depth_ops, wset, label_of):
            """chain(i, depth) runs repetition i up to `depth` ops after its GEMM; depth_ops[j - 1] =
            (kernel name, bytes, the op alone for its kernel count, axes) of the j-th op."""
            times = []
            for depth in range(len(depth_ops) + 1):
                g, _ = capture([(lambda i=i: chain(i, depth)) for i in range(n)], interleave=False)
                summ, smp, clk, dr, stop = self.timer.time_graph(g, n, net=False, min_samples=40)
                del g
                if summ is None:
                    return
                times.append((summ, smp, clk, dr, stop))
            for j, (name, nbytes, alone, ax) in enumerate(depth_ops, start=1):
                base = times[j - 1][0]["median_s"]
                summ, smp, clk, dr, stop = times[j]
                diff = [x - base for x in smp]
                axes = {"kernel": name, "rows": ax.pop("rows"), "kernels": n, "l2": "step", "layout": "decode", **ax}
                if statistics.median(diff) <= 0:
                    self.skip("torch_elementwise", axes, f"chain depth {j} not slower than depth {j - 1} "
                              f"({statistics.median(diff)*1e6:.2f} us)")
                    continue
                axes["kernels_per_op"] = count_kernels(alone)
                axes["base_s"] = base
                axes["weight_sets"] = len(wset)
                rec = record("torch_elementwise", f"torch_{name}", axes, summarize(diff), diff, clk, dr, stop, nbytes, 0, 0,
                             True, 0.0)
                rec["l2_state"] = "step"
                self.records.append(rec)
                print(f"  elementwise step {label_of(name)} {statistics.median(diff)*1e6:8.2f} us/op "
                      f"(chain {base*1e6:7.2f}) k={axes['kernels_per_op']}", flush=True)

        for B in Bs:
            for (lab, d, f, hq, hkv, hd) in shapes:
                if self.out_of_time():
                    self.skip("torch_elementwise", {"rows": B, "model": lab, "l2": "step"}, "time budget")
                    continue
                w = W[lab]
                common = {"model": lab}
                try:
                    # attention block's tail: h = h + o_proj(a); x = rms_norm(h)
                    a = torch.randn(B, 1, hq * hd, device=DEV, dtype=BF16)
                    h = torch.randn(B, 1, d, device=DEV, dtype=BF16)
                    nw = 1 + 0.1 * torch.randn(d, device=DEV, dtype=BF16)
                    wo = w["o"]

                    def tail(i, depth, a=a, h=h, nw=nw, wo=wo, d=d):
                        o = F.linear(a, wo[i % len(wo)])
                        if depth == 0:
                            return o
                        h2 = h + o
                        if depth == 1:
                            return h2
                        return F.rms_norm(h2, (d,), nw, 1e-5)

                    o0 = tail(0, 0)
                    h20 = h + o0
                    side_stream_warmup(lambda: [tail(i, 2) for i in range(2)])
                    measure(tail, [("residual_add", bytes_residual_add(B, d), lambda: h + o0, {"rows": B, "d_model": d, **common}),
                                   ("rms_norm", bytes_rms_norm(B, d), lambda: F.rms_norm(h20, (d,), nw, 1e-5),
                                    {"rows": B, "d_model": d, **common})],
                            wo, lambda nm: f"{nm:12s} B={B:4d} {lab}")
                    # MLP: silu(gate) * up on the halves of gate_up(x)
                    x = torch.randn(B, 1, d, device=DEV, dtype=BF16)
                    wgu = w["gu"]

                    def mlp(i, depth, x=x, wgu=wgu):
                        gu = F.linear(x, wgu[i % len(wgu)])
                        return gu if depth == 0 else silu_mul(gu)

                    gu0 = mlp(0, 0)
                    side_stream_warmup(lambda: [mlp(i, 1) for i in range(2)])
                    measure(mlp, [("silu_mul", bytes_silu_mul(B, f), lambda: silu_mul(gu0), {"rows": B, "ffn_dim": f, **common})],
                            wgu, lambda nm: f"{nm:12s} B={B:4d} {lab}")
                    # attention block's head: qkv(x), RoPE on the q and k views, K/V copied into the caches
                    wqkv = w["qkv"]
                    table = torch.randn(S, hd, device=DEV, dtype=BF16)
                    pos = torch.randint(0, S, (B, 1), device=DEV)
                    cos = F.embedding(pos, table).unsqueeze(1)
                    sin = F.embedding(pos, table).unsqueeze(1)
                    kc = torch.randn(B, hkv, S, hd, device=DEV, dtype=BF16)
                    vc = torch.randn(B, hkv, S, hd, device=DEV, dtype=BF16)

                    def views(qkv, B=B, hq=hq, hkv=hkv, hd=hd):
                        q = qkv[..., :hq * hd].view(B, 1, hq, hd).transpose(1, 2)
                        k = qkv[..., hq * hd:(hq + hkv) * hd].view(B, 1, hkv, hd).transpose(1, 2)
                        v = qkv[..., (hq + hkv) * hd:].view(B, 1, hkv, hd).transpose(1, 2)
                        return q, k, v

                    def head(i, depth, x=x, wqkv=wqkv, cos=cos, sin=sin, kc=kc, vc=vc):
                        qkv = F.linear(x, wqkv[i % len(wqkv)])
                        if depth == 0:
                            return qkv
                        q, k, v = views(qkv)
                        q2 = rope(q, cos, sin)
                        if depth == 1:
                            return q2
                        k2 = rope(k, cos, sin)
                        if depth == 2:
                            return k2
                        kc[:, :, 9:10].copy_(k2)
                        vc[:, :, 9:10].copy_(v)
                        return kc

                    q0, k0, v0 = views(head(0, 0))
                    k20 = rope(k0, cos, sin)
                    side_stream_warmup(lambda: [head(i, 3) for i in range(2)])
                    hax = {"n_q_heads": hq, "n_kv_heads": hkv, "head_dim": hd, **common}
                    measure(head, [("rope_q", bytes_rope(B, hq, hd), lambda: rope(q0, cos, sin), {"rows": B, **hax}),
                                   ("rope_k", bytes_rope(B, hkv, hd), lambda: rope(k0, cos, sin), {"rows": B, **hax}),
                                   ("kv_append", bytes_kv_append(B, hkv, hd),
                                    lambda: (kc[:, :, 9:10].copy_(k20), vc[:, :, 9:10].copy_(v0)), {"rows": B, **hax})],
                            wqkv, lambda nm: f"{nm:12s} B={B:4d} {lab}")
                    del a, h, x, kc, vc
                except Exception as e:
                    self.skip("torch_elementwise", {"rows": B, "model": lab, "l2": "step"},
                              f"failed: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
                    self.errors.append(traceback.format_exc()[-600:])
                torch.cuda.empty_cache()
        del W

    def fam_attention_shapes(self):
        """SDPA decode at (n_kv, g, head_dim) the main grid lacks and batches between its points: MQA and
        2 KV heads at head_dim 64 with 6-24 query heads per KV head (padded 128-row tiles: 5-21x the useful
        FLOPs), MQA at 256, GQA-12 at 128; B 1-1024 (320 / 448 / 640: 1.2-2.4 waves of unsplit CTAs)."""
        cfgs = [(1, 16, 64), (1, 24, 64), (2, 6, 64), (1, 16, 256), (2, 12, 128)]
        Bs, Ss = [1, 8, 32, 96, 192, 320, 448, 640, 1024], [512, 3000, 12000, 50000]
        if self.quick:
            Bs, Ss, cfgs = [1, 320], [3000], cfgs[:2]
        self.decode_attention_grid(cfgs, Bs, Ss, [b for b in self.attn_backends() if b[1] == "torch-flash"])

    def fam_attention_dims(self):
        """SDPA decode at the head_dims FA2 pads (80 -> 96, 112 -> 128, 160, 192) and at 96 itself:
        what its K/V stream reaches where the main grid (64 / 128 / 256) has no point."""
        cfgs = [(32, 1, 80), (8, 4, 80), (32, 1, 96), (8, 4, 96), (8, 4, 112), (32, 1, 160), (8, 4, 160), (8, 4, 192)]
        Bs, Ss = [1, 4, 16, 64, 256], [2048, 8192, 32768, 131072]
        if self.quick:
            cfgs, Bs, Ss = cfgs[:2], [1, 16], [8192]
        self.decode_attention_grid(cfgs, Bs, Ss, [b for b in self.attn_backends() if b[1] == "torch-flash"])

    def fam_attention_knobs(self):
        """Diagnostic (session 12): cuDNN SDPA decode over (n_kv, g) at head_dim 64 / 128 / 256, B chosen so
        the (request, KV head) CTAs number 96-256 (unsplit), S 8192: which kernel cuDNN picks per layout and
        the K/V stream it reaches (end-to-end steps at n_kv 4, g 2, head_dim 256 ran at 2.9 TB/s against
        3.5 TB/s for the micro grid's (4, 4) and (8, 2))."""
        cfgs = [(kv, g, D) for D in (256, 128, 64) for kv in (1, 2, 4, 8, 16) for g in (1, 2, 4, 8, 16) if kv * g <= 64]
        S = 8192
        backends = [b for b in self.attn_backends() if b[1] == "torch-cudnn"]
        for backend, stack in backends:
            for (Hkv, g, D) in cfgs:
                B = max(1, int(round(192 / Hkv)))
                kvb = B * S * 2 * Hkv * D * ACT
                axes = {"batch": B, "kv_len": S, "n_kv_heads": Hkv, "group_size": g, "head_dim": D, "kv_dtype": "bf16",
                        "backend": backend.lower(), "stack": stack}
                if self.out_of_time():
                    self.skip("torch_attention_knobs", axes, "time budget")
                    continue
                n0 = len(self.records)
                self.one_decode_attention(backend, stack, B, S, Hkv, g, D, kvb, axes)
                if len(self.records) > n0:
                    r = self.records[-1]
                    r["family"] = "torch_attention_knobs"
                    Hq = Hkv * g
                    qs = torch.randn(B, 1, Hq * D, device=DEV, dtype=BF16).view(B, 1, Hq, D).transpose(1, 2)
                    ks = torch.randn(B, Hkv, S, D, device=DEV, dtype=BF16)
                    vs = torch.randn(B, Hkv, S, D, device=DEV, dtype=BF16)
                    r["kernels"] = kernel_names(lambda: sdpa(qs, ks, vs, backend, False, g > 1))
                    print(f"     kernels: {'; '.join(n[:90] for n in r['kernels'])}", flush=True)
                    del qs, ks, vs
                    torch.cuda.empty_cache()

    def fam_attention_cudnn_ctas(self):
        """cuDNN SDPA decode where its CTAs (request x KV head x 16 rows) number 72-160: unsplit (it splits only at
        <= SMs / 2), fewer than two per SM; the micro grid has no unsplit point between 64 and 128 CTAs (session 12)."""
        cfgs = [(8, 1, 64), (8, 4, 64), (8, 1, 128), (8, 4, 128), (8, 1, 256), (8, 4, 256)]
        Bs, Ss = [9, 12, 15, 18, 20], [8192, 32768]
        if self.quick:
            cfgs, Bs, Ss = cfgs[:2], [12], [8192]
        for backend, stack in [b for b in self.attn_backends() if b[1] == "torch-cudnn"]:
            for (Hkv, g, D) in cfgs:
                for B in Bs:
                    for S in Ss:
                        self.decode_point(backend, stack, B, S, Hkv, g, D)

    def fam_attention_grids(self):
        """Diagnostic (session 13, never fitted): the launch grid of every kernel SDPA decode runs, per stack,
        from the profiler's trace (grid, block, CUPTI's blocks per SM): the split count each backend picks
        (cuDNN's is not public) and how many CTAs share an SM, over B x (n_kv, g) x head_dim x context. One
        eager call per shape (warm L2: durations are not comparable with the timed families)."""
        cfgs = [(8, 1), (8, 4), (4, 2), (2, 16), (1, 32), (3, 6)]
        Ds, Bs, Ss = [64, 80, 128, 256], [1, 2, 4, 8, 16, 32, 64, 128], [1024, 4096, 16384, 65536]
        if self.quick:
            cfgs, Ds, Bs, Ss = cfgs[:2], [128], [1, 16], [4096]
        self.launch_grids(cfgs, Ds, Bs, Ss, self.attn_backends())

    def fam_attention_grids2(self):
        """Diagnostic (session 14, never fitted): launch grids where attention_grids has no point: contexts that
        are not powers of two (600-40000: how cuDNN rounds its split count, where it starts to split), the head_dims
        96 / 112 / 160 / 192 (which cuDNN kernel runs, whether it splits head_dim across CTAs) and batches between
        the power-of-two ones (CTAs just above and below SMs / 2)."""
        cfgs = [(8, 1), (8, 4), (2, 16), (3, 6), (1, 8), (1, 20), (2, 12)]
        Ss = [600, 768, 900, 1000, 1536, 3000, 5000, 12000, 40000]
        if self.quick:
            cfgs, Ss = cfgs[:1], Ss[:2]
        backends = self.attn_backends()
        # FA2's split count matched fa2_splits on every attention_grids shape: odd contexts for cuDNN only
        self.launch_grids(cfgs, [64, 128], [1, 3, 5, 6, 7, 8, 9, 12], Ss, [b for b in backends if b[1] == "torch-cudnn"])
        self.launch_grids(cfgs, [96, 112, 160, 192, 256], [1, 8, 64], Ss[::2], backends)

    def launch_grids(self, cfgs, Ds, Bs, Ss, backends):
        """One profiled eager SDPA decode call per (backend, head_dim, (n_kv, g), B, S): its kernels' grids."""
        for backend, stack in backends:
            for D in Ds:
                for (Hkv, g) in cfgs:
                    for B in Bs:
                        for S in Ss:
                            Hq = Hkv * g
                            kvb = B * S * 2 * Hkv * D * ACT
                            axes = {"batch": B, "kv_len": S, "n_kv_heads": Hkv, "group_size": g, "head_dim": D,
                                    "kv_dtype": "bf16", "backend": backend.lower(), "stack": stack}
                            if self.out_of_time():
                                self.skip("torch_attention_grid", axes, "time budget")
                                continue
                            if kvb > 8e9:
                                self.skip("torch_attention_grid", axes, "K/V over 8 GB (the grid family's cap)")
                                continue
                            try:
                                q = torch.empty(B, 1, Hq * D, device=DEV, dtype=BF16).normal_().view(B, 1, Hq, D).transpose(1, 2)
                                k = torch.empty(B, Hkv, S, D, device=DEV, dtype=BF16).normal_()
                                v = torch.empty(B, Hkv, S, D, device=DEV, dtype=BF16).normal_()
                                sdpa(q, k, v, backend, False, g > 1)
                                ks = kernel_launches(lambda: sdpa(q, k, v, backend, False, g > 1))
                            except Exception as e:
                                self.skip("torch_attention_grid", axes, f"{backend} does not run this shape: {str(e).splitlines()[0][:200]}")
                                torch.cuda.empty_cache()
                                continue
                            finally:
                                q = k = v = None
                            if not ks:
                                self.skip("torch_attention_grid", axes, "the profiler recorded no kernel")
                                continue
                            dur = sum(x["dur_s"] for x in ks)
                            summ = summarize([dur])
                            r = record("torch_attention_grid", f"sdpa_{backend.lower()}_decode_grid", axes, summ, [dur], [], 0,
                                       "one profiled eager call", kvb + 2 * ACT * B * Hq * D, ACT * B * Hq * D,
                                       4.0 * B * Hq * S * D, True, 0.0, {"kernels": ks})
                            r["l2_state"] = "warm"
                            self.records.append(r)
                            main_k = max(ks, key=lambda x: x["dur_s"])
                            print(f"  grid {stack:11s} D={D:3d} Hkv={Hkv} g={g:2d} B={B:4d} S={S:6d} n={len(ks)} "
                                  f"grid={main_k['grid']} block={main_k['block']} bpsm={main_k['blocks_per_sm']} "
                                  f"{main_k['name'][:60]}", flush=True)
                torch.cuda.empty_cache()

    def fam_attention_cudnn_dims(self):
        """cuDNN SDPA decode at the head_dims its grid lacks (80, 96, 112, 160, 192; session 14): the end-to-end
        head_dim-160 steps ran up to 44 % slower than the model's 64 / 128 / 256 interpolation), and MQA / few KV heads
        with 12-20 query heads per KV head (two 16-row tiles, the second partly padded: end-to-end MQA steps at g 20
        ran up to 25 % faster than the model's two full tiles)."""
        cfgs = [(8, 4, 80), (8, 4, 96), (8, 4, 112), (32, 1, 160), (8, 4, 160), (4, 4, 160), (8, 4, 192), (1, 20, 128),
                (2, 12, 128)]
        Bs, Ss = [1, 4, 16, 64, 256], [2048, 16384, 131072]
        if self.quick:
            cfgs, Bs, Ss = cfgs[:2], [1, 16], [8192]
        cap_B = self.args.attn_max_kv_gb * 1e9
        for backend, stack in [b for b in self.attn_backends() if b[1] == "torch-cudnn"]:
            for (Hkv, g, D) in cfgs:
                for B in Bs:
                    for S in Ss:
                        if B * S * 2 * Hkv * D * ACT <= cap_B:
                            self.decode_point(backend, stack, B, S, Hkv, g, D)

    def fam_attention_cudnn_steps(self):
        """Diagnostic (session 14, never fitted): cuDNN SDPA decode isolated at the exact shapes of the end-to-end
        steps it misses most (holdout8 MQA at g 20, holdout11 GQA-5 at head_dim 96), beside neighbouring batches:
        does the isolated kernel stream as fast as inside the step (3.65 TB/s at B 24, S 128000)?"""
        pts = [(1, 20, 128, B, 128000) for B in (5, 16, 20, 24, 28, 32, 100)] + \
              [(4, 5, 96, B, 131072) for B in (16, 32, 36, 40)] + [(4, 5, 96, 36, 45000), (1, 20, 128, 100, 24000)]
        for backend, stack in [b for b in self.attn_backends() if b[1] == "torch-cudnn"]:
            for (Hkv, g, D, B, S) in pts:
                if B * S * 2 * Hkv * D * ACT <= self.args.attn_max_kv_gb * 1e9:
                    self.decode_point(backend, stack, B, S, Hkv, g, D)

    def fam_attention_waves(self):
        """SDPA decode at CTA counts around one and two per SM (session 15): unsplit 70-530 CTAs (cuDNN: request x KV
        head x 16-row tile; FA2: request x KV head x 64-row block) at one, two and three cuDNN tiles per KV head and
        head_dims 64 / 96 / 128 / 256. A partial last wave doubles some SMs up while others hold one CTA or none: how
        fast a doubled SM runs its pair there, against its share of a full wave (end-to-end MQA steps at g 20 and B 24
        ran 35 % faster than two full-wave shares)."""
        cfgs = [(1, 20, 128), (1, 32, 128), (2, 24, 64), (1, 40, 128), (4, 5, 96), (8, 4, 128), (8, 2, 64), (2, 8, 256),
                (1, 24, 96), (4, 16, 128)]
        ctas, Ss = [70, 100, 140, 170, 200, 230, 250, 264, 300, 360, 430, 530], [6000, 48000]
        if self.quick:
            cfgs, ctas, Ss = cfgs[:2], [140, 200], [6000]
        cap_B = self.args.attn_max_kv_gb * 1e9
        for backend, stack in self.attn_backends():
            # FA2 at the layouts whose packed rows differ most (one to three cuDNN tiles; GQA-5 / 96)
            mine = cfgs if stack == "torch-cudnn" else [c for c in cfgs if c in ((1, 20, 128), (1, 40, 128), (4, 5, 96), (8, 4, 128))]
            for (Hkv, g, D) in mine:
                per_b = Hkv * math.ceil(g / 16)
                for n in ctas:
                    B = max(1, round(n / per_b))
                    for S in Ss:
                        if B * S * 2 * Hkv * D * ACT <= cap_B:
                            self.decode_point(backend, stack, B, S, Hkv, g, D)

    def fam_attention_splits(self):
        """SDPA decode where FA2 splits K/V into several waves and cuDNN's 64-wide kernel runs 1-2 waves of four per
        SM (session 16): (request x KV head) units 24-1100 at contexts 2500 / 15000 / 60000 for MHA at head_dims 64
        and 128, GQA-8 at 80 with 5 KV heads, GQA-12 at 64, GQA-4 at 128, MQA with 71 query heads at 64 (two FA2
        64-row blocks per KV head) and GQA-16 at 256 (end-to-end MHA steps at head_dim 64 and B 9, 180 units and four
        FA2 splits, ran 5-11 % slower than predicted)."""
        cfgs = [(20, 1, 64), (32, 1, 128), (5, 8, 80), (2, 12, 64), (8, 4, 128), (1, 71, 64), (4, 16, 256)]
        units, Ss = [24, 60, 100, 140, 180, 211, 240, 330, 400, 528, 700, 880, 1100], [2500, 15000, 60000]
        if self.quick:
            cfgs, units, Ss = cfgs[:2], [100, 180], [2500]
        cap_B = self.args.attn_max_kv_gb * 1e9
        for backend, stack in self.attn_backends():
            for (Hkv, g, D) in cfgs:
                seen = set()
                for u in units:
                    B = max(1, round(u / Hkv))
                    if B in seen:
                        continue
                    seen.add(B)
                    for S in Ss:
                        if B * S * 2 * Hkv * D * ACT <= cap_B:
                            self.decode_point(backend, stack, B, S, Hkv, g, D)

    def fam_attention_context(self):
        """Diagnostic (session 12, never fitted): SDPA decode at the shapes where end-to-end cuDNN steps run
        5-25 % slower than the isolated kernel, under four conditions: the same K/V set every repetition or
        a ring of sets covering >= 40 GB (a step's layers each read their own cache: page-table reach), and
        alone or behind a GEMM (a step's attention follows its q/k/v projection). Each record names the
        attention kernels the profiler saw."""
        shapes = [(4, 2, 256, 6, 131072), (4, 2, 256, 24, 24000), (8, 4, 128, 6, 131072), (10, 4, 128, 7, 128000),
                  (4, 8, 128, 48, 30000), (1, 16, 256, 48, 30000), (16, 1, 256, 7, 30000), (8, 3, 64, 48, 7000)]
        if self.quick:
            shapes = shapes[:2]
        d = 4096
        wring = [torch.randn(d, d, device=DEV, dtype=BF16) * (1.0 / math.sqrt(d)) for _ in range(4)]  # 128 MB > 2.5 x L2
        for backend, stack in self.attn_backends():
            for (Hkv, g, D, B, S) in shapes:
                Hq = Hkv * g
                kvb = B * S * 2 * Hkv * D * ACT
                for ring in (False, True):
                    if self.out_of_time():
                        self.skip("torch_attention_context", {"stack": stack, "batch": B, "kv_len": S}, "time budget")
                        continue
                    R = int(min(16, max(2, math.ceil(40e9 / kvb)))) if ring else 4
                    sets = R if ring else 1
                    axes = {"batch": B, "kv_len": S, "n_kv_heads": Hkv, "group_size": g, "head_dim": D, "kv_dtype": "bf16",
                            "backend": backend.lower(), "stack": stack, "kv_sets": sets, "kv_footprint_B": sets * kvb}
                    try:
                        qs = torch.randn(B, 1, Hq * D, device=DEV, dtype=BF16).view(B, 1, Hq, D).transpose(1, 2)
                        ks = [torch.randn(B, Hkv, S, D, device=DEV, dtype=BF16) for _ in range(sets)]
                        vs = [torch.randn(B, Hkv, S, D, device=DEV, dtype=BF16) for _ in range(sets)]
                        x = torch.randn(B, d, device=DEV, dtype=BF16)
                    except torch.OutOfMemoryError:
                        self.skip("torch_attention_context", axes, "out of GPU memory")
                        torch.cuda.empty_cache()
                        continue
                    try:
                        attn = [(lambda i=i: sdpa(qs, ks[i % sets], vs[i % sets], backend, False, g > 1)) for i in range(R)]
                        gemm = [(lambda i=i: F.linear(x, wring[i % 4])) for i in range(R)]
                        both = [(lambda i=i: (gemm[i](), attn[i]())[1]) for i in range(R)]
                        side_stream_warmup(attn[0])
                        side_stream_warmup(gemm[0])
                        names = kernel_names(attn[0])
                        res = {}
                        for key, fns in (("alone", attn), ("gemm", gemm), ("behind_gemm", both)):
                            gr, _ = capture(fns)
                            res[key] = self.timer.time_graph(gr, R)
                            del gr
                    except Exception as e:
                        self.skip("torch_attention_context", axes, f"capture/timing failed: {str(e).splitlines()[0][:200]}")
                        del qs, ks, vs, x
                        torch.cuda.empty_cache()
                        continue
                    if any(v[0] is None for v in res.values()):
                        self.skip("torch_attention_context", axes, "every sample throttled")
                        continue
                    rd = kvb + ACT * B * Hq * D
                    wr = ACT * B * Hq * D
                    fl = 4.0 * B * Hq * S * D
                    gemm_s = res["gemm"][0]["median_s"]
                    for key in ("alone", "behind_gemm"):
                        summ, smp, clk, dr, stop = res[key]
                        net = [t - gemm_s for t in smp] if key == "behind_gemm" else smp
                        summ2 = summarize(net)
                        self.records.append(record("torch_attention_context", f"sdpa_{backend.lower()}_decode_{key}",
                                                   {**axes, "context": key}, summ2, net, clk, dr, stop, rd, wr, fl, True, 0.0,
                                                   {"kernels": names, "gemm_alone_s": gemm_s if key == "behind_gemm" else None,
                                                    "graph_median_s": summ["median_s"]}))
                        print(f"  attn-ctx {stack:11s} B={B:5d} S={S:6d} Hkv={Hkv:2d} g={g:2d} D={D:3d} sets={sets:2d} {key:11s} "
                              f"{summ2['median_s']*1e6:9.2f} us {(rd+wr)/summ2['median_s']/1e9:6.0f} GB/s", flush=True)
                    print(f"     kernels: {'; '.join(n[:80] for n in names)}", flush=True)
                    del qs, ks, vs, x
                    torch.cuda.empty_cache()

    # ------------------------------------------------------------------------------------------
    # end to end: the step as the stack runs it, one CUDA graph
    def e2e_models(self):
        def m(label, L, d, hq, hkv, hd, f, V, tied, prod, window=0, pattern=""):
            # pattern: one letter per layer, L = sliding-window (the last `window` positions), G = global
            return dict(label=label, L=L, d=d, hq=hq, hkv=hkv, hd=hd, f=f, V=V, tied=tied, prod=prod, window=window,
                        pattern=pattern)

        def every(L, unit):
            return (unit * L)[:L]

        def groups(L, sizes):
            # a non-uniform producer map: groups of len sizes[0], sizes[1], ... (cycled), the lowest layer produces
            p, i, j = [], 0, 0
            while i < L:
                n = min(sizes[j % len(sizes)], L - i)
                p += [i] * n
                i, j = i + n, j + 1
            return p

        def by_group(prod, unit):
            # one layer kind per producer group (a consumer reads its producer's cache: same kind), cycling `unit`
            order = sorted(set(prod))
            return "".join(unit[order.index(p) % len(unit)] for p in prod)

        def cla(L, c):
            return [c * (i // c) for i in range(L)]

        def keep_ends(L):
            # the CLA paper's KeepEnds: layer 0 own, pairs (1,2),(3,4)..., a leftover last layer own
            p, i = [0], 1
            while i < L:
                if i + 1 < L - 1:
                    p += [i, i]
                    i += 2
                else:
                    p.append(i)
                    i += 1
            return p

        if self.args.set == "main":
            ms = [
                m("llama-3-8b-GQA8-CLA1", 32, 4096, 32, 8, 128, 14336, 128256, False, cla(32, 1)),
                m("llama-3-8b-GQA8-CLA2", 32, 4096, 32, 8, 128, 14336, 128256, False, cla(32, 2)),
                m("llama-3-8b-MQA-CLA1", 32, 4096, 32, 1, 128, 14336, 128256, False, cla(32, 1)),
                m("llama-3-8b-MHA-CLA1", 32, 4096, 32, 32, 128, 14336, 128256, False, cla(32, 1)),
                m("llama-3.2-1b-GQA8-CLA1", 16, 2048, 32, 8, 64, 8192, 128256, True, cla(16, 1)),
                m("llama-3.2-1b-GQA8-CLA2", 16, 2048, 32, 8, 64, 8192, 128256, True, cla(16, 2)),
                m("llama-3.2-1b-MQA-CLA1", 16, 2048, 32, 1, 64, 8192, 128256, True, cla(16, 1)),
            ]
        elif self.args.set == "holdout2":  # second hold-out (session 6): head_dim 96, odd group sizes, a 12B shape
            ms = [
                m("phi-3-mini-shape-MHA-hd96", 32, 3072, 32, 32, 96, 8192, 32064, False, cla(32, 1)),
                m("qwen2.5-7b-shape-GQA7", 28, 3584, 28, 4, 128, 18944, 152064, False, cla(28, 1)),
                m("llama-3.2-3b-shape-GQA3-CLA2", 28, 3072, 24, 8, 128, 8192, 128256, True, cla(28, 2)),
                m("mistral-nemo-12b-shape-GQA4", 40, 5120, 32, 8, 128, 14336, 131072, False, cla(40, 1)),
                m("llama-3.2-1b-MQA-CLA4", 16, 2048, 32, 1, 64, 8192, 128256, True, cla(16, 4)),
            ]
        elif self.args.set == "holdout3":  # third hold-out (session 9): sliding windows, head_dim 256 / 80, irregular CLA
            ms = [
                m("gemma-2-9b-shape-SWA4096-hd256", 42, 3584, 16, 8, 256, 14336, 256000, True, cla(42, 1), 4096, every(42, "LG")),
                m("gemma-3-4b-shape-SWA1024-5to1", 34, 2560, 8, 4, 256, 10240, 262144, True, cla(34, 1), 1024,
                  every(34, "LLLLLG")),
                m("qwen3-4b-shape-GQA4-CLA123", 36, 2560, 32, 8, 128, 9728, 151936, True, groups(36, [1, 2, 3])),
                m("stablelm-3b-shape-MHA-hd80", 32, 2560, 32, 32, 80, 6912, 50304, False, cla(32, 1)),
            ]
        elif self.args.set == "holdout4":  # fourth hold-out (session 10): head_dims 80 / 96 / 112 beside MHA / GQA, a 14B shape
            ms = [
                m("phi-2-shape-MHA-hd80", 32, 2560, 32, 32, 80, 10240, 51200, False, cla(32, 1)),
                m("gqa4-hd96-shape", 28, 3072, 32, 8, 96, 8192, 32064, False, cla(28, 1)),
                m("gqa4-hd112-shape-CLA2", 24, 3584, 32, 8, 112, 9728, 65536, True, cla(24, 2)),
                m("qwen2.5-14b-shape-GQA5", 48, 5120, 40, 8, 128, 13824, 152064, False, cla(48, 1)),
            ]
        elif self.args.set == "holdout5":  # fifth hold-out (session 11): small models, MQA at head_dim 128 / 256, B 1-300
            ms = [
                m("qwen2.5-0.5b-shape-GQA7", 24, 896, 14, 2, 64, 4864, 151936, True, cla(24, 1)),
                m("qwen2.5-1.5b-shape-GQA6", 28, 1536, 12, 2, 128, 8960, 151936, True, cla(28, 1)),
                m("smollm-1.7b-shape-MHA-hd64", 24, 2048, 32, 32, 64, 8192, 49152, True, cla(24, 1)),
                m("gemma-2b-shape-MQA-hd256", 18, 2048, 8, 1, 256, 16384, 256000, True, cla(18, 1)),
                m("llama-3.2-3b-shape-MQA-CLA2", 28, 3072, 24, 1, 128, 8192, 128256, True, cla(28, 2)),
            ]
        elif self.args.set == "holdout6":  # sixth hold-out (session 12): measured before any change of session 12
            ms = [
                m("yi-6b-shape-GQA8-kv4", 32, 4096, 32, 4, 128, 11008, 64000, False, cla(32, 1)),
                m("gemma-2-2b-shape-SWA4096-CLA213", 26, 2304, 8, 4, 256, 9216, 256000, True, groups(26, [2, 1, 3]), 4096,
                  by_group(groups(26, [2, 1, 3]), "LG")),
                m("gpt-j-6b-shape-MHA-hd256", 28, 4096, 16, 16, 256, 16384, 50400, False, cla(28, 1)),
                m("gemma-7b-shape-MQA-hd256-SWA2048", 28, 3072, 16, 1, 256, 24576, 256000, True, cla(28, 1), 2048,
                  every(28, "LLG")),
                m("phi-3-medium-shape-GQA4-kv10-CLA2", 40, 5120, 40, 10, 128, 17920, 32064, False, cla(40, 2)),
                m("tiny-1b-shape-GQA3-hd64-KeepEnds", 20, 1536, 24, 8, 64, 4096, 32000, False, keep_ends(20)),
            ]
        elif self.args.set == "holdout7":  # seventh hold-out (session 12): measured after that session's model changes
            ms = [
                m("stablelm-2-1.6b-shape-MHA-hd64", 24, 2048, 32, 32, 64, 5632, 100352, False, cla(24, 1)),
                m("gqa8-hd96-kv4-CLA2-shape", 30, 3072, 32, 4, 96, 8192, 32000, False, cla(30, 2)),
                m("gqa2-hd256-SWA4096-CLA12-shape", 24, 3072, 16, 8, 256, 12288, 256000, True, groups(24, [1, 2]), 4096,
                  by_group(groups(24, [1, 2]), "LG")),
                m("mqa-hd80-shape", 24, 2560, 32, 1, 80, 10240, 51200, False, cla(24, 1)),
                m("llama-3.1-8b-GQA8-CLA1-dense", 32, 4096, 32, 8, 128, 14336, 128256, False, cla(32, 1)),
            ]
        elif self.args.set == "holdout8":  # eighth hold-out (session 13): measured before any change of session 13
            ms = [
                m("mistral-small-24b-shape-GQA4-kv8", 40, 5120, 32, 8, 128, 32768, 131072, False, cla(40, 1)),
                m("gemma-3-12b-shape-SWA1024-5to1-hd256", 48, 3840, 16, 8, 256, 15360, 262144, True, cla(48, 1), 1024,
                  every(48, "LLLLLG")),
                m("qwen3-1.7b-shape-GQA2-CLA2", 28, 2048, 16, 8, 128, 6144, 151936, True, cla(28, 2)),
                m("mqa-hd128-CLA312-shape", 30, 2560, 20, 1, 128, 6912, 50304, False, groups(30, [3, 1, 2])),
                m("gqa6-kv3-hd64-shape", 22, 1152, 18, 3, 64, 4608, 32000, True, cla(22, 1)),
                m("llama-2-7b-shape-MHA-CLA2", 32, 4096, 32, 32, 128, 11008, 32000, False, cla(32, 2)),
            ]
        elif self.args.set == "holdout9":  # ninth hold-out (session 13): measured after that session's model changes
            ms = [
                m("internlm2-20b-shape-GQA6-kv8", 48, 6144, 48, 8, 128, 16384, 92544, False, cla(48, 1)),
                m("gemma-2-27b-shape-SWA4096-kv16", 46, 4608, 32, 16, 128, 36864, 256000, False, cla(46, 1), 4096,
                  every(46, "LG")),
                m("olmo-1b-shape-MHA-hd128", 16, 2048, 16, 16, 128, 8192, 50304, True, cla(16, 1)),
                m("mqa-hd256-CLA2-SWA2048-shape", 26, 2048, 8, 1, 256, 16384, 256000, True, cla(26, 2), 2048,
                  by_group(cla(26, 2), "LLG")),
                m("gqa12-kv2-hd64-CLA42-shape", 24, 1536, 24, 2, 64, 6144, 49152, True, groups(24, [4, 2])),
                m("gqa4-hd160-shape", 32, 2560, 16, 4, 160, 8960, 32000, False, cla(32, 1)),
            ]
        elif self.args.set == "holdout10":  # tenth hold-out (session 14): measured before any change of session 14
            ms = [
                m("gpt-oss-20b-shape-dense-SWA128", 24, 2880, 64, 8, 64, 11520, 201088, False, cla(24, 1), 128,
                  every(24, "LG")),
                m("llama-3-70b-shape-L20", 20, 8192, 64, 8, 128, 28672, 128256, False, cla(20, 1)),
                m("gemma-3-1b-shape-MQA-hd256-SWA512", 26, 1152, 4, 1, 256, 6912, 262144, True, cla(26, 1), 512,
                  every(26, "LLLLLG")),
                m("phi-4-mini-shape-GQA3-CLA23", 32, 3072, 24, 8, 128, 8192, 200064, True, groups(32, [2, 3])),
                m("granite-3-2b-shape-GQA4-hd64-CLA2", 40, 2048, 32, 8, 64, 8192, 49155, True, cla(40, 2)),
                m("gemma-2-9b-shape-SWA4096-CLA31", 42, 3584, 16, 8, 256, 14336, 256000, True, groups(42, [3, 1]), 4096,
                  by_group(groups(42, [3, 1]), "LG")),
            ]
        elif self.args.set == "holdout11":  # eleventh hold-out (session 14): measured after that session's model changes
            ms = [
                m("deepseek-coder-33b-shape-L24-GQA7", 24, 7168, 56, 8, 128, 19200, 32256, False, cla(24, 1)),
                m("mpt-7b-shape-MHA-CLA3", 32, 4096, 32, 32, 128, 16384, 50432, False, cla(32, 3)),
                m("gemma-3-27b-shape-L31-SWA1024-kv16", 31, 5376, 32, 16, 128, 21504, 262144, True, cla(31, 1), 1024,
                  every(31, "LLLLLG")),
                m("minicpm-2b-shape-MHA36-hd64", 40, 2304, 36, 36, 64, 5760, 122753, True, cla(40, 1)),
                m("mqa-hd256-CLA4-shape", 24, 2048, 8, 1, 256, 8192, 256000, True, cla(24, 4)),
                m("gqa5-hd96-SWA2048-CLA213-shape", 30, 2560, 20, 4, 96, 7680, 32000, False, groups(30, [2, 1, 3]), 2048,
                  by_group(groups(30, [2, 1, 3]), "LLG")),
            ]
        elif self.args.set == "holdout12":  # twelfth hold-out (session 15): measured before that session's model changes
            ms = [
                m("mqa-g24-hd128-CLA2-shape", 24, 3072, 24, 1, 128, 8192, 64000, True, cla(24, 2)),
                m("gqa3-kv6-hd128-SWA4096-shape", 28, 2304, 18, 6, 128, 9216, 128000, True, cla(28, 1), 4096,
                  every(28, "LG")),
                m("gqa2-kv16-hd64-CLA123-shape", 24, 2048, 32, 16, 64, 5632, 32000, True, groups(24, [1, 2, 3])),
                m("mha-hd256-L18-shape", 18, 2048, 8, 8, 256, 16384, 256000, True, cla(18, 1)),
                m("gqa10-kv4-hd96-shape", 30, 3840, 40, 4, 96, 10240, 100352, False, cla(30, 1)),
                m("mqa-g40-hd64-KeepEnds-shape", 20, 2560, 40, 1, 64, 6912, 50304, True, keep_ends(20)),
            ]
        elif self.args.set == "holdout13":  # thirteenth hold-out (session 15): measured after that session's model changes
            ms = [
                m("mqa-g28-hd128-shape", 22, 3584, 28, 1, 128, 9728, 151936, False, cla(22, 1)),
                m("gqa6-kv2-hd128-CLA3-shape", 27, 1536, 12, 2, 128, 8960, 151936, True, cla(27, 3)),
                m("gqa4-kv8-hd256-SWA1024-shape", 20, 4096, 32, 8, 256, 12288, 256000, True, cla(20, 1), 1024,
                  every(20, "LLG")),
                m("mha-hd64-L28-shape", 28, 1280, 20, 20, 64, 5120, 50257, True, cla(28, 1)),
                m("gqa16-kv2-hd64-CLA21-shape", 24, 2048, 32, 2, 64, 8192, 128256, True, groups(24, [2, 1])),
                m("gqa8-kv5-hd80-SWA2048-CLA2-shape", 32, 3200, 40, 5, 80, 8640, 32000, False, cla(32, 2), 2048,
                  by_group(cla(32, 2), "LG")),
            ]
        elif self.args.set == "holdout14":  # fourteenth hold-out (session 16): measured after every model change
            ms = [
                m("falcon-7b-shape-MQA71-hd64", 32, 4544, 71, 1, 64, 18176, 65024, False, cla(32, 1)),
                m("phi-2-shape-MHA-hd80-CLA2", 32, 2560, 32, 32, 80, 10240, 51200, False, cla(32, 2)),
                m("smollm-135m-shape-GQA3-hd64", 30, 576, 9, 3, 64, 1536, 49152, True, cla(30, 1)),
                m("mistral-large-shape-L12-GQA12", 12, 12288, 96, 8, 128, 28672, 32768, False, cla(12, 1)),
                m("mqa-g16-hd256-SWA512-CLA13-shape", 26, 4096, 16, 1, 256, 14336, 256000, True, groups(26, [1, 3]), 512,
                  by_group(groups(26, [1, 3]), "LG")),
                m("qwen2-7b-shape-GQA7-SWA8192-3:1", 28, 3584, 28, 4, 128, 18944, 152064, False, cla(28, 1), 8192,
                  every(28, "LLLG")),
            ]
        elif self.args.set == "holdout15":  # fifteenth hold-out (session 16): measured with the session's second micro set
            ms = [
                m("qwen2.5-14b-shape-L24-CLA2", 24, 5120, 40, 8, 128, 13824, 152064, False, cla(24, 2)),
                m("starcoder2-3b-shape-SWA4096", 30, 3072, 24, 2, 128, 12288, 49152, True, cla(30, 1), 4096, every(30, "L")),
                m("mha-hd128-d2560-CLA23-shape", 24, 2560, 20, 20, 128, 6912, 50304, True, groups(24, [2, 3])),
                m("mqa-g12-hd256-SWA2048-CLA12-shape", 20, 3072, 12, 1, 256, 12288, 256000, True, groups(20, [1, 2]), 2048,
                  by_group(groups(20, [1, 2]), "LLG")),
                m("gqa4-kv4-hd64-d1024-KeepEnds-shape", 24, 1024, 16, 4, 64, 4096, 32000, True, keep_ends(24)),
                m("gqa6-kv6-hd112-shape", 28, 4032, 36, 6, 112, 11008, 65536, False, cla(28, 1)),
            ]
        elif self.args.set == "holdout16":  # sixteenth hold-out (session 16): measured after every change of the session
            ms = [
                m("yi-9b-shape-L24-GQA8-kv4", 24, 4096, 32, 4, 128, 11008, 64000, False, cla(24, 1)),
                m("mha-hd96-d3072-CLA2-shape", 26, 3072, 32, 32, 96, 8192, 50304, True, cla(26, 2)),
                m("mqa-g32-hd128-SWA1024-3to1-shape", 24, 4096, 32, 1, 128, 14336, 128256, False, cla(24, 1), 1024,
                  every(24, "LLLG")),
                m("gqa2-kv4-hd64-d512-shape", 16, 512, 8, 4, 64, 2048, 32000, True, cla(16, 1)),
                m("gqa16-kv4-hd128-d8192-L16-shape", 16, 8192, 64, 4, 128, 24576, 152064, False, cla(16, 1)),
                m("gqa5-kv4-hd160-SWA2048-CLA122-shape", 24, 3200, 20, 4, 160, 8640, 32000, True, groups(24, [1, 2, 2]), 2048,
                  by_group(groups(24, [1, 2, 2]), "LLG")),
            ]
        elif self.args.set == "holdout17":  # seventeenth hold-out (session 17): measured before any model change of the session
            ms = [
                m("qwen2.5-1.5b-shape-GQA6-kv2", 28, 1536, 12, 2, 128, 8960, 151936, True, cla(28, 1)),
                m("gqa4-kv8-hd256-SWA4096-CLA2-shape", 20, 4096, 32, 8, 256, 14336, 256000, True, cla(20, 2), 4096,
                  by_group(cla(20, 2), "LG")),
                m("mha-hd128-d5120-L12-CLA312-shape", 12, 5120, 40, 40, 128, 13824, 32000, False, groups(12, [3, 1, 2])),
                m("mqa-g48-hd64-d3072-SWA2048-3to1-shape", 24, 3072, 48, 1, 64, 8192, 50304, True, cla(24, 1), 2048,
                  every(24, "LLLG")),
                m("smollm-360m-shape-GQA3-kv5-hd64", 32, 960, 15, 5, 64, 2560, 49152, True, cla(32, 1)),
                m("gqa7-kv4-hd112-CLA221-shape", 30, 3072, 28, 4, 112, 9216, 100352, False, groups(30, [2, 2, 1])),
            ]
        elif self.args.set == "fp8w":  # fp8 weights (e4m3, per-tensor scales) on the main shapes
            ms = [
                m("llama-3-8b-GQA8-CLA1-fp8w", 32, 4096, 32, 8, 128, 14336, 128256, False, cla(32, 1)),
                m("llama-3-8b-GQA8-CLA2-fp8w", 32, 4096, 32, 8, 128, 14336, 128256, False, cla(32, 2)),
                m("llama-3.2-1b-GQA8-CLA1-fp8w", 16, 2048, 32, 8, 64, 8192, 128256, True, cla(16, 1)),
            ]
            for x in ms:
                x["wdt"] = "fp8"
        else:  # holdout: shapes never used while building the model
            ms = [
                m("qwen2.5-3b-GQA2-CLA1", 36, 2048, 16, 2, 128, 11008, 151936, True, cla(36, 1)),
                m("qwen2.5-3b-GQA2-CLA2", 36, 2048, 16, 2, 128, 11008, 151936, True, cla(36, 2)),
                m("gemma-2-2b-shape-GQA4-CLA1", 26, 2304, 8, 4, 256, 9216, 256000, True, cla(26, 1)),
                m("llama-2-13b-MHA-CLA1", 40, 5120, 40, 40, 128, 13824, 32000, False, cla(40, 1)),
                m("mistral-7b-GQA8-KeepEnds", 32, 4096, 32, 8, 128, 14336, 32768, False, keep_ends(32)),
                m("llama-3-8b-GQA4-CLA3", 32, 4096, 32, 4, 128, 14336, 128256, False, cla(32, 3)),
            ]
        if self.quick:
            ms = ms[:2]
        only = getattr(self.args, "models", "") or ""
        if only:  # --models: a subset of the set's shapes, same grid (e.g. a re-measurement of its small models)
            ms = [x for x in ms if x["label"] in only.split(",")]
        return ms

    def fam_e2e(self):
        # The unit's in-graph cost of a tiny kernel first (torch_launch, about a second): it differs by up to 15 %
        # between H200 units (1.01 vs 1.16 us, session 17) and moves a small model's step by 100-150 us, so each
        # end-to-end file says what its unit pays. Never fitted (validate reads only decode_step / prefill).
        self.fam_launch()
        dec_B = [1, 8, 32, 128, 256, 512, 1024]
        dec_S = [512, 2048, 8192, 32768, 131072]
        pre = [(1, 512), (1, 2048), (1, 8192), (1, 16384), (1, 32768), (4, 2048), (4, 8192)]
        if self.args.set in E2E_GRIDS:
            dec_B, dec_S, pre = E2E_GRIDS[self.args.set]
        if self.quick:
            dec_B, dec_S, pre = [1, 256], [2048], [(1, 2048), (1, 16384)]
        # Default cap: 120 GB (what the H200's 141 GB leaves after the allocator's pools and the graph's workspace),
        # or 82 % of a smaller card's memory (an H100's 80 GB: about 70 GB), so no point is attempted that cannot fit.
        mem_cap = (self.args.e2e_max_mem_gb * 1e9 if self.args.e2e_max_mem_gb is not None
                   else min(120e9, 0.82 * self.props.total_memory))
        stacks = self.attn_backends()
        for mdl in self.e2e_models():
            if self.out_of_time():
                self.skip("decode_step", {"model_label": mdl["label"]}, "time budget")
                continue
            try:
                W = Weights(mdl)
            except torch.OutOfMemoryError:
                self.skip("decode_step", {"model_label": mdl["label"]}, "weights: out of GPU memory")
                torch.cuda.empty_cache()
                continue
            for backend, stack in stacks:
                # cuDNN end to end on a subset (the main stack is torch-flash)
                sub = stack != "torch-flash" and self.args.set not in HOLDOUTS_BOTH_STACKS
                if sub and self.args.set in ("holdout2", "holdout4", "holdout5", "fp8w"):
                    continue
                cudnn_dec = ((1, 6000), (24, 24000), (256, 1500), (6, 131072)) if self.args.set == "holdout3" else (
                    (1, 2048), (32, 8192), (256, 2048), (8, 32768), (4, 4096), (64, 16384), (256, 1024))
                cudnn_pre = ((1, 1000), (1, 16384)) if self.args.set == "holdout3" else ((1, 2048), (1, 16384), (1, 4096))
                for B in ([] if self.args.prefill_only else dec_B):
                    for S in dec_S:
                        if sub and (B, S) not in cudnn_dec:
                            continue
                        kv = kv_cache_bytes(mdl, B, S)
                        if W.bytes + kv + self.act_bytes(mdl, B) > mem_cap:
                            self.skip("decode_step", {"model_label": mdl["label"], "batch": B, "context": S, "stack": stack},
                                      f"does not fit: weights {W.bytes/1e9:.1f} GB + KV {kv/1e9:.1f} GB > {mem_cap/1e9:.0f} GB")
                            continue
                        if self.out_of_time():
                            self.skip("decode_step", {"model_label": mdl["label"], "batch": B, "context": S, "stack": stack},
                                      "time budget")
                            continue
                        self.one_step(W, mdl, backend, stack, B, S, 1, False)
                for (B, P) in pre:
                    if sub and (B, P) not in cudnn_pre:
                        continue
                    if mdl.get("window") and P > mdl["window"] and "L" in mdl["pattern"]:
                        # SDPA's flash and cuDNN backends take no window (only is_causal): a prompt longer
                        # than the window needs a banded mask, i.e. another kernel (FlexAttention, flash_attn)
                        self.skip("prefill", {"model_label": mdl["label"], "batch": B, "prompt": P, "stack": stack},
                                  f"sliding-window prefill beyond the window ({mdl['window']}): SDPA has no window argument")
                        continue
                    if self.out_of_time():
                        self.skip("prefill", {"model_label": mdl["label"], "batch": B, "prompt": P, "stack": stack}, "time budget")
                        continue
                    self.one_step(W, mdl, backend, stack, B, P, P, True)
            del W
            torch.cuda.empty_cache()

    @staticmethod
    def act_bytes(mdl, rows):
        return ACT * rows * (4 * mdl["d"] + 3 * mdl["f"] + (mdl["hq"] + 2 * mdl["hkv"]) * mdl["hd"]) + 4 * rows * mdl["V"]

    def one_step(self, W, mdl, backend, stack, B, S, P, prefill):
        fam = "prefill" if prefill else "decode_step"
        axes = {"model_label": mdl["label"], "n_layers": mdl["L"], "d_model": mdl["d"], "n_q_heads": mdl["hq"],
                "n_kv_heads": mdl["hkv"], "head_dim": mdl["hd"], "ffn_dim": mdl["f"], "vocab": mdl["V"],
                "tied_embeddings": mdl["tied"], "kv_producers": mdl["prod"], "batch": B, "context": S,
                **({"window": mdl["window"], "layer_pattern": mdl["pattern"]} if mdl.get("window") else {}),
                "prompt": P if prefill else 0, "kv_dtype": "bf16", "weight_dtype": mdl.get("wdt", "bf16"), "runtime": "graph",
                "stack": stack,
                "backend": backend.lower()}
        try:
            step = Step(W, mdl, backend, B, S, P, prefill)
            logits_eager = step.warmup().clone()
            kern = count_kernels(step.run) if (not prefill or P <= 8192) else None
            g = torch.cuda.CUDAGraph()
            with torch.cuda.graph(g):
                out = step.run()
            g.replay()
            torch.cuda.synchronize()
            err = rel_err(out, logits_eager)
            ok = math.isfinite(err) and err < 3e-2
            long_ = prefill and P >= 16384
            summ, smp, clk, dr, stop = self.timer.time_graph(g, 1, min_samples=3 if long_ else None,
                                                             max_time_s=0.6 if long_ else None, warm=1 if long_ else 2, net=False)
            sus = None
            if self.args.sustained and summ is not None:
                # K replays queued back to back (no idle between steps, as in a loaded server):
                # the power governor's sustained state. K covers >= 0.4 s of steps.
                K = int(min(40, max(3, math.ceil(0.4 / summ["median_s"]))))
                g.replay()
                torch.cuda.synchronize()
                sus = []
                for _ in range(3):
                    self.timer.ev0.record()
                    for _ in range(K):
                        g.replay()
                    self.timer.ev1.record()
                    self.timer.ev1.synchronize()
                    sus.append(self.timer.ev0.elapsed_time(self.timer.ev1) * 1e-3 / K)
                sus_clk = self.nvml.sm_kHz()
            del g, out
        except torch.OutOfMemoryError:
            self.skip(fam, axes, "out of GPU memory")
            torch.cuda.empty_cache()
            return
        except Exception as e:
            self.skip(fam, axes, f"failed: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
            self.errors.append(traceback.format_exc()[-600:])
            torch.cuda.empty_cache()
            return
        finally:
            try:
                del step
            except Exception:
                pass
        if summ is None:
            self.skip(fam, axes, "every sample throttled")
            return
        axes["kernels_per_step"] = kern
        kvb_read = sum(B * cache_len(mdl, i, S) * 2 * mdl["hkv"] * mdl["hd"] * ACT for i in range(mdl["L"])) if not prefill else 0
        self.records.append(record(fam, mdl["label"] + ("-prefill" if prefill else "-decode"), axes, summ, smp, clk, dr, stop,
                                   W.bytes + kvb_read, 0, 0, ok, err,
                                   {"weights_allocated_B": W.bytes, "kv_cache_B": kv_cache_bytes(mdl, B, S),
                                    "host_replay_s": self.timer.host_replay_s, "timer_lead_cycles": self.timer.lead_cycles,
                                    "verification": "logits of the graph replay vs an eager run of the same step"}))
        print(f"  {fam:11s} {stack:11s} {mdl['label']:28s} B={B:5d} {'P' if prefill else 'S'}={S:6d} "
              f"{summ['median_s']*1e3:9.3f} ms k={kern} err {err:.1e}", flush=True)
        if sus:
            sax = dict(axes, power_state="sustained", back_to_back_steps=K)
            self.records.append(record(fam, mdl["label"] + ("-prefill" if prefill else "-decode") + "-sustained", sax, summarize(sus), sus, [sus_clk], 0,
                                       "fixed_samples", W.bytes, 0, 0, ok, err,
                                       {"weights_allocated_B": W.bytes, "kv_cache_B": kv_cache_bytes(mdl, B, S),
                                        "verification": "logits of the graph replay vs an eager run of the same step"}))
            print(f"  {fam:11s} {stack:11s} {mdl['label']:28s} B={B:5d} {'P' if prefill else 'S'}={S:6d} {statistics.median(sus)*1e3:9.3f} ms "
                  f"sustained ({K} back to back, {sus_clk/1e3:.0f} MHz after)", flush=True)
        torch.cuda.empty_cache()

    def run(self):
        fams = self.args.families.split(",")
        table = [("launch", self.fam_launch), ("gemm", self.fam_gemm), ("gemm_fp8", self.fam_gemm_fp8), ("attention", self.fam_attention),
                 ("attention_prefill", self.fam_attention_prefill), ("elementwise", self.fam_elementwise),
                 ("elementwise_decode", self.fam_elementwise_decode), ("elementwise_layer", self.fam_elementwise_layer),
                 ("elementwise_chain", self.fam_elementwise_chain),
                 ("attention_dims", self.fam_attention_dims), ("attention_shapes", self.fam_attention_shapes),
                 ("attention_context", self.fam_attention_context), ("attention_knobs", self.fam_attention_knobs),
                 ("attention_cudnn_ctas", self.fam_attention_cudnn_ctas), ("attention_grids", self.fam_attention_grids),
                 ("attention_grids2", self.fam_attention_grids2), ("attention_cudnn_dims", self.fam_attention_cudnn_dims),
                 ("attention_cudnn_steps", self.fam_attention_cudnn_steps), ("attention_waves", self.fam_attention_waves),
                 ("attention_splits", self.fam_attention_splits), ("gemm_odd", self.fam_gemm_odd),
                 ("elementwise_chain_small", self.fam_elementwise_chain_small),
                 ("attention_prefill_dims", self.fam_attention_prefill_dims),
                 ("power", self.fam_power), ("e2e", self.fam_e2e)]
        for name, fn in table:
            if name not in fams and "all" not in fams:
                continue
            t0 = time.time()
            print(f"== torch family {name} (t={t0 - self.t_start:.0f} s)", flush=True)
            try:
                fn()
            except Exception:
                tb = traceback.format_exc()
                print(tb, flush=True)
                self.errors.append(f"family {name}: " + tb[-1500:])
            torch.cuda.empty_cache()
            print(f"== family {name} done in {time.time() - t0:.0f} s; {len(self.records)} records", flush=True)
            self.write(False)
        self.write(True)


class Weights:
    """Distinct bf16 weights for every layer (a real step streams each layer's own matrices)."""

    def __init__(self, m):
        d, hq, hkv, hd, f, V, L = m["d"], m["hq"], m["hkv"], m["hd"], m["f"], m["V"], m["L"]
        qd, kvd = hq * hd, hkv * hd
        s = 1.0 / math.sqrt(d)

        def r(*shape, scale=s):
            return torch.randn(*shape, device=DEV, dtype=BF16) * scale

        self.emb = r(V, d, scale=1.0)
        self.lm = self.emb if m["tied"] else r(V, d)
        self.norm_f = 1 + 0.1 * r(d, scale=1.0)
        self.layers = []
        self.fp8 = m.get("wdt") == "fp8"
        self.one = torch.ones((), device=DEV, dtype=torch.float32)
        nbytes = ACT * (V * d * (1 if m["tied"] else 2) + d)
        wbytes = 1 if self.fp8 else ACT  # projection weights; embedding, LM head and norms stay bf16
        for i in range(L):
            producer = m["prod"][i] == i
            ly = {"n1": 1 + 0.1 * r(d, scale=1.0), "n2": 1 + 0.1 * r(d, scale=1.0),
                  "wqkv": r(qd + 2 * kvd, d) if producer else r(qd, d), "wo": r(d, qd, scale=1.0 / math.sqrt(qd)),
                  "wgu": r(2 * f, d), "wd": r(d, f, scale=1.0 / math.sqrt(f)), "producer": producer}
            nbytes += wbytes * (ly["wqkv"].numel() + ly["wo"].numel() + ly["wgu"].numel() + ly["wd"].numel()) + ACT * 2 * d
            if self.fp8:
                for k in ("wqkv", "wo", "wgu", "wd"):
                    ly[k] = ly[k].to(FP8)
            self.layers.append(ly)
        self.bytes = nbytes
        self.kv_bytes_per_token = sum(2 * kvd * ACT for i in range(L) if m["prod"][i] == i)


def local_layer(m, i):
    return bool(m.get("window")) and m["pattern"][i] == "L"


def cache_len(m, i, S):
    """Positions the K/V cache of layer i holds at context S: a sliding-window layer keeps a ring of
    `window` slots (what a serving engine allocates), a global layer all S."""
    return min(S, m["window"]) if local_layer(m, i) else S


def kv_cache_bytes(m, B, S):
    return sum(B * cache_len(m, i, S) * 2 * m["hkv"] * m["hd"] * ACT for i in range(m["L"]) if m["prod"][i] == i)


class Step:
    """One decode step (P = 1 new token per request at position S-1) or one prefill (P tokens)."""

    def __init__(self, W, m, backend, B, S, P, prefill):
        self.W, self.m, self.backend, self.B, self.S, self.P, self.prefill = W, m, backend, B, S, P, prefill
        d, hq, hkv, hd, L = m["d"], m["hq"], m["hkv"], m["hd"], m["L"]
        self.qd, self.kvd = hq * hd, hkv * hd
        # K/V caches [B, Hkv, S, D] for producer layers, filled with random history
        self.kc, self.vc = {}, {}
        for i in range(L):
            if m["prod"][i] == i:
                self.kc[i] = torch.randn(B, hkv, cache_len(m, i, S), hd, device=DEV, dtype=BF16)
                self.vc[i] = torch.randn(B, hkv, cache_len(m, i, S), hd, device=DEV, dtype=BF16)
        self.ids = torch.randint(0, m["V"], (B, P), device=DEV)
        self.pos = 0 if prefill else S - 1
        # RoPE tables (max positions S) and the positions of this step's tokens
        inv = 1.0 / (10000 ** (torch.arange(0, hd, 2, device=DEV).float() / hd))
        t = torch.arange(S, device=DEV).float()
        fr = torch.outer(t, inv)
        emb = torch.cat((fr, fr), dim=-1)
        self.cos_t = emb.cos().to(BF16)
        self.sin_t = emb.sin().to(BF16)
        self.positions = torch.arange(self.pos, self.pos + P, device=DEV).unsqueeze(0).expand(B, P).contiguous()

    def warmup(self):
        return side_stream_warmup(self.run, 1)

    def run(self):
        W, m, B, P = self.W, self.m, self.B, self.P
        d, hq, hkv, hd = m["d"], m["hq"], m["hkv"], m["hd"]
        qd, kvd = self.qd, self.kvd
        h = F.embedding(self.ids, W.emb)  # [B, P, d]
        cos = F.embedding(self.positions, self.cos_t).unsqueeze(1)  # [B, 1, P, hd]
        sin = F.embedding(self.positions, self.sin_t).unsqueeze(1)
        end = self.pos + P
        lin = (lambda a, w: fp8_linear(a, w, W.one)) if W.fp8 else F.linear
        for i, ly in enumerate(W.layers):
            x = F.rms_norm(h, (d,), ly["n1"], 1e-5)
            qkv = lin(x, ly["wqkv"])
            q = qkv[..., :qd].view(B, P, hq, hd).transpose(1, 2)
            q = rope(q, cos, sin)
            if ly["producer"]:
                k = qkv[..., qd:qd + kvd].view(B, P, hkv, hd).transpose(1, 2)
                v = qkv[..., qd + kvd:].view(B, P, hkv, hd).transpose(1, 2)
                k = rope(k, cos, sin)
                # a sliding-window layer's ring of `window` slots: the new token takes the last slot (the
                # ring's order does not matter to attention: RoPE is applied before caching); prefill runs
                # only with P <= window, where the ring is the plain cache
                e = self.kc[i].shape[2] if local_layer(m, i) else end
                self.kc[i][:, :, e - P:e].copy_(k)
                self.vc[i][:, :, e - P:e].copy_(v)
            p = m["prod"][i]
            e = self.kc[p].shape[2] if local_layer(m, p) else end
            K = self.kc[p][:, :, :e]
            V = self.vc[p][:, :, :e]
            a = sdpa(q, K, V, self.backend, self.prefill, hq != hkv)
            a = a.transpose(1, 2).reshape(B, P, qd)
            h = h + lin(a, ly["wo"])
            x = F.rms_norm(h, (d,), ly["n2"], 1e-5)
            h = h + lin(silu_mul(lin(x, ly["wgu"])), ly["wd"])
        h = F.rms_norm(h[:, -1, :], (d,), W.norm_f, 1e-5)
        return F.linear(h, W.lm)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=["quick", "full"], default="full")
    ap.add_argument("--families", default="all", help="comma list of launch,gemm,gemm_fp8,attention,attention_prefill,elementwise,elementwise_decode,elementwise_layer,elementwise_chain,attention_dims,attention_shapes,attention_context,attention_knobs,attention_cudnn_ctas,attention_grids,attention_grids2,attention_cudnn_dims,attention_cudnn_steps,attention_waves,attention_splits,gemm_odd,elementwise_chain_small,attention_prefill_dims,power,e2e")
    ap.add_argument("--set", choices=["main", *E2E_GRIDS], default="main", help="end-to-end shape set")
    ap.add_argument("--stacks", default="torch-flash,torch-cudnn")
    ap.add_argument("--out-json", required=True)
    ap.add_argument("--git-sha", default="unknown")
    ap.add_argument("--notes", default="")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--budget-s", type=float, default=480.0, help="skip (and record) what remains after this many seconds")
    ap.add_argument("--attn-max-kv-gb", type=float, default=12.0)
    ap.add_argument("--e2e-max-mem-gb", type=float, default=None)
    ap.add_argument("--cudnn-all", action="store_true", help="cuDNN decode attention at head_dim 64 / 256 too (with --stacks torch-cudnn)")
    ap.add_argument("--cold-elementwise", action="store_true", help="also time elementwise ops after an L2 flush (rows <= 1024)")
    ap.add_argument("--power-ops", default="gemm,prefill",
                    help="torch_power: which ops to burst (gemm, prefill, decode, decode_shapes); the default is the fitted set")
    ap.add_argument("--power-rests", default="0.1,20",
                    help="torch_power: idle before each burst, ms (comma list); the default is the fitted pair")
    ap.add_argument("--power-fillers", default="none,copy,gemm",
                    help="torch_power: what follows each repetition (none, copy, gemm where the op allows it)")
    ap.add_argument("--models", default="", help="e2e: only these shape labels of the set (comma list)")
    ap.add_argument("--sustained", action="store_true", help="e2e: also time each step replayed back to back (power_state sustained)")
    ap.add_argument("--prefill-only", action="store_true", help="e2e: prefill steps only")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("torch_bench: no CUDA device", file=sys.stderr)
        return 2
    torch.backends.cuda.matmul.allow_tf32 = False
    b = Bench(args)
    print(f"== torch_bench {VERSION} on {b.props.name}: torch {torch.__version__} cuda {torch.version.cuda} "
          f"cudnn {torch.backends.cudnn.version()} mode={args.mode} families={args.families} set={args.set}", flush=True)
    b.run()
    bad = [r for r in b.records if not r["verified"]]
    print(f"== torch_bench done: {len(b.records)} records, {len(b.skipped)} skipped, {len(bad)} unverified, "
          f"{len(b.errors)} errors, {time.time() - b.t_start:.0f} s", flush=True)
    for r in bad[:20]:
        print(f"   unverified: {r['family']} {r['name']} {r['axes']} err {r['max_rel_error']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
