#!/usr/bin/env python3
"""PyTorch scaled_dot_product_attention on the decode-attention shapes of a kvbench run.

Reads the kvbench result JSON, takes its family-3 points (variant "full", bf16 KV), times
torch.nn.functional.scaled_dot_product_attention on the same shapes (q_len = 1, q [B, Hq, 1, D],
K/V [B, Hkv, S, D], GQA through enable_gqa) with the same discipline as kvbench: random data, cold L2 by
rotating >= 5 x L2 of K/V sets, CUDA events around the call queued behind a GPU sleep (so host dispatch
stays out of the interval), >= 10 samples, stop at rel stdev < 0.5 % or a time cap, SM clock per sample via
NVML with samples under 75 % of the max clock dropped. Writes the same JSON schema (family
"attention_sdpa") plus a comparison against the kvbench kernel.
"""
import argparse
import csv
import datetime
import json
import math
import os
import socket
import statistics
import sys
import time

import torch
import torch.nn.functional as F

try:
    from torch.nn.attention import SDPBackend, sdpa_kernel
except Exception:  # pragma: no cover
    SDPBackend = None
    sdpa_kernel = None

VERSION = "0.1.0"


# One definition of the statistics for both torch scripts.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_bench import Nvml as _TorchBenchNvml  # noqa: E402
from torch_bench import quantile, summarize  # noqa: E402


def Nvml(_uuid=None):
    """NVML SM clock reader (torch_bench's; the device is torch's current one)."""
    return _TorchBenchNvml()


def run_sdpa(q, k, v, backend, gqa):
    if backend == "default" or sdpa_kernel is None:
        return F.scaled_dot_product_attention(q, k, v, enable_gqa=gqa) if gqa else F.scaled_dot_product_attention(q, k, v)
    with sdpa_kernel([getattr(SDPBackend, backend)]):
        return F.scaled_dot_product_attention(q, k, v, enable_gqa=gqa) if gqa else F.scaled_dot_product_attention(q, k, v)


