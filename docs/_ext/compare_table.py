"""The ``compare-table`` directive: bench/compare.py's latest results (bench/results.json) as the
performance page's table, so that the page shows the run the JSON holds and nothing copied by
hand. Each row is one kind of work and shape; each peer's cell is its time over gru_native's,
the median over the rounds with their range, and **no** where the project's target for that
peer was missed."""

import json
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results.json"

# (column title, the key of the ratio in a result)
PEERS = [("PyTorch", "torch"), ("Keras/JAX", "keras"), ("onnxruntime", "onnxruntime"),
         ("OpenVINO (default precision)", "openvino"), ("OpenVINO f32", "openvino-f32")]
WORK = {"train": "training step (Adam, MSE)", "predict": "predict one sequence, float32",
        "batch_predict": "predict a batch, float32", "stream": "streamed step (``stream().step``)",
        "train_lstm": "LSTM training step"}
REDUCED = {"predict": "... bfloat16 / int8", "batch_predict": "... bfloat16 / int8"}


def duration(seconds):
    """A time with three significant digits, in the unit that suits it."""
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale or unit == "µs":
            return f"{seconds / scale:.3g} {unit}"


def ratio(result, key):
    """A peer's cell: the median ratio, the rounds' range, and whether its target was met."""
    if key not in result.get("ratio", {}):
        return ""
    low, high = result["ratio_range"][key]
    missed = " **no**" if result.get("met", {}).get(key) is False else ""
    return f"{result['ratio'][key]:.3g}× ({low:.2g}-{high:.2g}){missed}"


def rows(results):
    """The table's rows: each result (its work named on the first row of that work), and after
    a prediction a row of its bfloat16 and int8 times against OpenVINO's default precision."""
    previous = None
    for result in results:
        kind = result["bench"]
        work = WORK[kind] if kind != previous else ""
        previous = kind
        shape = ", ".join(str(n) for n in result["shape"])
        yield [work, shape, duration(result["seconds"]["gru_native"])] + [
            ratio(result, key) for _, key in PEERS]
        if kind in REDUCED and "gru_native-bf16" in result["seconds"]:
            times = " / ".join(duration(result["seconds"][f"gru_native-{p}"])
                               for p in ("bf16", "int8"))
            cells = " / ".join(ratio(result, f"openvino / {p}") for p in ("bf16", "int8"))
            yield [REDUCED[kind], shape, times, "", "", "", cells, ""]
            previous = None  # the next float32 row names its work again


class CompareTable(SphinxDirective):
    """``.. compare-table::``: the table, then a line saying which run it is."""

    def run(self):
        self.env.note_dependency(str(RESULTS))
        run = json.loads(RESULTS.read_text())
        head = ["work (GRU(H) + Dense(1))", "T, I, H, B", "gru_native"] + [t for t, _ in PEERS]
        lines = [".. list-table::", "   :header-rows: 1", ""]
        for row in [head] + list(rows(run["results"])):
            lines.append(f"   * - {row[0]}" if row[0] else "   * -  ")
            lines += [f"     - {cell}" if cell else "     -  " for cell in row[1:]]
        versions = ", ".join(f"{name} {version}" for name, version in run["versions"].items()
                             if not name.startswith("gru_native-") and name != "openvino-f32")
        lines += ["", f"The run in ``bench/results.json``: {run['cpu']}, {run['threads']} "
                      f"threads, {run['rounds']} rounds, NumPy sgemm "
                      f"{run['sgemm_gflops']:.0f} GFLOP/s; {versions}."]
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source=str(RESULTS)), self.content_offset,
                                container)
        return container.children


def setup(app):
    app.add_directive("compare-table", CompareTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
