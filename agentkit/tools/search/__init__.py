"""Web search and X search, two ways.

Server-side (xAI runs the search; agentkit sends the filters and reports what happened):

```python
class Researcher(Agent):
    server_tools = [web_search(allowed_domains=["docs.python.org"]), x_search()]
    # or, with the filters the policy declares: server_tools = server_search_tools(policy, x=True)
```

Client-side (a `web_search` function tool over an approved index):

```python
class Researcher(Agent):
    tools = [web_search_tool(SearxngBackend("https://search.internal.example"), cache_ttl=60)]
```
"""

from __future__ import annotations

from agentkit.errors import SearchFailed
from agentkit.tools.search.backends import SearchBackend, SearchHit, SearxngBackend, parse_searxng
from agentkit.tools.search.client_tool import web_search_tool
from agentkit.tools.search.entries import (
    MAX_COLLECTIONS,
    MAX_DOMAINS,
    MAX_X_HANDLES,
    file_search,
    web_search,
    x_search,
)
from agentkit.tools.search.filters import (
    SearchFilters,
    policy_domain_filters,
    policy_handle_filters,
    policy_web_search,
    policy_x_search,
    search_allowed,
    server_search_tools,
)

__all__ = [
    "MAX_COLLECTIONS",
    "MAX_DOMAINS",
    "MAX_X_HANDLES",
    "SearchBackend",
    "SearchFailed",
    "SearchFilters",
    "SearchHit",
    "SearxngBackend",
    "file_search",
    "parse_searxng",
    "policy_domain_filters",
    "policy_handle_filters",
    "policy_web_search",
    "policy_x_search",
    "search_allowed",
    "server_search_tools",
    "web_search",
    "web_search_tool",
    "x_search",
]
