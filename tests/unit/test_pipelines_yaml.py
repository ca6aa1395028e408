"""The six Azure Pipelines and their templates: valid per the official schema, and the contract.

Three checkers, each also run against deliberately broken copies so that a green run means
something:

* **Schema.** Every YAML file under ``pipelines/`` (pipelines and templates) and every pipeline
  with its templates expanded validates against ``service-schema.json`` from
  microsoft/azure-pipelines-vscode (draft-07). That schema is written for the YAML language
  server, so it is applied with the server's reading of YAML: every scalar is a string (hence
  the ``boolean`` definition's string patterns), a task input typed boolean/number holds its
  value as a string, a scalar that is wholly a ``${{ }}``/``$( )`` expression stands for any
  scalar, and the non-standard ``firstProperty`` keyword (``task:``, ``script:`` or
  ``template:`` must come first in a step) is enforced. A steps template (``parameters`` +
  ``steps``) validates as a pipeline with ``steps``, as the language server also does.
* **Expansion.** ``template:`` steps are inlined the way Azure Pipelines does it at compile
  time: paths relative to the including file, declared parameters only, required parameters
  given, ``values:`` and types respected, ``${{ parameters.x }}`` substituted (runtime
  parameters of a pipeline take their defaults). Any other template expression is refused
  rather than guessed at, so the files stay within what this checker understands.
* **Contract** (issue 3, "The six pipelines"): the ``shared-variables`` group, the pipeline's
  own ``AZML_*`` variables, Python on ``ubuntu-latest``, ``aml/requirements.txt`` installed,
  the AML script run in ``AzureCLI@2`` on ``$(AZURE_SVC_CONNECTION)`` with the right
  arguments, the triggers and path filters, the image tag, ``ACR_PASSWORD`` only through
  ``env:`` and ``--password-stdin``, and no ``resources.pipelines`` trigger (``bootstrap up``
  sets the build-completion trigger on the definition instead).

Beyond the three checkers, the image steps of a build-api pipeline are run under bash as the
agent would run them (macros expanded, secrets only through ``env:``) with a recording
``docker`` on PATH: the password must arrive on stdin and in no argument list.
"""

from __future__ import annotations

import itertools
import json
import re
import shlex
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.conftest import REPO_ROOT, shared_path

PIPELINES_DIR = REPO_ROOT / "pipelines"
MODELS = ("titanic", "batcomputer")
KINDS = ("data-load", "training", "build-api")
PIPELINE_FILES = tuple(f"{model}-{kind}.yml" for model in MODELS for kind in KINDS)
AML_SCRIPT_OF_KIND = {
    "data-load": "upload-data.py",
    "training": "run-training.py",
    "build-api": "fetch-model.py",
}
CURRENT_TASKS = {"UsePythonVersion@0", "AzureCLI@2", "Bash@3", "Docker@2"}
OLDEST_PYTHON = (3, 11)
IMAGE = "$(ACR_NAME).azurecr.io/$(AZML_MODEL)-api:$(AZML_MODEL_VER)"
SERVICE_CONNECTION = "$(AZURE_SVC_CONNECTION)"

WHOLE_EXPRESSION = re.compile(r"^\s*(\$\{\{.*\}\}|\$\([^()]+\))\s*$", re.DOTALL)
PARAMETER_REF = re.compile(r"\$\{\{\s*parameters\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
BOOLEAN_WORDS = {"true", "false", "y", "yes", "n", "no", "on", "off"}
# ACR_PASSWORD as a pipeline variable reference: macro, runtime or template expression.
PASSWORD_VARIABLE = re.compile(r"\$(\(|\[|\{\{)[^)\]}]*ACR_PASSWORD")
# ACR_PASSWORD as a shell expansion of the step's environment.
PASSWORD_EXPANSION = re.compile(r"\$(ACR_PASSWORD\b|\{ACR_PASSWORD\b)")
PASSWORD_PIPED_TO_LOGIN = re.compile(
    r"""^\s*(printf\s+(['"])%s\2|echo(\s+-n)?)\s+"\$\{?ACR_PASSWORD\}?"\s*\|\s*"""
    r"""docker\s+login\s.*--password-stdin\b"""
)
PASSWORD_TESTED = re.compile(
    r"""^\s*(case\s+"\$\{?ACR_PASSWORD\}?"\s+in\b|(if\s+)?(\[\[?|test)\s)"""
)


class PipelineError(ValueError):
    """A pipeline that Azure Pipelines would refuse to compile, or that this checker refuses."""


# --- YAML as Azure Pipelines reads it ------------------------------------------------------


class _StringLoader(getattr(yaml, "CBaseLoader", yaml.BaseLoader)):
    """Every scalar a string, keys in file order, duplicate keys refused (as Azure does).

    libyaml's parser when PyYAML has it: the pure-Python one is most of this module's run time.
    """


def _construct_mapping(loader: _StringLoader, node: yaml.MappingNode) -> dict:
    mapping: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in mapping:
            raise PipelineError(f"line {key_node.start_mark.line + 1}: duplicate key {key!r}")
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


_StringLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(path: Path) -> dict:
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_StringLoader)
    except yaml.YAMLError as error:
        raise PipelineError(f"{path.name}: not YAML: {error}") from error
    if not isinstance(document, dict):
        raise PipelineError(f"{path.name}: the top level must be a mapping")
    return document


# --- the official schema ---------------------------------------------------------------------


