"""`dbsnap completion SHELL`: a completion script for bash, zsh or fish, written from the parser."""

from __future__ import annotations

import argparse
from typing import Any

from dbsnap.cli import exits
from dbsnap.cli.parser import HELP, build_parser

GLOBAL = "--help --version --json --debug --verbose --quiet"
FILES = {"--store", "--identity", "--recipients-file", "--openmetrics"}


def _options(parser: argparse.ArgumentParser) -> dict[str, list[str]]:
    """Each command's option strings, from the parser the command line itself uses."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {
        name: sorted({flag for action in command._actions for flag in action.option_strings})
        for name, command in sub.choices.items()
    }


def bash(options: dict[str, list[str]]) -> str:
    """A bash completion function: commands first, then the command's options, files otherwise."""
    cases = "\n".join(f'        {name}) opts="{" ".join(flags)}" ;;' for name, flags in options.items())
    return f"""# dbsnap completion for bash: eval "$(dbsnap completion bash)" (e.g. in ~/.bashrc)
_dbsnap() {{
    local cur command opts i
    cur="${{COMP_WORDS[COMP_CWORD]}}"
    command=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${{COMP_WORDS[i]}}" in -*) ;; *) command="${{COMP_WORDS[i]}}"; break ;; esac
    done
    if [[ -z "$command" ]]; then
        COMPREPLY=($(compgen -W "{" ".join(HELP)} {GLOBAL}" -- "$cur"))
        return
    fi
    case "$command" in
{cases}
        *) opts="" ;;
    esac
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    else
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}}
complete -o filenames -F _dbsnap dbsnap
"""


def zsh(options: dict[str, list[str]]) -> str:
    """The bash function through zsh's bashcompinit (zsh runs bash completion functions as they are)."""
    return (
        '# dbsnap completion for zsh: eval "$(dbsnap completion zsh)" (e.g. in ~/.zshrc)\n'
        "autoload -U +X compinit && compinit\n"
        "autoload -U +X bashcompinit && bashcompinit\n" + bash(options).split("\n", 1)[1]
    )


def fish(options: dict[str, list[str]]) -> str:
    """fish `complete` lines: each command with its help, then each command's long options."""
    lines = ["# dbsnap completion for fish: dbsnap completion fish > ~/.config/fish/completions/dbsnap.fish"]
    lines.append("complete -c dbsnap -f")
    for name, text in HELP.items():
        quoted = text.replace("'", "\\'")
        lines.append(f"complete -c dbsnap -n __fish_use_subcommand -a {name} -d '{quoted}'")
    for name, flags in options.items():
        for flag in flags:
            if flag.startswith("--"):
                takes_file = " -r -F" if flag in FILES else ""
                lines.append(
                    f"complete -c dbsnap -n '__fish_seen_subcommand_from {name}' -l {flag[2:]}{takes_file}"
                )
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace, document: dict[str, Any]) -> int:
    """Print the script for the shell asked for."""
    script = {"bash": bash, "zsh": zsh, "fish": fish}[args.shell](_options(build_parser()))
    document.update({"shell": args.shell, "script": script})
    if not args.json:
        print(script, end="")
    return exits.OK
