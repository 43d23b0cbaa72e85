from huggingface_hub import get_token, login

# Colab のシークレット HF_TOKEN や、以前のログインがあればそのまま使います。
if get_token() is None:
    login()
