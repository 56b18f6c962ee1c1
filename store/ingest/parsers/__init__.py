"""Pure parsers, one per agent format: lines in, records out; they use `store.records` only."""
