"""convo's Textual app and command line. Imports store, never the reverse."""
