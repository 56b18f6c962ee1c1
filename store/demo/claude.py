"""Claude Code transcripts for the demo corpus: sessions and their sub-agents' sidechains."""

from __future__ import annotations

import base64
import re
from typing import Any

from store.demo import tools
from store.demo.common import Clock, Plan, Sink, Spent, World, iso, token, uuid4

# Layout: claude/projects/<encoded cwd>/<session uuid>.jsonl, and each sub-agent's sidechain in
# claude/projects/<encoded cwd>/<session uuid>/subagents/agent-<id>.jsonl (FORMATS.md §1.1).
# Replies are streamed as one line per content block sharing `message.id`; tool results come
# back as user lines with a `toolUseResult`; sub-agent lines carry the parent's `sessionId` with
# `isSidechain` and `agentId`.

CLAUDE_VERSIONS = ("1.0.51", "2.0.65", "2.1.17", "2.1.42")
CLAUDE_MODELS = ("claude-sonnet-4-5-20250929", "claude-opus-4-5-20251101", "claude-opus-4-6")
SUBAGENT_MODEL = "claude-haiku-4-5-20251001"
# fmt: off
SLUG_WORDS = (
    "zippy", "wondering", "wadler", "shimmying", "sparking", "wall", "wiggly", "hugging", "lynx",
    "quiet", "orbit", "maple",
)
# fmt: on
COMPACT_EVERY = 4_000
"""Lines between auto-compactions in very long sessions."""
ROUND_MAX = 8
"""Most lines one tool round writes (thinking, text, three calls, three results)."""


def _encode_cwd(cwd: str) -> str:
    """Claude Code's folder name for a working directory: every non-alphanumeric becomes `-`."""
    return re.sub(r"[^A-Za-z0-9]", "-", cwd)


