"""The load test's protocol client (``testkit/st_protocol.py``) still speaks Streamlit's websocket
protocol as the browser does: three simulated students on a real server each open the Draw page,
send a drawing as the canvas does, and read back the network's answer to their own drawing."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from testkit.browser_drawing import ONE, SEVEN
from testkit.st_protocol import Tab, canvas_value


async def student(url: str, strokes) -> tuple[str | None, str | None, list[str]]:
    """Open the Draw page, draw ``strokes``, press Clear; returns (answer, answer after Clear, exceptions)."""
    tab = Tab(url, timeout_s=120)
    try:
        first = await tab.open("draw")
        drawn = await tab.set_value("canvas", json_value=canvas_value(strokes, tab.components[tab.widget("canvas")]["clears"]))
        cleared = await tab.click("button")
        return drawn.metric("Prediction"), cleared.metric("Prediction"), first.exceptions() + drawn.exceptions()
    finally:
        await tab.close()


def test_three_protocol_students_each_get_the_answer_to_their_own_drawing(app_url):
    async def class_of_three():
        return await asyncio.gather(student(app_url, SEVEN), student(app_url, ONE), student(app_url, SEVEN))

    # In a thread of its own: the browser tests' Playwright (sync API) keeps an event loop running
    # in this one, where asyncio.run() refuses to start another.
    with ThreadPoolExecutor(1) as pool:
        results = pool.submit(asyncio.run, class_of_three()).result()
    assert [answer for answer, _, _ in results] == ["7", "1", "7"]
    assert [after_clear for _, after_clear, _ in results] == ["—", "—", "—"]  # Clear reached the server too
    assert all(not errors for _, _, errors in results), results
