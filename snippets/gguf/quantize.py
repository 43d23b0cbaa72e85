import os

import llama_cpp

# 量子化の種類（llama.cpp の名前）。迷ったら Q4_K_M です
QUANT_TYPES = {
    "Q4_K_M": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M,
    "Q5_K_M": llama_cpp.LLAMA_FTYPE_MOSTLY_Q5_K_M,
    "Q8_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0,
}


def quantize(infile, outfile, quant_type="Q4_K_M"):
    """16 ビットの GGUF から、量子化した GGUF を作ります（llama.cpp の量子化をそのまま呼びます）。"""
    if quant_type not in QUANT_TYPES:
        raise ValueError(
            f"量子化の種類 {quant_type!r} には対応していません。{', '.join(QUANT_TYPES)} のどれかを指定してください。"
        )
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = QUANT_TYPES[quant_type]
    params.nthread = os.cpu_count()
    if llama_cpp.llama_model_quantize(str(infile).encode(), str(outfile).encode(), params) != 0:
        raise RuntimeError(
            f"{infile} を量子化できませんでした。このページの 2「16 ビットの GGUF にする」で作ったファイルを指定してください。"
        )
    print(f"{outfile}（{outfile.stat().st_size / 1e9:.2f} GB）")
    return outfile