def _is_expression(instance) -> bool:
    return isinstance(instance, str) and bool(WHOLE_EXPRESSION.match(instance))


def _first_property(validator, allowed, instance, schema):
    if isinstance(instance, dict) and instance and next(iter(instance)) not in allowed:
        yield jsonschema.ValidationError(
            f"{next(iter(instance))!r} must not come first here (expected one of {allowed})"
        )


@cache
def _schema() -> tuple[dict, type]:
    """The official schema and a draft-07 validator class read the way the language server reads."""
    schema_file = shared_path("reference", "azure-pipelines-schema", "service-schema.json")
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    # _schema_errors checks steps one by one; that is exact only while this holds.
    assert schema["definitions"]["steps"]["items"] == {"$ref": "#/definitions/step"}
    base = jsonschema.Draft7Validator
    checker = base.TYPE_CHECKER.redefine_many(
        {
            "string": lambda _, value: isinstance(value, str),
            "boolean": lambda _, value: (
                isinstance(value, str) and (value.lower() in BOOLEAN_WORDS or _is_expression(value))
            ),
            "number": lambda _, value: (
                isinstance(value, str) and (bool(NUMBER.match(value)) or _is_expression(value))
            ),
            "integer": lambda _, value: (
                isinstance(value, str) and (value.lstrip("+-").isdigit() or _is_expression(value))
            ),
        }
    )
    validator_class = jsonschema.validators.extend(
        base, validators={"firstProperty": _first_property}, type_checker=checker
    )
    return schema, validator_class


@cache
def _validator(definition: str | None = None, index: int | None = None):
    """A validator for the whole schema, or for one definition (or one of its anyOf branches)."""
    schema, validator_class = _schema()
    if definition is None:
        return validator_class(schema)
    target = schema["definitions"][definition]
    if index is not None:
        target = target["anyOf"][index]
    return validator_class({**target, "definitions": schema["definitions"]})


def _deepest(errors) -> jsonschema.ValidationError | None:
    """The most specific failure: the leaf error with the longest path."""
    leaves, pending = [], list(errors)
    while pending:
        error = pending.pop()
        if error.context:
            pending.extend(error.context)
        else:
            leaves.append(error)
    return max(leaves, key=lambda error: len(error.absolute_path), default=None)


def _describe(prefix: str, error: jsonschema.ValidationError) -> str:
    where = "/".join([prefix, *map(str, error.absolute_path)]).strip("/") or "(top level)"
    return f"schema: {where}: {error.message[:200]}"


@cache
def _step_problem(serialised: str) -> str | None:
    """Why one step is invalid, judged by the branch its first key selects (as the server does)."""
    step = json.loads(serialised)
    if _validator("step").is_valid(step):
        return None
    schema, _ = _schema()
    first = next(iter(step), None) if isinstance(step, dict) else None
    if first == "task":
        branches = [
            index
            for index, branch in enumerate(schema["definitions"]["task"]["anyOf"])
            if re.fullmatch(branch["properties"]["task"]["pattern"].strip("^$"), step["task"])
        ]
        if not branches:
            return f"unknown task {step['task']!r}"
        common = {key: value for key, value in step.items() if key not in ("task", "inputs")}
        error = _deepest(_validator("task", branches[0]).iter_errors(step)) or _deepest(
            _validator("taskBase").iter_errors(common)
        )
        return _describe("", error) if error else "invalid task step"
    for index, branch in enumerate(schema["definitions"]["step"]["anyOf"]):
        if first in branch.get("firstProperty", ()):
            error = _deepest(_validator("step", index).iter_errors(step))
            return _describe("", error) if error else "invalid step"
    return f"a step cannot start with {first!r}"


@cache
def _schema_errors(serialised: str) -> tuple[str, ...]:
    document = json.loads(serialised)
    # The schema reaches steps only through #/definitions/steps (items: #/definitions/step), so
    # a document is valid exactly when each step is valid and the rest is valid with no steps.
    # Checking them apart lets identical steps (shared templates) be judged once, and names the
    # failing step instead of a vague failure of every top-level anyOf branch.
    steps = document.get("steps") if isinstance(document.get("steps"), list) else None
    problems = []
    for index, step in enumerate(steps or []):
        problem = _step_problem(json.dumps(step))
        if problem:
            problems.append(f"schema: steps/{index}: {problem.removeprefix('schema: ')}")
    rest = {**document, "steps": []} if steps is not None else document
    if not _validator().is_valid(rest):
        problems.append(_describe("", _deepest(_validator().iter_errors(rest))))
    return tuple(problems)


def schema_errors(document: dict) -> list[str]:
    """Why ``document`` is not a valid pipeline or template per the official schema."""
    return list(_schema_errors(json.dumps(document)))


# --- compile-time expansion of templates -----------------------------------------------------


def _check_parameter(where: str, declared: dict, value) -> None:
    kind = declared.get("type", "string")
    if kind == "number" and not (isinstance(value, str) and NUMBER.match(value)):
        raise PipelineError(f"{where}: {declared['name']} must be a number, not {value!r}")
    if kind == "boolean" and not (isinstance(value, str) and value.lower() in ("true", "false")):
        raise PipelineError(f"{where}: {declared['name']} must be true or false, not {value!r}")
    if kind == "string" and not isinstance(value, str):
        raise PipelineError(f"{where}: {declared['name']} must be a string")
    if "values" in declared and value not in declared["values"]:
        raise PipelineError(
            f"{where}: {declared['name']}={value!r} is not one of {declared['values']}"
        )


