"""What-if files are data: the raw YAML of the ``scenario`` and ``guardrails`` groups is checked
before Hydra composes anything for a run.

Hydra treats a config file as code in three ways a policy designer's what-if must not use: a
``# @package`` directive moves the file's keys anywhere (``hydra.callbacks.*._target_`` is
instantiated when Hydra starts), a ``_target_`` key names a Python callable, and an interpolation
such as ``${oc.env:TOKEN}`` reads the environment into a report. A ``defaults`` list pulls in other
configs. :func:`check_text` rejects all of them with one line naming the file, the key and what is
allowed; :func:`selected_files` finds the files a composition uses (built-in or on a user search
path), so the check runs on exactly those, and their text goes into each run's provenance.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path

import yaml

from sim.config import ConfigError
from sim.config import check_identifier as check_name

GROUPS = ("scenario", "guardrails")
# the keys a guardrails file may set (its list; sim.config reads it as the top-level `guardrails`)
GUARDRAILS_KEYS = ("guardrails",)
_DIRECTIVE = re.compile(r"^\s*#\s*@package\b", re.MULTILINE)
_RESOLVER = re.compile(r"\$\{\s*([A-Za-z_][\w.]*)\s*:")  # ${oc.env:X}, ${hydra:...}, ${now:...}
_HYDRA_REF = re.compile(r"\$\{\s*\.*hydra\b")  # ${hydra.runtime.cwd}
_RESERVED_KEY = re.compile(r"^_\w+_$")  # _target_, _args_, _partial_, _recursive_, _convert_ ...


class WhatIfError(ConfigError):
    """A what-if file that is not plain data."""


def check_text(group: str, label: str, text: str) -> dict:
    """Check one what-if file of ``group`` ('scenario' or 'guardrails').

    Args:
        group: The config group.
        label: How the file is named in messages (its path).
        text: The file's raw text.

    Returns:
        The parsed mapping.

    Raises:
        WhatIfError: One line naming the file, the key and what is allowed.
    """
    if _DIRECTIVE.search(text):
        raise WhatIfError(f"{label}: a package directive (# @package) is not allowed in a {group} file "
                          f"(a what-if is data; its keys always go under {group})")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        where = getattr(err, "problem_mark", None)
        at = f" (line {where.line + 1})" if where is not None else ""
        raise WhatIfError(f"{label}: not valid YAML{at}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise WhatIfError(f"{label}: must be a mapping of keys, not {type(data).__name__}")
    for key in data:
        if key == "defaults":
            raise WhatIfError(f"{label}: key defaults: a defaults list is not allowed in a {group} file "
                              f"(it would pull in other configs)")
        if str(key) == "hydra" or str(key).startswith("hydra."):
            raise WhatIfError(f"{label}: key {key}: Hydra's own settings are not allowed in a {group} file")
        if group == "guardrails" and key not in GUARDRAILS_KEYS:
            raise WhatIfError(f"{label}: key {key}: unknown key in a guardrails file (allowed: "
                              f"{', '.join(GUARDRAILS_KEYS)})")
    _check_values(label, group, data, "")
    return data


def _check_values(label: str, group: str, node: object, path: str) -> None:
    if isinstance(node, Mapping):
        for key, value in node.items():
            dotted = f"{path}.{key}" if path else str(key)
            name = str(key).rsplit(".", 1)[-1]
            if _RESERVED_KEY.match(name):
                raise WhatIfError(f"{label}: key {dotted}: Hydra's reserved keys ({name}) are not allowed in a "
                                  f"{group} file (a what-if is data, it cannot name Python code)")
            if any(part == "hydra" for part in str(key).split(".")):
                raise WhatIfError(f"{label}: key {dotted}: Hydra's own settings are not allowed in a {group} file")
            _check_values(label, group, value, dotted)
    elif isinstance(node, list | tuple):
        for i, value in enumerate(node):
            _check_values(label, group, value, f"{path}[{i}]")
    elif isinstance(node, str):
        resolver = _RESOLVER.search(node)
        if resolver or _HYDRA_REF.search(node):
            what = f"${{{resolver.group(1)}:...}}" if resolver else "${hydra...}"
            raise WhatIfError(f"{label}: key {path}={node!r}: the interpolation {what} is not allowed in a "
                              f"{group} file (allowed: plain values, or ${{key}} references to other "
                              f"configuration keys)")


def find_file(group: str, option: str, sources: Iterable[Mapping]) -> tuple[str, str] | None:
    """The file Hydra loads for ``group=option``: the first config source that has it.

    Args:
        group: The config group.
        option: The selected option (an identifier).
        sources: Hydra's ``hydra.runtime.config_sources`` (``path``, ``schema``) in search order.

    Returns:
        ``(label, text)`` or None when no file source has it (a structured config).
    """
    name = f"{option}.yaml"
    for source in sources:
        schema, base = source.get("schema"), str(source.get("path") or "")
        if schema == "file":
            path = Path(base) / group / name
            if path.is_file():
                return str(path), path.read_text(encoding="utf-8")
        elif schema == "pkg" and base:
            try:
                res = resources.files(base.replace("/", ".")).joinpath(group, name)
            except (ModuleNotFoundError, ValueError, TypeError):
                continue
            if res.is_file():
                return f"pkg://{base}/{group}/{name}", res.read_text(encoding="utf-8")
    return None


def selected_files(choices: Mapping, sources: Iterable[Mapping]) -> dict[str, dict]:
    """Check the what-if files a composition selected and return them for the provenance.

    Args:
        choices: Hydra's ``hydra.runtime.choices`` (group -> option).
        sources: Hydra's ``hydra.runtime.config_sources``.

    Returns:
        ``{group: {"option", "path", "yaml"}}`` for each group in :data:`GROUPS` that has a file.

    Raises:
        ConfigError: A bad option name or a file that is not plain data.
    """
    sources = list(sources)
    out = {}
    for group in GROUPS:
        option = choices.get(group)
        if option is None:
            continue
        check_name(group, option)
        found = find_file(group, str(option), sources)
        if found is None:
            continue
        label, text = found
        check_text(group, label, text)
        out[group] = {"option": str(option), "path": label, "yaml": text}
    return out


def check_override(override: str) -> None:
    """A command-line override of a what-if group: the option is an identifier and the group keeps its
    package (``scenario@_global_=x`` would move a what-if's keys to the root).

    Raises:
        ConfigError: One line naming the override.
    """
    match = re.match(r"^[+~]*\s*(scenario|guardrails)\s*(@[^=]*)?=(.*)$", override.strip())
    if not match:
        return
    group, package, value = match.groups()
    if package:
        raise ConfigError(f"{override}: a what-if group's package cannot be changed (allowed: {group}=NAME)")
    if value.strip():
        check_name(group, value.strip())
