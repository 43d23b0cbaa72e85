"""docs/handson.md, the Hub: logging in, a token that cannot upload, a gated model, pushing without a login.

The cells run unmodified; only their environment changes.
"""

from __future__ import annotations

import httpx2 as httpx  # the HTTP client huggingface_hub uses
import pytest

import standin
from handson_checks import run_cell


def test_login_asks_for_a_token_only_when_there_is_none(monkeypatch):
    import huggingface_hub

    calls = []
    monkeypatch.setattr(huggingface_hub, "login", lambda *args, **kwargs: calls.append(args))
    run_cell("login")
    assert calls == []  # HF_TOKEN is set: nothing to ask
    monkeypatch.delenv("HF_TOKEN")
    run_cell("login")
    assert calls == [()]


@pytest.mark.parametrize(("role", "warned"), [("read", True), ("write", False), ("fineGrained", False)])
def test_login_says_before_training_when_the_token_cannot_upload(monkeypatch, capsys, role, warned):
    from huggingface_hub import HfApi

    answer = {"name": "learner", "auth": {"type": "access_token", "accessToken": {"role": role}}}
    monkeypatch.setattr(HfApi, "whoami", lambda self, *a, **k: answer)
    namespace = run_cell("login")
    out = capsys.readouterr().out
    assert namespace["token_role"] == role
    assert ("このトークンは読み取り専用（read）です" in out) == warned
    if warned:
        assert "write 権限のトークンを作り、login(new_session=True) でログインし直してください" in out


def test_login_goes_on_when_the_token_cannot_be_checked(monkeypatch, capsys):
    """Offline (as here) whoami() fails: the cell says nothing and the upload cell will tell."""
    namespace = run_cell("login")
    assert namespace["token_role"] is None and capsys.readouterr().out == ""


def test_upload_with_a_read_only_token_says_what_to_do_and_keeps_the_adapter(monkeypatch, tmp_path):
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    (tmp_path / "adapter_model.safetensors").write_bytes(b"weights")

    def forbidden(self, repo_id, **kwargs):
        request = httpx.Request("POST", "https://huggingface.co/api/repos/create")
        raise HfHubHTTPError("403 Forbidden", response=httpx.Response(403, request=request))

    monkeypatch.setattr(HfApi, "whoami", lambda self, *a, **k: {"name": "learner"})
    monkeypatch.setattr(HfApi, "create_repo", forbidden)
    with pytest.raises(RuntimeError, match="に書き込む権限がありません（403）") as error:
        run_cell("push_to_hub", {"__name__": "__main__", "ADAPTER_DIR": tmp_path, "HUB_REPO_NAME": "repo"})
    message = str(error.value)
    assert "learner/repo" in message and "login(new_session=True)" in message and str(tmp_path) in message
    assert (tmp_path / "adapter_model.safetensors").read_bytes() == b"weights"

    def server_error(self, repo_id, **kwargs):  # other HTTP errors are not about the token: shown as they are
        request = httpx.Request("POST", "https://huggingface.co/api/repos/create")
        raise HfHubHTTPError("500 Server Error", response=httpx.Response(500, request=request))

    monkeypatch.setattr(HfApi, "create_repo", server_error)
    with pytest.raises(HfHubHTTPError, match="500"):
        run_cell("push_to_hub", {"__name__": "__main__", "ADAPTER_DIR": tmp_path, "HUB_REPO_NAME": "repo"})


def test_gated_model_without_access_explains_what_to_do(hub, monkeypatch):
    import transformers.utils.hub
    from huggingface_hub.errors import GatedRepoError

    def gated(*args, **kwargs):
        request = httpx.Request("GET", f"https://huggingface.co/{standin.MODEL_ID}")
        raise GatedRepoError("Access to this model is restricted.", response=httpx.Response(403, request=request))

    monkeypatch.setattr(transformers.utils.hub, "hf_hub_download", gated)
    monkeypatch.setattr(transformers.utils.hub, "snapshot_download", gated)
    with pytest.raises(RuntimeError, match="を読み込めませんでした") as error:
        run_cell("load_tokenizer")
    message = str(error.value)
    assert "利用条件に同意" in message and "login()" in message
    assert isinstance(error.value.__cause__, OSError)


def test_push_without_login_says_to_log_in(monkeypatch, tmp_path):
    from huggingface_hub import HfApi

    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setattr(HfApi, "create_repo", lambda *a, **k: pytest.fail("nothing may be sent without a login"))
    with pytest.raises(RuntimeError, match="ログインしていないのでアップロードできません"):
        run_cell("push_to_hub", {"__name__": "__main__", "ADAPTER_DIR": tmp_path, "HUB_REPO_NAME": "repo"})
