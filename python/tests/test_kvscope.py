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


# ---- simulate(): serving under load, the record of `kvscope simulate --format json` -------------

@pytest.mark.parametrize("kwargs, flags", [
    (dict(rate=4, isl="lognormal:2000,1000", osl=256, requests=300, seed=3),
     ["--rate", "4", "--isl", "lognormal:2000,1000", "--osl", "256", "--requests", "300", "--seed", "3"]),
    (dict(concurrency=16, isl="uniform:512..4096", osl=128, requests=200, kv_heads=2, cla=2, gpu="h200"),
     ["--concurrency", "16", "--isl", "uniform:512..4096", "--osl", "128", "--requests", "200", "--kv-heads", "2", "--cla", "2",
      "--gpu", "h200"]),
    (dict(isl="4k", osl=128, requests=200, ttft_slo_ms=1000, tpot_slo_ms=40),  # goodput search
     ["--isl", "4k", "--osl", "128", "--requests", "200", "--ttft-slo-ms", "1000", "--tpot-slo-ms", "40"]),
    (dict(rate=2.5, requests=100, ttft_slo_ms=500, slo_percentile=99, stack="kvbench", max_num_seqs=64),  # meets_slo
     ["--rate", "2.5", "--requests", "100", "--ttft-slo-ms", "500", "--slo-percentile", "99", "--stack", "kvbench",
      "--max-num-seqs", "64"]),
    (dict(model="llama-3-70b", isl=2048, requests=50, ttft_slo_ms=1000),  # no pool: goodput 0 with the reason
     ["--model", "llama-3-70b", "--isl", "2048", "--requests", "50", "--ttft-slo-ms", "1000"]),
])
def test_simulate_equals_the_cli(kwargs, flags):
    py = kvscope.simulate(**kwargs)
    cli = cli_json("simulate", *flags)
    assert cli.pop("provenance")["tool"] == "kvscope"
    assert list(py) == list(cli)  # the same keys in the same order
    assert py == cli  # and the same values (shortest round-trip doubles both ways)


def test_simulate_trace_and_goodput_field(tmp_path):
    trace = tmp_path / "trace.csv"
    trace.write_text("arrival_s,input_tokens,output_tokens\n0,1000,50\n0.5,3000,20\n0.7,200,400\n")
    py = kvscope.simulate(trace=str(trace))
    assert py == {k: v for k, v in cli_json("simulate", "--trace", str(trace)).items() if k != "provenance"}
    assert py["load"] == {"mode": "trace", "trace": str(trace), "requests": 3}
    assert py["completed_requests"] == 3
    # goodput_rps of a sweep is simulate()'s goodput of each design.
    load = dict(isl=4096, osl=128, requests=200, ttft_slo_ms=1000, tpot_slo_ms=40)
    cols = kvscope.sweep(kv_heads=[1, 8], cla=[1, 2], **load)
    for kv, cla, g in zip(cols["n_kv_heads"], cols["cla_factor"], cols["goodput_rps"]):
        assert g == kvscope.simulate(kv_heads=int(kv), cla=int(cla), **load)["goodput_rps"]
    assert all(math.isnan(g) for g in kvscope.sweep(kv_heads=[1, 8])["goodput_rps"])  # no target, no search


@pytest.mark.parametrize("kwargs, message", [
    (dict(rate=0), "python: 'rate': expected a request rate > 0 \\(requests/s\\), found 0"),
    (dict(rate=True), "'rate': expected a request rate > 0"),
    (dict(concurrency=2.5), "'concurrency': expected a whole number of clients >= 1, found 2.5"),
    (dict(trace=3), "'trace': expected a file name"),
    (dict(), "expected exactly one of --rate, --concurrency, --trace, found none"),
    (dict(rate=1, concurrency=4), "found 2 of them"),
    (dict(rate=1, batch=8), "python: 'batch': expected no value in `kvscope simulate`"),
    (dict(rate=1, isl="uniform:9..3"), "--isl: expected uniform:A..B with A <= B, found 'uniform:9..3'"),
    (dict(ttft_slo_ms=-1), "--ttft-slo-ms: expected a number in 0..1e\\+09, found '-1'"),
    (dict(ttft_slo_ms=100, slo_percentile=0), "'slo_percentile': expected a percentile in \\(0, 100\\], found 0"),
    (dict(rate=1, no_such=1), "unknown keyword 'no_such'"),
])
def test_simulate_errors_are_input_errors(kwargs, message):
    with pytest.raises(kvscope.InputError, match=message):
        kvscope.simulate(**kwargs)
