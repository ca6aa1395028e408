import click
import keyring
import pytest
from click.testing import CliRunner
from keyring.backends import chainer, fail

from bootstrap import credentials, redaction
from bootstrap.errors import CredentialError

ORG = "https://dev.azure.com/Contoso/"


def test_credentials_normalise_org_url_is_case_and_slash_insensitive():
    assert credentials.normalise_org_url(ORG) == "https://dev.azure.com/contoso"
    assert credentials.pat_username("HTTPS://DEV.AZURE.COM/contoso") == (
        "pat:https://dev.azure.com/contoso"
    )


def test_credentials_resolve_pat_env_wins_over_keyring(monkeypatch, isolated_environment):
    isolated_environment.set_password("bootstrap", "pat:https://dev.azure.com/contoso", "kr-pat-1")
    monkeypatch.setenv("AZURE_DEVOPS_EXT_PAT", "env-pat-1")
    assert credentials.resolve_pat(ORG, prompt=False) == "env-pat-1"
    assert "env-pat-1" not in redaction.redact("x env-pat-1 y")


def test_credentials_resolve_pat_reads_keyring_under_normalised_url(isolated_environment):
    isolated_environment.set_password("bootstrap", "pat:https://dev.azure.com/contoso", "kr-pat-1")
    assert credentials.resolve_pat("https://dev.azure.com/contoso", prompt=False) == "kr-pat-1"
    assert redaction.redact("kr-pat-1") == redaction.MASK


def test_credentials_resolve_pat_prompts_hidden_when_asked():
    @click.command()
    def cmd():
        click.echo("got " + str(len(credentials.resolve_pat(ORG, prompt=True))))

    result = CliRunner().invoke(cmd, input="typed-pat-9\n")
    assert result.exit_code == 0, result.output
    assert "got 11" in result.output
    assert "typed-pat-9" not in result.output
    assert redaction.redact("typed-pat-9") == redaction.MASK


def test_credentials_resolve_pat_missing_names_three_ways():
    with pytest.raises(CredentialError) as info:
        credentials.resolve_pat(ORG, prompt=False)
    message = str(info.value)
    assert "AZURE_DEVOPS_EXT_PAT" in message
    assert "bootstrap login" in message
    assert "terminal" in message
    assert "\n" not in message


@pytest.mark.parametrize("backend", [fail.Keyring, chainer.ChainerBackend])
def test_credentials_keyring_unusable_is_one_clear_line(monkeypatch, backend):
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [], raising=False)
    keyring.set_keyring(backend())
    with pytest.raises(CredentialError) as info:
        credentials.resolve_pat(ORG, prompt=False)
    message = str(info.value)
    assert "keyring" in message
    assert "AZURE_DEVOPS_EXT_PAT" in message
    assert "BOOTSTRAP_SECRET_<NAME>" in message
    assert "\n" not in message
    with pytest.raises(CredentialError):
        credentials.store_pat(ORG, "some-pat-value")


def test_credentials_keyring_unusable_env_still_works(monkeypatch):
    keyring.set_keyring(fail.Keyring())
    monkeypatch.setenv("AZURE_DEVOPS_EXT_PAT", "env-pat-2")
    assert credentials.resolve_pat(ORG, prompt=False) == "env-pat-2"


def test_credentials_store_and_delete_pat_round_trip(isolated_environment):
    credentials.store_pat(ORG, "stored-pat-3")
    assert isolated_environment.entries[("bootstrap", "pat:https://dev.azure.com/contoso")] == (
        "stored-pat-3"
    )
    assert credentials.delete_pat(ORG) is True
    assert credentials.delete_pat(ORG) is False


def test_credentials_secret_env_name_is_upper_snake():
    assert credentials.secret_env_name("acr-password") == "BOOTSTRAP_SECRET_ACR_PASSWORD"


def test_credentials_too_short_values_are_refused(monkeypatch):
    monkeypatch.setenv("AZURE_DEVOPS_EXT_PAT", "abc")
    with pytest.raises(CredentialError) as info:
        credentials.resolve_pat(ORG, prompt=False)
    assert "AZURE_DEVOPS_EXT_PAT is shorter than 4 characters" in str(info.value)
    assert "abc" not in str(info.value).replace("characters", "")
