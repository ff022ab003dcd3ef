"""What the terminal shows: progress on stderr (bars on a terminal, plain lines
otherwise), replies on stdout (text, or one JSON object per reply with ``--json``)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from tqdm import tqdm

from bot.commands.api import Progress, Reply
from bot.commands.render import size_text

LINE_INTERVAL_S = 2.0  # plain progress lines: at most one per job this often


class Display:
    def __init__(
        self,
        mode: str = "auto",
        as_json: bool = False,
        out: TextIO | None = None,
        err: TextIO | None = None,
    ) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        if mode == "auto":
            mode = "bars" if self.err.isatty() else "lines"
        self.mode = mode
        self.as_json = as_json
        self._bars: dict[str, tqdm] = {}
        self._last_line: dict[str, tuple[float, str]] = {}

    # -- progress -------------------------------------------------------------------
    def progress(self, update: Progress) -> None:
        if self.mode == "bars":
            bar = self._bars.get(update.job_id)
            if bar is None:
                bar = tqdm(
                    total=1000,
                    file=self.err,
                    leave=False,
                    dynamic_ncols=True,
                    desc=f"{update.kind} {update.job_id}",
                    bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}",
                )
                self._bars[update.job_id] = bar
            bar.n = int(update.fraction * 1000)
            bar.set_postfix_str(update.text[:60], refresh=False)
            bar.refresh()
        elif self.mode == "lines":
            line = f"[{update.job_id}] {update.kind} {update.fraction * 100:3.0f}% {update.text}"
            stamp, previous = self._last_line.get(update.job_id, (float("-inf"), ""))
            now = time.monotonic()
            if line != previous and (now - stamp >= LINE_INTERVAL_S or update.state != "running"):
                self._last_line[update.job_id] = (now, line)
                self._write(self.err, line)

    def finish(self, job_id: str | None) -> None:
        bar = self._bars.pop(job_id or "", None)
        if bar is not None:
            bar.close()
        self._last_line.pop(job_id or "", None)

    # -- replies --------------------------------------------------------------------
    def reply(self, command: str, reply: Reply, folder: Path | None, copied: list[Path]) -> None:
        self.finish(reply.job_id)
        if self.as_json:
            record: dict[str, Any] = {
                "command": command,
                "error": reply.error,
                "title": reply.title,
                "text": reply.text,
                "job_id": reply.job_id,
                "folder": str(folder) if folder else None,
                "files": [
                    p.name if folder is None else p.relative_to(folder).as_posix() for p in copied
                ],
                "data": reply.data,
                "links": [{"label": link.label, "url": link.url} for link in reply.links],
            }
            self._write(self.out, json.dumps(record, ensure_ascii=False, default=str))
            return
        lines = [f"== {command}"] + ([reply.title] if reply.title else [])
        lines.append(f"error: {reply.text}" if reply.error else reply.text)
        if folder is not None:
            lines.append(f"results in {folder}/")
            lines += [
                f"  {p.relative_to(folder).as_posix()} ({size_text(p.stat().st_size)})"
                for p in copied
            ]
        lines += [f"{link.label}: {link.url}" for link in reply.links]
        self._write(self.out, "\n".join(lines))

    def notice(self, text: str) -> None:
        self._write(self.err, text)

    def close(self) -> None:
        for job_id in list(self._bars):
            self.finish(job_id)

    def _write(self, stream: TextIO, text: str) -> None:
        if self._bars:
            tqdm.write(text, file=stream)  # clears and redraws the bars around the text
        else:
            stream.write(text + "\n")
        stream.flush()
