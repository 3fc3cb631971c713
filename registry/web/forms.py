"""Forms of the web UI. They parse and check input; every write goes through registry.services."""

import json

from django import forms

from accounts.models import User
from maisie_site import storable
from registry.models import MLModel, Project, Role, Tag, Workspace

# What `private` means, as registry.querysets.visible_to decides it; the CLI and the docs say the same.
PRIVATE_HELP = "Only you (and the site's staff) will see it: not the workspace's other members, owners included."
JSON_HELP = "A JSON object, e.g. <code>{}</code>."
EXAMPLES = {
    "hyperparameters": '{"lr": 0.001, "optimizer": "adam"}',
    "parameters": '{"layers": 50}',
    "metrics": '{"accuracy": 0.93, "loss": 0.21}',
}


class JSONObjectField(forms.CharField):
    """A JSON object typed into a textarea; empty means {}."""

    widget = forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "mono"})

    def __init__(self, example: str = "{}", **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", JSON_HELP.format(example))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, dict):
            return json.dumps(value, indent=2, sort_keys=True) if value else ""
        return value

    def to_python(self, value):
        text = super().to_python(value).strip()
        if not text:
            return {}
        try:
            parsed = storable.loads(text)  # nesting limited: deep JSON is this error, not a 500
        except ValueError as exc:
            raise forms.ValidationError(f"This is not valid JSON: {exc}.") from exc
        if not isinstance(parsed, dict):
            raise forms.ValidationError('Give a JSON object: {"key": value, …}.')
        return parsed


class TagListField(forms.CharField):
    """Tags as one comma-separated line; services.tag_names() cleans and checks each name."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "Comma separated, e.g. <code>baseline, production</code>.")
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(str(tag) for tag in value)
        return value


class WorkspaceForm(forms.ModelForm):
    class Meta:
        model = Workspace
        fields = ["name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}


class ProjectForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = ["name", "description", "git_url"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}
        labels = {"git_url": "Git repository URL"}
        help_texts = {"git_url": "e.g. https://github.com/acme/resnets; model pages then link their commit."}


class MembershipForm(forms.Form):
    login = forms.CharField(max_length=150, label="User login")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)

    def clean_login(self):
        login = self.cleaned_data["login"].strip()
        user = User.objects.by_login(login).filter(is_active=True).first()  # logins are unique in any case
        if user is None:
            raise forms.ValidationError("There is no active user with this login.")
        return user


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class ModelUploadForm(forms.Form):
    project = forms.ModelChoiceField(queryset=Project.objects.none(), empty_label="Choose a project…")
    name = forms.CharField(max_length=MLModel._meta.get_field("name").max_length)
    file = forms.FileField(help_text="Any size up to the server's limit; its SHA-256 is computed as it arrives.")
    hyperparameters = JSONObjectField(EXAMPLES["hyperparameters"])
    parameters = JSONObjectField(EXAMPLES["parameters"])
    metrics = JSONObjectField(EXAMPLES["metrics"])
    tags = TagListField()
    dataset_name = forms.CharField(max_length=200, required=False)
    dataset_description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    git_branch = forms.CharField(max_length=255, required=False)
    git_commit = forms.CharField(max_length=64, required=False)
    git_remote_url = forms.CharField(
        max_length=MLModel._meta.get_field("git_remote_url").max_length,
        required=False,
        label="Git remote URL",
        help_text="e.g. <code>https://github.com/acme/resnets.git</code>; a user name or password in it is not stored.",
    )
    git_dirty = forms.NullBooleanField(
        required=False,
        label="Trained from uncommitted changes",
        widget=forms.NullBooleanSelect,
        help_text="Whether the working tree had changes not in the commit.",
    )
    private = forms.BooleanField(required=False, help_text=PRIVATE_HELP)

    def __init__(self, *args, projects, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = projects
        self.fields["project"].label_from_instance = lambda p: f"{p.workspace.name} / {p.name}"


class ModelEditForm(forms.ModelForm):
    """Everything about a model but its file; a moved or renamed model takes the next version there."""

    hyperparameters = JSONObjectField(EXAMPLES["hyperparameters"])
    parameters = JSONObjectField(EXAMPLES["parameters"])
    metrics = JSONObjectField(EXAMPLES["metrics"])
    tags = TagListField()

    class Meta:
        model = MLModel
        fields = [
            "project",
            "name",
            "hyperparameters",
            "parameters",
            "metrics",
            "tags",
            "dataset_name",
            "dataset_description",
            "git_branch",
            "git_commit",
            "git_remote_url",
            "git_dirty",
            "private",
        ]
        widgets = {"dataset_description": forms.Textarea(attrs={"rows": 2}), "git_dirty": forms.NullBooleanSelect}
        labels = {"git_remote_url": "Git remote URL", "git_dirty": "Trained from uncommitted changes"}
        help_texts = {"private": PRIVATE_HELP}

    def __init__(self, *args, projects, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = projects
        self.fields["project"].label_from_instance = lambda p: f"{p.workspace.name} / {p.name}"
        self.initial["tags"] = [tag.name for tag in self.instance.tags.all()]

    def _post_clean(self):
        # Model validation runs in services.model_update, after the permission check.
        pass

    def service_fields(self) -> dict:
        return dict(self.cleaned_data)


class TagAddForm(forms.Form):
    name = forms.CharField(max_length=Tag._meta.get_field("name").max_length, label="Tag")


class RegisteredModelDescriptionForm(forms.Form):
    """The model card's Markdown; services.registered_model_update checks and saves it."""

    description = forms.CharField(
        required=False,
        strip=False,
        label="Card text (Markdown)",
        widget=forms.Textarea(attrs={"rows": 14, "class": "mono", "spellcheck": "true"}),
        help_text="Headings, lists, tables, links, code. HTML is shown as text.",
    )

    def clean_description(self) -> str:
        # Browsers send a textarea's lines as CRLF; the card is stored as the API writes it, with LF.
        return self.cleaned_data["description"].replace("\r\n", "\n")
