Q4_GGUF = quantize(GGUF_16BIT, GGUF_DIR / "summary-Q4_K_M.gguf")
GGUF_16BIT.unlink()  # 16 ビットの GGUF は量子化したら要らないので、消してディスクを空けます
