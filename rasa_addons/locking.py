"""Make Rasa 3.6's Redis lock store safe when several Rasa instances share it.

``LockStore.issue_ticket``, ``update_lock`` and ``cleanup`` read the conversation's ticket lock
from Redis, change it and write it back, with nothing stopping another instance from doing the
same in between. Two messages of one conversation arriving at two instances at the same moment
then both get ticket 0, are processed at the same time, and one turn is lost when both save
the tracker (seen in tests/test_scale.py before this patch). Here each of these read-modify-write
steps runs under a short Redis mutex per conversation (redis-py's ``Lock``: ``SET NX PX`` with a
token, released by a script), so tickets are issued and returned one at a time. Installed by
``rasa_addons.patches.install`` on ``RedisLockStore`` (wrapping the ``LockStore`` methods).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Text

from rasa.core.lock_store import RedisLockStore

MUTEX_SECONDS = 10.0  # longest a ticket operation may hold the mutex (it takes about a millisecond)


def under_mutex(method: Callable[..., Any]) -> Callable[..., Any]:
    """A ticket operation of the lock store, run under a short Redis mutex per conversation."""

    @functools.wraps(method)
    def wrapper(self: RedisLockStore, conversation_id: Text, *args: Any, **kwargs: Any) -> Any:
        mutex = self.red.lock(f"{self.key_prefix}\x00mutex\x00{conversation_id}", timeout=MUTEX_SECONDS,
                              blocking_timeout=MUTEX_SECONDS)
        with mutex:
            return method(self, conversation_id, *args, **kwargs)

    return wrapper
