"""The shapes every part of the mip.yaml format is made of: the base model (strict, frozen, built when first
used), the constrained strings (names, URLs, paths, labels) and the empty defaults.

No `from __future__ import annotations` here (model/__init__.py says why).
"""

from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, JsonValue, StringConstraints

from ..core.coldstart import skip_plugin_scan

skip_plugin_scan()  # before the first model of the package is built (coldstart.py says why)

API_VERSION: Final = "mip-cmp.io/v1alpha1"

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"

# A DNS-1123 label: the shape of namespaces, project names and most Kubernetes names.
Name = Annotated[str, StringConstraints(strict=True, pattern=DNS_LABEL, max_length=63)]
# Federation names become namespaces, projects and prefixes of Application names, hence shorter.
FederationName = Annotated[str, StringConstraints(strict=True, pattern=DNS_LABEL, max_length=40)]
Text = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=2048)]
Url = Annotated[str, StringConstraints(strict=True, pattern=r"^(https?://|ssh://|git@)\S+$", max_length=2048)]
RepoPath = Annotated[
    str,
    StringConstraints(strict=True, pattern=r"^(\.|[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*)$", max_length=512),
]
SecretKey = Annotated[str, StringConstraints(strict=True, pattern=r"^[-._a-zA-Z0-9]+$", max_length=253)]
Group = Annotated[str, StringConstraints(strict=True, pattern=r"^[A-Za-z0-9_.@:/-]+$", max_length=256)]
Values = dict[str, JsonValue]
# A Helm value by its keys joined with dots (keys holding a dot cannot be named this way).
ValuePath = Annotated[str, StringConstraints(strict=True, pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$",
                                            max_length=512)]
LabelKey = Annotated[str, StringConstraints(
    strict=True, max_length=316,
    pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
            r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")]
LabelValue = Annotated[str, StringConstraints(
    strict=True, pattern=r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")]
GroupName = Annotated[str, StringConstraints(strict=True, pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?"
                                                                  r"(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)?$",
                                             max_length=253)]
KindName = Annotated[str, StringConstraints(strict=True, pattern=r"^[A-Z][A-Za-z0-9]*$", max_length=63)]
FederationType = Literal["local", "hybrid"]
FEDERATION_TYPES: tuple[FederationType, ...] = ("local", "hybrid")


# Empty lists and mappings come from these functions, not from the builtins `list` and `dict`: pydantic asks
# every default factory's signature whether it takes the validated data, and a builtin's signature is parsed
# from text (inspect, tokenize): ~6 ms of a cold `generate` over these models (docs/performance.md).
def no_items() -> list[Any]:
    return []


def no_entries() -> dict[Any, Any]:
    return {}


class Strict(BaseModel):
    """Unknown keys are errors, nothing is coerced, and parsed models cannot be changed afterwards."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)  # model/__init__.py
