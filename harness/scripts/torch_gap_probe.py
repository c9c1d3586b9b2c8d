#!/usr/bin/env python3
"""Why a step timed alone is slower than the same step replayed back to back (diagnostic, never fitted).

On 2026-12-02 the holdout2 decode steps timed the harness's way (one CUDA-graph replay queued behind a
~100 us sleep kernel, between two CUDA events) were 0.1-0.6 ms slower than back-to-back replays, about
0.3-0.6 us per kernel of the step, while graphs of 20-800 uniform kernels showed no such difference
(torch_protocol.py). This probe separates the candidate mechanisms, per graph:
  - cpu_replay_s: host seconds inside g.replay() with the GPU idle (the cost of submitting the graph);
  - alone_s[spin]: one replay behind a sleep kernel of ~0.1 / 1 / 4 ms (a longer sleep hides a
    submission that outlasts the short one; a clock or cache effect of the idle gap does not change);
  - alone_idle_s: 20 ms of host idle before the 4 ms sleep (does the length of the idle gap matter?);
  - pair_first_s / pair_second_s: two replays queued behind one short sleep, an event between them
    (the second starts while the GPU is busy: a per-launch cost hides there, a per-kernel one does not);
  - back_to_back_s: 20 replays between two events;
  - graph topology from cudaGraphDebugDotPrint (kernel / memset / memcpy nodes, edges): a graph that is
    not a straight line of kernel nodes loses CUDA's constant-time launch path.
Graphs: end-to-end decode steps of torch_bench.py's holdout2 set (its Weights / Step code), one of
them captured twice into one graph, and a graph of 800 one-element adds as the control.
Output: JSON (schema kvscope-gap-probe/1) with the tool, torch, device and date.
"""
import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_bench as tb  # noqa: E402
from torch_protocol import back_to_back_s  # noqa: E402
from torch_step_profile import models_of  # noqa: E402

VERSION = "0.1.0"
SPINS = {"0.1ms": 200000, "1ms": 2000000, "4ms": 8000000}  # torch.cuda._sleep cycles (~2 GHz)


def ev():
    return torch.cuda.Event(enable_timing=True)


def alone(g, spin, n=15, idle_s=0.0):
    e0, e1, out = ev(), ev(), []
    for _ in range(n):
        torch.cuda.synchronize()
        if idle_s:
            time.sleep(idle_s)
        torch.cuda._sleep(spin)
        e0.record()
        g.replay()
        e1.record()
        e1.synchronize()
        out.append(e0.elapsed_time(e1) * 1e-3)
    return statistics.median(out)


def pair(g, n=15):
    e0, em, e1, a, b = ev(), ev(), ev(), [], []
    for _ in range(n):
        torch.cuda.synchronize()
        torch.cuda._sleep(SPINS["0.1ms"])
        e0.record()
        g.replay()
        em.record()
        g.replay()
        e1.record()
        e1.synchronize()
        a.append(e0.elapsed_time(em) * 1e-3)
        b.append(em.elapsed_time(e1) * 1e-3)
    return statistics.median(a), statistics.median(b)


def cpu_replay(g, n=10):
    out = []
    for _ in range(n):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        g.replay()
        out.append(time.perf_counter() - t0)
    torch.cuda.synchronize()
    return statistics.median(out)


def topology(g):
    """Node kinds and edge count of the captured graph (needs capture in debug mode)."""
    try:
        with tempfile.NamedTemporaryFile(suffix=".dot", delete=False) as f:
            path = f.name
        g.debug_dump(path)
        text = open(path).read()
        os.unlink(path)
    except Exception as e:  # noqa: BLE001 - a diagnostic: report, do not fail the probe
        return {"error": f"{type(e).__name__}: {str(e)[:160]}"}
    kinds = {}
    for m in re.finditer(r'label="\{?\s*([A-Z_]+)NODE|shape="?record"?.*?label="\{?(\w+)', text):
        k = m.group(1) or m.group(2)
        kinds[k] = kinds.get(k, 0) + 1
    return {"edges": len(re.findall(r"->", text)), "node_kinds": kinds, "kernel_nodes": text.count("KERNEL"),
            "memset_nodes": text.count("MEMSET"), "memcpy_nodes": text.count("MEMCPY")}


def probe(label, build, n_kernels):
    g = torch.cuda.CUDAGraph()
    try:
        g.enable_debug_mode()
    except Exception:  # noqa: BLE001
        pass
    with torch.cuda.graph(g):
        build()
    g.replay()
    torch.cuda.synchronize()
    row = {"graph": label, "kernels": n_kernels, "topology": topology(g), "cpu_replay_s": cpu_replay(g)}
    for name, spin in SPINS.items():
        row[f"alone_s_{name}"] = alone(g, spin)
    row["alone_idle20ms_s_4ms"] = alone(g, SPINS["4ms"], n=8, idle_s=0.02)
    row["pair_first_s"], row["pair_second_s"] = pair(g)
    row["back_to_back_s"] = back_to_back_s(g)
    gap = row["alone_s_0.1ms"] - row["back_to_back_s"]
    row["gap_s"] = gap
    print(f"{label:44s} k={n_kernels:5d} cpu {row['cpu_replay_s']*1e6:8.1f} us | alone 0.1/1/4 ms "
          f"{row['alone_s_0.1ms']*1e3:7.3f} {row['alone_s_1ms']*1e3:7.3f} {row['alone_s_4ms']*1e3:7.3f} idle "
          f"{row['alone_idle20ms_s_4ms']*1e3:7.3f} | pair {row['pair_first_s']*1e3:7.3f} {row['pair_second_s']*1e3:7.3f} "
          f"| b2b {row['back_to_back_s']*1e3:7.3f} | gap {gap*1e6:7.1f} us ({gap/max(n_kernels,1)*1e9:6.1f} ns/kernel) "
          f"| topo {row['topology']}", flush=True)
    del g
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", default="llama-3.2-1b-MQA-CLA4:1:700,llama-3.2-1b-MQA-CLA4:100:700,"
                                        "phi-3-mini-shape-MHA-hd96:3:700,mistral-nemo-12b-shape-GQA4:1:700")
    ap.add_argument("--out-json", required=True)
    ap.add_argument("--git-sha", default="unknown")
    args = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    out = {"schema": "kvscope-gap-probe/1", "tool": f"harness/scripts/torch_gap_probe.py {VERSION}", "git_sha": args.git_sha,
           "torch": torch.__version__, "cuda": torch.version.cuda, "device": torch.cuda.get_device_name(0),
           "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "spins_cycles": SPINS, "graphs": []}
    one = torch.zeros(1, device=tb.DEV)
    tb.side_stream_warmup(lambda: one.add_(1.0), 1)
    out["graphs"].append(probe("control: 800 one-element adds", lambda: [one.add_(1.0) for _ in range(800)], 800))
    models = models_of("holdout2")
    first = True
    for p in args.points.split(","):
        label, B, S = p.split(":")
        B, S = int(B), int(S)
        m = models[label]
        W = tb.Weights(m)
        st = tb.Step(W, m, "FLASH_ATTENTION", B, S, 1, False)
        st.warmup()
        k = tb.count_kernels(st.run) or 0
        out["graphs"].append(probe(f"{label} decode B={B} S={S}", st.run, k))
        if first:  # the same step twice in one graph: per launch or per kernel?
            out["graphs"].append(probe(f"{label} decode B={B} S={S} x2 in one graph", lambda: (st.run(), st.run()), 2 * k))
            first = False
        del st, W
        torch.cuda.empty_cache()
    with open(args.out_json, "w") as f:
        json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
