"""Which Demucs weights this machine has, and getting more: ``cratebot models``.

Weights live in one model folder in demucs' own repo format (``NAME.yaml`` bags plus
``SIG-CHECKSUM.th`` files), which ``core.stems.models.load_model`` reads first; the
HuggingFace and torch hub caches are only looked at. Downloads go through
``torch.hub.download_url_to_file`` with the checksum demucs puts in each file name,
so a truncated or tampered file is never installed.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from core.errors import BadInput, NotAvailable
from core.stems import models as m


@dataclass(frozen=True)
class ModelStatus:
    name: str
    present: bool
    where: str  # the folder that has it, or what is missing


def _file_names(name: str) -> list[str]:
    """``.th`` file names the legacy repo lists for ``name`` (empty when unknown)."""
    signatures = m._legacy_signatures(name) or []
    urls = m._remote_files()
    return list(dict.fromkeys(urls[sig].rsplit("/", 1)[-1] for sig in signatures if sig in urls))


def _in_folder(name: str, folder: Path) -> bool:
    if not folder.is_dir():
        return False
    present = {p.stem.split("-", 1)[0] for p in folder.glob("*.th")}
    signatures = m._legacy_signatures(name) or [name]
    yaml_file = folder / f"{name}.yaml"
    if yaml_file.is_file():
        try:
            signatures = m._bag_signatures(yaml_file)
        except NotAvailable:
            return False
    return all(sig in present for sig in signatures)


def status(name: str, repo: Path) -> ModelStatus:
    if name == m.UNITTEST_MODEL:
        return ModelStatus(name, True, "built by demucs, no weights needed")
    if _in_folder(name, repo):
        return ModelStatus(name, True, str(repo))
    checkpoints = m.torch_hub_checkpoints()
    files = _file_names(name)
    if files and all((checkpoints / f).is_file() for f in files):
        return ModelStatus(name, True, f"{checkpoints} (torch hub cache)")
    try:
        from demucs.hf import hf_repo_name
        from huggingface_hub import try_to_load_from_cache

        repo_id = f"{m._HF_NAMESPACE}/{hf_repo_name(name)}"
        if isinstance(try_to_load_from_cache(repo_id, f"{name}.yaml"), str):
            return ModelStatus(name, True, f"{m.hf_cache_dir()} (HuggingFace cache)")
    except Exception:  # noqa: BLE001 - an unreadable cache just means "not there"
        pass
    return ModelStatus(name, False, "missing: " + (", ".join(files) or f"{name}.yaml"))


def list_models(repo: Path) -> list[ModelStatus]:
    return [status(name, repo) for name in [*m.known_model_names(), m.UNITTEST_MODEL]]


def search_path(repo: Path) -> list[str]:
    return [
        f"{repo} (model folder: --model-repo / CRATEBOT_DEMUCS_REPO / CRATEBOT_HOME/models)",
        f"{m.hf_cache_dir()} (HuggingFace cache)",
        f"{m.torch_hub_checkpoints()} (torch hub cache)",
    ]


def _checksum_ok(path: Path) -> bool:
    """demucs names weights ``SIG-CHECKSUM.th``: CHECKSUM is the start of their sha256."""
    stem = path.stem
    if "-" not in stem:
        return True
    expected = stem.split("-", 1)[1]
    with path.open("rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    return digest.startswith(expected)


def fetch(name: str, repo: Path) -> list[Path]:
    """Download ``name``'s weights into ``repo``, checking each file's checksum."""
    if name == m.UNITTEST_MODEL:
        return []
    signatures = m._legacy_signatures(name)
    if signatures is None:
        raise BadInput(f"unknown Demucs model '{name}' (see `cratebot models list`)")
    if not m.hub_reachable("dl.fbaipublicfiles.com", 443):
        raise NotAvailable(
            "the Demucs download server cannot be reached from here; fetch on a machine "
            f"with internet, then `cratebot models import DIR` (files: {', '.join(_file_names(name))})"
        )
    import torch

    repo.mkdir(parents=True, exist_ok=True)
    urls = m._remote_files()
    written = []
    yaml_src = m.remote_root() / f"{name}.yaml"
    if yaml_src.is_file():
        shutil.copyfile(yaml_src, repo / yaml_src.name)
        written.append(repo / yaml_src.name)
    for sig in signatures:
        url = urls[sig]
        target = repo / url.rsplit("/", 1)[-1]
        if target.is_file() and _checksum_ok(target):
            continue
        checksum = target.stem.split("-", 1)[1] if "-" in target.stem else None
        partial = target.with_suffix(".part")
        try:
            torch.hub.download_url_to_file(url, str(partial), hash_prefix=checksum, progress=True)
        except Exception as exc:  # urllib/torch raise many kinds; each means "not fetched"
            partial.unlink(missing_ok=True)
            raise NotAvailable(f"downloading {url} failed: {exc}") from exc
        partial.replace(target)
        written.append(target)
    return written


def import_folder(source: Path, repo: Path) -> tuple[list[Path], list[str]]:
    """Copy ``*.th`` and ``*.yaml`` from ``source`` into ``repo``; (copied, problems)."""
    source = source.expanduser()
    if not source.is_dir():
        raise BadInput(f"{source}: no such folder")
    candidates = sorted([*source.glob("*.th"), *source.glob("*.yaml")])
    if not candidates:
        raise BadInput(f"{source}: no Demucs files (*.th weights, *.yaml bag definitions)")
    repo.mkdir(parents=True, exist_ok=True)
    copied: list[Path] = []
    problems: list[str] = []
    for path in candidates:
        if path.suffix == ".th" and not _checksum_ok(path):
            problems.append(f"{path.name}: checksum does not match its name; not imported")
            continue
        target = repo / path.name
        if target.resolve() != path.resolve():
            tmp = target.with_suffix(target.suffix + ".part")
            shutil.copyfile(path, tmp)
            tmp.replace(target)
        copied.append(target)
    return copied, problems
