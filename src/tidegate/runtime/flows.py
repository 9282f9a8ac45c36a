"""Parsed flows by definition text: executions keep a snapshot of their definition, parsed once."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from tidegate.flow import load_flow
from tidegate.flow.model import Flow


class FlowCache:
    """A thread-safe LRU of ``definition text -> Flow``; definitions were validated when stored."""

    def __init__(self, capacity: int = 256) -> None:
        self._items: OrderedDict[str, Flow] = OrderedDict()
        self._lock = threading.Lock()
        self._capacity = capacity

    def get(self, definition: str, source: str | None = None) -> Flow:
        """Return the parsed flow of ``definition``.

        Raises:
            FlowError: the definition does not load (only when it was stored without validation).
        """
        key = hashlib.sha256(definition.encode("utf-8")).hexdigest()
        with self._lock:
            flow = self._items.get(key)
            if flow is not None:
                self._items.move_to_end(key)
                return flow
        flow = load_flow(definition, source=source)
        with self._lock:
            self._items[key] = flow
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)
        return flow
