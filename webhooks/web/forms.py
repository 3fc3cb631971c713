"""The forms of the webhook pages; webhooks.services checks what they take (URL, kinds, condition)."""

from django import forms

from maisie_site.storable import validate_text
from registry.search.lexer import MAX_QUERY_LENGTH
from webhooks import targets


class WebhookForm(forms.Form):
    url = forms.CharField(
        label="URL",
        max_length=targets.MAX_URL_LENGTH,
        validators=[validate_text],
        help_text="Where to POST each event: https only (a public address, unless the server allows private ones).",
    )
    kinds = forms.CharField(
        initial="*",
        max_length=2000,
        validators=[validate_text],
        help_text="Comma-separated: kinds (<code>model.created</code>), families (<code>alias.*</code>) "
        "or <code>*</code> for all.",
    )
    condition = forms.CharField(
        required=False,
        max_length=MAX_QUERY_LENGTH,
        strip=False,
        validators=[validate_text],
        help_text="Optional, in the search language, on the model version an event concerns: "
        '<code>alias = "production"</code>.',
    )
    description = forms.CharField(required=False, max_length=200, validators=[validate_text])

    @classmethod
    def for_webhook(cls, webhook, **kwargs):
        initial = {
            "url": webhook.url,
            "kinds": ", ".join(webhook.kinds),
            "condition": webhook.condition,
            "description": webhook.description,
        }
        return cls(initial=initial, **kwargs)

    def service_fields(self) -> dict:
        data = self.cleaned_data
        kinds = [part.strip() for part in data["kinds"].split(",") if part.strip()]
        return {"url": data["url"], "kinds": kinds, "condition": data["condition"], "description": data["description"]}


class ReplayForm(forms.Form):
    since = forms.DateTimeField(
        label="Since (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Every event from then on that this webhook would get now is queued again.",
    )


class RotateForm(forms.Form):
    keep_previous = forms.BooleanField(
        required=False,
        initial=True,
        label="Keep signing with the old secret too for 24 hours",
        help_text="Untick if the old secret leaked: it stops at once.",
    )
