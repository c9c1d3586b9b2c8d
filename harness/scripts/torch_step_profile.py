#!/usr/bin/env python3
"""Where a torch-flash step spends its time, kernel by kernel (diagnostic, never fitted).

Builds the end-to-end step of torch_bench.py (the same Weights / Step code, the same shape sets),
captures it in a CUDA graph, replays it under torch.profiler (CUPTI traces the kernels inside the
graph) and writes, per point:
  - the step's wall time (CUDA events around the profiled replays, and alone without profiler);
  - every kernel of one replay *in launch order* (name, median duration over the replays), so
    that the analysis can attribute each kernel to the op that launched it (the step's op order
    is fixed: norm, qkv GEMM, RoPE, K/V append, attention, o GEMM, add, norm, gate_up GEMM,
    silu, mul, down GEMM, add per layer; final norm and LM head);
  - the sum of kernel durations, so that step = kernels + gaps between kernels.

Points: --points "LABEL:decode:B:S,LABEL:prefill:B:P,..." with LABEL one of the e2e models of
--set (torch_bench.py Bench.e2e_models: the one definition of the shape sets).
"""
import argparse
import json
import os
import statistics
import sys
import time
from types import SimpleNamespace

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_bench as tb  # noqa: E402

VERSION = "0.2.0"


def models_of(set_name):
    # Bench.e2e_models reads only args.set and quick.
    return {m["label"]: m for m in tb.Bench.e2e_models(SimpleNamespace(args=SimpleNamespace(set=set_name), quick=False))}


def cuda_events(prof):
    out = []
    for e in prof.events():
        if "CUDA" not in str(getattr(e, "device_type", "")):
            continue
        tr = getattr(e, "time_range", None)
        start = tr.start if tr is not None else 0.0
        dur = getattr(e, "device_time_total", None)
        if dur is None:
            dur = getattr(e, "cuda_time_total", 0)
        out.append((start, dur * 1e-6, e.name))
    out.sort()
    return out


def replays_s(g, reps):
    """Mean seconds per replay of `reps` back-to-back replays of graph g (CUDA events)."""
    ev0, ev1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    torch.cuda.synchronize()
    ev0.record()
    for _ in range(reps):
        g.replay()
    ev1.record()
    torch.cuda.synchronize()
    return ev0.elapsed_time(ev1) * 1e-3 / reps


def profile_graph(g, reps=5):
    from torch.profiler import ProfilerActivity, profile
    g.replay()
    torch.cuda.synchronize()
    # wall time without the profiler, then with it (CUPTI adds a little per kernel)
    wall_plain = replays_s(g, reps)
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        wall = replays_s(g, reps)
    ev = cuda_events(prof)
    n = len(ev) // reps if reps else 0
    seq = []
    if n and len(ev) == n * reps:
        for i in range(n):
            seq.append({"kernel": ev[i][2], "time_s": statistics.median(ev[r * n + i][1] for r in range(reps))})
    return wall_plain, wall, seq, len(ev)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default="main", choices=["main", *tb.E2E_GRIDS])
    ap.add_argument("--points", required=True)
    ap.add_argument("--backend", default="FLASH_ATTENTION")
    ap.add_argument("--out-json", required=True)
    ap.add_argument("--git-sha", default="unknown")
    args = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    out = {"schema": "kvscope-step-profile/1", "tool": f"harness/scripts/torch_step_profile.py {VERSION}", "git_sha": args.git_sha,
           "torch": torch.__version__, "cuda": torch.version.cuda, "device": torch.cuda.get_device_name(0),
           "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "set": args.set, "backend": args.backend, "steps": []}
    models = models_of(args.set)
    pts = []
    for p in args.points.split(","):
        label, kind, B, S = p.split(":")
        if label not in models:
            raise SystemExit(f"--points: unknown model '{label}' for set {args.set}; expected one of {sorted(models)}")
        pts.append((label, kind, int(B), int(S)))
    by_model = {}
    for p in pts:
        by_model.setdefault(p[0], []).append(p)
    for label, plist in by_model.items():
        m = models[label]
        W = tb.Weights(m)
        for (_, kind, B, S) in plist:
            prefill = kind == "prefill"
            try:
                st = tb.Step(W, m, args.backend, B, S, S if prefill else 1, prefill)
                st.warmup()
                g = torch.cuda.CUDAGraph()
                with torch.cuda.graph(g):
                    st.run()
                wall_plain, wall, seq, nev = profile_graph(g, reps=3 if prefill else 5)
            except torch.OutOfMemoryError:
                print(f"{label} {kind} B={B} S={S}: out of memory", flush=True)
                torch.cuda.empty_cache()
                continue
            ksum = sum(r["time_s"] for r in seq)
            out["steps"].append({"model": label, "shape": m, "kind": kind, "batch": B, "context": S, "wall_s": wall_plain,
                                 "wall_profiled_s": wall, "kernel_sum_s": ksum, "kernels": len(seq), "sequence": seq})
            print(f"{label} {kind} B={B} S={S}: wall {wall_plain*1e3:.3f} ms (profiled {wall*1e3:.3f}), {len(seq)} kernels "
                  f"sum {ksum*1e3:.3f} ms", flush=True)
            del g, st
            torch.cuda.empty_cache()
        del W
        torch.cuda.empty_cache()
    # Compact: kernel names once, each step's sequence as [name index, seconds].
    names, idx = [], {}
    for st in out["steps"]:
        seq = []
        for k in st["sequence"]:
            if k["kernel"] not in idx:
                idx[k["kernel"]] = len(names)
                names.append(k["kernel"])
            seq.append([idx[k["kernel"]], round(k["time_s"], 9)])
        st["sequence"] = seq
    out["kernel_names"] = names
    out["sequence_format"] = "[index into kernel_names, median duration s rounded to 1 ns] per kernel, in launch order"
    with open(args.out_json, "w") as f:
        json.dump(out, f, separators=(",", ":"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
