"""A tiny in-memory Hugging Face Hub for tests: just what ``huggingface_hub``'s
``create_repo``, ``list_repo_files``, ``create_commit`` (regular files, inline
base64), ``list_repo_commits`` and ``hf_hub_download`` call, on 127.0.0.1.

Write endpoints require ``Authorization: Bearer <token>``. ``fail`` maps an
endpoint name (``"create"``, ``"tree"``, ``"preupload"``, ``"commit"``,
``"commits"``) to an HTTP status to answer with; the error body echoes the
Authorization header, as a careless server might, so tests can check the
client side scrubs it. ``drop`` maps an endpoint name to when the connection
drops with no answer: ``"before"`` doing anything, or ``"after"`` doing the
work (``"commit"``: the commit lands, the client never hears of it).
"""

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import yaml

API = re.compile(
    r"^/api/models/(?P<repo>[^/]+/[^/]+)/(?P<op>preupload|commits|commit|tree)/(?P<rev>[^/]+)(?P<path>/.*)?$"
)
RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass(frozen=True)
class Commit:
    sha: str
    title: str
    message: str
    date: str  # the Hub's format, e.g. "2024-05-01T12:00:00.000Z"


@dataclass
class Repo:
    files: dict[str, bytes] = field(default_factory=dict)
    commits: list[Commit] = field(default_factory=list)
    private: bool = False

    def commit(self, title: str, message: str = "") -> str:
        sha = hashlib.sha1(f"{len(self.commits)}:{title}".encode()).hexdigest()
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        self.commits.append(Commit(sha, title, message, now))
        return sha


class DropConnection(Exception):
    """Raised by an endpoint to close the connection without an answer."""


