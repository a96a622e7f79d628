"""Which extra pg_dump arguments a snapshot may take: none that change where its output goes or its form.

A snapshot that lists must restore. `--file` would send the dump elsewhere (and leave a copy outside
the store), `--format=plain` or `directory` makes a payload pg_restore cannot read, `--data-only` or a
`--section` makes one that cannot restore into an empty database, a positional database name or
connection option would dump another database than the one the snapshot is recorded for, and
`--help`/`--version` print text instead of an archive.
"""

from __future__ import annotations

from collections.abc import Sequence

from dbsnap.exceptions import ConfigError

# pg_dump's options that take a value (getopt "...:"); any other letter is a flag. Given without
# "=" (or, for a letter, as the last of its word), the next argument is the value.
_SHORT_WITH_VALUE = set("dEefFhjnNpSTtUZ")
_LONG_WITH_VALUE = {
    "--schema",
    "--exclude-schema",
    "--table",
    "--exclude-table",
    "--exclude-table-data",
    "--table-and-children",
    "--exclude-table-and-children",
    "--exclude-table-data-and-children",
    "--extension",
    "--exclude-extension",
    "--encoding",
    "--lock-wait-timeout",
    "--role",
    "--snapshot",
    "--superuser",
    "--filter",
    "--rows-per-insert",
    "--extra-float-digits",
    "--include-foreign-data",
    "--sync-method",
}
_REFUSED_SHORT = {
    "f": "--file",
    "F": "--format",
    "j": "--jobs",
    "d": "--dbname",
    "h": "--host",
    "p": "--port",
    "U": "--username",
    "a": "--data-only",
    "V": "--version",
    "?": "--help",
    "Z": "--compress",
    "w": "--no-password",
    "W": "--password",
}
_REFUSED_LONG = {
    "--file",
    "--format",
    "--jobs",
    "--dbname",
    "--host",
    "--port",
    "--username",
    "--data-only",
    "--section",
    "--version",
    "--help",
    "--compress",
    "--no-password",
    "--password",
}
_WHY = {
    "--file": "the dump must go to the store",
    "--format": "a snapshot is a custom-format archive, the one pg_restore reads from a stream",
    "--jobs": "parallel dumps need the directory format",
    "--dbname": "the database is the snapshot's URL",
    "--host": "the server is the snapshot's URL",
    "--port": "the server is the snapshot's URL",
    "--username": "the user is the snapshot's URL",
    "--data-only": "the snapshot could not restore into an empty database",
    "--section": "the snapshot could not restore into an empty database",
    "--version": "it prints text, not an archive",
    "--help": "it prints text, not an archive",
    "--compress": "use dbsnap's --compress (with --codec none)",
    "--no-password": "dbsnap decides how the password is given",
    "--password": "dbsnap decides how the password is given",
}


# pg_dump's long options that share a prefix with a refused one and are fine.
_ALLOWED_SHARING_A_PREFIX = (
    "--no-privileges",
    "--no-publications",
    "--no-comments",
    "--no-security-labels",
    "--no-subscriptions",
    "--no-sync",
    "--no-synchronized-snapshots",
    "--no-table-access-method",
    "--no-tablespaces",
    "--no-toast-compression",
    "--no-unlogged-table-data",
    "--no-owner",
    "--no-blobs",
    "--no-large-objects",
    "--verbose",
    "--serializable-deferrable",
)


def _refuse(option: str, given: str) -> ConfigError:
    return ConfigError(
        f"--pg-dump-arg {given!r} is not allowed: {option} would make a snapshot that does not restore "
        f"or is not the database named ({_WHY[option]}); leave it out"
    )


def check_dump_args(args: Sequence[str]) -> list[str]:
    """Return `args` if every one is a pg_dump option a snapshot can take; else raise ConfigError."""
    value_next = False
    for arg in args:
        if value_next:
            value_next = False
            continue
        if arg == "--" or not arg.startswith("-") or arg == "-":
            raise ConfigError(
                f"--pg-dump-arg {arg!r} is not an option; the database to dump is the snapshot's URL"
            )
        if arg.startswith("--"):
            name = arg.split("=", 1)[0]
            # getopt_long takes an unambiguous prefix as the option (--form=plain is --format=plain);
            # a prefix shared with an allowed option is ambiguous, and pg_dump itself refuses it.
            matches = sorted(o for o in _REFUSED_LONG if o.startswith(name)) if len(name) > 3 else []
            if name in _REFUSED_LONG:
                raise _refuse(name, arg)
            if matches and not any(o.startswith(name) for o in _ALLOWED_SHARING_A_PREFIX):
                raise _refuse(matches[0], arg)
            value_next = "=" not in arg and name in _LONG_WITH_VALUE
            continue
        for index, letter in enumerate(arg[1:], start=2):
            if letter in _REFUSED_SHORT:
                raise _refuse(_REFUSED_SHORT[letter], arg)
            if letter in _SHORT_WITH_VALUE:
                value_next = index == len(arg)  # else the rest of the word is the value
                break
    return list(args)
