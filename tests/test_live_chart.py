"""The live chart component's files: our frame page beside the plotly.js of the plotly package."""

from __future__ import annotations


def test_component_folder_holds_frame_and_plotly(tmp_path, monkeypatch):
    monkeypatch.setenv("NNVIZ_CACHE_DIR", str(tmp_path))
    from ui.live_chart import FRAME_HTML, component_dir

    folder = component_dir()
    assert folder.parent == tmp_path
    assert (folder / "index.html").read_bytes() == FRAME_HTML.read_bytes()
    js = (folder / "plotly.min.js").read_text()
    assert "plotly.js v" in js[:200]
    assert len(js) > 1_000_000  # the whole library, not a stub
    assert component_dir() == folder  # written once, then reused


def test_component_folder_falls_back_when_cache_is_read_only(tmp_path, monkeypatch):
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    monkeypatch.setenv("NNVIZ_CACHE_DIR", str(blocked))  # a file: nothing can be created under it
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", None)
    (tmp_path / "tmp").mkdir()
    from ui.live_chart import component_dir

    folder = component_dir()
    assert folder.is_relative_to(tmp_path / "tmp") and (folder / "plotly.min.js").is_file()
