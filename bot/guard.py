"""Safety guard: decide whether a message gets an answer, a refusal or a help referral.

Every message that could reach the documents goes through ``check`` first (``bot ask`` and
all Rasa actions, via ``bot/safety.py``). Three signals, combined with a fixed precedence:

1. **Rules** (English and Chinese, on ``normalise``-d text: leetspeak, spaced or dotted
   letters, traditional characters, Cantonese, homophones, emoji, pinyin and slang undone):
   a. a person seeking help (a victim, parent or witness: "my nudes", "我女儿", "护照被扣",
      "how do I report") → ``support``;
   b. an operational request: a request frame ("how do I", "give me steps", "教我", "帮我",
      role-play/fiction/"ignore your rules" wrappers, prices and quantities) + an act ("make",
      "buy", "launder", "undress", "洗钱") or an evasion goal ("without being traced",
      "不被发现") + a crime category → ``refuse``;
   c. a policy question: the documents, a third-party subject ("how do traffickers…",
      "人贩子如何…") or an institutional aim ("detect", "regulate", "打击") → ``answer``.
2. **Semantic classifier** over the search's own sentence embeddings (USE) plus character
   n-grams, trained on curated EN/ZH exemplars (``data/guard.yml``) and the NLU data. It can
   turn a rule refusal into a referral (a victim describing what was done to them), refuse
   where no rule applies, and overrule a policy reading only when near-certain.
3. **Rasa's intent** (``request_harmful`` / ``seek_help``) with enough confidence, where
   neither of the others decides.

A follow-up ("ok, now the steps", "which of them works?") is judged together with the
user's previous two messages. Thresholds live in ``bot/config.py``; ``python -m bot safety``
measures them on ``tests/eval/safety*.jsonl``. The guard never answers with content of its
own: refusal and referral texts come from ``bot/safety.py`` and its data files.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

from bot import config, script

Encode = Callable[[list[str]], Any]   # texts → normalised sentence embeddings (one row each)

log = logging.getLogger(__name__)

ANSWER, REFUSE, SUPPORT = "answer", "refuse", "support"

# --------------------------------------------------------------------------------------
# Lexicons (lower-case; Chinese matched as substrings)

CATEGORIES: dict[str, dict[str, list[str]]] = {
    "firearms": {
        "en": ["gun", "guns", "firearm", "firearms", "pistol", "handgun", "rifle", "shotgun", "revolver", "glock",
               "ar-15", "ar15", "ak-47", "receiver", "lower receiver", "serial number", "auto sear", "full auto",
               "fully automatic", "silencer", "suppressor", "ammo", "ammunition", "bullets", "gun parts",
               "frame kit", "80% lower", "ghost gun", "weapon", "weapons", "blank-firing", "airsoft", "explosive",
               "bomb", "semi-auto", "semi-automatic", "automatic fire", "switch", "bump stock", "solvent trap"],
        "zh": ["枪", "手枪", "步枪", "枪支", "弹药", "子弹", "消音器", "消声器", "武器", "枪管", "机匣", "编号",
               "炸药", "炸弹", "火药", "半自动", "全自动", "连发", "改装枪", "仿真枪", "气枪"],
    },
    "child_exploitation": {
        "en": ["child", "children", "kid", "kids", "minor", "minors", "underage", "under-age", "teen", "teens",
               "teenager", "young girl", "young boy", "little girl", "little boy", "schoolgirl", "schoolboy",
               "year old", "year-old", "yo ", "loli", "lolis", "csam", "cp ", "abuse material", "abuse images",
               "abuse videos", "child porn", "groom", "grooming", "predator", "pedophile", "paedophile", "schoolkid",
               "middle school", "high school girl", "preteen", "pre-teen", "jailbait"],
        "zh": ["儿童", "孩子", "小孩", "未成年", "幼女", "幼童", "萝莉", "小女孩", "小男孩", "小学生", "初中生",
               "中学生", "岁的", "初中", "小学", "高中生", "幼儿", "少女", "正太", "恋童"],
    },
    "trafficking": {
        "en": ["passport", "passports", "workers", "migrants", "people across", "across the border",
               "smuggle people", "smuggling people", "traffic girls", "traffic women", "sell girls", "sell women",
               "victims", "escort girls", "debt bondage", "runaway workers", "recruits", "illegal immigrants",
               "forced labour", "forced labor", "scam compound", "smuggle", "smuggling", "border", "job post",
               "job ad", "job advert", "recruitment ad", "high pay", "free flights", "no experience needed",
               "coyote", "people smuggling", "without papers", "w/o papers", "no papers", "cross the border", "to cross",
               "recruit girls", "recruit women", "girls for", "jobs group"],
        "zh": ["护照", "偷渡", "蛇头", "拐卖", "人口", "人贩", "贩运", "出境", "工人", "劳工", "女孩", "受害人", "卖到", "越境", "边境",
               "偷运", "园区", "招聘文案", "招聘广告", "包机票", "高薪", "包吃住", "中介费", "还债", "背债", "证件"],
    },
    "laundering": {
        "en": ["launder", "laundering", "dirty money", "clean money", "clean the money", "wash money",
               "washing money", "mixer", "tumbler", "coin mixing", "mixing service", "mixers", "tumblers", "monero", "untraceable money", "cash out",
               "structure deposits", "smurfing", "shell company", "proceeds", "crypto", "bitcoin", "btc", "payment agents", "payment agent", "money mule", "money mules", "mules", "invoice",
               "invoices", "over-invoicing", "under-invoicing", "trade-based", "underground bank", "underground banking", "hawala",
               "usdt", "money", "deposit", "deposits", "earnings", "profits", "kyc", "exchange", "cash"],
        "zh": ["洗钱", "洗白", "黑钱", "地下钱庄", "收款", "代收", "卡农", "银行卡", "发票", "对敲", "usdt", "承兑", "混币", "跑分", "赃款", "比特币", "加密货币", "虚拟货币", "门罗币", "泰达币",
               "资金", "钱", "提币", "交易所", "kyc", "转账", "分散"],
    },
    "deepfakes": {
        "en": ["undress", "undressing", "nudify", "nudifying", "nude", "nudes", "naked", "deepfake", "deep fake",
               "fake nude", "strip her", "strip him", "take off her clothes", "porn of", "sexual images of",
               "explicit image", "explicit images", "porn", "porn clip", "sex tape", "lewd"],
        "zh": ["去衣", "脱衣", "一键去衣", "裸", "扒光", "衣服去掉", "去掉衣服", "脱掉衣服", "脱光", "换脸", "深度伪造", "色情图", "不雅照", "p成", "深伪",
               "不雅", "不穿衣服", "私房", "色情"],
    },
    "drugs": {
        "en": ["drugs", "meth", "methamphetamine", "cocaine", "coke", "heroin", "fentanyl", "mdma", "ecstasy",
               "lsd", "ketamine", "weed", "💊", "❄️", "❄", "🍃", "🌿", "🍄", "plug", "cop some", "score some", "connect", "cannabis", "opioids", "pills", "xanax", "oxy", "molly"],
        "zh": ["毒品", "冰毒", "海洛因", "大麻", "可卡因", "摇头丸", "k粉", "芬太尼", "麻古", "上家", "拿货", "溜冰"],
    },
    "other_crime": {
        "en": ["stolen", "dark web", "darknet", "illegal", "illegally", "black market", "counterfeit", "fake id",
               "fake passport", "forged", "forgery", "ransomware", "malware", "phishing", "scam", "fraud",
               "credit card data", "card data", "carding", "bribe", "extortion", "ransom", "hitman", "poison"],
        "zh": ["偷来的", "暗网", "非法", "黑市", "假证", "假护照", "伪造", "勒索软件", "木马", "钓鱼", "诈骗", "盗刷",
               "行贿", "黑产", "赃物", "杀手", "下毒", "犯了事", "犯事"],
    },
    "euphemism": {
        "en": ["you know what i mean", "if you know what i mean", "wink wink", "the special stuff", "the good stuff"],
        "zh": ["你懂的", "你明白的", "你懂得", "你明的", "懂的都懂", "特殊的东西", "那种东西"],
    },
    "evasion": {
        "en": ["police", "cops", "law enforcement", "detection", "investigators", "the feds", "tracked", "traced",
               "caught", "evidence", "surveillance", "customs", "border control", "forensics", "forensic", "recover",
               "restore", "wanted", "extradite", "extradition", "send him back", "fugitive", "on the run",
               "investigator", "patrols", "checkpoints", "checkpoint", "the bank", "cameras", "cctv", "facial recognition",
               "face recognition"],
        "zh": ["警察", "公安", "警方", "侦查", "追查", "查到", "抓到", "证据", "监控", "海关", "边检", "取证",
               "在逃", "通缉", "跑路", "人脸识别", "预警"],
    },
}

ACTS_EN = [
    "make", "making", "build", "building", "manufacture", "print", "printing", "3d print", "assemble", "convert",
    "converting", "modify", "mill", "machine", "buy", "buying", "purchase", "order", "obtain", "get", "getting",
    "acquire", "find", "source", "download", "sell", "selling", "ship", "launder", "clean", "wash", "hide",
    "hiding", "conceal", "mix", "tumble", "cash out", "move", "smuggle", "smuggling", "transport", "traffic",
    "recruit", "lure", "groom", "grooming", "contact", "befriend", "meet", "seduce", "undress", "nudify", "strip",
    "deepfake", "produce", "film", "record", "share", "distribute", "stream", "blackmail", "extort", "control",
    "keep", "take", "confiscate", "destroy", "wipe", "erase", "cook", "synthesize", "grow", "grind off",
    "remove", "bypass", "avoid", "evade", "dodge", "escape", "send", "bring", "force", "trick", "stop",
    "trade", "hold onto", "hold on to", "collect", "split", "structure", "deposit", "withdraw", "turn", "edit",
    "generate", "create", "draw", "write", "watch", "view", "access", "hire", "pay", "threaten", "punish",
    "silence", "delete", "set up", "run", "operate", "advertise", "post", "ship", "deliver", "cross", "sneak",
    "say", "talk", "chat", "message", "offer", "convince", "persuade", "trust", "secret",
]
ACTS_ZH = [
    "做", "造", "制作", "制造", "打印", "组装", "改装", "改", "买", "购买", "弄到", "搞到", "搞", "获得", "找", "下载",
    "卖", "出售", "寄", "洗", "藏", "隐藏", "转移", "混", "偷运", "运", "带", "拐", "招募", "骗", "引诱", "诱骗",
    "接近", "认识", "联系", "去衣", "脱", "换脸", "合成", "生成", "拍", "录", "传", "分享", "直播", "勒索", "威胁",
    "控制", "扣", "收走", "销毁", "删", "逃避", "躲避", "绕过", "避开", "提现", "种", "磨掉", "跑分", "配", "p",
    "收上来", "收", "招", "让他们", "不让", "背债", "下单", "拿货", "提币", "转账", "写", "清掉", "清除", "恢复不了",
    "躲", "藏身", "发给我", "给我发", "看", "约", "聊", "伪装", "下载", "翻墙", "过境", "偷偷", "拆成",
]
REQUEST_EN = [
    r"\bhow (?:can|could|do|would|should|might|to)\b(?! (?:the )?(?:documents?|papers?|report|brief|article))",
    r"\bhow (?:i|we|one|someone|somebody|a person) (?:can|could|would|should)\b",
    r"\b(?:help|teach|show|tell|give|send|get|find|write|walk|explain(?: to)?) (?:me|us)\b"
    r"(?! (?:about|what|whether|if|more|why|which (?:documents?|papers?|paragraphs?|sections?)|the (?:documents?|"
    r"papers?|paragraphs?|sections?|sources?)))",
    r"\b(?:step[- ]by[- ]step|steps? (?:to|for)|instructions|tutorial|guide to|recipe|parts list|blueprint|"
    r"walkthrough|method to|methods to|best way|easiest way|cheapest way|safest way|fastest way|quickest way)\b",
    r"\bwhere (?:can|could|do|would|should|might) (?:i|we|one|someone|you)\b",
    r"\b(?:which|what) (?:site|sites|website|market|marketplace|vendor|seller|shop|app|channel|group|forum|"
    r"dealer|supplier|tool|software)\b",
    r"\bi (?:want|need|wanna|plan|intend|would like|'d like|am trying|'m trying|am going|'m going) to\b",
    r"\b(?:let's|lets)\b", r"\bcan you\b",
    r"\bi need you to\b|\bif i (?:wanted|were|was going) to\b|\bsuppose i\b",
    r"\bwhat should (?:the|my|our|a) (?:first |opening )?(?:message|text|dm|post|ad|reply|line|caption) (?:say|be|look like)\b",
    r"\bwhich one\b",
    r"\b(?:best|safest|cheapest|quickest|easiest|fastest|most reliable) (?:route|routes|way|place|method|time|spot|"
    r"crossing|app|site|market|vendor|exchange|coin|bank|country)\b",
    r"\bi (?:need|want|would like|'d like|require) (?:the|a|an|some|your|specific|exact|actual|detailed|precise|real)\b"
    r"(?! (?:summary|overview|quote|citation|reference|paragraph|briefing|explanation|answer|documents?|sources?|list of "
    r"(?:the )?(?:documents|sources|recommendations)))", r"\bwhat do i (?:need|change|do)\b", r"\bis there (?:a|any) way to\b",
    r"\bwhat (?:else )?(?:should|do|can|could|would) (?:i|we) (?:say|tell|write|send|offer|give|use|buy|do|charge)\b",
    r"\bwhich (?:country|countries|route|routes|way|border|crossing|app|coin|exchange)\b",
    r"\bhow (?:does|do|can|could|would|should) (?:he|she|my friend|my brother|my cousin|my boss)\b",
]
REQUEST_ZH = ["什么办法", "啥办法", "流程", "说一下", "讲一下", "怎么", "怎样", "如何", "教我", "教教我", "帮我", "给我", "告诉我", "我想", "我要", "我该", "求",
              "步骤", "教程", "方法", "攻略", "哪里", "哪儿", "哪个网站", "哪个平台", "哪家", "推荐", "有没有办法",
              "能不能", "可以吗", "怎么办才能", "详细", "具体", "办法", "最省事", "哪条", "哪种", "哪个", "需要知道"]
WRAPPERS_EN = [
    r"\bfor (?:my|a) (?:novel|story|book|screenplay|script|game|thriller|film|movie|character|fiction)\b",
    r"\b(?:role[- ]?play|roleplay|pretend|imagine you|you are now|act as|stay in character|in character)\b",
    r"\bhypothetical(?:ly)?\b", r"\bin theory\b", r"\bjust (?:curious|asking)\b", r"\bfor a friend\b",
    r"\b(?:ignore|forget|disregard) (?:all |your |the |any )?(?:previous |prior |safety )?(?:rules|instructions|"
    r"guidelines|policies|restrictions)\b", r"\bdan\b", r"\bjailbreak\b", r"\bno (?:filter|restrictions)\b",
    r"\bfor (?:research|educational|academic|training) purposes\b",
    r"\bfor an? (?:[\w-]+ ){0,2}(?:art|school|film|research|class|science|chemistry|university|college|uni) (?:project|assignment|"
    r"homework|paper|essay)\b",
    r"\bdeveloper mode\b", r"\bwithout (?:any )?(?:moral|ethical) (?:limits|restrictions)\b", r"\bfanfic\b",
    r"\b(?:i'?m|i am|we'?re) writing (?:a|an|my|our) (?:novel|story|book|thriller|screenplay|script|fanfic|game|play)\b",
    r"\b(?:my|the|our) (?:main )?character\b",
    r"\b(?:evil twin|answer as|respond as|reply as|speak as|opposite of (?:a|your|the)|reverses? (?:every|all|your|each)|"
    r"unfiltered|uncensored|no lecture|without (?:the )?lecture|skip the (?:lecture|warnings?|disclaimer)|"
    r"training simulation|attacker'?s playbook|red team(?:ing)? exercise)\b",
]
ROLE_EN = re.compile(r"\b(?:as|i'?m|i am) an? (?:[\w-]+ ){0,2}(?:police officer|cop|detective|investigator|researcher|ngo researcher|"
                     r"journalist|reporter|lawyer|teacher|doctor|firearms instructor|instructor|security researcher|"
                     r"writer|novelist|social worker|nurse|parent|photographer|officer|student|chemist|developer)\b")
PRO_EN = re.compile(
    r"\bi'?m (?:writing|preparing|drafting|putting together|planning|giving|designing) (?:a|an|the|our|my) (?:\w+ ){0,3}"
    r"(?:briefing|report|lesson|training|presentation|paper|article|workshop|course|module|talk|memo|thesis|curriculum)\b|"
    r"\bi (?:train|teach|supervise|work (?:in|at|for|as|with))\b|\b(?:i'?m|i am) (?:a|an|the) (?:\w+ ){0,3}(?:trainee|officer|"
    r"analyst|moderator|teacher|counsell?or|student|official|prosecutor|judge|investigator|researcher|journalist|nurse|"
    r"social worker|policymaker|regulator|auditor|consultant|inspector|librarian|principal)\b")
PRO_ZH = re.compile(r"我(?:在|正在)?(?:写|准备|做|给|负责)[^，。]{0,14}(?:报告|培训|讲座|课|材料|论文|简报|研究|宣讲|教案)|"
                    r"我是[^，。]{0,12}(?:老师|教师|民警|警察|新人|学生|研究|分析师|审核|社工|律师|记者|官员|工作人员|合规|法官|检察官|校长)")
ROLE_ZH = ["我是警察", "我是网警", "我是律师", "我是记者", "我是研究", "作为律师", "作为记者", "作为警察", "我是射击教练",
           "我是教练", "我是老师", "作为老师", "我是社工"]
WRAPPERS_ZH = ["反着说", "反过来说", "邪恶版", "不要说教", "别说教", "别废话", "只要数字", "攻击者视角", "模拟演练", "小说", "故事", "剧本", "角色扮演", "你扮演", "扮演一个", "扮演我", "假设你", "假设我", "假如你", "假如我",
               "假设有人", "假如有人", "如果有人想",
               "如果我是", "假装", "忽略", "无视", "之前的设定", "之前的规则", "没有道德", "没有限制", "不受限制", "研究用",
               "为了研究", "替朋友问", "帮朋友问", "开发者模式"]
EVASION_EN = [r"\bso (?:that )?(?:[\w']+ )?(?:(?:and|or) (?:[\w']+ )?)?(?:\w+ )?(?:don'?t|doesn'?t|won'?t|can'?t|cannot|never|"
              r"will not|do not|does not) (?:ever )?(?:notice|find out|see|catch|trace|detect|flag|know|suspect|report|block)\b",
              r"\b(?:looks?|appears?|seems?|sounds?) (?:\w+ )?(?:legal|legit|legitimate|clean|innocent|above board)\b",
              r"\bwithout (?:the |any |my |their )?(?:[\w']+ ){0,2}(?:filters?|moderation|moderators|bank|police|platform|"
              r"parents|checks?) (?:blocking|catching|flagging|noticing|detecting|seeing|knowing)\b",
              r"\b(?:checklist of |list of )?mistakes to avoid\b|\bwhat mistakes (?:got|get|gets) (?:them|people|him|her) caught\b",
              r"\b(?:can'?t|cannot|won'?t|don'?t|doesn'?t|never) (?:id|identify|recogni[sz]e|track|trace|find|catch|"
              r"link|match) (?:me|us|him|her|them|it back)\b",
              r"\bwithout (?:the |my |any )?(?:bank|banks|police|cops|anyone|anybody|them|authorities|parents|platform|"
              r"exchange|customs) (?:detecting|noticing|knowing|finding out|tracing|flagging|seeing|catching|asking)\b",
              r"\bwithout (?:being |getting )?(?:caught|traced|tracked|detected|noticed|flagged|a licen[cs]e|"
              r"(?:a |any )?(?:background check|id|serial number|paperwork|trace))\b",
              r"\b(?:not|never|won't|doesn't|don't) (?:get )?(?:caught|traced|tracked|detected|flagged)\b",
              r"\buntraceable\b", r"\bunregistered\b", r"\banonymous(?:ly)?\b", r"\bno questions asked\b",
              r"\bcover (?:my|our) tracks\b",
              r"\bso (?:that )?(?:the )?(?:bank|banks|police|cops|nobody|no one|they|it|anyone|authorities|irs|tax office|"
              r"exchange|platform|customs) (?:doesn'?t|don'?t|won'?t|can'?t|cannot|never|will not|does not)\b",
              r"\b(?:stay|stays|staying|keep|keeps|keeping|remain) (?:just |right |safely )?(?:under|below) (?:the )?"
              r"(?:\w+ )?(?:threshold|limit|radar)\b|\bunder the radar\b",
              r"\b(?:weakest|laxest|loosest|least strict|no|lax|easiest to (?:fool|bypass|beat))\b[^.?!]{0,20}\b(?:age checks?|"
              r"checks?|kyc|verification|moderation|controls?|enforcement|patrols?|security|filters?)\b",
              r"\b(?:no[- ]logs?|doesn'?t keep (?:any )?logs|keeps? no logs)\b",
              r"\b(?:keep|stay|remain)s? (?:my |our |me |us )?(?:\w+ )?(?:hidden|invisible|untraceable|anonymous|off the grid) "
              r"(?:from|to)\b|\bhide (?:my|our) (?:location|identity|tracks|ip) from\b",
              r"\b(?:get|getting|go|going|work|working) around (?:the |their |its |any |his |her )?(?:\w+ )?(?:filters?|"
              r"checks?|limits?|kyc|detection|verification|safeguards|moderation|reporting|bans?|blocks?)\b",
              r"\bso (?:that )?(?:nobody|no one|no-one|noone|none of them) (?:can|could|will|would|ever)\b",
              r"\btrace (?:it|them|this|that|the \w+) back to (?:me|us)\b",
              r"\bavoid\w* (?:the )?(?:patrols|checkpoints|police|cops|cameras|border control|border guards|customs|"
              r"detection|kyc|reporting|the reporting|background checks?)\b",
              r"\b(?:unrecoverable|can'?t be recovered|cannot be recovered|beyond recovery|nothing to recover)\b",
              r"\bgives? (?:the )?(?:police|cops|investigators|forensics|them|the feds) nothing\b",
              r"\b(?:police|cops|investigators|forensics|the feds) (?:get|gets|find|finds|recover|recovers) nothing\b", r"\bso (?:that )?(?:police|the cops|nobody|no one) (?:can't|cannot|won't)\b"]
EVASION_ZH = ["规避", "绕开", "暗语", "黑话", "看起来合法", "显得合法", "表面合法", "看起来正规", "看着合法", "不被发现", "不被查", "不被抓", "查不到", "查不出", "抓不到", "不留痕迹", "无痕", "匿名", "不用证",
              "不要证", "没有证", "不登记", "不实名", "躲过", "避开警", "逃过", "神不知鬼不觉"]
CONTINUATION = re.compile(
    r"^\s*(?:and |so |ok,? |okay,? |now |then )?(?:step[- ]by[- ]step|steps?|details?|more details|specifically|"
    r"exactly|go on|continue|and then|how exactly|be specific|the first one|do it|tell me|show me|具体|详细|步骤|"
    r"继续|然后呢|怎么做|具体怎么|说详细|展开)", re.I)

LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
# spellings that dodge keyword filters: split characters and homophones of crime terms
HOMOPHONES = [("衣果", "裸"), ("祼", "裸"), ("护找", "护照"), ("户照", "护照"), ("边竟", "边境"), ("氵先钱", "洗钱"), ("氵先", "洗"),
              ("冫水", "冰"), ("女干", "奸"), ("犭仓", "枪"), ("木仓", "枪"), ("qiang支", "枪支"), ("du品", "毒品"),
              ("毒pin", "毒品"), ("萝li", "萝莉"), ("lo莉", "萝莉"), ("偷du", "偷渡"), ("色qing", "色情"), ("蘿莉", "萝莉")]
EMOJI = [("👗❌", " undress "), ("❌👗", " undress "), ("🔫", " gun "), ("💊", " pills "), ("❄️", " ice "), ("❄", " ice "),
         ("🍃", " weed "), ("🌿", " weed "), ("🍆", " sex "), ("🍑", " nude "), ("👶", " child "), ("🧒", " child "),
         ("💉", " drugs "), ("💰🧼", " launder money "), ("🧼💰", " launder money ")]
PINYIN = {"xq": "洗钱", "zidan": "子弹", "shouqiang": "手枪", "用u": "用usdt", "走u": "走usdt", "bingdu": "冰毒", "冰du": "冰毒", "bing毒": "冰毒", "ertong": "儿童", "er tong": "儿童", "xiqian": "洗钱", "xi钱": "洗钱", "tuoyi": "脱衣", "tuo衣": "脱衣",
          "qiangzhi": "枪支", "dupin": "毒品", "du品": "毒品", "luoliao": "裸聊", "luozhao": "裸照", "toudu": "偷渡",
          "guaimai": "拐卖", "qiang支": "枪支", "se情": "色情", "seqing": "色情"}
NOT_FIRST_PERSON_ZH = ("我国", "我们国家", "我方", "我省", "我市", "我区", "我县", "我院", "我所", "我局", "自我")


SLANG = [(r"\bhow 2\b", "how to"), (r"\b2 (?=make|buy|get|find|launder|hide|print|undress)", "to "),
         (r"\b4 (?=a |my |me\b)", "for "), (r"\bw/o\b", "without"), (r"\bthru\b", "through"), (r"\bppl\b", "people"),
         (r"\bu\b", "you"), (r"\bur\b", "your"), (r"\bcant\b", "can't"), (r"\bdont\b", "don't"), (r"\bpls\b", "please"),
         (r"\bplz\b", "please"), (r"\bgimme\b", "give me"), (r"\bwanna\b", "want to"), (r"\bhow can u\b", "how can you")]


@lru_cache(maxsize=1)
def _lexicon_words() -> frozenset[str]:
    words = {w for lex in CATEGORIES.values() for w in lex["en"] if w.isalpha()}
    return frozenset(words | {w for w in ACTS_EN if w.isalpha()})


def _join_spaced(match: re.Match[str]) -> str:
    """'g u n' → 'gun'; keeps a leading article apart ('a g u n' → 'a gun')."""
    joined = re.sub(r"[\s.\-_*]", "", match.group(0))
    if joined[0] in "ai" and joined[1:] in _lexicon_words() and joined not in _lexicon_words():
        return joined[0] + " " + joined[1:]
    return joined


def _join_hyphen(match: re.Match[str]) -> str:
    """'und-ress' → 'undress' when that is a known word; 'year-old' stays."""
    joined = match.group(0).replace("-", "")
    return joined if joined in _lexicon_words() else match.group(0)


PINYIN_WORDS = {
    "qiang": "枪", "zai na li": "在哪里", "shou qiang": "手枪", "zi dan": "子弹", "na li": "哪里", "nali": "哪里", "zai na": "在哪", "mai": "买",
    "shi ming": "实名", "qu dao": "渠道", "tui jian": "推荐", "bu yao": "不要", "you mei you": "有没有", "zen me": "怎么",
    "zenme": "怎么", "ru he": "如何", "du pin": "毒品", "xi qian": "洗钱", "tou du": "偷渡", "hu zhao": "护照",
    "luo zhao": "裸照", "tuo yi": "脱衣", "er tong": "儿童", "xiao hai": "小孩", "bu bei fa xian": "不被发现",
    "jing cha": "警察", "bing du": "冰毒", "da ma": "大麻", "pao fen": "跑分", "hei qian": "黑钱", "qiu": "求",
    "zi yuan": "资源", "bu yong": "不用", "deng ji": "登记", "de": "的", "shi": "是", "wo": "我", "xiang": "想",
    "yao": "要", "gei": "给", "ke yi": "可以", "neng": "能", "zuo": "做", "jiao": "教",
    "san d": "3d", "3 d": "3d", "da yin": "打印", "ling jian": "零件", "xu yao": "需要", "na xie": "哪些", "bu zhou": "步骤",
    "zhi zuo": "制作", "gou mai": "购买", "qiang zhi": "枪支", "wu qi": "武器", "zha yao": "炸药", "tu zhi": "图纸",
    "xia zai": "下载", "wen jian": "文件", "zen yang": "怎样", "zuo fa": "做法", "jiao cheng": "教程", "ma": "吗",
}
_PINYIN_SYLLABLE = re.compile(r"^(?:[bpmfdtnlgkhjqxrzcsyw]|zh|ch|sh)?(?:iang|iong|uang|ang|eng|ing|ong|ian|iao|uan|uai|"
                              r"ai|ei|ao|ou|an|en|in|un|ia|ie|iu|ua|uo|ui|ue|er|a|o|e|i|u|v)(?:ng|n|r)?$")


def _from_pinyin(t: str) -> str:
    """Runs of toneless pinyin ("qiang zai na li mai", also inside a Chinese message) → Chinese
    key words. A run needs four syllables, two of them known words, so English stays English."""
    def convert(run: str) -> str:
        out = " " + re.sub(r"[,.?!]", " ", run) + " "
        for spelled in sorted(PINYIN_WORDS, key=len, reverse=True):
            out = out.replace(f" {spelled} ", f" {PINYIN_WORDS[spelled]} ")
        return re.sub(r"(?<=[\u4e00-\u9fff]) (?=[\u4e00-\u9fff])", "", out).strip()

    def replace(match: re.Match[str]) -> str:
        run = match.group(0)
        tokens = [w.strip(",.?!") for w in run.split()]
        known = sum(w in PINYIN_WORDS for w in tokens)
        if sum(bool(_PINYIN_SYLLABLE.match(w)) for w in tokens) < 0.8 * len(tokens) or known < 2:
            return run
        return " " + convert(run) + " "

    return re.sub(r"(?:\b[a-z0-9]+[,.?!]?(?:\s+|$)){4,}", replace, t).strip()


def normalise(text: str) -> str:
    """Lower-case text with common obfuscation undone: leetspeak, spaced or dotted letters and
    characters, stretched letters, chat slang, common pinyin spellings of Chinese crime terms."""
    t = unicodedata.normalize("NFKC", text or "")
    t = re.sub("[\u200b-\u200f\u2060\ufeff]", "", t).lower()
    t = unicodedata.normalize("NFC", "".join(c for c in unicodedata.normalize("NFD", t)
                                             if not unicodedata.combining(c)))      # pinyin tone marks
    t = script.normalise(t)       # traditional characters and Cantonese → the documents' script
    t = _from_pinyin(t)
    for spelled, term in HOMOPHONES:
        t = t.replace(spelled, term)
    for emoji, word in EMOJI:
        t = t.replace(emoji, word)
    t = re.sub(r"[\"'“”‘’「」『』]\s*(snow|ice|crystal|blow|candy|tina|molly|gear|green|grass|pills?|tabs|粉|冰|糖|叶子|东西)"
               r"\s*[\"'“”‘’「」『』]", r" \1 drugs ", t)                                     # 'snow', “冰”
    t = re.sub(r"(?<=[a-z])[0134579@$!](?=[a-z])", lambda m: LEET[m.group(0)], t)   # h0w, m@ke, g1rl
    t = re.sub(r"(?<=[a-z])[0@$](?=\b)", lambda m: LEET[m.group(0)], t)
    t = re.sub(r"\b[@$](?=[a-z])", lambda m: LEET[m.group(0)], t)
    t = re.sub(r"\b(?:[a-z][\s.\-_*]){2,}[a-z]\b", _join_spaced, t)                 # g u n, g.u.n
    t = re.sub(r"\b([a-z])\.([a-z])\b\.?", r"\1\2", t)                                 # c.p
    t = re.sub(r"\b[a-z]+-[a-z]+\b", _join_hyphen, t)                              # und-ress
    t = re.sub(r"(?<=[\u4e00-\u9fff])[\s.\-_*·]+(?=[\u4e00-\u9fff])", "", t)     # 偷 渡, 色·情
    t = re.sub(r"([a-z])\1{2,}", r"\1", t)                                         # guuun
    t = t.replace("w/ ", "with ")
    for pattern, replacement in SLANG:
        t = re.sub(pattern, replacement, t)
    for spelled, term in PINYIN.items():
        t = t.replace(spelled, term)
        if " " not in spelled and not spelled.isascii():   # "tuo 衣" written with a space
            t = t.replace(re.sub(r"([a-z])(?=[^a-z])", r"\1 ", spelled, count=1), term)
    return re.sub(r"\s+", " ", t).strip()


def _edit1(a: str, b: str) -> bool:
    """Levenshtein distance ≤ 1 (typos such as "lauder", "firarm", "smugle")."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = j = diff = 0
    while i < len(a) and j < len(b):
        if a[i] != b[j]:
            diff += 1
            if diff > 1:
                return False
            if len(a) == len(b):
                i += 1
            j += 1
        else:
            i += 1
            j += 1
    return diff + (len(b) - j) <= 1


