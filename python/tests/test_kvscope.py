"""The Python module against the CLI: the same numbers for the same design, sweeps as columns,
errors as kvscope.InputError (a ValueError) with the CLI's message."""
import json
import math
import os
import subprocess

import numpy as np
import pytest

import kvscope

CLI = os.environ.get("KVSCOPE_CLI", "kvscope")


def cli_json(*args):
    out = subprocess.run([CLI, *args, "--format", "json"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


@pytest.mark.parametrize("design, flags", [
    (dict(model="llama-3-8b", gpu="h100-sxm"), ["--model", "llama-3-8b", "--gpu", "h100-sxm"]),
    (dict(model="llama-3-8b", kv_heads=4, cla=2, gpu="h200", batch=64, context=32768),
     ["--model", "llama-3-8b", "--kv-heads", "4", "--cla", "2", "--gpu", "h200", "--batch", "64", "--context", "32768"]),
    (dict(model="llama-3.2-1b", stack="kvbench", gpu="h100-sxm", batch=8, prompt=4096, kv_dtype="fp8"),
     ["--model", "llama-3.2-1b", "--stack", "kvbench", "--gpu", "h100-sxm", "--batch", "8", "--prompt", "4096", "--kv-dtype", "fp8"]),
])
def test_evaluate_equals_the_cli(design, flags):
    py = kvscope.evaluate(**design)
    cli = cli_json("eval", *flags)
    compared = 0
    for f in kvscope.fields():
        if not f["kind"].startswith("output:"):
            continue
        name = f["name"]
        a, b = py[name], cli[name]
        if isinstance(b, bool):
            assert a == b, name
        elif b is None:  # NaN in JSON
            assert isinstance(a, float) and math.isnan(a), name
        else:
            assert a == b, name  # bit for bit: the CLI prints shortest round-trip doubles
        compared += 1
    assert compared > 30
    for key in ("model", "variant", "gpu", "stack", "kv_dtype", "weight_dtype", "val_ppl_kind", "ppl_delta_kind"):
        assert py[key] == cli[key], key


def test_llama3_8b_kv_bytes():
    r = kvscope.evaluate(model="llama-3-8b")
    assert r["kv_bytes_per_token"] == 131072
    assert r["param_count"] == pytest.approx(8.03e9, rel=1e-3)


def test_sweep_is_columns_and_becomes_a_dataframe():
    cols = kvscope.sweep(model="llama-3-8b", kv_heads=[1, 2, 4, 8], cla=[1, 2], batch="1,16", gpu="h100-sxm")
    n = len(cols["index"])
    assert n == 16
    assert all(len(v) == n for v in cols.values())
    assert isinstance(cols["kv_bytes_per_token"], np.ndarray) and cols["kv_bytes_per_token"].dtype == np.float64
    assert cols["feasible"].dtype == np.bool_
    # kv bytes per token = 2 * n_kv * 128 * 2 B * stored layers (32 / cla)
    want = 2 * cols["n_kv_heads"] * 128 * 2 * (32 / cols["cla_factor"])
    assert np.array_equal(cols["kv_bytes_per_token"], want)
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(cols)
    assert len(df) == 16 and "decode_step_s" in df.columns
    # One point of the sweep equals evaluate() of that point.
    row = df[(df.n_kv_heads == 4) & (df.cla_factor == 2) & (df.batch == 16)].iloc[0]
    one = kvscope.evaluate(model="llama-3-8b", kv_heads=4, cla=2, batch=16, gpu="h100-sxm")
    assert row.decode_step_s == one["decode_step_s"]
    assert row.max_batch == one["max_batch"]


def test_infeasible_rows_carry_their_reason():
    cols = kvscope.sweep(model="llama-3-8b", batch=[1, 100000], context=32768, gpu="h100-sxm")
    for feasible, reason in zip(cols["feasible"], cols["reason"]):
        assert bool(reason) != bool(feasible)


def test_pareto_frontier_and_constraints():
    front = kvscope.pareto(model="llama-3-8b", kv_heads=[1, 2, 4, 8], cla=[1, 2, 3], gpu="h100-sxm",
                           objectives="kv_bytes_per_token:min,ppl_delta:min")
    assert 1 <= len(front["index"]) <= 12
    kept = kvscope.sweep(model="llama-3-8b", kv_heads=[1, 2, 4, 8], gpu="h100-sxm", constraints=["n_kv_heads >= 4"])
    assert set(kept["n_kv_heads"]) == {4.0, 8.0}


@pytest.mark.parametrize("kwargs, message", [
    (dict(kv_heads=3), "expected a divisor of n_q_heads"),
    (dict(batch=0), "--batch"),
    (dict(no_such_field=1), "unknown keyword 'no_such_field'"),
    (dict(model="no-such-model"), "no-such-model"),
    (dict(batch=True), "found a bool"),
    (dict(context=float("nan")), "finite"),
    (dict(kv_heads=[]), "empty list"),
])
def test_errors_are_input_errors_with_the_message(kwargs, message):
    with pytest.raises(kvscope.InputError, match=message):
        kvscope.evaluate(**kwargs)
    assert issubclass(kvscope.InputError, ValueError)


def test_lists():
    assert any(m["id"] == "llama-3-8b" for m in kvscope.models())
    g = {x["id"]: x for x in kvscope.gpus()}
    assert g["h200"]["calibrated"] is True
    assert {s["id"] for s in kvscope.stacks()} >= {"kvbench", "torch-flash", "torch-cudnn"}
    fs = kvscope.fields()
    names = {f["name"] for f in fs}
    assert {"n_kv_heads", "cla_factor", "decode_step_s", "kv_bytes_per_token"} <= names
    kv = next(f for f in fs if f["name"] == "n_kv_heads" and f["kind"] == "design")
    assert "kv_heads" in kv["aliases"] and kv["flag"] == "--n-kv-heads" and kv["sweepable"]
    # The registry's name and an alias are the same keyword.
    assert kvscope.evaluate(n_kv_heads=4)["kv_bytes_per_token"] == kvscope.evaluate(kv_heads=4)["kv_bytes_per_token"] == 65536
