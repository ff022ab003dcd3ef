"""A small OpenAPI 3.1 generator: declared operations plus pydantic models in, a document out.

Written here rather than taken from a library: aiohttp-pydantic (the aiohttp-native
option) validates JSON bodies and query strings but has no way to declare a streamed
multipart upload, and its docs page needs the Swagger UI bundle; apispec needs a
third-party plugin for pydantic 2. Pydantic already emits JSON Schema 2020-12, which
is exactly the schema dialect of OpenAPI 3.1, so all that is left is arranging paths,
parameters and responses — about a hundred lines.

Features register :class:`Operation` objects on an :class:`ApiRoutes`; the same
objects add the aiohttp routes and describe them, so an undocumented route cannot exist.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
REF = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Reply:
    """One documented response: a model (JSON), or a media type with a raw schema."""

    description: str
    model: type[BaseModel] | None = None
    media_type: str = "application/json"
    schema: dict[str, Any] | None = None


@dataclass(frozen=True)
class Param:
    name: str
    location: str  # path | query | header
    description: str
    schema: dict[str, Any]
    required: bool = False


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # the OpenAPI template, e.g. /api/v1/jobs/{id}
    handler: Handler
    operation_id: str
    summary: str
    responses: dict[int, Reply]
    description: str = ""
    params: tuple[Param, ...] = ()
    # A raw requestBody object; ``{model}`` refs inside are resolved by ``request_models``.
    request_body: dict[str, Any] | None = None
    request_models: tuple[type[BaseModel], ...] = ()
    secured: bool = True
    tags: tuple[str, ...] = ()
    route: str | None = None  # the aiohttp path when it differs (e.g. "{name:.+}")


@dataclass
class ApiRoutes:
    title: str
    version: str
    description: str = ""
    operations: list[Operation] = field(default_factory=list)

    def add(self, *operations: Operation) -> None:
        self.operations.extend(operations)

    def register(self, app: web.Application) -> None:
        for op in self.operations:
            app.router.add_route(op.method, op.route or op.path, op.handler)

    def spec(self, servers: Iterable[str] = ()) -> dict[str, Any]:
        out_models: set[type[BaseModel]] = set()
        in_models: set[type[BaseModel]] = set()
        for op in self.operations:
            out_models.update(r.model for r in op.responses.values() if r.model is not None)
            in_models.update(op.request_models)
        pairs: list[tuple[type[BaseModel], Any]] = [
            (m, "serialization") for m in sorted(out_models, key=lambda m: m.__name__)
        ]
        pairs += [(m, "validation") for m in sorted(in_models, key=lambda m: m.__name__)]
        _, top = models_json_schema(pairs, ref_template=REF)
        paths: dict[str, dict[str, Any]] = {}
        for op in self.operations:
            paths.setdefault(op.path, {})[op.method.lower()] = self._operation(op)
        doc: dict[str, Any] = {
            "openapi": "3.1.0",
            "info": {"title": self.title, "version": self.version, "description": self.description},
            "paths": paths,
            "components": {
                "schemas": top.get("$defs", {}),
                "securitySchemes": {
                    "bearer": {
                        "type": "http",
                        "scheme": "bearer",
                        "description": "an API token from `cratebot tokens create` or /token",
                    }
                },
            },
        }
        if servers:
            doc["servers"] = [{"url": url} for url in servers]
        return doc

    def _operation(self, op: Operation) -> dict[str, Any]:
        out: dict[str, Any] = {
            "operationId": op.operation_id,
            "summary": op.summary,
            "responses": {str(status): _reply(r) for status, r in sorted(op.responses.items())},
        }
        if op.description:
            out["description"] = op.description
        if op.tags:
            out["tags"] = list(op.tags)
        if op.params:
            out["parameters"] = [
                {
                    "name": p.name,
                    "in": p.location,
                    "description": p.description,
                    "required": p.required or p.location == "path",
                    "schema": p.schema,
                }
                for p in op.params
            ]
        if op.request_body is not None:
            out["requestBody"] = op.request_body
        out["security"] = [{"bearer": []}] if op.secured else []
        return out


def ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _reply(reply: Reply) -> dict[str, Any]:
    out: dict[str, Any] = {"description": reply.description}
    if reply.model is not None:
        out["content"] = {reply.media_type: {"schema": ref(reply.model)}}
    elif reply.schema is not None:
        out["content"] = {reply.media_type: {"schema": reply.schema}}
    return out
