"""PyTorch as the benches' peer (bench/layer.ts, bench/matvec.ts), run as a user would.

Three modes, each writing one JSON object on stdout:

  recipe_torch.py            PAPER.md's recipe. Reads on stdin
      {"n": int, "pFile": path of P as raw little-endian float64 (row-major n*n),
       "q": [...], "w": [...], "t": float, "L": float, "beta0": float,
       "c": [...] (the cotangent), "ks": [K, ...], "reps": int}
    and writes {"config": {...}, "runs": [{"K", "fwdMs", "bwdMs", "fwdMinMs", "bwdMinMs",
    "reps", "x", "gradQ"}, ...]}: for each K, warm-up runs (at least 2 and at least 0.5 s),
    then the median (and the fastest) of `reps` timed runs of K iterations (forward with
    autograd recording; backward = autograd through the unrolled loop to q).
  recipe_torch.py --matvec   Dense products. Reads {"cells": [{"n": int, "B": int}, ...],
    "seconds": float} and writes {"config": {...}, "rows": [{"n", "B", "ms", "minMs",
    "reps"}, ...]}: P @ x for B = 0 (one vector), X @ P.T for B >= 1 (B vectors), float64,
    P and X normal(0, 1) from a fixed seed; warm-up, then the median of about `seconds`.
  recipe_torch.py --config   Only {"config": {...}}.

The config says what ran: torch and Python versions, torch.get_num_threads() and
get_num_interop_threads(), the BLAS/LAPACK lines of torch.__config__.show(), the BLAS
libraries actually mapped into the process (/proc/self/maps: Debian's torch links the
libblas.so.3 alternative, which may be the reference BLAS, OpenBLAS or BLIS), and every
OPENBLAS_*/OMP_*/MKL_*/GOTO_*/BLIS_* environment variable.

Threads are pinned: torch.set_num_threads(DFW_PEER_THREADS, default 1). That call does
not reach an OpenBLAS that torch was not built against (measured: Debian's torch with
OpenBLAS as libblas.so.3 runs its products on 2 threads after set_num_threads(1)), so the
caller also sets OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and MKL_NUM_THREADS
(bench/peers/config.ts), and the config shows what the process saw.

The recipe, as PAPER.md states it: x0 = 0; L given (the bench passes the layer's power
iteration value, so both run the same iterates); beta = beta0 * 2^floor(i/30) at
iteration i = 1..K; one iteration:
  g = P x + q;  gh = g * t / w;  z = beta|gh| - max(beta|gh|);  e = softmax(z)
  s = -(t/w) * sign(gh) * e;  d = x - s;  gamma = clamp(g.d / (L |d|^2), 0, 1);  x = x - gamma d
Float64, CPU. The relative-change stop is off (tolerance 0): exactly K steps.
"""
import json
import os
import platform
import sys
import time

import numpy as np
import torch

THREADS = int(os.environ.get("DFW_PEER_THREADS", "1"))
torch.set_num_threads(THREADS)
torch.set_default_dtype(torch.float64)

ENV_PREFIXES = ("OPENBLAS_", "OMP_", "MKL_", "GOTO", "BLIS_")


def config():
    show = torch.__config__.show()
    blas_lines = []
    for line in show.splitlines():
        for part in line.split(","):
            p = part.strip().lstrip("- ").replace("Build settings:", "").strip()
            if ("BLAS" in p or "LAPACK" in p) and len(p) < 200:
                blas_lines.append(p)
    # make sure the BLAS is loaded, then read which libraries are mapped
    a = torch.ones(4, 4)
    (a @ a).sum().item()
    mapped = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                base = os.path.basename(path).lower()
                if any(k in base for k in ("blas", "lapack", "mkl", "blis", "gomp", "iomp")):
                    mapped.add(os.path.realpath(path))
    except OSError:
        pass
    return {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "interopThreads": torch.get_num_interop_threads(),
        "pinnedThreads": THREADS,
        "blas": blas_lines,
        "mapped": sorted(mapped),
        "env": {k: v for k, v in sorted(os.environ.items()) if k.startswith(ENV_PREFIXES)},
    }