def _words(text: str) -> set[str]:
    tokens = re.findall(r"[a-z0-9\-']+", text)
    return set(tokens) | {part for tok in tokens if "-" in tok for part in tok.split("-") if part}


def _has_term(text: str, words: set[str], terms: Iterable[str]) -> bool:
    squashed = re.sub(r"[^a-z]", "", text) if len(words) < 40 else ""
    for term in terms:
        if " " in term or "-" in term or not term.isascii() or not term.isalnum():
            if term in text:
                return True
        elif term in words or (len(term) >= 6 and any(len(w) >= 6 and _edit1(w, term) for w in words)):
            return True
        elif len(term) >= 4 and squashed and term in squashed and any(len(w) > len(term) + 2 and term in w for w in words):
            return True  # letters that were spaced out and joined into one run ("buymeth")
    return False


def _any(patterns: Iterable[str], text: str) -> bool:
    return any(re.search(p, text) for p in patterns)


@dataclass
class Verdict:
    """The guard's decision and why."""

    decision: str                      # answer | refuse | support
    category: str | None = None        # crime category of a refusal
    need: str | None = None            # kind of help for a referral
    signals: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"decision": self.decision, "category": self.category, "need": self.need, "signals": self.signals}


CHILD_CONTEXT = re.compile(
    r"\b(?:sex\w*|nude\w*|naked|porn\w*|abuse\w*|explicit|groom\w*|predator|undress\w*|lewd|erotic|pics?|photos?|"
    r"pictures|images|videos?|meet(?: up)?|secret|trust|touch\w*|webcam|video chat|livestream\w*|stream\w*|csam|"
    r"cp|dating|date|kiss|alone|gifts?|loli|lolis|content|resources?|links?|secrets?|hidden|relationship|contact|"
    r"messages?|dms?|chat|reply|befriend|username|material|samples|pics?)\b|萝莉|私下|单独|资源|性|裸|色情|不雅|私密|私房|猥亵|诱骗|约|见面|聊|照片|视频|直播|脱|恋童|秘密|送")


