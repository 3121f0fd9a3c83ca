"""The user's project: config, articles, prompts, schemas, gold."""
