"""The bot's database: engine, tables, leases and the dialect-aware insert (SQLite or PostgreSQL)."""