AGE = re.compile(r"\b(?:1[0-7]|[4-9]) ?(?:yo|y/o|y\.o\.|yrs? old|years? old|-year-old)\b|(?:1[0-7]|[4-9]|十[一二三四五六七]?|[四五六七八九])岁")


def categories(text: str) -> list[str]:
    """Crime categories whose objects the (normalised) text mentions. Children alone are no
    crime object: child exploitation needs a sexual, abusive or contact context too."""
    words = _words(text)
    found = []
    for name, lex in CATEGORIES.items():
        if _has_term(text, words, lex["en"]) or any(z in text for z in lex["zh"]) \
                or (name == "child_exploitation" and AGE.search(text)):
            if name == "child_exploitation" and not CHILD_CONTEXT.search(text):
                continue
            found.append(name)
        elif name == "trafficking" and (CONTROLLER_EN.search(text) or CONTROLLER_ZH.search(text)):
            found.append(name)
    return found


def _need(text: str, cats: list[str]) -> str:
    if re.search(r"\b(?:in danger|hurt|kill|beat|beating|hitting|attack|scared for my life|threaten\w* to hurt)\b|"
                 r"危险|打我|打人|挨打|下手|杀|救命|害怕", text):
        return "danger"
    if "child_exploitation" in cats:
        return "child_exploitation"
    if "deepfakes" in cats or re.search(r"nudes?|naked|intimate|private (?:photos|pictures|videos)|sextort|裸|私密|不雅|录了我", text):
        return "intimate_images"
    if "trafficking" in cats or re.search(r"passport|forced|trapped|locked|compound|护照|被骗到|园区|被关|被逼", text):
        return "trafficking"
    return "reporting"


