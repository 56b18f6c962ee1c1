"""The Peewee models: log files, sessions, messages, parts, jobs and failures.

Times are UTC epoch milliseconds (integers) everywhere. `ChatMessage.seq` is owned by the
database (see `store.append`): nothing in Python computes one.
"""

from __future__ import annotations

from peewee import (
    AutoField,
    BigIntegerField,
    BlobField,
    BooleanField,
    DatabaseProxy,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

db = DatabaseProxy()
"""The store every model is bound to; `store.db.open_store` initialises it."""


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


class Source(BaseModel):
    """One log file (or one record store, such as an opencode database) and how far it was read."""

    id = AutoField()
    path = TextField(unique=True)
    agent = TextField()
    size = BigIntegerField(default=0)
    mtime_ns = BigIntegerField(default=0)
    offset = BigIntegerField(default=0)
    """Bytes consumed: everything before this offset is in the store."""
    head_len = IntegerField(default=0)
    head_hash = TextField(null=True)
    """Hash of the first `head_len` bytes, to notice a rewritten file."""
    lines = IntegerField(default=0)
    """Line number of the last consumed line."""
    lines_ok = IntegerField(default=0)
    lines_bad = IntegerField(default=0)
    lines_unknown = IntegerField(default=0)
    lines_dup = IntegerField(default=0)
    state = TextField(default="{}")
    """The parser's state after the last consumed line (JSON)."""
    last_seen = BigIntegerField(null=True)
    gone_since = BigIntegerField(null=True)
    """Set when the file has disappeared from disk: its sessions are kept."""
    last_error = TextField(null=True)


class Session(BaseModel):
    """A conversation, as the agent identifies it (agent + native id), not as a file."""

    id = AutoField()
    agent = TextField()
    native_id = TextField()
    parent = ForeignKeyField("self", null=True, backref="children", on_delete="SET NULL")
    """The session that spawned this one (sub-agent threads)."""
    resumed_from = ForeignKeyField(
        "self", null=True, on_delete="SET NULL", column_name="resumed_from_id"
    )
    source = ForeignKeyField(Source, null=True, backref="sessions", on_delete="SET NULL")
    project = TextField(null=True)
    title = TextField(null=True)
    first_prompt = TextField(null=True)
    git_branch = TextField(null=True)
    model = TextField(null=True)
    started_at = BigIntegerField(null=True)
    updated_at = BigIntegerField(default=0)
    """Last activity (the newest message time), 0 when unknown; the list's sort key."""
    message_count = IntegerField(default=0)
    """Visible messages (kept by the append path; `repair` can recount)."""

    class Meta:
        indexes = (
            (("agent", "native_id"), True),
            (("updated_at", "id"), False),
            (("message_count", "id"), False),
        )


class ChatMessage(BaseModel):
    """One record of a session. `seq` is assigned by the INSERT itself (rule 1)."""

    id = AutoField()
    session = ForeignKeyField(Session, backref="messages", on_delete="CASCADE", index=False)
    seq = IntegerField()
    stable_id = TextField()
    native_id = TextField(null=True)
    group_id = TextField(null=True)
    role = TextField()
    kind = TextField()
    line_type = TextField(default="")
    timestamp = BigIntegerField(null=True)
    model = TextField(null=True)
    tokens_in = IntegerField(null=True)
    tokens_out = IntegerField(null=True)
    text = TextField(default="")
    hidden = BooleanField(default=False)
    stale = BooleanField(default=False)
    """No longer in its log file (the file was rewritten without it); kept, not shown."""
    source = ForeignKeyField(Source, null=True, on_delete="SET NULL", index=False)
    line = IntegerField(null=True)
    record = BlobField(null=True, column_name="raw")
    """The original record (log line), zstd-compressed. (`Model.raw` is taken by Peewee.)"""

    class Meta:
        table_name = "message"
        indexes = (
            (("session", "seq"), True),
            (("session", "stable_id"), True),
        )


class Part(BaseModel):
    """One content block of a message. `text` NULL means: the same as the message's text."""

    id = AutoField()
    message = ForeignKeyField(
        ChatMessage,
        backref="parts",
        on_delete="CASCADE",
        deferrable="INITIALLY DEFERRED",
        index=False,
    )
    idx = IntegerField()
    type = TextField()
    text = TextField(null=True)
    tool_name = TextField(null=True)
    tool_id = TextField(null=True)
    is_error = BooleanField(default=False)

    class Meta:
        indexes = ((("message", "idx"), False),)


class Job(BaseModel):
    """A long, chunked job (repair, backfill, migration): its progress survives a restart."""

    id = AutoField()
    name = TextField()
    status = TextField(default="pending")
    """pending | running | done | failed | cancelled"""
    rows_done = IntegerField(default=0)
    rows_total = IntegerField(default=0)
    cursor = BigIntegerField(default=0)
    max_id = BigIntegerField(default=0)
    params = TextField(default="{}")
    pid = IntegerField(null=True)
    started_at = BigIntegerField(null=True)
    updated_at = BigIntegerField(null=True)
    finished_at = BigIntegerField(null=True)
    rate = BigIntegerField(null=True)
    """Rows per second over the job so far."""
    error = TextField(null=True)


class Failure(BaseModel):
    """A commit that failed or a log line that was rejected, with its context."""

    id = AutoField()
    at = BigIntegerField()
    kind = TextField()
    """`commit` or `line`"""
    event_id = TextField(null=True)
    event_type = TextField(null=True)
    session_key = TextField(null=True)
    source_path = TextField(null=True)
    line = IntegerField(null=True)
    error = TextField()
    detail = TextField(null=True)


MODELS: list[type[BaseModel]] = [Source, Session, ChatMessage, Part, Job, Failure]
