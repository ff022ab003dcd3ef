"""``/api/v1/docs``: the OpenAPI document as a plain HTML page, rendered here.

Server-side so the page works offline and loads nothing from a CDN (Swagger UI or
Redoc would need their JavaScript bundles shipped or fetched).
"""

from __future__ import annotations

import json
from html import escape
from typing import Any


def _schema_text(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f'<a href="#schema-{escape(name)}">{escape(name)}</a>'
    if "anyOf" in schema:
        parts = [_schema_text(s) for s in schema["anyOf"]]
        return " | ".join(parts)
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {_schema_text(schema.get('items', {}))}"
    extra = []
    if "enum" in schema:
        extra.append("one of " + ", ".join(escape(json.dumps(v)) for v in schema["enum"]))
    for key, word in (("minimum", "≥"), ("maximum", "≤"), ("maxLength", "length ≤")):
        if key in schema:
            extra.append(f"{word} {schema[key]}")
    if "format" in schema:
        extra.append(escape(str(schema["format"])))
    text = escape(str(kind))
    return text + (f" ({'; '.join(extra)})" if extra else "")


def _properties(schema: dict[str, Any]) -> str:
    required = set(schema.get("required", ()))
    rows = []
    for name, prop in schema.get("properties", {}).items():
        flag = " <em>required</em>" if name in required else ""
        rows.append(
            f"<tr><td><code>{escape(name)}</code>{flag}</td><td>{_schema_text(prop)}</td>"
            f"<td>{escape(prop.get('description', ''))}</td></tr>"
        )
    if not rows:
        return ""
    return (
        "<table><tr><th>field</th><th>type</th><th>meaning</th></tr>" + "".join(rows) + "</table>"
    )


def render(spec: dict[str, Any]) -> str:
    info = spec["info"]
    out = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{escape(info['title'])}</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;"
        "padding:0 1rem;line-height:1.45}code,pre{background:#f4f4f4;padding:.1rem .3rem}"
        "table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;"
        "padding:.25rem .5rem;text-align:left;vertical-align:top}"
        ".op{border-top:2px solid #333;margin-top:1.5rem}.m{font-weight:bold}</style>",
        "</head><body>",
        f"<h1>{escape(info['title'])} <small>{escape(info['version'])}</small></h1>",
        f"<p>{escape(info.get('description', ''))}</p>",
        "<p>Machine-readable: <a href='openapi.json'>openapi.json</a> (OpenAPI "
        f"{escape(spec['openapi'])}).</p><h2>Endpoints</h2>",
    ]
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            out.append(
                f"<div class='op' id='{escape(op['operationId'])}'><h3><span class='m'>"
                f"{method.upper()}</span> <code>{escape(path)}</code></h3>"
                f"<p>{escape(op['summary'])}</p>"
            )
            if op.get("description"):
                out.append(f"<p>{escape(op['description'])}</p>")
            if not op.get("security"):
                out.append("<p><em>No token needed.</em></p>")
            params = op.get("parameters", [])
            if params:
                out.append("<h4>Parameters</h4><table><tr><th>name</th><th>in</th>")
                out.append("<th>type</th><th>meaning</th></tr>")
                for p in params:
                    out.append(
                        f"<tr><td><code>{escape(p['name'])}</code></td><td>{p['in']}</td>"
                        f"<td>{_schema_text(p['schema'])}</td>"
                        f"<td>{escape(p['description'])}</td></tr>"
                    )
                out.append("</table>")
            body = op.get("requestBody")
            if body:
                for media, content in body["content"].items():
                    out.append(f"<h4>Request body ({escape(media)})</h4>")
                    out.append(_properties(content["schema"]))
            out.append("<h4>Responses</h4><table>")
            for status, reply in op["responses"].items():
                kinds = ", ".join(
                    f"{escape(m)}: {_schema_text(c.get('schema', {}))}"
                    for m, c in reply.get("content", {}).items()
                )
                out.append(
                    f"<tr><td>{escape(status)}</td><td>{escape(reply['description'])}</td>"
                    f"<td>{kinds}</td></tr>"
                )
            out.append("</table></div>")
    out.append("<h2>Schemas</h2>")
    for name, schema in spec["components"]["schemas"].items():
        out.append(f"<h3 id='schema-{escape(name)}'>{escape(name)}</h3>")
        if schema.get("description"):
            out.append(f"<p>{escape(schema['description'])}</p>")
        out.append(_properties(schema))
    out.append("</body></html>")
    return "\n".join(out)
