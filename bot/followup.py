"""Follow-up cues: how a message leans on the conversation, read from its words alone.

``cues`` reads one message (in the documents' script, ``bot/script.py``) and says what it
carries: a topic switch ("ok, different question: ...", "换个话题"), words that point back
("it", "he", "which one", "它", "这个"), an ellipsis ("and for smuggling?", "那中国呢？"),
a reference to what was shown ("which paragraph was that?", "出处是哪段？", "the footnote"),
an ordinal ("the second one", "第三条", "(h)"), narrowing or widening ("only in the Kyoto
report", "只看京都那份报告", "in all the documents"). ``bot/dialogue.py`` decides with these
and with search signals; ``bot/safety.py`` uses ``leans_back`` to judge a new question after a
refusal on its own. Standard library only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# "ok, different question:", "switching topics -", "new topic.", "forget smuggling.", "换个话题，"
SWITCH = re.compile(
    r"^\s*(?:(?:ok(?:ay)?|alright|right|fine|thanks|good|great)[\s,.!]*)?"
    r"(?:(?:a |on a |on an? )?(?:different|new|another|unrelated|separate|other) (?:question|topic|subject|thing)|"
    r"switching (?:topics?|subjects?|gears)|change (?:of )?(?:topic|subject)|changing (?:the )?(?:topic|subject)|"
    r"moving on|something else|forget (?:about )?(?:that|it|this|[\w\-' ]{1,30}?))[\s.,:;!?\-–—]+"
    r"|^\s*(?:好的?|行|嗯|谢谢)?[，,。\s]*(?:换个话题|换个问题|换一个问题|换一个话题|另一个问题|另外一个问题|说点别的|不说这个了?|"
    r"问个别的|再问个别的|新问题|别的问题)[：:，,。.！!\s]*", re.I)

# words that point back to something said before
REFERS_EN = re.compile(r"\b(?:it|its|it's|he|she|him|his|her|they|them|their|theirs|this|that|these|those|"
                       r"there|then|the same|which one|which ones|the (?:first|second|third|last|former|latter)"
                       r"(?: one)?)\b", re.I)
REFERS_ZH = re.compile(r"它|他们|她们|他|她|这个|那个|这些|那些|这种|那种|这类|那类|这项|那项|这件|那件|其中|上面|"
                       r"刚才|刚刚|前面|后来|此事|这事|那事|该")
# "and for smuggling?", "what about 2018?", "how about China?", "那中国呢？", "那割器官那种呢？"
ELLIPSIS_EN = re.compile(r"^\s*(?:and|also|but|so)?\s*(?:what|how) about\b|^\s*and (?:for|in|on|with|what|who|"
                         r"where|when|how|the|its?)\b|^\s*and\b[^?]{0,30}\??\s*$|^\s*(?:same|likewise) (?:for|in)\b",
                         re.I)
ELLIPSIS_ZH = re.compile(r"^\s*(?:那|那么|还有|而|至于)[^？?。]{0,20}呢[？?。!！\s]*$|呢[？?]?\s*$|^\s*(?:那|那么)\S")
# a question about what was just shown: its source, place, heading, footnote
SHOWN = re.compile(
    r"\b(?:which|what) (?:paragraph|section|part|page|chapter|heading|footnote|document|source|study|report)"
    r"[^?]{0,30}\b(?:was|is) (?:that|this|it)\b|\bwhere (?:does|did|is) (?:that|this|it) (?:come|came) from\b|"
    r"\bwhere(?:'s| is) (?:that|this) from\b|\b(?:the |its |that )?(?:footnote|source|citation|reference)s?\b"
    r"(?:[^?]{0,20}\?)?\s*$|\bwhat(?:'s| is) the (?:heading|title of (?:that|the) section|section heading)\b|"
    r"出处|来源是|哪份研究|哪项研究|哪一段|哪段|第几段|哪个部分|哪一节|哪节|哪一章|什么标题|标题叫|标题是|脚注|引自|出自",
    re.I)
HEADING = re.compile(r"\bheading\b|\bsection\b|\btitle\b|标题|哪一节|哪节|哪个部分|哪一章", re.I)
NOTE = re.compile(r"\bfootnote|\bsource\b|\bstudy\b|\bcome from\b|\bfrom\b|脚注|出处|哪份研究|哪项研究|引自|出自|来源",
                  re.I)
# "the second one", "第三条", "第二项", "(h)", "item h", "point 3"
_ORD_EN = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
           "ninth": 9, "tenth": 10, "last": -1}
_ORD_ZH = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
ORDINAL_EN = re.compile(r"\bthe (first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|last)\b"
                        r"(?: one| item| point| finding| recommendation| paragraph| bit)?", re.I)
ORDINAL_ZH = re.compile(r"第([一二两三四五六七八九十])(?:条|项|点|个|部分|段|种|场|位|个人)")
LETTER = re.compile(r"(?:^|\s|\b(?:item|point|sub-?paragraph|letter)\s*)\(([a-z])\)|\b(?:item|point|letter) ([a-z])\b",
                    re.I)
# restricting to a document, or lifting the restriction
NARROW = re.compile(r"^\s*(?:ok(?:ay)?[\s,]*)?(?:only|just|solely|restrict(?: it)? to|limit(?: it)? to|"
                    r"what (?:about|does)|how about|and|in|within)\b|\b(?:only|just)\b|只看|只要|只查|只限|仅看|仅限|"
                    r"只在|只搜|就看|单看|光看", re.I)
WIDEN = re.compile(r"\b(?:all|every|any|other) (?:the )?(?:documents|docs|papers|reports|sources)\b|\beverywhere\b|"
                   r"\bacross (?:the |all )?(?:documents|papers)\b|所有文件|全部文件|其他文件|别的文件|所有文档|全部文档|"
                   r"其他文档|不限文件|所有的文件", re.I)
# the words around a document's name in a narrowing ("just the ... paper please", "只看…那份报告")
NARROW_FILLER = re.compile(r"\b(?:ok(?:ay)?|only|just|solely|please|pls|restrict(?:ed)?|limit(?:ed)?|to|in|within|from|"
                           r"the|that|this|those|one|docs?|documents?|papers?|reports?|articles?|brief|search|look|"
                           r"show|me|what|about|does|do|say|says)\b|只看|只要|只查|只限|仅看|仅限|只在|只搜|就看|单看|光看|"
                           r"那份|这份|那篇|这篇|里面|里|的|呢|吧|了|文件|报告|文章|请|看|一下|[\s\W_]+", re.I)
# a document named only generically ("the article", "那篇文章"): the one just discussed
GENERIC_DOC = re.compile(r"\b(?:the|this|that|your) (?:article|paper|report|brief|document|study|review)\b|"
                         r"文章|论文|这份报告|那份报告|该报告|这份文件|那份文件|该文件|摘要", re.I)
# asks for more of the same answer
MORE = re.compile(r"^\s*(?:tell me more|more|more please|anything else|go on|continue|next|keep going|"
                  r"更多|还有吗|还有呢|继续|下一页|再来|接着说)[\s.!?？。！]*$", re.I)


@dataclass(frozen=True)
class Cues:
    """What a message's words say about its place in the conversation."""

    text: str                 # the message without a topic-switch phrase
    switch: bool = False      # "different question: ..." — the old topic must not carry over
    refers: bool = False      # a pronoun or demonstrative pointing back
    ellipsis: bool = False    # "and for X?", "那X呢？": the previous question with X instead
    shown: bool = False       # asks about what was shown (source, paragraph, heading, footnote)
    heading: bool = False     # ... its heading or section
    note: bool = False        # ... its footnote or source
    ordinal: int | None = None   # "the second one" → 2 ("last" → -1)
    letter: str = ""          # "(h)" → "h"
    narrow: bool = False      # "only / just / 只看" (a document named makes it a filter)
    widen: bool = False       # "in all the documents"
    more: bool = False        # "tell me more"

    @property
    def leans_back(self) -> bool:
        """Whether the message leans on the previous turn (needs it to make sense)."""
        return not self.switch and (self.refers or self.ellipsis or self.shown or self.ordinal is not None
                                    or bool(self.letter) or self.more)


