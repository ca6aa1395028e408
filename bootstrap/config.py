"""The typed configuration: YAML loading with line numbers, ``${ENV_VAR}`` interpolation, checks.

``load_config(path)`` returns a :class:`BootstrapConfig` or raises one :class:`ConfigError`
whose message names the file, the line and the dotted key (``config/bootstrap.yaml:12:
pipelines[2].yaml: field required``). The YAML is composed into a node tree first so every
value keeps its position; pydantic's error locations are mapped back onto those nodes.

pydantic is imported inside functions only: ``bootstrap --help`` must not pay for it. The model
classes are built on first use by :func:`models` and cached.
"""

from __future__ import annotations

import functools
import json
import os
import re
from pathlib import Path
from typing import Any

from bootstrap.errors import ConfigError

DEFAULT_CONFIG = Path("config/bootstrap.yaml")
RESERVED_VARIABLE = "AZURE_SVC_CONNECTION"
_ENV_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

# System process templates (fixed ids in every Azure DevOps organisation).
PROCESS_TEMPLATES = {
    "Agile": "adcc42ab-9882-485e-a3ed-7678f01f66bc",
    "Scrum": "6b724908-ef14-45cf-84f8-768b5384da45",
    "CMMI": "27450541-8e31-4150-9947-dc59f998fc01",
    "Basic": "b8a3a935-7e91-48b8-a94c-606d37c3e9f2",
}


@functools.cache
def models() -> dict[str, type]:
    """Build the pydantic models (lazily: pydantic costs ~100 ms to import)."""
    from typing import Annotated, Literal

    from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

    def scalar_to_str(value: Any) -> Any:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        return value

    def folder(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        parts = [p for p in re.split(r"[\\/]+", value) if p]
        return "\\" + "\\".join(parts)

    VariableValue = Annotated[
        str, BeforeValidator(scalar_to_str, json_schema_input_type=str | int | float | bool)
    ]
    Folder = Annotated[str, BeforeValidator(folder)]
    Name = Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[^\\/:*?\"<>|]+$")]

    class Model(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)

    class ProjectConfig(Model):
        """The Azure DevOps project everything lives in."""

        name: Name
        create_if_missing: bool = Field(
            False, description="Create the project when it does not exist (needs a PAT allowed to)."
        )
        description: str = "MLOps project set up by bootstrap"
        process: Literal["Agile", "Scrum", "CMMI", "Basic"] = "Agile"
        visibility: Literal["private", "public"] = "private"

    class RepositoryConfig(Model):
        """Where the pipeline YAML files live."""

        type: Literal["azure-repos", "github"] = "azure-repos"
        name: str = Field(
            min_length=1, description="Azure Repos repository name, or GitHub owner/name."
        )
        branch: str = Field("main", min_length=1)
        service_connection: str | None = Field(
            None, description="GitHub only: the GitHub service connection the pipelines use."
        )
        local_path: str = Field(
            ".",
            description="A local checkout of the repository (relative to the working "
            "directory). GitHub: used to check that each YAML file exists before a pipeline is "
            "created. Azure Repos: YAML files identical to the branch's (same Git object id) "
            "are read from here instead of downloaded.",
        )

        @model_validator(mode="after")
        def _github_needs(self):
            if self.type == "github":
                if not re.fullmatch(r"[^/\s]+/[^/\s]+", self.name):
                    raise ValueError("a github repository name is owner/name")
                if not self.service_connection:
                    raise ValueError("a github repository needs service_connection")
            return self

    class ServiceConnectionConfig(Model):
        """The Azure Resource Manager service connection the pipelines log in with."""

        name: Name
        mode: Literal["existing", "create"] = Field(
            "existing",
            description="existing: look it up by name; create: bootstrap creates (and owns) it.",
        )
        authentication: Literal["workload-identity-federation", "service-principal"] = (
            "workload-identity-federation"
        )
        subscription_id: str | None = None
        subscription_name: str | None = None
        tenant_id: str | None = None
        client_id: str | None = None
        client_secret: str = Field(
            "AZURE_CLIENT_SECRET",
            description="service-principal only: the name of the secret in the secret store "
            "(env BOOTSTRAP_SECRET_<NAME> or the keyring entry written by `bootstrap vars set`).",
        )
        authorize_all_pipelines: bool = Field(
            False,
            description="Authorise every pipeline of the project; default: only the managed ones.",
        )
        description: str = "Azure Resource Manager connection for the MLOps pipelines"

        @model_validator(mode="after")
        def _create_needs(self):
            if self.mode == "create":
                missing = [
                    key
                    for key in ("subscription_id", "subscription_name", "tenant_id", "client_id")
                    if not getattr(self, key)
                ]
                if missing:
                    raise ValueError("mode create needs " + ", ".join(missing))
            return self

    class VariableGroupConfig(Model):
        """The variable group every pipeline references."""

        name: Name = "shared-variables"
        description: str = "Variables shared by the MLOps pipelines (managed by bootstrap)"
        variables: dict[str, VariableValue] = Field(default_factory=dict)
        secrets: list[str] = Field(
            default_factory=list,
            description="Names of secret variables; values are set with `bootstrap vars sync`.",
        )
        allow_all_pipelines: bool = True

        @model_validator(mode="after")
        def _names(self):
            both = sorted(set(self.variables) & set(self.secrets))
            if both:
                raise ValueError(f"declared both as variable and secret: {', '.join(both)}")
            if RESERVED_VARIABLE in self.variables or RESERVED_VARIABLE in self.secrets:
                raise ValueError(
                    f"{RESERVED_VARIABLE} is set by bootstrap to the service connection's name"
                )
            if len(set(self.secrets)) != len(self.secrets):
                raise ValueError("secrets are listed more than once")
            return self

    class PipelineConfig(Model):
        """One YAML pipeline (a build definition)."""

        name: Name
        folder: Folder = "\\"
        yaml: str = Field(min_length=1, description="Path of the YAML file in the repository.")

    class TriggerConfig(Model):
        """Run ``pipeline`` when ``after`` completes (a buildCompletion trigger)."""

        pipeline: str
        after: str
        branches: list[str] = Field(default_factory=lambda: ["main"], min_length=1)
        requires_successful_build: bool = True

    class BootstrapConfig(Model):
        """What `bootstrap up` converges the Azure DevOps project to."""

        organization: str = Field(
            pattern=r"^https?://[^\s/]+(/[^\s]*)?$",
            description="Organisation URL, e.g. https://dev.azure.com/contoso",
        )
        project: ProjectConfig
        repository: RepositoryConfig
        service_connection: ServiceConnectionConfig
        variable_group: VariableGroupConfig = Field(default_factory=VariableGroupConfig)
        pipelines: list[PipelineConfig] = Field(min_length=1)
        triggers: list[TriggerConfig] = Field(default_factory=list)

        @model_validator(mode="after")
        def _references(self):
            names = [p.name for p in self.pipelines]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"pipeline names must be unique: {', '.join(dupes)}")
            for trigger in self.triggers:
                for name in (trigger.pipeline, trigger.after):
                    if name not in names:
                        raise ValueError(f"trigger refers to unknown pipeline {name!r}")
                if trigger.pipeline == trigger.after:
                    raise ValueError(f"pipeline {trigger.pipeline!r} cannot trigger itself")
            return self

        def pipeline(self, name: str) -> PipelineConfig:
            return next(p for p in self.pipelines if p.name == name)

    return {
        cls.__name__: cls
        for cls in (
            ProjectConfig,
            RepositoryConfig,
            ServiceConnectionConfig,
            VariableGroupConfig,
            PipelineConfig,
            TriggerConfig,
            BootstrapConfig,
        )
    }


