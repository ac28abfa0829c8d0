"""buildenv on its own: what Argo CD passes in the environment, read once; every refusal says why."""

from __future__ import annotations

import json

import pytest

from mip_cmp.contract.params import APPSET_BINDING, binding, string_parameter
from mip_cmp.core.errors import MipError
from mip_cmp.stage1_read.buildenv import BuildEnv, from_environ


def params(*items: object) -> dict[str, str]:
    return {"ARGOCD_APP_PARAMETERS": json.dumps(list(items))}


def test_nothing_set_is_the_platform_at_head() -> None:
    assert from_environ({}) == BuildEnv()
    assert (BuildEnv().target_revision, BuildEnv().federation, BuildEnv().component) == ("HEAD", "", "")


def test_what_argo_cd_passes() -> None:
    env = from_environ({"ARGOCD_APP_SOURCE_TARGET_REVISION": " feature/x ", "ARGOCD_APP_SOURCE_PATH": "a/b",
                        **params(*binding("federation-a", "federations/federation-a", "secrets"))})
    assert (env.target_revision, env.source_path) == ("feature/x", "a/b")
    assert (env.federation, env.directory, env.component) == ("federation-a", "federations/federation-a", "secrets")


@pytest.mark.parametrize("raw", ["", "null", "[]", " null "])
def test_no_parameters(raw: str) -> None:
    assert from_environ({"ARGOCD_APP_PARAMETERS": raw}).params == {}


def test_without_the_json_the_param_variables_count() -> None:
    env = from_environ({"PARAM_FEDERATION": "federation-a", "PARAM_COMPONENT": "secrets", "PARAM_OTHER": "x"})
    assert env.params == {"federation": "federation-a", "component": "secrets"}


@pytest.mark.parametrize(("environ", "message"), [
    ({"ARGOCD_APP_PARAMETERS": "{["}, "ARGOCD_APP_PARAMETERS is not valid JSON"),
    ({"ARGOCD_APP_PARAMETERS": "[" * 100_000}, "ARGOCD_APP_PARAMETERS is not valid JSON"),
    ({"ARGOCD_APP_PARAMETERS": "{}"}, "ARGOCD_APP_PARAMETERS must be a JSON array"),
    (params("federation"), "plugin parameter None is not one mip-cmp knows; known: app, component, directory, "
                           "federation"),
    (params(string_parameter("project", "x")), "plugin parameter 'project' is not one mip-cmp knows; known: "
                                               "app, component, directory, federation"),
    (params({"name": "federation", "array": ["a"]}), "plugin parameter 'federation' must be a string parameter"),
    (params({"name": "federation", "string": "a", "map": {}}),
     "plugin parameter 'federation' must be a string parameter"),
    (params(string_parameter("federation", "a"), string_parameter("federation", "b")),
     "plugin parameter 'federation' is given more than once"),
    (params(string_parameter("component", "projects")),
     "plugin parameter 'component' must be one of '', 'secrets', 'objects', 'network', not 'projects'"),
    ({"PARAM_COMPONENT": "x"}, "plugin parameter 'component' must be one of '', 'secrets', 'objects', 'network', not 'x'"),
])
def test_refused(environ: dict[str, str], message: str) -> None:
    with pytest.raises(MipError) as caught:
        from_environ(environ)
    assert caught.value.lines() == [message]


def test_the_parameter_shapes() -> None:
    assert string_parameter("a", "b") == {"name": "a", "string": "b"}
    assert binding("f", "d") == [{"name": "federation", "string": "f"}, {"name": "directory", "string": "d"}]
    assert binding("f", "d", "secrets")[-1] == {"name": "component", "string": "secrets"}
    assert binding("{{ .name }}", "{{ .path }}") == APPSET_BINDING