def pick_backend(q, k, v, gqa):
    errors = []
    for b in ["FLASH_ATTENTION", "EFFICIENT_ATTENTION", "CUDNN_ATTENTION", "MATH"]:
        try:
            out = run_sdpa(q, k, v, b, gqa)
            torch.cuda.synchronize()
            return b, out, errors
        except Exception as e:
            errors.append(f"{b}: {str(e).splitlines()[0][:160]}")
    return None, None, errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kvbench-json", required=True)
    ap.add_argument("--out-json", required=True)
    ap.add_argument("--out-csv", required=True)
    ap.add_argument("--git-sha", default="unknown")
    ap.add_argument("--max-time", type=float, default=None)
    args = ap.parse_args()
    kv = json.load(open(args.kvbench_json))
    mode = kv["harness"]["mode"]
    max_time = args.max_time or (0.1 if mode == "quick" else 0.15)
    dev = torch.device("cuda")
    l2 = kv["device"]["l2_cache_B"]
    nvml = Nvml(kv["device"].get("uuid"))
    max_kHz = nvml.max_kHz if not math.isnan(nvml.max_kHz) else kv["device"]["sm_clock_max_kHz"]
    pts = [b for b in kv["benchmarks"] if b["family"] == "attention" and b["axes"].get("variant") == "full"
           and b["axes"].get("kv_dtype") == "bf16"]
    records, skipped = [], []
    t_start = time.time()
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    def write(final):
        cmp = [r for r in records if r.get("kvbench_median_s")]
        big = [r for r in cmp if r["kv_bytes_B"] >= 1e9]
        def stats(rs):
            if not rs:
                return None
            s = [r["speedup_kvbench_over_sdpa"] for r in rs]
            return dict(count=len(s), median=quantile(s, 0.5), min=min(s), max=max(s),
                        kvbench_faster_count=sum(1 for x in s if x >= 1.0))
        root = {
            "schema": "kvbench-result/1",
            "harness": {"version": VERSION, "git_sha": args.git_sha, "nvcc": kv["harness"].get("nvcc"), "arch": "sm_90",
                        "mode": mode, "command_line": " ".join(sys.argv), "tool": "harness/scripts/sdpa_bench.py",
                        "torch": torch.__version__, "torch_cuda": torch.version.cuda},
            "device": kv["device"],
            "run": {"date_utc": date, "host": socket.gethostname(), "complete": final, "duration_s": time.time() - t_start,
                    "notes": "PyTorch SDPA on the kvbench decode-attention shapes (bf16)",
                    "protocol": "torch.cuda._sleep before the start event, CUDA events around one SDPA call; K/V sets rotated to "
                                ">= 5 x L2; NVML SM clock after each sample, < 75% of max dropped",
                    "source_kvbench_json": os.path.basename(args.kvbench_json)},
            "ceilings": kv.get("ceilings", {}),
            "benchmarks": records,
            "skipped": skipped,
            "comparison": {"definition": "speedup = SDPA median time / kvbench kernel median time on the same shape (>1: kvbench faster)",
                           "all_points": stats(cmp), "kv_ge_1GB": stats(big)},
        }
        tmp = args.out_json + ".tmp"
        with open(tmp, "w") as f:
            json.dump(root, f, indent=1, allow_nan=False, default=lambda x: None)
        os.replace(tmp, args.out_json)
        cols = ["family", "name", "l2_state", "bytes_read_B", "bytes_written_B", "flop_count", "median_s", "mean_s", "stdev_s",
                "q1_s", "q3_s", "min_s", "rel_stdev", "sample_count", "discarded_throttled_count", "sm_clock_mean_kHz",
                "achieved_Bps", "achieved_flops", "verified", "max_rel_error", "kvbench_median_s", "speedup_kvbench_over_sdpa"]
        with open(args.out_csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(cols + ["axes"])
            for r in records:
                w.writerow([r.get(c) for c in cols] + [";".join(f"{k}={v}" for k, v in r["axes"].items())])

    for n, p in enumerate(pts):
        a = p["axes"]
        B, S, Hkv, g, D = a["batch"], a["kv_len"], a["n_kv_heads"], a["group_size"], a["head_dim"]
        Hq = Hkv * g
        kvb = B * S * 2 * Hkv * D * 2
        R = max(1, math.ceil(5 * l2 / kvb))
        axes = dict(batch=B, kv_len=S, n_kv_heads=Hkv, group_size=g, head_dim=D, kv_dtype="bf16", splits=None,
                    variant="full", rotation_sets=R)
        try:
            torch.manual_seed(1000 + n)
            q = torch.empty(B, Hq, 1, D, device=dev, dtype=torch.bfloat16).uniform_(-1, 1)
            ks = [torch.empty(B, Hkv, S, D, device=dev, dtype=torch.bfloat16).uniform_(-2, 2) for _ in range(R)]
            vs = [torch.empty(B, Hkv, S, D, device=dev, dtype=torch.bfloat16).uniform_(-2, 2) for _ in range(R)]
        except torch.OutOfMemoryError:
            axes.pop("splits")
            skipped.append({"family": "attention_sdpa", "axes": axes, "reason": "out of GPU memory"})
            torch.cuda.empty_cache()
            continue
        gqa = g > 1
        backend, out, errs = pick_backend(q, ks[0], vs[0], gqa)
        if backend is None:
            axes.pop("splits")
            skipped.append({"family": "attention_sdpa", "axes": axes, "reason": "no SDPA backend ran: " + " | ".join(errs)})
            continue
        axes["backend"] = backend.lower()
        axes.pop("splits")
        # Verify (fp32 reference on request 0).
        qf = q[:1].float()
        kf = ks[0][:1].float().repeat_interleave(g, dim=1)
        vf = vs[0][:1].float().repeat_interleave(g, dim=1)
        ref = torch.softmax(qf @ kf.transpose(-1, -2) / math.sqrt(D), dim=-1) @ vf
        err = ((out[:1].float() - ref).norm() / ref.norm()).item()
        ok = bool(math.isfinite(err) and err < 2e-2)
        samples, clocks, dropped = [], [], 0
        acc = 0.0
        ev0, ev1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        i = 0
        wall0 = time.time()
        while True:
            kk, vv = ks[i % R], vs[i % R]
            torch.cuda._sleep(100000)
            ev0.record()
            run_sdpa(q, kk, vv, backend, gqa)
            ev1.record()
            torch.cuda.synchronize()
            clk = nvml.sm_kHz()
            i += 1
            if i <= 2:
                continue
            t = ev0.elapsed_time(ev1) * 1e-3
            if not math.isnan(clk) and clk < 0.75 * max_kHz:
                dropped += 1
                time.sleep(0.05)
                if time.time() - wall0 > 10:
                    break
                continue
            samples.append(t)
            clocks.append(clk)
            acc += t
            n_s = len(samples)
            if n_s >= 200:
                break
            if n_s >= 10:
                s = summarize(samples)
                if acc >= max_time or (acc >= 0.02 and s["rel_stdev"] < 0.005) or time.time() - wall0 > 3:
                    break
        if not samples:
            skipped.append({"family": "attention_sdpa", "axes": axes, "reason": "every sample throttled"})
            continue
        s = summarize(samples)
        rd = kvb + B * Hq * D * 2
        wr = B * Hq * D * 2
        fl = 4.0 * B * Hq * S * D
        kc = [c for c in clocks if not math.isnan(c)]
        rec = {"family": "attention_sdpa", "name": "torch_sdpa_" + backend.lower(), "axes": axes, "l2_state": "cold",
               "bytes_read_B": rd, "bytes_written_B": wr, "flop_count": fl, "samples_s": samples, **s,
               "discarded_throttled_count": dropped, "sm_clock_mean_kHz": (sum(kc) / len(kc)) if kc else None,
               "achieved_Bps": (rd + wr) / s["median_s"], "achieved_flops": fl / s["median_s"], "verified": ok,
               "max_rel_error": err, "kv_bytes_B": kvb, "kvbench_median_s": p["median_s"],
               "kvbench_splits": a.get("splits"),
               "speedup_kvbench_over_sdpa": s["median_s"] / p["median_s"],
               "backend_errors_before": errs}
        cc = kv.get("ceilings", {}).get("hbm_copy_Bps")
        rec["fraction_of_copy_ceiling"] = (rd + wr) / s["median_s"] / cc if cc else None
        records.append(rec)
        print(f"  sdpa B={B:3d} S={S:6d} Hkv={Hkv:2d} g={g:2d} D={D:3d} {backend:20s} {s['median_s']*1e6:9.2f} us "
              f"{(rd+wr)/s['median_s']/1e9:7.1f} GB/s  kvbench {p['median_s']*1e6:9.2f} us  x{rec['speedup_kvbench_over_sdpa']:.2f} "
              f"err {err:.1e}", flush=True)
        del q, ks, vs, out
        if n % 16 == 15:
            write(False)
    write(True)
    big = [r for r in records if r["kv_bytes_B"] >= 1e9]
    if big:
        sp = [r["speedup_kvbench_over_sdpa"] for r in big]
        print(f"== sdpa: {len(records)} points; at >= 1 GB KV: speedup kvbench/sdpa median {quantile(sp, 0.5):.3f} "
              f"(min {min(sp):.3f}, max {max(sp):.3f}, kvbench faster in {sum(1 for x in sp if x >= 1)}/{len(sp)})")
    bad = [r for r in records if not r["verified"]]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