class Claude:
    """Writes one Claude Code transcript (a session, or a sub-agent's sidechain)."""

    def __init__(
        self,
        world: World,
        plan: Plan,
        sink: Sink,
        clock: Clock,
        session_id: str,
        *,
        agent_id: str | None = None,
        model: str | None = None,
        version: str | None = None,
    ) -> None:
        rng = world.rng
        self.world, self.rng, self.vocab = world, rng, world.vocab
        self.plan, self.sink, self.clock = plan, sink, clock
        self.lang = plan.project.lang
        self.session_id = session_id
        self.agent_id = agent_id
        self.version = version or rng.choice(CLAUDE_VERSIONS)
        self.model = model or rng.choice(CLAUDE_MODELS)
        self.env: dict[str, Any] = {
            "isSidechain": agent_id is not None,
            "userType": "external",
            "cwd": plan.project.cwd,
            "sessionId": session_id,
            "version": self.version,
            "gitBranch": plan.branch,
        }
        if agent_id is not None:
            self.env["agentId"] = agent_id
        self.parent: str | None = None
        self.spawns = plan.spawns if agent_id is None else 0
        self.context = rng.randint(12_000, 30_000)

    @classmethod
    def top_level(cls, world: World, plan: Plan) -> None:
        sid = uuid4(world.rng)
        folder = world.root / "claude" / "projects" / _encode_cwd(plan.project.cwd)
        sink = Sink(folder / f"{sid}.jsonl", plan.budget)
        writer = cls(world, plan, sink, Clock(world.rng, plan.start_ms), sid)
        writer.run_session()
        sink.close(writer.clock.ms)
        world.stats.add_file(sid, sink.lines, sink.size, subagent=False)

    # -- whole transcripts --

    def run_session(self) -> None:
        try:
            self._preamble()
            next_compact = COMPACT_EVERY
            while self.sink.left > 1:  # a turn needs a prompt and an answer
                self._turn()
                if self.sink.lines >= next_compact and self.sink.left > 10:
                    self._compact()
                    next_compact += COMPACT_EVERY
        except Spent:
            pass

    def run_agent(self, prompt: str) -> None:
        """A sub-agent: one prompt from the parent, tool rounds, and a final report."""
        try:
            self._user({"role": "user", "content": prompt})
            while self.sink.left > ROUND_MAX + 2:
                self._round()
            self._final()
        except Spent:
            pass

    def _preamble(self) -> None:
        if self.rng.random() < 0.2:
            # Summaries of earlier chains pile up at the top of a later session.
            for _ in range(self.rng.randint(1, 4)):
                self.sink.put(
                    {
                        "type": "summary",
                        "summary": self.vocab.title(self.lang),
                        "leafUuid": uuid4(self.rng),
                    }
                )
        if self.version.startswith("2.1") and self.rng.random() < 0.5:
            self._line(
                "progress",
                {
                    "data": {
                        "type": "hook_progress",
                        "hookEvent": "SessionStart",
                        "hookName": "SessionStart:startup",
                        "command": "scripts/session-start.sh",
                    },
                    "parentToolUseID": uuid4(self.rng),
                    "toolUseID": uuid4(self.rng),
                },
                5,
                50,
            )

    # -- lines --

    def _line(
        self,
        kind: str,
        body: dict[str, Any],
        lo_ms: int,
        hi_ms: int,
        extra: dict[str, Any] | None = None,
        uid: str | None = None,
    ) -> str:
        """Write one conversation line (the envelope in Claude Code's key order)."""
        uid = uid or uuid4(self.rng)
        obj = {
            "parentUuid": self.parent,
            **self.env,
            "type": kind,
            **body,
            "uuid": uid,
            "timestamp": self.clock.tick(lo_ms, hi_ms),
        }
        if extra:
            obj.update(extra)
        self.sink.put(obj)
        self.parent = uid
        return uid

    def _user(
        self,
        message: dict[str, Any],
        extra: dict[str, Any] | None = None,
        lo_ms: int = 20_000,
        hi_ms: int = 400_000,
        uid: str | None = None,
    ) -> str:
        return self._line("user", {"message": message}, lo_ms, hi_ms, extra, uid)

    def _assistant(self, mid: str, rid: str, block: dict[str, Any], *, last: bool = False) -> None:
        out = self.rng.randint(80, 1500) if last else self.rng.randint(1, 40)
        usage = {
            "input_tokens": self.rng.randint(1, 9),
            "cache_creation_input_tokens": self.rng.randint(0, 4000),
            "cache_read_input_tokens": self.context,
            "cache_creation": {
                "ephemeral_5m_input_tokens": 0,
                "ephemeral_1h_input_tokens": self.rng.randint(0, 4000),
            },
            "output_tokens": out,
            "service_tier": "standard",
        }
        message = {
            "model": self.model,
            "id": mid,
            "type": "message",
            "role": "assistant",
            "content": [block],
            "stop_reason": "end_turn" if last else None,
            "stop_sequence": None,
            "usage": usage,
        }
        body = {"message": message, "requestId": rid}
        uid = uuid4(self.rng)
        obj = {
            "parentUuid": self.parent,
            **self.env,
            **body,
            "type": "assistant",
            "uuid": uid,
            "timestamp": self.clock.tick(300, 9_000),
        }
        self.sink.put(obj)
        self.parent = uid

    # -- turns --

    def _turn(self) -> None:
        """A prompt, tool rounds while the budget allows, and a Markdown answer."""
        prompt_id = uuid4(self.rng)
        if not self.version.startswith("1.") and self.sink.left > 3:
            self.sink.put(
                {
                    "type": "file-history-snapshot",
                    "messageId": prompt_id,
                    "snapshot": {
                        "messageId": prompt_id,
                        "trackedFileBackups": {},
                        "timestamp": iso(self.clock.ms + 1),
                    },
                    "isSnapshotUpdate": False,
                }
            )
        extra = {"permissionMode": "default"} if not self.version.startswith("1.") else None
        self._user({"role": "user", "content": self.vocab.prompt(self.lang)}, extra, uid=prompt_id)
        for _ in range(min(14, int(self.rng.expovariate(1 / 3.0)))):
            if self.sink.left <= ROUND_MAX + 3:
                break
            self._round()
        self._final()
        if self.rng.random() < 0.25 and self.version >= "2.1":
            self._line(
                "system",
                {
                    "subtype": "turn_duration",
                    "durationMs": self.rng.randint(2_000, 600_000),
                    "isMeta": False,
                },
                5,
                200,
            )
        if "slug" not in self.env and self.version >= "2.0.65":
            self.env["slug"] = "-".join(self.rng.sample(SLUG_WORDS, 3))

    def _round(self) -> None:
        """One API message: maybe thinking and text, then tool calls, then their results."""
        mid, rid = f"msg_01{token(self.rng, 22)}", f"req_011C{token(self.rng, 20)}"
        self.context += self.rng.randint(200, 3000)
        if self.rng.random() < 0.3:
            self._assistant(
                mid,
                rid,
                {
                    "type": "thinking",
                    "thinking": self.vocab.thinking(self.lang),
                    "signature": self._signature(),
                },
            )
        if self.rng.random() < 0.5:
            self._assistant(mid, rid, {"type": "text", "text": self.vocab.interim(self.lang)})
        if self.spawns and self.rng.random() < 0.2 and self.sink.left > 40:
            self._task(mid, rid)
            return
        calls = []
        for _ in range(self.rng.choice((1, 1, 1, 2, 3))):
            action = tools.action(self.vocab, self.lang, self.plan.project.cwd, self.plan.branch)
            tool_id = f"toolu_01{token(self.rng, 22)}"
            self._assistant(
                mid,
                rid,
                {"type": "tool_use", "id": tool_id, "name": action.tool, "input": action.input},
            )
            calls.append((tool_id, action))
        for tool_id, action in calls:
            block = {
                "tool_use_id": tool_id,
                "type": "tool_result",
                "content": action.output,
                "is_error": action.failed,
            }
            self._user(
                {"role": "user", "content": [block]}, {"toolUseResult": action.result}, 50, 20_000
            )

    def _final(self) -> None:
        mid, rid = f"msg_01{token(self.rng, 22)}", f"req_011C{token(self.rng, 20)}"
        if self.rng.random() < 0.2 and self.sink.left > 1:
            self._assistant(
                mid,
                rid,
                {
                    "type": "thinking",
                    "thinking": self.vocab.thinking(self.lang),
                    "signature": self._signature(),
                },
            )
        self._assistant(mid, rid, {"type": "text", "text": self.vocab.answer(self.lang)}, last=True)

    def _signature(self) -> str:
        return base64.b64encode(self.rng.randbytes(self.rng.randint(180, 480))).decode()

    def _compact(self) -> None:
        """Auto-compaction: a boundary with a null parent, then the summary as a user line."""
        before = self.parent
        self.parent = None
        self._line(
            "system",
            {
                "subtype": "compact_boundary",
                "content": "Conversation compacted",
                "isMeta": False,
                "level": "info",
                "logicalParentUuid": before,
                "compactMetadata": {"trigger": "auto", "preTokens": self.context},
            },
            1_000,
            30_000,
        )
        summary = (
            "This session is being continued from a previous conversation that ran out "
            "of context. The conversation is summarized below:\n" + self.vocab.answer(self.lang)
        )
        self._user(
            {"role": "user", "content": summary},
            {"isCompactSummary": True, "isVisibleInTranscriptOnly": True},
            10,
            500,
        )
        self.context = self.rng.randint(12_000, 30_000)

    # -- sub-agents --

    def _task(self, mid: str, rid: str) -> None:
        """A Task call: the sub-agent's own file is written, then its report comes back."""
        self.spawns -= 1
        budget = min(self.sink.left // 3, max(16, int(self.rng.lognormvariate(3.6, 0.7))))
        tool_id = f"toolu_01{token(self.rng, 22)}"
        prompt = f"{self.vocab.prompt(self.lang)}. Report what you find; do not edit files."
        task_input = {
            "description": self.vocab.title(self.lang),
            "prompt": prompt,
            "subagent_type": "Explore",
        }
        self._assistant(
            mid, rid, {"type": "tool_use", "id": tool_id, "name": "Task", "input": task_input}
        )
        started = self.clock.ms
        agent_id = "a" + f"{self.rng.getrandbits(64):016x}"
        report = self._spawn(agent_id, prompt, budget)
        content = [
            {"type": "text", "text": report},
            {
                "type": "text",
                "text": (
                    f"agentId: {agent_id} (for resuming to continue this agent's work if needed)"
                ),
            },
        ]
        result = {
            "status": "completed",
            "prompt": prompt,
            "agentId": agent_id,
            "content": content[:1],
            "totalDurationMs": self.clock.ms - started,
            "totalTokens": self.rng.randint(5_000, 90_000),
            "totalToolUseCount": budget // 3,
        }
        block = {"tool_use_id": tool_id, "type": "tool_result", "content": content}
        self._user({"role": "user", "content": [block]}, {"toolUseResult": result}, 100, 3_000)

    def _spawn(self, agent_id: str, prompt: str, budget: int) -> str:
        """Write the sub-agent's file from this session's budget; returns its final report."""
        folder = self.sink.path.with_suffix("") / "subagents"
        sink = Sink(folder / f"agent-{agent_id}.jsonl", budget)
        self.sink.left -= budget
        child = Claude(
            self.world,
            self.plan,
            sink,
            Clock(self.rng, self.clock.ms),
            self.session_id,
            agent_id=agent_id,
            model=SUBAGENT_MODEL,
            version=self.version,
        )
        child.run_agent(prompt)
        self.sink.left += sink.left  # lines the child did not use go back to the parent
        sink.close(child.clock.ms)
        self.clock.ms = child.clock.ms
        key = f"{self.session_id}#agent-{agent_id}"
        self.world.stats.add_file(key, sink.lines, sink.size, subagent=True)
        return self.vocab.answer(self.lang)