def _bind_parameters(where: str, declarations, given: dict) -> dict:
    declarations = declarations or []
    if not isinstance(declarations, list):
        raise PipelineError(f"{where}: declare parameters as a typed list")
    names = {declared["name"] for declared in declarations}
    unknown = sorted(set(given) - names)
    if unknown:
        raise PipelineError(f"{where}: unknown parameters {unknown} (declared: {sorted(names)})")
    bound = {}
    for declared in declarations:
        name = declared["name"]
        if name in given:
            value = given[name]
        elif "default" in declared:
            value = declared["default"]
        else:
            raise PipelineError(f"{where}: parameter {name!r} has no value and no default")
        _check_parameter(where, declared, value)
        bound[name] = value
    return bound


def _substitute(where: str, node, parameters: dict):
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if "${{" in key:
                raise PipelineError(f"{where}: unsupported template expression in key {key!r}")
            out[key] = _substitute(where, value, parameters)
        return out
    if isinstance(node, list):
        return [_substitute(where, item, parameters) for item in node]

    def replace(match: re.Match) -> str:
        if match.group(1) not in parameters:
            raise PipelineError(f"{where}: ${{{{ parameters.{match.group(1)} }}}} is undeclared")
        return str(parameters[match.group(1)])

    result = PARAMETER_REF.sub(replace, node)
    if "${{" in result:
        raise PipelineError(f"{where}: unsupported template expression in {node!r}")
    return result


def _expand_steps(steps, including_file: Path, depth: int) -> list:
    if not isinstance(steps, list):
        raise PipelineError(f"{including_file.name}: steps must be a list")
    expanded = []
    for step in steps:
        if isinstance(step, dict) and "template" in step:
            expanded.extend(_expand_template(step, including_file, depth))
        else:
            expanded.append(step)
    return expanded


def _expand_template(reference: dict, including_file: Path, depth: int) -> list:
    if depth > 10:
        raise PipelineError(f"{including_file.name}: templates nest more than 10 deep")
    if "@" in reference["template"]:
        raise PipelineError(f"{including_file.name}: templates from other repositories")
    path = (including_file.parent / reference["template"]).resolve()
    if not path.is_file():
        raise PipelineError(f"{including_file.name}: template {reference['template']} is missing")
    template = load_yaml(path)
    extra = sorted(set(template) - {"parameters", "steps"})
    if extra:
        raise PipelineError(
            f"{path.name}: a steps template holds only parameters and steps: {extra}"
        )
    parameters = _bind_parameters(
        path.name, template.get("parameters"), reference.get("parameters") or {}
    )
    steps = _substitute(path.name, template.get("steps", []), parameters)
    return _expand_steps(steps, path, depth + 1)


def expand_pipeline(path: Path) -> dict:
    """The pipeline as Azure would compile it for a run with the runtime parameters' defaults."""
    pipeline = load_yaml(path)
    declarations = pipeline.get("parameters") or []
    for declared in declarations:
        if "default" not in declared:
            raise PipelineError(
                f"{path.name}: runtime parameter {declared['name']!r} needs a default "
                "(CI and completion-triggered runs cannot supply one)"
            )
    parameters = _bind_parameters(path.name, declarations, {})
    body = {key: value for key, value in pipeline.items() if key != "parameters"}
    body = _substitute(path.name, body, parameters)
    body["steps"] = _expand_steps(body.get("steps", []), path, 0)
    return body


# --- the contract ----------------------------------------------------------------------------


def script_of(step: dict) -> str | None:
    """The shell text a step runs, whatever the step's form."""
    for key in ("script", "bash"):
        if key in step:
            return step[key]
    inputs = step.get("inputs") or {}
    if step.get("task") == "Bash@3":
        return inputs.get("script")
    if step.get("task") == "AzureCLI@2":
        return inputs.get("inlineScript")
    return None


