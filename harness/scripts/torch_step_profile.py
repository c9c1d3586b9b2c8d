#!/usr/bin/env python3
"""Where a torch-flash step spends its time, kernel by kernel (diagnostic, never fitted).

Captures the end-to-end decode step of torch_bench.py (the same Step code) in a CUDA graph, replays
it under torch.profiler (CUPTI traces the kernels inside the graph), and writes per kernel name:
count per step, total device time per step; plus the step's wall time, so that
  step = sum of kernel durations + gaps between kernels.
The same is done for the step's ops in isolation as torch_bench's microbenchmarks run them (R
repetitions + separator), so a kernel that is slower inside the step than alone shows up by name.
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_bench as tb  # noqa: E402


def profile_graph(g, reps=5):
    from torch.profiler import ProfilerActivity, profile
    g.replay()
    torch.cuda.synchronize()
    ev0, ev1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        torch.cuda.synchronize()
        ev0.record()
        for _ in range(reps):
            g.replay()
        ev1.record()
        torch.cuda.synchronize()
    wall = ev0.elapsed_time(ev1) * 1e-3 / reps
    agg = {}
    for e in prof.events():
        if "CUDA" not in str(getattr(e, "device_type", "")):
            continue
        dur = getattr(e, "device_time_total", None)
        if dur is None:
            dur = getattr(e, "cuda_time_total", 0)
        k = agg.setdefault(e.name, [0, 0.0])
        k[0] += 1
        k[1] += dur * 1e-6
    rows = [{"kernel": n, "count_per_step": c / reps, "time_per_step_s": t / reps} for n, (c, t) in agg.items()]
    rows.sort(key=lambda r: -r["time_per_step_s"])
    return wall, rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out-json", required=True)
    args = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    out = {"tool": "harness/scripts/torch_step_profile.py", "torch": torch.__version__, "device": torch.cuda.get_device_name(0),
           "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "steps": [], "ops": []}
    cla = lambda L, c: [c * (i // c) for i in range(L)]  # noqa: E731
    models = [dict(label="llama-3-8b-GQA8-CLA1", L=32, d=4096, hq=32, hkv=8, hd=128, f=14336, V=128256, tied=False, prod=cla(32, 1)),
              dict(label="llama-3.2-1b-GQA8-CLA1", L=16, d=2048, hq=32, hkv=8, hd=64, f=8192, V=128256, tied=True, prod=cla(16, 1))]
    for m in models:
        W = tb.Weights(m)
        for (B, S) in [(1, 512), (8, 512), (8, 2048), (32, 2048)]:
            st = tb.Step(W, m, "FLASH_ATTENTION", B, S, 1, False)
            st.warmup()
            g = torch.cuda.CUDAGraph()
            with torch.cuda.graph(g):
                st.run()
            wall, rows = profile_graph(g)
            ksum = sum(r["time_per_step_s"] for r in rows)
            kn = sum(r["count_per_step"] for r in rows)
            out["steps"].append({"model": m["label"], "batch": B, "context": S, "wall_s": wall, "kernel_sum_s": ksum, "kernels": kn,
                                 "gap_per_kernel_s": (wall - ksum) / kn if kn else None, "rows": rows})
            print(f"{m['label']} B={B} S={S}: wall {wall*1e3:.3f} ms, kernels {kn:.0f} sum {ksum*1e3:.3f} ms, "
                  f"gap/kernel {(wall-ksum)/kn*1e6:.2f} us", flush=True)
            for r in rows[:8]:
                print(f"    {r['count_per_step']:6.1f} x {r['time_per_step_s']*1e6/r['count_per_step']:8.2f} us  {r['kernel'][:90]}")
            del g, st
            torch.cuda.empty_cache()
        # the same GEMMs alone, as torch_bench times them (R reps + separator)
        for (N, K) in [(m["hq"] * m["hd"] + 2 * m["hkv"] * m["hd"], m["d"]), (m["d"], m["hq"] * m["hd"]), (2 * m["f"], m["d"]), (m["d"], m["f"])]:
            for M in [1, 8]:
                R = 8
                ws = [torch.randn(N, K, device="cuda", dtype=torch.bfloat16) for _ in range(R)]
                x = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
                fns = [(lambda i=i: torch.nn.functional.linear(x, ws[i])) for i in range(R)]
                tb.side_stream_warmup(fns[0])
                g, _ = tb.capture(fns)
                wall, rows = profile_graph(g)
                out["ops"].append({"model": m["label"], "op": f"linear N={N} K={K}", "M": M, "reps": R, "wall_s": wall / R, "rows": rows})
                print(f"  alone linear M={M} N={N} K={K}: wall/rep {wall/R*1e6:.2f} us; " +
                      "; ".join(f"{r['count_per_step']/R:.1f}x{r['time_per_step_s']/max(r['count_per_step'],1)*1e6:.2f}us {r['kernel'][:40]}" for r in rows[:3]))
                del g, ws
        del W
        torch.cuda.empty_cache()
    with open(args.out_json, "w") as f:
        json.dump(out, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