def cues(text: str) -> Cues:
    """The follow-up cues of one message (already in simplified script)."""
    t = (text or "").strip()
    m = SWITCH.search(t)
    switch = bool(m) and bool(re.search(r"\w", t[m.end():]))
    if switch and m:
        t = t[m.end():].strip()
    ordinal = None
    om = ORDINAL_EN.search(t)
    if om:
        ordinal = _ORD_EN[om.group(1).lower()]
    else:
        oz = ORDINAL_ZH.search(t)
        if oz:
            ordinal = _ORD_ZH[oz.group(1)]
    lm = LETTER.search(t)
    letter = (lm.group(1) or lm.group(2) or "").lower() if lm else ""
    shown = bool(SHOWN.search(t))
    # "that" as a conjunction ("say that ...") is not a reference; pronouns in a long, self-contained
    # question ("how do they recruit victims online") are weighed by dialogue.py with search signals
    refers = bool(REFERS_EN.search(t) or REFERS_ZH.search(t))
    return Cues(t, switch=switch, refers=refers and not switch,
                ellipsis=not switch and bool(ELLIPSIS_EN.search(t) or ELLIPSIS_ZH.search(t)),
                shown=shown and not switch, heading=shown and bool(HEADING.search(t)),
                note=shown and bool(NOTE.search(t)), ordinal=None if switch else ordinal,
                letter="" if switch else letter, narrow=bool(NARROW.search(t)), widen=bool(WIDEN.search(t)),
                more=bool(MORE.match(t)))
