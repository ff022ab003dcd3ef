"""The job form (multipart/form-data), read part by part with every size bounded.

Files go straight to disk in chunks, so an upload never sits in memory, and reading
stops (413) the moment a file passes the cap — before the rest is even received.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import BodyPartReader, web

from bot.web.api.errors import ApiError

CHUNK = 256 * 1024
MAX_FIELD_BYTES = 64 * 1024
MAX_PARTS = 24
MAX_FILES = 16
TEXT_FIELDS = ("kind", "source", "params")


@dataclass
class JobForm:
    kind: str = ""
    source: str = ""
    params: str = ""
    files: list[Path] = field(default_factory=list)

    def discard(self) -> None:
        """Delete the uploaded files (and the folders made for them)."""
        for path in self.files:
            shutil.rmtree(path.parent, ignore_errors=True)
        self.files.clear()


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


async def _text(part: BodyPartReader, name: str) -> str:
    data = bytearray()
    while chunk := await part.read_chunk(CHUNK):
        data += chunk
        if len(data) > MAX_FIELD_BYTES:
            raise ApiError(413, f"form field {name!r} is over {MAX_FIELD_BYTES // 1024} KB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(422, f"form field {name!r} is not UTF-8 text") from None


async def _save(part: BodyPartReader, dest: Path, limit: int) -> None:
    size = 0
    with dest.open("wb") as out:
        while chunk := await part.read_chunk(CHUNK):
            size += len(chunk)
            if size > limit:
                raise ApiError(413, f"the file is larger than the {_mb(limit)} limit")
            out.write(chunk)
    if size == 0:
        raise ApiError(422, "the uploaded file is empty")


async def read_job_form(
    request: web.Request, file_limit: int, new_path: Callable[[str], Path]
) -> JobForm:
    """The form's fields and saved files; on any error the saved files are removed."""
    if request.content_type != "multipart/form-data":
        raise ApiError(
            415, "send multipart/form-data with the fields kind, file or source, and params"
        )
    total_limit = file_limit * MAX_FILES + MAX_PARTS * MAX_FIELD_BYTES
    if request.content_length is not None and request.content_length > total_limit:
        raise ApiError(413, f"the request is larger than the {_mb(total_limit)} limit")
    form = JobForm()
    seen: set[str] = set()
    try:
        reader = await request.multipart()
        parts = 0
        while (part := await reader.next()) is not None:
            parts += 1
            if parts > MAX_PARTS:
                raise ApiError(422, f"too many form parts (at most {MAX_PARTS})")
            if not isinstance(part, BodyPartReader):
                raise ApiError(422, "nested multipart bodies are not accepted")
            name = part.name or ""
            if name == "file":
                if len(form.files) >= MAX_FILES:
                    raise ApiError(422, f"at most {MAX_FILES} files per job")
                dest = new_path(part.filename or "upload")
                form.files.append(dest)
                await _save(part, dest, file_limit)
            elif name in TEXT_FIELDS:
                if name in seen:
                    raise ApiError(422, f"form field {name!r} given twice")
                setattr(form, name, await _text(part, name))
                seen.add(name)
            else:
                raise ApiError(
                    422, f"unknown form field {name[:40]!r}; use kind, file, source and params"
                )
        return form
    except ApiError:
        form.discard()
        raise
    except (ValueError, AssertionError, UnicodeDecodeError, LookupError) as exc:
        # aiohttp's multipart reader raises these for bodies that are not multipart.
        form.discard()
        raise ApiError(400, "malformed multipart/form-data body") from exc
    except BaseException:
        with contextlib.suppress(Exception):
            form.discard()
        raise
