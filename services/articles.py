"""The articles of law a service is decided under (法律依据), kept by its admins.

Articles belong to the service item, not to a version: an admin corrects, adds, reorders or
deactivates one without publishing a new version. A decision copies the article it applied onto
its record (cases.decisions.record_decision), so a later edit never changes what was decided; an
article is deactivated rather than deleted. The database holds one row per (service, law,
article); the checks here say so on the `article` field before the database would refuse it.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from .models import LegalArticle, ServiceItem

# What an admin edits, in the order the designer and the exchange format list them.
ARTICLE_FIELDS = ["law", "law_en", "article", "article_en", "text", "text_en", "order", "is_active"]


class ArticleProblems(ValidationError):
    """The problems of rows of articles: `rows` maps a row's index to {field: [messages]}."""

    def __init__(self, rows: dict[int, dict[str, list[str]]]):
        self.rows = rows
        super().__init__(
            [
                message
                for fields in rows.values()
                for messages in fields.values()
                for message in messages
            ]
        )


def articles_of(service: ServiceItem) -> QuerySet[LegalArticle]:
    """Every article of the service, active or not, in the order deciders see them."""
    return LegalArticle.objects.filter(service=service).order_by("order", "pk")


def active_articles(service: ServiceItem) -> QuerySet[LegalArticle]:
    """The articles the public guide lists and a decider chooses from."""
    return articles_of(service).filter(is_active=True)


def _key(article: LegalArticle) -> tuple[str, str]:
    return (article.law or "").strip(), (article.article or "").strip()


def article_problems(
    articles: list[LegalArticle], *, service: ServiceItem | None = None
) -> dict[int, dict[str, list[str]]]:
    """Each row's problems by field: the model's own checks, and a law and article given twice,
    among the rows or by another stored article of `service` (one not among the rows)."""
    problems: dict[int, dict[str, list[str]]] = {}
    taken: set[tuple[str, str]] = set()
    if service is not None and service.pk:
        others = LegalArticle.objects.filter(service=service).exclude(
            pk__in=[article.pk for article in articles if article.pk]
        )
        taken = set(others.values_list("law", "article"))
    for index, article in enumerate(articles):
        errors: dict[str, list[str]] = {}
        try:
            article.full_clean(
                exclude=["service"], validate_unique=False, validate_constraints=False
            )
        except ValidationError as exc:
            errors = {field: list(messages) for field, messages in exc.message_dict.items()}
        key = _key(article)
        if all(key) and key in taken and "article" not in errors:
            errors["article"] = [
                _("This service already has %(article)s of %(law)s.")
                % {"article": key[1], "law": key[0]}
            ]
        if all(key):
            taken.add(key)
        if errors:
            problems[index] = errors
    return problems


@transaction.atomic
def save_articles(
    *, service: ServiceItem, rows: list[tuple[LegalArticle | None, dict]]
) -> list[LegalArticle]:
    """Save `rows` (an existing article of the service or None for a new one, with its fields) in
    one go; raises ArticleProblems naming each row's problems and then writes nothing. Published
    versions are untouched: articles are the item's, and the next decision uses them."""
    built = []
    for article, fields in rows:
        if article is not None and article.pk and article.service_id != service.pk:
            raise ValueError("An article of another service.")
        article = article if article is not None else LegalArticle()
        for name, value in fields.items():
            if name in ARTICLE_FIELDS:
                setattr(article, name, value.strip() if isinstance(value, str) else value)
        article.service = service
        built.append(article)
    if problems := article_problems(built, service=service):
        raise ArticleProblems(problems)
    stored = {
        pk: (law, number)
        for pk, law, number in LegalArticle.objects.filter(
            pk__in=[a.pk for a in built if a.pk]
        ).values_list("pk", "law", "article")
    }
    # An article whose law or number changes steps aside first, so two rows that swap their
    # numbers do not meet the unique constraint half way.
    moving = [a.pk for a in built if a.pk and stored.get(a.pk) != _key(a)]
    for pk in moving:
        LegalArticle.objects.filter(pk=pk).update(article=f"~{pk}")
    for article in built:
        article.save()
    return built


def add_articles(*, service: ServiceItem, rows: list[dict]) -> list[LegalArticle]:
    """New articles for `service` (an import, the demo), each a dict of ARTICLE_FIELDS; a row
    without an order follows the service's articles in the order given."""
    start = max(articles_of(service).values_list("order", flat=True), default=0)
    return save_articles(
        service=service,
        rows=[(None, {"order": start + 10 * (index + 1), **row}) for index, row in enumerate(rows)],
    )
