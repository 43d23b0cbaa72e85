def ollama_modelfile(gguf_file):
    """Ollama の Modelfile。TEMPLATE は学習と同じプロンプトで、指示は SYSTEM、入力の文章は Ollama に渡す文章です。"""
    template = build_prompt("{{ .System }}", "{{ .Prompt }}")
    return (
        f"FROM ./{gguf_file.name}\n"
        f'TEMPLATE """{template}"""\n'
        f'SYSTEM """{INSTRUCTION}"""\n'
        f'PARAMETER stop "{tokenizer.eos_token}"\n'
        "PARAMETER temperature 0\n"
    )


MODELFILE = GGUF_DIR / "Modelfile"  # GGUF と同じフォルダーに置きます
MODELFILE.write_text(ollama_modelfile(Q4_GGUF), encoding="utf-8")
print(MODELFILE.read_text(encoding="utf-8"))
