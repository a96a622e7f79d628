"""`dbsnap plugins`: every driver, store and codec, where it comes from, and whether it can be used."""

from __future__ import annotations

import argparse
from typing import Any

from dbsnap.cli import exits
from dbsnap.exceptions import ConfigError
from dbsnap.output import table
from dbsnap.plugins import get_plugins, load_all


def run(args: argparse.Namespace, document: dict[str, Any]) -> int:
    """List every plugin with its distribution; name the extra each unusable one needs."""
    plugins = get_plugins()
    if args.options:
        return _options(args, document, args.options)
    rows: list[dict[str, Any]] = [
        {
            "kind": r.kind,
            "name": r.name,
            "plugin": r.plugin,
            "distribution": r.dist,
            "usable": not r.missing,
            "missing": list(r.missing),
            "install": r.install if r.missing else None,
        }
        for r in load_all(plugins)
    ]
    plugins.load_hooks()
    rows += [
        {"kind": "hooks", "name": name, "plugin": name, "distribution": plugins.dists.get(name, "-"),
         "usable": True, "missing": [], "install": None}
        for name, _ in plugins.pm.list_name_plugin()
    ]  # fmt: skip
    failures = [{"plugin": f.plugin, "distribution": f.dist, "error": f.error} for f in plugins.failures]
    document.update({"plugins": rows, "failed": failures})
    if args.json:
        return exits.OK
    print(
        table(
            [
                [
                    r["kind"],
                    r["name"],
                    r["plugin"],
                    r["distribution"],
                    "ready" if r["usable"] else r["install"],
                ]
                for r in rows
            ],
            ["KIND", "NAME", "PLUGIN", "DISTRIBUTION", "STATUS"],
        )
    )
    for failure in failures:
        print(f"failed to load plugin {failure['plugin']} ({failure['distribution']}): {failure['error']}")
    return exits.OK


def _options(args: argparse.Namespace, document: dict[str, Any], name: str) -> int:
    """List the options a driver declares (-o NAME=VALUE)."""
    registration = get_plugins().find("driver", name)
    if registration is None:
        raise ConfigError(f"no driver {name!r}; 'dbsnap plugins' lists them")
    declared = list(getattr(registration.factory, "options", ()) or ())
    rows = [
        {"name": o.name, "type": o.kind, "default": o.default, "help": o.help, "commands": list(o.commands)}
        for o in declared
    ]
    document.update({"driver": name, "options": rows})
    if not args.json:
        if rows:
            print(
                table(
                    [
                        [r["name"], r["type"], repr(r["default"]), ",".join(r["commands"]), r["help"]]
                        for r in rows
                    ],
                    ["OPTION", "TYPE", "DEFAULT", "COMMANDS", "MEANING"],
                )
            )
        else:
            print(f"the {name} driver takes no options")
    return exits.OK
