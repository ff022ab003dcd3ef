"""A fake Telegram Bot API server on 127.0.0.1 for the tests.

It speaks the same HTTP the real ``api.telegram.org`` does for the methods the
bot uses: requests arrive as ``POST /bot<token>/<method>`` with form or
multipart bodies (python-telegram-bot JSON-encodes non-string values), answers
are ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": ...,
"description": ...}``. Files are served from ``/file/bot<token>/<path>``.

Tests inject updates (``send_text``, ``send_audio``, ``press_button``) that the
real ``Application`` then fetches with ``getUpdates``, and they read back what
the bot did from ``calls``/``messages``. Like Telegram it refuses an edit that
changes nothing ("message is not modified") and can answer one request of a
method with 429 + ``retry_after``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_ID = 900_000_001
BOT_USERNAME = "cratebot_test_bot"
#: The real Bot API refuses getFile for files above this size.
DOWNLOAD_LIMIT = 20 * 1024 * 1024


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes]]
    at: float


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    path: str
    data: bytes | None  # None: a "large" file that only exists as a size
    size: int


@dataclass
class Message:
    message_id: int
    chat_id: int
    text: str | None = None
    document: dict[str, Any] | None = None
    photo: list[dict[str, Any]] | None = None
    reply_markup: dict[str, Any] | None = None
    history: list[str] = field(default_factory=list)  # every text it showed, in order
    edit_times: list[float] = field(default_factory=list)
    caption: str | None = None


def _decode(value: str) -> Any:
    """python-telegram-bot sends non-string values JSON-encoded in form fields."""
    try:
        return json.loads(value)
    except ValueError:
        return value


class FakeBotApi:
    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.messages: dict[int, Message] = {}
        self.files: dict[str, StoredFile] = {}
        self.admins: dict[int, list[int]] = {}
        self.callback_answers: list[dict[str, Any]] = []
        self.errors_served: list[tuple[str, int]] = []
        self.deleted: list[tuple[int, int]] = []
        self.incoming: list[tuple[int, int, int]] = []  # (chat, user, message id) sent by users
        self.polls = 0
        self._updates: list[dict[str, Any]] = []
        self._new_update = asyncio.Event()
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._file_ids = itertools.count(1)
        self._rate_limit: dict[str, int] = {}
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle ------------------------------------------------------------
    async def start(self, port: int = 0) -> None:
        app = web.Application(client_max_size=200 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # -- test controls --------------------------------------------------------
    def rate_limit_once(self, method: str, retry_after: int = 1) -> None:
        """The next call of ``method`` gets HTTP 429 with ``retry_after``."""
        self._rate_limit[method] = retry_after

    def set_admins(self, chat_id: int, user_ids: list[int]) -> None:
        self.admins[chat_id] = user_ids

    def add_file(self, data: bytes | None, name: str, size: int | None = None) -> StoredFile:
        n = next(self._file_ids)
        stored = StoredFile(
            f"file-{n}",
            f"u{n}",
            f"documents/{n}_{name}",
            data,
            len(data) if data is not None else int(size or 0),
        )
        self.files[stored.file_id] = stored
        return stored

    def _push(self, update: dict[str, Any]) -> None:
        update["update_id"] = next(self._update_ids)
        self._updates.append(update)
        self._new_update.set()

    @staticmethod
    def _user(user_id: int) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": f"user{user_id}"}

    @staticmethod
    def _chat(chat_id: int) -> dict[str, Any]:
        if chat_id < 0:
            return {"id": chat_id, "type": "group", "title": "test group"}
        return {"id": chat_id, "type": "private", "first_name": f"user{chat_id}"}

    def _incoming(self, chat_id: int, user_id: int) -> dict[str, Any]:
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": self._user(user_id),
        }

    def deleted_candidates(self, chat_id: int, user_id: int) -> list[int]:
        """Ids of the messages ``user_id`` sent to ``chat_id``."""
        return [mid for (cid, uid, mid) in self.incoming if (cid, uid) == (chat_id, user_id)]

    def send_text(self, chat_id: int, user_id: int, text: str) -> None:
        message = self._incoming(chat_id, user_id) | {"text": text}
        self.incoming.append((chat_id, user_id, message["message_id"]))
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        self._push({"message": message})

    def send_reply(self, chat_id: int, user_id: int, to_message_id: int, text: str) -> None:
        """A text reply (e.g. to a ForceReply prompt) to one of the bot's messages."""
        replied = self._message_json(self.messages[to_message_id])
        message = self._incoming(chat_id, user_id) | {"text": text, "reply_to_message": replied}
        self.incoming.append((chat_id, user_id, message["message_id"]))
        self._push({"message": message})

    def send_audio(
        self,
        chat_id: int,
        user_id: int,
        stored: StoredFile,
        *,
        as_document: bool = False,
        mime_type: str = "audio/mpeg",
        caption: str | None = None,
    ) -> None:
        name = stored.path.rsplit("/", 1)[-1].split("_", 1)[-1]
        media = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": name,
            "mime_type": mime_type,
            "file_size": stored.size,
        }
        key = "document" if as_document else "audio"
        if not as_document:
            media["duration"] = 10
        message = self._incoming(chat_id, user_id) | {key: media}
        if caption is not None:
            message["caption"] = caption
            if caption.startswith("/"):
                length = len(caption.split()[0])
                message["caption_entities"] = [
                    {"type": "bot_command", "offset": 0, "length": length}
                ]
        self._push({"message": message})

    def press_button(self, chat_id: int, user_id: int, message_id: int, data: str) -> str:
        shown = self.messages[message_id]
        query_id = f"cq-{next(self._update_ids)}"
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": self._bot(),
            "text": shown.text or "",
        }
        self._push(
            {
                "callback_query": {
                    "id": query_id,
                    "from": self._user(user_id),
                    "chat_instance": str(chat_id),
                    "message": message,
                    "data": data,
                }
            }
        )
        return query_id

    # -- queries for assertions ----------------------------------------------
    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def chat_messages(self, chat_id: int) -> list[Message]:
        return [m for m in self.messages.values() if m.chat_id == chat_id]

    async def wait_for(self, predicate: Any, timeout: float = 20.0, what: str = "") -> Any:
        """Poll ``predicate()`` until it returns something truthy (bounded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            await asyncio.sleep(0.02)
        texts = [m.history for m in self.messages.values()]
        raise AssertionError(f"timed out waiting for {what or predicate}; messages: {texts}")

    # -- the API --------------------------------------------------------------
    def _bot(self) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "CrateBot", "username": BOT_USERNAME}

    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _error(code: int, description: str, **extra: Any) -> web.Response:
        return web.json_response(
            {"ok": False, "error_code": code, "description": description, **extra}, status=code
        )

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        method = request.match_info["method"]
        params: dict[str, Any] = {}
        files: dict[str, tuple[str, bytes]] = {}
        if request.can_read_body:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = (value.filename, value.file.read())
                else:
                    params[key] = _decode(str(value))
        params.update({k: _decode(v) for k, v in request.query.items()})
        if method == "getUpdates":
            self.polls += 1
        else:
            self.calls.append(Call(method, params, files, time.monotonic()))
        retry_after = self._rate_limit.pop(method, None)
        if retry_after is not None:
            self.errors_served.append((method, 429))
            return self._error(
                429,
                f"Too Many Requests: retry after {retry_after}",
                parameters={"retry_after": retry_after},
            )
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return self._error(404, f"Not Found: method {method} is not in the fake")
        return await handler(params, files)

    async def _m_getMe(self, params: dict, files: dict) -> web.Response:
        return self._ok(
            self._bot()
            | {
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        )

    async def _m_deleteWebhook(self, params: dict, files: dict) -> web.Response:
        return self._ok(True)

    async def _m_setMyCommands(self, params: dict, files: dict) -> web.Response:
        return self._ok(True)

    async def _m_getUpdates(self, params: dict, files: dict) -> web.Response:
        offset = int(params.get("offset") or 0)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates:
            # Long poll, but never longer than a second so shutdown stays quick.
            self._new_update.clear()
            wait = min(float(params.get("timeout") or 0), 1.0)
            try:
                await asyncio.wait_for(self._new_update.wait(), wait)
            except TimeoutError:
                pass
        limit = int(params.get("limit") or 100)
        return self._ok(self._updates[:limit])

    def _store_message(self, chat_id: int, **fields: Any) -> Message:
        message = Message(next(self._message_ids), chat_id, **fields)
        if message.text is not None:
            message.history.append(message.text)
        message.edit_times.append(time.monotonic())
        self.messages[message.message_id] = message
        return message

    def _message_json(self, message: Message) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_id": message.message_id,
            "date": int(time.time()),
            "chat": self._chat(message.chat_id),
            "from": self._bot(),
        }
        if message.text is not None:
            data["text"] = message.text
        if message.document is not None:
            data["document"] = message.document
        if message.photo is not None:
            data["photo"] = message.photo
        if message.caption is not None:
            data["caption"] = message.caption
        if message.reply_markup and "inline_keyboard" in message.reply_markup:
            # Like Telegram: only inline keyboards come back on a Message.
            data["reply_markup"] = message.reply_markup
        return data

    async def _m_sendMessage(self, params: dict, files: dict) -> web.Response:
        text = str(params.get("text") or "")
        if not text.strip():
            return self._error(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            return self._error(400, "Bad Request: message is too long")
        message = self._store_message(
            int(params["chat_id"]), text=text, reply_markup=params.get("reply_markup")
        )
        return self._ok(self._message_json(message))

    async def _m_editMessageText(self, params: dict, files: dict) -> web.Response:
        message = self.messages.get(int(params.get("message_id") or 0))
        if message is None or message.chat_id != int(params["chat_id"]):
            return self._error(400, "Bad Request: message to edit not found")
        text = str(params.get("text") or "")
        markup = params.get("reply_markup")
        if text == message.text and markup == message.reply_markup:
            self.errors_served.append(("editMessageText", 400))
            return self._error(
                400,
                "Bad Request: message is not modified: specified new "
                "message content and reply markup are exactly the same",
            )
        message.text = text
        message.reply_markup = markup
        message.history.append(text)
        message.edit_times.append(time.monotonic())
        return self._ok(self._message_json(message))

    async def _m_sendDocument(self, params: dict, files: dict) -> web.Response:
        if "document" not in files:
            return self._error(400, "Bad Request: there is no document in the request")
        name, data = files["document"]
        if len(data) > 50 * 1024 * 1024:
            return self._error(413, "Request Entity Too Large")
        stored = self.add_file(data, name)
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": name,
            "file_size": len(data),
        }
        message = self._store_message(
            int(params["chat_id"]), document=document, caption=params.get("caption")
        )
        return self._ok(self._message_json(message))

    async def _m_sendPhoto(self, params: dict, files: dict) -> web.Response:
        if "photo" not in files:
            return self._error(400, "Bad Request: there is no photo in the request")
        name, data = files["photo"]
        stored = self.add_file(data, name)
        photo = [
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "width": 100,
                "height": 100,
                "file_size": len(data),
            }
        ]
        message = self._store_message(
            int(params["chat_id"]), photo=photo, caption=params.get("caption")
        )
        return self._ok(self._message_json(message))

    async def _m_getFile(self, params: dict, files: dict) -> web.Response:
        stored = self.files.get(str(params.get("file_id")))
        if stored is None:
            return self._error(400, "Bad Request: invalid file_id")
        if stored.size > DOWNLOAD_LIMIT:
            return self._error(400, "Bad Request: file is too big")
        return self._ok(
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": stored.size,
                "file_path": stored.path,
            }
        )

    async def _m_answerCallbackQuery(self, params: dict, files: dict) -> web.Response:
        self.callback_answers.append(params)
        return self._ok(True)

    async def _m_deleteMessage(self, params: dict, files: dict) -> web.Response:
        self.deleted.append((int(params["chat_id"]), int(params["message_id"])))
        return self._ok(True)

    async def _m_getChatAdministrators(self, params: dict, files: dict) -> web.Response:
        chat_id = int(params["chat_id"])
        members = [
            {
                "status": "administrator",
                "user": self._user(uid),
                "can_be_edited": False,
                "is_anonymous": False,
                "can_manage_chat": True,
                "can_delete_messages": True,
                "can_manage_video_chats": True,
                "can_restrict_members": True,
                "can_promote_members": False,
                "can_change_info": True,
                "can_invite_users": True,
                "can_post_stories": False,
                "can_edit_stories": False,
                "can_delete_stories": False,
            }
            for uid in self.admins.get(chat_id, [])
        ]
        return self._ok(members)

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        path = request.match_info["path"]
        for stored in self.files.values():
            if stored.path == path and stored.data is not None:
                return web.Response(body=stored.data)
        return web.Response(status=404)
