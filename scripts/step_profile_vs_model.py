#!/usr/bin/env python3
"""Per-op comparison of a measured step profile with kvscope's prediction (diagnostic).

  scripts/step_profile_vs_model.py PROFILE.json VALIDATE.json

PROFILE.json: harness/scripts/torch_step_profile.py output (CUPTI kernel durations inside the
graph, in launch order). VALIDATE.json: `kvscope validate E2E.json --gpu G --stack S --format json`
on the end-to-end file measuring the same points (its rows carry `predicted_ops`). Kernels are
attributed to ops by name and launch order: consecutive GEMM kernels (cuBLAS nvjet / splitK
reduce) form one GEMM, 4 per layer (qkv, o, gate_up, down) and the LM head last; FlashAttention /
cuDNN kernels are attention; the rest are norms and elementwise ops. Printed per op: measured
kernel time / predicted time less its launch gaps (the model's `launch_s`), and the difference.
"""
import collections
import json
import re
import sys


def op_class(name):
    if re.search(r"flash|fmha|cudnn", name):
        return "attention"
    if re.search(r"nvjet|gemm|splitKreduce|sm90_xmma|cublas", name, re.I):
        return "gemm"
    return "norms_elementwise"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    prof = json.load(open(sys.argv[1]))
    pred = {r["point"]: r for r in json.load(open(sys.argv[2]))["rows"]}
    names = prof.get("kernel_names")
    ops = ["qkv_proj", "o_proj", "mlp", "lm_head", "attention", "norms_elementwise"]
    for s in prof["steps"]:
        label = f"{s['model']} {s['kind']} B={s['batch']} {'S' if s['kind'] == 'decode' else 'P'}={s['context']}"
        if label not in pred:
            print(f"{label}: no prediction in {sys.argv[2]}")
            continue
        seq = [(names[k[0]], k[1]) if names else (k["kernel"], k["time_s"]) for k in s["sequence"]]
        meas, gemms, prev = collections.Counter(), [], None
        for name, t in seq:
            c = op_class(name)
            if c == "gemm":
                if prev != "gemm":
                    gemms.append(0.0)
                gemms[-1] += t
            else:
                meas[c] += t
            prev = c
        L = s["shape"]["L"]
        if len(gemms) != 4 * L + 1:
            print(f"{label}: {len(gemms)} GEMMs, expected {4 * L + 1}: not attributed")
            continue
        for i, op in enumerate(["qkv_proj", "o_proj", "mlp", "mlp"]):
            meas[op] += sum(gemms[4 * layer + i] for layer in range(L))
        meas["lm_head"] += gemms[-1]
        p = pred[label]["predicted_ops"]
        print(f"{label}: e2e {pred[label]['measured_s'] * 1e3:.3f} ms, predicted {pred[label]['predicted_s'] * 1e3:.3f} ms; "
              f"profiled wall {s['wall_s'] * 1e3:.3f} ms = kernels {s['kernel_sum_s'] * 1e3:.3f} + gaps")
        cells = []
        for op in ops:
            q = p.get(op, {})
            pk = q.get("time_s", 0) - q.get("launch_s", 0)
            cells.append(f"{op} {meas[op] * 1e3:.3f}/{pk * 1e3:.3f} ms ({(pk / meas[op] - 1) * 100 if meas[op] else 0:+.1f} %)")
        print("    " + "; ".join(cells))


if __name__ == "__main__":
    main()