class FakeHub:
    def __init__(self, token: str) -> None:
        self.token = token
        self.repos: dict[str, Repo] = {}
        self.fail: dict[str, int] = {}
        self.drop: dict[str, Literal["before", "after"]] = {}
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )

    def __enter__(self) -> "FakeHub":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                self._dispatch("GET")

            def do_HEAD(self) -> None:
                self._dispatch("HEAD")

            def do_POST(self) -> None:
                self._dispatch("POST")

            def _dispatch(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = urlsplit(self.path).path
                hub.requests.append((method, path))
                with hub.lock:
                    try:
                        hub.route(self, method, path, body)
                    except DropConnection:
                        self.close_connection = True  # no answer, then close

        return Handler

    # ---------------------------------------------------------------- responses

    def send(
        self,
        h: BaseHTTPRequestHandler,
        status: int,
        payload: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> None:
        data = raw if raw is not None else json.dumps(payload).encode()
        h.send_response(status)
        h.send_header(
            "Content-Type",
            "application/octet-stream" if raw is not None else "application/json",
        )
        h.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            h.send_header(key, value)
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(data)

    def dropped(self, name: str, when: Literal["before", "after"]) -> None:
        """Drop the connection here if ``drop`` says so for ``name`` at ``when``."""
        if self.drop.get(name) == when:
            raise DropConnection(name)

    def authorized(self, h: BaseHTTPRequestHandler, name: str) -> bool:
        self.dropped(name, "before")
        if name in self.fail:
            echoed = h.headers.get("Authorization")
            self.send(
                h,
                self.fail[name],
                {"error": f"{name} failed; request had Authorization: {echoed}"},
            )
            return False
        if h.headers.get("Authorization") != f"Bearer {self.token}":
            self.send(
                h,
                401,
                {"error": "Invalid credentials in Authorization header"},
                {"X-Error-Message": "Invalid credentials in Authorization header"},
            )
            return False
        return True

    def route(
        self, h: BaseHTTPRequestHandler, method: str, path: str, body: bytes
    ) -> None:
        if method == "POST" and path == "/api/repos/create":
            return self.create(h, json.loads(body))
        if method == "POST" and path == "/api/validate-yaml":
            return self.validate_yaml(h, json.loads(body))
        if match := API.match(path):
            repo = self.repos.get(match["repo"])
            if repo is None:
                return self.send(
                    h,
                    404,
                    {"error": "Repository not found"},
                    {"X-Error-Code": "RepoNotFound"},
                )
            op = match["op"]
            if op == "tree" and method == "GET":
                return self.tree(h, repo)
            if op == "commits" and method == "GET":
                return self.commits(h, repo)
            if op == "preupload" and self.authorized(h, "preupload"):
                return self.preupload(h, json.loads(body))
            if op == "commit" and self.authorized(h, "commit"):
                return self.commit(h, repo, match["repo"], body)
            return None
        if (match := RESOLVE.match(path)) and method in ("GET", "HEAD"):
            return self.resolve(h, match["repo"], unquote(match["path"]))
        return self.send(h, 404, {"error": f"no route {method} {path}"})

    # ---------------------------------------------------------------- endpoints

    def create(self, h: BaseHTTPRequestHandler, payload: dict[str, Any]) -> None:
        if not self.authorized(h, "create"):
            return None
        repo_id = f"{payload['organization']}/{payload['name']}"
        url = f"{self.endpoint}/{repo_id}"
        if repo_id in self.repos:
            return self.send(
                h, 409, {"error": "You already created this model repo", "url": url}
            )
        repo = Repo(private=payload.get("visibility") == "private")
        repo.files[".gitattributes"] = (
            b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n"
        )
        repo.commit("initial commit")
        self.repos[repo_id] = repo
        self.send(h, 200, {"url": url, "name": repo_id})

    def validate_yaml(self, h: BaseHTTPRequestHandler, payload: dict[str, Any]) -> None:
        match = re.match(r"^---\n(.*?)\n---", payload["content"], re.DOTALL)
        try:
            meta = yaml.safe_load(match[1]) if match else None
            assert isinstance(meta, dict), "no YAML front matter"
        except Exception as err:  # noqa: BLE001
            return self.send(
                h, 400, {"errors": [{"message": str(err)}], "warnings": []}
            )
        self.send(h, 200, {"errors": [], "warnings": []})

    def tree(self, h: BaseHTTPRequestHandler, repo: Repo) -> None:
        if "tree" in self.fail:
            return self.send(h, self.fail["tree"], {"error": "tree failed"})
        entries = [
            {"type": "file", "path": p, "size": len(d), "oid": git_blob_sha1(d)}
            for p, d in sorted(repo.files.items())
        ]
        self.send(h, 200, entries)

    def commits(self, h: BaseHTTPRequestHandler, repo: Repo) -> None:
        """The history, newest first, as ``HfApi.list_repo_commits`` reads it."""
        self.dropped("commits", "before")
        if "commits" in self.fail:
            return self.send(h, self.fail["commits"], {"error": "commits failed"})
        entries = [
            {
                "id": c.sha,
                "authors": [{"user": "someone"}],
                "date": c.date,
                "title": c.title,
                "message": c.message,
            }
            for c in reversed(repo.commits)
        ]
        self.send(h, 200, entries)

    def preupload(self, h: BaseHTTPRequestHandler, payload: dict[str, Any]) -> None:
        files = [
            {
                "path": f["path"],
                "uploadMode": "regular",
                "shouldIgnore": False,
                "oid": None,
            }
            for f in payload["files"]
        ]
        self.send(h, 200, {"files": files, "commitOid": None})

    def commit(
        self, h: BaseHTTPRequestHandler, repo: Repo, repo_id: str, body: bytes
    ) -> None:
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        header = next(item["value"] for item in lines if item["key"] == "header")
        new_files = dict(repo.files)
        for item in lines:
            key, value = item["key"], item["value"]
            if key == "file":
                new_files[value["path"]] = base64.b64decode(value["content"])
            elif key == "deletedFile":
                new_files.pop(value["path"], None)
            elif key == "deletedFolder":
                prefix = value["path"].rstrip("/") + "/"
                new_files = {
                    p: d for p, d in new_files.items() if not p.startswith(prefix)
                }
            elif key != "header":
                return self.send(
                    h, 400, {"error": f"unsupported commit operation {key!r}"}
                )
        repo.files = new_files
        sha = repo.commit(header["summary"], header.get("description") or "")
        self.dropped("commit", "after")
        self.send(
            h,
            200,
            {
                "commitUrl": f"{self.endpoint}/{repo_id}/commit/{sha}",
                "commitOid": sha,
                "pullRequestUrl": None,
            },
        )

    def resolve(self, h: BaseHTTPRequestHandler, repo_id: str, path: str) -> None:
        repo = self.repos.get(repo_id)
        if repo is None:
            return self.send(
                h,
                404,
                {"error": "Repository not found"},
                {"X-Error-Code": "RepoNotFound"},
            )
        head = {"X-Repo-Commit": repo.commits[-1].sha}
        if path not in repo.files:
            return self.send(
                h,
                404,
                {"error": "Entry not found"},
                {**head, "X-Error-Code": "EntryNotFound"},
            )
        data = repo.files[path]
        self.send(
            h, 200, raw=data, headers={**head, "ETag": f'"{git_blob_sha1(data)}"'}
        )
