"""Tool uses in the demo corpus: each action's input and output for Claude Code and Codex."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from store.demo.vocab import Vocab


@dataclass(frozen=True, slots=True)
class Action:
    """One tool use: how Claude Code writes it, and the same action as Codex runs it."""

    tool: str
    input: dict[str, Any]
    output: str
    """Claude's tool_result text."""
    result: dict[str, Any]
    """Claude's `toolUseResult`."""
    shell: str
    """Codex: the shell command (or the apply_patch body when `patch`)."""
    shell_output: str
    failed: bool = False
    patch: bool = False


# ---------------------------------------------------------------------------------------------
# Tool actions: one mix of Bash, Read, Edit, Grep and Glob for both agents


def action(v: Vocab, lang: str, cwd: str, branch: str) -> Action:
    """One tool use with its output, in a mix close to real sessions."""
    roll = v.rng.random()
    if roll < 0.38:
        return _bash(v, lang, cwd, branch)
    if roll < 0.68:
        return _read(v, lang, cwd)
    if roll < 0.84:
        return _edit(v, lang, cwd)
    if roll < 0.94:
        return _grep(v, lang, cwd)
    return _glob(v, lang, cwd)


def _bash(v: Vocab, lang: str, cwd: str, branch: str) -> Action:
    kind = v.rng.choice(BASH_KINDS)
    command, description, output, failed = kind(v, lang, cwd, branch)
    if v.rng.random() < 0.004:
        output = v.rng.choice(v.big)
    result = {"stdout": output, "stderr": "", "interrupted": False, "isImage": False}
    return Action(
        "Bash",
        {"command": command, "description": description},
        output,
        result,
        command,
        output,
        failed,
    )


def _read(v: Vocab, lang: str, cwd: str) -> Action:
    rel = v.word("file", lang)
    path = f"{cwd}/{rel}"
    lines = v.rng.choice(v.sources[lang])
    whole = v.rng.random() < 0.01
    count = len(lines) if whole else min(len(lines), int(v.rng.lognormvariate(2.9, 0.7)))
    start = 0 if whole else v.rng.randrange(max(1, len(lines) - count + 1))
    chunk = lines[start : start + count]
    numbered = "\n".join(f"{start + i + 1:>6}\u2192{line}" for i, line in enumerate(chunk))
    plain = "\n".join(chunk)
    result = {
        "type": "text",
        "file": {
            "filePath": path,
            "content": plain,
            "numLines": len(chunk),
            "startLine": start + 1,
            "totalLines": len(lines),
        },
    }
    tool_input: dict[str, Any] = {"file_path": path}
    if not whole and start:
        tool_input.update(offset=start + 1, limit=count)
    shell = f"sed -n '{start + 1},{start + count}p' {rel}"
    return Action("Read", tool_input, numbered, result, shell, plain)


def _edit(v: Vocab, lang: str, cwd: str) -> Action:
    rel = v.word("file", lang)
    old = v.code(lang, v.rng.randint(1, 5))
    new = v.code(lang, v.rng.randint(1, 7))
    path = f"{cwd}/{rel}"
    result = {
        "filePath": path,
        "oldString": old,
        "newString": new,
        "structuredPatch": [
            {
                "oldStart": v.rng.randint(1, 300),
                "oldLines": 1,
                "newStart": 1,
                "newLines": 1,
                "lines": [f"-{old}", f"+{new}"],
            }
        ],
        "userModified": False,
        "replaceAll": False,
    }
    patch = (
        f"*** Begin Patch\n*** Update File: {rel}\n@@\n"
        + "\n".join(f"-{ln}" for ln in old.split("\n"))
        + "\n"
        + "\n".join(f"+{ln}" for ln in new.split("\n"))
        + "\n*** End Patch"
    )
    output = f"The file {path} has been updated successfully."
    return Action(
        "Edit",
        {"file_path": path, "old_string": old, "new_string": new},
        output,
        result,
        patch,
        f"Success. Updated the following files:\nM {rel}\n",
        patch=True,
    )


def _grep(v: Vocab, lang: str, cwd: str) -> Action:
    func = v.word("func", lang)
    hits = sorted({v.word("file", lang) for _ in range(v.rng.randint(0, 6))})
    output = f"Found {len(hits)} files\n" + "\n".join(f"{cwd}/{h}" for h in hits)
    result = {
        "mode": "files_with_matches",
        "filenames": [f"{cwd}/{h}" for h in hits],
        "numFiles": len(hits),
    }
    return Action(
        "Grep",
        {"pattern": func, "path": cwd, "output_mode": "files_with_matches"},
        output,
        result,
        f"rg -l {func}",
        "\n".join(hits),
    )


def _glob(v: Vocab, lang: str, cwd: str) -> Action:
    pattern = "**/*.py" if lang == "py" else "src/**/*.ts*"
    hits = [f"{cwd}/{f}" for f in v.pools["file", lang] if v.rng.random() < 0.6]
    result = {
        "filenames": hits,
        "durationMs": v.rng.randint(3, 90),
        "numFiles": len(hits),
        "truncated": False,
    }
    return Action(
        "Glob",
        {"pattern": pattern},
        "\n".join(hits),
        result,
        f"rg --files -g '{pattern}'",
        "\n".join(hits),
    )