def _command_lines(script: str) -> list[str]:
    """Logical lines of a shell script: backslash continuations joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", script)
    return [
        line for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]


def _commands(script: str, program: str) -> list[list[str]]:
    """The argument lists of every simple command in ``script`` that runs ``program``."""
    found = []
    for line in _command_lines(script):
        for part in re.split(r"\|\||&&|[|;]", line):
            try:
                words = shlex.split(part)
            except ValueError:
                continue
            if words[: len(program.split())] == program.split():
                found.append(words)
    return found


def _option(words: list[str], *names: str) -> str | None:
    for index, word in enumerate(words):
        for name in names:
            if word == name and index + 1 < len(words):
                return words[index + 1]
            if word.startswith(name + "="):
                return word.split("=", 1)[1]
    return None


def _variables(pipeline: dict) -> tuple[list, dict]:
    entries = pipeline.get("variables") or []
    if not isinstance(entries, list):
        return [], {}
    values = {entry["name"]: entry.get("value") for entry in entries if "name" in entry}
    return entries, values


def _walk(node, path=()):
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, (*path, index))


def secret_violations(pipeline: dict) -> list[str]:
    """ACR_PASSWORD reaches only a docker-login step, through env:, and only its stdin."""
    problems = []
    steps = pipeline.get("steps") or []
    for path, value in _walk(pipeline):
        if not (isinstance(value, str) and PASSWORD_VARIABLE.search(value)):
            continue
        in_env = len(path) == 4 and path[0] == "steps" and path[2] == "env"
        script = script_of(steps[path[1]]) if in_env else None
        if not (in_env and script and _commands(script, "docker login")):
            where = "/".join(map(str, path))
            problems.append(f"ACR_PASSWORD at {where}: map it only into the docker login env")
    for index, step in enumerate(steps):
        script = script_of(step) or ""
        for line in _command_lines(script):
            if PASSWORD_EXPANSION.search(line) and not (
                PASSWORD_PIPED_TO_LOGIN.match(line) or PASSWORD_TESTED.match(line)
            ):
                problems.append(f"step {index}: ACR_PASSWORD on a command line: {line.strip()}")
        for words in _commands(script, "docker login"):
            if "--password-stdin" not in words or _option(words, "-p", "--password") is not None:
                problems.append(f"step {index}: docker login without --password-stdin")
        if PASSWORD_EXPANSION.search(script) and re.search(r"set\s+(-\w*x|-o\s+xtrace)", script):
            problems.append(f"step {index}: xtrace would print the password's command line")
    return problems


def _variable_violations(model: str, pipeline: dict) -> list[str]:
    problems = []
    entries, values = _variables(pipeline)
    groups = [i for i, entry in enumerate(entries) if entry.get("group") == "shared-variables"]
    if not groups:
        problems.append("variables: the shared-variables group is not referenced")
    expected = {
        "AZML_MODEL": model,
        "AZML_SCRIPT": f"scikit-{model}.py",
        "AZML_EXPERIMENT": None,
        "AZML_DATAPATH": None,
    }
    for name, value in expected.items():
        if not values.get(name):
            problems.append(f"variables: {name} is not set")
        elif value is not None and values[name] != value:
            problems.append(f"variables: {name} is {values[name]!r}, expected {value!r}")
        elif groups:
            position = next(i for i, entry in enumerate(entries) if entry.get("name") == name)
            if position < groups[-1]:
                problems.append(f"variables: {name} comes before the group, which would win")
    return problems


def _python_violations(steps: list, cli_at: int | None) -> list[str]:
    problems = []
    python_at = next(
        (i for i, s in enumerate(steps) if s.get("task") == "UsePythonVersion@0"), None
    )
    if python_at is None:
        problems.append("no UsePythonVersion@0 step")
    else:
        spec = (steps[python_at].get("inputs") or {}).get("versionSpec", "")
        version = tuple(int(part) for part in re.findall(r"\d+", spec)[:2])
        if len(version) < 2 or version < OLDEST_PYTHON:
            problems.append(
                f"UsePythonVersion@0 versionSpec {spec!r} is older than {OLDEST_PYTHON}"
            )
    install = re.compile(r"pip\s+install\b.*(-r|--requirement)[\s=]+aml/requirements\.txt\b")
    install_at = next((i for i, s in enumerate(steps) if install.search(script_of(s) or "")), None)
    if install_at is None:
        problems.append("aml/requirements.txt is not installed")
    elif python_at is not None and install_at < python_at:
        problems.append("aml/requirements.txt is installed before Python is selected")
    elif cli_at is not None and install_at > cli_at:
        problems.append("aml/requirements.txt is installed after the AML script runs")
    return problems


def _trigger_violations(model: str, kind: str, trigger) -> list[str]:
    if kind == "data-load":
        return [] if trigger == "none" else ["trigger: a data-load pipeline has no trigger (none)"]
    problems = []
    filters = trigger if isinstance(trigger, dict) else {}
    branches = (filters.get("branches") or {}).get("include")
    if branches != ["main"]:
        problems.append(f"trigger: CI on main only, found branches {branches}")
    if kind == "training":
        expected = {
            f"training/scikit-{model}.py",
            f"pipelines/{model}-training.yml",
            "aml/run-training.py",
        }
    else:
        expected = {"model-api", f"pipelines/{model}-build-api.yml"}
    paths = set((filters.get("paths") or {}).get("include") or [])
    if paths != expected:
        problems.append(f"trigger: path filters {sorted(paths)}, expected {sorted(expected)}")
    return problems


def _fetch_violations(model: str, steps: list, upload_at: int, variables: dict) -> list[str]:
    url_variable = f"{model.upper()}_DATA_URL"
    fetches = [
        i
        for i, step in enumerate(steps[:upload_at])
        for words in _commands(script_of(step) or "", "curl")
        if f"${url_variable}" in words or f"$({url_variable})" in words
    ]
    if not fetches:
        return [f"no curl of ${url_variable} before the upload"]
    if f"data/{model}" not in script_of(steps[fetches[0]]):
        return [f"the fetched data does not go to data/{model}"]
    if not variables.get(url_variable, "https://").startswith("https://"):
        return [f"variables: the {url_variable} default must be an https URL"]
    return []


def _image_violations(steps: list, fetch_at: int) -> list[str]:
    def where(program: str) -> list[tuple[int, list[str]]]:
        return [
            (i, words)
            for i, s in enumerate(steps)
            for words in _commands(script_of(s) or "", program)
        ]

    found = {program: where(f"docker {program}") for program in ("build", "login", "push")}
    if any(len(commands) != 1 for commands in found.values()):
        counts = {program: len(commands) for program, commands in found.items()}
        return [f"expected one docker build, login and push; found {counts}"]
    (build_at, build), (login_at, login), (push_at, push) = (found[p][0] for p in found)
    problems = []
    if _option(build, "--tag", "-t") != IMAGE:
        problems.append(f"docker build --tag {_option(build, '--tag', '-t')!r}, expected {IMAGE}")
    build_args = [word for before, word in itertools.pairwise(build) if before == "--build-arg"]
    if "MODEL_VERSION=$(AZML_MODEL_VER)" not in build_args:
        problems.append("docker build lacks --build-arg MODEL_VERSION=$(AZML_MODEL_VER)")
    if build[-1].rstrip("/") != "model-api":
        problems.append(f"docker build context {build[-1]!r}, expected model-api/")
    if push[-1] != IMAGE:
        problems.append(f"docker push {push[-1]!r}, expected {IMAGE}")
    if _option(login, "--username", "-u") != "$(ACR_NAME)" or "$(ACR_NAME).azurecr.io" not in login:
        problems.append("docker login must sign in to $(ACR_NAME).azurecr.io as $(ACR_NAME)")
    if (steps[login_at].get("env") or {}).get("ACR_PASSWORD") != "$(ACR_PASSWORD)":
        problems.append("the docker login step must map ACR_PASSWORD: $(ACR_PASSWORD) in env:")
    if not fetch_at < build_at < push_at or not login_at < push_at:
        problems.append("order must be fetch-model, docker build, docker login, docker push")
    return problems


def contract_violations(file_name: str, pipeline: dict) -> list[str]:
    """What in an expanded pipeline breaks the contract of issue 3; empty when it keeps it."""
    model, kind = re.fullmatch(r"([a-z]+)-(data-load|training|build-api)\.yml", file_name).groups()
    steps = pipeline.get("steps") or []
    problems = _variable_violations(model, pipeline) + secret_violations(pipeline)
    problems += _trigger_violations(model, kind, pipeline.get("trigger"))
    if (pipeline.get("pool") or {}).get("vmImage") != "ubuntu-latest":
        problems.append("pool: vmImage must be ubuntu-latest")
    if pipeline.get("pr") != "none":
        problems.append("pr: must be none")
    if (pipeline.get("resources") or {}).get("pipelines"):
        problems.append("resources.pipelines: double-triggers with bootstrap's completion trigger")
    problems += [
        f"task {step['task']} is not a current version ({sorted(CURRENT_TASKS)})"
        for step in steps
        if "task" in step and step["task"] not in CURRENT_TASKS
    ]

    cli_steps = [i for i, s in enumerate(steps) if s.get("task") == "AzureCLI@2"]
    problems += _python_violations(steps, cli_steps[0] if cli_steps else None)
    if len(cli_steps) != 1:
        return [*problems, f"expected one AzureCLI@2 step, found {len(cli_steps)}"]
    cli_at = cli_steps[0]
    inputs = steps[cli_at].get("inputs") or {}
    if inputs.get("azureSubscription") != SERVICE_CONNECTION:
        problems.append(f"AzureCLI@2 azureSubscription must be {SERVICE_CONNECTION}")
    if inputs.get("scriptType") != "bash" or inputs.get("scriptLocation") != "inlineScript":
        problems.append("AzureCLI@2 must run an inline bash script")
    commands = _commands(inputs.get("inlineScript", ""), "python")
    script = f"aml/{AML_SCRIPT_OF_KIND[kind]}"
    if len(commands) != 1 or commands[0][1:2] != [script]:
        return [*problems, f"AzureCLI@2 must run python {script}: {inputs.get('inlineScript')!r}"]
    arguments = commands[0][2:]

    if kind == "data-load":
        if arguments != ["--data-dir", f"data/{model}"]:
            problems.append(
                f"upload-data.py arguments {arguments}, expected --data-dir data/{model}"
            )
        problems += _fetch_violations(model, steps, cli_at, _variables(pipeline)[1])
    elif kind == "training":
        if arguments and not re.fullmatch(r"--estimators \d+", " ".join(arguments)):
            problems.append(f"run-training.py arguments {arguments}, expected [--estimators N]")
    else:
        if arguments != ["--output-path", "model-api/model"]:
            problems.append(
                f"fetch-model.py arguments {arguments}, expected --output-path model-api/model"
            )
        problems += _image_violations(steps, cli_at)
    return problems


def check_tree(root: Path, *, schema: bool = True) -> dict[str, list[str]]:
    """Every problem of every file under ``root`` (a copy of ``pipelines/``), by file.

    ``schema=False`` leaves out the schema checks (and so needs no ``../shared``).
    """
    validate = schema_errors if schema else lambda _document: []
    report = {}
    for name in PIPELINE_FILES:
        try:
            raw = load_yaml(root / name)
            pipeline = expand_pipeline(root / name)
        except PipelineError as error:
            report[name] = [str(error)]
            continue
        report[name] = validate(raw) + validate(pipeline) + contract_violations(name, pipeline)
    for template in sorted((root / "templates").glob("*.yml")):
        try:
            document = load_yaml(template)
        except PipelineError as error:
            report[f"templates/{template.name}"] = [str(error)]
            continue
        problems = validate(document)
        problems += [
            f"a template must not declare {key}"
            for key in ("trigger", "pr", "resources")
            if key in document
        ]
        report[f"templates/{template.name}"] = problems
    return report


# --- tests -----------------------------------------------------------------------------------


@pytest.fixture
def pipelines_copy(tmp_path: Path) -> Path:
    """A scratch copy of pipelines/ to break on purpose."""
    copy = tmp_path / "pipelines"
    shutil.copytree(PIPELINES_DIR, copy)
    return copy


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}: the mutation no longer applies"
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_pipelines_files_exist_exactly_six_and_templates():
    found = sorted(path.name for path in PIPELINES_DIR.glob("*.yml"))
    assert found == sorted(PIPELINE_FILES)


def test_pipelines_templates_are_each_used():
    templates = {path.name for path in (PIPELINES_DIR / "templates").glob("*.yml")}
    used = {
        Path(step["template"]).name
        for path in PIPELINES_DIR.rglob("*.yml")
        for step in load_yaml(path).get("steps", [])
        if "template" in step
    }
    assert templates
    assert used == templates


@pytest.mark.parametrize(
    "path", sorted((PIPELINES_DIR / "templates").glob("*.yml")), ids=lambda p: p.name
)
def test_pipelines_templates_use_every_parameter_they_declare(path):
    template = load_yaml(path)
    text = json.dumps(template.get("steps"))
    unused = [
        declared["name"]
        for declared in template.get("parameters") or []
        if not re.search(rf"\$\{{\{{\s*parameters\.{declared['name']}\s*\}}\}}", text)
    ]
    assert unused == []


@pytest.mark.parametrize(
    "relative",
    [
        *PIPELINE_FILES,
        *(f"templates/{p.name}" for p in sorted((PIPELINES_DIR / "templates").glob("*.yml"))),
    ],
)
def test_pipelines_schema_validate_accepts_file(relative):
    assert schema_errors(load_yaml(PIPELINES_DIR / relative)) == []


@pytest.mark.parametrize("name", PIPELINE_FILES)
def test_pipelines_expand_schema_accepts_expanded_pipeline(name):
    assert schema_errors(expand_pipeline(PIPELINES_DIR / name)) == []


@pytest.mark.parametrize("name", PIPELINE_FILES)
def test_pipelines_contract_check_finds_no_violation(name):
    assert contract_violations(name, expand_pipeline(PIPELINES_DIR / name)) == []


def test_pipelines_check_tree_reports_nothing_for_the_repository():
    report = check_tree(PIPELINES_DIR)
    assert len(report) == len(PIPELINE_FILES) + len(
        list((PIPELINES_DIR / "templates").glob("*.yml"))
    )
    assert report == {name: [] for name in report}


@pytest.mark.parametrize("model", MODELS)
def test_pipelines_variables_agree_across_a_models_three_pipelines(model):
    seen = {
        kind: {
            k: v
            for k, v in _variables(load_yaml(PIPELINES_DIR / f"{model}-{kind}.yml"))[1].items()
            if k.startswith("AZML_")
        }
        for kind in KINDS
    }
    assert seen["data-load"] == seen["training"] == seen["build-api"]
    assert set(seen["training"]) == {
        "AZML_MODEL",
        "AZML_EXPERIMENT",
        "AZML_DATAPATH",
        "AZML_SCRIPT",
    }


def test_pipelines_build_api_expands_to_the_documented_image_steps():
    steps = expand_pipeline(PIPELINES_DIR / "titanic-build-api.yml")["steps"]
    scripts = [script_of(step) or step.get("task") for step in steps]
    assert scripts[0] == "UsePythonVersion@0"
    assert "python aml/fetch-model.py --output-path model-api/model" in scripts
    login = next(step for step in steps if "docker login" in (script_of(step) or ""))
    assert login["env"] == {"ACR_PASSWORD": "$(ACR_PASSWORD)"}
    assert "--password-stdin" in login["script"]


def test_pipelines_training_runtime_parameter_reaches_the_command_line():
    steps = expand_pipeline(PIPELINES_DIR / "batcomputer-training.yml")["steps"]
    cli = next(step for step in steps if step.get("task") == "AzureCLI@2")
    assert cli["inputs"]["inlineScript"] == "python aml/run-training.py --estimators 100"
    assert cli["inputs"]["keepAzSessionActive"] == "true"


BROKEN_COPIES = {
    "group dropped": (
        "titanic-training.yml",
        "  - group: shared-variables\n",
        "",
        "shared-variables group is not referenced",
    ),
    "service connection hard-coded": (
        "templates/run-aml-script.yml",
        "azureSubscription: $(AZURE_SVC_CONNECTION)",
        "azureSubscription: my-connection",
        "azureSubscription must be $(AZURE_SVC_CONNECTION)",
    ),
    "password as an argument": (
        "templates/docker-build-push.yml",
        "--password-stdin",
        '--password "$ACR_PASSWORD"',
        "ACR_PASSWORD on a command line",
    ),
    "password macro in the script": (
        "templates/docker-build-push.yml",
        """printf '%s' "$ACR_PASSWORD" |""",
        "printf '%s' '$(ACR_PASSWORD)' |",
        "map it only into the docker login env",
    ),
    "password in the build step's env": (
        "templates/docker-build-push.yml",
        "    displayName: Build the API image\n",
        "    displayName: Build the API image\n    env:\n      ACR_PASSWORD: $(ACR_PASSWORD)\n",
        "map it only into the docker login env",
    ),
    "password not mapped": (
        "templates/docker-build-push.yml",
        "    env:\n      ACR_PASSWORD: $(ACR_PASSWORD)\n",
        "",
        "must map ACR_PASSWORD",
    ),
    "xtrace in the login step": (
        "templates/docker-build-push.yml",
        "set -euo pipefail\n      # A secret",
        "set -euxo pipefail\n      # A secret",
        "xtrace would print",
    ),
    "image tag without the version": (
        "templates/docker-build-push.yml",
        "--tag $(ACR_NAME).azurecr.io/${{ parameters.imageRepository }}:$(AZML_MODEL_VER)",
        "--tag $(ACR_NAME).azurecr.io/${{ parameters.imageRepository }}:latest",
        "docker build --tag",
    ),
    "completion trigger in YAML": (
        "titanic-build-api.yml",
        "pr: none\n",
        "pr: none\nresources:\n  pipelines:\n    - pipeline: training\n"
        "      source: titanic-training\n      trigger: true\n",
        "double-triggers",
    ),
    "training path filter missing": (
        "batcomputer-training.yml",
        "      - aml/run-training.py\n",
        "",
        "path filters",
    ),
    "data-load triggered by CI": (
        "titanic-data-load.yml",
        "trigger: none",
        "trigger:\n  - main",
        "has no trigger",
    ),
    "wrong AML script": (
        "batcomputer-data-load.yml",
        "script: upload-data.py",
        "script: fetch-model.py",
        "must run python aml/upload-data.py",
    ),
    "requirements not installed": (
        "templates/setup-python.yml",
        "--requirement aml/requirements.txt",
        "azure-ai-ml",
        "aml/requirements.txt is not installed",
    ),
    "old Python": (
        "templates/setup-python.yml",
        'default: "3.12"',
        'default: "3.8"',
        "older than",
    ),
    "old task version": (
        "templates/run-aml-script.yml",
        "task: AzureCLI@2",
        "task: AzureCLI@1",
        "not a current version",
    ),
    "model variable before the group": (
        "titanic-build-api.yml",
        "  - group: shared-variables\n  - name: AZML_MODEL\n    value: titanic\n",
        "  - name: AZML_MODEL\n    value: titanic\n  - group: shared-variables\n",
        "comes before the group",
    ),
    "template parameter outside its values": (
        "titanic-training.yml",
        "script: run-training.py",
        "script: train.py",
        "is not one of",
    ),
    "unknown template parameter": (
        "titanic-data-load.yml",
        "      displayName: Upload the data to the workspace\n",
        "      displayName: Upload the data to the workspace\n      dataDir: data\n",
        "unknown parameters ['dataDir']",
    ),
    "undeclared parameter reference": (
        "templates/run-aml-script.yml",
        "${{ parameters.arguments }}",
        "${{ parameters.args }}",
        "is undeclared",
    ),
    "conditional insertion": (
        "templates/run-aml-script.yml",
        "      keepAzSessionActive: ${{ parameters.keepAzSessionActive }}\n",
        "      ${{ if parameters.keepAzSessionActive }}:\n        keepAzSessionActive: true\n",
        "unsupported template expression",
    ),
    "duplicate key": (
        "titanic-training.yml",
        "pr: none\n",
        "pr: none\npr: none\n",
        "duplicate key 'pr'",
    ),
    "misspelled step key": (
        "titanic-data-load.yml",
        "  - script: |\n",
        "  - scirpt: |\n",
        "schema: steps/0",
    ),
    "task input the task does not have": (
        "templates/run-aml-script.yml",
        "      scriptType: bash\n",
        "      scriptType: bash\n      pythonVersion: '3.12'\n",
        "schema: steps/0",
    ),
    "displayName before task": (
        "templates/setup-python.yml",
        "  - task: UsePythonVersion@0\n"
        "    displayName: Use Python ${{ parameters.pythonVersion }}\n",
        "  - displayName: Use Python ${{ parameters.pythonVersion }}\n"
        "    task: UsePythonVersion@0\n",
        "schema: steps/0",
    ),
    "misspelled trigger key": (
        "titanic-build-api.yml",
        "  paths:\n",
        "  pathz:\n",
        "schema:",
    ),
}


@pytest.mark.parametrize("mutation", BROKEN_COPIES, ids=list(BROKEN_COPIES))
def test_pipelines_check_tree_rejects_broken_copy(pipelines_copy, mutation):
    relative, old, new, expected = BROKEN_COPIES[mutation]
    _edit(pipelines_copy / relative, old, new)
    report = check_tree(pipelines_copy, schema=expected.startswith("schema:"))
    problems = [problem for found in report.values() for problem in found]
    assert any(expected in problem for problem in problems), problems


def test_pipelines_schema_rejects_a_wrong_input_type(pipelines_copy):
    _edit(
        pipelines_copy / "templates/run-aml-script.yml",
        "keepAzSessionActive: ${{ parameters.keepAzSessionActive }}",
        "keepAzSessionActive: sometimes",
    )
    assert schema_errors(load_yaml(pipelines_copy / "templates/run-aml-script.yml"))


# --- the image steps, run as the agent runs them ---------------------------------------------

FAKE_DOCKER = """#!/usr/bin/env bash
# Records each call: its arguments (NUL-separated) and, for a login, what arrived on stdin.
call="$FAKE_DOCKER_LOG/$(ls "$FAKE_DOCKER_LOG" | grep -c argv)"
printf '%s\\0' "$@" > "$call.argv"
if [[ "$1" == login ]]; then cat > "$call.stdin"; fi
"""


def _expand_macros(text: str, variables: dict[str, str]) -> str:
    """The agent's macro expansion: $(name) of a defined variable is replaced, others stay."""
    return re.sub(
        r"\$\(([A-Za-z0-9_.-]+)\)",
        lambda match: variables.get(match.group(1), match.group(0)),
        text,
    )


