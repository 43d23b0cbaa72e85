GGUF_16BIT = convert_model(MERGED_DIR, GGUF_DIR / "summary-16bit.gguf")