REPORT_EN = re.compile(r"\b(?:how|where|who) (?:(?:can|do|should|could) (?:i|we) |to )(?:report|flag|alert)\b|"
                       r"\breport (?:it|this|them|him|her|the \w+) to\b|\bwhere (?:is|are) the (?:hotline|helpline)")
HELP_WHERE = re.compile(r"\b(?:where|how|who) (?:can|do|should|could|would) (?:\w+ ){0,4}(?:get|find|seek|ask for) "
                        r"(?:help|support|protection)\b|(?:哪里|哪儿|怎么|如何|向谁|找谁)[^，。？]{0,6}(?:求助|获得帮助|寻求帮助|得到帮助)")
REPORT_ZH = re.compile(r"(?:哪|怎么|如何|怎样|向谁|可以|能|该|去|找谁)[^，。]{0,4}(?:举报|报警|报案|反映|投诉)|举报(?:电话|热线|渠道|入口)")
# someone who holds other people's documents or runs the place ("once we've taken their passports")
CONTROLLER_EN = re.compile(r"\b(?:i|we)(?:'ve| have| already)? (?:taken|took|confiscated|kept|keep|hold|holding|collected) "
                           r"(?:their|his|her|the workers'|the girls') (?:passports?|documents|ids?|phones)\b|"
                           r"\b(?:the (?:girls|workers|boys|women)|people) (?:working|who work) for (?:me|us)\b")
CONTROLLER_ZH = re.compile(r"(?:收了|扣了|拿走了|收走了|扣着|收上来)(?:他们|她们|他|她|工人|新人)?的?(?:护照|证件|手机)|"
                           r"护照(?:已经|都)?(?:收了|扣了|在我这|在我们这)|我(?:在)?[^，。]{0,8}(?:管人|看人|带人)|手下的?(?:人|女孩|工人)")
# asking to have one's own images taken down ("how do I get my photos removed")
REMOVAL_EN = re.compile(r"\bget (?:my|our|her|his|the|these|those|it|them|this)(?: \w+){0,3} (?:removed|taken down|deleted|"
                        r"blocked)\b|\b(?:remove|take down|delete) (?:my|our) (?:photos|pictures|pics|images|videos|nudes)\b|"
                        r"\bi (?:want|need|would like|'d like) to report\b")
REMOVAL_ZH = re.compile(r"(?:删|下架|撤下|移除|撤掉)[^，。？]{0,8}(?:我|自己)的?|(?:我|自己)的?[^，。？]{0,10}(?:删|下架|撤下|移除)|"
                        r"(?:我要|我想)举报")
FIRST_PERSON_EN = re.compile(r"\b(?:i|me|my|mine|myself|we|us|our|ours|i'm|i'd|i've|i'll|im)\b")
IMPERATIVE = re.compile(
    r"(?:^|[.!?:;,]\s*)(?:please |kindly |now |ok,? |okay,? |hey,? |just |so |(?:can|could|would|will) you |i need you to |you will |"
    r"you must )*(?:(?:generate|create|make|draw|write|produce|give|send|find|undress|nudify|convert|build|print|"
    r"design|craft|compose|draft|take|get|buy|provide|share|post|edit|turn|photoshop|strip|render|recommend|list)\b"
    r"(?! of\b)|(?:show|tell|teach|walk) (?:me|us)?\s*(?:how|the (?:steps|exact|best)|step|exactly|"
    r"in detail|precise|the way|through)|(?:explain|describe) (?:to (?:me|us) )?how (?:to|i|we|one|you|someone)\b)")
IMPERATIVE_INFO = re.compile(
    r"\b(?:give|provide|list|share|send|find|get|write|draft|compose|create|make|prepare|tell)(?: me| us)? (?:an? |the |some |"
    r"\d+ |three |five |ten |a few )?(?:balanced |brief |short |quick |concise |detailed |structured |neutral |"
    r"real[- ]world |concrete )?(?:examples?|overview|summary|explanation|background|context|definition|comparison|"
    r"statistics|figures|data|recommendations|measures|indicators|red flags|warning signs|signs|stages|trends|cases|"
    r"case studies|literature review|policy brief|briefing|leaflet|lesson plan|quiz|talking points|about)\b")
# asking the assistant for an overview of the documents is no operational imperative
INFO_REQUEST = re.compile(r"\b(?:overview|summary|summari[sz]e|outline|compare|comparison|key points|headings|briefing note|"
                          r"what the (?:documents?|papers?|brief|article|report)s? (?:say|said|recommend)|quote|cite|citation)\b|"
                          r"概述|总结|归纳|梳理|摘要|比较|对比|要点|文件(?:里|中)?(?:怎么说|说了什么|有哪些建议)")
IMPERATIVE_ZH = re.compile(r"(?:^|[。？！?!；;：:，,\s])(?:请|麻烦|你|快|直接|现在)?(?:请把|把[^，。]{0,12}(?:写|列|发|做)出?|帮我|给我|教我|写(?!出)|生成|画|做一个|做个|发(?:给|我|一|个|张|几|份)|推荐|列出|"
                           r"给(?:这|那)(?:张|个|段|几张)|把(?:这|那)(?:张|个|段|几张))|(?:请|麻烦你?|你)(?:直接)?(?:写|列|发|给)(?:出来|我|一)|"
                           r"(?:告诉我|说说|讲讲|解释)(?:怎么|如何|具体|步骤|详细)")
SOURCE_EN = re.compile(
    r"\b(?:which|what|any|a good|the best|reliable|trusted|trustworthy) "
    r"(?:(?!do\b|does\b|did\b|are\b|is\b|can\b|should\b|would\b|have\b|has\b|were\b|was\b)\w+ ){0,2}(?:site|sites|website|websites|"
    r"market|markets|marketplace|vendor|vendors|seller|sellers|shop|shops|app|apps|bot|bots|channel|channels|group|"
    r"groups|forum|forums|dealer|dealers|supplier|suppliers|exchange|exchanges|link|links|platform|platforms|"
    r"service|services|tool|tools|software)\b|\bwhere (?:\w+ ){0,3}(?:buy|get|find|download|trade|order|watch|"
    r"stream|hire|source|cop|score)\b|\bwhere do people\b")
SOURCE_ZH = re.compile(r"哪个(?:群|网站|平台|交易所|卖家|软件|app|机器人|渠道|论坛|链接|商家)|哪里(?:能|可以|有)?(?:买|卖|下|找|看|弄|搞|出)|"
                       r"求(?:推荐|资源|链接|网址|拉|带)|有没有(?:免费|好用|靠谱|人有|[^，。？]{0,6}(?:群|资源|渠道|链接|网站|卖家|货))|资源哪里|哪里下|(?:找|给我|求|靠谱的?|什么|哪个|几个|有)[^，。？]{0,6}渠道|拉我")
# asking for ready-to-use harmful text: a grooming script, a threat, a fake job advert
CONTENT_EN = re.compile(
    r"\b(?:write|draft|compose|give me|need|want|send me|provide|share|paste|generate|create|make)\b[^.?!]{0,40}"
    r"\b(?:script|scripts|template|templates|wording|exact words|exact lines|lines|dialogue|chat log|sample message|"
    r"example message|messages? (?:to send|i can send|that works)|(?:chat |text |first |opening )?messages?|emails?|letters?|"
    r"product descriptions?|descriptions?|ad copy|job ads?|job adverts?|job posts?|listings?|posts|"
    r"ads|adverts|captions|dms|texts)\b")
CONTENT_ZH = re.compile(r"(?:写|给我|发我|提供|列出|需要|要一份|来一份|来个|编|设计|整理|准备)[^。？！?]{0,14}(?:话术|原文|模板|范文|文案|台词|"
                        r"聊天记录|开场白|广告词|招聘启事)|(?:话术|原文|模板|范文|文案|台词|开场白)[^。？！?]{0,14}"
                        r"(?:写|给我|发我|提供|列出)")
PARAM_EN = re.compile(
    r"\bjust the (?:numbers|steps|settings|specs|list|names?|amounts?)\b|\bexact (?:amount|amounts|number|numbers|"
    r"settings|specs|dose|dosage|quantity|quantities|threshold|steps|route|time|percentage|ratio|temperature|pattern|"
    r"wording|price)\b|\bwhat (?:exact )?(?:[\w']+ ){0,3}(?:settings|specs|dose|dosage|temperature|infill|prompts|"
    r"precursors|reaction steps|yield|ingredients|recipe|markup)\b|"
    r"\b(?:what'?s|what is|what would be) (?:a |the )?(?:reasonable|good|typical|right|safe|ideal|optimal|best|max(?:imum)?) "
    r"(?:\S+ ){0,3}(?:amount|price|fee|debt|rate|number|dose|markup|percentage|cut|size|sum)\b|\byield per batch\b|"
    r"\bhow (?:much|many) (?:\w+ ){0,3}(?:per|each|a) (?:deposit|transfer|day|week|batch|gram|shipment|trip|person)\b")
PARAM_ZH = re.compile(r"多少合适|定多少|一般多少|每笔(?:存|转|打)?多少|多少比较|多少克|配比|多少度|定价|利润最高|进价|卖多少|"
                      r"收多少|几年都还|多少钱一|每次(?:存|转|运|带)多少|一次(?:存|转|运|带)多少|参数|配方")
SHOPPING_EN = re.compile(
    r"\b(?:most reliable|reliable|trusted|trustworthy|legit|the best|best|cheapest|most realistic|realistic|for free|"
    r"free|still (?:work|works|active|up|online|open)|right now|these days|nowadays|at the moment|currently|no kyc|"
    r"without kyc|no questions asked|ships? to|deliver(?:s|y)? to)\b")
SHOPPING_ZH = re.compile(r"靠谱|好用|最好|最便宜|免费|现在还|还能用|目前|求推荐|推荐一个|推荐几个|包邮|发货|效果最")
COME_FORWARD = re.compile(
    r"\b(?:turn myself in|come forward|get out of this|get out of it|want out|stop being a (?:money )?mule|how do i get out|"
    r"i (?:was|got) (?:tricked|scammed|used)|without ending up in (?:jail|prison))\b|主动(?:去)?(?:说清楚|自首|投案|报警|配合|交代)|"
    r"自首|投案|想退出|怎么退出|怎么脱身|如何脱身|被骗(?:去|来|成|当)")
