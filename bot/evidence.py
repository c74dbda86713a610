"""Evidence: what a question asks for, and whether the corpus and the best passage state it.

The confidence model (``bot/fusion.py``) reads ``coverage``: how much of the question the
glossary, the corpus vocabulary and the top passage explain, whether the question asks for a
figure or date the passage does not state, and whether it names something the corpus never
mentions. A question with such an evidence gap has its confidence scaled down by a factor
chosen by cross-validation (docs/retrieval.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Iterable

from bot import language

if TYPE_CHECKING:  # pragma: no cover - typing only
    from bot.index import Index
    from bot.query import Query

# What a question asks for, and whether a passage states it. A question that names something
# the corpus never mentions, or asks for a figure or date its best passage does not state, is
# flagged as an "evidence gap"; its confidence is scaled down by a factor chosen on the dev set
# (docs/retrieval.md). The documents often discuss the topic of such a near-domain question
# ("the maximum fine under the EU AI Act") without giving the asked-for fact.
_NUMBER_Q = re.compile(r"\bhow (?:many|much|long)\b|percent|percentage|proportion|(?:what|which|the) share\b|\bshare of\b|"
                       r"\bnumber of\b|(?:what|which|the) rate\b|\brate of\b|\bprice\b|\bcost\b|\bfines?\b|statistic|"
                       r"多少|比例|百分|数量|几成|占.{0,4}(?:多|几)|(?<![前头这那好近])几\s*[年个名起张次项种岁倍份万千百枚条]|"
                       r"价格|罚金|罚款|准确率|识别率|错误率|成功率|多高|多大比|多长时间|多久")
# "when did/was ..." or "when" opening the question, not "when protecting kids"
_DATE_Q = re.compile(r"\bwhen (?:did|was|were|will|has|have|had)\b|^\s*when (?:is|are)\b|\bwhat (?:year|date)\b|"
                     r"\bwhich (?:year|date)\b|何时|什么时候|哪一年|哪年|哪天|几月|时间")
_NUMERAL = "[0-9０-９一二三四五六七八九十百千万亿两数几多]"
_NUMBER_FACT = re.compile(rf"[0-9０-９]|{_NUMERAL}+(?:名|个|起|张|倍|成|项|种|人|次|国|年)")
_DATE_FACT = re.compile(r"(?:19|20)[0-9]{2}|[0-9０-９]+\s*(?:年|月|日)")
_UNIT_Q = re.compile(r"(?:多少|(?<![前头这那好近])几)\s*([名张起个份人次项枚倍岁国家条年])")
# a share asked for needs a percentage or proportion, not just any number
_PERCENT_Q = re.compile(r"\bpercent(?:age)?\b|\bin percent\b|\brate\b|准确率|识别率|错误率|成功率|百分比|比例|几成")
_PERCENT = re.compile(r"[%％]|percent|百分之|[0-9一二三四五六七八九十]\s*成(?!员|本|果|为|立)|[0-9]+\s*/\s*[0-9]+|\bhalf\b|一半|三分之|四分之")
# "which court / company / organisation ..." needs the passage to name one
_WHICH = re.compile(r"(?:哪个|哪家|哪一家|哪所|哪些|什么)(法院|公司|机构|组织|国家|城市|网站|平台|部门|大学)|"
                    r"\bwhich (court|company|firm|organi[sz]ation|agency|country|countries|city|website|platform|"
                    r"university|body)\b")
_TYPE_WORDS = {
    "法院": r"法院|court", "court": r"法院|court",
    "公司": r"公司|企业|集团|company|firm|corporation|inc\b", "company": r"公司|企业|集团|company|firm|corporation",
    "firm": r"公司|企业|company|firm", "机构": r"机构|组织|办公室|中心|委员会|organi[sz]ation|agency|office|centre|center|institute",
    "组织": r"组织|机构|organi[sz]ation", "organization": r"组织|机构|organi[sz]ation", "organisation": r"组织|机构|organi[sz]ation",
    "agency": r"机构|署|局|agency", "body": r"机构|委员会|组织|body|committee|commission", "国家": r"国|country|countries",
    "country": r"国|country|countries", "countries": r"国|country|countries", "城市": r"市|city", "city": r"市|city",
    "网站": r"网站|网|website|site", "website": r"网站|website|site", "平台": r"平台|platform", "platform": r"平台|platform",
    "部门": r"部门|机关|部|department|authorit", "大学": r"大学|university", "university": r"大学|university",
}
_MONEY_Q = re.compile(r"罚金|罚款|价格|多少钱|赔了多少|金额|数额|\bprices?\b|\bcosts?\b|\bfines?\b|how much money|"
                      r"amount of money|\bamounts?\b")
# a penalty asked for ("what sentence did X get", "判了几年") needs a stated penalty
_PENALTY_Q = re.compile(r"\bsentence[sd]?\b(?! (?:of|in) the)|\bjail(?:ed)?\b|\bprison term\b|判了|判处|刑期|坐牢|怎么判|判多少")
_PENALTY = re.compile(r"判处|有期徒刑|无期|拘役|罚金|监禁|\bsentenced\b|\bimprisonment\b|\byears? in prison\b|\bjail\b")
# "how many kids/users/victims ..." needs a count of them (in the English reading)
_HOW_MANY = re.compile(r"\bhow many (kids|children|child|users|people|persons|victims|offenders|suspects|cases|images|"
                       r"pictures|photos|videos|arrests|accounts|websites|sites|members|girls|boys|women|men)\b")
_COUNT_EN = r"\d[\d,.]*(?:\s+(?:thousand|million|billion))?\s+(?:[a-z-]+\s+){{0,3}}{unit}"
_MONEY = re.compile(r"[$€£¥]|美元|欧元|英镑|[0-9０-９一二三四五六七八九十百千万亿]\s*元|\b(?:dollars?|euros?|pounds?|yuan|usd|eur)\b")
_YEAR = re.compile(r"(?<![0-9])(?:19|20)[0-9]{2}(?![0-9])")
_TITLE = re.compile(r"《([^》]{2,60})》|[“「\"]([^”」\"]{2,20})[”」\"]|(第[0-9一二三四五六七八九十百千零]+条)")
_EN_NAME = re.compile(r"\b(?:[A-Z][a-z]*[A-Z][A-Za-z]*|[A-Z]{2,}[a-z]?|[A-Z][a-z]{2,}(?:\s+[A-Z][a-z]{2,})*)\b")
_EN_STOP = {"i", "what", "which", "who", "how", "when", "where", "why", "the", "and", "does", "do", "is", "are"}


def _spelt_out(word: str, hay: str) -> bool:
    """An acronym the corpus writes out in full ("ICSE": "International Child Sexual Exploitation")."""
    if not re.fullmatch(r"[A-Z]{3,6}", word):
        return False
    return bool(re.search(r"\b" + r"[a-z]*[\s-]+".join(word.lower()) + r"[a-z]*", hay))


@lru_cache(maxsize=4)
def _squeezed(hay: str) -> str:
    return re.sub(r"\s+", "", hay)


def answer_type(text: str) -> str:
    """``number``, ``date`` or ``""``: what kind of sentence best answers the question."""
    lowered = text.lower()
    if _NUMBER_Q.search(lowered):
        return "number"
    if _DATE_Q.search(lowered):
        return "date"
    return ""


def has_fact(text: str, kind: str) -> bool:
    """Whether a passage states the kind of fact a question asks for (a number, a date)."""
    return bool((_NUMBER_FACT if kind == "number" else _DATE_FACT).search(text))


def fact_missing(question: str, text: str, text_en: str = "", ignore_years: Iterable[str] = ()) -> bool:
    """Whether the passage lacks the fact the question asks for: no number or date at all, no
    count of the asked unit ("多少名" needs "…名"), no sum of money for a fine or price, or
    none of the years a fact question names (other than ``ignore_years``, the documents' own
    years: "the 2021 paper" names a document, not a fact)."""
    lowered = question.lower()
    kind = answer_type(question)
    if kind and not has_fact(text, kind):
        return True
    # a count of the asked unit; "几年" (how many years) is not answered by a calendar year
    if any(not re.search(f"(?<![0-9]){_NUMERAL}{{1,3}}\\s*[余多]?\\s*年(?!代)" if unit == "年" else
                         f"{_NUMERAL}\\s*[余多]?\\s*{unit}", text) for unit in _UNIT_Q.findall(question)):
        return True
    if _MONEY_Q.search(lowered) and not _MONEY.search(f"{text}\n{text_en.lower()}"):
        return True
    if _PENALTY_Q.search(lowered) and not _PENALTY.search(f"{text}\n{text_en.lower()}"):
        return True
    if _PERCENT_Q.search(lowered) and not _PERCENT.search(f"{text}\n{text_en.lower()}"):
        return True
    if text_en:
        for unit in _HOW_MANY.findall(lowered):
            stem = {"kids": "child", "children": "child", "people": "pe", "persons": "pe", "men": "m", "women": "wom"}.get(
                unit, unit[:-1] if unit.endswith("s") and len(unit) > 3 else unit)
            if not re.search(_COUNT_EN.format(unit=re.escape(stem[:5]) + r"\w*"), text_en.lower()):
                return True
    # a year the question names (not a document's own) that the passage does not mention:
    # "the 2023 edition", "净网2023"
    years = set(_YEAR.findall(question)) - set(ignore_years)
    return bool(years) and not years & set(_YEAR.findall(f"{text}\n{text_en}"))


@lru_cache(maxsize=256)
def unknown_names(text: str, hay: str) -> tuple[str, ...]:
    """Names the question uses that the corpus (``hay``: ``Index.haystack()``) never mentions:
    titles in 《》, and capitalised English words or acronyms other than the question's first
    word (e.g. "Budapest", "《未成年人网络保护条例》"). A name matches its inflected forms
    ("Venezuelan" ~ "Venezuela")."""
    squeezed = _squeezed(hay)
    missing = [t for t in (next(g for g in m.groups() if g) for m in _TITLE.finditer(text))
               if re.sub(r"\s+", "", t.lower()) not in squeezed]
    for m in _EN_NAME.finditer(text):
        words = m.group(0).split()
        if m.start() == len(text) - len(text.lstrip()) and len(words) == 1 and words[0].istitle():
            continue   # a capitalised first word is just the start of the sentence
        for word in words:
            key = re.sub(r"'s$", "", word.lower())
            # long names match their inflections ("Venezuelan" ~ "Venezuela"), short ones whole
            pattern = rf"\b{re.escape(key[:-2])}" if len(key) >= 8 else rf"\b{re.escape(key)}(?:s|es)?\b"
            if key not in _EN_STOP and not re.search(pattern, hay) and not _spelt_out(word, hay):
                missing.append(word)
        # a name of several words is known only as a whole: "Online Safety Act", not its words
        if len(words) >= 2 and not any(w in missing for w in words) and words[0].lower() not in _EN_STOP:
            phrase = r"\s+".join(re.escape(w.lower()) for w in words)
            if not re.search(rf"\b{phrase}", hay):
                missing.append(m.group(0))
    return tuple(missing)


_WHO_Q = re.compile(r"\bwho\b|\bwhose\b|\bby whom\b|谁|哪位|何人|什么人(?:做|写|说|提)")
_PERSON = re.compile(r"\b[A-Z][a-z]+(?:[- ][A-Z][a-z]+)+\b|[\u4e00-\u9fff]{1,4}·[\u4e00-\u9fff]{1,6}|"
                     r"先生|女士|主席|教授|博士|总监|局长|主任|大使|检察官|法官|主持|发言|作者|编辑|审查|审阅|某某")


@dataclass(frozen=True)
class Asked:
    """What kind of answer a question asks for: a figure or date, a person, a kind of thing."""

    fact: str = ""                      # number | date | ""
    who: bool = False
    which: tuple[str, ...] = ()         # "court", "公司", ...

    @classmethod
    def of(cls, question: str) -> "Asked":
        lowered = question.lower()
        return cls(answer_type(question), bool(_WHO_Q.search(lowered)),
                    tuple(m.group(1) or m.group(2) for m in _WHICH.finditer(lowered)))

    def matches(self, text: str, text_en: str = "") -> dict[str, float]:
        """Per asked kind: 1 when the passage states such a thing, -1 when it does not, 0 when
        not asked (candidate features for the fusion)."""
        if not (self.fact or self.who or self.which):
            return {"fact_match": 0.0, "who_match": 0.0, "which_match": 0.0}
        return dict(_matches(self, text, text_en))

    def _matches(self, text: str, text_en: str) -> dict[str, float]:
        both = f"{text}\n{text_en}"
        lower = both.lower()

        def sign(asked: bool, present: bool) -> float:
            return 0.0 if not asked else (1.0 if present else -1.0)

        return {
            "fact_match": sign(bool(self.fact), bool(self.fact) and has_fact(both, self.fact)),
            "who_match": sign(self.who, bool(_PERSON.search(both))),
            "which_match": sign(bool(self.which), all(re.search(_TYPE_WORDS.get(k, re.escape(k)), lower)
                                                      for k in self.which)),
        }


@lru_cache(maxsize=65536)
def _matches(asked: Asked, text: str, text_en: str) -> tuple[tuple[str, float], ...]:
    """``Asked.matches`` for one passage, cached: the same passages come back for many questions."""
    return tuple(asked._matches(text, text_en).items())


def type_missing(question: str, text: str, text_en: str = "") -> bool:
    """Whether a "which court / company / country ..." question's passage names no such thing."""
    both = f"{text}\n{text_en.lower()}"
    for m in _WHICH.finditer(question.lower()):
        kind = m.group(1) or m.group(2)
        if not re.search(_TYPE_WORDS.get(kind, re.escape(kind)), both):
            return True
    return False


