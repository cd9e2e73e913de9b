"""The documentation keeps up with the code.

- docs/reference/<service>.md (ecs, secretsmanager, ssm, ec2, autoscaling) is what
  scripts/gen_reference.py makes now (regenerated in memory);
- every implemented operation has a note, and every note names an implemented operation;
- every `dockyard` command, flag and choice is documented in docs/cli.md, under a heading that
  names the command, and so is every instance type an agent can be;
- every environment variable the code reads is documented (docs/cli.md or docs/operations.md);
- relative links between the docs lead to files that exist.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
CLI_DOC = DOCS / "cli.md"
SETTINGS_DOCS = (DOCS / "cli.md", DOCS / "operations.md")


def _generator() -> ModuleType:
    path = ROOT / "scripts" / "gen_reference.py"
    spec = importlib.util.spec_from_file_location("gen_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the script loads
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    return _generator()


SERVICES = (
    "ecs",
    "secretsmanager",
    "ssm",
    "ec2",
    "autoscaling",
    "elbv2",
    "ecr",
    "ecr-public",
    "application-autoscaling",
    "cloudwatch",
    "logs",
    "acm",
)


def _implemented(gen: ModuleType, service: str) -> set[str]:
    return set(gen.implemented(gen.SERVICES[service])[1])


# -- the API references (one page per served service) ----------------------------------------------


def test_every_served_api_has_a_page(gen: ModuleType) -> None:
    assert set(gen.SERVICES) == set(SERVICES)
    for service in SERVICES:
        assert _implemented(gen, service), f"{service}: no operation is implemented"


@pytest.mark.parametrize("service", SERVICES)
def test_reference_is_up_to_date(gen: ModuleType, service: str) -> None:
    page = gen.SERVICES[service].output
    current = page.read_text() if page.exists() else ""
    assert current == gen.render(service=service), (
        f"docs/reference/{service}.md is out of date: "
        f"run `.venv/bin/python scripts/gen_reference.py {service}`"
    )


@pytest.mark.parametrize("service", SERVICES)
def test_every_implemented_operation_has_a_note(gen: ModuleType, service: str) -> None:
    notes = gen.load_notes(gen.SERVICES[service].notes)
    missing = sorted(name for name in _implemented(gen, service) if not notes.get(name, "").strip())
    assert not missing, (
        f"add a one-line note to docs/reference/{service}-notes.json for: {', '.join(missing)}"
    )


@pytest.mark.parametrize("service", SERVICES)
def test_notes_name_only_implemented_operations(gen: ModuleType, service: str) -> None:
    stale = sorted(set(gen.load_notes(gen.SERVICES[service].notes)) - _implemented(gen, service))
    assert not stale, f"docs/reference/{service}-notes.json has notes for operations not implemented: {stale}"


@pytest.mark.parametrize("service", SERVICES)
def test_notes_are_one_line(gen: ModuleType, service: str) -> None:
    multi = sorted(name for name, note in gen.load_notes(gen.SERVICES[service].notes).items() if "\n" in note)
    assert not multi, f"notes must be one line: {multi}"


# -- the command line ----------------------------------------------------------------------------


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ("dockyard",)
) -> Iterator[tuple[str, list[str]]]:
    """(command path, its flags and positional choices) for the parser and every subcommand."""
    words: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*path, name))
        elif isinstance(action, argparse._HelpAction):
            continue
        elif action.option_strings:
            words += action.option_strings
        elif action.choices:
            words += [str(choice) for choice in action.choices]
    yield " ".join(path), words


def _sections(text: str) -> list[tuple[set[str], str]]:
    """(commands a heading names in backticks, the text up to the next heading of its level or above)."""
    lines = text.splitlines()
    headings = [(i, len(m.group(1))) for i, line in enumerate(lines) if (m := re.match(r"(#+)\s", line))]
    sections = []
    for n, (start, level) in enumerate(headings):
        end = next((i for i, lvl in headings[n + 1 :] if lvl <= level), len(lines))
        named = {" ".join(m.split()) for m in re.findall(r"`(dockyard(?: [a-z-]+)*)`", lines[start])}
        sections.append((named, "\n".join(lines[start:end])))
    return sections


def test_every_cli_command_and_flag_is_documented() -> None:
    from dockyard.cli.main import _parser

    text = CLI_DOC.read_text()
    sections = _sections(text)
    problems = []
    for command, words in _commands(_parser()):
        if f"`{command}" not in text:
            problems.append(f"command `{command}` is not in docs/cli.md")
            continue
        if not words:
            continue
        bodies = [body for named, body in sections if command in named]
        if not bodies:
            problems.append(f"no heading in docs/cli.md names `{command}`")
            continue
        for word in words:
            if not any(re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", body) for body in bodies):
                problems.append(f"`{command}`: {word} is not documented in its section")
    assert not problems, "\n".join(problems)


def test_every_instance_type_is_documented() -> None:
    from dockyard.core.instance_types import INSTANCE_TYPES

    text = CLI_DOC.read_text()
    rows = {
        name: f"| {name} | {t.vcpus} | {t.memory_mib} | {t.cpu_units} | {t.registered_memory_mib} |"
        for name, t in INSTANCE_TYPES.items()
    }
    missing = sorted(name for name, row in rows.items() if row not in text)
    assert not missing, f"docs/cli.md's instance type table lacks or misstates: {missing}"


# -- settings --------------------------------------------------------------------------------------

_ENV_READ = re.compile(r"""os\.(?:environ\.get\(|environ\[|getenv\()\s*["']([A-Z][A-Z0-9_]*)["']""")


def _environment_variables() -> dict[str, str]:
    """Every environment variable the shipped code reads -> the first file reading it."""
    found: dict[str, str] = {}
    source = ROOT / "src" / "dockyard"
    for path in sorted(source.rglob("*.py")):
        if "testing" in path.relative_to(source).parts:
            continue
        for name in _ENV_READ.findall(path.read_text()):
            found.setdefault(name, str(path.relative_to(ROOT)))
    return found


def test_the_scan_finds_settings() -> None:
    assert {"DOCKYARD_PORT", "ECS_CLUSTER", "ECS_IMAGE_PULL_BEHAVIOR"} <= set(_environment_variables())


def test_every_environment_variable_is_documented() -> None:
    docs = "\n".join(path.read_text() for path in SETTINGS_DOCS)
    missing = [
        f"{name} (read in {where})"
        for name, where in sorted(_environment_variables().items())
        if not re.search(rf"\b{name}\b", docs)
    ]
    assert not missing, "document these in docs/cli.md or docs/operations.md:\n" + "\n".join(missing)


# -- links -----------------------------------------------------------------------------------------


def test_relative_links_between_docs_resolve() -> None:
    broken = []
    for doc in sorted(DOCS.rglob("*.md")):
        for target in re.findall(r"\]\(([^)\s]+)\)", doc.read_text()):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            path = (doc.parent / target.split("#", 1)[0]).resolve()
            if not path.exists():
                broken.append(f"{doc.relative_to(ROOT)} -> {target}")
    assert not broken, "broken links:\n" + "\n".join(broken)
