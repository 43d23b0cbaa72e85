from pathlib import Path

DRIVE_FOLDER = Path("/content/drive/MyDrive/sft-lora-handson")
HUB_REPO_NAME = "japanese-stablelm-gamma-7b-summary-lora"  # Hub に上げるときのリポジトリ名（8 で使います）


def choose_output_dir():
    """Colab なら Google ドライブのフォルダー（切断されても消えません）、それ以外なら outputs/ を保存先にします。"""
    try:
        from google.colab import drive
    except ImportError:
        return Path("outputs")  # Colab ではない（GPU サーバーや手元の Jupyter）
    try:
        drive.mount("/content/drive")
    except Exception as error:  # アクセスを許可しなかった、時間切れになった、など: ドライブなしで続けます
        print(
            f"Google ドライブをマウントできませんでした（{error}）。代わりに outputs/ に保存します。\n"
            "ランタイムが切断されると消えるので、学習が終わったらアダプターを Hub に上げるかダウンロードしてください。"
        )
        return Path("outputs")
    return DRIVE_FOLDER


OUTPUT_DIR = choose_output_dir()
OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
print(f"保存先: {OUTPUT_DIR.resolve()}")
