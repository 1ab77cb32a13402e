"""The teacher's tools: the join URL and its QR code, presentation mode (one session only), and the
class's board of shared runs (anonymous, opt-in, shared between processes)."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nnviz import class_runs, join
from nnviz.events import EpochEnd

ROOT = Path(__file__).resolve().parent.parent
CLASSROOM = {"lo": ["127.0.0.1"], "docker0": ["172.17.0.1"], "eth0": ["169.254.10.2"], "wlan0": ["192.168.1.20"]}


# --- the join URL and its QR code -------------------------------------------------------------------


def test_join_url_is_the_lan_address_and_port():
    # Every interface: the classroom card's private address, not the loopback, a link-local
    # address or a container bridge.
    for listening in (None, "", "0.0.0.0", "::"):
        assert join.join_url(listening, 8501, CLASSROOM).url == "http://192.168.1.20:8501"
    assert join.join_url(None, 80, CLASSROOM, base_path="/nnviz/").url == "http://192.168.1.20/nnviz"
    # Two LAN cards: the one the default route leaves by.
    two = {"eth0": ["10.0.0.5"], "wlan0": ["192.168.1.20"]}
    assert join.join_url(None, 8501, two, route="192.168.1.20").url == "http://192.168.1.20:8501"
    assert join.join_url(None, 8501, two).url == "http://10.0.0.5:8501"
    # A server bound to one address is reached at that address.
    assert join.join_url("10.1.2.3", 9000, CLASSROOM).url == "http://10.1.2.3:9000"
    # No address but the loopback and a link-local one: no URL, and why.
    alone = join.join_url(None, 8501, {"lo": ["127.0.0.1"], "eth0": ["169.254.1.1"]})
    assert alone.url is None and not alone.local_only and "network" in alone.note


def test_join_url_from_the_environment_and_the_teachers_browser():
    proxy = join.join_url(None, 8501, CLASSROOM, override="https://nnviz.school.lan/")
    assert proxy.url == "https://nnviz.school.lan" and "NNVIZ_JOIN_URL" in proxy.note
    with pytest.raises(ValueError, match="NNVIZ_JOIN_URL must be a web address"):
        join.join_url(None, 8501, CLASSROOM, override="nnviz.school.lan")
    # The teacher opened the app by its LAN name: that is the class's address too (page path dropped).
    seen = join.join_url(None, 8501, CLASSROOM, browser_url="http://teacher-pc.local:8501/train?present=1")
    assert seen.url == "http://teacher-pc.local:8501"
    # Opened on the teacher's own machine: the interfaces decide.
    assert join.join_url(None, 8501, CLASSROOM, browser_url="http://localhost:8501/").url == "http://192.168.1.20:8501"


@pytest.mark.parametrize("address", ["localhost", "127.0.0.1", "::1", "[::1]"])
def test_a_server_on_the_loopback_gives_no_url_but_the_command_to_open_it(address):
    local = join.join_url(address, 8501, CLASSROOM, browser_url="http://192.168.1.20:8501/")
    assert local.url is None and local.local_only
    assert join.OPEN_COMMAND in local.note and "no other computer can reach it" in local.note


@pytest.mark.parametrize("url", ["http://192.168.1.20:8501", "https://nnviz.school.lan/class/7b",
                                 "http://[fd00::2]:8501"])
def test_qr_code_decodes_to_exactly_the_url(url):
    assert decode_qr(join.qr_png(url)) == url


def decode_qr(png: bytes) -> str:
    """The text of the one QR code in ``png``, read by ZXing (zxing-cpp), an independent decoder."""
    import io

    import zxingcpp
    from PIL import Image

    [decoded] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert decoded.format == zxingcpp.BarcodeFormat.QRCode
    return decoded.text


@pytest.fixture
def streamlit_option():
    """``streamlit_option(name, value)``: set a Streamlit config option for this test only."""
    from streamlit import config

    before = {}

    def set_(name, value):
        before.setdefault(name, config.get_option(name))
        config.set_option(name, value)
    yield set_
    for name, value in before.items():
        config.set_option(name, value)


def test_home_shows_the_join_url_and_its_qr_code(open_page, monkeypatch, streamlit_option):
    monkeypatch.setenv("NNVIZ_JOIN_URL", "http://nnviz.school.lan")
    at = open_page()
    [panel] = [e for e in at.expander if e.label == "For the teacher: let the class join"]
    assert [c.value for c in panel.code] == ["http://nnviz.school.lan"]
    [qr] = [h.proto.body for h in panel.get("html")]
    assert "alt='QR code of http://nnviz.school.lan'" in qr
    assert decode_qr(base64.b64decode(re.search(r"data:image/png;base64,([^']+)'", qr)[1])) == "http://nnviz.school.lan"
    # Listening on the loopback only: no address, but the command that opens the server.
    monkeypatch.delenv("NNVIZ_JOIN_URL")
    streamlit_option("server.address", "localhost")
    at = open_page()
    [panel] = [e for e in at.expander if e.label == "For the teacher: let the class join"]
    assert "no other computer can reach it" in panel.warning[0].value and join.OPEN_COMMAND in panel.warning[0].value
    assert not panel.code and not panel.get("html")


def test_a_bad_join_url_is_refused_in_plain_words(open_page, monkeypatch):
    monkeypatch.setenv("NNVIZ_JOIN_URL", "javascript:alert(1)")
    at = open_page()
    [panel] = [e for e in at.expander if e.label == "For the teacher: let the class join"]
    assert panel.error[0].value.startswith("NNVIZ_JOIN_URL must be a web address") and not panel.code


# --- presentation mode ---------------------------------------------------------------------------------


FONTS = """() => ({root: parseFloat(getComputedStyle(document.documentElement).fontSize),
  title: parseFloat(getComputedStyle(document.querySelector('h1')).fontSize),
  sidebar: document.querySelector('[data-testid=stSidebar]').getAttribute('data-collapsed')})"""


@pytest.mark.browser
def test_presentation_mode_enlarges_one_session_only(chromium, app_url):
    contexts = [chromium.new_context(viewport={"width": 1920, "height": 1080}) for _ in range(2)]
    try:
        projector, student = (c.new_page() for c in contexts)
        for page in (projector, student):
            page.set_default_timeout(60_000)
        projector.goto(f"{app_url}/draw?present=1")
        projector.wait_for_function("() => getComputedStyle(document.documentElement).fontSize !== '16px'")
        student.goto(f"{app_url}/draw")  # after the projector turned it on: a second session, its own mode
        # The whole page has run once its last element, the Clear button under the canvas, is
        # there; presentation mode's style comes first (app.py), so it would be applied by then.
        student.get_by_role("button", name="Clear the canvas").wait_for()
        big, normal = projector.evaluate(FONTS), student.evaluate(FONTS)
        assert normal["root"] == 16 and big["root"] >= 24, (big, normal)
        assert big["title"] > 1.4 * normal["title"]
        assert big["sidebar"] == "true" and normal["sidebar"] == "false"  # folded away for the projector
        # The mode stays with the session from page to page, and the address keeps it for a bookmark.
        projector.goto(f"{app_url}/train?present=1")
        projector.locator("h1").wait_for()
        projector.wait_for_function("() => getComputedStyle(document.documentElement).fontSize !== '16px'")
        # The student turns it on and off with the sidebar's toggle; the projector is unaffected.
        student.get_by_text("Presentation mode").click()
        student.wait_for_function("() => getComputedStyle(document.documentElement).fontSize !== '16px'")
        assert "present=1" in student.url
        student.wait_for_function("() => document.querySelector('[data-testid=stSidebar]').dataset.collapsed === 'true'")
        student.get_by_test_id("stExpandSidebarButton").click()
        student.get_by_text("Presentation mode").click()
        student.wait_for_function("() => getComputedStyle(document.documentElement).fontSize === '16px'")
        assert "present" not in student.url
        assert projector.evaluate(FONTS)["root"] >= 24
    finally:
        for context in contexts:
            context.close()


# --- the class's board of runs ---------------------------------------------------------------------------


def publish_example(folder, share_id="0123456789abcdef", name="Otter 3", number=1, lr=0.1, status="finished"):
    config = {"epochs": 2, "batch_size": 64, "learning_rate": lr, "optimizer": "adam", "schedule": "constant",
              "seed": 0, "train_size": 1000, "device": "cpu"}
    epochs = [EpochEnd(1, 0.5, 0.85, 0.4, 0.88, 3.0), EpochEnd(2, 0.3, 0.9, 0.3, 0.91, 6.0)]
    return class_runs.publish(folder, share_id, name, number, "mnist", {"kind": "mlp", "hidden": [32],
                              "activation": "relu"}, config, status, list(range(1, 33)), [2.3 - i / 20 for i in range(32)],
                              16, epochs)


def test_names_are_anonymous_and_a_crafted_file_never_reaches_the_board(tmp_path):
    import random

    names = {class_runs.anonymous_name(random.Random(seed)) for seed in range(200)}
    assert all(class_runs.NAME.match(n) and n.split()[0] in class_runs.ANIMALS for n in names) and len(names) > 150
    with pytest.raises(ValueError):
        publish_example(tmp_path, name="Alice Martin")  # a student's name is never written
    with pytest.raises(ValueError):
        publish_example(tmp_path, share_id="../../etc/passwd")  # nor a path
    good = json.loads(publish_example(tmp_path).read_text())
    crafted = {"name.json": {**good, "name": "<img src=x onerror=alert(1)>"},
               "opt.json": {**good, "config": {**good["config"], "optimizer": "<b>adam</b>"}},
               "kind.json": {**good, "architecture": {"kind": "<script>", "hidden": [32]}},
               "lr.json": {**good, "config": {**good["config"], "learning_rate": "0.1<br>"}},
               "acc.json": {**good, "epochs": [{**good["epochs"][0], "test_accuracy": "91 %"}]}}
    for file, content in crafted.items():
        (tmp_path / file).write_text(json.dumps(content))
    (tmp_path / "half.json").write_text(json.dumps(good)[:200])
    [run] = class_runs.board(tmp_path)
    assert (run.name, run.config["learning_rate"], run.test_accuracy) == ("Otter 3", 0.1, 0.91)
    assert class_runs.board_labels([run]) == ["Otter 3 #1 · same settings"]


def test_the_board_survives_a_second_process(tmp_path):
    """Two app processes behind a proxy share the folder: each reads what the other wrote."""
    publish_example(tmp_path, share_id="aaaaaaaaaaaaaaaa", name="Otter 3", lr=0.1)
    other = subprocess.run([sys.executable, "-c", (
        "import json, sys; from nnviz import class_runs; from nnviz.events import EpochEnd\n"
        "folder = sys.argv[1]\n"
        "seen = [(r.name, r.config['learning_rate']) for r in class_runs.board(folder)]\n"
        "class_runs.publish(folder, 'bbbbbbbbbbbbbbbb', 'Heron 12', 1, 'mnist', {'kind': 'cnn', 'channels': [16, 32]},"
        " {'epochs': 1, 'batch_size': 64, 'learning_rate': 0.001, 'optimizer': 'sgd', 'schedule': 'onecycle',"
        " 'seed': 0, 'train_size': None}, 'running', [1, 2, 3], [2.3, 2.2, float('nan')], 938, [])\n"
        "print(json.dumps(seen))"), str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert other.returncode == 0, other.stderr
    assert json.loads(other.stdout) == [["Otter 3", 0.1]]
    runs = class_runs.board(tmp_path)
    assert [(r.name, r.status, r.config["learning_rate"]) for r in runs] == [("Heron 12", "running", 0.001),
                                                                              ("Otter 3", "finished", 0.1)]
    # Named by animal and by the settings that differ (both have batch 64 and seed 0).
    assert class_runs.board_labels(runs) == [
        "Heron 12 #1 · CNN 16→32 ch · SGD · lr 0.001 · one-cycle · 1 epochs · all images",
        "Otter 3 #1 · MLP 32 relu · Adam · lr 0.1 · constant rate · 2 epochs · 1,000 images"]
    # A run that blew up keeps its curve, its infinite loss written as null.
    assert runs[0].smoothed[:2] == (2.3, 2.2) and runs[0].smoothed[2] != runs[0].smoothed[2]
    assert class_runs.withdraw(tmp_path, "bbbbbbbbbbbbbbbb") == 1
    assert [r.name for r in class_runs.board(tmp_path)] == ["Otter 3"]
    # Yesterday's lesson is left off; the teacher clears the rest.
    assert class_runs.board(tmp_path, now=time.time() + class_runs.MAX_AGE_S + 60) == []
    assert class_runs.clear(tmp_path) == 1 and class_runs.board(tmp_path) == []


def train_once(at, lr: float, share: bool) -> None:
    """On an AppTest Train page: a small MLP on 1,000 images at ``lr``, shared or not, run to its end."""
    at.segmented_control(key="train_kind").set_value("mlp")
    at.run()
    at.select_slider(key="train_width").set_value(32)
    at.select_slider(key="train_layers").set_value(1)
    at.select_slider(key="train_lr").set_value(lr)
    at.select_slider(key="train_n_mnist").set_value(1000)
    at.toggle(key="class_share_toggle").set_value(share)
    at.run()
    at.button(key="train_start").click()
    at.run()
    assert at.session_state["train_live"].worker.join(120)
    at.run()
    at.run()
    assert not at.exception, at.exception


@pytest.fixture
def class_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("NNVIZ_CLASS_DIR", str(tmp_path / "class_runs"))
    monkeypatch.setenv("NNVIZ_USER_MODELS", str(tmp_path / "models"))
    return tmp_path / "class_runs"


def board_table(open_page) -> list[dict]:
    board = open_page("app_pages/class_runs.py")
    frames = board.dataframe
    return frames[0].value.to_dict("records") if frames else []


def test_a_shared_run_is_on_the_board_and_a_private_one_is_not(open_page, class_folder):
    sharer, private = open_page("app_pages/train.py"), open_page("app_pages/train.py")
    try:
        train_once(sharer, 0.1, share=True)
        train_once(private, 0.001, share=False)
        name = sharer.session_state["class_identity"][1]
        assert f"Your runs appear on the **Class runs** page as **{name}**." in [c.value for c in sharer.caption]
        rows = board_table(open_page)
        assert [(r["run by"], r["run"], r["status"]) for r in rows] == [(name, "#1", "finished")]
        assert "lr 0.1 " in rows[0]["network and recipe"] and re.fullmatch(r"\d+\.\d\d%", rows[0]["test accuracy"])
        assert not any("0.001" in str(v) for r in rows for v in r.values())  # the private run is nowhere
        assert "class_identity" not in private.session_state
        # Stopping sharing takes the session's runs off the board.
        sharer.toggle(key="class_share_toggle").set_value(False)
        sharer.run()
        assert board_table(open_page) == [] and list(class_folder.glob("*.json")) == []
    finally:
        for at in (sharer, private):
            if "train_live" in at.session_state:
                at.session_state["train_live"].worker.stop(wait_s=5)


def test_sharing_later_puts_the_sessions_earlier_runs_on_the_board(open_page, class_folder):
    at = open_page("app_pages/train.py")
    try:
        train_once(at, 0.01, share=False)
        assert board_table(open_page) == []
        at.toggle(key="class_share_toggle").set_value(True)
        at.run()
        [row] = board_table(open_page)
        assert row["run by"] == at.session_state["class_identity"][1] and "lr 0.01 " in row["network and recipe"]
    finally:
        if "train_live" in at.session_state:
            at.session_state["train_live"].worker.stop(wait_s=5)


def test_the_teacher_clears_the_board_only_with_the_code(open_page, class_folder, monkeypatch):
    publish_example(class_folder)
    monkeypatch.setenv("NNVIZ_TEACHER_CODE", "owl-42")
    board = open_page("app_pages/class_runs.py")
    board.checkbox(key="class_clear_sure").check()
    board.text_input(key="class_code").input("guess")
    board.button[-1].click()
    board.run()
    assert board.error[0].value == "That is not the teacher's code. Nothing was removed."
    assert len(class_runs.board(class_folder)) == 1
    board.text_input(key="class_code").input("owl-42")
    board.button[-1].click()
    board.run()
    assert board.success[0].value.startswith("Removed 1 run(s).") and class_runs.board(class_folder) == []


def test_scale_fonts_enlarges_every_font_of_a_figure():
    import plotly.graph_objects as go

    from nnviz.figures.style import scale_fonts
    from nnviz.figures.training_curves import comparison_figure

    figure = comparison_figure([])  # subplot titles at plotly's 16 px, the rest at the base font
    figure.add_annotation(text="note", font=dict(size=11))
    figure.add_trace(go.Scatter(x=[0], y=[1], text=["a"], textfont=dict(size=[10])))
    larger = scale_fonts(figure, 1.5)
    assert larger.layout.font.size == 18  # plotly's 12 px
    assert [a.font.size for a in larger.layout.annotations] == [24, 24, 16.5]
    assert larger.data[-1].textfont.size == (15,)
    assert figure.layout.font.size is None and figure.layout.annotations[-1].font.size == 11  # a copy
    with pytest.raises(ValueError, match="positive number"):
        scale_fonts(figure, 0)


def test_presentation_mode_enlarges_the_live_charts_of_that_session_only(open_page):
    live = [json.loads(json.loads(c.proto.json_args)["figure"])["layout"]
            for c in open_page("app_pages/train.py", teacher_present=True).get("component_instance")]
    plain = [json.loads(json.loads(c.proto.json_args)["figure"])["layout"]
             for c in open_page("app_pages/train.py").get("component_instance")]
    assert len(live) == len(plain) == 2
    for big, normal in zip(live, plain):
        assert big["font"]["size"] == 12 * 1.35 and "size" not in normal.get("font", {})
        assert big["height"] == round(normal["height"] * 1.35)
