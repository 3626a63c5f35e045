"""Catalog search in the words people use (DESIGN "The service catalog").

A citizen types 开店, 换身份证, shebaoka or 营业执造, not 个体工商户设立登记. The search:

- reads the query as words: Chinese is segmented (rjieba, the jieba dictionary), filler words
  (我想, 怎么办理, 需要什么材料 ...) are dropped, Latin letters are read as pinyin (full or
  initials: shebaoka, sbk), as English words and as a service code;
- matches each word against what a service is called: its name, the keywords and aliases its
  department gives it (admin-editable, `ServiceVersion.keywords`), its result, life events, summary
  and department, and a few everyday synonyms that hold for every service (驾照 = 驾驶证);
- keeps the services that explain (nearly) all of the query and ranks them by relevance, then by use
  (cases filed in the last twelve months);
- when nothing explains the query, corrects it against the catalog's own vocabulary (one wrong
  character, a homophone, a pinyin typo) and says so, and offers "您是不是要找" suggestions.

It scores in Python over the published catalog (a few thousand services at most), read in two
queries, so it behaves the same on PostgreSQL and on the SQLite default of `make run`; typo tolerance
is an edit distance against the catalog's vocabulary rather than pg_trgm, whose trigrams of Chinese
text depend on the database cluster's locale. Everything derived from a text (its segmentation, its
pinyin) is cached by the text itself, so nothing needs invalidating when a service changes.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import rjieba
from django.db.models import IntegerField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import get_language
from pypinyin import lazy_pinyin

# --- Vocabulary that holds for every service ----------------------------------------------------

# Everyday word → the words a guide uses for it. Per-service aliases belong in the service's own
# keywords; these are the equivalences of the language itself.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "驾照": ("驾驶证",),
    "驾驶执照": ("驾驶证",),
    "身份证": ("居民身份证",),
    "户口": ("户籍",),
    "社保": ("社会保障", "社会保险"),
    "社保卡": ("社会保障卡",),
    "医保": ("医疗保险",),
    "公司": ("企业", "有限责任公司"),
    "执照": ("营业执照",),
    "房产证": ("不动产权证书", "不动产"),
    "房本": ("不动产权证书", "不动产"),
    "老年证": ("老年人优待证",),
    "老人": ("老年人",),
    "残疾证": ("残疾人证",),
    "养老金": ("养老保险",),
    "失业金": ("失业保险金",),
    "补贴": ("津贴", "补助"),
    "补助": ("津贴", "补贴"),
    "过户": ("转移登记",),
    "结婚证": ("结婚登记",),
}

# Words that say how, not what: dropped before matching (longest first).
FILLERS = sorted(
    {
        "我想要", "我想", "我要", "想要", "我该", "请问", "怎么办理", "怎么办", "怎么", "怎样",
        "如何", "在哪里办", "在哪里", "在哪儿", "在哪", "哪里", "去哪", "需要什么材料",
        "需要哪些材料", "要什么材料", "什么材料", "需要什么", "需要带什么", "要带什么", "要什么",
        "办理流程", "流程", "手续", "办理", "一下", "网上办", "多久", "多少钱",
    },
    key=len,
    reverse=True,
)  # fmt: skip
# Single characters that carry no meaning of their own in a query.
STOP_CHARS = set("办的了吗呢啊吧要想去个我在和与及或请")
ENGLISH_STOPWORDS = {"a", "an", "the", "of", "for", "to", "in", "on", "and", "or", "my", "i", "how"}

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
LATIN = re.compile(r"[a-z0-9][a-z0-9._-]*")
KEYWORD_SEPARATORS = re.compile(r"[\s,，、;；/|]+")

# How much a match in each part of a service counts, per character of the word matched.
WEIGHT_ALIAS_EXACT = 12
WEIGHT_NAME = 10
WEIGHT_ALIAS = 9
WEIGHT_RESULT = 6
WEIGHT_EVENT = 5
WEIGHT_SUMMARY = 3
WEIGHT_DEPARTMENT = 2
WEIGHT_CODE = 10
SYNONYM_FACTOR = 0.9
PART_FACTOR = 0.5  # a two-character part of a longer word that matched nowhere whole
USE_FACTOR = 3.0  # per decimal order of magnitude of cases filed

# A service is shown when it explains this share of the query, and not much less than the best one.
MIN_COVERAGE = 0.6
COVERAGE_SLACK = 0.25


# --- Texts ---------------------------------------------------------------------------------------


def normalize(text: str) -> str:
    """Full-width to half-width, lower case, punctuation to spaces."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    return " ".join(re.sub(r"[^\w.\-]+", " ", text).split())


