"""PyTorch's batched recipe as the peer of bench/batch.ts: PAPER.md's steps on (B, n)
tensors, one P shared by the batch, float64, threads pinned (bench/peers/config.ts),
autograd through the K steps, as a user would write a training step.

  batch_torch.py            Reads on stdin
      {"cells": [{"B": int, "n": int, "K": int, "pFile": path of P (raw little-endian
        float64, row-major n*n), "qFile": path of Q (B*n), "wFile": path of W (B*n),
        "tFile": path of t (B), "L": float, "beta0": float}, ...],
       "seconds": float (the timing budget per cell), "check": bool}
    and writes {"config": {...}, "rows": [{"B", "n", "K", "ms", "minMs", "fwdMs", "reps",
    "x"?: [...], "gradQ"?: [...]}, ...]}: for each cell, warm-up calls (at least 3 and a
    tenth of the budget), then the median (and the fastest) of timed training steps over
    about `seconds`: the forward through the K steps with autograd recording, then
    (x.sum()).backward() to Q. With "check", x and the gradient of the last call (flattened)
    for comparing with the layer.
  batch_torch.py --config   Only {"config": {...}} (see recipe_torch.py).

One step, for g = X Pᵀ + Q (B × n), with tw = t / W (t per instance, broadcast):
  gh = g * tw;  a = beta |gh|;  e = softmax(a − max_j a, dim=1);  s = −tw * sign(gh) * e
  d = X − s;  gamma = clamp(Σ_j g d / (L Σ_j d²), 0, 1) per row;  X = X − gamma d
with X₀ = 0 and beta = beta0 · 2^floor(i/30) at step i = 1..K (the paper's schedule); no
early stop (exactly K steps, as the layer runs with tolerance 0).
"""
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from recipe_torch import config  # noqa: E402  (pins the threads on import)

torch.set_default_dtype(torch.float64)


def recipe(P, Q, W, T, L, beta0, K):
    x = torch.zeros_like(Q)
    tw = T[:, None] / W
    PT = P.T
    for i in range(1, K + 1):
        beta = beta0 * 2.0 ** (i // 30)
        g = x @ PT + Q
        gh = g * tw
        a = beta * gh.abs()
        e = torch.softmax(a - a.max(dim=1, keepdim=True).values, dim=1)
        s = -tw * torch.sign(gh) * e
        d = x - s
        gamma = torch.clamp((g * d).sum(dim=1, keepdim=True) / (L * (d * d).sum(dim=1, keepdim=True)), 0.0, 1.0)
        x = x - gamma * d
    return x


def load(path, shape):
    return torch.from_numpy(np.fromfile(path, dtype="<f8").reshape(shape).copy())


def run_cells(spec):
    seconds = float(spec.get("seconds", 1.0))
    check = bool(spec.get("check", False))
    rows = []
    for cell in spec["cells"]:
        B, n, K = int(cell["B"]), int(cell["n"]), int(cell["K"])
        P = load(cell["pFile"], (n, n))
        Q0 = load(cell["qFile"], (B, n))
        W = load(cell["wFile"], (B, n))
        T = load(cell["tFile"], (B,))
        L, beta0 = float(cell["L"]), float(cell.get("beta0", 1.0))

        def once():
            Q = Q0.clone().requires_grad_(True)
            t0 = time.perf_counter()
            x = recipe(P, Q, W, T, L, beta0, K)
            t1 = time.perf_counter()
            x.sum().backward()
            t2 = time.perf_counter()
            return (t2 - t0) * 1e3, (t1 - t0) * 1e3, x, Q

        w0, k = time.perf_counter(), 0
        while k < 3 or time.perf_counter() - w0 < seconds / 10:
            once()
            k += 1
        ts, fs, t0 = [], [], time.perf_counter()
        last = None
        while len(ts) < 5 or time.perf_counter() - t0 < seconds:
            ms, fms, x, Q = once()
            ts.append(ms)
            fs.append(fms)
            last = (x, Q)
        row = {"B": B, "n": n, "K": K, "ms": float(np.median(ts)), "minMs": float(np.min(ts)), "fwdMs": float(np.median(fs)), "reps": len(ts)}
        if check:
            row["x"] = last[0].detach().reshape(-1).tolist()
            row["gradQ"] = last[1].grad.reshape(-1).tolist()
        rows.append(row)
    return {"config": config(), "rows": rows}


def main():
    if "--config" in sys.argv:
        out = {"config": config()}
    else:
        out = run_cells(json.load(sys.stdin))
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
