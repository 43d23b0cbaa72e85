from huggingface_hub import HfApi, get_token

if get_token() is None:
    raise RuntimeError(
        "Hugging Face にログインしていないので公開できません。"
        "書き込み（write）権限のあるトークンで login() を実行してから、このセルをもう一度実行してください。"
    )

api = HfApi()
repo_id = f"{api.whoami()['name']}/japanese-stablelm-gamma-7b-summary-lora"
api.create_repo(repo_id, private=True, exist_ok=True)  # まずは非公開で作ります
api.upload_folder(repo_id=repo_id, folder_path=ADAPTER_DIR)
print(f"公開しました: https://huggingface.co/{repo_id}")
