"""Work done once per screenshot: a small cache keyed by the image object's identity.

A step's prompt shows the current screenshot and up to K recent ones, and every later prompt shows
the same image objects again; resizing, encoding (PNG/JPEG + base64) or running the processor on
them each time costs ~60 ms per 1920x1080 image and step. Keyed by identity, each result is computed
once and handed back, the same object, to every later request: the bytes sent stay identical, which
also keeps the server's prefix cache warm.

Entries hold their key weakly: once the screenshot is released (the episode keeps the last K) the
entry goes with it, and at most `max_entries` are kept however many images stay alive. PIL images
are unhashable (`Image.__eq__` compares pixels), so a WeakKeyDictionary cannot hold them: entries
are keyed by `id()` and removed by a weakref callback, which CPython runs before that id can be
reused. Screenshots are treated as immutable once observed (nothing draws on them afterwards).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable
from typing import Generic, NamedTuple, TypeVar

K = TypeVar("K")
V = TypeVar("V")

DEFAULT_MAX_ENTRIES = 16  # K (4 by default) + current + plan/explain screenshots, with room to spare


class _Entry(NamedTuple, Generic[V]):
    ref: weakref.ref[object]
    tag: Hashable  # what else the value depends on (a pixel budget, processor kwargs)
    value: V


class IdentityCache(Generic[K, V]):
    """`make(key)` computed once per live key object (and `tag`), at most `max_entries` kept.

    The value must not reference its key (it would keep the key alive); a `make` that returns the
    key itself is simply not stored. Plain dict operations, no lock: two threads racing on one key
    at worst compute it twice, and a weakref callback may run in any thread.
    """

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries}")
        self.max_entries = max_entries
        self.computed = 0  # how many times `make` ran (tests and benchmarks read it)
        self._entries: dict[int, _Entry[V]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        entry = self._entries.get(id(key))
        return entry is not None and entry.ref() is key

    def get(self, key: K, make: Callable[[K], V], tag: Hashable = None) -> V:
        """The value for `key` (and `tag`), computed by `make(key)` on the first call only."""
        ident = id(key)
        entry = self._entries.get(ident)
        if entry is not None and entry.ref() is key and entry.tag == tag:
            # Most recently used goes last: eviction takes the oldest first.
            self._entries.pop(ident, None)
            self._entries[ident] = entry
            return entry.value
        value = make(key)
        self.computed += 1
        # A value that is its key (a resize with nothing to do) would keep the key alive: not stored.
        if value is not key:
            self._store(ident, key, tag, value)
        return value

    def _store(self, ident: int, key: K, tag: Hashable, value: V) -> None:
        self._entries.pop(ident, None)
        self._entries[ident] = _Entry(weakref.ref(key, self._forget(ident)), tag, value)
        while len(self._entries) > self.max_entries:
            # An evicted entry's weakref dies with it, so its callback never runs.
            del self._entries[next(iter(self._entries))]

    def clear(self) -> None:
        self._entries.clear()

    def _forget(self, ident: int) -> Callable[[weakref.ref[object]], None]:
        """The callback that drops `ident`'s entry when its key is collected. It holds the cache
        weakly, so a cache dropped before its images does not linger."""
        cache = weakref.ref(self)

        def forget(ref: weakref.ref[object]) -> None:
            owner = cache()
            entry = owner._entries.get(ident) if owner is not None else None
            if owner is not None and entry is not None and entry.ref is ref:
                owner._entries.pop(ident, None)

        return forget
