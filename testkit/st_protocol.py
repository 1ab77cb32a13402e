"""A Streamlit browser tab without the browser: Streamlit's own websocket protocol, spoken by asyncio.

The browser's side of the protocol, as Streamlit 1.67's frontend speaks it (read from
``streamlit/web/server/starlette/`` and the frontend bundle):

1. ``GET <base>/<page>`` and ``GET <base>/_stcore/health``: the second sets the ``_streamlit_xsrf``
   cookie. Every cookie is kept per tab and sent back with the websocket handshake and uploads, so
   that a proxy's sticky-session cookie keeps the tab on one server.
2. websocket ``<base>/_stcore/stream`` with the subprotocols ``streamlit, <xsrf token>``.
3. ``BackMsg.rerun_script`` (a ``ClientState``): ``page_name`` (the page's ``url_path``) for the first
   run; afterwards ``page_script_hash`` (from ``Navigation``), the widgets' values
   (``WidgetStates``) and, for a rerun of one ``st.fragment``, its ``fragment_id``.
4. ``ForwardMsg``s back: ``new_session``, ``delta``s (each at a ``metadata.delta_path``, an element
   carrying its widget ``id``), ``auto_rerun`` (a fragment with ``run_every``: the browser then
   sends ``rerun_script`` with ``is_auto_rerun`` at that interval) and ``script_finished``.
5. Uploads: ``BackMsg.file_urls_request`` → ``ForwardMsg.file_urls_response`` (an upload URL per
   file) → HTTP ``PUT`` of a multipart form, with the ``X-Xsrftoken`` header → the uploader's
   widget value, a ``FileUploaderState`` naming the file ids.

Each simulated student costs a few kilobytes and a little CPU, so a load test measures the server,
not the clients. Used by ``benchmarks/load_test.py`` and ``tests/test_load_protocol.py``; :func:`canvas_value`
is what the Draw page's canvas sends.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import json
import time
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

FRAGMENT_DONE = ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY
SCRIPT_DONE = ForwardMsg.FINISHED_SUCCESSFULLY
EARLY = ForwardMsg.FINISHED_EARLY_FOR_RERUN


class ProtocolError(RuntimeError):
    """The server closed the connection, or did not answer in time."""



def canvas_value(strokes, clears: int) -> str:
    """The JSON the Draw page's canvas sends after a pen lift (``ui/digit_canvas/index.html``):
    every stroke so far as a flat ``[x0, y0, x1, y1, …]`` list, coordinates rounded to 0.1 px."""
    return json.dumps({"strokes": [[round(v, 1) for point in s for v in point] for s in strokes],
                       "clears": clears})


@dataclass
class RunResult:
    """What one script run sent back: its elements in arrival order, how it ended and how long it took.

    Attributes:
        elements: ``(delta_path, fragment_id, element)`` for each ``new_element`` delta.
        status: the ``ScriptFinishedStatus`` value (``FRAGMENT_DONE``, ``SCRIPT_DONE``, …).
        seconds: wall time from sending the ``rerun_script`` to its ``script_finished``.
    """

    elements: list = field(default_factory=list)
    status: int | None = None
    seconds: float = 0.0

    def of_type(self, kind: str) -> list:
        """The elements of one kind (``"metric"``, ``"exception"``, ``"alert"`` …), in order."""
        return [getattr(el, kind) for _, _, el in self.elements if el.WhichOneof("type") == kind]

    def metric(self, label: str) -> str | None:
        """The value shown by the ``st.metric`` called ``label``, or None if the run drew none."""
        found = [m.body for m in self.of_type("metric") if m.label == label]
        return found[-1] if found else None

    def exceptions(self) -> list[str]:
        """``"Type: message"`` of every exception the run showed (an uncaught error on the page)."""
        return [f"{e.type}: {e.message}" for e in self.of_type("exception")]


class Tab:
    """One browser tab on a Streamlit app. Create, then ``await tab.open("draw")``.

    Args:
        base_url: the app's HTTP address with any path prefix, e.g. ``http://127.0.0.1:8501`` or
            ``http://host/nnviz``.
        timeout_s: longest wait for a script run, seconds.
    """

    def __init__(self, base_url: str, timeout_s: float = 120.0):
        self.base = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.cookies = http.cookiejar.CookieJar()
        self._http = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        self.ws = None
        self.session_id = ""
        self.page_hash = ""
        self.widget_ids: dict[str, str] = {}   # user key (or element kind) → widget id
        self.fragment_of: dict[str, str] = {}  # widget id → fragment id it was drawn in
        self.components: dict[str, dict] = {}  # component widget id → its latest json args
        self.values: dict[str, WidgetState] = {}  # widget values this tab has set, sent with every rerun
        self.all_elements: list = []             # every element since open, for passive watchers
        self.disconnected: str | None = None
        self._run: RunResult | None = None
        self._run_done: asyncio.Event | None = None
        self._file_urls: dict[str, asyncio.Future] = {}
        self._auto: dict[str, asyncio.Task] = {}
        self._reader: asyncio.Task | None = None
        self._lock = asyncio.Lock()

    # -- connection --------------------------------------------------------------------------
    def _cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.cookies)

    def _xsrf(self) -> str:
        return next((c.value for c in self.cookies if c.name == "_streamlit_xsrf"), "")

    async def open(self, page: str = "") -> RunResult:
        """Load ``page`` (its url path; "" for the default page) as the browser does; returns the first run.

        Raises:
            ProtocolError: the server refused or closed the connection, or the run did not finish.
        """
        await asyncio.to_thread(lambda: self._http.open(f"{self.base}/{page}", timeout=60).read())
        await asyncio.to_thread(lambda: self._http.open(f"{self.base}/_stcore/health", timeout=60).read())
        ws_url = ("ws" + self.base[4:] if self.base.startswith("http") else self.base) + "/_stcore/stream"
        headers = {"Cookie": self._cookie_header()} if self._cookie_header() else {}
        protocols = ["streamlit", self._xsrf()] if self._xsrf() else ["streamlit"]
        self.ws = await websockets.connect(ws_url, subprotocols=protocols, additional_headers=headers,
                                           max_size=None, open_timeout=60, ping_interval=None)
        self._reader = asyncio.create_task(self._read())
        msg = BackMsg()
        msg.rerun_script.page_name = page
        msg.rerun_script.query_string = ""
        return await self._send_run(msg)

    async def close(self) -> None:
        """Close the tab (the server keeps the session for ``server.disconnectedSessionTTL``)."""
        for task in self._auto.values():
            task.cancel()
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
            try:
                await self._reader
            except (asyncio.CancelledError, Exception):
                pass

    async def _read(self) -> None:
        try:
            async for data in self.ws:
                msg = ForwardMsg()
                msg.ParseFromString(data)
                self._on_message(msg)
        except websockets.ConnectionClosed as exc:
            self.disconnected = f"connection closed: {exc}"
        finally:
            if self.disconnected is None:
                self.disconnected = "connection closed"
            if self._run_done is not None:
                self._run_done.set()

    def _on_message(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            self.session_id = msg.new_session.initialize.session_id
        elif kind == "navigation":  # st.navigation names the page being shown (not new_session, with pages)
            self.page_hash = msg.navigation.page_script_hash
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element, fragment = msg.delta.new_element, msg.delta.fragment_id
            item = (tuple(msg.metadata.delta_path), fragment, element)
            self.all_elements.append(item)
            if self._run is not None:
                self._run.elements.append(item)
            inner = getattr(element, element.WhichOneof("type"))
            widget_id = getattr(inner, "id", "")
            if widget_id:
                # Widget ids end with "-<user key>" ("-None" without one); the element kind names
                # the keyless ones (e.g. "component_instance").
                key = widget_id.rsplit("-", 1)[-1]
                self.widget_ids[key if key != "None" else element.WhichOneof("type")] = widget_id
                self.fragment_of[widget_id] = fragment
                if element.WhichOneof("type") == "component_instance":
                    self.components[widget_id] = json.loads(inner.json_args)
        elif kind == "auto_rerun":
            self._start_auto_rerun(msg.auto_rerun.fragment_id, msg.auto_rerun.interval)
        elif kind == "stop_auto_rerun":
            for fragment in msg.stop_auto_rerun.fragment_ids:
                task = self._auto.pop(fragment, None)
                if task:
                    task.cancel()
        elif kind == "file_urls_response":
            future = self._file_urls.pop(msg.file_urls_response.response_id, None)
            if future is not None and not future.done():
                future.set_result(msg.file_urls_response)
        elif kind == "script_finished" and self._run is not None and msg.script_finished != EARLY:
            self._run.status = msg.script_finished
            self._run_done.set()

    def _start_auto_rerun(self, fragment_id: str, interval: float) -> None:
        """As the browser does for ``st.fragment(run_every=…)``: rerun that fragment every ``interval`` s."""
        old = self._auto.pop(fragment_id, None)
        if old:
            old.cancel()

        async def tick():
            while self.disconnected is None:
                await asyncio.sleep(interval)
                async with self._lock:  # never two runs in flight from one tab
                    if self._run is None:
                        msg = self._rerun_msg(fragment_id)
                        msg.rerun_script.is_auto_rerun = True
                        await self._send_run(msg, locked=True)
        self._auto[fragment_id] = asyncio.create_task(tick())

    # -- script runs -------------------------------------------------------------------------
    def _rerun_msg(self, fragment_id: str = "", triggers: list[WidgetState] = ()) -> BackMsg:
        msg = BackMsg()
        state = msg.rerun_script
        state.page_script_hash = self.page_hash
        state.query_string = ""
        if fragment_id:
            state.fragment_id = fragment_id
        for value in [*self.values.values(), *triggers]:
            state.widget_states.widgets.add().CopyFrom(value)
        return msg

    async def _send_run(self, msg: BackMsg, locked: bool = False) -> RunResult:
        if not locked:
            async with self._lock:
                return await self._send_run(msg, locked=True)
        if self.disconnected:
            raise ProtocolError(self.disconnected)
        self._run, self._run_done = RunResult(), asyncio.Event()
        start = time.perf_counter()
        try:
            await self.ws.send(msg.SerializeToString())
            await asyncio.wait_for(self._run_done.wait(), self.timeout_s)
        except asyncio.TimeoutError:
            raise ProtocolError(f"no script_finished within {self.timeout_s:g} s") from None
        except websockets.ConnectionClosed as exc:
            raise ProtocolError(f"connection closed: {exc}") from None
        finally:
            run, self._run = self._run, None
        run.seconds = time.perf_counter() - start
        if run.status is None:
            raise ProtocolError(self.disconnected or "run ended without script_finished")
        return run

    def widget(self, key: str) -> str:
        """The widget id of the widget with user key ``key``.

        Raises:
            KeyError: no element with that key has arrived.
        """
        return self.widget_ids[key]

    async def set_value(self, key: str, rerun: bool = True, **value) -> RunResult | None:
        """Set a widget's value as the browser does (e.g. ``json_value=…``, ``int_value=…``) and
        rerun its fragment, or the page if it has none."""
        widget_id = self.widget(key)
        self.values[widget_id] = WidgetState(id=widget_id, **value)
        if rerun:
            return await self._send_run(self._rerun_msg(self.fragment_of.get(widget_id, "")))
        return None

    async def click(self, key: str) -> RunResult:
        """Press the button with user key ``key`` (a one-run trigger value)."""
        widget_id = self.widget(key)
        trigger = WidgetState(id=widget_id, trigger_value=True)
        return await self._send_run(self._rerun_msg(self.fragment_of.get(widget_id, ""), [trigger]))

    async def upload(self, key: str, files: list[tuple[str, bytes]]) -> RunResult:
        """Upload ``files`` (name, bytes) into the ``st.file_uploader`` with key ``key``, as the browser does.

        Raises:
            ProtocolError: the server refused the URLs or an upload (status and reason in the message).
        """
        widget_id = self.widget(key)
        request_id = uuid.uuid4().hex
        future = asyncio.get_running_loop().create_future()
        self._file_urls[request_id] = future
        msg = BackMsg()
        msg.file_urls_request.request_id = request_id
        msg.file_urls_request.session_id = self.session_id
        msg.file_urls_request.file_names.extend(name for name, _ in files)
        await self.ws.send(msg.SerializeToString())
        response = await asyncio.wait_for(future, self.timeout_s)
        if response.error_msg:
            raise ProtocolError(f"file_urls_request refused: {response.error_msg}")
        state = WidgetState(id=widget_id)
        for (name, data), urls in zip(files, response.file_urls):
            await asyncio.to_thread(self._put, urls.upload_url, name, data)
            info = state.file_uploader_state_value.uploaded_file_info.add()
            info.name, info.size, info.file_id = name, len(data), urls.file_id
            info.file_urls.CopyFrom(urls)
        self.values[widget_id] = state
        return await self._send_run(self._rerun_msg(self.fragment_of.get(widget_id, "")))

    def _put(self, upload_url: str, name: str, data: bytes) -> None:
        url = upload_url if "://" in upload_url else self.base + "/" + upload_url.lstrip("/")
        boundary = uuid.uuid4().hex
        quoted = urllib.parse.quote(name)
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{quoted}\"; filename=\"{quoted}\"\r\n"
                f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
        request = urllib.request.Request(url, data=body, method="PUT", headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}", "X-Xsrftoken": self._xsrf()})
        try:
            self._http.open(request, timeout=self.timeout_s).read()
        except urllib.error.HTTPError as exc:
            raise ProtocolError(f"upload refused: HTTP {exc.code} {exc.read()[:200]!r}") from None
