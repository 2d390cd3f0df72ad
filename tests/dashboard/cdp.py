"""A minimal headless-Chromium driver over the DevTools protocol, for page tests.

``Browser`` starts ``chromium --headless`` with a throwaway profile and a
DevTools port; ``Browser.load(url)`` opens the page in a fresh tab and returns
what the page did: console messages, uncaught exceptions, log entries (failed
loads), the URLs it requested, the values of JavaScript probes and a PNG
screenshot.
"""

import base64
import contextlib
import json
import shutil
import struct
import subprocess
import tempfile
import time
import urllib.request
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM_NAMES = (
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--remote-allow-origins=*",
)


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageResult:
    console: list[dict[str, Any]] = field(default_factory=list)
    exceptions: list[dict[str, Any]] = field(default_factory=list)
    log_entries: list[dict[str, Any]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    probes: dict[str, Any] = field(default_factory=dict)
    screenshot: bytes = b""

    @property
    def errors(self) -> list[str]:
        """Console errors/warnings, uncaught exceptions and error/warning log entries."""
        out = [
            f"console.{m['type']}: {[a.get('value', a.get('description')) for a in m.get('args', [])]}"
            for m in self.console
            if m["type"] in ("error", "warning", "assert")
        ]
        out += [
            f"exception: {e['exceptionDetails'].get('exception', {}).get('description') or e['exceptionDetails'].get('text')}"
            for e in self.exceptions
        ]
        out += [
            f"log.{e['entry']['level']}: {e['entry'].get('text')} {e['entry'].get('url', '')}"
            for e in self.log_entries
            if e["entry"]["level"] in ("error", "warning")
        ]
        return out


class Browser:
    def __init__(
        self, executable: str | None = None, width: int = 1280, height: int = 900
    ):
        found = executable or find_chromium()
        if found is None:
            raise FileNotFoundError("no chromium on PATH")
        self.executable: str = found
        self.width, self.height = width, height
        self._profile = tempfile.mkdtemp(prefix="chromium-profile-")
        self._proc: subprocess.Popen[bytes] | None = None
        self._port = 0

    def __enter__(self) -> "Browser":
        self._proc = subprocess.Popen(
            [
                self.executable,
                *FLAGS,
                f"--user-data-dir={self._profile}",
                "--remote-debugging-port=0",
                f"--window-size={self.width},{self.height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = Path(self._profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if port_file.exists() and port_file.read_text().strip():
                self._port = int(port_file.read_text().split()[0])
                return self
            if self._proc.poll() is not None:
                break
            time.sleep(0.05)
        self.__exit__()
        raise RuntimeError("chromium did not open its DevTools port")

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        shutil.rmtree(self._profile, ignore_errors=True)

    def _http(self, path: str, method: str = "GET") -> Any:
        req = urllib.request.Request(
            f"http://127.0.0.1:{self._port}{path}", method=method
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def load(
        self,
        url: str,
        probes: dict[str, str] | None = None,
        settle_s: float = 0.5,
        full_page: bool = False,
        timeout_s: float = 30.0,
    ) -> PageResult:
        """Open ``url`` in a new tab; return its console, errors, requests, probes and screenshot.

        ``probes`` maps names to JavaScript expressions evaluated after load
        (their JSON-able values come back in ``PageResult.probes``).
        """
        import websocket  # websocket-client

        target = self._http("/json/new?about:blank", method="PUT")
        ws = websocket.create_connection(
            target["webSocketDebuggerUrl"], timeout=timeout_s, suppress_origin=True
        )
        result = PageResult()
        next_id = 0
        loaded = False

        def handle(msg: dict[str, Any]) -> None:
            nonlocal loaded
            method, params = msg.get("method"), msg.get("params", {})
            if method == "Runtime.consoleAPICalled":
                result.console.append(params)
            elif method == "Runtime.exceptionThrown":
                result.exceptions.append(params)
            elif method == "Log.entryAdded":
                result.log_entries.append(params)
            elif method == "Network.requestWillBeSent":
                result.requests.append(params["request"]["url"])
            elif method == "Page.loadEventFired":
                loaded = True

        def call(method: str, **params: Any) -> dict[str, Any]:
            nonlocal next_id
            next_id += 1
            ws.send(json.dumps({"id": next_id, "method": method, "params": params}))
            while True:
                msg = json.loads(ws.recv())
                if msg.get("id") == next_id:
                    if "error" in msg:
                        raise RuntimeError(f"{method}: {msg['error']}")
                    return msg.get("result", {})
                handle(msg)

        def pump(until: float, stop_when_loaded: bool) -> None:
            while time.monotonic() < until and not (stop_when_loaded and loaded):
                ws.settimeout(max(until - time.monotonic(), 0.01))
                try:
                    handle(json.loads(ws.recv()))
                except websocket.WebSocketTimeoutException:
                    break
            ws.settimeout(timeout_s)

        try:
            for domain in ("Runtime", "Log", "Page", "Network"):
                call(f"{domain}.enable")
            call(
                "Emulation.setDeviceMetricsOverride",
                width=self.width,
                height=self.height,
                deviceScaleFactor=1,
                mobile=False,
            )
            call("Page.navigate", url=url)
            pump(time.monotonic() + timeout_s, stop_when_loaded=True)
            if not loaded:
                raise TimeoutError(f"{url} did not finish loading")
            pump(time.monotonic() + settle_s, stop_when_loaded=False)
            for name, expr in (probes or {}).items():
                value = call("Runtime.evaluate", expression=expr, returnByValue=True)
                result.probes[name] = value.get("result", {}).get("value")
            shot = call(
                "Page.captureScreenshot", format="png", captureBeyondViewport=full_page
            )
            result.screenshot = base64.b64decode(shot["data"])
        finally:
            ws.close()
            with contextlib.suppress(OSError, ValueError):  # the tab may be gone
                self._http(f"/json/close/{target['id']}")
        return result


def png_info(data: bytes) -> dict[str, Any]:
    """Width, height, colour type and the inflated (still filtered) pixel bytes of a PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat = 8, []
    info: dict[str, Any] = {}
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            w, h, depth, colour = struct.unpack(">IIBB", body[:10])
            info.update(width=w, height=h, bit_depth=depth, colour_type=colour)
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + length
    info["raw"] = zlib.decompress(b"".join(idat))
    return info


def png_pixels(data: bytes) -> tuple[int, int, int, list[bytes]]:
    """``(width, height, bytes_per_pixel, rows)`` of an 8-bit RGB(A) PNG, unfiltered."""
    info = png_info(data)
    if info["bit_depth"] != 8 or info["colour_type"] not in (2, 6):
        raise ValueError(
            f"unsupported PNG: {info['bit_depth']}-bit type {info['colour_type']}"
        )
    w, h = info["width"], info["height"]
    bpp = 3 if info["colour_type"] == 2 else 4
    stride, raw = w * bpp, info["raw"]
    prev = bytearray(stride)
    rows: list[bytes] = []
    for y in range(h):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev, strict=True))
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = prev[i], prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows
