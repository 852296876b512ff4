"""The services' HTTP contract: the OpenAPI 3.1 document served at /api/openapi.json, with its
schemas generated from the same pydantic models the adapters exchange, so they cannot drift."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from services.directory import OfficeAnswer

API_VERSION = "0.1.0"


def openapi_document() -> dict[str, Any]:
    _, schemas = models_json_schema([(OfficeAnswer, "serialization")],
                                    ref_template="#/components/schemas/{model}")
    error = {"description": "Missing or invalid parameter",
             "content": {"text/plain": {"schema": {"type": "string"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "12367 ONLINE services", "version": API_VERSION,
                 "description": "The NIA online services behind the 12367 ONLINE chat."},
        "paths": {
            "/api/offices": {
                "get": {
                    "operationId": "findOffices",
                    "summary": "Exit-entry offices of a city or province",
                    "description": "Offices of a city, or of every city of a province, named in "
                                   "Chinese (either script) or English. Unverified fields are null "
                                   "(phone: []); `directory` says where to look them up.",
                    "parameters": [
                        {"name": "place", "in": "query", "required": True,
                         "schema": {"type": "string", "minLength": 1, "maxLength": 64}},
                        {"name": "lang", "in": "query", "required": False,
                         "schema": {"type": "string", "enum": ["zh", "en"], "default": "zh"}},
                    ],
                    "responses": {
                        "200": {"description": "The offices found (possibly none)",
                                "content": {"application/json": {
                                    "schema": {"$ref": "#/components/schemas/OfficeAnswer"}}}},
                        "400": error,
                    },
                },
            },
        },
        "components": {"schemas": schemas["$defs"]},
    }