def json_schema() -> dict:
    """The JSON Schema of the configuration file (for editors' completion and validation)."""
    schema = models()["BootstrapConfig"].model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "bootstrap configuration"
    return schema


def _compose(path: Path, text: str):
    import yaml

    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else "?"
        raise ConfigError(f"{path}:{line}: invalid YAML: {exc.problem or exc}") from None


def _interpolate(path: Path, node) -> None:
    """Replace ``${NAME}`` in every scalar with the environment variable's value, in place."""
    import yaml

    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _interpolate(path, key)
            _interpolate(path, value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _interpolate(path, item)
    elif isinstance(node, yaml.ScalarNode) and "${" in node.value:

        def substitute(match: re.Match) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise ConfigError(
                    f"{path}:{node.start_mark.line + 1}: environment variable {name} is not set",
                    hint=f"export {name}=... or write the value into the file",
                )
            return os.environ[name]

        node.value = _ENV_PATTERN.sub(substitute, node.value)
        node.tag = "tag:yaml.org,2002:str"


def _node_at(root, loc: tuple):
    """The node ``loc`` points at: for a mapping or list value, its key (that line reads
    best); for a path that is not in the file (a missing key), the deepest node that is."""
    import yaml

    node, key = root, None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if k.value == part), None)
            if pair is None:
                return key or node
            key, node = pair
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            key, node = None, node.value[part]
        else:
            return key or node
    return key if key is not None and not isinstance(node, yaml.ScalarNode) else node


def _dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def load_config(
    path: str | os.PathLike = DEFAULT_CONFIG, org: str | None = None, project: str | None = None
):
    """Load and validate ``path``; ``org``/``project`` override the file's values.

    Raises ConfigError (exit 2) naming file, line and key for any problem.
    """
    import yaml
    from pydantic import ValidationError

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such configuration file",
            hint="pass --config PATH or copy config/bootstrap.yaml",
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    root = _compose(path, text)
    if root is None:
        raise ConfigError(f"{path}:1: the file is empty")
    if not isinstance(root, yaml.MappingNode):
        raise ConfigError(f"{path}:{root.start_mark.line + 1}: expected a mapping at the top")
    _interpolate(path, root)
    data = yaml.SafeLoader("").construct_document(root)
    if org:
        data["organization"] = org
    if project:
        data.setdefault("project", {})
        if isinstance(data["project"], dict):
            data["project"]["name"] = project
    if isinstance(data.get("organization"), str):
        data["organization"] = data["organization"].rstrip("/")
    try:
        return models()["BootstrapConfig"].model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        # A misspelt key also makes the right one "missing": report the misspelling first.
        error = min(errors, key=lambda e: e["type"] != "extra_forbidden")
        loc = tuple(part for part in error["loc"] if not str(part).startswith("function-"))
        node = _node_at(root, loc)
        line = node.start_mark.line + 1
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "missing":
            message = "required key is missing"
        elif error["type"] == "extra_forbidden":
            message = "unknown key (see `bootstrap config schema`)"
        more = len(errors) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise ConfigError(f"{path}:{line}: {_dotted(loc)}: {message}{suffix}") from None


def dump_schema() -> str:
    return json.dumps(json_schema(), indent=2)