DISTRESS_EN = re.compile(
    r"\bwhat (?:should|do|can|could) (?:i|we) do\b|\bplease help\b|\bhelp (?:me|us|her|him)(?: please|,|\.|!| out| get|"
    r" escape| leave| report| stop| remove|$)|\bi'?m (?:so )?(?:scared|afraid|terrified|frightened)\b|\bi am (?:so )?"
    r"(?:scared|afraid|terrified)\b|\bscared for (?:my|her|his|their) life\b|\bin danger\b|\bdon'?t know what to do\b|"
    r"\bwho (?:should|can|do|could) (?:i|we) (?:call|contact|tell|talk to|report)|\bwhich (?:number|hotline)\b|"
    r"\bis there (?:a|any) (?:hotline|helpline|number)\b|\bhow (?:do|can|should) (?:i|we) (?:report|get (?:it|them|"
    r"this|these) (?:taken )?down|get (?:help|out)|escape|leave|save|rescue|protect (?:my|our|her|him))\b|"
    r"\bwhere (?:can|do|should) (?:i|we) (?:report|get help|go)\b|\bwhat are my options\b")
DISTRESS_ZH = re.compile(r"(?:我|我们|现在|该|[，,。])怎么办|维权|报案|怎么办[？?！!。]*$|我该怎么|我们该怎么|崩溃|去哪里举报|哪里举报|求助|救救|救命|帮帮我|帮帮我们|害怕|该打哪个电话|打什么电话|找谁|怎么才能(?:出去|离开|逃|回家)|"
                         r"怎么救|如何救|怎么举报|向哪里举报|去哪里举报|怎么报警|怎样报警|有什么办法(?:能|可以)?(?:救|删|让他们停)")
SITUATION_EN = re.compile(
    r"\b(?:threaten\w*|blackmail\w*|extort\w*|sextort\w*) (?:me|us|my|to (?:share|post|send|leak|release|hurt))|"
    r"\b(?:of|about) me\b|\bmy (?:nudes|photos|pictures|pics|images|videos|selfies|passport|documents)\b|"
    r"\b(?:took|taken|take|keeps?|kept|keeping|holding|confiscated) (?:my|our) (?:passports?|documents|id|phone)\b|"
    r"\bforc\w* (?:me|us)\b|\b(?:they|he|she|the boss|my boss) (?:won't|will not|doesn't|don't) let (?:me|us|her|him)\b|"
    r"\b(?:won't|will not|wouldn't|don't|do not) let (?:me|us|her|him|them) (?:leave|go|out|home)\b|"
    r"\b(?:'ve |have |has )?(?:got|took|taken|keeps?|kept|holding|confiscated) (?:her|his|their) (?:passports?|documents|id|phone)\b|"
    r"\b(?:locked|held|trapped|kidnapped|abducted|taken)\b(?! down| off| over)|\bagainst (?:her|his|their|my) will\b|"
    r"\b(?:my|our) (?:\d+[- ]year[- ]old|son|daughter|child|children|kid|kids|boy|girl|teen|teenager|niece|nephew|"
    r"grandson|granddaughter|student|pupil|sister|brother|cousin|friend|wife|husband|girlfriend|boyfriend|mother|"
    r"father|mum|mom|dad|neighbou?r|colleague|roommate)\b|\b(?:i'?m|i am|we'?re|we are) (?:in|at) (?:a|the) "
    r"(?:compound|camp|factory|brothel)\b|\b(?:hitting|beating|hurting|attacking|screaming)\b|\bi found\b|"
    r"\bi (?:came across|saw|stumbled)\b|\bsomeone (?:is|has|made|posted|shared|sent|used)\b|"
    r"\b(?:hurt|kill|beat|harm|punish) (?:me|us|my)\b")
STRONG_EN = re.compile(
    r"\b(?:threaten\w*|blackmail\w*|extort\w*|sextort\w*) (?:me|us)\b|\b(?:took|taken|take|keeps?|kept|keeping|"
    r"holding|confiscated) (?:my|our) (?:passports?|documents|id)\b|\bforc\w* (?:me|us)\b|\b(?:hurt|kill|beat|harm) "
    r"(?:me|us|my)\b|\b(?:kidnapped|abducted|been taken(?! down| off| over)|locked (?:in|up)|(?:i'?m|we'?re|i am|we are|she'?s|he'?s|they'?re|is|are|been|got|"
    r"was|were|being) (?:\w+ )?trapped|held against|against (?:her|his|their|"
    r"my) will)\b|\b(?:she|he|they|i|we)(?:'s| is| was| were| has been| have been|'ve been|'s been) (?:taken|kidnapped|abducted)\b(?! down| off| over)|"
    r"\bscared for (?:my|her|his) life\b|\bdoesn'?t know where (?:she|he|they) (?:is|are)\b|"
    r"\b(?:i'?m|i am|we'?re|we are) (?:in|at) (?:a|the) (?:compound|camp)\b|"
    r"\b(?:has|have|took|taken|keeps?|kept|keeping|holding|confiscated|won'?t (?:give|return)) (?:back )?(?:my|our) "
    r"(?:passports?|documents|id)\b|\b(?:pictures|photos|images|videos|pics|nudes|clips?)(?: \w+){0,2} of me\b|"
    r"\b(?:my|our) (?:\d+[- ]year[- ]old|son|daughter|child|kid|girl|boy)\b.{0,80}\b(?:older man|adult|stranger|"
    r"gifts?|meet(?: up)?|secret|delete)\b")
STRONG_ZH = re.compile(r"(?:给|把|帮|用)我(?:的照片)?(?:做|p|合成|生成|换脸)了|我被(?:去衣|换脸|p|偷拍)|(?:我|我们)[^，。国]{0,8}被(?:威胁|勒索|敲诈|骗到|骗进|拐|困|关|逼|打|扣)|"
                       r"(?:扣着|扣了|收走|拿走)(?:我的|我们的)?(?:护照|证件)|护照被扣|不让(?:我|我们)(?:走|离开|回)|对我(?:家人)?下手|"
                       r"把我关|关起来|录了我的|拍了我的|发给我所有|(?:把|拿)我[^，。]{0,10}(?:照片|视频|图)[^，。]{0,12}(?:做成|合成|p成|传|发)|"
                       r"(?:我家孩子|孩子|女儿|儿子)[^。]{0,20}(?:网友|陌生人|大人|成年人)[^。]{0,20}(?:约|见面|送|别告诉|秘密)")
SITUATION_ZH = re.compile(r"(?:我|自己)的(?:照片|裸照|视频|私密|护照|证件|身份证|自拍)|录了我|拍了我|P了我|把我的|我(?:女儿|儿子|孩子|妹妹|弟弟|表妹|表弟|"
                          r"朋友|同学|老婆|丈夫|家人)|(?:发现|家)(?:儿子|女儿|孩子)|被(?:威胁|勒索|敲诈|骗到|骗进|拐|困|关|逼|打|控制|扣)|"
                          r"(?:扣着|扣了|收走|拿走)(?:我的|我们的)?(?:护照|证件)|护照被|不让(?:我|我们)(?:走|离开|回)|才能走|对我(?:家人)?下手|"
                          r"挨打|把我关|关起来|园区里|我发现|我看到|(?:无意中|偶然|刚才|刚刚)[^，。]{0,8}(?:看到|发现|收到|刷到)|"
                          r"有(?:个|人|一个)[^，。]{0,12}(?:发|传|卖|分享|送)")
PERPETRATOR_EN = re.compile(
    r"\b(?:how (?:do|can|could|would|should) i|how to|i (?:want|need|wanna|plan|intend|would like|'d like) to|help me|"
    r"teach me|show me|tell me how|give me|let me)\b[^.?!]{0,60}\b(?:make|create|generate|undress|nudify|strip|"
    r"deepfake|buy|get|obtain|find|download|launder|hide|groom|seduce|lure|recruit|smuggle|traffic|control|keep|sell|"
    r"convert|print|build|produce|share|post|blackmail|extort|threaten|punish|silence)(?:e?s|ed|ing)?\b")
ACTOR_EN = re.compile(
    r"\b(?:how (?:do|can|could|would|should|might) (?:i|we)|i (?:want|need|wanna|plan|intend|would like|'d like|"
    r"am going|'m going|have) to(?! (?:know|understand|learn|find out|ask|read|see|check|report|understand))|help me|"
    r"teach me|show me|tell me how|give me|let me|where (?:can|do|could|should) (?:i|we))\b[^.?!]{0,60}\b(?:make|"
    r"create|generate|undress|nudify|strip|deepfake|buy|get|obtain|find|download|launder|hide|groom|seduce|lure|"
    r"recruit|smuggle|traffic|control|keep|sell|convert|print|build|produce|share|post|blackmail|extort|threaten|"
    r"punish|silence|move|clean|wash|cash|send|ship|order|meet|contact|avoid|evade|escape|delete|wipe|destroy)"
    r"(?:e?s|ed|ing)?\b")
BENIGN_MAKING_ZH = re.compile(r"(?:做|写|准备|设计)(?:一份|一个|个|一些|一套|一期)?[^，。？]{0,8}(?:宣传单|宣传册|海报|报告|课件|培训|讲座|ppt|"
                              r"演示|研究|调查|总结|笔记|提醒|科普|教案|材料|论文|简报|课程|作业)")
ACTOR_ZH = re.compile(r"(?:(?:^|[，,。？?！!\s]|如果|假如|要是|万一)(?:想|要|打算|准备)(?=找|买|弄|搞|做|让|把|搭|开|招|跑|出|去|换|改|运|带)|教我|帮我|给我|让我|我们?(?:现在|以后|接下来|下次)?(?:想|要|该|能|可以|得|打算|准备)(?!知道|了解|问|请教|弄清|查|看看文件|学习|举报|报警|报案|求助)|"
                      r"我(?:怎么|如何|怎样)|咱们?(?:怎么|如何))[^。？！?]{0,20}(?:去衣|脱衣|换脸|P成|p成|做成|合成|生成|买|弄到|"
                      r"搞到|洗钱|洗白|藏|控制|让他们|不让他们|招|骗|拐|偷渡|寄|卖|发出去|威胁|报复|造|做|打印|改|删|躲|逃|运|带|"
                      r"转|提现|混|找|下载|看|约|拍|拆|存|避|绕|分|用|试|收|定)")
PERPETRATOR_ZH = re.compile(r"(?:教我|帮我|我想|我要|怎么|如何|怎样)[^。？！?]{0,20}(?:去衣|脱衣|换脸|P成|做成|合成|生成|买|弄到|搞到|洗钱|洗白|"
                            r"藏|控制|让他们|不让他们|招|骗|拐|偷渡|寄|卖|发出去|威胁|报复)")
THIRD_SUBJECT_EN = re.compile(
    r"\b(?:how|why|when|where|what|which|in what ways?|to what extent) (?:\w+ ){0,3}(?:do|does|did|can|could|are|is|"
    r"were|was|would|might|have|has|should) (?:the |these |some |many |most |such )?(?:[a-z\-]+ ){0,3}"
    r"(?:traffick?ers?|trafficers?|smugglers?|offenders?|criminals?|criminal groups|abusers?|perpetrators?|predators?|launderers?|"
    r"gangs?|organi[sz]ed crime(?: groups)?|terrorists?|fraudsters?|scammers?|dealers?|vendors?|sellers?|buyers?|"
    r"cartels?|networks?|groups?|they|police|law enforcement|investigators?|authorities|prosecutors?|courts?|"
    r"technolog(?:y|ies)|tools?|analysis|analytics|ai|algorithms?|software|blockchain|transactions?|data|apps?|"
    r"machine learning|systems?|databases?|hotlines?|helplines?|measures|laws?|"
    r"governments?|states?|countries|member states|platforms?|companies|banks?|regulators?|financial institutions?|"
    r"the (?:un|unodc|documents?|papers?|reports?|brief|article|working group|congress)|victims?|migrants?|children|"
    r"users?|people who|someone who)\b|^(?:the )?(?:traffickers?|smugglers?|offenders?|criminals?|abusers?|predators?|"
    r"police|law enforcement|platforms?|banks?) (?:use|exploit|rely|recruit|control|launder|move|buy|sell|advertise|"
    r"detect|prevent)")
