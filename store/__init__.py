"""convo's store: the Peewee/SQLite index of agent logs. Never imports textual or rich."""
