"""The venue Pi commands: link/unlink a chat's Pi, tempo, auto tempo, status."""

from __future__ import annotations

from typing import Any

from bot.commands.api import CommandContext, Reply
from realtime.client import PiClient, PiCommandError, PiError, PiTimeout
from storage.pi_links import PiLink, PiLinkStore, TokenUnreadable

NOT_LINKED = "no Pi is linked here; an admin can link one with /pi link HOST PORT TOKEN"


def _status_text(state: dict[str, Any]) -> str:
    lines = [
        f"tempo {float(state.get('bpm', 0)):.2f} BPM"
        f" (target {float(state.get('target_bpm', 0)):.2f})"
    ]
    if state.get("ramp_remaining_s"):
        lines.append(f"ramping, {float(state['ramp_remaining_s']):.1f} s left")
    lines.append(
        f"auto tempo {'on' if state.get('bpm_auto') else 'off'}"
        + (f", method {state['method']}" if state.get("method") else "")
    )
    for deck in state.get("decks") or []:
        if deck.get("file"):
            lines.append(
                f"deck {deck.get('deck')}: {deck['file']}"
                f"{' (playing)' if deck.get('playing') else ''}"
            )
    if state.get("underruns"):
        lines.append(f"audio underruns: {state['underruns']}")
    return "\n".join(lines)


class PiCommands:
    def __init__(self, store: PiLinkStore, timeout_s: float) -> None:
        self.store = store
        self.timeout_s = timeout_s

    def _client(self, link: PiLink) -> PiClient:
        return PiClient(link.host, link.port, link.token(self.store.fernet), self.timeout_s)

    async def _call(
        self, ctx: CommandContext, address: str, *args: float
    ) -> Reply | tuple[PiLink, Any]:
        link = await self.store.get(ctx.platform, ctx.chat_id)
        if link is None:
            return Reply(text=NOT_LINKED, error=True)
        try:
            client = self._client(link)
            if address == "/status":
                return (link, await client.status())
            return (link, await client.send(address, *args))
        except TokenUnreadable as exc:
            return Reply(text=str(exc), error=True)
        except PiTimeout:
            return Reply(
                text=f"the Pi at {link.host}:{link.port} did not answer within "
                f"{self.timeout_s:g} s (is it running? right port and token? "
                "its clock within 30 s?)",
                error=True,
            )
        except PiCommandError as exc:
            return Reply(text=f"the Pi refused {address}: {exc.message}", error=True)
        except (PiError, OSError) as exc:
            return Reply(text=f"cannot reach the Pi at {link.host}:{link.port}: {exc}", error=True)

    async def link(self, ctx: CommandContext, host: str, port: int, token: str) -> Reply:
        await self.store.set(ctx.platform, ctx.chat_id, host, port, token, ctx.user_id)
        answer = await self._call(ctx, "/status")
        where = f"{host}:{port}"
        if isinstance(answer, Reply):
            text = f"linked this chat to the Pi at {where}, but: {answer.text}"
        else:
            text = f"linked this chat to the Pi at {where}; it answers:\n{_status_text(answer[1])}"
        return Reply(
            text=text + "\n(the token is stored encrypted; delete your message that "
            "holds it if it is still visible)",
            title="Pi linked",
            sensitive_input=True,
        )

    async def unlink(self, ctx: CommandContext) -> Reply:
        if await self.store.remove(ctx.platform, ctx.chat_id):
            return Reply(text="this chat's Pi link is removed", title="Pi unlinked")
        return Reply(text=NOT_LINKED, error=True)

    async def status(self, ctx: CommandContext) -> Reply:
        answer = await self._call(ctx, "/status")
        if isinstance(answer, Reply):
            return answer
        link, state = answer
        return Reply(
            text=_status_text(state), title=f"Pi {link.host}:{link.port}", data={"status": state}
        )

    async def bpm(self, ctx: CommandContext, value: float, ramp: float) -> Reply:
        answer = await self._call(ctx, "/bpm", value, ramp)
        if isinstance(answer, Reply):
            return answer
        how = f" over {ramp:g} s" if ramp else ""
        return Reply(
            text=f"the Pi acknowledged: tempo {value:g} BPM{how}",
            title="BPM set",
            data={"bpm": value, "ramp_s": ramp},
        )

    async def bpm_auto(self, ctx: CommandContext, on: bool) -> Reply:
        answer = await self._call(ctx, "/bpm_auto", 1 if on else 0)
        if isinstance(answer, Reply):
            return answer
        return Reply(
            text=f"the Pi acknowledged: auto tempo {'on' if on else 'off'}",
            title="auto tempo",
            data={"bpm_auto": on},
        )