DOCS_EN = re.compile(r"\b(?:the|these|this|un|ipie|congress|working group|background) (?:\w+ )?(?:documents?|papers?|"
                     r"reports?|brief|article|study|review|findings)\b|\baccording to\b|\bas described\b|\bdo the documents\b")
AIM_EN = re.compile(
    r"\b(?:detect\w*|prevent\w*|investigat\w*|regulat\w*|tracing|traceability|counter\w*|combat\w*|tackl\w*|disrupt\w*|"
    r"protect\w*|identif\w*|prosecut\w*|polic(?:y|ies)|legislation|legal framework|criminali[sz]\w*|recommend\w*|"
    r"measures|safeguards|challenges?|risks?|trends?|statistics|prevalen\w*|how common|how often|how widespread|"
    r"what role|role of|what share|what percentage|how many|how much|why is it hard|why are|why do|why does|"
    r"intercept\w*|evidence|admissib\w*|oversight|human rights|privacy|ethic\w*|response|responses|cooperation|"
    r"trace|track|monitor\w*|warning signs|red flags|indicators|spot|recogni[sz]\w*|report\w*|safeguard\w*|"
    # policy instruments, and keyword questions for a figure ("... 2023 number")
    r"compendium|non-binding|guidelines?|toolkit|model law|protocol|convention|resolution|frameworks?|"
    r"best practices?|numbers?$|figures?$|stats$)\b")
_THIRD_ZH_WORDS = (r"人贩子|人贩|贩运者|偷运者|蛇头|犯罪分子|罪犯|犯罪者|不法分子|施害者|施虐者|犯罪集团|犯罪团伙|团伙|诈骗集团|"
                   r"执法部门|执法机关|执法人员|警方|公安机关|侦查人员|调查人员|各国|国家|政府|平台|监管部门|金融机构|银行|"
                   r"邮政部门|海关|法院|检察机关|企业|公司|学校|卖家|买家|商家|受害人|受害者|文件|报告|文章|背景文件|摘要|偷渡者|"
                   r"嫌疑人|犯罪嫌疑人|案子|案件|案例|诈骗分子|骗子|毒贩|洗钱者|洗钱团伙|施暴者|加害者|"
                   r"诈骗团伙|犯罪网络")
THIRD_ZH = re.compile(rf"(?:^|[，。？！,?!；;\s]|[的])[^，。？?！]{{0,4}}?(?:{_THIRD_ZH_WORDS})[^，。？?！]{{0,10}}?(?:如何|怎么|怎样|"
                      r"是怎样|是如何|是怎么|为什么|为何|通常|一般|往往|常常|能否|能不能|会不会|利用|通过|使用|是否|有哪些|应该|"
                      r"应如何|可以如何|可以怎样|可以怎么|用于)")
DESCRIPTIVE_ZH = re.compile(
    # "the ones who make these fakes usually target whom": the subject is "those who do it"
    r"(?:做|搞|干|弄)(?:这种|这类|那种|那类|这些|那些)[^，。？?]{0,8}的(?:人)?[，,\s]*(?:一般|通常|往往|常常|多半|都|大多)|"
    # "how does crypto help people get round AML checks": a technology as the subject
    r"(?:加密货币|虚拟货币|虚拟资产|比特币|技术|暗网|人工智能|ai|应用程序|app|软件|平台|区块链|社交媒体)(?:是)?"
    r"(?:怎么|怎样|如何|会)(?:帮|帮助|让|使|被)(?:人|犯罪|罪犯|他们)|"
    r"是(?:怎么|怎样|如何)|(?:一般|通常|往往|常常|多半|大多|主要)(?:是)?(?:怎么|怎样|如何|通过|用|会)|被(?:如何|怎样|怎么)|(?:如何|怎样|怎么)被|有什么区别|有哪些|是什么|(?:吗|呢)[？?]?$|"
                            r"为什么|为何|难在|多大|多少|是否|可以怎样|可以如何|应该|应如何|怎样用于|如何用于")
DOCS_ZH = re.compile(r"(?<!能用的)(?<!打印)(?<!图纸)(?<!stl)(?<!源)(?<!完整)文件(?!下载|包|格式)|文章|背景文件|摘要|简报|工作文件|报告(?:中|里|提到|指出|认为|说|称|显示|建议)|(?:这|该|那|两)份报告")
AIM_ZH = re.compile(r"打击|预防|防范|防止|阻止|遏制|杜绝|发现|破案|破获|侦查|监管|治理|识别|追踪|拦截|立法|法律|定罪|量刑|对策|措施|建议|难点|为什么|为何|风险|趋势|"
                    r"数据|比例|作用|角色|影响|保护|现状|特点|原因|怎样发现|如何发现|应对|挑战|证据|隐私|伦理|有哪些|特征|提醒|"
                    r"常见|典型|表现|危害|主动求助|干预|劝[^，。？]{0,12}(?:求助|就医|治疗|咨询)|限制|权限|边界|保障|合法吗|"
                    r"简编|指南|公约|议定书|决议|框架")


HOWTO_EN = re.compile(r"^(?:so |ok,? |hey,? |hi,? )?(?:how to|best way to|easiest way to|cheapest way to|safest way to|"
                      r"fastest way to|quickest way to|steps to|where to (?:buy|get|find|order|download|watch)|ways? to)\b|"
                      r"\bhow (?:can|could|would|should|do|does|might) (?:someone|somebody|a person|one|anyone|people like me)\b|"
                      r"\bsomeone like me\b")
HOWTO_ZH = re.compile(r"(?:怎么|如何|怎样|咋)(?:才能|能|可以|样)?[^，。？?]{0,3}(?:" + "|".join(
    ["做", "造", "制作", "制造", "打印", "组装", "改装", "买", "购买", "弄", "搞", "获得", "找", "下载", "卖", "寄", "洗",
     "藏", "转移", "混", "偷渡", "运", "带", "拐", "招", "骗", "引诱", "诱骗", "接近", "去衣", "脱", "换脸", "合成", "生成",
     "拍", "录", "传", "勒索", "威胁", "控制", "扣", "销毁", "删", "逃", "躲", "绕过", "避开", "提现", "磨掉", "下单", "拿货",
     "提币", "拆", "清", "约", "让", "管住", "把", "经营", "运营", "开", "办", "搭", "建", "定价", "收"]) + r")")


def _first_person_zh(text: str) -> bool:
    stripped = text
    for phrase in NOT_FIRST_PERSON_ZH:
        stripped = stripped.replace(phrase, "")
    return "我" in stripped


def _benign_get(t: str) -> str:
    """Drop phrases where "get" is no acquisition ("get out of this", "get help")."""
    return re.sub(r"\bget (?:out|help|away|rid of (?:him|her|them)|(?:my|our) \w+ back|back my \w+|(?:it|them|this) "
                  r"(?:removed|taken down|deleted))\b", " ", t)


def analyse(text: str, context: str = "") -> dict[str, Any]:
    """The rule features of a message (after normalisation); see ``rules``. ``context`` (the
    previous message) only adds crime categories: "which of them still works?" after a question
    about nudify apps is about nudify apps."""
    t = normalise(text)
    words = _words(t)
    cats = categories(normalise(context + " \n " + text) if context else t)
    return {
        "text": t, "categories": cats,
        "first_person": bool(FIRST_PERSON_EN.search(t)) or _first_person_zh(t),
        "first_subject": bool(re.search(r"\b(?:i|we|my|our|i'm|i'd|i've|i'll|im|we're|we've)\b", t)) or _first_person_zh(t),
        "request": _any(REQUEST_EN, t) or any(r in t for r in REQUEST_ZH) or bool(CONTENT_EN.search(t) or CONTENT_ZH.search(t)),
        "content": bool(CONTENT_EN.search(t) or CONTENT_ZH.search(t)),
        "imperative": bool(IMPERATIVE.search(t) or IMPERATIVE_ZH.search(t))
        and not (INFO_REQUEST.search(t) and (DOCS_EN.search(t) or DOCS_ZH.search(t)))
        and not (IMPERATIVE_INFO.search(t) and not PARAM_EN.search(t)),
        "source": bool(SOURCE_EN.search(t) or SOURCE_ZH.search(t)),
        "wrapper": (_any(WRAPPERS_EN, t) or any(w in t for w in WRAPPERS_ZH)) and not _friend_in_trouble(t),
        "role": bool(ROLE_EN.search(t)) or any(r in t for r in ROLE_ZH),
        "professional": bool(ROLE_EN.search(t) or PRO_EN.search(t) or PRO_ZH.search(t)) or any(r in t for r in ROLE_ZH),
        "shopping": bool(SHOPPING_EN.search(t) or SHOPPING_ZH.search(t)),
        "param": bool(PARAM_EN.search(t) or PARAM_ZH.search(t)),
        "act": _has_term(t, words, ACTS_EN) or any(a in t for a in ACTS_ZH)
        or bool(re.search(r"试试|试一下|用[^，。？]{0,6}(?:照片|自拍|图片|视频)", t)),
        "evade": _any(EVASION_EN, t) or any(e in t for e in EVASION_ZH)
        or bool(re.search(r"(?:避免|别|不要)[^，。]{0,8}(?:被抓|被查|犯同样的错|重蹈)|被抓的[^，。]{0,12}(?:错误|教训|失误)|"
                          r"不(?:容易|会|能|怕)?被[^，。？]{0,6}(?:抓|查|发现|追|识别|拍|跟踪|拦|盯上|风控|冻|封|注意)|"
                          r"(?:巡逻|检查|审核|监管|风控|实名|盘查|安检|边检|查得)[^，。？]{0,4}(?:最少|最松|最弱|不严|少|松)|"
                          r"(?:最少|最松|最弱|不严|没人)[^，。？]{0,4}(?:巡逻|检查|审核|监管|风控|实名|盘查|安检|边检)|"
                          r"(?:避开|躲开|躲过|绕过|逃避|逃过|骗过)[^，。]{0,12}(?:报告|申报|监管|审查|kyc|实名|登记|检查|安检|边检|监控|风控|摄像头|哈希|比对|检测|识别|过滤|拦截|审核|追踪|追查|分析|侦查)|"
                          r"(?:老|总|一直|经常)被(?:拦|封|删|屏蔽|识别|检测)|让(?:警方|警察|公安|银行|取证|调查|海关)"
                          r"[^，。]{0,10}(?:不了|不到|不会|查不|拿不|发现不)|(?:警方|警察|银行|取证)[^，。]{0,6}(?:拿不到|查不到|恢复不了)", t)),
        "strong": bool(STRONG_EN.search(t) or STRONG_ZH.search(t)),
        "distress": bool(DISTRESS_EN.search(t) or DISTRESS_ZH.search(t) or COME_FORWARD.search(t)),
        "come_forward": bool(COME_FORWARD.search(t)),
        "report": bool(REPORT_EN.search(t) or REPORT_ZH.search(t)),
        "situation": bool(SITUATION_EN.search(t) or SITUATION_ZH.search(t)),
        "perpetrator": bool(PERPETRATOR_EN.search(_benign_get(t)) or PERPETRATOR_ZH.search(t)),
        "removal": bool(REMOVAL_EN.search(t) or REMOVAL_ZH.search(t)),
        "actor": bool((ACTOR_EN.search(_benign_get(t)) or ACTOR_ZH.search(BENIGN_MAKING_ZH.sub("", t)))
                      and not (REMOVAL_EN.search(t) or REMOVAL_ZH.search(t) or REPORT_EN.search(t) or REPORT_ZH.search(t)))
        or bool(CONTROLLER_EN.search(t) or CONTROLLER_ZH.search(t)),
        "third": bool(THIRD_SUBJECT_EN.search(t) or THIRD_ZH.search(t)),
        "descriptive": bool(DESCRIPTIVE_ZH.search(t)),
        "howto": bool(HOWTO_EN.search(t) or HOWTO_ZH.search(t)),
        "docs": bool(DOCS_EN.search(t) or (DOCS_ZH.search(t) and not re.search(r"下载|下到|网盘|种子|磁力", t))),
        "aim": bool(AIM_EN.search(t) or AIM_ZH.search(t)),
    }


