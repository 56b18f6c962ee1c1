"""The `convo` command line: argparse subcommands over the store; the app is imported lazily.

Every command ends with one line and a non-zero exit on error, never a traceback (`--debug`
shows one). Output for scripts is `--json`; for people, Rich tables on stdout and progress on
stderr when it is a terminal. Each command group lives in a module of its own with a
`register(add)` function; this module builds the parser from them and runs the chosen handler.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from store import logs
from store.errors import StoreError, damage_of
from tui.cli import browse, export, ingest, read, repair, search
from tui.cli.common import EXIT_ERROR, EXIT_OK, EXIT_USAGE, CliError, Handler

COMMAND_GROUPS = (browse, ingest, read, search, export, repair)
"""The modules whose `register(add)` adds subcommands, in the order `convo --help` lists them."""


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="the store file (default: $CONVO_DB, else the user data folder)",
    )
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks"
    )
    parser = argparse.ArgumentParser(
        prog="convo",
        parents=[common],
        description="Read, search and repair the conversation histories of AI coding agents.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(
            name, parents=[common], help=help_text, description=help_text
        )
        p.set_defaults(handler=handler)
        return p

    for group in COMMAND_GROUPS:
        group.register(add)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `convo` console script."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(args_list)
    if getattr(args, "command", None) is None:
        args = parser.parse_args([*args_list, "browse"])
    debug = bool(getattr(args, "debug", False))
    logs.setup()
    handler: Handler = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("convo: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `convo show ... | head`: the reader went away; that is not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except (CliError, StoreError) as err:
        if debug:
            raise
        print(f"convo: error: {err}", file=sys.stderr)
        return err.code if isinstance(err, CliError) else EXIT_USAGE
    except Exception as err:
        if debug:
            raise
        damage = damage_of(err)
        if damage is not None:
            logs.get("cli").warning("%s: %s", args.command, damage)
            print(f"convo: error: {damage}", file=sys.stderr)
            return EXIT_USAGE
        logs.get("cli").exception("unexpected error in %s", args.command)
        where = logs.default_log_path()
        print(
            f"convo: unexpected error: {type(err).__name__}: {' '.join(str(err).split())} "
            f"(details in {where})",
            file=sys.stderr,
        )
        # A command whose exit 1 means something else ("no hits") sets its own crash code.
        return int(getattr(args, "crash_code", EXIT_ERROR))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
