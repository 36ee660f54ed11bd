"""The settings loader: precedence, types, the sandbox's own file, and what a deployment is told."""

from pathlib import Path

import pytest

from core import config
from core.config import ConfigError


@pytest.fixture
def settings_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty `.dlt/` of a deployment; the environment says nothing about the keys tested."""
    monkeypatch.setattr(config, "CONFIG_DIR", tmp_path)
    for name in ("COPILOT_ENV", "SOURCES__STRIPE__BASE_URL", "SOURCES__STRIPE__ENABLED", "REVERSE_ETL__MAX_ATTEMPTS"):
        monkeypatch.delenv(name, raising=False)
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
