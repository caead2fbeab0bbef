"""The ``tmeradiomics`` command line.

Each sub-command lives in its own module of this package and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to the
function that runs it.

``main`` is the one top-level guard: whatever a command raises ends as one
line on stderr and a documented exit code, never a traceback (``--debug``
re-raises for developers):

==========================  =====  ==========================================
what happened               exit   line printed
==========================  =====  ==========================================
success                     0
bad input (``InputError``)  2      ``tmeradiomics CMD: error: ...``
Ctrl-C / SIGTERM            130    ``tmeradiomics CMD: interrupted: ...``
an OS error on a user path  2      ``tmeradiomics CMD: error: file F: No space left on device``
stdout full, failing, shut  2      ``tmeradiomics CMD: error: standard output: ...``
stdout closed by the reader 0      nothing (``| head`` is a normal end)
anything else               1      ``tmeradiomics CMD: internal error: ...``
==========================  =====  ==========================================
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import InputError
from ..interrupt import (
    EXIT_INTERRUPTED,
    Interrupted,
    exit_on_signal,
    forget_caught_interrupt,
    signals_handled,
    signals_as_interrupt,
    sigterm_as_interrupt,
    skip_collection_at_exit,
    stuck_watchdog,
)
from ..oserrors import STDOUT, os_error_line, stdout_errors_named
from ..outputs import command_inputs
from .lazy import resolve_defaults

# Module names of the sub-commands, in the order ``--help`` lists them.
COMMANDS: tuple[str, ...] = (
    "demo_cmd",
    "phantom_cmd",
    "cohort_cmd",
    "regions_cmd",
    "extract_cmd",
    "kinetics_cmd",
    "presets_cmd",
    "calibrate_cmd",
    "combat_cmd",
    "train_cmd",
    "evaluate_cmd",
    "score_cmd",
    "labels_cmd",
    "survival_cmd",
    "response_cmd",
    "session_cmd",
    "icc_cmd",
    "perturb_cmd",
    "batch_cmd",
    "export_dicom_cmd",
    "series_cmd",
)

EXIT_INPUT_ERROR = 2
EXIT_INTERNAL_ERROR = 1


# What a Ctrl-C leaves behind for a command that writes its outputs only when it
# finishes (staged_dir / atomic writes); a command that keeps finished work
# says so itself with ``set_defaults(interrupt_note=...)`` or ``Interrupted``.
INTERRUPTED_NOTHING_KEPT = "nothing was written and earlier outputs are unchanged; run the command again"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tmeradiomics",
        description="Breast DCE-MRI radiomics of the tumour immune microenvironment.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the full traceback of an unexpected error instead of one line",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: this process's arguments).

    Without ``argv`` this process is the command. Then, until the command's
    own guard runs (building the parser and parsing import library modules
    through ``LazyChoices``: seconds of pandas and scikit-learn), Ctrl-C and
    SIGTERM end the process at once with one line and exit 130: nothing has
    been written yet, and a ``KeyboardInterrupt`` raised inside a C
    extension's import comes out as an ``ImportError`` (pybind11's
    "initialization failed"). The same holds after the command, while the
    interpreter exits; during it the stuck-main-thread watchdog runs.
    """
    is_process = argv is None
    prefix = f"tmeradiomics {_command_in(sys.argv[1:] if argv is None else argv)}".rstrip()
    if is_process:
        exit_on_signal(prefix)
    try:
        with signals_as_interrupt() if not is_process else contextlib.nullcontext():
            try:
                parser = build_parser()
                args = resolve_defaults(parser.parse_args(argv))
            except KeyboardInterrupt as stop:  # in-process callers: Ctrl-C while parsing
                print(f"{prefix}: interrupted ({str(stop) or 'Ctrl-C'}): {INTERRUPTED_NOTHING_KEPT}",
                      file=sys.stderr)
                return EXIT_INTERRUPTED
        with signals_as_interrupt(), stuck_watchdog(prefix) if is_process else contextlib.nullcontext():
            return _configure_and_run(args)
    finally:
        if is_process:
            exit_on_signal(prefix, "the command had ended; its outputs are complete")
        forget_caught_interrupt()


def _command_in(argv: Sequence[str]) -> str:
    """The sub-command named in ``argv``, for messages before the parser has run ('' if none)."""
    names = {name.removesuffix("_cmd") for name in COMMANDS}
    return next((word for word in argv if word in names), "")


def _configure_and_run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    # PyRadiomics logs routine notes (e.g. GLCM symmetry) as warnings.
    logging.getLogger("radiomics").setLevel(logging.INFO if args.verbose else logging.ERROR)
    skip_collection_at_exit()  # ~2 s less from Ctrl-C (or any end) to the prompt
    return _run_guarded(args)


def _run_guarded(args: argparse.Namespace) -> int:
    """Run the command; turn every way it can end into one line and an exit code."""
    prefix = f"tmeradiomics {args.command}"
    signals_before = signals_handled()
    try:
        with sigterm_as_interrupt(), stdout_errors_named(), command_inputs(_input_paths(args)):
            code = int(args.func(args) or 0)
            # Flush here, not at interpreter exit, so a closed pipe is caught below.
            sys.stdout.flush()
            return code
    except Interrupted as stop:
        print(f"{prefix}: interrupted: {stop}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt as stop:
        # sigterm_as_interrupt names the signal; a plain Ctrl-C has no message.
        return _interrupted(prefix, args, str(stop) or "Ctrl-C")
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except Exception as error:
        if signals_handled() != signals_before:
            # Ctrl-C landed in library code that turned it into another error (a C
            # extension's import: ImportError "initialization failed"): still a stop.
            return _interrupted(prefix, args, "signal")
        if isinstance(error, InputError):
            print(f"{prefix}: error: {error}", file=sys.stderr)
            return EXIT_INPUT_ERROR
        if isinstance(error, OSError) and (line := os_error_line(error)):
            if line.startswith(STDOUT):
                _silence_stdout()
            print(f"{prefix}: error: {line}", file=sys.stderr)
            return EXIT_INPUT_ERROR
        if args.debug:
            raise
        print(
            f"{prefix}: internal error: {type(error).__name__}: {_one_line(error)} "
            "(run with --debug for the traceback)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL_ERROR


# Arguments that name what a command writes; every other path it is given is an input.
OUTPUT_ARGUMENTS = frozenset({"out"})


def _input_paths(args: argparse.Namespace) -> list[str]:
    """Every existing path the command line names, outputs aside (``NAME=FILE`` values too)."""
    paths = []
    for name, value in vars(args).items():
        if name in OUTPUT_ARGUMENTS or name == "func":
            continue
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if not isinstance(item, (str, os.PathLike)) or not str(item):
                continue
            text = os.fspath(item)
            if os.path.lexists(text):
                paths.append(text)
            elif "=" in text and os.path.lexists(text.split("=", 1)[1]):
                paths.append(text.split("=", 1)[1])
    return paths


def _interrupted(prefix: str, args: argparse.Namespace, how: str) -> int:
    note = getattr(args, "interrupt_note", INTERRUPTED_NOTHING_KEPT)
    print(f"{prefix}: interrupted ({how}): {note}", file=sys.stderr)
    return EXIT_INTERRUPTED


def _silence_stdout() -> None:
    """The reader closed stdout (``| head``): point it at devnull so the
    interpreter's final flush does not fail again (the Python docs' recipe
    for SIGPIPE)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        # stdout is not a real file (captured in tests): nothing to redirect.
        pass


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or "(no message)"


if __name__ == "__main__":
    sys.exit(main())