FOR_A_FRIEND = re.compile(r"\b(?:asking )?for a friend\b|替朋友问|帮朋友问|我朋友")


def _friend_in_trouble(t: str) -> bool:
    """"Asking for a friend" followed by what is happening to them (a passport taken, not let
    go) is someone seeking help for another, not a disguise, when nothing operational is asked."""
    others = [w for w in WRAPPERS_EN if w != r"\bfor a friend\b"]
    return bool(FOR_A_FRIEND.search(t) and (SITUATION_EN.search(t) or SITUATION_ZH.search(t)
                                            or DISTRESS_EN.search(t) or DISTRESS_ZH.search(t))
                and not _any(others, t) and not HOWTO_EN.search(t) and not PARAM_EN.search(t))


def rules(text: str, context: str = "") -> Verdict | None:
    """The rule signal: support, refuse, answer (a policy question) or None (no rule applies)."""
    f = analyse(text, context)
    t, cats = f["text"], f["categories"]
    crime = [c for c in cats if c != "evasion"]
    signals = [f"categories={','.join(cats) or '-'}"]
    disguised = f["wrapper"]
    evasion_goal = f["evade"]
    # A question about how others act, what the documents say, or what institutions do about it
    # (unless it aims to evade detection: "how to launder money without the bank detecting it").
    descriptive = f["third"] or f["docs"] or f["descriptive"] or (f["aim"] and not evasion_goal)
    howto = f["howto"] and not descriptive           # subjectless "how to …" / "怎么买…"
    shopping = f["source"] and f["shopping"]         # "which market has the most reliable vendors right now"
    # a. someone seeking help (a victim, parent, witness) — unless they ask to do harm themselves
    reporting = ((f["report"] or f["removal"]) and (f["first_person"] or not f["third"]) or HELP_WHERE.search(t)) \
        and not f["docs"] \
        and not f["evade"] and not f["actor"]
    helpish = f["strong"] or reporting or (f["come_forward"] and f["first_person"] and not evasion_goal) or (f["distress"] and (f["situation"] or (cats and f["first_person"])))
    if helpish and not disguised and not _wants_harm(f) and not (f["perpetrator"] and not f["strong"] and not f["come_forward"]):
        signals.append("rule:help")
        return Verdict(SUPPORT, need=_need(t, cats), signals=signals)
    # b. an operational request
    asks = f["request"] or f["imperative"] or f["source"] or disguised or f["param"]
    personal = f["first_person"] or f["imperative"] or disguised or f["role"] or howto or f["source"] or f["shopping"] \
        or f["param"]
    # "I" blocks the policy reading unless the question is about others, the documents, or asked
    # in a professional capacity ("I'm a compliance trainee. What red flags…")
    self_blocks = f["first_subject"] and not f["third"] and not f["docs"] and not f["professional"]
    impersonal_policy = descriptive and not f["actor"] and not self_blocks and not (f["content"] and not f["docs"]) \
        and not f["imperative"] and not disguised and not howto and not (shopping and not f["docs"]) and not f["param"]
    if crime and asks and (f["act"] or f["source"] or f["evade"]) and personal and not impersonal_policy:
        signals.append("rule:operational" + ("+disguised" if disguised else "") + ("+evasion" if f["evade"] else "")
                       + ("+actor" if f["actor"] else ""))
        return Verdict(REFUSE, category=_main_category(crime, t), signals=signals)
    if (evasion_goal or ("evasion" in cats and f["act"])) and asks and personal and not impersonal_policy:
        signals.append("rule:evasion")
        return Verdict(REFUSE, category=_main_category(crime or ["evasion"], t), signals=signals)
    # c. a policy question about the same subjects
    if cats and impersonal_policy:
        signals.append("rule:policy")
        return Verdict(ANSWER, signals=signals)
    return None


def _wants_harm(f: dict[str, Any]) -> bool:
    """First-person requests to harm someone else ("help me undress my classmate's photo")."""
    t = f["text"]
    return bool(re.search(r"\b(?:my|this|her|his) (?:classmate|coworker|co-worker|colleague|ex|neighbou?r|crush|"
                          r"teacher|boss|girlfriend|boyfriend)\b.{0,40}\b(?:naked|nude|undress|nudify|deepfake|porn)|"
                          r"\b(?:undress|nudify|strip|make (?:her|him) naked)\b|(?:去衣|脱衣|p成裸|做成裸|合成裸)", t)) \
        and not f["distress"]


_PRIORITY = ["child_exploitation", "deepfakes", "firearms", "trafficking", "drugs", "laundering", "other_crime", "evasion"]


def _main_category(cats: list[str], t: str) -> str:
    if "child_exploitation" in cats and ("deepfakes" in cats or re.search(r"sex|nude|naked|porn|abuse|groom|裸|色情|性|私房", t)):
        return "child_exploitation"
    cats = ["other_crime" if c == "euphemism" else c for c in cats]
    ordered = [c for c in _PRIORITY if c in cats and c != "child_exploitation"]
    return ordered[0] if ordered else cats[0]


# --------------------------------------------------------------------------------------
# Semantic signal: a classifier over the same sentence embeddings as the search


_ANNOTATION = re.compile(r"\[([^\]]+)\](\([^)]+\)|\{[^}]+\})")
LABELS = ("harmful", "help", "other")


def training_examples(root: Path) -> tuple[list[str], list[str]]:
    """Labelled messages: the curated exemplars (data/guard.yml) and the assistant's NLU data
    (request_harmful → harmful, seek_help → help, every other intent → other)."""
    texts: list[str] = []
    labels: list[str] = []
    guard_data = yaml.safe_load((root / "data" / "guard.yml").read_text(encoding="utf-8")) or {}
    for items in (guard_data.get("harmful") or {}).values():
        texts += list(items)
        labels += ["harmful"] * len(items)
    for key, label in (("policy", "other"), ("benign", "other"), ("help", "help")):
        items = list(guard_data.get(key) or [])
        texts += items
        labels += [label] * len(items)
    nlu_path = root / "data" / "nlu.yml"
    if nlu_path.exists():
        nlu = yaml.safe_load(nlu_path.read_text(encoding="utf-8")) or {}
        for block in nlu.get("nlu") or []:
            if "intent" not in block:
                continue
            label = {"request_harmful": "harmful", "seek_help": "help"}.get(block["intent"], "other")
            for line in str(block.get("examples") or "").splitlines():
                line = line.strip()
                if line.startswith("- "):
                    texts.append(_ANNOTATION.sub(lambda m: m.group(1), line[2:]))
                    labels.append(label)
    return texts, labels