def _run_image_steps(tmp_path: Path, variables: dict[str, str]) -> tuple[list, list[dict]]:
    """Run the docker steps of titanic-build-api with a recording docker on PATH.

    As on the agent: a step after a failed one runs only when its condition is always().
    """
    bin_dir, log = tmp_path / "bin", tmp_path / "calls"
    bin_dir.mkdir()
    log.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER, encoding="utf-8")
    (bin_dir / "docker").chmod(0o755)
    steps = [
        step
        for step in expand_pipeline(PIPELINES_DIR / "titanic-build-api.yml")["steps"]
        if "docker " in (script_of(step) or "")
    ]
    results = []
    for step in steps:
        if any(result["returncode"] for result in results) and step.get("condition") != "always()":
            continue
        environ = {
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "FAKE_DOCKER_LOG": str(log),
            **{
                name.upper().replace(".", "_"): value
                for name, value in variables.items()
                if name != "ACR_PASSWORD"  # secrets reach a step only through env:
            },
            **{
                name: _expand_macros(value, variables)
                for name, value in (step.get("env") or {}).items()
            },
        }
        script = tmp_path / "step.sh"
        script.write_text(_expand_macros(script_of(step), variables), encoding="utf-8")
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", str(script)],
            env=environ,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        results.append({"returncode": done.returncode, "stdout": done.stdout})
    calls = []
    for argv in sorted(log.glob("*.argv"), key=lambda path: int(path.stem)):
        stdin = argv.with_suffix(".stdin")
        calls.append(
            {
                "argv": argv.read_text(encoding="utf-8").split("\0")[:-1],
                "stdin": stdin.read_text(encoding="utf-8") if stdin.exists() else None,
            }
        )
    return calls, results


