"""``linksim config show``: print the effective configuration."""

from __future__ import annotations

import json

import click

from linksim.app.commands.common import config_options, load_cfg


@click.group()
def config() -> None:
    """Inspect the configuration (Table I defaults, TOML file, --set overrides)."""


@config.command("show")
@config_options
@click.option("--json", "as_json", is_flag=True, help="Print the config as JSON.")
def show(config_path: str | None, sets: tuple[str, ...], as_json: bool) -> None:
    """Print the effective config; fields marked [choice] are our documented choices."""
    from linksim.config import describe_fields

    cfg = load_cfg(config_path, sets)
    values = cfg.to_dict()
    if as_json:
        click.echo(json.dumps(values, indent=2))
        return
    group = None
    for d in describe_fields():
        if d["group"] != group:
            group = d["group"]
            click.echo(f"[{group}]")
        mark = "  # [choice]" if d["choice"] else ""
        value = values[d["name"]]
        text = json.dumps(value)
        click.echo(f"{d['name']} = {text}    # {d['help']}, {d['range']}{mark}")
