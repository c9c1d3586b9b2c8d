"""docs/python.md's example, runnable: `PYTHONPATH=build/dev/python /usr/bin/python3 docs/python/example.py`.
Sweeps K/V heads x CLA factor for Llama-3-8B on an H100 at a 32k context, prints the table and draws
max batch and best tokens/s against KV bytes per token (docs/python/cla-sweep.png)."""
import kvscope
import pandas as pd

cols = kvscope.sweep(model="llama-3-8b", kv_heads=[1, 2, 4, 8, 32], cla=[1, 2, 3, 4], context=32768, batch=1,
                     gpu="h100-sxm", stack="torch-flash")
df = pd.DataFrame(cols)
view = df[["n_kv_heads", "cla_factor", "kv_bytes_per_token", "max_batch", "decode_step_s",
           "max_throughput_tokens_per_s", "ppl_delta"]]
print(view.sort_values("kv_bytes_per_token").to_string(index=False))

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    raise SystemExit("matplotlib not installed: the table above is the result")
fig, ax = plt.subplots(figsize=(7, 4))
for cla, g in df.groupby("cla_factor"):
    g = g.sort_values("kv_bytes_per_token")
    ax.plot(g.kv_bytes_per_token / 1024, g.max_throughput_tokens_per_s, marker="o", label=f"CLA{int(cla)}")
ax.set_xscale("log", base=2)
ax.set_xlabel("KV cache per token (KiB)")
ax.set_ylabel("best decode tokens/s (batch that fits)")
ax.set_title("Llama-3-8B on H100 SXM, 32k context, torch-flash")
ax.legend()
fig.tight_layout()
fig.savefig("docs/python/cla-sweep.png", dpi=110)
print("wrote docs/python/cla-sweep.png")
