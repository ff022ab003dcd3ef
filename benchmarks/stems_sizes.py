"""Output sizes of a 4-minute song's stems as 320 kbit/s MP3, against chat upload limits.

CBR MP3 size depends on duration and bitrate, not on the model, so the small
test model is enough to produce real files of the real length.

    python benchmarks/stems_sizes.py --seconds 240
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from stems_common import make_input, make_repo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=240)
    parser.add_argument("--bitrate", type=int, default=320)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "stems_bench")
    args = parser.parse_args()
    from core.settings import load_settings
    from core.stems.options import StemsOptions
    from core.stems.pipeline import run_stems

    repo = args.cache / "repo"
    name = make_repo(repo, "tiny")
    source = make_input(args.cache / f"input_{args.seconds:g}s.mp3", args.seconds)
    with tempfile.TemporaryDirectory(dir=args.cache) as tmp:
        settings = load_settings(home=Path(tmp) / "home")
        settings.ensure_dirs()
        opts = StemsOptions.from_params(
            {
                "source": str(source),
                "model": name,
                "model_repo": str(repo),
                "format": "mp3",
                "bitrate": args.bitrate,
                "minus": "vocals",
            }
        )
        result = run_stems(opts, settings, Path(tmp) / "out", Path(tmp) / "scratch")
        manifest = result.manifest
        stems = [f for f in manifest["files"] if f["kind"] == "stem"]
        print(
            json.dumps(
                {
                    "seconds": args.seconds,
                    "bitrate_kbps": args.bitrate,
                    "files": {
                        f["file"]: round(f["size_bytes"] / 1e6, 2) for f in manifest["files"]
                    },
                    "four_stems_mb": round(sum(f["size_bytes"] for f in stems) / 1e6, 2),
                    "zip_mb": round(result.zip_path.stat().st_size / 1e6, 2),
                    "over_discord_limit": manifest["over_discord_limit"],
                    "over_telegram_limit": manifest["over_telegram_limit"],
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
