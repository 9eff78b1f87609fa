"""DataParallel scaling on this machine (1 and 2 MPI ranks), the Allreduce's share of a step,
and the scaling projected for 8, 32 and 128 ranks from those measurements.

    python bench/data_parallel.py [--rounds 3] [--shapes T,I,H,B ...]
                                  [--md bench/data_parallel_results.md]

Each shape (T, I, H, B: compare.py's training shapes and model, workloads.native_model, float32,
Adam, MSE) trains with B samples per rank per step (weak scaling: 2 ranks take 2B per step),
launched as `mpiexec -n R --oversubscribe python bench/data_parallel.py --worker ...`, R = 1 and
2 taking turns, the order flipped each round (alternation.round_order). A rank's kernels use the
node's cores divided by its ranks (DataParallel's default): 1 rank = 2 threads, 2 ranks = 1
thread each. Each run fits EPOCHS epochs of STEPS steps and keeps the median epoch after the
first (a callback times on_epoch_begin -> on_epoch_end); samples/s = R * B * STEPS / epoch time.
The gradient Allreduce is timed where fit calls it (a communicator whose Allreduce records the
time of gradient-sized calls: the transfer plus the wait for the slower rank), and alone (the
median of 200 Allreduces of that buffer after warm-up: the transfer alone).

Projection (stated as such, not measured): a ring Allreduce of S bytes over p ranks costs
2 (p - 1) alpha + 2 (p - 1) / p * S / beta (Patarasuk and Yuan 2009; NCCL and Open MPI's ring);
a step at p ranks = the measured one-rank-per-node step (compute at the same per-rank batch, one
node per rank) + that Allreduce, for two networks: 10 Gb/s Ethernet (alpha 25 us, beta 1.25 GB/s)
and 100 Gb/s InfiniBand (alpha 2 us, beta 12.5 GB/s). Throughput = p * B / step.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

EPOCHS, STEPS = 4, 40
SHAPES = ["10,1,50,32", "100,32,128,64", "50,128,512,64"]
NETWORKS = {"10 Gb/s Ethernet": (25e-6, 1.25e9), "100 Gb/s InfiniBand": (2e-6, 12.5e9)}
PROJECTED_RANKS = (8, 32, 128)


def worker(shape):
    import numpy as np
    from mpi4py import MPI

    import gru_native
    from gru_native.distributed import DataParallel
    from workloads import native_model

    T, I, H, B = shape
    timed = []

    class TimedComm(MPI.Intracomm):
        """COMM_WORLD, recording the time of each gradient-sized Allreduce."""
        def Allreduce(self, sendbuf, recvbuf, op=MPI.SUM):
            start = time.perf_counter()
            super().Allreduce(sendbuf, recvbuf, op)
            if isinstance(recvbuf, np.ndarray) and recvbuf.size > 64:
                timed.append(time.perf_counter() - start)

    dp = DataParallel(TimedComm(MPI.COMM_WORLD))
    rng = np.random.default_rng(dp.rank)
    x = rng.normal(size=(B * STEPS, T, I)).astype(np.float32)
    y = x[:, -1, :1].copy()
    gru_native.utils.set_random_seed(0)
    model = native_model(T, I, H)
    model.compile(optimizer=gru_native.optimizers.Adam(), loss="mse", distribute=dp)
    epochs = []

    class EpochTimer(gru_native.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            epochs.append(time.perf_counter() - self.start)

    model.fit(x, y, batch_size=B, epochs=EPOCHS, shuffle=False, verbose=0,
              callbacks=[EpochTimer()])
    in_fit = statistics.median(timed[STEPS:]) if timed else 0.0
    grads = np.ones(model.parameters.grads.size, np.float32)
    for _ in range(20):
        MPI.COMM_WORLD.Allreduce(MPI.IN_PLACE, grads)
    alone = []
    for _ in range(200):
        start = time.perf_counter()
        MPI.COMM_WORLD.Allreduce(MPI.IN_PLACE, grads)
        alone.append(time.perf_counter() - start)
    epoch = statistics.median(epochs[1:])
    if dp.is_chief:
        print(json.dumps({"samples_per_s": dp.size * B * STEPS / epoch, "step_s": epoch / STEPS,
                          "allreduce_in_fit_s": in_fit, "allreduce_alone_s": statistics.median(alone),
                          "gradient_bytes": int(grads.nbytes), "threads": dp.threads}))


def launch(ranks, shape):
    mpiexec = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or "mpiexec"
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    p = subprocess.run([mpiexec, "-n", str(ranks), "--oversubscribe", sys.executable,
                        os.path.abspath(__file__), "--worker", shape],
                       capture_output=True, text=True, timeout=1800, env=env)
    if p.returncode != 0:
        raise RuntimeError(f"{ranks} ranks, {shape} failed:\n{p.stdout[-2000:]}{p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def spread(values):
    return statistics.median(values), min(values), max(values)


def ring_allreduce_seconds(p, nbytes, alpha, beta):
    return 2 * (p - 1) * alpha + 2 * (p - 1) / p * nbytes / beta


def main():
    from alternation import round_order

    parser = argparse.ArgumentParser()
    parser.add_argument("--worker")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--shapes", nargs="+", default=SHAPES)
    parser.add_argument("--md", default=os.path.join(os.path.dirname(__file__),
                                                     "data_parallel_results.md"))
    args = parser.parse_args()
    if args.worker:
        return worker(tuple(int(v) for v in args.worker.split(",")))
    runs = {shape: {1: [], 2: []} for shape in args.shapes}
    for r in range(args.rounds):
        for shape in args.shapes:
            for ranks in round_order([1, 2], r):
                runs[shape][ranks].append(launch(ranks, shape))
                print(f"round {r + 1} {shape} {ranks} rank(s): "
                      f"{runs[shape][ranks][-1]['samples_per_s']:.0f} samples/s", file=sys.stderr)
    lines = ["| T, I, H, B per rank | 1 rank (2 threads) samples/s | 2 ranks (1 thread each) "
             "samples/s | 2 / 1 | Allreduce per step in fit | alone | gradient | step (1 rank) |",
             "|---|---|---|---|---|---|---|---|"]
    projected = ["| T, I, H, B per rank | network | " + " | ".join(
        f"{p} ranks: samples/s (efficiency)" for p in PROJECTED_RANKS) + " |",
        "|---|---|" + "---|" * len(PROJECTED_RANKS)]
    for shape, by_ranks in runs.items():
        one = [run["samples_per_s"] for run in by_ranks[1]]
        two = [run["samples_per_s"] for run in by_ranks[2]]
        ratios = [b / a for a, b in zip(one, two)]
        m1, m2, mr = spread(one), spread(two), spread(ratios)
        in_fit = statistics.median(run["allreduce_in_fit_s"] for run in by_ranks[2])
        alone = statistics.median(run["allreduce_alone_s"] for run in by_ranks[2])
        nbytes = by_ranks[2][0]["gradient_bytes"]
        step = statistics.median(run["step_s"] for run in by_ranks[1])
        lines.append(f"| {shape} | {m1[0]:,.0f} ({m1[1]:,.0f}-{m1[2]:,.0f}) | {m2[0]:,.0f} "
                     f"({m2[1]:,.0f}-{m2[2]:,.0f}) | {mr[0]:.2f} ({mr[1]:.2f}-{mr[2]:.2f}) | "
                     f"{in_fit * 1e6:.0f} us | {alone * 1e6:.0f} us | {nbytes / 1024:.0f} KiB | "
                     f"{step * 1e3:.2f} ms |")
        B = int(shape.split(",")[3])
        for network, (alpha, beta) in NETWORKS.items():
            cells = []
            for p in PROJECTED_RANKS:
                t = step + ring_allreduce_seconds(p, nbytes, alpha, beta)
                cells.append(f"{p * B / t:,.0f} ({step / t:.0%})")
            projected.append(f"| {shape} | {network} | " + " | ".join(cells) + " |")
    text = ("Measured (this machine, 2 cores; median over rounds, min-max):\n\n" + "\n".join(lines)
            + "\n\nProjected (ring Allreduce cost model, one rank per node at the measured "
            "one-rank step; not measured):\n\n" + "\n".join(projected) + "\n")
    print(text)
    with open(args.md, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
