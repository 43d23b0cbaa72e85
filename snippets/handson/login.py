from huggingface_hub import HfApi, get_token, login

# Colab のシークレット HF_TOKEN や、以前のログインがあればそのまま使います。
if get_token() is None:
    login()

# 8 でアダプターを Hub に上げるには、書き込み（write）権限のトークンが要ります。学習の前に確かめておきます。
try:
    token_role = HfApi().whoami()["auth"]["accessToken"]["role"]
except Exception:  # オフラインなどで確かめられないときは、そのまま進みます（アップロードのときにわかります）
    token_role = None
if token_role == "read":
    print(
        "このトークンは読み取り専用（read）です。学習はできますが、8 の Hub へのアップロードは権限がなく失敗します。\n"
        "アップロードするなら、Hugging Face の設定で write 権限のトークンを作り、"
        "login(new_session=True) でログインし直してください。"
    )