# ---------------------------------------------------------------------------------------------
# Shell commands: what the Bash tool (and Codex's shell) prints

BashResult = tuple[str, str, str, bool]
"""(command, description, output, failed)"""


def _bash_pytest(v: Vocab, lang: str, cwd: str, branch: str) -> BashResult:
    rng = v.rng
    tests = v.pools["test", lang]
    count = rng.randint(12, 480)
    failed = rng.random() < 0.3
    rows = [
        f"{t} {'.' * rng.randint(3, 40)}{'F' if failed and i == 0 else ''}"
        f"{'.' * rng.randint(0, 9)}  [{min(100, (i + 1) * 100 // len(tests)):3d}%]"
        for i, t in enumerate(tests)
    ]
    head = (
        "============================= test session starts ==============================\n"
        f"platform linux -- Python 3.11.9, pytest-8.3.2, pluggy-1.5.0\nrootdir: {cwd}\n"
        f"configfile: pyproject.toml\ncollected {count} items\n\n"
    )
    if failed:
        tail = (
            f"\n\n{'=' * 35} FAILURES {'=' * 35}\n"
            f"{v.traceback(lang)}\n=========================== short test summary info "
            f"============================\nFAILED {tests[0]}::test_{v.word('func', lang)} - "
            f"{v.word('err', lang)}\n======================== 1 failed, {count - 1} passed in "
            f"{rng.uniform(0.4, 40):.2f}s ========================"
        )
    else:
        tail = f"\n\n======================== {count} passed in {rng.uniform(0.4, 40):.2f}s ======"
    command = "npm test" if lang == "ts" else f"pytest -q {rng.choice(tests)}"
    return command, "Run the tests", head + "\n".join(rows) + tail, failed


def _bash_git_status(v: Vocab, lang: str, cwd: str, branch: str) -> BashResult:
    files = sorted({v.word("file", lang) for _ in range(v.rng.randint(1, 5))})
    output = (
        f"On branch {branch or 'main'}\nChanges not staged for commit:\n"
        '  (use "git add <file>..." to update what will be committed)\n'
        + "\n".join(f"\tmodified:   {f}" for f in files)
        + '\n\nno changes added to commit (use "git add" and/or "git commit -a")'
    )
    return "git status", "Show working tree status", output, False


def _bash_git_diff(v: Vocab, lang: str, cwd: str, branch: str) -> BashResult:
    file = v.word("file", lang)
    body = "\n".join(v.rng.choice("+- ") + line for line in v.code(lang, 24).split("\n"))
    output = (
        f"diff --git a/{file} b/{file}\nindex {v.rng.getrandbits(28):07x}.."
        f"{v.rng.getrandbits(28):07x} 100644\n--- a/{file}\n+++ b/{file}\n"
        f"@@ -{v.rng.randint(1, 300)},12 +{v.rng.randint(1, 300)},14 @@\n{body}"
    )
    return f"git diff {file}", "Show the changes", output, False


def _bash_git_log(v: Vocab, lang: str, cwd: str, branch: str) -> BashResult:
    output = "\n".join(f"{v.rng.getrandbits(28):07x} {v.title(lang)}" for _ in range(10))
    return "git log --oneline -10", "Recent commits", output, False


def _bash_lint(v: Vocab, lang: str, cwd: str, branch: str) -> BashResult:
    file = v.word("file", lang)
    if lang == "ts":
        clean = v.rng.random() < 0.6
        out = "" if clean else f"{file}(12,7): error {v.word('err', lang)}\nFound 1 error."
        return "npx tsc --noEmit", "Type-check", out, not clean
    if v.rng.random() < 0.6:
        return (
            "ruff check . && mypy --strict store",
            "Lint and type-check",
            ("All checks passed!\nSuccess: no issues found in 14 source files"),
            False,
        )
    return (
        "mypy --strict store",
        "Type-check",
        (
            f"{file}:{v.rng.randint(5, 300)}: error: Incompatible return value type (got "
            '"str | None", expected "str")  [return-value]\nFound 1 error in 1 file '
            "(checked 14 source files)"
        ),
        True,
    )


def _bash_ls(v: Vocab, lang: str, cwd: str, branch: str) -> BashResult:
    rows = [
        f"-rw-r--r--  1 dev dev {v.rng.randint(200, 40_000):6d} Mar  {v.rng.randint(1, 28):2d} "
        f"{v.rng.randint(0, 23):02d}:{v.rng.randint(0, 59):02d} {f}"
        for f in v.pools["file", lang]
        if v.rng.random() < 0.5
    ]
    return f"ls -la {cwd}", "List files", f"total {len(rows) * 8}\n" + "\n".join(rows), False


BASH_KINDS: tuple[Callable[[Vocab, str, str, str], BashResult], ...] = (
    _bash_pytest,
    _bash_pytest,
    _bash_git_status,
    _bash_git_diff,
    _bash_git_log,
    _bash_lint,
    _bash_ls,
)
