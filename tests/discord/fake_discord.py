"""A fake Discord (REST API, gateway websocket and CDN) on 127.0.0.1 for the tests.

discord.py talks to it unchanged once ``discord.http.Route.BASE`` and
``DiscordWebSocket.DEFAULT_GATEWAY`` point here: the real ``Client`` logs in
(``/users/@me``, ``/oauth2/applications/@me``), syncs its command tree, opens
the gateway (HELLO, IDENTIFY -> READY, heartbeats) and receives
``INTERACTION_CREATE`` events the tests dispatch, exactly like from Discord.
Interaction callbacks, original-response edits, follow-ups and channel
messages are recorded, with their uploaded files, for the assertions.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

APP_ID = 700_000_000_000_000_001
BOT_USER = {
    "id": str(APP_ID),
    "username": "CrateBot",
    "discriminator": "0000",
    "avatar": None,
    "bot": True,
    "global_name": None,
}
GUILD_ID = 600_000_000_000_000_001
CHANNEL_ID = 600_000_000_000_000_002
MANAGE_GUILD = 1 << 5
DEFAULT_LIMIT = 10 * 1024 * 1024


def _json(data: Any, status: int = 200) -> web.Response:
    # discord.py only parses bodies whose Content-Type is exactly "application/json".
    return web.Response(
        body=json.dumps(data).encode(), status=status, content_type="application/json"
    )


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


@dataclass
class Request:
    method: str
    path: str
    payload: dict[str, Any]
    files: dict[str, tuple[str, bytes]]
    at: float


@dataclass
class Sent:
    """A message as Discord would show it; ``history`` holds every content it had."""

    id: int
    channel_id: int
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    history: list[str] = field(default_factory=list)
    edit_times: list[float] = field(default_factory=list)


class FakeDiscord:
    def __init__(self, token: str) -> None:
        self.token = token
        self.requests: list[Request] = []
        self.callbacks: list[tuple[int, dict[str, Any], float]] = []
        self.originals: dict[str, Sent] = {}  # interaction token -> original response
        self.followups: list[Sent] = []
        self.channel_messages: dict[int, Sent] = {}
        self.synced_commands: list[dict[str, Any]] = []
        self.cdn: dict[str, bytes] = {}
        self.guild_roles: list[dict[str, Any]] = []
        self._ids = itertools.count(800_000_000_000_000_001)
        self._seq = itertools.count(1)
        self._ws: web.WebSocketResponse | None = None
        self._ready = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle ------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application(client_max_size=100 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/cdn/{name}", self._cdn)
        app.router.add_route("*", "/api/v10/{path:.+}", self._rest)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._ws is not None and not self._ws.closed:
            await self._ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    def next_id(self) -> int:
        return next(self._ids)

    @property
    def ready(self) -> bool:
        """True once the bot identified on the gateway and got READY."""
        return self._ready.is_set()

    # -- gateway --------------------------------------------------------------
    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._ws = ws
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 41250}})
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                break
            data = json.loads(msg.data)
            if data["op"] == 1:
                await ws.send_json({"op": 11})
            elif data["op"] == 2:
                await self._send_dispatch(
                    "READY",
                    {
                        "v": 10,
                        "user": BOT_USER,
                        "guilds": [{"id": str(GUILD_ID), "unavailable": True}],
                        "session_id": "fake-session",
                        "resume_gateway_url": self.gateway_url,
                        "application": {"id": str(APP_ID), "flags": 0},
                        "shard": [0, 1],
                    },
                )
                await self._send_dispatch("GUILD_CREATE", self._guild())
                self._ready.set()
        return ws

    def _guild(self) -> dict[str, Any]:
        everyone = {
            "id": str(GUILD_ID),
            "name": "@everyone",
            "permissions": "0",
            "position": 0,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": False,
        }
        return {
            "id": str(GUILD_ID),
            "name": "venue",
            "owner_id": "1",
            "roles": [everyone, *self.guild_roles],
            "emojis": [],
            "stickers": [],
            "features": [],
            "channels": [
                {
                    "id": str(CHANNEL_ID),
                    "type": 0,
                    "name": "general",
                    "position": 0,
                    "permission_overwrites": [],
                    "nsfw": False,
                    "parent_id": None,
                    "guild_id": str(GUILD_ID),
                }
            ],
            "members": [],
            "threads": [],
            "member_count": 2,
            "large": False,
            "unavailable": False,
            "joined_at": now_iso(),
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "system_channel_flags": 0,
            "nsfw_level": 0,
            "afk_timeout": 300,
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    async def _send_dispatch(self, event: str, data: dict[str, Any]) -> None:
        assert self._ws is not None, "the bot has not connected to the gateway"
        await self._ws.send_json({"op": 0, "t": event, "s": next(self._seq), "d": data})

    async def dispatch_interaction(self, payload: dict[str, Any]) -> None:
        await self._send_dispatch("INTERACTION_CREATE", payload)

    # -- CDN ------------------------------------------------------------------
    def add_attachment(
        self, name: str, data: bytes, content_type: str = "audio/mpeg"
    ) -> dict[str, Any]:
        """Serve ``data`` like Discord's CDN; returns the resolved-attachment payload."""
        self.cdn[name] = data
        url = f"http://127.0.0.1:{self.port}/cdn/{name}"
        return {
            "id": str(self.next_id()),
            "filename": name,
            "size": len(data),
            "url": url,
            "proxy_url": url,
            "content_type": content_type,
        }

    async def _cdn(self, request: web.Request) -> web.Response:
        data = self.cdn.get(request.match_info["name"])
        return web.Response(body=data) if data is not None else web.Response(status=404)

    # -- REST -----------------------------------------------------------------
    async def _read(
        self, request: web.Request
    ) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
        files: dict[str, tuple[str, bytes]] = {}
        payload: dict[str, Any] = {}
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                name = part.name or ""
                body = await part.read()  # type: ignore[union-attr]
                if name == "payload_json":
                    payload = json.loads(body)
                else:
                    files[name] = (part.filename or name, bytes(body))  # type: ignore[union-attr]
        elif request.can_read_body:
            text = await request.text()
            payload = json.loads(text) if text else {}
        return payload, files

    def _message(self, sent: Sent) -> dict[str, Any]:
        return {
            "id": str(sent.id),
            "channel_id": str(sent.channel_id),
            "type": 0,
            "content": sent.content,
            "author": BOT_USER,
            "embeds": sent.embeds,
            "attachments": [
                {
                    "id": str(self.next_id()),
                    "filename": n,
                    "size": len(d),
                    "url": f"http://127.0.0.1:{self.port}/cdn/{n}",
                    "proxy_url": f"http://127.0.0.1:{self.port}/cdn/{n}",
                }
                for n, d in sent.files.items()
            ],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "timestamp": now_iso(),
            "edited_timestamp": None,
            "flags": 0,
            "components": [],
        }

    @staticmethod
    def _apply(sent: Sent, payload: dict[str, Any], files: dict[str, tuple[str, bytes]]) -> None:
        if "content" in payload:
            sent.content = payload["content"] or ""
            sent.history.append(sent.content)
        if "embeds" in payload:
            sent.embeds = payload["embeds"] or []
        if files:
            # An edit with "attachments" lists what stays; new uploads come as files[n].
            sent.files = {name: data for name, data in files.values()}
        sent.edit_times.append(time.monotonic())

    async def _rest(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        method = request.method
        payload, files = await self._read(request)
        self.requests.append(Request(method, path, payload, files, time.monotonic()))
        parts = path.split("/")
        if path == "users/@me":
            return _json(BOT_USER)
        if path == "oauth2/applications/@me":
            return _json(
                {
                    "id": str(APP_ID),
                    "name": "CrateBot",
                    "description": "",
                    "icon": None,
                    "bot_public": True,
                    "bot_require_code_grant": False,
                    "owner": BOT_USER,
                    "verify_key": "00",
                    "flags": 0,
                    "summary": "",
                    "rpc_origins": [],
                }
            )
        if parts[0] == "applications" and parts[-1] == "commands" and method == "PUT":
            self.synced_commands = [
                c | {"id": str(self.next_id()), "application_id": str(APP_ID), "version": "1"}
                for c in payload
            ]
            return _json(self.synced_commands)
        if parts[0] == "interactions" and parts[-1] == "callback":
            self.callbacks.append((int(payload.get("type", 0)), payload, time.monotonic()))
            token = parts[2]
            sent = self.originals.setdefault(token, Sent(self.next_id(), CHANNEL_ID))
            self._apply(sent, payload.get("data") or {}, files)
            return _json(
                {
                    "interaction": {
                        "id": parts[1],
                        "type": 2,
                        "response_message_id": str(sent.id),
                        "response_message_loading": payload.get("type") == 5,
                    },
                    "resource": {"type": payload.get("type", 5)},
                }
            )
        if parts[0] == "webhooks" and len(parts) == 5 and parts[3] == "messages":
            sent = self.originals.get(parts[2])
            if sent is None:
                return _json({"message": "Unknown interaction", "code": 10062}, status=404)
            self._apply(sent, payload, files)
            return _json(self._message(sent))
        if parts[0] == "webhooks" and len(parts) == 3 and method == "POST":
            sent = Sent(self.next_id(), CHANNEL_ID)
            self._apply(sent, payload, files)
            self.followups.append(sent)
            return _json(self._message(sent))
        if parts[0] == "channels" and parts[2:3] == ["messages"]:
            channel_id = int(parts[1])
            if method == "POST":
                sent = Sent(self.next_id(), channel_id)
                self.channel_messages[sent.id] = sent
            else:
                sent = self.channel_messages[int(parts[3])]
            self._apply(sent, payload, files)
            return _json(self._message(sent))
        return _json({"message": f"fake has no {method} {path}", "code": 0}, status=404)

    # -- interaction payloads -------------------------------------------------
    def interaction(
        self,
        name: str,
        options: list[dict[str, Any]] | None = None,
        *,
        user_id: int = 111,
        permissions: int = 0,
        roles: list[str] | None = None,
        attachments: list[dict[str, Any]] | None = None,
        size_limit: int = DEFAULT_LIMIT,
    ) -> dict[str, Any]:
        """An application-command INTERACTION_CREATE payload from a guild channel."""
        interaction_id = self.next_id()
        user = {
            "id": str(user_id),
            "username": f"user{user_id}",
            "discriminator": "0",
            "avatar": None,
            "global_name": None,
        }
        data: dict[str, Any] = {
            "id": str(self.next_id()),
            "name": name,
            "type": 1,
            "options": options or [],
        }
        if attachments:
            data["resolved"] = {"attachments": {a["id"]: a for a in attachments}}
        return {
            "id": str(interaction_id),
            "application_id": str(APP_ID),
            "type": 2,
            "token": f"itoken-{interaction_id}",
            "version": 1,
            "guild_id": str(GUILD_ID),
            "channel_id": str(CHANNEL_ID),
            "channel": {
                "id": str(CHANNEL_ID),
                "type": 0,
                "guild_id": str(GUILD_ID),
                "name": "general",
                "position": 0,
                "permission_overwrites": [],
                "nsfw": False,
                "parent_id": None,
            },
            "member": {
                "user": user,
                "roles": roles or [],
                "joined_at": now_iso(),
                "deaf": False,
                "mute": False,
                "flags": 0,
                "permissions": str(permissions),
            },
            "app_permissions": str((1 << 11) | (1 << 15) | (1 << 10)),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(GUILD_ID)},
            "context": 0,
            "attachment_size_limit": size_limit,
            "data": data,
        }

    def original(self, payload: dict[str, Any]) -> Sent | None:
        return self.originals.get(payload["token"])

    async def wait_for(self, predicate: Any, timeout: float = 20.0, what: str = "") -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            await asyncio.sleep(0.02)
        seen = {t: s.history for t, s in self.originals.items()}
        raise AssertionError(
            f"timed out waiting for {what or predicate}; originals: {seen}; "
            f"channel: {[m.history for m in self.channel_messages.values()]}"
        )


def option(name: str, value: Any, kind: int) -> dict[str, Any]:
    """One slash-command option (3 string, 4 integer, 5 boolean, 10 number, 11 attachment)."""
    return {"name": name, "type": kind, "value": value}
