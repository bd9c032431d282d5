"""What the SQL guard refuses, kept as data: denied functions and statement kinds.

Extend a list by passing ``denied_functions=DENIED_FUNCTIONS | {...}`` to the guard.
"""

from __future__ import annotations

MAX_SQL_CHARS = 20_000
"""Longer statements are refused before parsing (the model has no need for them)."""

DENIED_FUNCTIONS: frozenset[str] = frozenset(
    {
        # PostgreSQL: files, large objects, other connections, settings, sleeping, signals
        "pg_read_file", "pg_read_binary_file", "pg_ls_dir", "pg_stat_file", "pg_file_write",
        "lo_import", "lo_export", "lo_get", "lo_put", "lo_from_bytea", "lo_create", "lo_unlink",
        "dblink", "dblink_exec", "dblink_connect", "dblink_send_query",
        "set_config", "current_setting", "pg_sleep", "pg_sleep_for", "pg_sleep_until",
        "pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf", "pg_notify",
        "nextval", "setval", "txid_current",
        # PostgreSQL: functions that run SQL given as text (would bypass the table check)
        "query_to_xml", "query_to_xmlschema", "query_to_xml_and_xmlschema",
        "table_to_xml", "table_to_xmlschema", "table_to_xml_and_xmlschema",
        "cursor_to_xml", "cursor_to_xmlschema", "schema_to_xml", "schema_to_xmlschema",
        "schema_to_xml_and_xmlschema", "database_to_xml", "database_to_xmlschema",
        "database_to_xml_and_xmlschema",
        # SQLite: extensions and the shell's file functions
        "load_extension", "readfile", "writefile", "edit", "fts3_tokenizer",
        # MySQL
        "load_file", "sleep", "benchmark", "sys_exec", "sys_eval",
    }
)  # fmt: skip
"""Functions refused wherever they appear (lower-case names; schema qualification ignored)."""

DENIED_FUNCTION_PREFIXES: tuple[str, ...] = ("pg_", "lo_", "dblink")
"""Whole families refused: server administration and large objects."""

ALLOWED_PREFIXED_FUNCTIONS: frozenset[str] = frozenset({"pg_typeof"})
"""Harmless exceptions to the prefixes above."""

DENIED_STATEMENT_NODES: tuple[str, ...] = (
    "Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter", "TruncateTable",
    "Command", "Copy", "Into", "Lock", "Set", "Pragma", "Transaction", "Commit", "Rollback",
    "Use", "Grant", "Revoke", "LoadData", "Attach", "Detach", "Analyze", "Describe", "Show",
    "Refresh", "Cache", "Uncache", "Kill", "Declare", "Execute", "Summarize",
)  # fmt: skip
"""Statement kinds never allowed inside a read query (class names in sqlglot.exp)."""
