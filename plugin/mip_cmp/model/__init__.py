"""The mip.yaml format, defined once: these models are the parser, the validator and the JSON Schema.

Two kinds share one apiVersion: a `Platform` at the repository root (model/platform.py) and one `Federation` per
federation directory (model/federation.py), made of the parts the other modules define. Everything that can be
derived (names, namespaces, projects, labels) is left out on purpose.

Built for a cold start too (`mip-cmp generate` without the warm renderer imports these modules every time):
annotations are evaluated where they are written, not kept as strings for pydantic to evaluate again (no
`from __future__ import annotations` in the package; a validator returning its own class names it in quotes),
and a model's validator is built when it is first used (defer_build, model/fields.py): validating a Platform
builds the schemas of the models inside it once, as part of its own, without a validator of their own
(docs/performance.md).
"""

from .federation import Federation
from .platform import Platform

KINDS: dict[str, type[Platform] | type[Federation]] = {"Platform": Platform, "Federation": Federation}
