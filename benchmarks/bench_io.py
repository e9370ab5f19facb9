"""Save/load throughput of weightwise.io against the raw limits and PyTorch, with peak memory.

Run: ``python benchmarks/bench_io.py [--size-mib 512] [--repeat 5] [--only save,load]``. Each case
runs in a fresh subprocess so that its peak resident memory (ru_maxrss) is its own; the cases take
turns, repeat by repeat, so that a busy machine slows all of them alike. Prints medians and the
ratio to the raw limit of the same run ("vs raw": above 1 is faster than raw), then the same
for the best run of each case (less sensitive to a busy machine).

"raw write+fsync, early writeback" is the raw write done the way ``weightwise.save`` does it on
Linux (1 MiB writes, writeback started every 8 MiB): the honest limit for the save.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

CASE = r"""
import json, os, resource, sys, time
import numpy as np
case, path, mib = sys.argv[1], sys.argv[2], int(sys.argv[3])
n = mib << 20
n_tensors = 16
def params():
    return {f"layer{i}.weight": np.ones(n // 4 // n_tensors, np.float32) for i in range(n_tensors)}
base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if "save" in case or "write" in case:
    data = params()
    # Start every save from a fresh file with the old one's blocks freed (and, on file systems
    # mounted with discard, trimmed): otherwise that cost lands in whichever fsync comes next.
    if os.path.exists(path):
        os.unlink(path)
    os.sync()
if "weightwise" in case or "early" in case:
    import weightwise.io as wio  # imports are not part of the measurement
t0 = time.perf_counter()
if case == "raw write+fsync":
    with open(path, "wb") as f:
        for a in data.values():
            f.write(memoryview(a).cast("B"))
        f.flush(); os.fsync(f.fileno())
elif case == "raw write+fsync, early writeback":
    from weightwise.io.safetensors import _writeback_starter
    with open(path, "wb") as f:
        kick, pos = _writeback_starter(f), 0
        for a in data.values():
            b = memoryview(a).cast("B")
            for i in range(0, len(b), 1 << 20):
                pos += f.write(b[i:i + (1 << 20)])
                if kick and pos % (8 << 20) == 0:
                    f.flush(); kick(pos - (8 << 20), 8 << 20)
        f.flush(); os.fsync(f.fileno())
elif case == "raw read":
    buf = np.empty(os.path.getsize(path), np.uint8)
    with open(path, "rb") as f:
        f.readinto(memoryview(buf))
elif case == "weightwise save":
    wio.save(data, path)
elif case == "weightwise save sha256":
    wio.safetensors.save_file(data, path, {"format": "pt"}, hash_algo="sha256")
elif case == "weightwise load":
    out = wio.load(path)
elif case == "weightwise load verify=False":
    out = wio.load(path, verify=False)
elif case == "weightwise load mmap (open)":
    out = wio.load(path, mmap=True, verify=False)
elif case == "weightwise save .pt":
    wio.save(data, path, format="torch")
elif case == "weightwise load .pt":
    out = wio.load(path)
elif case == "safetensors.numpy load":
    import safetensors.numpy as sn
    out = sn.load_file(path)
elif case == "safetensors.torch save":
    import torch, safetensors.torch as stt
    td = {k: torch.from_numpy(v) for k, v in data.items()}
    t0 = time.perf_counter(); stt.save_file(td, path)
elif case == "safetensors.torch load":
    import torch, safetensors.torch as stt
    t0 = time.perf_counter(); out = stt.load_file(path)
elif case == "torch.save":
    import torch
    td = {k: torch.from_numpy(v) for k, v in data.items()}
    t0 = time.perf_counter(); torch.save(td, path)
elif case == "torch.load":
    import torch
    t0 = time.perf_counter(); out = torch.load(path, weights_only=True)
dt = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"s": dt, "rss_mib": rss / 1024, "base_mib": base_rss / 1024}))
"""

# (case, file it writes or reads)
CASES = [
    ("raw write+fsync", "raw"), ("raw read", "raw"),
    ("raw write+fsync, early writeback", "raw2"), ("weightwise save sha256", "st3"),
    ("weightwise save", "st"), ("weightwise load", "st"), ("weightwise load verify=False", "st"),
    ("weightwise load mmap (open)", "st"), ("safetensors.numpy load", "st"),
    ("safetensors.torch save", "st2"), ("safetensors.torch load", "st2"),
    ("weightwise save .pt", "pt"), ("weightwise load .pt", "pt"),
    ("torch.save", "pt2"), ("torch.load", "pt2"),
]


def run(case: str, path: str, mib: int) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", CASE, case, path, str(mib)], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size-mib", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--only", default="", help="comma-separated substrings: run only matching cases "
                    "(the raw baselines always run)")
    args = ap.parse_args()
    mib = args.size_mib
    keys = [k for k in args.only.split(",") if k]
    cases = [(c, f) for c, f in CASES if c in ("raw write+fsync", "raw read") or not keys or any(k in c for k in keys)]
    with tempfile.TemporaryDirectory(dir=".") as d:
        results: dict[str, list[dict[str, float]]] = {}
        for _ in range(args.repeat):
            for case, file in cases:
                results.setdefault(case, []).append(run(case, os.path.join(d, file), mib))
    med = {c: statistics.median(r["s"] for r in rs) for c, rs in results.items()}
    ref = {"save": med["raw write+fsync"], "load": med["raw read"]}
    best = {c: min(r["s"] for r in rs) for c, rs in results.items()}
    ref_best = {"save": best["raw write+fsync"], "load": best["raw read"]}
    print(f"{mib} MiB of float32 parameters, median of {args.repeat} (and best); peak RSS above "
          "interpreter start")
    print(f"{'case':34} {'time s':>8} {'MiB/s':>8} {'vs raw':>7} {'best':>6} {'vs raw':>7} {'peak MiB':>9}")
    for case, _ in cases:
        kind = "save" if ("save" in case or "write" in case) else "load"
        rss = max(r["rss_mib"] - r["base_mib"] for r in results[case])
        t, b = med[case], best[case]
        print(f"{case:34} {t:8.3f} {mib / t:8.0f} {ref[kind] / t:6.2f}x {b:6.3f} {ref_best[kind] / b:6.2f}x {rss:9.0f}")


if __name__ == "__main__":
    main()
