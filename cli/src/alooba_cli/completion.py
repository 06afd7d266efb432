"""`alooba-gh completion bash`: a bash completion script made from the parser itself,
so it always knows every command and option the installed alooba-gh has.

The script completes command names and options, one level after another (`alooba-gh org
<TAB>` offers create, list, show). Option values (organization names, ids) are left to the
shell: they live in the services, and a completion that called them would be slow and need
the operator's certificate.
"""

from __future__ import annotations

import argparse
import shlex

# bash only: zsh (through bashcompinit) is not tried anywhere here.
SHELLS = ("bash",)


def _words(parser: argparse.ArgumentParser, path: str, table: dict[str, list[str]]) -> None:
    words: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                words.append(name)
                _words(sub, f"{path} {name}", table)
        else:
            words.extend(o for o in action.option_strings if o.startswith("--"))
    table[path] = sorted(set(words))


def script(parser: argparse.ArgumentParser, shell: str) -> str:
    """The completion script for `shell`."""
    table: dict[str, list[str]] = {}
    prog = parser.prog
    # Keyed by the command typed so far, from the program's name (bash has no "" key).
    _words(parser, prog, table)
    function = "_" + prog.replace("-", "_")
    entries = "\n".join(
        f"  [{shlex.quote(path)}]={shlex.quote(' '.join(words))}"
        for path, words in sorted(table.items())
    )
    body = f"""# {prog} completion ({shell}): eval "$({prog} completion {shell})"
declare -gA {function}_words=(
{entries}
)
{function}() {{
  local cur="${{COMP_WORDS[COMP_CWORD]}}" path={shlex.quote(prog)} word i
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="${{COMP_WORDS[i]}}"
    [[ "$word" == -* ]] && continue
    if [[ -n "${{{function}_words["$path $word"]+set}}" ]]; then
      path="$path $word"
    fi
  done
  COMPREPLY=($(compgen -W "${{{function}_words[$path]}}" -- "$cur"))
}}
"""
    return body + f"complete -F {function} {prog}\n"
