"""The form renderer: templates may be overridden in templates/ (the schema-driven application forms
are), and every field group marks a label, hint or error left in Chinese lang="zh-Hans" in an English
page (templates/includes/field.html, Django's forms/field.html with the |zh filter)."""

from django.forms.renderers import TemplatesSetting


class PortalRenderer(TemplatesSetting):
    field_template_name = "includes/field.html"
