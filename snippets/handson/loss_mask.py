import html

from trl.data_utils import common_prefix_length  # TRL がプロンプトの終わりを決めるのに使う関数


def tokens_and_labels(example):
    """SFTTrainer と同じ手順で 1 例をトークンにし、ラベルを付けます（損失を計算しない位置は -100）。"""
    prompt_ids = tokenizer(text=example["prompt"]).input_ids
    # TRL は completion（要約）の末尾に EOS を足してから、プロンプトと続けてトークンにします
    ids = tokenizer(text=example["prompt"] + example["completion"] + tokenizer.eos_token).input_ids
    # プロンプトだけのトークン列と先頭から一致する部分が「プロンプト」です。そこはラベルを -100 にします
    prompt_length = common_prefix_length(prompt_ids, ids)
    labels = [-100] * prompt_length + ids[prompt_length:]
    return ids[:MAX_LENGTH], labels[:MAX_LENGTH]  # 長すぎる例は末尾が切れます（上のセルで除いたので切れません）


def token_pieces(ids):
    """トークンごとの文字列。1 文字が複数のトークン（バイト）に分かれるときは、最後のトークンに文字を入れます。"""
    pieces, shown = [], ""
    for end in range(1, len(ids) + 1):
        text = tokenizer.decode(ids[:end])
        complete = not text.endswith("\ufffd")  # 文字の途中のバイトまでだと、最後が「�」になります
        pieces.append(text[len(shown) :] if complete else "")
        shown = text if complete else shown
    return pieces


def in_notebook():
    """Jupyter や Colab のノートブックで動いているか。"""
    try:
        from IPython import get_ipython
    except ImportError:  # IPython がなければノートブックではありません
        return False
    return getattr(get_ipython(), "kernel", None) is not None


def as_text(boxes):
    """端末向け: 損失を計算するトークンを [[ ]] で囲み、トークンの区切りを | で、改行を ↵ で示します。"""
    text, inside = "", False
    for piece, trained in boxes:
        if trained != inside:
            text += "[[" if trained else "]]"
            inside = trained
        elif text and not text.endswith("\n"):
            text += "|"
        text += piece.replace("\n", "↵\n")
    return text + ("]]" if inside else "")


def as_html(boxes):
    """ノートブック向け: 損失を計算するトークンを緑に、それ以外を灰色にして、トークンごとに枠で囲みます。"""
    trained_style = "background:#c8e6c9;color:#1b5e20;font-weight:bold"
    spans = [
        f'<span style="{trained_style if trained else "color:#757575"};border:1px solid #bdbdbd;margin:1px">'
        + html.escape(piece).replace("\n", "↵<br>")
        + "</span>"
        for piece, trained in boxes
    ]
    legend = f'<p><span style="{trained_style}">緑</span>: 損失を計算するトークン　灰色: ラベルが -100 のトークン</p>'
    return legend + '<div style="font-family:monospace;line-height:2">' + "".join(spans) + "</div>"


def show_loss_mask(example):
    """1 例を、モデルが読むトークンの単位で表示し、損失を計算するトークン（ラベルが -100 でない）を目立たせます。"""
    ids, labels = tokens_and_labels(example)
    boxes, waiting = [], []
    for piece, label in zip(token_pieces(ids), labels):
        waiting.append(label != -100)
        if piece:  # 文字の途中のバイトのトークンは、文字ができあがるトークンと 1 つの枠にまとめます
            boxes.append((piece, all(waiting)))
            waiting = []
    trained = sum(label != -100 for label in labels)
    print(f"全 {len(ids)} トークン: 損失を計算する {trained} トークン、ラベルが -100 の {len(ids) - trained} トークン")
    if in_notebook():
        from IPython.display import HTML, display

        display(HTML(as_html(boxes)))
    else:
        print("[[ ]] の中が損失を計算するトークン、| がトークンの区切り、↵ が改行です。")
        print(as_text(boxes))
    return ids, labels


loss_mask_ids, loss_mask_labels = show_loss_mask(train_dataset[0])
