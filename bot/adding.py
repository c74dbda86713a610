"""``python -m bot add FILE...``: check new documents and put them into the corpus.

For each file: read it (``bot/readers.py``: ``.pdf`` text layer, ``.docx``, ``.html``,
``.txt``/``.md``), parse it as the index will (``bot/corpus.py``), refuse it with a message
naming the file when it cannot be used (no text layer, encrypted, corrupt, empty, unsupported,
no paragraphs, a duplicate of a document already in the corpus, a file name already taken),
then copy it into the documents folder and append a catalog entry proposed from the document
itself (symbol, title, date, issuing body, language) to ``catalog.yml``, marked for review.

Then the search index is updated (``update_index``): only the new documents are parsed and
embedded; ``--no-index`` leaves the index as it is until ``make index``.
"""

from __future__ import annotations

import datetime as _dt
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml

from bot import config, corpus, readers

ENTRY_FIELDS = ("id", "file", "source", "language", "title", "title_en", "short_en", "short_zh", "doc_type",
                "issuing_body", "symbol", "date", "place", "doi", "licence", "authors", "aliases", "numbered")


@dataclass
class Added:
    path: Path                     # the copy in the documents folder
    meta: dict[str, Any]
    passages: int
    numbered: int
    footnotes: int
    pages: int | None
    format: str
    warnings: list[str]


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _body_set(doc: corpus.Document, step: int = 1, width: int = 16) -> set[str]:
    """Character shingles of the document's body text (spaces removed): the same document in
    another format, or cut into paragraphs differently, shares nearly all of them."""
    text = _norm("".join(p.text for p in doc.passages if p.kind == corpus.BODY and not p.parent))
    return {text[i:i + width] for i in range(0, max(1, len(text) - width + 1), step)}


def corpus_texts(documents_dir: Path) -> dict[str, set[str]]:
    """File name → its body paragraphs (spaces removed), for every readable document in the folder."""
    catalog = corpus.load_catalog(documents_dir)
    out: dict[str, set[str]] = {}
    for path in corpus.document_files(documents_dir):
        try:
            out[path.name] = _body_set(corpus.load_document(path, catalog))
        except corpus.ParseError:
            continue
    return out


def duplicate_of(doc: corpus.Document, known: dict[str, set[str]], share: float = 0.8) -> str | None:
    """The file already in the corpus that has most of this document's paragraphs, whatever the format."""
    mine = _body_set(doc, step=7)
    if not mine:
        return None
    for name, theirs in known.items():
        if len(mine & theirs) >= share * len(mine):
            return name
    return None


def check(path: Path, documents_dir: Path, known: dict[str, set[str]], taken_ids: set[str],
          catalog_files: frozenset[str] = frozenset()) -> tuple[readers.ReadDocument, corpus.Document]:
    """Read and parse one new file; ``readers.ReadError`` names the file when it is refused."""
    path = Path(path)
    if not path.exists():
        raise readers.ReadError(f"{path.name}: no such file ({path})")
    if path.is_dir():
        raise readers.ReadError(f"{path.name}: is a folder, not a document file")
    read = readers.read(path)
    target = documents_dir / path.name
    if target.exists() and target.resolve() != path.resolve():
        raise readers.ReadError(f"{path.name}: a different file of that name is already in {documents_dir}; rename it")
    meta = read.proposed_meta()
    if path.name in catalog_files:
        raise readers.ReadError(f"{path.name}: already has an entry in catalog.yml")
    meta["sha256"] = ""
    try:
        doc = corpus.parse_document(meta, read.text)
    except Exception as exc:  # a parser bug must name the file
        raise readers.ReadError(f"{path.name}: could not be parsed ({type(exc).__name__}: {exc})") from exc
    if not any(p.kind == corpus.BODY for p in doc.passages):
        raise readers.ReadError(f"{path.name}: no paragraphs of text found")
    own = path.name if target.resolve() == path.resolve() else None   # dropped into the folder already
    same = duplicate_of(doc, {k: v for k, v in known.items() if k != own})
    if same is not None:
        raise readers.ReadError(f"{path.name}: duplicate of {same}, already in the corpus")
    if meta["id"] in taken_ids and own is None:
        raise readers.ReadError(f"{path.name}: document id {meta['id']!r} is already used; rename the file")
    return read, doc


def catalog_entry(read: readers.ReadDocument, doc: corpus.Document, source: str) -> dict[str, Any]:
    meta = read.proposed_meta()
    meta["source"] = source
    # numbered paragraphs as the reader saw them (a run 1, 2, 3 ... of prose paragraphs) and as
    # the parser numbered them
    meta["numbered"] = bool(meta.get("numbered")) and any(p.number is not None for p in doc.passages)
    return {k: meta.get(k, "") for k in ENTRY_FIELDS}


def append_catalog(documents_dir: Path, entry: dict[str, Any]) -> None:
    """Append one entry to ``catalog.yml`` (comments and other entries stay as they are), indented
    as the file's own list is. The file is written only once the result is checked to be valid
    YAML with the entry in it."""
    path = documents_dir / "catalog.yml"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    data = (yaml.safe_load(text) if text.strip() else None) or {}
    if not data.get("documents"):
        text = text.rstrip() + ("\n" if text.strip() else "") + "documents:\n"
        indent = "  "
    else:
        found = re.search(r"^documents:[^\n]*\n(?:[ \t]*(?:#[^\n]*)?\n)*( *)- ", text, re.M)
        indent = found.group(1) if found else "  "
    dumped = yaml.safe_dump([entry], allow_unicode=True, sort_keys=False, width=110)
    body = "\n".join((indent + ln) if ln else ln for ln in dumped.rstrip().splitlines())
    stamp = _dt.date.today().isoformat()
    block = (f"\n{indent}# PROPOSED by `python -m bot add` on {stamp} from the document itself: review every field\n"
             f"{indent}# (title_en, short names and aliases are left for you), then delete this comment.\n{body}\n")
    new = text.rstrip("\n") + "\n" + block
    try:
        entries = (yaml.safe_load(new) or {}).get("documents") or []
    except yaml.YAMLError as exc:
        raise readers.ReadError(f"{path}: the catalog entry could not be appended ({exc.problem}); add it by hand") from exc
    if not any(isinstance(e, dict) and e.get("file") == entry.get("file") for e in entries):
        raise readers.ReadError(f"{path}: the catalog entry could not be appended (the file's layout); add it by hand")
    path.write_text(new, encoding="utf-8")


