"""Full-text search: query parsing, the search itself, snippets; uses the core (its index)."""
