"""The settings loader: precedence, types, the sandbox's own file, and what a deployment is told."""

import tomllib
from pathlib import Path

import pytest

from core import config
from core.config import ConfigError


@pytest.fixture
def settings_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty `.dlt/` in the sandbox; the environment says nothing about the keys tested."""
    monkeypatch.setattr(config, "CONFIG_DIR", tmp_path)
    for name in ("SOURCES__STRIPE__BASE_URL", "SOURCES__STRIPE__ENABLED", "REVERSE_ETL__MAX_ATTEMPTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COPILOT_ENV", "sandbox")
    return tmp_path


def test_environment_variable_wins_over_secrets_over_config_over_sandbox(
    settings_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (settings_dir / "sandbox.toml").write_text('[sources.stripe]\nbase_url = "http://127.0.0.1:1"\n')
    assert config.get("sources.stripe.base_url", str) == "http://127.0.0.1:1"
    (settings_dir / "config.toml").write_text('[sources.stripe]\nbase_url = "https://api.stripe.com"\n')
    assert config.get("sources.stripe.base_url", str) == "https://api.stripe.com"
    (settings_dir / "secrets.toml").write_text('[sources.stripe]\nbase_url = "https://secret.example"\n')
    assert config.get("sources.stripe.base_url", str) == "https://secret.example"
    monkeypatch.setenv("SOURCES__STRIPE__BASE_URL", "https://env.example")
    assert config.get("sources.stripe.base_url", str) == "https://env.example"


def test_outside_the_sandbox_a_missing_url_is_an_error_naming_the_key(
    settings_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (settings_dir / "sandbox.toml").write_text('[sources.stripe]\nbase_url = "http://127.0.0.1:1"\n')
    monkeypatch.setenv("COPILOT_ENV", "production")
    with pytest.raises(ConfigError) as raised:
        config.get("sources.stripe.base_url", str)
    assert str(raised.value) == (
        "missing setting `sources.stripe.base_url`: set SOURCES__STRIPE__BASE_URL or add it to .dlt/config.toml"
    )
    with pytest.raises(ConfigError, match=r"missing secret `sources.stripe.credentials.api_key`: set "):
        config.secret("sources.stripe.credentials.api_key")
    assert config.secret("sources.stripe.credentials.api_key", required=False) is None


def test_values_are_typed_from_files_and_from_the_environment(
    settings_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (settings_dir / "config.toml").write_text(
        "[reverse_etl]\nmax_attempts = 5\nbackoff_factor = 1\n[sources.stripe]\nenabled = false\n"
        'objects = ["customers"]\n'
    )
    assert config.get("reverse_etl.max_attempts", int) == 5
    assert config.get("reverse_etl.backoff_factor", float) == 1.0
    assert config.get("sources.stripe.enabled", bool, True) is False
    assert config.get("sources.stripe.objects", list) == ["customers"]
    assert config.get("sources.stripe.missing", int, 7) == 7
    monkeypatch.setenv("SOURCES__STRIPE__ENABLED", "TRUE")
    assert config.get("sources.stripe.enabled", bool) is True
    monkeypatch.setenv("REVERSE_ETL__MAX_ATTEMPTS", "three")
    with pytest.raises(ConfigError, match=r"^REVERSE_ETL__MAX_ATTEMPTS='three' is not a whole number$"):
        config.get("reverse_etl.max_attempts", int)
    monkeypatch.delenv("REVERSE_ETL__MAX_ATTEMPTS")
    (settings_dir / "config.toml").write_text('[reverse_etl]\nmax_attempts = "5"\n')
    with pytest.raises(ConfigError, match=r"`reverse_etl.max_attempts` in .dlt/config.toml must be a whole number"):
        config.get("reverse_etl.max_attempts", int)


def test_a_broken_settings_file_is_one_line_naming_it(settings_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "REPO_ROOT", settings_dir.parent)
    (settings_dir / "config.toml").write_text("[reverse_etl\n")
    with pytest.raises(ConfigError, match=rf"^{settings_dir.name}/config.toml is not valid TOML"):
        config.get("reverse_etl.max_attempts", int, 5)


def test_the_committed_files_hold_no_service_url_outside_the_sandbox_file() -> None:
    """A deployment that forgets a URL is told so; it never inherits an emulator's address."""
    for name in ("config.toml", "example.secrets.toml"):
        text = (config.REPO_ROOT / ".dlt" / name).read_text()
        live = [line for line in text.splitlines() if "127.0.0.1" in line and not line.lstrip().startswith("#")]
        assert live == [], name
    sandbox = (config.REPO_ROOT / ".dlt" / "sandbox.toml").read_text()
    assert 'login_url = "https://127.0.0.1:8766"' in sandbox


