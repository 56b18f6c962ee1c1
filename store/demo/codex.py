"""Codex CLI rollouts for the demo corpus: threads and the sub-agent threads they spawn."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import orjson

from store.demo import tools
from store.demo.common import Clock, Plan, Sink, Spent, World, iso, token, uuid7

# Layout: codex/sessions/YYYY/MM/DD/rollout-YYYY-MM-DDThh-mm-ss-<uuid>.jsonl (FORMATS.md §2.1).
# A rollout starts with `session_meta` and writes prompts and answers twice (`response_item` and
# an `event_msg` mirror).

CODEX_VERSIONS = ("0.47.0", "0.63.0", "0.77.0", "0.98.0")
CODEX_MODELS = ("gpt-5-codex", "gpt-5.1-codex-max", "gpt-5.2-codex")
CODEX_ROUND_MAX = 6
"""Most lines one Codex round writes (a spawn: call, event, output, wait, event, output)."""


class Codex:
    """Writes one Codex rollout file (a thread, or a spawned sub-agent thread)."""

    def __init__(
        self,
        world: World,
        plan: Plan,
        sink: Sink,
        clock: Clock,
        thread_id: str,
        *,
        parent_meta: dict[str, Any] | None = None,
    ) -> None:
        rng = world.rng
        self.world, self.rng, self.vocab = world, rng, world.vocab
        self.plan, self.sink, self.clock = plan, sink, clock
        self.lang, self.cwd = plan.project.lang, plan.project.cwd
        self.thread_id = thread_id
        self.version = rng.choice(CODEX_VERSIONS)
        self.model = rng.choice(CODEX_MODELS)
        self.parent_meta = parent_meta
        self.spawns = plan.spawns if parent_meta is None else 0
        self.totals = {
            "input_tokens": 0,
            "cached_input_tokens": 0,
            "output_tokens": 0,
            "reasoning_output_tokens": 0,
            "total_tokens": 0,
        }
        self.meta: dict[str, Any] = {}

    @classmethod
    def top_level(cls, world: World, plan: Plan) -> None:
        tid = uuid7(world.rng, plan.start_ms)
        sink = Sink(_rollout_path(world.root, plan.start_ms, tid), plan.budget)
        writer = cls(world, plan, sink, Clock(world.rng, plan.start_ms), tid)
        writer.run()
        sink.close(writer.clock.ms)
        world.stats.add_file(tid, sink.lines, sink.size, subagent=False)

    def run(self, first_prompt: str | None = None) -> None:
        try:
            self._session_meta()
            if self.parent_meta is not None:
                # A spawned thread's file repeats the parent's session_meta after its own.
                self._put("session_meta", self.parent_meta)
            self._context_messages()
            prompt = first_prompt
            while self.sink.left > 2:
                self._turn(prompt or self.vocab.prompt(self.lang))
                prompt = None
        except Spent:
            pass

    # -- lines --

    def _put(self, kind: str, payload: dict[str, Any], lo_ms: int = 5, hi_ms: int = 400) -> None:
        self.sink.put(
            {"timestamp": self.clock.tick(lo_ms, hi_ms), "type": kind, "payload": payload}
        )

    def _item(self, payload: dict[str, Any], lo_ms: int = 5, hi_ms: int = 400) -> None:
        self._put("response_item", payload, lo_ms, hi_ms)

    def _event(self, payload: dict[str, Any], lo_ms: int = 1, hi_ms: int = 60) -> None:
        self._put("event_msg", payload, lo_ms, hi_ms)

    def _message(self, role: str, text: str, lo_ms: int = 5, hi_ms: int = 400) -> None:
        kind = "output_text" if role == "assistant" else "input_text"
        self._item(
            {"type": "message", "role": role, "content": [{"type": kind, "text": text}]},
            lo_ms,
            hi_ms,
        )

    # -- session start --

    def _session_meta(self) -> None:
        source: Any = "cli"
        if self.parent_meta is not None:
            source = {
                "subagent": {
                    "thread_spawn": {
                        "parent_thread_id": self.parent_meta["id"],
                        "depth": 1,
                        "agent_role": "explorer",
                    }
                }
            }
        self.meta = {
            "id": self.thread_id,
            "timestamp": iso(self.clock.ms),
            "cwd": self.cwd,
            "originator": "codex_cli_rs",
            "cli_version": self.version,
            "instructions": None,
            "source": source,
            "model_provider": "openai",
            "git": {
                "commit_hash": f"{self.rng.getrandbits(160):040x}",
                "branch": self.plan.branch or "main",
                "repository_url": f"git@github.com:acme/{self.plan.project.repo}.git",
            },
        }
        self._put("session_meta", self.meta, 1, 20)

    def _context_messages(self) -> None:
        if self.rng.random() < 0.5:
            self._message(
                "user",
                f"# AGENTS.md instructions for {self.cwd}\n\n<INSTRUCTIONS>\n"
                "- Run the tests before you say you are done.\n- Keep functions short."
                "\n- Never commit secrets.\n</INSTRUCTIONS>",
                1,
                5,
            )
        self._message(
            "user",
            f"<environment_context>\n  <cwd>{self.cwd}</cwd>\n"
            "  <approval_policy>on-request</approval_policy>\n"
            "  <sandbox_mode>workspace-write</sandbox_mode>\n"
            "  <network_access>restricted</network_access>\n  <shell>bash</shell>\n"
            "</environment_context>",
            1,
            5,
        )

    # -- turns --

    def _turn(self, prompt: str) -> None:
        turn_id = uuid7(self.rng, self.clock.ms)
        self._message("user", prompt, 20_000, 400_000)
        self._event({"type": "user_message", "message": prompt, "images": []})
        self._put(
            "turn_context",
            {
                "turn_id": turn_id,
                "cwd": self.cwd,
                "approval_policy": "on-request",
                "sandbox_policy": {"type": "workspace-write", "network_access": False},
                "model": self.model,
                "effort": "medium",
                "summary": "auto",
            },
        )
        self._event({"type": "task_started", "turn_id": turn_id, "model_context_window": 258_400})
        for _ in range(min(14, int(self.rng.expovariate(1 / 3.0)))):
            if self.sink.left <= CODEX_ROUND_MAX + 4:
                break
            self._round()
        answer = self.vocab.answer(self.lang)
        self._event({"type": "agent_message", "message": answer}, 300, 9_000)
        self._message("assistant", answer, 1, 20)
        self._token_count()
        self._event({"type": "task_complete", "turn_id": turn_id, "last_agent_message": answer})

    def _round(self) -> None:
        if self.rng.random() < 0.6:
            self._reasoning()
        if self.spawns and self.rng.random() < 0.2 and self.sink.left > 40:
            self._spawn()
            return
        action = tools.action(self.vocab, self.lang, self.cwd, self.plan.branch)
        call_id = f"call_{token(self.rng, 24)}"
        if action.patch:
            self._item(
                {
                    "type": "custom_tool_call",
                    "status": "completed",
                    "call_id": call_id,
                    "name": "apply_patch",
                    "input": action.shell,
                },
                300,
                9_000,
            )
            self._token_count()
            self._item(
                {
                    "type": "custom_tool_call_output",
                    "call_id": call_id,
                    "output": self._output(action.shell_output, False),
                },
                20,
                2_000,
            )
            return
        self._call(
            call_id,
            "shell",
            {"command": ["bash", "-lc", action.shell], "workdir": self.cwd, "timeout_ms": 120_000},
        )
        self._token_count()
        self._item(
            {
                "type": "function_call_output",
                "call_id": call_id,
                "output": self._output(action.shell_output, action.failed),
            },
            20,
            20_000,
        )

    def _call(self, call_id: str, name: str, arguments: dict[str, Any]) -> None:
        self._item(
            {
                "type": "function_call",
                "name": name,
                "arguments": orjson.dumps(arguments).decode(),
                "call_id": call_id,
            },
            300,
            9_000,
        )

    def _output(self, text: str, failed: bool) -> str:
        """A tool output as this CLI version wrote it: JSON in a string (old) or plain text."""
        code = 1 if failed else 0
        seconds = round(self.rng.uniform(0.0, 4.0), 1)
        if self.version < "0.6":
            return orjson.dumps(
                {"output": text, "metadata": {"exit_code": code, "duration_seconds": seconds}}
            ).decode()
        return f"Exit code: {code}\nWall time: {seconds} seconds\nOutput:\n{text}"

    def _reasoning(self) -> None:
        summary = self.vocab.thinking(self.lang)
        self._event({"type": "agent_reasoning", "text": summary}, 300, 9_000)
        secret = base64.urlsafe_b64encode(self.rng.randbytes(self.rng.randint(300, 1100)))
        self._item(
            {
                "type": "reasoning",
                "summary": [{"type": "summary_text", "text": summary}],
                "content": None,
                "encrypted_content": "gAAAAAB" + secret.decode(),
            },
            1,
            20,
        )

    def _token_count(self) -> None:
        last = {
            "input_tokens": self.rng.randint(2_000, 40_000),
            "cached_input_tokens": self.rng.randint(0, 30_000),
            "output_tokens": self.rng.randint(20, 900),
            "reasoning_output_tokens": 64,
        }
        last["total_tokens"] = last["input_tokens"] + last["output_tokens"]
        for key, value in last.items():
            self.totals[key] += value
        self._event(
            {
                "type": "token_count",
                "info": {
                    "total_token_usage": dict(self.totals),
                    "last_token_usage": last,
                    "model_context_window": 258_400,
                },
                "rate_limits": {
                    "primary": {
                        "used_percent": round(self.rng.uniform(0, 90), 1),
                        "window_minutes": 300,
                    },
                    "secondary": {
                        "used_percent": round(self.rng.uniform(0, 60), 1),
                        "window_minutes": 10_080,
                    },
                },
            }
        )

    # -- sub-agents --

    def _spawn(self) -> None:
        """spawn_agent, the child's own rollout, then wait_agent with the child's answer."""
        self.spawns -= 1
        budget = min(self.sink.left // 3, max(16, int(self.rng.lognormvariate(3.6, 0.7))))
        prompt = f"{self.vocab.prompt(self.lang)}. Report back; do not edit files."
        spawn_id, wait_id = f"call_{token(self.rng, 24)}", f"call_{token(self.rng, 24)}"
        self._call(spawn_id, "spawn_agent", {"agent_type": "explorer", "message": prompt})
        child_id = uuid7(self.rng, self.clock.ms)
        self._event(
            {
                "type": "collab_agent_spawn_end",
                "call_id": spawn_id,
                "new_thread_id": child_id,
                "new_agent_role": "explorer",
            }
        )
        self._item(
            {
                "type": "function_call_output",
                "call_id": spawn_id,
                "output": orjson.dumps({"agent_id": child_id}).decode(),
            },
            5,
            50,
        )
        self._child(child_id, prompt, budget)
        self._call(wait_id, "wait_agent", {"targets": [child_id]})
        self._event(
            {
                "type": "collab_waiting_end",
                "call_id": wait_id,
                "agent_statuses": [{"thread_id": child_id, "agent_role": "explorer"}],
            }
        )
        self._item(
            {
                "type": "function_call_output",
                "call_id": wait_id,
                "output": self.vocab.answer(self.lang),
            },
            5,
            50,
        )

    def _child(self, child_id: str, prompt: str, budget: int) -> None:
        sink = Sink(_rollout_path(self.world.root, self.clock.ms, child_id), budget)
        self.sink.left -= budget
        child = Codex(
            self.world,
            self.plan,
            sink,
            Clock(self.rng, self.clock.ms),
            child_id,
            parent_meta=self.meta,
        )
        child.run(first_prompt=prompt)
        self.sink.left += sink.left
        sink.close(child.clock.ms)
        self.clock.ms = child.clock.ms
        self.world.stats.add_file(child_id, sink.lines, sink.size, subagent=True)


def _rollout_path(root: Path, start_ms: int, thread_id: str) -> Path:
    """`sessions/YYYY/MM/DD/rollout-YYYY-MM-DDThh-mm-ss-<id>.jsonl` (UTC here, for determinism;
    Codex itself uses local time in the name)."""
    t = time.gmtime(start_ms // 1000)
    day = time.strftime("%Y/%m/%d", t)
    stamp = time.strftime("%Y-%m-%dT%H-%M-%S", t)
    return root / "codex" / "sessions" / day / f"rollout-{stamp}-{thread_id}.jsonl"
