"""`raison-garder config`: show, get, set and reset settings from the command line.

Exit codes: 0 done, 2 a value or key was refused (nothing written), 1 the file could not be written.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from tray_app.system.i18n import _


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "config", help=_("show or change settings"), description=_("Show or change settings.")
    )
    actions = parser.add_subparsers(dest="config_action", metavar=_("ACTION"))
    show = actions.add_parser("show", help=_("list every setting with its value and default"))
    show.add_argument("--json", action="store_true", help=_("print JSON for scripts"))
    get = actions.add_parser("get", help=_("print one setting"))
    get.add_argument("key", metavar=_("KEY"))
    get.add_argument("--reveal", action="store_true", help=_("print a secret value in clear"))
    set_ = actions.add_parser(
        "set",
        help=_("change settings: KEY VALUE [KEY VALUE …]"),
        description=_(
            "Change one or more settings. Several pairs are checked together, for settings that depend on each other."
        ),
    )
    set_.add_argument("pairs", nargs="+", metavar=_("KEY VALUE"))
    reset = actions.add_parser("reset", help=_("put settings back to their defaults"))
    reset.add_argument("keys", nargs="*", metavar=_("KEY"))
    reset.add_argument("--all", action="store_true", help=_("reset every setting"))
    actions.add_parser("path", help=_("print where the settings file is"))


def run(args: argparse.Namespace) -> int:
    from tray_app.config import file as store
    from tray_app.config.schema import SettingError

    action = getattr(args, "config_action", None) or "show"
    if action == "path":
        print(store.settings_path())
        return 0
    if action in ("set", "reset"):
        from tray_app.system.paths import config_dir

        config_dir()  # a settings folder that cannot be made: one line (FolderProblem), exit 1
    loaded = store.load_settings(move_aside=True)
    for problem in loaded.problems:
        print(problem, file=sys.stderr)
    try:
        if action == "show":
            return _show(loaded, as_json=getattr(args, "json", False))
        if action == "get":
            return _get(loaded, args.key, args.reveal)
        if action == "set":
            return _set(loaded, args.pairs)
        return _reset(loaded, args.keys, args.all)
    except SettingError as exc:
        print(exc, file=sys.stderr)
        return 2
    except BrokenPipeError:
        raise  # `config show | head`: the reader left; not a settings-file problem (cli.main)
    except OSError as exc:
        print(
            _("Could not write the settings file {path}: {error}").format(
                path=loaded.path, error=exc.strerror or exc
            ),
            file=sys.stderr,
        )
        return 1


def _line(key: str, value: Any) -> str:
    from tray_app.config.schema import format_value, option
    from tray_app.system.fmt import with_unit

    unit = option(key).unit_text()
    text = format_value(key, value)
    return (
        f"{key} = {with_unit(text, unit)}"
        if unit and not option(key).secret
        else f"{key} = {text}"
    )


def _show(loaded: Any, as_json: bool) -> int:
    from tray_app.config.schema import SCHEMA, format_value

    if as_json:
        report = {
            "path": str(loaded.path),
            "exists": loaded.path.exists(),
            "settings": {
                opt.key: {
                    "value": format_value(opt.key, v) if opt.secret else v,
                    "default": loaded.defaults[opt.key],
                    "is_default": loaded.is_default(opt.key),
                    "unit": opt.unit,
                    "description": opt.describe(),
                }
                for opt in SCHEMA
                for v in [loaded.values[opt.key]]
            },
            "unknown": sorted(loaded.unknown),
            "problems": loaded.problems,
        }
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0
    state = "" if loaded.path.exists() else " " + _("(not created yet: all defaults)")
    print(_("Settings file: {path}").format(path=loaded.path) + state)
    width = max(len(opt.key) for opt in SCHEMA) + 3 + 16
    for opt in SCHEMA:
        line = _line(opt.key, loaded.values[opt.key])
        marker: str
        if loaded.is_default(opt.key):
            marker = _("(default)")
        else:
            marker = _("(default: {value})").format(
                value=format_value(opt.key, loaded.defaults[opt.key])
            )
        print(f"  {line:<{width}} {marker}")
    for key in sorted(loaded.unknown):
        print(
            f"  {key} = {json.dumps(loaded.unknown[key], ensure_ascii=False)}  "
            + _("(unknown, kept)")
        )
    print(_figures_note(loaded.values))
    return 0


def _figures_note(values: dict[str, Any]) -> str:
    """Say where the country defaults come from, so no figure is used without its source."""
    from tray_app.config import carbon
    from tray_app.config.schema import effective_country

    country = effective_country(values)
    grid, price = carbon.grid_figure(country), carbon.price_figure(country)
    return _(
        "Defaults for country {country}: carbon {grid:g} g CO₂e/kWh ({name}, {grid_source}); price {price:g} {currency}/kWh ({price_source})."
    ).format(
        country=country or _("unknown"),
        grid=grid.g_per_kwh,
        name=_(grid.name),
        grid_source=grid.source,
        price=price.price_per_kwh,
        currency=price.currency,
        price_source=price.source,
    )


def _get(loaded: Any, key: str, reveal: bool) -> int:
    from tray_app.config.schema import format_value

    value = loaded.get(key)
    print(format_value(key, value, reveal=reveal))
    return 0


def _set(loaded: Any, pairs: list[str]) -> int:
    from tray_app.config import file as store
    from tray_app.config.schema import SettingError, parse_value

    if len(pairs) % 2:
        raise SettingError(
            _(
                "config set needs a value for each key: KEY VALUE [KEY VALUE …]; {key} has none."
            ).format(key=pairs[-1])
        )
    values = dict(loaded.values)
    changed = []
    for key, text in zip(pairs[0::2], pairs[1::2], strict=True):
        values[key] = parse_value(key, text)
        changed.append(key)
    store.save_settings(_changed_only(loaded, values), loaded.path)
    for key in changed:
        print(_line(key, values[key]) + _when(key))
    return 0


def _when(key: str) -> str:
    """A running app applies most settings within seconds; the others need a restart."""
    from tray_app.config.schema import RESTART, option

    return "  " + _("(applies at next start)") if option(key).applies == RESTART else ""


def _reset(loaded: Any, keys: list[str], everything: bool) -> int:
    from tray_app.config import file as store
    from tray_app.config.schema import SettingError, format_value, option

    if everything == bool(keys):
        raise SettingError(_("Name the settings to reset, or use --all (not both)."))
    values = dict(loaded.values)
    targets = list(loaded.defaults) if everything else keys
    for key in targets:
        option(key)
        values[key] = loaded.defaults[key]
    # Keys left at a country default are not written, so they keep following the country.
    store.save_settings(_changed_only(loaded, values), loaded.path)
    if everything:
        print(_("Every setting is back to its default."))
    else:
        for key in targets:
            print(
                _("{key} is back to its default: {value}").format(
                    key=key, value=format_value(key, values[key])
                )
                + _when(key)
            )
    return 0


def _changed_only(loaded: Any, values: dict[str, Any]) -> dict[str, Any]:
    """Values that differ from the loaded defaults, plus the country that decides them."""
    from tray_app.config.settings import key_of

    country = key_of(lambda s: s.country)
    return {k: v for k, v in values.items() if v != loaded.defaults[k] or k == country}
