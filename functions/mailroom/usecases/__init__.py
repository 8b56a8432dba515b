"""Use cases: what the CLI, the API and local mode do, each over small Protocols (ports)."""