IMAGE_VARIABLES = {
    "ACR_NAME": "mlopsregistry",
    "AZML_MODEL": "titanic",
    "AZML_MODEL_VER": "7",
}


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash to run the steps' scripts")
def test_pipelines_image_steps_build_login_push_with_password_on_stdin_only(tmp_path):
    password = "pa55-w0rd with spaces & $(symbols)"
    calls, results = _run_image_steps(tmp_path, {**IMAGE_VARIABLES, "ACR_PASSWORD": password})

    assert [result["returncode"] for result in results] == [0, 0, 0, 0]
    image = "mlopsregistry.azurecr.io/titanic-api:7"
    assert [call["argv"] for call in calls] == [
        ["build", "--build-arg", "MODEL_VERSION=7", "--tag", image, "model-api/"],
        ["login", "mlopsregistry.azurecr.io", "--username", "mlopsregistry", "--password-stdin"],
        ["push", image],
        ["logout", "mlopsregistry.azurecr.io"],
    ]
    assert calls[1]["stdin"] == password
    assert all(password not in " ".join(call["argv"]) for call in calls)


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash to run the steps' scripts")
@pytest.mark.parametrize("secret", [None, ""], ids=["undefined", "empty"])
def test_pipelines_image_steps_login_without_password_fails_clearly(tmp_path, secret):
    variables = dict(IMAGE_VARIABLES)
    if secret is not None:
        variables["ACR_PASSWORD"] = secret
    calls, results = _run_image_steps(tmp_path, variables)

    login = results[1]
    assert login["returncode"] == 1
    assert "##vso[task.logissue type=error]ACR_PASSWORD has no value" in login["stdout"]
    assert "bootstrap vars set ACR_PASSWORD" in login["stdout"]
    assert len(results) == 3  # build, login, logout: no push after a failed login
    assert [call["argv"][0] for call in calls] == ["build", "logout"]


