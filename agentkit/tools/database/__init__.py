"""SQL databases for agents: read-only by construction, writes only where configured.

Every statement passes the SQL guard (one statement, allowed tables, allowed
functions) and then runs on a connection the database itself holds read-only:
SQLite opened with ``mode=ro`` and ``PRAGMA query_only``, PostgreSQL inside
``SET TRANSACTION READ ONLY`` with a ``statement_timeout``. Read transactions are
always rolled back. Writes go through `Database.execute`, limited per table and
operation, and the tool built on it is destructive (a person confirms each call).

```python
db = Database("sqlite:///shop.db", tables=["orders"], untrusted_columns={"orders": ["note"]})
result = db.query("SELECT id, total FROM orders WHERE id = ?", [7])
result.rows, result.truncated, result.untrusted
```
"""

from __future__ import annotations

from agentkit.errors import QueryTimeout
from agentkit.tools.database.facade import Database, ExecuteResult, QueryResult
from agentkit.tools.database.toolset import database_tools

__all__ = ["Database", "ExecuteResult", "QueryResult", "QueryTimeout", "database_tools"]
