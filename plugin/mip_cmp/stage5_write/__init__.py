"""The last stage: writing the objects the gate let through, as deterministic YAML within the output limit
(`emit`, with `fastyaml`, the direct writer)."""
