"""Composing the configuration: Hydra's compose over ``conf/``, the what-if files checked as data, the
typed settings validated, and the cross-checks that need the levers (names and parameters).

Bad input raises ``SystemExit(2)`` with one line naming the key, the value and what is allowed. Only
configuration errors (:func:`config_errors`) are reported that way: any other exception is a bug and
propagates, so the command prints its traceback and exits 1.
"""

from __future__ import annotations


def config_errors() -> tuple[type[Exception], ...]:
    """The exception classes that mean bad configuration input, not a bug.

    Our own :class:`sim.config.ConfigError` (typed settings, levers, what-if files, output folders);
    Hydra's errors about composing (an unknown key or group option, a missing config, a bad search
    path) and parsing overrides; OmegaConf's (a bad interpolation, a value of the wrong type for a
    structured node, a missing mandatory value); and YAML's, for a config file on a user's search
    path that is not valid YAML.
    """
    from hydra.errors import (
        ConfigCompositionException,
        MissingConfigException,
        OverrideParseException,
        SearchPathException,
    )
    from omegaconf.errors import OmegaConfBaseException
    from yaml import YAMLError

    from sim.config import ConfigError

    return (ConfigError, ConfigCompositionException, MissingConfigException, OverrideParseException,
            SearchPathException, OmegaConfBaseException, YAMLError)


def _fail(message: str, code: int = 2) -> None:
    from preflight.outputs import say

    say(f"preflight: error: {message}", error=True)
    raise SystemExit(code)


def compose(overrides: list[str]):
    """Compose and validate the configuration without Hydra's app machinery (for tests and checks).

    The what-if files the composition selects (``scenario``, ``guardrails``) are checked as data
    first (:mod:`preflight.whatif`).

    Returns:
        ``(cfg, settings)``.

    Raises:
        SystemExit(2) with a one-line message on any bad input.
    """
    cfg, settings, _ = compose_with_files(overrides)
    return cfg, settings


def compose_with_files(overrides: list[str]):
    """:func:`compose`, also returning the checked what-if files (``{group: {option, path, yaml}}``)."""
    try:
        cfg, tree, files = compose_tree(overrides)
        return cfg, validate(tree), files
    except config_errors() as err:
        _fail(error_line(err))


def compose_tree(overrides: list[str]):
    """Hydra's composition over ``conf/`` and the what-if file checks, before the typed settings.

    Returns:
        ``(cfg, tree, files)``: the composed config without Hydra's node, it as a resolved plain
        tree, and the checked what-if files.

    Raises:
        One of :func:`config_errors` on bad input (:func:`error_line` words it).
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf, open_dict

    from preflight.whatif import check_override, selected_files

    GlobalHydra.instance().clear()
    try:
        for override in overrides:
            check_override(override)
        with initialize_config_module(config_module="conf", version_base="1.3"):
            cfg = hydra_compose(config_name="config", overrides=overrides, return_hydra_config=True)
        runtime = cfg.hydra.runtime
        files = selected_files(OmegaConf.to_container(runtime.choices), OmegaConf.to_container(runtime.config_sources))
        with open_dict(cfg):
            del cfg["hydra"]
        return cfg, OmegaConf.to_container(cfg, resolve=True), files
    finally:
        GlobalHydra.instance().clear()


def error_line(err: Exception) -> str:
    """One of :func:`config_errors` as the one line the user sees."""
    from sim.config import ConfigError

    return str(err) if isinstance(err, ConfigError) else _one_line(err)


def _one_line(err: Exception) -> str:
    """A Hydra, OmegaConf or YAML error as one line naming the key (or file), the value and what is allowed."""
    mark = getattr(err, "problem_mark", None)
    if mark is not None:  # a YAML file on the search path that does not parse
        return f"{mark.name}: not plain YAML data (line {mark.line + 1}: {getattr(err, 'problem', None) or 'unreadable'})"
    text = " ".join(str(err).split())
    text = text.replace("Set the environment variable HYDRA_FULL_ERROR=1 for a complete stack trace.", "").strip()
    if "Could not override '" in text:
        key = text.split("Could not override '")[1].split("'")[0]
        return f"{key}: unknown key (check the spelling; use +{key}=... only for keys the config allows to add)"
    if "Could not find '" in text:
        # "Could not find 'scenario/nope' Available options in 'scenario': a b c Config search path: ..."
        text = text.replace("In 'config': ", "").split(" Config search path")[0]
        if "Available options in '" in text:
            missing = text.split("Could not find '")[1].split("'")[0]
            group, _, name = missing.rpartition("/")
            options = text.split("Available options in '")[1].split(":", 1)[1].split()
            return f"{group}={name}: no such option (allowed: {', '.join(options)})"
        return text
    return text


def validate(tree: dict):
    """Typed settings from a plain config tree (:func:`sim.config.validate`), plus the checks that
    need the lever registry: every lever of the scenario exists and its parameters are allowed.

    Raises:
        ConfigError: one line naming the key, the value and what is allowed.
    """
    from scenarios import build_levers
    from sim.config import validate as validate_settings

    settings = validate_settings(tree)
    build_levers(settings.scenario)  # unknown levers or parameters fail here, before anything runs
    return settings
