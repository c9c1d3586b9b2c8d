#!/usr/bin/env python3
"""A graph timed alone vs replayed back to back (diagnostic microbenchmark, not fitted yet).

Every committed end-to-end point is harness-timed: one graph replay queued behind a ~100 us
sleep kernel, between two CUDA events, host synchronisation and an NVML read between samples
(torch_bench.py Timer.time_graph). A serving engine replays steps back to back. On 2026-12-02 the
same decode steps measured both ways differed by 0.1-0.6 ms for steps under ~20 ms
(data/calibration/h200/torch-e2e-rerun-holdout2-2026-12-02.json). This family asks what that
difference scales with: graphs of N kernels of one kind (a 1-element add, an RMSNorm at 8 rows, a
GEMM at M 8 over rotating weights, and the three interleaved), N = 20 ... 800, each timed
harness-style (median of the Timer's samples) and as K replays back to back (median of 5 runs).

Output: JSON (schema kvscope-protocol/1) with per graph: kind, kernels, harness_s, back_to_back_s,
difference per kernel; and the tool, torch, device and date.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_bench as tb  # noqa: E402

VERSION = "0.1.0"


def back_to_back_s(g, k=20, runs=5):
    ev0, ev1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    out = []
    for _ in range(runs):
        torch.cuda.synchronize()
        ev0.record()
        for _ in range(k):
            g.replay()
        ev1.record()
        torch.cuda.synchronize()
        out.append(ev0.elapsed_time(ev1) * 1e-3 / k)
    return statistics.median(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out-json", required=True)
    ap.add_argument("--git-sha", default="unknown")
    args = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    nvml = tb.Nvml()
    timer = tb.Timer(nvml, tb.Rule(False))
    d = 4096
    one = torch.zeros(1, device=tb.DEV)
    x8 = torch.randn(8, d, device=tb.DEV, dtype=tb.BF16)
    wn = torch.randn(d, device=tb.DEV, dtype=tb.BF16)
    ws = [torch.randn(d, d, device=tb.DEV, dtype=tb.BF16) for _ in range(16)]  # 16 x 32 MiB: cold weights
    kinds = {
        "tiny_add": lambda i: one.add_(1.0),
        "rms_norm_8x4096": lambda i: F.rms_norm(x8, (d,), wn, 1e-5),
        "gemm_8x4096x4096": lambda i: F.linear(x8, ws[i % len(ws)]),
    }
    kinds["mixed"] = lambda i: [kinds["rms_norm_8x4096"], kinds["gemm_8x4096x4096"], kinds["tiny_add"]][i % 3](i)
    out = {"schema": "kvscope-protocol/1", "tool": f"harness/scripts/torch_protocol.py {VERSION}", "git_sha": args.git_sha,
           "torch": torch.__version__, "cuda": torch.version.cuda, "device": torch.cuda.get_device_name(0),
           "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "protocol": {"harness": "torch_bench.py Timer.time_graph: one replay behind torch.cuda._sleep(200000), CUDA events, "
                                   "median of its samples",
                        "back_to_back": "20 replays between two events, median of 5 runs"},
           "graphs": []}
    for kind, fn in kinds.items():
        for n in (20, 100, 400, 800):
            fns = [(lambda i=i: fn(i)) for i in range(n)]
            tb.side_stream_warmup(lambda: [f() for f in fns], 1)
            g, _ = tb.capture(fns, interleave=False)
            summ = timer.time_graph(g, 1, net=False)[0]
            b2b = back_to_back_s(g)
            row = {"kind": kind, "kernels": n, "harness_s": summ["median_s"], "back_to_back_s": b2b,
                   "difference_per_kernel_s": (summ["median_s"] - b2b) / n}
            out["graphs"].append(row)
            print(f"{kind:18s} N={n:4d}: harness {summ['median_s']*1e6:9.2f} us, back to back {b2b*1e6:9.2f} us, "
                  f"difference {row['difference_per_kernel_s']*1e9:7.1f} ns per kernel", flush=True)
            del g
    with open(args.out_json, "w") as f:
        json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
