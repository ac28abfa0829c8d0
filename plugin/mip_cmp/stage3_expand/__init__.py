"""The expansion: validated models in, Kubernetes objects (plain dicts) out. Pure: no I/O, no printing.

Objects are built as data, never by templating YAML text, and in a fixed order, so the same input always
gives the same output. One module per family: `argocd` (the shapes every other module builds from),
`secrets` (External Secrets), `infrastructure` (platform components), `policies` (one namespace's
NetworkPolicies), `network` (where they are rendered), `federation` (a federation directory), `platform` (the
repository root). The pipeline picks what
to expand for a component; nothing here reads Argo CD's environment, only the revision being rendered.
"""
