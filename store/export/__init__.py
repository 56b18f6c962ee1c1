"""A session written out: its original log lines (JSONL) or Markdown; uses the core only."""
