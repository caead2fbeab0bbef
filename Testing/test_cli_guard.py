"""The CLI's top-level guard: every way a command can end is one line and a
documented exit code, never a traceback (``cli/__init__.py``)."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

import pytest

from TMERadiomicsLib.cli import EXIT_INPUT_ERROR, EXIT_INTERNAL_ERROR, INTERRUPTED_NOTHING_KEPT, _run_guarded, main
from TMERadiomicsLib.errors import InputError
from TMERadiomicsLib.interrupt import EXIT_INTERRUPTED, Interrupted


def _args(func, debug: bool = False) -> argparse.Namespace:
    return argparse.Namespace(command="demo", func=func, debug=debug)


def _raiser(error: BaseException):
    def run(args):
        raise error
    return run


def test_input_error_is_one_line_exit_2(capsys):
    code = _run_guarded(_args(_raiser(InputError("bad value", value=-1))))
    err = capsys.readouterr().err
    assert code == EXIT_INPUT_ERROR == 2
    assert err == "tmeradiomics demo: error: bad value (value: -1)\n"


def test_interrupted_prints_what_was_kept_exit_130(capsys):
    code = _run_guarded(_args(_raiser(Interrupted("3 of 8 cases kept in out/; rerun to resume"))))
    assert code == EXIT_INTERRUPTED == 130
    assert capsys.readouterr().err == "tmeradiomics demo: interrupted: 3 of 8 cases kept in out/; rerun to resume\n"


def test_bare_ctrl_c_is_one_line_exit_130(capsys):
    code = _run_guarded(_args(_raiser(KeyboardInterrupt())))
    assert code == 130
    assert capsys.readouterr().err == f"tmeradiomics demo: interrupted (Ctrl-C): {INTERRUPTED_NOTHING_KEPT}\n"


def test_a_command_that_keeps_finished_work_says_so_on_ctrl_c(capsys):
    args = _args(_raiser(KeyboardInterrupt()))
    args.interrupt_note = "2 contours kept; run again"
    assert _run_guarded(args) == 130
    assert capsys.readouterr().err == "tmeradiomics demo: interrupted (Ctrl-C): 2 contours kept; run again\n"


def test_sigterm_inside_a_command_ends_like_ctrl_c(capsys):
    def run(args):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises before this ends
        return 0

    started = time.monotonic()
    code = _run_guarded(_args(run))
    assert code == 130
    assert time.monotonic() - started < 2
    assert capsys.readouterr().err == (
        f"tmeradiomics demo: interrupted (signal {int(signal.SIGTERM)}): {INTERRUPTED_NOTHING_KEPT}\n")
    # The guard restores the previous SIGTERM handler when the command ends.
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_unexpected_error_is_one_line_pointing_to_debug(capsys):
    code = _run_guarded(_args(_raiser(ZeroDivisionError("division\nby zero"))))
    err = capsys.readouterr().err
    assert code == EXIT_INTERNAL_ERROR == 1
    assert err == (
        "tmeradiomics demo: internal error: ZeroDivisionError: division by zero "
        "(run with --debug for the traceback)\n"
    )


def test_debug_reraises_with_the_traceback():
    with pytest.raises(ZeroDivisionError):
        _run_guarded(_args(_raiser(ZeroDivisionError("boom")), debug=True))


def test_debug_is_a_global_flag(capsys):
    assert main(["--debug", "presets"]) == 0
    assert "qian2024" in capsys.readouterr().out


def _run_with_closed_stdout(*argv: str) -> subprocess.CompletedProcess:
    """Run the CLI with a stdout pipe whose reader is already gone (``| head``
    that has exited): every write fails with EPIPE."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "TMERadiomicsLib", *argv],
            stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120,
        )
    finally:
        os.close(write_end)


def test_closed_stdout_is_a_quiet_normal_end():
    done = _run_with_closed_stdout("presets", "--json")
    assert done.returncode == 0
    assert done.stderr == ""


def test_progress_in_a_log_file_has_no_carriage_returns(tmp_path):
    """stderr redirected to a file (not a terminal): no tqdm bars redrawn with carriage returns."""
    log = tmp_path / "log.txt"
    with open(log, "w") as handle:
        done = subprocess.run([sys.executable, "-m", "TMERadiomicsLib", "phantom", "--out", str(tmp_path / "p")],
                              stdout=subprocess.DEVNULL, stderr=handle, timeout=300)
    assert done.returncode == 0
    assert "\r" not in log.read_text()
    assert (tmp_path / "p" / "phase5.nrrd").is_file()
