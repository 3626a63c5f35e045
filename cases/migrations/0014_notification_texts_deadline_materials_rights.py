"""The built-in texts of the messages about accepting, not accepting, requesting documents (and
reminding of them), suspending, extending and deciding now carry the deadline, the materials,
the reason, the legal basis and the rights (issue 16). Migration 0005 seeded the texts as rows,
and the rows are what is sent: rows still holding the old built-in text word for word get the new
one (on a text message its short form); rows an admin has edited are left alone. Both sets of
texts are copied here, so later edits of DEFAULT_TEXTS never change what this migration does."""

from django.db import migrations

CHANNELS = ("inbox", "email", "sms")

# event -> language -> (subject, body) as migration 0005 seeded them.
OLD = {
    "accepted": {
        "zh-hans": (
            "申请已受理",
            "您的申请 {{ number }}（{{ service }}）已受理，承诺办结日期 {{ due_date }}。",
        ),
        "en": (
            "Application accepted",
            "Your application {{ number }} ({{ service }}) has been accepted; decision due by {{ due_date }}.",
        ),
    },
    "not_accepted": {
        "zh-hans": (
            "申请不予受理",
            "您的申请 {{ number }} 不予受理。理由：{{ opinion }}。如不服，可依法申请行政复议或提起行政诉讼。",
        ),
        "en": (
            "Application not accepted",
            "Your application {{ number }} was not accepted. Reason: {{ opinion }}. You may apply for administrative review or bring a lawsuit.",
        ),
    },
    "supplement_requested": {
        "zh-hans": (
            "请补正材料",
            "您的申请 {{ number }} 需要补正材料：{{ opinion }}。请在 {{ deadline }} 前提交，逾期视为撤回。",
        ),
        "en": (
            "Documents needed",
            "Your application {{ number }} needs more documents: {{ opinion }}. Please send them by {{ deadline }}, or it is deemed withdrawn.",
        ),
    },
    "supplement_reminder": {
        "zh-hans": (
            "补正材料即将到期",
            "提醒：申请 {{ number }} 的补正材料须在 {{ deadline }} 前提交。",
        ),
        "en": (
            "Documents due soon",
            "Reminder: the documents for application {{ number }} are due by {{ deadline }}.",
        ),
    },
    "suspended": {
        "zh-hans": (
            "办理进入特别程序",
            "您的申请 {{ number }} 进入特别程序（{{ opinion }}），期间不计入办理时限。",
        ),
        "en": (
            "Special procedure",
            "Your application {{ number }} is in a special procedure ({{ opinion }}); this time does not count.",
        ),
    },
    "extended": {
        "zh-hans": (
            "办理时限延长",
            "经部门负责人批准，您的申请 {{ number }} 办理时限延长至 {{ due_date }}。理由：{{ opinion }}。",
        ),
        "en": (
            "Time limit extended",
            "With the department head's approval, the decision on {{ number }} is now due by {{ due_date }}. Reason: {{ opinion }}.",
        ),
    },
    "decided": {
        "zh-hans": (
            "审批结果：{{ state }}",
            "您的申请 {{ number }} 已作出决定：{{ state }}。{{ opinion }}",
        ),
        "en": (
            "Decision: {{ state }}",
            "A decision was made on your application {{ number }}: {{ state }}. {{ opinion }}",
        ),
    },
}

