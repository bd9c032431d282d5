"""What the SQL guard accepts, kept as data: allowed functions and refused statement kinds.

Functions are allowed by name, per dialect. The default lists hold only functions that
compute a value from their arguments: aggregates, window functions, math, string,
date/time, JSON reading and building, arrays, casts and conditionals. Nothing that takes
SQL text, touches files, sessions, locks, sequences, settings, large objects, other
connections, or the catalog. Extend a list in code with an explicit parameter:

```python
Database(url, tables=["orders"],
         allowed_functions=ALLOWED_FUNCTIONS["postgres"] | {"my_pure_function"})
```
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

MAX_SQL_CHARS = 20_000
"""Longer statements are refused before parsing (the model has no need for them)."""

COMMON_FUNCTIONS: frozenset[str] = frozenset(
    {
        # aggregates and window functions
        "count", "sum", "avg", "min", "max",
        "row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile",
        "lag", "lead", "first_value", "last_value", "nth_value",
        # conditionals and syntax sqlglot models as functions
        "coalesce", "nullif", "case", "cast", "extract", "like",
        "current_date", "current_time", "current_timestamp",
        # math
        "abs", "ceil", "ceiling", "floor", "round", "trunc", "sign", "sqrt", "exp", "ln",
        "log", "log10", "power", "pow", "mod", "pi", "degrees", "radians",
        "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "tanh",
        "asinh", "acosh", "atanh",
        # strings
        "length", "lower", "upper", "trim", "ltrim", "rtrim", "replace", "substr", "substring",
    }
)  # fmt: skip
"""Standard functions with the same meaning in every supported dialect."""

POSTGRES_FUNCTIONS: frozenset[str] = COMMON_FUNCTIONS | frozenset(
    {
        # aggregates
        "array_agg", "string_agg", "bool_and", "bool_or", "every", "bit_and", "bit_or",
        "bit_xor", "stddev", "stddev_pop", "stddev_samp", "variance", "var_pop", "var_samp",
        "corr", "covar_pop", "covar_samp", "regr_avgx", "regr_avgy", "regr_count",
        "regr_intercept", "regr_r2", "regr_slope", "regr_sxx", "regr_sxy", "regr_syy",
        "mode", "percentile_cont", "percentile_disc",
        "json_agg", "jsonb_agg", "json_object_agg", "jsonb_object_agg",
        # math and comparison
        "cbrt", "char", "div", "factorial", "interval", "gcd", "lcm", "min_scale", "scale",
        "trim_scale", "width_bucket", "random", "cot", "acosd", "asind", "atand", "atan2d",
        "cosd", "cotd", "sind", "tand", "greatest", "least", "num_nulls", "num_nonnulls",
        # strings and bytes
        "ascii", "bit_length", "btrim", "char_length", "character_length", "chr", "concat",
        "concat_ws", "format", "left", "right", "lpad", "rpad", "md5", "normalize",
        "octet_length", "overlay", "position", "quote_ident", "quote_literal",
        "quote_nullable", "regexp_count", "regexp_instr", "regexp_like", "regexp_match",
        "regexp_matches", "regexp_replace", "regexp_split_to_array", "regexp_split_to_table",
        "regexp_substr", "repeat", "reverse", "split_part", "starts_with", "strpos",
        "translate", "encode", "decode", "sha224", "sha256", "sha384", "sha512",
        "get_byte", "get_bit", "string_to_array", "string_to_table", "array_to_string",
        # date and time
        "age", "clock_timestamp", "date_bin", "date_part", "date_trunc", "isfinite",
        "justify_days", "justify_hours", "justify_interval", "localtime", "localtimestamp",
        "make_date", "make_interval", "make_time", "make_timestamp", "make_timestamptz",
        "now", "statement_timestamp", "transaction_timestamp", "timeofday", "to_char",
        "to_date", "to_number", "to_timestamp", "timezone",
        # JSON
        "to_json", "to_jsonb", "array_to_json", "row_to_json", "json_build_array",
        "jsonb_build_array", "json_build_object", "jsonb_build_object", "json_object",
        "jsonb_object", "json_array_elements", "jsonb_array_elements",
        "json_array_elements_text", "jsonb_array_elements_text", "json_array_length",
        "jsonb_array_length", "json_each", "jsonb_each", "json_each_text", "jsonb_each_text",
        "json_extract_path", "jsonb_extract_path", "json_extract_path_text",
        "jsonb_extract_path_text", "json_object_keys", "jsonb_object_keys",
        # json(b)_populate_record(set) are not here: they take a row type, and the row
        # type of a table names its columns
        "json_to_record", "jsonb_to_record", "json_to_recordset",
        "jsonb_to_recordset", "json_strip_nulls", "jsonb_strip_nulls", "json_typeof",
        "jsonb_typeof", "jsonb_set", "jsonb_insert", "jsonb_pretty", "jsonb_path_exists",
        "jsonb_path_match", "jsonb_path_query", "jsonb_path_query_array",
        "jsonb_path_query_first", "jsonb_contains", "jsonb_exists",
        # arrays and set-returning functions
        "array", "array_append", "array_cat", "array_dims", "array_fill", "array_length",
        "array_lower", "array_ndims", "array_position", "array_positions", "array_prepend",
        "array_remove", "array_replace", "array_upper", "cardinality", "trim_array",
        "unnest", "generate_series", "generate_subscripts",
        # text search on values (ts_stat and ts_rewrite, which run SQL text, are not here)
        "to_tsvector", "to_tsquery", "plainto_tsquery", "phraseto_tsquery",
        "websearch_to_tsquery", "ts_rank", "ts_rank_cd", "ts_headline", "setweight",
        # types and identifiers
        "gen_random_uuid", "pg_typeof",
    }
)  # fmt: skip
"""PostgreSQL: the default allow list."""

SQLITE_FUNCTIONS: frozenset[str] = COMMON_FUNCTIONS | frozenset(
    {
        "total", "group_concat", "char", "format", "printf", "glob", "hex", "ifnull", "iif",
        "instr", "likelihood", "likely", "unlikely", "quote", "random", "randomblob",
        "zeroblob", "typeof", "unicode", "log2",
        "date", "time", "datetime", "julianday", "unixepoch", "strftime",
        "json", "json_array", "json_array_length", "json_extract", "json_insert",
        "json_object", "json_patch", "json_remove", "json_replace", "json_set", "json_type",
        "json_valid", "json_quote", "json_group_array", "json_group_object",
        "json_each", "json_tree",
    }
)  # fmt: skip
"""SQLite: the default allow list (pragma_* table functions and sqlite_* are not on it)."""

ALLOWED_FUNCTIONS: Mapping[str, frozenset[str]] = MappingProxyType(
    {"postgres": POSTGRES_FUNCTIONS, "sqlite": SQLITE_FUNCTIONS}
)
"""sqlglot dialect -> functions allowed by default; other dialects get COMMON_FUNCTIONS."""


def default_functions(dialect: str) -> frozenset[str]:
    """The default allow list of a dialect."""
    return ALLOWED_FUNCTIONS.get(dialect, COMMON_FUNCTIONS)


ALLOWED_TYPES: frozenset[str] = frozenset(
    {
        "BOOLEAN", "TINYINT", "SMALLINT", "INT", "BIGINT", "DECIMAL", "FLOAT", "DOUBLE",
        "MONEY", "BIT", "CHAR", "NCHAR", "VARCHAR", "NVARCHAR", "BPCHAR", "TEXT", "NAME",
        "BINARY", "VARBINARY", "BLOB", "DATE", "TIME", "TIMETZ", "TIMESTAMP", "TIMESTAMPTZ",
        "DATETIME", "INTERVAL", "UUID", "JSON", "JSONB", "INET",
        "ARRAY",  # an array of an allowed element type: the element is checked too
    }
)  # fmt: skip
"""Types a statement may name (casts, column definition lists, arrays), as sqlglot's
DataType kinds: built-in scalars only. A name sqlglot does not know as built-in is a
user-defined type, and every table has a row type of its name (``NULL::secrets``) that
would show its columns, so it is refused, schema-qualified built-ins included."""

ALLOWED_OBJECT_IDENTIFIERS: frozenset[str] = frozenset({"oid"})
"""Object-identifier types that may be named: only the plain number. A cast to regclass,
regtype and the others looks a name up in the catalog."""

DENIED_STATEMENT_NODES: tuple[str, ...] = (
    "Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter", "TruncateTable",
    "Command", "Copy", "Into", "Lock", "Set", "Pragma", "Transaction", "Commit", "Rollback",
    "Use", "Grant", "Revoke", "LoadData", "Attach", "Detach", "Analyze", "Describe", "Show",
    "Refresh", "Cache", "Uncache", "Kill", "Declare", "Execute", "Summarize",
)  # fmt: skip
"""Statement kinds never allowed inside a read query (class names in sqlglot.exp)."""
