"""Issue 21: every option and argument of every command says what it is in ``--help``.

Walks the whole parser tree, as ``test_bad_values.py`` does for float
options: an option without ``help=`` shows only its name in ``--help``
(``train --seed`` did), and a sub-command without a description shows only
its usage line.
"""

from __future__ import annotations

import argparse

from TMERadiomicsLib.cli import build_parser


def _parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(command path, parser) of the top parser and every sub-command, recursively."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, path + (name,))


def test_every_option_and_argument_has_a_description():
    missing = [f"{' '.join(path) or 'tmeradiomics'} {action.option_strings[0] if action.option_strings else action.dest}"
               for path, parser in _parsers(build_parser()) for action in parser._actions
               if not isinstance(action, argparse._SubParsersAction)
               and (action.help is None or not str(action.help).strip()) and action.help != argparse.SUPPRESS]
    assert missing == []


def test_every_command_has_a_description():
    parsers = list(_parsers(build_parser()))
    assert len(parsers) > 20  # the walk reached the nested sub-commands (session add, labels cibersort...)
    missing = [" ".join(path) for path, parser in parsers if path and not (parser.description or "").strip()]
    assert missing == []


def test_every_readme_command_parses():
    """Every ``tmeradiomics`` line of the README's code blocks is accepted by the real parser.

    The blocks that run on the demo's output are run by ``test_demo.py``; the others name the
    user's own files (P1.nrrd, cohort.csv), so here their sub-commands and options are checked.
    """
    import shlex
    from pathlib import Path

    from readme_commands import command_blocks, tmeradiomics_argv

    parser = build_parser()
    commands = [command for block in command_blocks() for command in block]
    parsed = 0
    for command in commands:
        argv = tmeradiomics_argv(command)
        if argv is None:
            continue
        try:
            parser.parse_args(argv)
        except SystemExit:
            raise AssertionError(f"README command does not parse: {command}") from None
        parsed += 1
    assert parsed >= 30
    slicer = [shlex.split(c) for c in commands if c.startswith("Slicer ")]
    assert slicer and all((Path(__file__).parents[1] / words[words.index("--python-script") + 1]).is_file()
                          for words in slicer)
