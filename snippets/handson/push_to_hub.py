from huggingface_hub import HfApi, get_token

if get_token() is None:
    raise RuntimeError(
        "Hugging Face にログインしていないのでアップロードできません。"
        "書き込み（write）権限のあるトークンで login() を実行してから、このセルをもう一度実行してください。"
    )

api = HfApi()
repo_id = f"{api.whoami()['name']}/{HUB_REPO_NAME}"
api.create_repo(repo_id, private=True, exist_ok=True)  # まずは自分だけが見られる非公開のリポジトリにします
api.upload_folder(repo_id=repo_id, folder_path=ADAPTER_DIR)
print(f"非公開のリポジトリにアップロードしました: https://huggingface.co/{repo_id}")
