"""Which plain YAML scalars may read back as something other than text: a fact both the reader and the writer
use to skip PyYAML's resolver for the common case (a value that is plainly text)."""

from __future__ import annotations

from yaml.resolver import Resolver

# PyYAML's resolver picks the implicit tags of a plain scalar by its first character: a non-empty plain scalar
# that starts with none of these reads back as a string, without asking it.
MAYBE_NOT_TEXT = frozenset(first for first in Resolver.yaml_implicit_resolvers if first)
assert None not in Resolver.yaml_implicit_resolvers and not Resolver.yaml_path_resolvers