# event -> language -> channel -> (subject, body) now.
NEW = {
    "accepted": {
        "zh-hans": {
            "inbox": (
                "申请已受理",
                "您的申请 {{ number }}（{{ service }}）已受理，承诺于 {{ due_date }} 前作出决定。受理通知书可在办件页面查看和下载。",
            ),
            "email": (
                "申请已受理",
                "您的申请 {{ number }}（{{ service }}）已受理，承诺于 {{ due_date }} 前作出决定。受理通知书可在办件页面查看和下载。",
            ),
            "sms": (
                "申请已受理",
                "您的申请“{{ service }}”（{{ number }}）已受理，承诺办结日期{{ due_date }}。",
            ),
        },
        "en": {
            "inbox": (
                "Application accepted",
                "Your application {{ number }} ({{ service }}) has been accepted; the decision is due by {{ due_date }}. The acceptance notice is on the application's page.",
            ),
            "email": (
                "Application accepted",
                "Your application {{ number }} ({{ service }}) has been accepted; the decision is due by {{ due_date }}. The acceptance notice is on the application's page.",
            ),
            "sms": (
                "Application accepted",
                "Application {{ number }} ({{ service }}) accepted; decision due by {{ due_date }}.",
            ),
        },
    },
    "not_accepted": {
        "zh-hans": {
            "inbox": (
                "申请不予受理",
                "您的申请 {{ number }}（{{ service }}）不予受理。{% if reason %}理由：{{ reason }}。{% endif %}{% if legal_basis %}依据：{{ legal_basis }}。{% endif %}{{ rights }}",
            ),
            "email": (
                "申请不予受理",
                "您的申请 {{ number }}（{{ service }}）不予受理。{% if reason %}理由：{{ reason }}。{% endif %}{% if legal_basis %}依据：{{ legal_basis }}。{% endif %}{{ rights }}",
            ),
            "sms": (
                "申请不予受理",
                "申请{{ number }}不予受理。如不服可于{{ review_days }}日内向{{ review_body }}申请行政复议或{{ litigation_months }}个月内向{{ court }}提起行政诉讼。",
            ),
        },
        "en": {
            "inbox": (
                "Application not accepted",
                "Your application {{ number }} ({{ service }}) was not accepted.{% if reason %} Reason: {{ reason }}.{% endif %}{% if legal_basis %} Legal basis: {{ legal_basis }}.{% endif %} {{ rights }}",
            ),
            "email": (
                "Application not accepted",
                "Your application {{ number }} ({{ service }}) was not accepted.{% if reason %} Reason: {{ reason }}.{% endif %}{% if legal_basis %} Legal basis: {{ legal_basis }}.{% endif %} {{ rights }}",
            ),
            "sms": (
                "Application not accepted",
                "Application {{ number }} not accepted. To challenge it: administrative review at {{ review_body }} within {{ review_days }} days, or a lawsuit at {{ court }} within {{ litigation_months }} months.",
            ),
        },
    },
    "supplement_requested": {
        "zh-hans": {
            "inbox": (
                "请补正材料",
                "您的申请 {{ number }}（{{ service }}）需要补正以下材料：{{ materials }}。{% if note %}说明：{{ note }}。{% endif %}请在 {{ deadline }} 前在办件页面提交，逾期未提交视为撤回申请。",
            ),
            "email": (
                "请补正材料",
                "您的申请 {{ number }}（{{ service }}）需要补正以下材料：{{ materials }}。{% if note %}说明：{{ note }}。{% endif %}请在 {{ deadline }} 前在办件页面提交，逾期未提交视为撤回申请。",
            ),
            "sms": (
                "请补正材料",
                "您的申请{{ number }}需补正：{{ materials }}{% if note %}（{{ note }}）{% endif %}，请于{{ deadline }}前提交，逾期视为撤回。",
            ),
        },
        "en": {
            "inbox": (
                "Documents needed",
                "Your application {{ number }} ({{ service }}) needs these documents: {{ materials }}.{% if note %} Note: {{ note }}.{% endif %} Please upload them on the application's page by {{ deadline }}; otherwise the application is deemed withdrawn.",
            ),
            "email": (
                "Documents needed",
                "Your application {{ number }} ({{ service }}) needs these documents: {{ materials }}.{% if note %} Note: {{ note }}.{% endif %} Please upload them on the application's page by {{ deadline }}; otherwise the application is deemed withdrawn.",
            ),
            "sms": (
                "Documents needed",
                "Application {{ number }}: send {{ materials }}{% if note %} ({{ note }}){% endif %} by {{ deadline }}, or it is deemed withdrawn.",
            ),
        },
    },
    "supplement_reminder": {
        "zh-hans": {
            "inbox": (
                "补正材料即将到期",
                "提醒：您的申请 {{ number }}（{{ service }}）须在 {{ deadline }} 前补正以下材料：{{ materials }}。{% if note %}说明：{{ note }}。{% endif %}逾期未提交视为撤回申请。",
            ),
            "email": (
                "补正材料即将到期",
                "提醒：您的申请 {{ number }}（{{ service }}）须在 {{ deadline }} 前补正以下材料：{{ materials }}。{% if note %}说明：{{ note }}。{% endif %}逾期未提交视为撤回申请。",
            ),
            "sms": (
                "补正材料即将到期",
                "提醒：申请{{ number }}须于{{ deadline }}前补正：{{ materials }}{% if note %}（{{ note }}）{% endif %}，逾期视为撤回。",
            ),
        },
        "en": {
            "inbox": (
                "Documents due soon",
                "Reminder: the documents for your application {{ number }} ({{ service }}) are due by {{ deadline }}: {{ materials }}.{% if note %} Note: {{ note }}.{% endif %} Otherwise the application is deemed withdrawn.",
            ),
            "email": (
                "Documents due soon",
                "Reminder: the documents for your application {{ number }} ({{ service }}) are due by {{ deadline }}: {{ materials }}.{% if note %} Note: {{ note }}.{% endif %} Otherwise the application is deemed withdrawn.",
            ),
            "sms": (
                "Documents due soon",
                "Reminder: application {{ number }} needs {{ materials }}{% if note %} ({{ note }}){% endif %} by {{ deadline }}, or it is deemed withdrawn.",
            ),
        },
    },
    "suspended": {
        "zh-hans": {
            "inbox": (
                "办理进入特别程序",
                "您的申请 {{ number }}（{{ service }}）进入特别程序{% if reason %}：{{ reason }}{% endif %}。特别程序是指听证、招标、拍卖、检验、检测、检疫、鉴定或专家评审等，所需时间不计入办理时限（《行政许可法》第四十五条）；恢复办理时将告知新的办结日期。",
            ),
            "email": (
                "办理进入特别程序",
                "您的申请 {{ number }}（{{ service }}）进入特别程序{% if reason %}：{{ reason }}{% endif %}。特别程序是指听证、招标、拍卖、检验、检测、检疫、鉴定或专家评审等，所需时间不计入办理时限（《行政许可法》第四十五条）；恢复办理时将告知新的办结日期。",
            ),
            "sms": (
                "办理进入特别程序",
                "您的申请{{ number }}进入特别程序{% if reason %}（{{ reason }}）{% endif %}，期间不计入办理时限，恢复办理时另行告知办结日期。",
            ),
        },
        "en": {
            "inbox": (
                "Special procedure",
                "Your application {{ number }} ({{ service }}) is in a special procedure{% if reason %}: {{ reason }}{% endif %}. A special procedure is a hearing, tender, auction, inspection, test, quarantine, appraisal or expert review; the time it takes does not count towards the time limit (Administrative Licensing Law, Article 45). You will be told the new due date when processing resumes.",
            ),
            "email": (
                "Special procedure",
                "Your application {{ number }} ({{ service }}) is in a special procedure{% if reason %}: {{ reason }}{% endif %}. A special procedure is a hearing, tender, auction, inspection, test, quarantine, appraisal or expert review; the time it takes does not count towards the time limit (Administrative Licensing Law, Article 45). You will be told the new due date when processing resumes.",
            ),
            "sms": (
                "Special procedure",
                "Application {{ number }} is in a special procedure{% if reason %} ({{ reason }}){% endif %}; this time does not count. You will be told the new due date.",
            ),
        },
    },
    "extended": {
        "zh-hans": {
            "inbox": (
                "办理时限延长",
                "经部门负责人批准，您的申请 {{ number }}（{{ service }}）办理时限延长至 {{ due_date }}。{% if reason %}理由：{{ reason }}。{% endif %}",
            ),
            "email": (
                "办理时限延长",
                "经部门负责人批准，您的申请 {{ number }}（{{ service }}）办理时限延长至 {{ due_date }}。{% if reason %}理由：{{ reason }}。{% endif %}",
            ),
            "sms": (
                "办理时限延长",
                "您的申请{{ number }}办理时限经批准延长至{{ due_date }}{% if reason %}，理由：{{ reason }}{% endif %}。",
            ),
        },
        "en": {
            "inbox": (
                "Time limit extended",
                "With the department head's approval, the decision on your application {{ number }} ({{ service }}) is now due by {{ due_date }}.{% if reason %} Reason: {{ reason }}.{% endif %}",
            ),
            "email": (
                "Time limit extended",
                "With the department head's approval, the decision on your application {{ number }} ({{ service }}) is now due by {{ due_date }}.{% if reason %} Reason: {{ reason }}.{% endif %}",
            ),
            "sms": (
                "Time limit extended",
                "Application {{ number }}: decision now due by {{ due_date }}{% if reason %} ({{ reason }}){% endif %}.",
            ),
        },
    },
    "decided": {
        "zh-hans": {
            "inbox": (
                "审批结果：{{ state }}",
                "{% if refused %}您的申请 {{ number }}（{{ service }}）经审查，决定不予许可。{% if reason %}理由：{{ reason }}。{% endif %}{% if legal_basis %}依据：{{ legal_basis }}。{% endif %}{{ rights }}{% else %}您的申请 {{ number }}（{{ service }}）已作出准予决定。{% if reason %}意见：{{ reason }}。{% endif %}{% if legal_basis %}依据：{{ legal_basis }}。{% endif %}{% endif %}",
            ),
            "email": (
                "审批结果：{{ state }}",
                "{% if refused %}您的申请 {{ number }}（{{ service }}）经审查，决定不予许可。{% if reason %}理由：{{ reason }}。{% endif %}{% if legal_basis %}依据：{{ legal_basis }}。{% endif %}{{ rights }}{% else %}您的申请 {{ number }}（{{ service }}）已作出准予决定。{% if reason %}意见：{{ reason }}。{% endif %}{% if legal_basis %}依据：{{ legal_basis }}。{% endif %}{% endif %}",
            ),
            "sms": (
                "审批结果：{{ state }}",
                "{% if refused %}申请{{ number }}不予许可。如不服可于{{ review_days }}日内向{{ review_body }}申请行政复议或{{ litigation_months }}个月内向{{ court }}提起行政诉讼。{% else %}您的申请{{ number }}已准予许可。{% endif %}",
            ),
        },
        "en": {
            "inbox": (
                "Decision: {{ state }}",
                "{% if refused %}Your application {{ number }} ({{ service }}) has been refused.{% if reason %} Reason: {{ reason }}.{% endif %}{% if legal_basis %} Legal basis: {{ legal_basis }}.{% endif %} {{ rights }}{% else %}Your application {{ number }} ({{ service }}) has been approved.{% if reason %} Opinion: {{ reason }}.{% endif %}{% if legal_basis %} Legal basis: {{ legal_basis }}.{% endif %}{% endif %}",
            ),
            "email": (
                "Decision: {{ state }}",
                "{% if refused %}Your application {{ number }} ({{ service }}) has been refused.{% if reason %} Reason: {{ reason }}.{% endif %}{% if legal_basis %} Legal basis: {{ legal_basis }}.{% endif %} {{ rights }}{% else %}Your application {{ number }} ({{ service }}) has been approved.{% if reason %} Opinion: {{ reason }}.{% endif %}{% if legal_basis %} Legal basis: {{ legal_basis }}.{% endif %}{% endif %}",
            ),
            "sms": (
                "Decision: {{ state }}",
                "{% if refused %}Application {{ number }} refused. To challenge it: administrative review at {{ review_body }} within {{ review_days }} days, or a lawsuit at {{ court }} within {{ litigation_months }} months.{% else %}Application {{ number }} approved.{% endif %}",
            ),
        },
    },
}


def _replace(apps, source, target) -> None:
    """Rows whose body is still `source`'s text get `target`'s; the subject too when unchanged."""
    template = apps.get_model("cases", "NotificationTemplate")
    for event, languages in NEW.items():
        for language in languages:
            for channel in CHANNELS:
                was = source(event, language, channel)
                subject, body = target(event, language, channel)
                rows = template.objects.filter(
                    event=event, language=language, channel=channel, body=was[1]
                )
                rows.filter(subject=was[0]).update(subject=subject, body=body)
                rows.update(body=body)


def _old(event, language, channel):
    return OLD[event][language]


def _new(event, language, channel):
    return NEW[event][language][channel]


def forwards(apps, schema_editor):
    _replace(apps, _old, _new)


def backwards(apps, schema_editor):
    _replace(apps, _new, _old)


class Migration(migrations.Migration):
    dependencies = [("cases", "0013_decisions_documents_licence_lifecycle")]
    operations = [migrations.RunPython(forwards, backwards)]
