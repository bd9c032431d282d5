"""Responses the fake server answered: for GET /v1/responses/{id} and turn counting.

Every answer is remembered with its turn index, and every item id and call id it issued
points back to it, so a conversation's position is derived from the request alone.
Safe across threads; the oldest entries are forgotten past ``capacity``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """One answer: its body, its turn index, and whether the client may retrieve it."""

    body: dict[str, Any]
    turn_index: int
    retrievable: bool


class ResponseStore:
    """Answered responses by id, and the response that issued each item or call id."""

    def __init__(self, capacity: int = 200_000) -> None:
        self._capacity = capacity
        self._lock = threading.Lock()
        self._responses: OrderedDict[str, StoredResponse] = OrderedDict()
        self._origins: OrderedDict[str, str] = OrderedDict()

    def put(self, body: dict[str, Any], turn_index: int, *, retrievable: bool) -> None:
        """Remember ``body`` (a Responses object) and the ids of its output items."""
        response_id = str(body["id"])
        with self._lock:
            self._responses[response_id] = StoredResponse(body, turn_index, retrievable)
            for item in body.get("output") or []:
                for key in (item.get("id"), item.get("call_id")):
                    if key:
                        self._origins[str(key)] = response_id
            self._evict()

    def get(self, response_id: str) -> StoredResponse | None:
        """The stored answer ``response_id``, if any."""
        with self._lock:
            return self._responses.get(response_id)

    def delete(self, response_id: str) -> bool:
        """Forget a retrievable answer; False when there is none."""
        with self._lock:
            stored = self._responses.get(response_id)
            if stored is None or not stored.retrievable:
                return False
            del self._responses[response_id]
            return True

    def origin(self, item_id: str) -> str | None:
        """The id of the answer that issued ``item_id``."""
        if not item_id:
            return None
        with self._lock:
            return self._origins.get(item_id)

    def _evict(self) -> None:
        while len(self._responses) > self._capacity:
            self._responses.popitem(last=False)
        while len(self._origins) > self._capacity * 4:
            self._origins.popitem(last=False)