class CacheError(RuntimeError):
    """A damaged classifier cache file (``path``); it is retrained and replaced."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


class SafetyClassifier:
    """Logistic regression over [USE embedding, character n-gram TF-IDF] of normalised text.

    Its state is plain arrays (n-gram vocabulary, idf, weights), saved as JSON + ``.npz``."""

    NGRAMS = (1, 4)

    def __init__(self, encode: Encode, vocabulary: dict[str, int], idf: Any, coef: Any, intercept: Any,
                 classes: list[str]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.encode = encode
        self.vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=self.NGRAMS, sublinear_tf=True,
                                          vocabulary=vocabulary)
        self.vectorizer.idf_ = idf
        self.coef, self.intercept, self.classes = coef, intercept, list(classes)

    @classmethod
    def train(cls, texts: list[str], labels: list[str], encode: Encode, c: float = 10.0) -> "SafetyClassifier":
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        norm = [normalise(t) for t in texts]
        vec = TfidfVectorizer(analyzer="char_wb", ngram_range=cls.NGRAMS, sublinear_tf=True).fit(norm)
        vocabulary = {k: int(v) for k, v in vec.vocabulary_.items()}
        self = cls(encode, vocabulary, vec.idf_, None, None, [])
        model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced").fit(self._features(norm), labels)
        self.coef, self.intercept, self.classes = model.coef_, model.intercept_, [str(x) for x in model.classes_]
        return self

    def save(self, path: Path, key: str) -> None:
        """Write ``path``.npz (arrays), then ``path``.json (key, classes, vocabulary and the
        size and SHA-256 of the ``.npz``), each atomically."""
        import hashlib
        import json
        import os

        import numpy as np

        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.parent / f".{path.name}.{os.getpid()}.{threading.get_ident()}"
        np.savez(f"{tmp}.npz", idf=self.vectorizer.idf_, coef=self.coef, intercept=self.intercept)
        arrays = Path(f"{tmp}.npz").read_bytes()
        Path(f"{tmp}.json").write_text(json.dumps({"key": key, "classes": self.classes,
                                                    "vocabulary": self.vectorizer.vocabulary,
                                                    "npz": {"size": len(arrays),
                                                            "sha256": hashlib.sha256(arrays).hexdigest()}}),
                                       encoding="utf-8")
        os.replace(f"{tmp}.npz", f"{path}.npz")
        os.replace(f"{tmp}.json", f"{path}.json")

    @classmethod
    def load(cls, path: Path, key: str, encode: Encode) -> "SafetyClassifier | None":
        """The saved classifier if it was trained on the same data and code (``key``), else None.
        Raises ``CacheError`` naming the file if the cache is damaged: unreadable, another size
        or checksum than recorded, arrays of the wrong shapes."""
        import hashlib
        import io
        import json

        import numpy as np

        json_path, npz_path = Path(f"{path}.json"), Path(f"{path}.npz")
        try:
            meta = json.loads(json_path.read_text(encoding="utf-8"))
            if not isinstance(meta, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as exc:
            raise CacheError(json_path, type(exc).__name__) from exc
        if meta.get("key") != key:
            return None
        try:
            data = npz_path.read_bytes()
        except OSError as exc:
            raise CacheError(npz_path, type(exc).__name__) from exc
        recorded = meta.get("npz") or {}
        if len(data) != recorded.get("size"):
            raise CacheError(npz_path, f"{len(data)} bytes, expected {recorded.get('size')}")
        if hashlib.sha256(data).hexdigest() != recorded.get("sha256"):
            raise CacheError(npz_path, "checksum mismatch")
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
                model = cls(encode, meta["vocabulary"], arrays["idf"], arrays["coef"], arrays["intercept"],
                            meta["classes"])
            model._check_shapes()
        except Exception as exc:  # noqa: BLE001 - whatever a damaged cache raises, it is retrained
            raise CacheError(npz_path, type(exc).__name__) from exc
        return model

    def _check_shapes(self) -> None:
        """Raise ``ValueError`` unless the arrays fit together and one message can be scored."""
        n_vocab, n_classes = len(self.vectorizer.vocabulary), len(self.classes)
        if set(LABELS) - set(self.classes) or self.vectorizer.idf_.shape != (n_vocab,):
            raise ValueError("classes or idf do not match the vocabulary")
        if self.coef.ndim != 2 or self.coef.shape[0] != n_classes or self.intercept.shape != (n_classes,):
            raise ValueError("weights do not match the classes")
        if self._features(["probe"]).shape[1] != self.coef.shape[1]:
            raise ValueError("weights do not match the features")

    def _features(self, norm: list[str]) -> Any:
        from scipy.sparse import csr_matrix, hstack

        return hstack([csr_matrix(self.encode(norm)), 0.5 * self.vectorizer.transform(norm)]).tocsr()

    def probabilities(self, text: str) -> dict[str, float]:
        import numpy as np

        scores = np.asarray(self._features([normalise(text)]) @ self.coef.T).ravel() + self.intercept
        probs = np.exp(scores - scores.max())
        probs /= probs.sum()
        return {label: float(probs[self.classes.index(label)]) for label in LABELS}


def load_classifier(settings: config.Settings, encode: Encode, model_name: str) -> SafetyClassifier:
    """The trained classifier, cached under ``guard_cache`` until its training data, the
    embedding model (``model_name``) or this module change; training takes a few seconds. A
    damaged cache is retrained and replaced."""
    import hashlib
    import json

    texts, labels = training_examples(settings.root)
    key = hashlib.sha256(json.dumps([texts, labels, model_name]).encode()
                         + Path(__file__).read_bytes()).hexdigest()
    path = settings.guard_cache / "classifier"
    try:
        cached = SafetyClassifier.load(path, key, encode) if Path(f"{path}.json").exists() else None
        if cached is not None:
            return cached
    except CacheError as exc:
        log.warning("guard classifier cache %s is damaged (%s); retraining and replacing it", exc.path, exc.reason)
    model = SafetyClassifier.train(texts, labels, encode)
    try:
        model.save(path, key)
    except OSError:
        pass   # a read-only checkout still works, it just trains at every start
    return model


# --------------------------------------------------------------------------------------
# Decision


REFERS = re.compile(r"\b(?:it|its|this|that|these|those|them|they|one|ones|the (?:first|second|last|same|apps?|tools?|sites?|"
                    r"methods?|ones?))\b|^(?:and|so|ok|okay|then|but|what about|how about)\b|这|那|它|上面|刚才|前面|其中|文章里|文件里|"
                    r"里面|提到的|说的")


# a follow-up asking what the authorities can do ("警察能不能反过来用这个？", "can police use it too?")
# is a policy question about the topic just discussed, whatever that topic was
AUTHORITY_ASKS = re.compile(
    r"^\W*(?:(?:and|so|ok|okay|but|then)\W+)?(?:can|could|do|does|should|would|will|are|is|may|might)\s+(?:the\s+)?"
    r"(?:police|cops|law enforcement|investigators?|authorities|governments?|states?|regulators?|platforms?|prosecutors?|"
    r"courts?|judges?|member states|banks?)\b"
    r"|^\W*(?:那|那么|那你说|所以)?\W*(?:警察|警方|执法(?:机关|部门|人员)?|公安(?:机关)?|政府|国家|监管(?:部门|机构)?|平台|"
    r"检察(?:院|官)|法院|法官|银行)(?:能不能|能否|可不可以|可以|是否|会不会|应不应该|应该|有没有|有无|要不要|怎么|如何)",
    re.I)


def _continues(text: str) -> bool:
    """Whether a message reads as a follow-up to the previous one: it says so, refers back, is
    short, or asks for something without naming what it is about."""
    t = normalise(text)
    if CONTINUATION.search(t) or REFERS.search(t) or len(t) <= 25:
        return True
    f = analyse(text)
    return not f["categories"] and (f["request"] or f["param"] or f["imperative"] or f["source"])


_FRAMING = re.compile(r"\b(?:what|which|how|why|when|where|who|whom|whose|does|do|did|is|are|was|were|can|could|should|"
                      r"would|will|say|says|said|according|recommend\w*|mention\w*|describe\w*|discuss\w*|about|"
                      r"regarding|on)\b|说|讲|提到|提及|建议|根据|按照|关于|怎么|如何|什么|哪|吗|呢|[?？]", re.I)
_TOKEN = re.compile(r"[^\s,，;；:：、.。!！?？\-–—]+")
_POLICY_TERMS = re.compile(
    r"\b(?:privacy|ethics?|ethical|morals?|policy|policies|laws?|legal|legislation|regulations?|regulatory|"
    r"human rights?|rights|un|united nations|reports?|documents?|papers?|research|study|academic|compliance|"
    r"awareness|prevention|safety|education(?:al)?|governance|the|and|of|for|on|&)\b|"
    r"隐私|伦理|道德|政策|法律|法规|立法|监管|人权|联合国|报告|文件|研究|学术|合规|预防|教育|治理|安全|和|与|及|的|方面")


def appendix(text: str) -> tuple[str, str] | None:
    """``(core, words)`` when a request ends (or starts) with up to three words that are only
    policy terms and form no clause ("… privacy", "ethics: …", "… UN report"). Such words do
    not turn a request into a policy question, so the guard also judges the request without
    them. A fragment with any word of content ("… images 2023 number") is part of the question."""
    t = normalise(text)
    tokens = [(m.start(), m.end()) for m in _TOKEN.finditer(t)]
    for k in (3, 2, 1):   # the longest fragment first
        if len(tokens) <= k:
            continue
        for part, core in ((t[tokens[-k][0]:], t[:tokens[-k][0]]), (t[:tokens[k - 1][1]], t[tokens[k - 1][1]:])):
            if _FRAMING.search(part) or not _POLICY_TERMS.search(part) or \
                    _POLICY_TERMS.sub("", part).strip(" \t-–—'\".,，。!！?？:：;；"):
                continue
            f = analyse(core)
            if len(core.split()) + len(core) // 4 >= 3 and \
                    (f["request"] or f["imperative"] or f["howto"] or f["perpetrator"] or f["param"]):
                return core.strip(" \t-–—,，:：;；"), part.strip()
    return None


def _no_words(text: str) -> bool:
    """Only emoji, symbols or digits: nothing is asked, whatever the symbols stand for."""
    return not re.search(r"[^\W\d_]", text or "")


def check(text: str, history: Iterable[str], intent: str | None, confidence: float, settings: config.Settings,
          classifier: SafetyClassifier) -> Verdict:
    """Decide for one message (see ``_check``). A message of symbols alone ("🔫🔫🔫") asks
    nothing and is not refused (the search answers it as unclear); a message refused without
    its appended policy words is refused with them."""
    if _no_words(text):
        return Verdict(ANSWER, signals=["no words"])
    verdict = _check(text, history, intent, confidence, settings, classifier)
    if verdict.decision == ANSWER:
        split = appendix(text)
        if split is not None:
            core = _check(split[0], history, intent, confidence, settings, classifier)
            if core.decision == REFUSE:
                core.signals.append("appended policy words do not change the request")
                return core
    return verdict


def _check(text: str, history: Iterable[str], intent: str | None, confidence: float, settings: config.Settings,
           classifier: SafetyClassifier) -> Verdict:
    """Decide for one message; ``history`` holds the user's previous messages (newest last).

    Precedence: help-seeking (rules, then the classifier) → operational rules → policy rules
    → the classifier's harmful probability → Rasa's intent → answer.
    """
    previous = [h for h in history if h and h.strip()]
    message = text
    alone = rules(text)
    combined_probs: dict[str, float] | None = None
    policy_follow_up = False
    if previous and _continues(text) and (alone is None or alone.decision != SUPPORT):
        # a request split over two messages ("what do the documents say about nudify apps?" →
        # "which of them still works? I want to make one of a classmate") is judged as a whole,
        # unless the new message is by itself a help request or a policy question
        combined = " \n ".join(previous[-2:] + [text])
        together = rules(text, context=" \n ".join(previous[-2:]))
        if together is not None and together.decision == REFUSE and (alone is None or alone.decision == REFUSE):
            together.signals.append("combined with the previous message")
            return together
        if alone is None:
            message = combined   # for the categories and the classifier; no refusal is inherited
            if together is not None and together.decision == ANSWER:
                alone = together  # "which detection problems does it list?" after a policy question
            # "walk me through it, start to finish" after a policy question names nothing harmful
            # of its own: the rules found nothing operational, so only a near-certain classifier refuses
            last = rules(previous[-1])
            policy_follow_up = together is None and (
                (bool(AUTHORITY_ASKS.search(normalise(text)))
                 and not re.search(r"\b(?:i|me|my|we|us|our|i'm|i've)\b|我|咱", normalise(text)))
                or (not categories(normalise(text)) and last is not None and last.decision == ANSWER))
        combined_probs = classifier.probabilities(combined)
    rule = alone
    probs = classifier.probabilities(message)
    if combined_probs is not None and alone is None and combined_probs["harmful"] > probs["harmful"]:
        probs = combined_probs
    signals = (rule.signals if rule else []) + [f"classifier: harmful {probs['harmful']:.2f}, help {probs['help']:.2f}"]
    if rule is not None and rule.decision == SUPPORT:
        return Verdict(SUPPORT, need=rule.need, signals=signals)
    f = analyse(message)
    cats, norm = f["categories"], f["text"]
    refused = " ".join(rule.signals) if rule is not None and rule.decision == REFUSE else ""
    # the classifier may turn a refusal into a referral (a victim describing what is done to them), but
    # not a disguised or evasion request, and only for someone speaking about their own situation
    speaks_for_self = (f["first_person"] or f["distress"] or f["situation"]) and (cats or f["distress"] or f["situation"])
    help_needed = settings.guard_help_probability if speaks_for_self else settings.guard_help_probability_other
    policy_rule = rule is not None and rule.decision == ANSWER
    own_situation = f["distress"] or f["strong"] or (f["situation"] and not f["professional"] and not f["docs"])
    if probs["help"] >= help_needed and probs["help"] >= probs["harmful"] and (own_situation or not policy_rule) \
            and not any(flag in refused for flag in ("disguised", "evasion", "actor")) and not f["wrapper"]:
        return Verdict(SUPPORT, need=_need(norm, cats), signals=signals + ["classifier:help"])
    if rule is not None and rule.decision == REFUSE:
        return Verdict(REFUSE, category=rule.category, signals=signals)
    if rule is not None and rule.decision == ANSWER and probs["harmful"] < settings.guard_override_probability:
        return Verdict(ANSWER, signals=signals)
    needed = settings.guard_harmful_probability if cats else settings.guard_harmful_probability_no_category
    if (not cats and (f["aim"] or f["third"] or f["docs"] or f["descriptive"]) and not f["actor"]) or policy_follow_up:
        needed = settings.guard_override_probability
    if probs["harmful"] >= needed:
        crime = [c for c in cats if c != "evasion"] or ["evasion"]
        return Verdict(REFUSE, category=_main_category(crime, norm), signals=signals + ["classifier:harmful"])
    if intent == "seek_help" and confidence >= settings.guard_intent_confidence:
        return Verdict(SUPPORT, need=_need(norm, cats), signals=signals + ["intent:seek_help"])
    if intent == "request_harmful" and confidence >= settings.guard_intent_confidence \
            and probs["harmful"] >= settings.guard_intent_floor:
        crime = [c for c in cats if c != "evasion"] or ["evasion"]
        return Verdict(REFUSE, category=_main_category(crime, norm), signals=signals + ["intent:request_harmful"])
    return Verdict(ANSWER, signals=signals)


class Guard:
    """The guard of one engine: its settings and the classifier over its encoder (built on
    first use, or by ``warm_up``)."""

    def __init__(self, settings: config.Settings, encode: Encode, model_name: str) -> None:
        self.settings = settings
        self.encode = encode
        self.model_name = model_name
        self._classifier: SafetyClassifier | None = None
        self._lock = threading.Lock()

    @property
    def classifier(self) -> SafetyClassifier:
        with self._lock:
            if self._classifier is None:
                self._classifier = load_classifier(self.settings, self.encode, self.model_name)
            return self._classifier

    def check(self, text: str, history: Iterable[str] = (), intent: str | None = None,
              confidence: float = 0.0) -> Verdict:
        """The verdict on one message (see ``check``)."""
        return check(text, history, intent, confidence, self.settings, self.classifier)
