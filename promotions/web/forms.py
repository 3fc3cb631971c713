"""Forms of the promotions pages. They parse input; promotions.services checks and writes it
(the rule's pattern, condition and named users included), and its errors land on these fields."""

from django import forms

from accounts.models import User
from promotions.models import MAX_APPROVALS, AliasRule, Direction, Movers
from registry.models import ALIAS_RULE, Role
from registry.search.lexer import MAX_QUERY_LENGTH


class AliasSetForm(forms.Form):
    """Set or move an alias: its name and a version number of the registered model."""

    alias = forms.CharField(
        max_length=64,
        help_text=f"An alias is {ALIAS_RULE}.",
        widget=forms.TextInput(attrs={"list": "alias-names", "autocomplete": "off", "placeholder": "production"}),
    )
    version = forms.IntegerField(min_value=1, help_text="The version number it should name.")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "alias")
        super().__init__(*args, **kwargs)

    def clean_alias(self) -> str:
        return self.cleaned_data["alias"].strip()


class DecisionForm(forms.Form):
    """The optional comment of an approval, rejection or cancellation."""

    comment = forms.CharField(max_length=2000, required=False, strip=False)


class AliasRuleForm(forms.Form):
    pattern = forms.CharField(
        max_length=AliasRule._meta.get_field("pattern").max_length,
        help_text="An alias name, such as <code>production</code>, or a pattern: <code>prod*</code> "
        "(<code>*</code> any characters, <code>?</code> one).",
    )
    movers = forms.ChoiceField(
        choices=Movers.choices, initial=Movers.MEMBERS, widget=forms.RadioSelect, label="Who may move it"
    )
    users = forms.ModelMultipleChoiceField(
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Named users",
        help_text="Only with “Owners and the named users”: the members who may move it besides the owners.",
    )
    condition = forms.CharField(
        max_length=MAX_QUERY_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "class": "mono", "spellcheck": "false"}),
        help_text="A query the version must match, as in the models list: <code>metrics.accuracy &gt;= 0.9 and "
        'branch = "main"</code>. Empty: any version.',
    )
    metric = forms.CharField(
        max_length=AliasRule._meta.get_field("metric").max_length,
        required=False,
        label="No worse than the version it replaces, on metric",
        help_text="A key of the versions' metrics, such as <code>accuracy</code>. Empty: no comparison.",
    )
    direction = forms.ChoiceField(choices=[("", "—"), *Direction.choices], required=False, label="Which way is better")
    tolerance = forms.FloatField(
        min_value=0, required=False, initial=0, help_text="How much worse than the replaced version still passes."
    )
    approvals = forms.IntegerField(
        min_value=0,
        max_value=MAX_APPROVALS,
        initial=0,
        label="Approvals required",
        help_text="From people other than the requester; 0 moves at once.",
    )

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        # Viewers never move aliases, so only owners and members can be named.
        writers = User.objects.filter(
            memberships__workspace=workspace, memberships__role__in=(Role.OWNER, Role.MEMBER), is_active=True
        )
        self.fields["users"].queryset = writers.order_by("login")
        self.fields["users"].label_from_instance = lambda user: f"{user.get_full_name()} ({user.login})"

    @classmethod
    def for_rule(cls, rule: AliasRule, **kwargs) -> "AliasRuleForm":
        """The form filled with a stored rule (its named users prefetched), prefixed by its id."""
        initial = {name: getattr(rule, name) for name in ("pattern", "movers", "condition", "metric", "direction")}
        initial.update(tolerance=rule.tolerance, approvals=rule.approvals, users=list(rule.users.all()))
        return cls(initial=initial, prefix=f"rule-{rule.pk}", **kwargs)

    def service_fields(self) -> dict:
        """The rule's fields for promotions.services. Named users count only with movers
        "users": ticked boxes left over after choosing another option are dropped, as the API
        drops them when movers changes."""
        fields = dict(self.cleaned_data)
        if fields["tolerance"] is None:
            fields["tolerance"] = 0.0
        if fields["movers"] != Movers.USERS:
            fields["users"] = []
        else:
            fields["users"] = list(fields["users"])
        fields["condition"] = fields["condition"].replace("\r\n", "\n")
        return fields
