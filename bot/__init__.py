"""The AI assistant bot: a matrix-nio client that answers through Ollama."""
