"""Run by tests/test_persistence.py with Rasa's Python (.venv-rasa): the cached SQL tracker
store gives back what the database holds, also when another instance wrote in between."""

from __future__ import annotations

import asyncio
import sys

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered

from rasa_addons.tracker_cache import CachedSQLTrackerStore


def said(tracker) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.text for e in tracker.events if isinstance(e, UserUttered)]


async def main(db: str) -> None:
    domain = Domain.load("domain.yml")
    a = CachedSQLTrackerStore(domain=domain, dialect="sqlite", db=db)
    b = CachedSQLTrackerStore(domain=domain, dialect="sqlite", db=db)   # a second Rasa instance

    t = await a.get_or_create_tracker("u1", append_action_listen=False)
    t.update(UserUttered("hello"))
    await a.save(t)
    again = await a.retrieve("u1")
    assert again is t, "a tracker this process saved is handed back without re-reading it"
    again.update(ActionExecuted("utter_greet"))
    await a.save(again)

    other = await b.retrieve("u1")
    assert said(other) == ["hello"] and len(other.events) == len(again.events)
    other.update(UserUttered("from the other instance"))
    await b.save(other)

    seen = await a.retrieve("u1")
    assert seen is not again and said(seen) == ["hello", "from the other instance"], said(seen)
    await a.save(seen)
    seen.update(UserUttered("never saved"))           # a message that failed half-way
    assert said(await a.retrieve("u1")) == ["hello", "from the other instance"]

    a.cache_size = 1                                   # the cache is bounded
    for sender in ("u2", "u3"):
        t = await a.get_or_create_tracker(sender, append_action_listen=False)
        t.update(UserUttered(sender))
        await a.save(t)
    assert list(a._cache) == ["u3"]
    assert said(await a.retrieve("u2")) == ["u2"]
    print("ok")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
