"""A closed tab's session ends once its reconnect time has passed (ui/session_reaper.py), even when
no other tab closes after it: the last class of the day leaves nothing behind."""

from __future__ import annotations

import asyncio
import concurrent.futures
import time

from testkit.st_protocol import Tab


def test_a_closed_tabs_files_go_when_its_reconnect_time_has_passed(start_app, tmp_path, beagle):
    """A photo added to "Teach it your own classes" lies in the session's own temporary folder;
    after the tab closes and the reconnect time (2 s here) passes, the folder is gone, though no
    other tab closed meanwhile (Streamlit's store alone would keep it until the next one did).
    Another student stays on: Streamlit's own loop keeps the last tab it served in a variable
    until a tab is served again (one session, whoever it was), so a server left with no tab at
    all holds one session until the next student arrives."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    url = start_app({"TMPDIR": str(tmp), "STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": "2"})

    async def add_a_photo_and_leave() -> None:
        tab = Tab(url)
        await tab.open("photos")
        result = await tab.upload("teach_upload_0", [("beagle.jpg", beagle.read_bytes())])
        assert not result.exceptions(), result.exceptions()
        await tab.close()

    async def class_goes_on() -> None:
        await add_a_photo_and_leave()
        folders = list(tmp.glob("nnviz-camera-*"))
        assert len(folders) == 1 and list(folders[0].rglob("*.jpg")), "the photo was not stored in the session's folder"
        other = Tab(url)
        await other.open("draw")
        deadline = time.monotonic() + 90
        while folders[0].exists() and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        await other.close()
        assert not folders[0].exists(), "the closed tab's session still holds its folder"

    # In a thread of its own: a browser test before this one may leave Playwright's event loop
    # running in the main thread, where asyncio.run() refuses to start another.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, class_goes_on()).result()
