"""The fit progress bar (src/gru_native/progbar.py): its lines, on interactive and on captured
output, with a fake clock for the times."""

import sys

import pytest

import gru_native.models.progbar as progbar_module
from gru_native.models.progbar import Progbar


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def monotonic(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(progbar_module, "time", clock)
    return clock


@pytest.fixture
def interactive(monkeypatch):
    """stdout (captured by capsys) taken for a terminal."""
    monkeypatch.setattr(progbar_module, "_interactive_stdout", lambda: True)


def test_stdout_is_interactive_on_a_terminal_only(monkeypatch, capsys):
    monkeypatch.delenv("PYCHARM_HOSTED", raising=False)
    assert not progbar_module._interactive_stdout()
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert progbar_module._interactive_stdout()


def run_epoch(bar, clock, steps, first_step=1.0, step=0.04):
    """Update `bar` over `steps` steps, the first taking `first_step` seconds, the others `step`,
    with running means of two metrics; then finalize with validation values."""
    for current in range(1, steps + 1):
        clock.now += first_step if current == 1 else step
        bar.update(current, [("loss", 1.0 / current), ("mae", 0.5 / current)], finalize=False)
    bar.update(steps, [("loss", 0.1234), ("mae", 0.0567), ("val_loss", 0.2)], finalize=True)


def test_captured_output_gets_only_the_final_line(capsys, clock):
    run_epoch(Progbar(50), clock, 50)
    # Elapsed 1 + 49 * 0.04 = 2.96 s; the slow first step is left out of the time per step.
    assert capsys.readouterr().out == (
        "50/50 [==============================] 3s 40ms/step - loss: 0.1234 - mae: 0.0567"
        " - val_loss: 0.2000\n")


def test_interactive_output_redraws_the_bar_with_eta_then_ends_the_line(capsys, clock, interactive):
    run_epoch(Progbar(50, interval=0), clock, 50)
    out = capsys.readouterr().out
    draws = out.split("\r")
    assert len(draws) == 51 and out.count("\n") == 1 and out.endswith("\n")
    # Step 12: 38 steps left at 40 ms each.
    assert draws[11].startswith(
        "12/50 [======>.......................] - ETA: 1s - loss: 0.0833 - mae: 0.0417")
    assert draws[0].startswith(" 1/50 [" + "." * 30 + "] - ETA: 49s")
    assert draws[-1].startswith(
        "50/50 [==============================] 3s 40ms/step - loss: 0.1234 - mae: 0.0567"
        " - val_loss: 0.2000")


def test_interactive_redraws_are_throttled_by_interval(capsys, clock, interactive):
    run_epoch(Progbar(50, interval=0.1), clock, 50)
    out = capsys.readouterr().out
    # Step 1, then every third 0.04 s step (4, 7 ... 49), then the final line over the last.
    assert out.startswith(" 1/50 [")
    assert out.count("\r") == 16 + 1
    assert "\r 4/50 [" in out and "\r 7/50 [" in out and "\r 5/50 [" not in out


def test_a_shorter_redraw_blanks_the_rest_of_the_longer_line(capsys, clock, interactive):
    bar = Progbar(100, interval=0)
    clock.now = 1.0
    bar.update(1, {"loss": 0.5})
    clock.now = 101.0
    bar.update(2, {"loss": 0.5})  # 98 steps left at 100 s
    clock.now = 9701.0
    bar.update(99, {"loss": 0.5})
    first, second, third = capsys.readouterr().out.split("\r")
    assert "ETA: 1:39" in first and "ETA: 2:43:20" in second and "ETA: 1:38" in third
    assert len(third) == len(second) and third.endswith("   ")


def test_verbose_2_prints_one_line_per_epoch_without_bar(capsys, clock, interactive):
    run_epoch(Progbar(50, verbose=2), clock, 50)
    assert capsys.readouterr().out == (
        "50/50 - 3s - 40ms/step - loss: 0.1234 - mae: 0.0567 - val_loss: 0.2000\n")


def test_verbose_0_prints_nothing(capsys, clock, interactive):
    run_epoch(Progbar(50, verbose=0), clock, 50)
    assert capsys.readouterr().out == ""


def test_finalize_defaults_to_reaching_the_target(capsys, clock):
    bar = Progbar(3)
    for current in (1, 2):
        clock.now += 0.1
        bar.update(current, [("loss", 0.5)])
    assert capsys.readouterr().out == ""
    clock.now = 0.3
    bar.update(3, [("loss", 0.25)])
    assert capsys.readouterr().out == "3/3 [==============================] 0s 100ms/step - loss: 0.2500\n"


def test_an_epoch_stopped_early_shows_the_steps_done(capsys, clock):
    bar = Progbar(10, width=10)
    clock.now = 0.004
    bar.update(3, [("loss", 0.5)], finalize=True)
    assert capsys.readouterr().out == " 3/10 [==>.......] 0s 1ms/step - loss: 0.5000\n"


def test_unknown_target_small_values_and_unit_name(capsys, clock):
    bar = Progbar(None, unit_name="sample")
    clock.now = 2e-5
    bar.update(4, [("loss", 0.0001234), ("gain", -2.5)], finalize=True)
    assert capsys.readouterr().out == (
        "      4/Unknown 0s 5us/sample - loss: 1.2340e-04 - gain: -2.5000\n")
