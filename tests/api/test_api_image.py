"""The image's build inputs: the Dockerfile builds from what build-api stages, as a non-root
user with the model version as argument and label; requirements are pinned and complete."""

from __future__ import annotations

import ast
import fnmatch
import importlib.metadata
import re
import sys
import tomllib
from collections import defaultdict

from packaging.requirements import Requirement

from .conftest import MODEL_API


def dockerfile_instructions() -> dict[str, list[str]]:
    """Instruction -> arguments, in order, with line continuations joined."""
    text = (MODEL_API / "Dockerfile").read_text()
    text = re.sub(r"\\\n\s*", " ", text)
    found: dict[str, list[str]] = defaultdict(list)
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, arguments = line.partition(" ")
            found[instruction.upper()].append(arguments.strip())
    return found


def test_dockerfile_is_multi_stage_on_a_slim_python_base():
    instructions = dockerfile_instructions()
    base = next(a for a in instructions["ARG"] if a.startswith("PYTHON_IMAGE="))
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.1[2-9]-slim(-\w+)?", base)
    assert len(instructions["FROM"]) == 2
    assert any("--from=build" in copy for copy in instructions["COPY"])


def test_dockerfile_runs_as_a_non_root_user():
    user = dockerfile_instructions()["USER"][-1]
    assert user.split(":")[0] not in ("root", "0")


def test_dockerfile_takes_the_model_version_as_build_argument_and_label():
    instructions = dockerfile_instructions()
    assert any(a.startswith("MODEL_VERSION") for a in instructions["ARG"])
    assert any("${MODEL_VERSION}" in label for label in instructions["LABEL"])
    assert any("MODEL_VERSION=${MODEL_VERSION}" in env for env in instructions["ENV"])


def test_dockerfile_starts_the_serve_script_with_a_healthcheck():
    instructions = dockerfile_instructions()
    assert instructions["CMD"] == ['["python", "serve"]']
    assert "/readyz" in instructions["HEALTHCHECK"][0]
    assert "curl" not in instructions["HEALTHCHECK"][0]


def test_dockerfile_copies_only_what_the_context_and_dockerignore_provide():
    """Every COPY source (other than the staged model/) exists in model-api/, and the
    whitelist in .dockerignore lets each one, and the staged model/, into the context."""
    ignore = (MODEL_API / ".dockerignore").read_text().splitlines()
    included = [line[1:].rstrip("/") for line in ignore if line.startswith("!")]
    sources = [
        copy.split()[0].rstrip("/")
        for copy in dockerfile_instructions()["COPY"]
        if not copy.startswith("--from")
    ]
    assert "model" in sources
    for source in sources:
        assert any(fnmatch.fnmatch(source, pattern) for pattern in included), source
        if source != "model":
            assert (MODEL_API / source).exists(), source


def test_requirements_are_pinned_and_free_of_azure_ml():
    lines = [
        line
        for line in (MODEL_API / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*", line) for line in lines)
    assert not any(line.lower().startswith(("azure", "azureml", "mlflow")) for line in lines)


def test_requirements_cover_every_import_of_the_app():
    pinned = {
        re.split("==", line)[0].lower().replace("_", "-")
        for line in (MODEL_API / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    }
    distributions = importlib.metadata.packages_distributions()
    sources = [*(MODEL_API / "modelapi").glob("*.py"), MODEL_API / "serve"]
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top == "modelapi":
                    continue
                provided = {d.lower().replace("_", "-") for d in distributions.get(top, [])}
                assert provided & pinned, f"{path.name} imports {top}, not in requirements.txt"


def test_requirements_pin_each_api_extra_package_within_its_lower_bound():
    """pyproject's ``api`` extra (what the tests install) and requirements.txt (what the image
    installs) name the same direct dependencies, and each pin satisfies the extra's bound."""
    pyproject = tomllib.loads((MODEL_API.parent / "pyproject.toml").read_text())
    extra = [Requirement(r) for r in pyproject["project"]["optional-dependencies"]["api"]]
    pins = {}
    for line in (MODEL_API / "requirements.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    for requirement in extra:
        pinned = pins.get(requirement.name.lower().replace("_", "-"))
        assert pinned, f"{requirement.name} is in the api extra but not in requirements.txt"
        assert requirement.specifier.contains(pinned), f"{requirement.name}=={pinned}"
