"""The first stage: reading the repository. Argo CD's environment, the checkout's files (every path inside the
root), safe YAML with positions, what an overlay's kustomization names, the values' templates, and a whole
platform read and bound (`loading`, which has each file and the files together checked by `check/`)."""
