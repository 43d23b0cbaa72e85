from huggingface_hub import HfApi, get_token
from huggingface_hub.errors import HfHubHTTPError

if get_token() is None:
    raise RuntimeError(
        "Hugging Face にログインしていないのでアップロードできません。"
        "書き込み（write）権限のあるトークンで login() を実行してから、このセルをもう一度実行してください。"
    )

api = HfApi()
repo_id = f"{api.whoami()['name']}/{HUB_REPO_NAME}"
try:
    api.create_repo(repo_id, private=True, exist_ok=True)  # まずは自分だけが見られる非公開のリポジトリにします
    api.upload_folder(repo_id=repo_id, folder_path=ADAPTER_DIR)
except HfHubHTTPError as error:
    if error.response is None or error.response.status_code != 403:
        raise
    raise RuntimeError(
        f"{repo_id} に書き込む権限がありません（403）。トークンが読み取り専用（read）の可能性があります。\n"
        "Hugging Face の設定で write 権限のトークンを作り、login(new_session=True) でログインし直してから、"
        f"このセルをもう一度実行してください。アダプターは {ADAPTER_DIR} に保存してあるので失われません。"
    ) from error
print(f"非公開のリポジトリにアップロードしました: https://huggingface.co/{repo_id}")
