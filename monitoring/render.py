"""Render the Prometheus configuration and alert rules of the embedded runtime (and of tests).

The cluster renders the same templates with the monitoring role; both read the thresholds in
``roles/monitoring/defaults/main.yml``, so the two runtimes alert on the same conditions.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
import yaml

__all__ = ["alert_settings", "render_alert_rules", "render_prometheus_config", "write_config"]

HERE = Path(__file__).resolve().parent
ROLE_DEFAULTS = HERE.parent / "roles" / "monitoring" / "defaults" / "main.yml"
RULES_FILE = "alerts.rules.yml"


def _template(name: str) -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        keep_trailing_newline=True,
    )
    return env.get_template(name)


def alert_settings() -> dict:
    defaults = yaml.safe_load(ROLE_DEFAULTS.read_text())
    return {
        **defaults["monitoring_alerts"],
        "scrape_interval": defaults["monitoring_scrape_interval"],
    }


def render_alert_rules(**overrides: object) -> str:
    """The rule file; ``overrides`` replace thresholds (tests show the rules depend on them)."""
    return _template(f"{RULES_FILE}.j2").render(**{**alert_settings(), **overrides})


def render_prometheus_config(
    targets: dict[str, str], prometheus_target: str, rule_files: list[str], interval: str = ""
) -> str:
    """Static loopback scrape jobs: ``targets`` maps job name to host:port."""
    return _template("prometheus.yml.j2").render(
        scrape_interval=interval or alert_settings()["scrape_interval"],
        rule_files=rule_files,
        prometheus_target=prometheus_target,
        jobs=[{"name": name, "target": target} for name, target in targets.items()],
    )


def write_config(
    directory: Path, targets: dict[str, str], prometheus_target: str, interval: str = ""
) -> Path:
    """Write prometheus.yml and the rule file into ``directory``; return the config's path."""
    directory.mkdir(parents=True, exist_ok=True)
    rules = directory / RULES_FILE
    rules.write_text(render_alert_rules())
    config = directory / "prometheus.yml"
    config.write_text(render_prometheus_config(targets, prometheus_target, [str(rules)], interval))
    return config
