"""Reply strings: every sentence the assistant says of its own, in English and Chinese.

They live in data files trainers can edit: ``data/replies.yml`` (answers and the replies Rasa
sends by itself), ``data/disclaimer.yml``, ``data/safety.yml`` (refusals, referrals),
``data/help_resources.yml`` and ``data/suggestions.yml`` (example questions by topic). Quoted
text always comes verbatim from the corpus, never from here. Standard library plus PyYAML, so
Rasa's environment (``rasa_addons``) reads its replies through this module too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


def _yaml(path: Path, default: Any = None) -> Any:
    if not path.exists() and default is not None:
        return default
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _lang(lang: str | None) -> str:
    return "zh" if lang == "zh" else "en"


@dataclass
class Texts:
    """The reply data files of one ``data/`` folder, read once."""

    replies: dict[str, Any]
    disclaimer_templates: dict[str, str]
    safety: dict[str, Any] = field(default_factory=dict)
    help: dict[str, Any] = field(default_factory=dict)
    suggestions: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def load(cls, data_dir: Path) -> "Texts":
        suggestions = _yaml(data_dir / "suggestions.yml", {"topics": []}) or {}
        return cls(
            replies=_yaml(data_dir / "replies.yml"),
            disclaimer_templates=_yaml(data_dir / "disclaimer.yml"),
            safety=_yaml(data_dir / "safety.yml", {}) or {},
            help=_yaml(data_dir / "help_resources.yml", {}) or {},
            suggestions=list(suggestions.get("topics") or []),
        )

    def t(self, lang: str | None, key: str, **values: Any) -> str:
        """The reply ``key`` (dotted for nested keys: ``buttons.more``) in ``lang``, filled in."""
        value: Any = self.replies[_lang(lang)]
        for part in key.split("."):
            value = value[part]
        return str(value).format(**values)

    def disclaimer(self, lang: str | None, dates: str) -> str:
        return str(self.disclaimer_templates[_lang(lang)]).format(dates=dates)

    def safety_table(self, lang: str | None) -> dict[str, Any]:
        return dict(self.safety[_lang(lang)])

    def source_label(self, lang: str | None) -> tuple[str, str]:
        """The words around the citation in "Source: {citation}" / "出处：{citation}"."""
        before, _, after = self.t(lang, "source", citation="\0").partition("\0")
        return before, after