# --- the AML scripts accept what the pipelines pass ------------------------------------------


def test_pipelines_installed_requirements_name_the_azure_ml_sdk_and_cli_credential():
    """What every pipeline installs brings SDK v2 and the credential that uses the CLI login."""
    lines = (REPO_ROOT / "aml" / "requirements.txt").read_text(encoding="utf-8").splitlines()
    names = {re.split(r"[<>=!~\[;\s]", line.strip(), maxsplit=1)[0].lower() for line in lines}
    assert {"azure-ai-ml", "azure-identity"} <= names


@pytest.mark.parametrize("name", PIPELINE_FILES)
def test_pipelines_aml_script_accepts_the_pipeline_arguments(tmp_path, name):
    """The pipeline's AML command line parses with the real script.

    The scripts read their AZML_* variables only after parsing the command line, and report a
    missing one on one line with exit code 2 (issue 5), so running the command with no AZML_*
    variables at all ends in that error exactly when argparse accepted the arguments, and
    before anything touches a workspace.
    """
    pipeline = expand_pipeline(PIPELINES_DIR / name)
    cli = next(step for step in pipeline["steps"] if step.get("task") == "AzureCLI@2")
    [command] = _commands(cli["inputs"]["inlineScript"], "python")
    environ = {"PATH": "/usr/bin:/bin", "AZML_BACKEND": "local", "AZML_LOCAL_ROOT": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / command[1]), *command[2:]],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "usage:" not in done.stderr, done.stderr
    assert done.returncode == 2
    assert re.match(r"error: AZML_[A-Z_]+ is not set", done.stderr), done.stderr
