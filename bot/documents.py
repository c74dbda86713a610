"""Documents by name: the one resolver from what people call a document to its id.

A document is referred to by its id (``a-conf-234-11``), file name, UN symbol
(``A/CONF.234/11``), or one of the aliases its catalog entry lists ("the IPIE brief", "京都大会
报告"), in either language. ``Catalog`` answers both questions the assistant asks: which
document does this reference mean (``resolve``), and which documents does a question name
(``named_in``). The search filter, the paragraph lookup, the document filter, the CLI, the web
API and the evaluation all use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from bot import cite
from bot.lang import CJK



def normalise(text: str) -> str:
    """Whitespace-free lower-case form, for comparing names."""
    return re.sub(r"\s+", "", text).lower()


@dataclass
class Catalog:
    """Catalog metadata of the indexed documents, keyed by document id (in catalog order)."""

    documents: dict[str, dict[str, Any]]

    @classmethod
    def from_list(cls, metas: Iterable[dict[str, Any]]) -> "Catalog":
        return cls({str(m["id"]): dict(m) for m in metas})

    def __iter__(self) -> Iterator[str]:
        return iter(self.documents)

    def __len__(self) -> int:
        return len(self.documents)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self.documents

    def meta(self, doc_id: str) -> dict[str, Any]:
        return self.documents.get(doc_id) or {"id": doc_id}

    def items(self) -> Iterable[tuple[str, dict[str, Any]]]:
        return self.documents.items()

    def values(self) -> Iterable[dict[str, Any]]:
        return self.documents.values()

    @staticmethod
    def _exact_names(doc_id: str, meta: dict[str, Any]) -> list[str]:
        names = [doc_id, meta.get("symbol"), meta.get("file"), meta.get("source")] + list(meta.get("aliases") or [])
        return [str(n) for n in names if n]

    def resolve(self, ref: str | None) -> str | None:
        """The document ``ref`` means: an exact id, file name, symbol or alias (case and spaces
        ignored), else the one document it names; None when it means none or several."""
        if not ref or not str(ref).strip():
            return None
        key = normalise(str(ref))
        for doc_id, meta in self.documents.items():
            if any(normalise(n) == key for n in self._exact_names(doc_id, meta)):
                return doc_id
        named = self.named_in(str(ref))
        return next(iter(named)) if len(named) == 1 else None

    def named_in(self, text: str) -> set[str]:
        """Documents a text names by symbol or alias ("A/CONF.234/11", "the IPIE brief")."""
        return {doc_id for doc_id, _, _ in self.references(text)}

    def references(self, text: str) -> list[tuple[str, int, int]]:
        """Where a text names documents: ``(doc_id, start, end)`` for every symbol or alias found
        (spaces and case ignored), longest names first, spans not overlapping."""
        found: list[tuple[str, int, int]] = []
        taken: set[int] = set()
        for name, doc_ids in self._patterns():
            for m in name.finditer(text):
                if taken.intersection(range(m.start(), m.end())):
                    continue
                taken.update(range(m.start(), m.end()))
                found += [(d, m.start(), m.end()) for d in doc_ids]
        return sorted(found, key=lambda x: x[1])

    def _patterns(self) -> list[tuple["re.Pattern[str]", list[str]]]:
        if not hasattr(self, "_compiled"):
            by_name: dict[str, list[str]] = {}
            for doc_id, meta in self.documents.items():
                for name in [meta.get("symbol") or ""] + list(meta.get("aliases") or []):
                    key = normalise(str(name))
                    if len(key) >= 3 and doc_id not in by_name.setdefault(key, []):
                        by_name[key].append(doc_id)
            latin = re.compile(r"[a-z0-9]")
            patterns = []
            for key in sorted(by_name, key=len, reverse=True):
                # "人口贩运那份背景文件": a demonstrative inside a Chinese name is still the name
                body = "".join(re.escape(ch) + (r"(?:\s|那份|这份|那篇|这篇)*" if CJK.match(ch) and k + 1 < len(key)
                                                and CJK.match(key[k + 1]) else r"\s*")
                               for k, ch in enumerate(key))
                body = body[:-3] if body.endswith(r"\s*") else body
                # a Latin name is a whole word ("IPIE", not inside "ipiefoo"); Chinese has no word breaks
                if latin.match(key[0]):
                    body = r"(?<![A-Za-z0-9])" + body
                if latin.match(key[-1]):
                    body += r"(?![A-Za-z0-9])"
                patterns.append((re.compile(body, re.I), by_name[key]))
            self._compiled = patterns
        return self._compiled  # type: ignore[no-any-return]

    def name(self, doc_id: str, lang: str) -> str:
        """How a reply names a document: its short title with the symbol, in ``lang``."""
        meta = self.meta(doc_id)
        short = meta.get("short_zh" if lang == "zh" else "short_en") or meta.get("title") or meta.get("id", "")
        symbol = meta.get("symbol")
        return f"{short} ({symbol})" if symbol and lang != "zh" else (f"{short}（{symbol}）" if symbol else short)

    def numbered(self) -> list[str]:
        """Documents with their own paragraph numbers."""
        return [d for d, m in self.documents.items() if m.get("numbered")]

    def dates_text(self, lang: str) -> str:
        """The documents' date range (and how many are undated), for the disclaimer."""
        dates = sorted(str(m.get("date")) for m in self.documents.values() if m.get("date"))
        undated = sum(1 for m in self.documents.values() if not m.get("date"))
        if lang == "zh":
            parts = [f"{cite.format_date(dates[0], 'zh')}至{cite.format_date(dates[-1], 'zh')}"] if dates else []
            if undated:
                parts.append(f"{undated}份文件未注明日期")
            return "；".join(parts)
        parts = [f"{cite.format_date(dates[0], 'en')} to {cite.format_date(dates[-1], 'en')}"] if dates else []
        if undated:
            parts.append(f"{undated} undated")
        return "; ".join(parts)

    def years(self) -> set[str]:
        """The years of the documents' dates."""
        return {str(meta.get("date") or "")[:4] for meta in self.documents.values()} - {""}
