#!/usr/bin/env python3
"""Headline numbers of kvbench result files, as a markdown table (for data/calibration/README.md).

Every number is read or computed (ratios, medians over named subsets) from the given files; nothing else.
Usage: summarize_results.py LABEL=DIR [LABEL=DIR ...]   (DIR holds kvbench-full-*.json and sdpa-full-*.json)
"""
import glob
import json
import os
import statistics
import sys


def load(d, pat):
    f = sorted(glob.glob(os.path.join(d, pat)))
    if not f:
        sys.exit(f"no {pat} in {d}")
    return f[-1], json.load(open(f[-1]))


def med(v):
    return statistics.median(v) if v else float("nan")


def rows_for(d):
    kf, k = load(d, "kvbench-full-*.json")
    sf, s = load(d, "sdpa-full-*.json")
    kb, sb = os.path.basename(kf), os.path.basename(sf)
    B = k["benchmarks"]
    c = k["ceilings"]
    out = []
    add = lambda name, val, src: out.append((name, val, src))
    add("GPU", k["device"]["name"], f"{kb}: device.name")
    add("driver peak (2 x mem clock x bus)", f"{k['device']['driver_peak_bandwidth_Bps']/1e9:.0f} GB/s", f"{kb}: device.driver_peak_bandwidth_Bps")
    add("HBM copy ceiling", f"{c['hbm_copy_Bps']/1e9:.0f} GB/s", f"{kb}: ceilings.hbm_copy_Bps")
    add("HBM read ceiling", f"{c['hbm_read_Bps']/1e9:.0f} GB/s", f"{kb}: ceilings.hbm_read_Bps")
    add("L2 read plateau", f"{c['l2_read_Bps']/1e9:.0f} GB/s", f"{kb}: ceilings.l2_read_Bps")
    l2 = k["device"]["l2_cache_B"]
    for kern in ("write", "triad"):
        v = [b["achieved_Bps"] for b in B if b["family"] == "memory" and b["axes"]["kernel"] == kern and b["axes"]["footprint_B"] >= 8 * l2]
        add(f"HBM {kern} plateau (median, footprint >= 8 x L2)", f"{med(v)/1e9:.0f} GB/s", f"{kb}: memory, kernel={kern}")

    def attn(dtype, lo, hi):
        return [b for b in B if b["family"] == "attention" and b["axes"]["variant"] == "full" and b["axes"]["kv_dtype"] == dtype
                and lo <= b["kv_bytes_B"] <= hi]
    for dtype in ("bf16", "fp8"):
        v = [b["fraction_of_copy_ceiling"] for b in attn(dtype, 0.9e9, 2.2e9)]
        r = [b["fraction_of_read_ceiling"] for b in attn(dtype, 0.9e9, 2.2e9)]
        add(f"decode attention {dtype}, 0.9-2.2 GB KV per launch: achieved / copy ceiling (median, min-max, n)",
            f"{med(v):.3f} ({min(v):.3f}-{max(v):.3f}, n={len(v)}); / read ceiling {med(r):.3f}",
            f"{kb}: attention, variant=full, kv_dtype={dtype}, kv_bytes_B in [0.9e9, 2.2e9]")
    one = [b for b in B if b["family"] == "attention" and b["axes"] == {**b["axes"], "batch": 16, "kv_len": 32768, "n_kv_heads": 8,
                                                                         "group_size": 4, "head_dim": 128, "variant": "full"}]
    for b in one:
        add(f"decode attention B=16 S=32768 Hkv=8 g=4 d=128 {b['axes']['kv_dtype']} ({b['kv_bytes_B']/1e9:.2f} GB)",
            f"{b['median_s']*1e6:.1f} us, {b['achieved_Bps']/1e9:.0f} GB/s = {b['fraction_of_copy_ceiling']:.3f} x copy ceiling",
            f"{kb}: that attention point")
    ro = [b for b in B if b["family"] == "attention" and b["axes"]["variant"] == "kv_read_only" and b["kv_bytes_B"] >= 0.9e9]
    if ro:
        add("KV-read-only variant, >= 0.9 GB: achieved / copy ceiling (median)", f"{med([b['fraction_of_copy_ceiling'] for b in ro]):.3f} (n={len(ro)})",
            f"{kb}: attention, variant=kv_read_only")
    for M in (1, 32, 128):
        g = [b["achieved_Bps"] / c["hbm_read_Bps"] for b in B if b["family"] == "gemm" and b["axes"]["M"] == M]
        add(f"cuBLAS GEMM M={M}: achieved bytes/s / HBM read ceiling (median over {len(g)} weight shapes, min-max)",
            f"{med(g):.3f} ({min(g):.3f}-{max(g):.3f})", f"{kb}: gemm, M={M}")
    for mode in ("graph", "stream", "host_cpu"):
        v = [b["median_s"] / b["axes"]["kernels"] for b in B if b["family"] == "launch" and b["axes"]["mode"] == mode]
        n = [b["axes"]["kernels"] for b in B if b["family"] == "launch" and b["axes"]["mode"] == mode]
        add(f"launch cost per kernel, {mode} (empty kernel; N={'/'.join(map(str, n))})", " / ".join(f"{x*1e6:.2f} us" for x in v),
            f"{kb}: launch, mode={mode}, median_s / kernels")
    cmp = s["comparison"]["kv_ge_1GB"]
    add("kvbench kernel vs PyTorch SDPA, KV >= 1 GB: speedup = t_SDPA / t_kvbench (median, min-max; kvbench faster in)",
        f"{cmp['median']:.3f} ({cmp['min']:.3f}-{cmp['max']:.3f}); {cmp['kvbench_faster_count']}/{cmp['count']}",
        f"{sb}: comparison.kv_ge_1GB")
    allp = s["comparison"]["all_points"]
    add("same, all shapes", f"{allp['median']:.3f} ({allp['min']:.3f}-{allp['max']:.3f}); {allp['kvbench_faster_count']}/{allp['count']}",
        f"{sb}: comparison.all_points")
    backends = sorted({b["axes"]["backend"] for b in s["benchmarks"]})
    add("SDPA backend used", ", ".join(backends), f"{sb}: benchmarks[].axes.backend")
    cr = {(b["axes"]["kv_bytes"], b["axes"]["intervening_B"], b["axes"]["read"]): b["median_s"] for b in B if b["family"] == "cla_reuse"}
    for kvb, w in ((32 * 2**20, 0), (32 * 2**20, 128 * 2**20), (256 * 2**20, 0)):
        if (kvb, w, "first") in cr:
            add(f"CLA reuse, KV {kvb/2**20:.0f} MiB, W {w/2**20:.0f} MiB: second / first read time",
                f"{cr[(kvb, w, 'second')]/cr[(kvb, w, 'first')]:.3f}", f"{kb}: cla_reuse, kv_bytes={kvb}, intervening_B={w}")
    for lab, bb, ctx in (("llama-3-8b-GQA8-CLA1", 1, 2048), ("llama-3-8b-GQA8-CLA2", 32, 8192), ("llama-3.2-1b-GQA8-CLA1", 8, 2048)):
        v = [b for b in B if b["family"] == "decode_step" and b["axes"]["model_label"] == lab and b["axes"]["batch"] == bb
             and b["axes"]["context"] == ctx]
        for b in v:
            add(f"decode step {lab} B={bb} context={ctx} (one CUDA graph)",
                f"{b['median_s']*1e3:.3f} ms, {b['axes']['kernels_per_step']} kernels ({b['achieved_Bps']/1e9:.0f} GB/s of formula bytes)",
                f"{kb}: decode_step, that point")
    ds = [b for b in B if b["family"] in ("decode_step", "prefill")]
    add("end-to-end points measured / skipped (do not fit)", f"{len(ds)} / {len([x for x in k['skipped'] if x['family'] in ('decode_step', 'prefill')])}",
        f"{kb}: benchmarks, skipped")
    add("checks / benchmark verification failures; throttled samples dropped",
        f"{k['run']['check_failures']} / {k['run']['benchmark_check_failures']}; {sum(b['discarded_throttled_count'] for b in B)}",
        f"{kb}: run.check_failures, run.benchmark_check_failures, discarded_throttled_count")
    return out


def main():
    cols = []
    for arg in sys.argv[1:]:
        label, d = arg.split("=", 1)
        cols.append((label, d, rows_for(d)))
    names = [r[0] for r in cols[0][2]]
    print("| quantity | " + " | ".join(c[0] for c in cols) + " | source (file: selector) |")
    print("|---|" + "---|" * len(cols) + "---|")
    for i, n in enumerate(names):
        vals = []
        for c in cols:
            m = [r for r in c[2] if r[0] == n]
            vals.append(m[0][1] if m else "n/a")
        src = "; ".join(sorted({r[2] for c in cols for r in c[2] if r[0] == n}))
        print(f"| {n} | " + " | ".join(vals) + f" | {src} |")


if __name__ == "__main__":
    main()