def add_files(files: list[Path], documents_dir: Path | None = None, out: TextIO = sys.stdout,
              dry_run: bool = False) -> tuple[list[Added], list[str]]:
    """Check every file, then add the good ones; returns (added, error messages)."""
    documents_dir = documents_dir or config.settings().documents_dir
    documents_dir.mkdir(parents=True, exist_ok=True)
    known = corpus_texts(documents_dir)
    catalog = corpus.load_catalog(documents_dir)
    taken = {str(e.get("id")) for e in catalog.values()} | {corpus.slugify(p.name) for p in corpus.document_files(documents_dir)}
    added: list[Added] = []
    errors: list[str] = []
    for i, path in enumerate(files, 1):
        path = Path(path)
        out.write(f"[{i}/{len(files)}] {path.name} ... ")
        out.flush()
        try:
            read, doc = check(path, documents_dir, known, taken, frozenset(catalog))
        except readers.ReadError as exc:
            out.write("refused\n")
            errors.append(str(exc))
            continue
        entry = catalog_entry(read, doc, path.name)
        target = documents_dir / path.name
        if not dry_run:
            try:
                append_catalog(documents_dir, entry)   # first: a catalog it cannot extend leaves nothing half-added
            except readers.ReadError as exc:
                out.write("refused\n")
                errors.append(str(exc))
                continue
            if target.resolve() != path.resolve():
                shutil.copy2(path, target)
        known[path.name] = _body_set(doc)
        taken.add(entry["id"])
        body = [p for p in doc.passages if p.kind == corpus.BODY]
        a = Added(target, entry, len(body), sum(1 for p in body if p.number is not None and not p.sub),
                  sum(1 for p in doc.passages if p.kind == corpus.FOOTNOTE), read.pages, read.format,
                  list(read.warnings) + list(doc.warnings))
        added.append(a)
        out.write("ok\n")
        out.write(describe(a))
    return added, errors


def describe(a: Added) -> str:
    m = a.meta
    pages = f", {a.pages} pages" if a.pages else ""
    lines = [
        f"    {a.format}{pages}, language {m['language']}: {a.passages} passages "
        f"({a.numbered} numbered paragraphs), {a.footnotes} footnotes",
        f"    id:           {m['id']}",
        f"    symbol:       {m['symbol'] or '(none found)'}",
        f"    title:        {m['title'] or '(none found)'}",
        f"    date:         {m['date'] or '(none found)'}",
        f"    issuing body: {m['issuing_body'] or '(none found)'}",
    ]
    for w in a.warnings[:5]:
        lines.append(f"    warning: {w}")
    return "\n".join(lines) + "\n"


def update_index(settings: config.Settings, out: TextIO, err: TextIO) -> bool:
    """Bring the search index up to date after documents were added: only what is new is parsed
    and embedded (``bot/index.py``, ``Settings.index_cache_dir``), with a progress bar. On failure the
    index in use stays as it was."""
    from bot import embeddings, index

    out.write("\nUpdating the search index (only the new documents are parsed and embedded) ...\n")
    out.flush()
    try:
        index.build(settings, progress=True)
    except (index.IndexError_, corpus.ParseError, embeddings.ModelUnavailable) as exc:
        err.write(f"error: the search index was not updated: {exc}\nThe index in use is unchanged; fix the problem "
                  f"and run `make index`.\n")
        return False
    return True


def main(files: list[str], documents_dir: Path | None = None, dry_run: bool = False, out: TextIO = sys.stdout,
         err: TextIO = sys.stderr, index: bool = True) -> int:
    """The ``add`` subcommand: 0 when every file was added (and, with ``index``, the search index
    updated), 1 when the index could not be updated, 2 when any file was refused."""
    if not files:
        err.write("error: name at least one file (.pdf, .docx, .html, .txt, .md)\n")
        return 2
    settings = config.settings()
    documents_dir = documents_dir or settings.documents_dir
    added, errors = add_files([Path(f) for f in files], documents_dir, out, dry_run)
    for e in errors:
        err.write(f"error: {e}\n")
    indexed = False
    if added and not dry_run:
        out.write(f"\n{len(added)} document(s) added to {documents_dir}; the proposed catalog entries are at the end of "
                  f"{documents_dir / 'catalog.yml'}: review them (a corrected entry re-indexes only its document).\n")
        if index and documents_dir.resolve() == settings.documents_dir.resolve():
            indexed = update_index(settings, out, err)
            if not indexed:
                return 2 if errors else 1
        else:
            out.write("Run `make index` to search them (the index in use is unchanged until then).\n")
    elif added:
        out.write(f"\n{len(added)} document(s) would be added (--check: nothing written).\n")
    if errors:
        err.write(f"{len(errors)} file(s) refused; nothing of theirs was copied.\n")
    if indexed:
        out.write("The new documents are searchable now; a running assistant picks the new index up by itself.\n")
    return 2 if errors else 0
