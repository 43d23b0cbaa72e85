# The shell commands of docs/gguf.md (llama.cpp's programs and Ollama): not run by the tests (see the page).
# --8<-- [start:completion]
llama-completion -m outputs/gguf/summary-Q4_K_M.gguf -bf outputs/gguf/prompt.txt --no-escape -n 256 --temp 0 -no-cnv
# --8<-- [end:completion]
# --8<-- [start:server]
llama-server -m outputs/gguf/summary-Q4_K_M.gguf --port 8080
# --8<-- [end:server]
# --8<-- [start:request]
jq -n --rawfile prompt outputs/gguf/prompt.txt '{prompt: $prompt, n_predict: 256, temperature: 0}' \
  | curl -s http://127.0.0.1:8080/completion -H "Content-Type: application/json" -d @- | jq -r .content
# --8<-- [end:request]
# --8<-- [start:lora]
llama-completion -m outputs/gguf/base-Q4_K_M.gguf --lora outputs/gguf/summary-lora-f16.gguf \
  -bf outputs/gguf/prompt.txt --no-escape -n 256 --temp 0 -no-cnv
# --8<-- [end:lora]
# --8<-- [start:ollama]
cd outputs/gguf
ollama create summary-ja -f Modelfile
ollama run summary-ja "要約したい文章をここに書きます。"
# --8<-- [end:ollama]
