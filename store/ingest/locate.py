"""Where the agents keep their logs, which files there are logs, and which source a path feeds.

Files are selected by exact name patterns per agent (FORMATS.md §5 #14), never by "any JSON":

* Claude Code, Codex, Gemini CLI: `*.jsonl` (except known non-transcripts), read line by line;
* Gemini CLI: `chats/session-*.json` legacy chats and `tmp/<project>/logs.json`, read whole;
* opencode: `opencode.db` / `opencode-<channel>.db`, and the legacy JSON tree `storage/` (its
  `session/`, `message/` and `part/` files), each read as one source by `store.ingest.opencode_db`.

`source_for` maps any changed path (a database's `-wal`, one JSON file deep in opencode's tree)
to the source row it belongs to, so a file watcher can hand raw change events to the driver.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import platformdirs

LINES = "lines"
DOCUMENT = "document"
"""A file rewritten whole (Gemini legacy chat): parsed as one item each time it changes."""
PROMPT_LOG = "prompt-log"
"""Gemini's `logs.json`: a document too, read after the chats (its prompts are a fallback)."""
OPENCODE_DB = "opencode-db"
OPENCODE_TREE = "opencode-tree"

SKIP_NAMES = frozenset({"history.jsonl", "journal.jsonl", "session_index.jsonl"})
"""JSONL files in the agents' trees that are not transcripts (FORMATS 5 #14)."""
OPENCODE_TABLES = ("session", "message", "part")
_SIDECARS = ("-wal", "-shm", "-journal")
_PRUNE = frozenset({".git", "node_modules"})


def default_roots() -> list[Path]:
    """The agents' default log folders that exist on this machine."""
    home = Path.home()
    roots: list[Path] = []
    claude_dirs = os.environ.get("CLAUDE_CONFIG_DIR")
    for base in claude_dirs.split(",") if claude_dirs else [str(home / ".claude")]:
        roots.append(Path(base.strip()).expanduser() / "projects")
    roots.append(home / ".config" / "claude" / "projects")
    codex_home = Path(os.environ.get("CODEX_HOME", str(home / ".codex"))).expanduser()
    roots += [codex_home / "sessions", codex_home / "archived_sessions"]
    roots += opencode_dirs()
    roots.append(gemini_dir() / "tmp")
    unique = dict.fromkeys(Path(os.path.abspath(r)) for r in roots)
    return [r for r in unique if r.is_dir()]


def opencode_dirs() -> list[Path]:
    """opencode's data folder candidates: `$OPENCODE_DATA_DIR`, else the XDG data folder.

    opencode uses xdg-basedir (`~/.local/share/opencode` on Linux and macOS too); the platform's
    own data folder (platformdirs) is added for Windows builds.
    """
    env = os.environ.get("OPENCODE_DATA_DIR")
    if env:
        return [Path(env).expanduser()]
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    dirs = [Path(xdg).expanduser() / "opencode"]
    native = platformdirs.user_data_path("opencode", appauthor=False)
    return dirs if native in dirs else [*dirs, native]


def gemini_dir() -> Path:
    """`~/.gemini`, where Gemini CLI's `homedir()` honours `$GEMINI_CLI_HOME`."""
    home = os.environ.get("GEMINI_CLI_HOME")
    return (Path(home).expanduser() if home else Path.home()) / ".gemini"


# ------------------------------------------------------------------------------------------


def is_opencode_db(name: str) -> bool:
    return name == "opencode.db" or (name.startswith("opencode-") and name.endswith(".db"))


def is_opencode_storage(folder: Path) -> bool:
    """A legacy opencode `storage/` folder (it has `session/`, `message/` or `part/`)."""
    return folder.name == "storage" and any((folder / t).is_dir() for t in OPENCODE_TABLES)


def kind_of(path: Path) -> str | None:
    """What a file found while walking a folder is, by its name and place; None: not a log."""
    name = path.name
    if name.endswith(".jsonl"):
        return LINES if name not in SKIP_NAMES else None
    if is_opencode_db(name):
        return OPENCODE_DB
    if name.startswith("session-") and name.endswith(".json") and path.parent.name == "chats":
        return DOCUMENT
    if name == "logs.json" and (
        (path.parent / "chats").is_dir() or path.parent.parent.name == "tmp"
    ):
        return PROMPT_LOG
    return None


def source_kind(path: Path) -> str:
    """How a source given to the driver is read (explicit files are taken as given)."""
    if path.is_dir():
        return OPENCODE_TREE
    if is_opencode_db(path.name):
        return OPENCODE_DB
    if path.name == "logs.json":
        return PROMPT_LOG
    return DOCUMENT if path.name.endswith(".json") else LINES


def opencode_storage_of(path: Path) -> Path | None:
    """The `storage/` folder of a file in opencode's JSON tree (`storage/<table>/<x>/<y>.json`)."""
    if not path.name.endswith(".json") or len(path.parts) < 4:
        return None
    table = path.parent.parent
    if table.name in OPENCODE_TABLES and table.parent.name == "storage":
        return table.parent
    return None


def source_for(path: Path) -> Path | None:
    """The source a changed path feeds: the log itself, the database of a `-wal`/`-shm`/
    `-journal` sidecar, the `storage/` folder of an opencode JSON file; None if none."""
    name = path.name
    for suffix in _SIDECARS:
        if name.endswith(suffix) and is_opencode_db(name[: -len(suffix)]):
            return path.with_name(name[: -len(suffix)])
    storage = opencode_storage_of(path)
    if storage is not None:
        return storage
    return path if kind_of(path) is not None else None


def discover(paths: Iterable[Path]) -> Iterator[Path]:
    """Every source under `paths`, each once, in a stable order.

    Files given explicitly are taken as given (a file inside opencode's tree stands for the
    tree). Folders are walked sorted; an opencode data folder yields its databases before its
    JSON tree (records from the database are preferred), and Gemini `logs.json` files come last,
    after every chat they could duplicate.
    """
    seen: set[Path] = set()
    prompt_logs: list[Path] = []
    for path in paths:
        path = Path(os.path.abspath(path.expanduser()))
        if path.is_file():
            found: Iterable[Path] = [source_for(path) or path]
        elif is_opencode_storage(path):
            found = [path]
        else:
            found = _walk(path, prompt_logs)
        for item in found:
            if item not in seen:
                seen.add(item)
                yield item
    for item in prompt_logs:
        if item not in seen:
            seen.add(item)
            yield item


def _walk(root: Path, prompt_logs: list[Path]) -> Iterator[Path]:
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if d not in _PRUNE)
        opencode_home = False
        for name in sorted(files):
            kind = kind_of(here / name)
            if kind == PROMPT_LOG:
                prompt_logs.append(here / name)
            elif kind is not None:
                opencode_home = opencode_home or kind == OPENCODE_DB
                yield here / name
        if "storage" in dirs and is_opencode_storage(here / "storage"):
            opencode_home = True
            yield here / "storage"
        if opencode_home:
            # opencode's data folder also holds git snapshots, binaries and logs: none of it is
            # a transcript, and the snapshots can be huge.
            dirs[:] = []