def recipe(P, q, w, t, L, beta0, K):
    x = torch.zeros_like(q)
    tw = t / w
    for i in range(1, K + 1):
        beta = beta0 * 2.0 ** (i // 30)
        g = P @ x + q
        gh = g * tw
        a = beta * gh.abs()
        e = torch.softmax(a - a.max(), dim=0)
        s = -tw * torch.sign(gh) * e
        d = x - s
        gamma = torch.clamp(g.dot(d) / (L * d.dot(d)), 0.0, 1.0)
        x = x - gamma * d
    return x


def run_recipe(spec):
    n = spec["n"]
    P = torch.from_numpy(np.fromfile(spec["pFile"], dtype="<f8").reshape(n, n).copy())
    q0 = torch.tensor(spec["q"], dtype=torch.float64)
    w = torch.tensor(spec["w"], dtype=torch.float64)
    c = torch.tensor(spec["c"], dtype=torch.float64)
    t, L, beta0 = float(spec["t"]), float(spec["L"]), float(spec.get("beta0", 1.0))
    reps = int(spec.get("reps", 5))
    runs = []
    for K in spec["ks"]:
        def once():
            q = q0.clone().requires_grad_(True)
            t0 = time.perf_counter()
            x = recipe(P, q, w, t, L, beta0, K)
            t1 = time.perf_counter()
            (c @ x).backward()
            t2 = time.perf_counter()
            return (t1 - t0) * 1e3, (t2 - t1) * 1e3, x, q

        # warm-up: at least two runs and at least half a second
        w0, k = time.perf_counter(), 0
        while k < 2 or time.perf_counter() - w0 < 0.5:
            once()
            k += 1
        fw, bw = [], []
        for _ in range(reps):
            f, b, x, q = once()
            fw.append(f)
            bw.append(b)
        runs.append({
            "K": K,
            "fwdMs": float(np.median(fw)),
            "bwdMs": float(np.median(bw)),
            "fwdMinMs": float(np.min(fw)),
            "bwdMinMs": float(np.min(bw)),
            "reps": reps,
            "x": x.detach().tolist(),
            "gradQ": q.grad.tolist(),
        })
    return {"config": config(), "runs": runs}


def run_matvec(spec):
    seconds = float(spec.get("seconds", 0.2))
    gen = torch.Generator().manual_seed(1)
    rows = []
    for cell in spec["cells"]:
        n, B = int(cell["n"]), int(cell["B"])
        P = torch.randn(n, n, generator=gen)
        X = torch.randn(n, generator=gen) if B == 0 else torch.randn(B, n, generator=gen)
        f = (lambda: P @ X) if B == 0 else (lambda: X @ P.T)
        # warm-up: a tenth of the budget, at least 3 calls; then batches of about 1 ms
        w0, k = time.perf_counter(), 0
        while k < 3 or time.perf_counter() - w0 < seconds / 10:
            f()
            k += 1
        per = (time.perf_counter() - w0) / k
        batch = max(1, int(round(1e-3 / max(per, 1e-9))))
        ts, t0 = [], time.perf_counter()
        while len(ts) < 7 or time.perf_counter() - t0 < seconds:
            s = time.perf_counter()
            for _ in range(batch):
                f()
            ts.append((time.perf_counter() - s) / batch * 1e3)
        rows.append({"n": n, "B": B, "ms": float(np.median(ts)), "minMs": float(np.min(ts)), "reps": len(ts) * batch})
    return {"config": config(), "rows": rows}


def main():
    if "--config" in sys.argv:
        out = {"config": config()}
    elif "--matvec" in sys.argv:
        out = run_matvec(json.load(sys.stdin))
    else:
        out = run_recipe(json.load(sys.stdin))
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