@lru_cache(maxsize=256)
def unknown_places_and_people(text: str, hay: str) -> tuple[str, ...]:
    """Chinese place, person and organisation names the corpus never mentions ("香港", "杭州",
    "赵主彬"). jieba's tags are noisy (it takes some common words for names), so this is a
    feature the confidence model weighs, not an evidence gap by itself."""
    squeezed = _squeezed(hay)
    return tuple(w for w in _zh_proper_nouns(text) if w not in squeezed)


def _zh_proper_nouns(text: str) -> list[str]:
    """Chinese place, person and organisation names in a question (jieba's part-of-speech tags)."""
    if not language.has_cjk(text):
        return []
    return [w for w, tag in language.pos_tags(text) if tag in ("ns", "nr", "nt", "nrt", "nrfg") and len(w) >= 2
            and language.has_cjk(w)]


def coverage(q: "Query", top_row: int, idx: "Index", english: bool, imputation: dict[str, float]) -> dict[str, float]:
    """How much of the query the corpus and the top passage explain (for the confidence).

    ``english``: the English reading was searched for this query. The English-reading features
    need translations: where the top passage has none, its coverage is the original's shifted
    by the training gap (``imputation``); where some documents have none, the share of query
    words unknown to the English vocabulary cannot be told and takes its training mean."""
    original = idx.readings["original"]
    en_reading = idx.readings.get("english")
    vocab = original.vocabulary()
    zh_words = [w for w in q.content_words if language.has_cjk(w) and w not in q.glossary_words]
    oov = sum(1 for w in zh_words if w not in vocab) / len(zh_words) if zh_words else 0.0
    words = original.words["tokens"]
    tokens = set(words[top_row]) if top_row < len(words) else set()
    total = sum(q.terms.values())
    covered = sum(w for t, w in q.terms.items() if t in tokens) / total if total else 0.0
    en_vocab = en_reading.vocabulary() if en_reading is not None else {}
    en_total = sum(q.en_terms.values())
    en_oov = (sum(w for t, w in q.en_terms.items() if t not in en_vocab and t not in q.glossary_words) / en_total
              if en_total and en_vocab else 0.0)
    en_words = en_reading.words["tokens"] if en_reading is not None else []
    en_top = set(en_words[top_row]) if top_row < len(en_words) else set()
    en_covered = sum(w for t, w in q.en_terms.items() if t in en_top) / en_total if en_total and en_top else 0.0
    if english and en_reading is not None:
        if not bool(en_reading.has[top_row]):
            en_covered = min(1.0, max(0.0, covered + imputation.get("en_top_coverage", 0.0)))
        if set(idx.catalog) - set(idx.manifest.get("translated_documents") or []):
            en_oov = imputation.get("en_oov_mean", en_oov)   # some documents have no English words at all
    wants = answer_type(q.text)
    top_passage = idx.row_passage(top_row)
    return {"glossary_terms": float(len(q.expansion.terms)), "uncovered_en": q.uncovered_en,
            "zh_oov": oov, "top_coverage": covered, "en_oov": en_oov, "en_top_coverage": en_covered,
            "asks_fact": 1.0 if wants else 0.0,
            "fact_missing": 1.0 if fact_missing(q.text, top_passage.text, top_passage.text_en,
                                                idx.catalog.years()) else 0.0,
            "unknown_names": float(min(2, len(unknown_names(q.text, idx.haystack())))),
            "zh_unknown_proper": float(min(2, len(unknown_places_and_people(q.text, idx.haystack())))),
            "type_missing": 1.0 if type_missing(q.text, top_passage.text, top_passage.text_en) else 0.0}
