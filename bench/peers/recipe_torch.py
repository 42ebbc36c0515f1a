"""PAPER.md's recipe in PyTorch: a peer for `npm run bench` (bench/layer.ts).

Reads one JSON object on stdin:
  {"n": int, "pFile": path of P as raw little-endian float64 (row-major n*n),
   "q": [...], "w": [...], "t": float, "L": float, "beta0": float,
   "c": [...] (the cotangent), "ks": [K, ...], "reps": int}
and writes one JSON object on stdout:
  {"torch": version, "threads": 1, "runs": [{"K", "fwdMs", "bwdMs", "x", "gradQ"}, ...]}
with fwdMs / bwdMs the median over `reps` of the time for K iterations (forward with
autograd recording; backward = autograd through the unrolled loop to q).

The recipe, as PAPER.md states it: x0 = 0; L given (the bench passes the layer's power
iteration value, so both run the same iterates); beta = beta0 * 2^floor(i/30) at
iteration i = 1..K; one iteration:
  g = P x + q;  gh = g * t / w;  z = beta|gh| - max(beta|gh|);  e = softmax(z)
  s = -(t/w) * sign(gh) * e;  d = x - s;  gamma = clamp(g.d / (L |d|^2), 0, 1);  x = x - gamma d
Float64, CPU, one thread. The relative-change stop is off (tolerance 0): exactly K steps.
"""
import json
import sys
import time

import numpy as np
import torch

torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)


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


def main():
    spec = json.load(sys.stdin)
    n = spec["n"]
    P = torch.from_numpy(np.fromfile(spec["pFile"], dtype="<f8").reshape(n, n).copy())
    q0 = torch.tensor(spec["q"], dtype=torch.float64)
    w = torch.tensor(spec["w"], dtype=torch.float64)
    c = torch.tensor(spec["c"], dtype=torch.float64)
    t, L, beta0 = float(spec["t"]), float(spec["L"]), float(spec.get("beta0", 1.0))
    reps = int(spec.get("reps", 5))
    runs = []
    for K in spec["ks"]:
        # warm-up
        q = q0.clone().requires_grad_(True)
        (c @ recipe(P, q, w, t, L, beta0, K)).backward()
        fw, bw = [], []
        for _ in range(reps):
            q = q0.clone().requires_grad_(True)
            t0 = time.perf_counter()
            x = recipe(P, q, w, t, L, beta0, K)
            t1 = time.perf_counter()
            (c @ x).backward()
            t2 = time.perf_counter()
            fw.append((t1 - t0) * 1e3)
            bw.append((t2 - t1) * 1e3)
        runs.append({
            "K": K,
            "fwdMs": float(np.median(fw)),
            "bwdMs": float(np.median(bw)),
            "x": x.detach().tolist(),
            "gradQ": q.grad.tolist(),
        })
    json.dump({"torch": torch.__version__, "threads": torch.get_num_threads(), "runs": runs}, sys.stdout)


if __name__ == "__main__":
    main()