@pytest.mark.parametrize(
    ("value", "said"), [(None, "COPILOT_ENV is not set: it must be"), ("prod", "COPILOT_ENV='prod' is not")]
)
def test_copilot_env_must_be_said_explicitly(
    settings_dir: Path, monkeypatch: pytest.MonkeyPatch, value: str | None, said: str
) -> None:
    """Without COPILOT_ENV nothing is read: a deployment never falls back on the sandbox's credentials."""
    (settings_dir / "sandbox.toml").write_text('[sources.stripe.credentials]\napi_key = "sk_test_sandbox"\n')
    if value is None:
        monkeypatch.delenv("COPILOT_ENV")
    else:
        monkeypatch.setenv("COPILOT_ENV", value)
    with pytest.raises(ConfigError) as raised:
        config.secret("sources.stripe.credentials.api_key", required=False)
    assert str(raised.value) == (
        f"{said} one of production, ci, sandbox: set COPILOT_ENV=production for a deployment "
        "(COPILOT_ENV=sandbox runs on the sandbox company and its published credentials)"
    )
    monkeypatch.setenv("COPILOT_ENV", "production")
    assert config.secret("sources.stripe.credentials.api_key", required=False) is None
    monkeypatch.setenv("COPILOT_ENV", "sandbox")
    assert config.secret("sources.stripe.credentials.api_key") == "sk_test_sandbox"


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8765", "http://localhost:8765/api/", "http://[::1]:8765", "https://api.stripe.com",
     "data/exports/stripe", "s3://bucket/events"],
)  # fmt: skip
def test_https_or_this_machine_are_accepted(settings_dir: Path, monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("SOURCES__STRIPE__BASE_URL", url)
    assert config.get("sources.stripe.base_url", str) == url


def test_plain_http_to_another_host_is_refused_wherever_it_is_set(
    settings_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCES__STRIPE__BASE_URL", "http://api.stripe.com")
    with pytest.raises(ConfigError) as raised:
        config.get("sources.stripe.base_url", str)
    assert str(raised.value) == (
        "`sources.stripe.base_url` (SOURCES__STRIPE__BASE_URL) is plain http:// to api.stripe.com, which is not "
        "this machine: use https://"
    )
    (settings_dir / "secrets.toml").write_text('[copilot]\nslack_webhook_url = "http://hooks.example.com/x"\n')
    with pytest.raises(ConfigError, match=r"^`copilot.slack_webhook_url` \(.dlt/secrets.toml\) is plain http://"):
        config.secret("copilot.slack_webhook_url")
    (settings_dir / "config.toml").write_text('[reverse_etl.slack]\nbase_url = "http://10.0.0.5/api/"\n')
    with pytest.raises(ConfigError, match=r"^`reverse_etl.slack.base_url` \(.dlt/config.toml\) is plain http://"):
        config.get("reverse_etl.slack.base_url", str)


def test_a_secret_is_never_read_from_the_committed_config(settings_dir: Path) -> None:
    (settings_dir / "config.toml").write_text('[copilot]\nslack_webhook_url = "https://hooks.slack.com/services/x"\n')
    with pytest.raises(ConfigError) as raised:
        config.secret("copilot.slack_webhook_url", required=False)
    assert str(raised.value) == (
        "`copilot.slack_webhook_url` is a secret and must not be in .dlt/config.toml (committed): move it to "
        ".dlt/secrets.toml or set COPILOT__SLACK_WEBHOOK_URL"
    )
    (settings_dir / "config.toml").write_text("")
    (settings_dir / "secrets.toml").write_text('[copilot]\nslack_webhook_url = "https://hooks.slack.com/services/x"\n')
    assert config.secret("copilot.slack_webhook_url") == "https://hooks.slack.com/services/x"


def test_no_secret_in_the_committed_config() -> None:
    """The failure webhook, like every credential, is a secret: the committed config names none."""

    def keys(node: object, prefix: str = "") -> list[str]:
        if not isinstance(node, dict):
            return []
        return [f"{prefix}{k}" for k in node] + [x for k, v in node.items() for x in keys(v, f"{prefix}{k}.")]

    document = tomllib.loads((config.REPO_ROOT / ".dlt" / "config.toml").read_text())
    secret_words = ("credentials", "webhook", "token", "secret", "password", "api_key")
    assert [k for k in keys(document) if any(w in k.rsplit(".", 1)[-1] for w in secret_words)] == []
