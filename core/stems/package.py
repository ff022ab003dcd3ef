"""Zip the output files and the manifest, and check a zip against its manifest."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from core.stems.manifest import MANIFEST_NAME

# MP3 and FLAC are already compressed; deflating them again only costs time.
_STORED_SUFFIXES = {".mp3", ".flac"}


def write_zip(zip_path: Path, files: list[Path], manifest_path: Path) -> Path:
    tmp = zip_path.with_suffix(".zip.part")
    with zipfile.ZipFile(tmp, "w", allowZip64=True) as archive:
        for path in [*files, manifest_path]:
            method = zipfile.ZIP_STORED if path.suffix in _STORED_SUFFIXES else zipfile.ZIP_DEFLATED
            archive.write(path, arcname=path.name, compress_type=method)
    tmp.replace(zip_path)
    return zip_path


def read_zip_manifest(zip_path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(zip_path) as archive:
        manifest: dict[str, Any] = json.loads(archive.read(MANIFEST_NAME))
        return manifest


def zip_matches_manifest(zip_path: Path) -> list[str]:
    """Differences between a zip's members and its manifest's file list (empty: they match)."""
    problems = []
    with zipfile.ZipFile(zip_path) as archive:
        infos = {info.filename: info for info in archive.infolist()}
        manifest = json.loads(archive.read(MANIFEST_NAME))
    listed = {entry["file"]: entry for entry in manifest["files"]}
    for name in sorted(set(infos) - set(listed) - {MANIFEST_NAME}):
        problems.append(f"{name} is in the zip but not in the manifest")
    for name, entry in sorted(listed.items()):
        info = infos.get(name)
        if info is None:
            problems.append(f"{name} is in the manifest but not in the zip")
        elif info.file_size != entry["size_bytes"]:
            problems.append(
                f"{name}: {info.file_size} bytes in the zip, {entry['size_bytes']} in the manifest"
            )
    return problems
