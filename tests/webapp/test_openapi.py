"""The OpenAPI document against the app's routes, both ways: every /api/ route is described with its
methods, parameters and who may call it, and everything described exists."""

import re

import pytest

from webapp.openapi import DOCUMENT

IGNORED_METHODS = {"HEAD", "OPTIONS"}
PARAMETER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")  # <name> or <int:number>


@pytest.fixture
def app(tiny_model):
    from webapp import create_app

    return create_app(model=tiny_model)


def api_rules(app) -> dict[tuple[str, str], str]:
    """{(OpenAPI-style path, method): endpoint} of every route under /api/."""
    return {
        (PARAMETER.sub(r"{\1}", rule.rule), method): rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in rule.methods - IGNORED_METHODS
    }


def documented() -> dict[tuple[str, str], dict]:
    return {
        (path, method.upper()): operation
        for path, operations in DOCUMENT["paths"].items()
        for method, operation in operations.items()
    }


def test_every_api_route_is_documented_and_every_documented_route_exists(app):
    routes, described = set(api_rules(app)), set(documented())
    assert routes - described == set(), "routes missing from the document"
    assert described - routes == set(), "documented routes the app doesn't have"
    assert ("/api/v1/predict", "POST") in routes and ("/api/save_data", "POST") in routes


def test_path_parameters_match_the_routes():
    for (path, method), operation in documented().items():
        in_path = set(re.findall(r"{(\w+)}", path))
        declared = {
            parameter["name"]
            for parameter in operation.get("parameters", [])
            if parameter["in"] == "path"
        }
        assert declared == in_path, f"{method} {path}"


def test_security_is_documented_exactly_where_the_admin_token_is_needed(app):
    for key, endpoint in api_rules(app).items():
        # wraps keeps the name, not the code
        guarded = app.view_functions[endpoint].__code__.co_qualname.startswith("api_admin.")
        operation = documented()[key]
        assert ("security" in operation) == guarded, key
        assert ("401" in operation["responses"]) == guarded, key


def test_every_reference_resolves_and_every_operation_can_succeed():
    schemas = DOCUMENT["components"]["schemas"]
    text = repr(DOCUMENT)
    for name in re.findall(r"#/components/schemas/(\w+)", text):
        assert name in schemas
    for key, operation in documented().items():
        assert operation["summary"], key
        assert any(status.startswith("2") for status in operation["responses"]), key


def test_the_document_is_served(app):
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.json == DOCUMENT
    assert response.json["openapi"] == "3.1.0"
