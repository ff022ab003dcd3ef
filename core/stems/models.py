"""Load a Demucs model by name, the way ``demucs.pretrained.get_model`` does, without its waits.

Demucs 4.1 looks a name up on the HuggingFace hub (with a retry loop that takes
about 20 s to give up when offline) and then on the legacy AWS repo. Here the
places that need no network are tried first, with demucs' own loaders:

1. a local repo folder (``--model-repo`` / ``CRATEBOT_DEMUCS_REPO``) in demucs'
   format, ``*.th`` packages plus ``NAME.yaml`` bags, loaded by
   ``get_model(name, repo=folder)``;
2. the HuggingFace cache (``NAME.yaml`` + ``SIG.safetensors``), loaded with
   ``demucs.hf.load_safetensors_model``;
3. the torch hub cache (``SIG-CHECKSUM.th`` from the legacy repo), loaded by
   demucs' ``RemoteRepo``, which reads a cached file without downloading.

Only when none has the weights, and the hub answers within a few seconds, is the
download left to demucs. Otherwise the error names the model, every folder
searched and how to supply weights.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import BadInput, NotAvailable

DEFAULT_MODEL = "htdemucs"
UNITTEST_MODEL = "demucs_unittest"  # built by demucs without weights
_HF_NAMESPACE = "adefossez"
_HUB_HOST = "huggingface.co"
_HUB_PORT = 443
_PROBE_TIMEOUT_S = 3.0
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass
class LoadedModel:
    """A ready (eval mode) demucs model or bag of models, and where it came from."""

    name: str
    model: Any  # demucs.apply.Model | demucs.apply.BagOfModels
    origin: str

    @property
    def sources(self) -> list[str]:
        return list(self.model.sources)

    @property
    def samplerate(self) -> int:
        return int(self.model.samplerate)

    @property
    def audio_channels(self) -> int:
        return int(self.model.audio_channels)

    @property
    def submodels(self) -> list[Any]:
        from demucs.apply import BagOfModels

        return list(self.model.models) if isinstance(self.model, BagOfModels) else [self.model]

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "origin": self.origin,
            "class": type(self.model).__name__,
            "submodels": [type(m).__name__ for m in self.submodels],
            "sources": self.sources,
            "samplerate": self.samplerate,
            "audio_channels": self.audio_channels,
            "segment_s": [float(m.segment) for m in self.submodels],
            "parameters": sum(p.numel() for p in self.model.parameters()),
        }


def remote_root() -> Path:
    from demucs.pretrained import REMOTE_ROOT

    return Path(REMOTE_ROOT)


def _remote_files() -> dict[str, str]:
    """Signature -> download URL, from the list demucs ships."""
    from demucs.pretrained import _parse_remote_files

    return _parse_remote_files(remote_root() / "files.txt")


def known_model_names() -> list[str]:
    """Every pretrained bag name demucs 4.1 ships a definition for (htdemucs, mdx_extra, ...)."""
    return sorted(p.stem for p in remote_root().glob("*.yaml"))


def _bag_signatures(yaml_file: Path) -> list[str]:
    import yaml

    with open(yaml_file) as handle:
        bag = yaml.safe_load(handle) or {}
    models = bag.get("models")
    if not isinstance(models, list) or not models:
        raise NotAvailable(f"{yaml_file}: not a demucs bag definition (no 'models' list)")
    return [str(sig) for sig in models]


def hf_cache_dir() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def torch_hub_checkpoints() -> Path:
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints"


def hub_reachable(
    host: str | None = None, port: int | None = None, timeout_s: float = _PROBE_TIMEOUT_S
) -> bool:
    """Can a TCP connection to ``host`` be opened within ``timeout_s``?

    Runs in a daemon thread because name resolution ignores socket timeouts and
    can hang for much longer on a machine without DNS.
    """
    address = (host or _HUB_HOST, port or _HUB_PORT)
    result: list[bool] = []

    def attempt() -> None:
        try:
            with socket.create_connection(address, timeout=timeout_s):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(timeout_s)
    return bool(result and result[0])


def _offline_by_env() -> bool:
    return any(
        os.environ.get(key, "").strip().lower() in {"1", "true", "yes", "on"}
        for key in ("HF_HUB_OFFLINE", "CRATEBOT_OFFLINE")
    )


def _unittest_model() -> LoadedModel:
    from demucs.pretrained import demucs_unittest

    # demucs builds this small model itself with untrained weights: the output is not a
    # separation, but the whole stems path can be tried without any download.
    model = demucs_unittest()  # type: ignore[no-untyped-call]
    return LoadedModel(UNITTEST_MODEL, _eval(model), "built by demucs (untrained)")


def _eval(model: Any) -> Any:
    model.eval()
    return model


def _from_local_repo(name: str, repo: Path) -> LoadedModel | None:
    from demucs.pretrained import get_model
    from demucs.repo import ModelLoadingError

    if not repo.is_dir():
        raise BadInput(f"model folder {repo} does not exist or is not a folder")
    th_sigs = {p.stem.rsplit("-", 1)[0] if "-" in p.stem else p.stem for p in repo.glob("*.th")}
    yaml_file = repo / f"{name}.yaml"
    if name not in th_sigs and not yaml_file.is_file():
        return None
    if name not in th_sigs:
        missing = [sig for sig in _bag_signatures(yaml_file) if sig not in th_sigs]
        if missing:
            raise NotAvailable(
                f"Demucs model '{name}': {yaml_file} lists "
                f"{', '.join(missing)} but {repo} has no matching .th file "
                f"({', '.join(f'{sig}.th or {sig}-CHECKSUM.th' for sig in missing)})"
            )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = get_model(name, repo=repo)
    except ModelLoadingError as exc:
        raise NotAvailable(f"Demucs model '{name}' in {repo} cannot be loaded: {exc}") from exc
    return LoadedModel(name, _eval(model), f"local repo {repo}")


def _from_hf_cache(name: str, cache_dir: Path) -> LoadedModel | None:
    from demucs.apply import BagOfModels
    from demucs.hf import hf_repo_name, load_safetensors_model
    from huggingface_hub import try_to_load_from_cache

    repo_id = f"{_HF_NAMESPACE}/{hf_repo_name(name)}"
    cached = try_to_load_from_cache(repo_id, f"{name}.yaml", cache_dir=cache_dir)
    if not isinstance(cached, str):
        return None
    import yaml

    with open(cached) as handle:
        bag = yaml.safe_load(handle)
    paths = []
    for sig in bag["models"]:
        path = try_to_load_from_cache(repo_id, f"{sig}.safetensors", cache_dir=cache_dir)
        if not isinstance(path, str):
            return None
        paths.append(path)
    models = [load_safetensors_model(path) for path in paths]
    model = BagOfModels(models, bag.get("weights"), bag.get("segment"))
    return LoadedModel(name, _eval(model), f"HuggingFace cache {cache_dir}")


def _legacy_signatures(name: str) -> list[str] | None:
    yaml_file = remote_root() / f"{name}.yaml"
    if yaml_file.is_file():
        return _bag_signatures(yaml_file)
    if name in _remote_files():
        return [name]
    return None


def _from_torch_hub(name: str, checkpoints: Path) -> LoadedModel | None:
    import torch
    from demucs.repo import AnyModelRepo, BagOnlyRepo, RemoteRepo

    signatures = _legacy_signatures(name)
    if signatures is None:
        return None
    urls = _remote_files()
    if not all((checkpoints / urls[sig].rsplit("/", 1)[-1]).is_file() for sig in signatures):
        return None
    # RemoteRepo reads through torch.hub, which uses a file already in its cache
    # folder and only downloads when it is missing (checked just above).
    previous = torch.hub.get_dir()
    torch.hub.set_dir(str(checkpoints.parent))
    try:
        model_repo = RemoteRepo(urls)
        repo = AnyModelRepo(model_repo, BagOnlyRepo(remote_root(), model_repo))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = repo.get_model(name)
    finally:
        torch.hub.set_dir(previous)
    return LoadedModel(name, _eval(model), f"torch hub cache {checkpoints}")


def _download(name: str) -> LoadedModel:
    from demucs.pretrained import get_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = get_model(name)
    return LoadedModel(name, _eval(model), "downloaded by demucs")


def _how_to_supply(name: str, searched: list[str]) -> str:
    signatures = _legacy_signatures(name) or []
    urls = _remote_files()
    needed = [f"{name}.yaml"] if signatures and signatures != [name] else []
    needed += [urls[sig].rsplit("/", 1)[-1] for sig in signatures if sig in urls]
    listing = ", ".join(needed) if needed else f"{name}.yaml plus its .th files"
    return (
        "To get it:\n"
        f"  1. On a machine with internet: cratebot models fetch {name}\n"
        f"  2. Or copy {listing} into one folder and run: cratebot models import DIR\n"
        "     (or point --model-repo DIR / CRATEBOT_DEMUCS_REPO=DIR at that folder)\n"
        "  3. Or try stems now without weights: --model demucs_unittest (untrained, for testing)\n"
        f"Searched: {'; '.join(searched)}"
    )


def load_model(
    name: str = DEFAULT_MODEL,
    repo: Path | None = None,
    *,
    hf_cache: Path | None = None,
    torch_checkpoints: Path | None = None,
    allow_download: bool = True,
) -> LoadedModel:
    """Load ``name`` from ``repo``, then the caches, then (if reachable) the network."""
    name = (name or DEFAULT_MODEL).strip()
    if not _NAME.match(name):
        raise BadInput(f"'{name}' is not a valid Demucs model name")
    if name == UNITTEST_MODEL:
        return _unittest_model()
    hf_cache = hf_cache or hf_cache_dir()
    torch_checkpoints = torch_checkpoints or torch_hub_checkpoints()
    searched: list[str] = []
    if repo is not None:
        repo = Path(repo).expanduser()
        searched.append(f"{repo} (model repo)")
        found = _from_local_repo(name, repo)
        if found is not None:
            return found
    searched += [f"{hf_cache} (HuggingFace cache)", f"{torch_checkpoints} (torch hub cache)"]
    for loader, folder in ((_from_hf_cache, hf_cache), (_from_torch_hub, torch_checkpoints)):
        found = loader(name, folder)
        if found is not None:
            return found
    known = [*known_model_names(), UNITTEST_MODEL]
    if _legacy_signatures(name) is None:
        where = f" and not in {repo}" if repo is not None else ""
        raise BadInput(
            f"unknown Demucs model '{name}'{where}; pretrained names: {', '.join(known)}"
        )
    if not allow_download or _offline_by_env():
        raise NotAvailable(
            f"Demucs model '{name}' has no weights on this machine and downloads are "
            f"switched off.\n{_how_to_supply(name, searched)}"
        )
    if not hub_reachable():
        raise NotAvailable(
            f"Demucs model '{name}' has no weights on this machine and {_HUB_HOST} cannot "
            f"be reached to download them.\n{_how_to_supply(name, searched)}"
        )
    try:
        return _download(name)
    except Exception as exc:  # demucs raises plain URLError/HTTPError/RuntimeError here
        raise NotAvailable(
            f"Demucs model '{name}' could not be downloaded ({exc}).\n"
            f"{_how_to_supply(name, searched)}"
        ) from exc
