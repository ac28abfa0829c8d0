"""Where the contract with the outside lives: plugin parameters, plugin.yaml, the JSON Schema, the reference."""