@lru_cache(maxsize=50_000)
def _syllables(text: str) -> tuple[str, ...]:
    """Toneless pinyin of the Chinese characters of `text` (ü as v, as keyboards type it)."""
    return tuple(s for s in lazy_pinyin(text, errors="ignore") if s.isascii() and s.isalpha())


@lru_cache(maxsize=50_000)
def _pinyin_keys(text: str) -> tuple[str, str, tuple[str, ...]]:
    """(full pinyin, initials, full pinyin from each syllable on) of a phrase."""
    syllables = _syllables(text)
    tails = tuple("".join(syllables[i:]) for i in range(len(syllables)))
    return "".join(syllables), "".join(s[0] for s in syllables), tails


@lru_cache(maxsize=20_000)
def _words(text: str) -> tuple[str, ...]:
    """The words (two characters or more) of a Chinese phrase, for the correction vocabulary."""
    return tuple(w for w in rjieba.cut_for_search(text) if len(w) >= 2 and CJK.fullmatch(w))


def _english_stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


@lru_cache(maxsize=20_000)
def _english_words(text: str) -> tuple[str, ...]:
    return tuple(_english_stem(w) for w in re.findall(r"[a-z0-9]+", normalize(text)))


def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, or limit + 1 once it is certainly larger than `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            )
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def _typo_limit(length: int) -> int:
    """How many characters may be wrong in a word of this length: none below three."""
    return 0 if length < 3 else 1 if length <= 6 else 2


# --- Services as documents -----------------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    pk: int
    code: str
    department_code: str
    label: str  # the name as written
    label_en: str
    name: str
    aliases: tuple[str, ...]
    result: str
    events: tuple[str, ...]
    summary: str
    department: str
    english: tuple[tuple[str, int], ...]  # (text, weight)
    uses: int

    @cached_property
    def phrases(self) -> tuple[tuple[str, int], ...]:
        """What the service is called, with the weight of a match in it."""
        return (
            ((self.name, WEIGHT_NAME),)
            + tuple((alias, WEIGHT_ALIAS) for alias in self.aliases)
            + ((self.result, WEIGHT_RESULT),)
            + tuple((event, WEIGHT_EVENT) for event in self.events)
        )

    def weight_of(self, word: str) -> float:
        """The best weight of a part of this service that contains `word` (0: none)."""
        if word in self.aliases:
            return WEIGHT_ALIAS_EXACT
        best = 0
        for text, weight in self.phrases:
            if weight > best and word in text:
                best = weight
        if not best:
            if word in self.summary:
                best = WEIGHT_SUMMARY
            elif word in self.department:
                best = WEIGHT_DEPARTMENT
        return best

    def pinyin_weight(self, letters: str) -> float:
        """The best weight of a phrase of this service whose pinyin or initials are `letters`."""
        best = 0.0
        for text, weight in self.phrases:
            full, initials, tails = _pinyin_keys(text)
            if not full:
                continue
            if letters == full:
                score = weight + 2
            elif letters == initials and len(letters) >= 2:
                score = weight
            elif len(letters) >= 4 and any(tail.startswith(letters) for tail in tails):
                score = weight * 0.8
            elif len(letters) >= 3 and letters in initials:
                score = weight * 0.5
            else:
                continue
            best = max(best, score)
        return best

    def english_weight(self, word: str) -> float:
        best = 0
        for text, weight in self.english:
            if weight > best and any(
                w == word or (len(word) >= 3 and w.startswith(word)) for w in _english_words(text)
            ):
                best = weight
        return best


def _documents(services: QuerySet) -> list[Document]:
    """The search fields of `services` (a filtered queryset of published items) in two queries;
    `uses`: the cases filed under each in the last twelve months, read in the same query from the
    public monthly figures (cases.MonthlyFigures, refreshed every few minutes), so a search never
    counts the cases table itself."""
    from cases.models import MonthlyFigures
    from cases.transparency.statistics import add_months, month_start

    from .models import ServiceVersion

    since = add_months(month_start(timezone.localdate()), -11)
    filed = (
        MonthlyFigures.objects.filter(service=OuterRef("pk"), month__gte=since)
        .order_by()
        .values("service")
        .annotate(n=Sum("received"))
        .values("n")[:1]
    )
    rows = list(
        services.order_by()
        .prefetch_related(None)
        .annotate(uses=Coalesce(Subquery(filed, output_field=IntegerField()), Value(0)))
        .values(
            "pk",
            "code",
            "uses",
            "current_version_id",
            "department__code",
            "department__name",
            "department__name_en",
            "current_version__name",
            "current_version__name_en",
            "current_version__keywords",
            "current_version__summary",
            "current_version__summary_en",
            "current_version__result_name",
            "current_version__result_name_en",
        )
    )
    events: dict[int, list[tuple[str, str]]] = {}
    through = ServiceVersion.life_events.through
    for link in through.objects.filter(
        serviceversion_id__in=[row["current_version_id"] for row in rows]
    ).values_list("serviceversion_id", "lifeevent__name", "lifeevent__name_en"):
        events.setdefault(link[0], []).append((link[1], link[2]))
    documents = []
    for row in rows:
        version_events = events.get(row["current_version_id"], [])
        documents.append(
            Document(
                pk=row["pk"],
                code=row["code"],
                department_code=row["department__code"],
                label=row["current_version__name"],
                label_en=row["current_version__name_en"],
                name=normalize(row["current_version__name"]),
                aliases=tuple(
                    normalize(a)
                    for a in KEYWORD_SEPARATORS.split(row["current_version__keywords"] or "")
                    if a.strip()
                ),
                result=normalize(row["current_version__result_name"]),
                events=tuple(normalize(zh) for zh, _en in version_events),
                summary=normalize(row["current_version__summary"]),
                department=normalize(row["department__name"]),
                english=(
                    (row["current_version__name_en"], WEIGHT_NAME),
                    (row["current_version__result_name_en"], WEIGHT_RESULT),
                    *((en, WEIGHT_EVENT) for _zh, en in version_events if en),
                    (row["current_version__summary_en"], WEIGHT_SUMMARY),
                    (row["department__name_en"], WEIGHT_DEPARTMENT),
                ),
                uses=row["uses"] or 0,
            )
        )
    return documents


# --- Queries -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """A word of the query: Chinese (with its span in its piece) or a run of Latin words."""

    text: str
    weight: float  # its share of the query
    piece: int = -1  # index of its Chinese piece, -1 for Latin
    start: int = 0
    end: int = 0
    latin_words: tuple[str, ...] = ()


@dataclass
class Query:
    text: str  # normalized
    pieces: list[str] = field(default_factory=list)  # Chinese runs, fillers removed
    terms: list[Term] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(term.weight for term in self.terms)


def _strip_fillers(run: str) -> list[str]:
    """The parts of a Chinese run that say what, not how: without filler phrases, and without
    single-character words of no meaning at either end (办 in 办营业执照, 了 in 去世了; the 个 of
    个体户 is part of a word and stays)."""
    pieces = []
    for filler in FILLERS:
        run = run.replace(filler, " ")
    for piece in run.split():
        words = [(w, start, end) for w, start, end in rjieba.tokenize(piece)]
        meaningful = [(start, end) for w, start, end in words if w not in STOP_CHARS]
        if meaningful:
            piece = piece[meaningful[0][0] : meaningful[-1][1]]
        pieces.append(piece)
    return pieces


def parse(text: str) -> Query:
    query = Query(text=normalize(text))
    latin_run: list[str] = []

    def close_latin():
        if latin_run:
            words = tuple(latin_run)
            query.terms.append(Term(text=" ".join(words), weight=1.0, latin_words=words))
            latin_run.clear()

    for token in re.finditer(rf"{CJK.pattern}|{LATIN.pattern}", query.text):
        chunk = token.group()
        if not CJK.fullmatch(chunk):
            latin_run.append(chunk)
            continue
        close_latin()
        for piece in _strip_fillers(chunk):
            index = len(query.pieces)
            query.pieces.append(piece)
            tokens = rjieba.tokenize(piece)
            for word, start, end in tokens:
                if len(word) == 1 and word in STOP_CHARS and len(tokens) > 1:
                    continue
                weight = 1.0 * len(word) if len(word) >= 2 or len(tokens) == 1 else 0.5
                query.terms.append(
                    Term(text=word, weight=weight, piece=index, start=start, end=end)
                )
    close_latin()
    return query


@dataclass
class Hit:
    document: Document
    coverage: float
    score: float
    named: bool = False  # a word of the query is in what the service is called (not its summary)

    @property
    def rank(self) -> float:
        return self.score + USE_FACTOR * math.log10(1 + self.document.uses)


def _latin_match(term: Term, document: Document) -> tuple[float, float]:
    """(share of the term matched, score) of a run of Latin words: a code, pinyin or English."""
    joined = "".join(term.latin_words)
    code = document.code.lower()
    if len(joined) >= 3 and (joined in code or term.text in code):
        return 1.0, WEIGHT_CODE * 2
    letters = joined if joined.isalpha() else ""
    pinyin = document.pinyin_weight(letters) if letters else 0
    words = [_english_stem(w) for w in term.latin_words if w not in ENGLISH_STOPWORDS]
    weights = [document.english_weight(w) for w in words] if words else []
    english_share = sum(1 for w in weights if w) / len(words) if words else 0
    english_score = sum(weights)
    if pinyin and pinyin * 2 >= english_score:
        return 1.0, pinyin * 2
    return english_share, english_score


def _score(query: Query, document: Document) -> Hit:
    covered = [set() for _ in query.pieces]
    score = 0.0
    named = False
    covered_weight = 0.0
    for term in query.terms:
        if term.piece < 0:
            share, points = _latin_match(term, document)
            covered_weight += term.weight * share
            score += points
            continue
        weight = document.weight_of(term.text)
        if not weight:
            weight = SYNONYM_FACTOR * max(
                (document.weight_of(s) for s in SYNONYMS.get(term.text, ())), default=0
            )
        if weight:
            covered[term.piece].update(range(term.start, term.end))
            score += weight * len(term.text)
            named = named or (len(term.text) >= 2 and weight >= WEIGHT_EVENT)
        elif len(term.text) >= 3:
            # A long word found nowhere whole: its two-character parts, at half the worth.
            for i in range(len(term.text) - 1):
                part = term.text[i : i + 2]
                part_weight = document.weight_of(part)
                if part_weight:
                    covered[term.piece].update(range(term.start + i, term.start + i + 2))
                    score += PART_FACTOR * part_weight * 2
    # What the service is called, found inside the query (我想开个饭店 holds 饭店).
    for index, piece in enumerate(query.pieces):
        for text, weight in document.phrases if len(piece) > 1 else ():
            if 2 <= len(text) < len(piece) and text in piece:
                start = piece.index(text)
                new = set(range(start, start + len(text))) - covered[index]
                if new:
                    covered[index].update(new)
                    score += weight * len(new)
                    named = True
        # The whole of what was typed: an alias, the name, or in the name (these add up).
        if piece in document.aliases:
            score += 30
        if piece == document.name:
            score += 34
        elif piece in document.name:
            score += 10
    for term in query.terms:
        if term.piece >= 0 and set(range(term.start, term.end)) <= covered[term.piece]:
            covered_weight += term.weight
        elif term.piece >= 0:
            part = len(set(range(term.start, term.end)) & covered[term.piece])
            covered_weight += term.weight * part / max(1, term.end - term.start)
    total = query.total
    return Hit(document, covered_weight / total if total else 0.0, score, named)


def _rank(query: Query, documents: list[Document]) -> tuple[list[Hit], list[Hit]]:
    """(the services shown, best first; those that explain only part of the query)."""
    hits = [hit for d in documents if (hit := _score(query, d)).coverage > 0 and hit.score > 0]
    if not hits:
        return [], []
    best = max(hit.coverage for hit in hits)
    floor = max(MIN_COVERAGE, best - COVERAGE_SLACK)
    shown = [hit for hit in hits if hit.coverage >= floor - 1e-9]
    shown.sort(
        key=lambda h: (-round(h.coverage, 2), -h.rank, h.document.department_code, h.document.code)
    )
    partial = sorted(
        (h for h in hits if h.named and h.coverage < floor - 1e-9 and h.coverage >= 0.4),
        key=lambda h: (-h.coverage, -h.rank),
    )
    return shown, partial


# --- Corrections and suggestions -----------------------------------------------------------------


def _vocabulary(documents: list[Document]) -> dict[str, int]:
    """Every phrase and word the catalog names services with → how many services use it."""
    vocabulary: dict[str, int] = {}
    for document in documents:
        seen = set()
        for text, _weight in document.phrases:
            if not text:
                continue
            seen.add(text)
            seen.update(_words(text))
        for word in seen:
            vocabulary[word] = vocabulary.get(word, 0) + 1
    return vocabulary


def _corrections(
    query: Query, vocabulary: dict[str, int], documents: list[Document]
) -> list[tuple[str, str]]:
    """(wrong, right) pairs for the parts of the query that no service explains: one wrong
    character, the same sound (身分证 → 身份证), pinyin with a typo (yingyezhizao → 营业执照), an
    English word with a typo (licnce → licence). Best first: fewest changes, most used word."""
    pairs: list[tuple[int, int, str, str]] = []  # (distance, -frequency, wrong, right)
    candidates = [p for p in query.pieces if len(p) >= 2]
    candidates += [t.text for t in query.terms if t.piece >= 0 and len(t.text) >= 3]
    by_sound: dict[str, list[str]] = {}
    for word in vocabulary:
        by_sound.setdefault(_pinyin_keys(word)[0], []).append(word)
    for wrong in dict.fromkeys(candidates):
        if wrong in vocabulary:
            continue
        for right in by_sound.get(_pinyin_keys(wrong)[0], ()):
            if len(right) == len(wrong):
                pairs.append((0, -vocabulary[right], wrong, right))
        # A wrong character, not a missing or extra one: 身份证丢 is not a typo of 身份证.
        limit = _typo_limit(len(wrong))
        if limit:
            for right, frequency in vocabulary.items():
                if len(right) == len(wrong) and 0 < edit_distance(wrong, right, limit) <= limit:
                    pairs.append((edit_distance(wrong, right, limit), -frequency, wrong, right))
    for term in query.terms:
        letters = "".join(term.latin_words)
        if term.piece >= 0 or not letters.isalpha() or len(letters) < 5:
            continue
        limit = 1 if len(letters) <= 8 else 2
        for sound, words in by_sound.items():
            distance = edit_distance(letters, sound, limit)
            if distance <= limit:
                pairs += [(distance, -vocabulary[w], term.text, w) for w in words]
    # English with a typo (licnce → licence), against the English names.
    english: dict[str, int] = {}
    for document in documents:
        for text, weight in document.english:
            if weight >= WEIGHT_EVENT:
                for word in _english_words(text):
                    english[word] = english.get(word, 0) + 1
    for term in query.terms:
        for word in term.latin_words if term.piece < 0 else ():
            if len(word) < 5 or not word.isalpha() or _english_stem(word) in english:
                continue
            limit = 1 if len(word) <= 8 else 2
            for right, frequency in english.items():
                distance = edit_distance(word, right, limit)
                if 0 < distance <= limit:
                    pairs.append((distance, -frequency, word, right))
    pairs.sort()
    return [(wrong, right) for _d, _f, wrong, right in pairs]


@dataclass
class Suggestion:
    label: str
    query: str = ""  # search for this
    code: str = ""  # or open this service's guide

    @property
    def chinese(self) -> bool:
        return bool(CJK.search(self.label))


@dataclass
class Outcome:
    ids: list[int]
    corrected: str = ""  # the query searched instead of the one typed
    suggestions: list[Suggestion] = field(default_factory=list)


def search(services: QuerySet, text: str, *, suggest: bool = True) -> Outcome:
    """The published `services` that match `text`, best first, with what to show around them."""
    query = parse(text)
    if not query.terms:
        return Outcome(ids=[])
    documents = _documents(services)
    shown, partial = _rank(query, documents)
    outcome = Outcome(ids=[hit.document.pk for hit in shown])
    complete = bool(shown) and shown[0].coverage >= 0.999
    corrections: list[tuple[str, str]] = []
    if not complete:
        vocabulary = _vocabulary(documents)
        corrections = _corrections(query, vocabulary, documents)
        for wrong, right in corrections[:5]:
            fixed = parse(query.text.replace(wrong, right, 1))
            fixed_shown, _ = _rank(fixed, documents)
            if fixed_shown and fixed_shown[0].coverage > (shown[0].coverage if shown else 0):
                outcome = Outcome(
                    ids=[hit.document.pk for hit in fixed_shown], corrected=fixed.text
                )
                shown = fixed_shown
                break
    if suggest and len(shown) < 3:
        complete = bool(shown) and shown[0].coverage >= 0.999
        outcome.suggestions = _suggestions(
            query, outcome, corrections, [] if complete else partial, documents
        )
    return outcome


def _suggestions(query, outcome, corrections, partial, documents) -> list[Suggestion]:
    suggestions: list[Suggestion] = []
    seen = {query.text, outcome.corrected}
    for wrong, right in corrections:
        fixed = query.text.replace(wrong, right, 1)
        if fixed not in seen:
            seen.add(fixed)
            suggestions.append(Suggestion(label=fixed, query=fixed))
    shown = set(outcome.ids)
    english = (get_language() or "").startswith("en")
    # Services that explain a word of two characters or more of the query, but not all of it.
    for hit in partial[: 4 - min(len(shown), 3)]:
        if hit.document.pk not in shown and hit.document.label not in seen:
            seen.add(hit.document.label)
            label = hit.document.label_en if english and hit.document.label_en else None
            suggestions.append(
                Suggestion(label=label or hit.document.label, code=hit.document.code)
            )
    # Pinyin typed: the Chinese it spells.
    for term in query.terms:
        letters = "".join(term.latin_words)
        if term.piece < 0 and letters.isalpha():
            for document in documents:
                for text, _weight in document.phrases:
                    full, initials, _tails = _pinyin_keys(text)
                    if letters in (full, initials) and text not in seen and len(letters) >= 2:
                        seen.add(text)
                        suggestions.append(Suggestion(label=text, query=text))
    return suggestions[:6]
