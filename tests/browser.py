"""Open a page in headless Chromium and see what a person would: drawn plots, requests made.

A small client of the Chrome DevTools protocol: it starts Chromium with networking features
off, records every request the page makes, measures the plots and takes a screenshot.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
]

# What each plotly plot on the page looks like once drawn.
MEASURE_PLOTS = """
JSON.stringify([...document.querySelectorAll('.js-plotly-plot')].map(div => {
  const drawn = el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const box = div.getBoundingClientRect();
  return {
    id: div.id,
    width: box.width,
    height: box.height,
    svgs: [...div.querySelectorAll('svg.main-svg')].filter(drawn).length,
    traces: [...div.querySelectorAll('g.trace')].filter(drawn).length,
    marks: [...div.querySelectorAll('g.trace path')].filter(drawn).length,
    legend: [...div.querySelectorAll('.legendtext')].map(t => t.textContent),
  };
}))
"""

PLOTS_READY = """
(() => {
  const plots = [...document.querySelectorAll('.js-plotly-plot')];
  return document.readyState === 'complete' &&
    plots.every(p => p.querySelector('svg.main-svg') && p._fullLayout);
})()
"""


def chromium_binary() -> str:
    """The Chromium to use; in CI a missing one fails the test instead of skipping it."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed (Debian package 'chromium'); CI must have it")
    pytest.skip("chromium is not installed (apt-get install chromium)")


@dataclass
class PageView:
    """What the browser saw: requested URLs, plot measurements, errors, a screenshot."""

    requests: list[str] = field(default_factory=list)
    plots: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    text: str = ""
    screenshot: Path | None = None


class _DevTools:
    def __init__(self, url: str):
        import websocket

        # Chromium refuses a websocket with an Origin header it was not told to allow.
        self.socket = websocket.create_connection(url, timeout=30, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.socket.send(json.dumps(message))
        while True:
            reply = json.loads(self.socket.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {method} within {timeout}s")
            self.events.append(json.loads(self.socket.recv()))

    def evaluate(self, expression: str, session: str):
        result = self.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session
        )
        return result["result"].get("value")


def _devtools_url(profile: Path, process: subprocess.Popen, timeout: float = 30) -> str:
    # Chromium writes the port it chose and the browser's websocket path into the profile.
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_file.exists():
            lines = port_file.read_text().split()
            if len(lines) >= 2:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        if process.poll() is not None:
            raise RuntimeError(f"chromium exited with {process.returncode}")
        time.sleep(0.1)
    raise TimeoutError("chromium did not open its DevTools port")


def view_page(page: Path, screenshot: Path, width: int = 1400, height: int = 3000) -> PageView:
    """Open ``page`` (a local file), wait until its plots are drawn, and report what happened."""
    binary = chromium_binary()
    profile = tempfile.mkdtemp(prefix="hpo-chromium-")
    process = subprocess.Popen(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        tools = _DevTools(_devtools_url(Path(profile), process))
        try:
            return _look(tools, page, screenshot, width, height)
        finally:
            # The browser exits by itself once asked; no reply comes back.
            tools.socket.send(json.dumps({"id": 0, "method": "Browser.close"}))
            tools.socket.close()
    finally:
        _stop(process)
        # Chromium may still be writing its profile while it exits.
        shutil.rmtree(profile, ignore_errors=True)


def _look(tools: _DevTools, page: Path, screenshot: Path, width: int, height: int) -> PageView:
    target = tools.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    attached = tools.send("Target.attachToTarget", {"targetId": target, "flatten": True})
    session = attached["sessionId"]
    for domain in ("Network", "Page", "Runtime"):
        tools.send(f"{domain}.enable", session=session)
    tools.send(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        session,
    )
    tools.send("Page.navigate", {"url": page.resolve().as_uri()}, session)
    tools.wait_for("Page.loadEventFired", timeout=60)
    deadline = time.monotonic() + 30
    while not tools.evaluate(PLOTS_READY, session) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)  # let plotly finish its last redraw before the picture
    view = PageView(screenshot=screenshot)
    view.plots = json.loads(tools.evaluate(MEASURE_PLOTS, session))
    view.text = tools.evaluate("document.body.innerText", session)
    shot = tools.send(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session
    )
    screenshot.write_bytes(base64.b64decode(shot["data"]))
    for event in tools.events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Network.requestWillBeSent":
            view.requests.append(params["request"]["url"])
        elif method == "Runtime.exceptionThrown":
            view.errors.append(params["exceptionDetails"].get("text", "exception"))
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            view.errors.append(" ".join(str(a.get("value")) for a in params["args"]))
    return view


def _stop(process: subprocess.Popen) -> None:
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
