"""The Photos page, headless (AppTest) and in a real Chromium: upload real photos and see their
groups; bad files are named with their reason; train a head on a zip and download a submission."""

import json

import pytest

from nnviz.photos.backbone import class_names

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_page_asks_for_a_photo_first(photos_page):
    assert photos_page.title[0].value.startswith("Photos")
    assert any("Upload a photo" in i.value for i in photos_page.info)


def test_uploaded_photos_show_their_groups_and_bad_files_their_reason(photos_page, beagle, leopard):
    at = photos_page
    at.file_uploader(key="photos_upload").set_value([
        ("beagle.jpg", beagle.read_bytes(), "image/jpeg"),
        ("half.jpg", beagle.read_bytes()[:5000], "image/jpeg"),
        ("leopard.jpg", leopard.read_bytes(), "image/jpeg"),
    ]).run()
    assert not at.exception, at.exception
    assert len(at.error) == 1 and at.error[0].value.startswith("**half.jpg** — not used: this picture is "
                                                               "damaged or incomplete")
    table = at.dataframe[0].value
    assert list(table["photo"]) == ["beagle.jpg", "leopard.jpg"]
    assert [g.split(" — ")[0] for g in table["animal group"]] == ["dog (beagle)", "leopard"]
    assert at.metric[0].value == "dog (beagle)"
    at.selectbox(key="photos_pick").set_value("leopard.jpg").run()
    assert at.metric[0].value == "leopard"
    groups = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if "Animal group" in c.proto.spec)
    bars = dict(zip(groups["data"][0]["y"], groups["data"][0]["x"]))
    assert len(bars) == 11 and abs(sum(bars.values()) - 1) < 1e-6
    assert max(bars, key=bars.get) == "leopard" and "no animal (blank)" in bars
    assert at.radio(key="photos_cam_class").options[1].startswith("jaguar")
    at.radio(key="photos_cam_class").set_value(class_names().index("jaguar")).run()
    assert not at.exception, at.exception
    assert any("Where it looks for “jaguar”" in json.loads(c.proto.spec)["layout"]["title"]["text"]
               for c in at.get("plotly_chart"))


def test_train_a_head_on_a_zip_and_download_a_submission(photos_page, beagle, cifar_images, class_folder_zip,
                                                        submission_zip, train_photo_head):
    at = photos_page
    at.file_uploader(key="photos_upload").set_value(("beagle.jpg", beagle.read_bytes(), "image/jpeg")).run()
    images = cifar_images("train", 20, classes=("bird", "cat", "frog"))
    at.file_uploader(key="photos_train_zip").set_value(("cifar.zip", class_folder_zip(images), "application/zip")).run()
    assert not at.exception, at.exception
    assert any("60 photos" in m.value for m in at.markdown)
    accuracy = train_photo_head(at, timeout=60)
    assert float(accuracy.rstrip("%")) > 50  # chance: 33 %
    test_paths = [p for ps in cifar_images("test", 2, classes=("bird", "cat", "frog")).values() for p in ps]
    data, ids = submission_zip(test_paths)
    at.file_uploader(key="photos_test_zip").set_value(("test.zip", data, "application/zip")).run()
    assert not at.exception, at.exception
    shown = at.dataframe[-1].value
    assert list(shown.columns) == ["id", "bird", "cat", "frog"] and list(shown["id"]) == ids
    assert ((shown[["bird", "cat", "frog"]].sum(axis=1) - 1).abs() < 1e-9).all()


@pytest.mark.browser
def test_browser_upload_a_photo_and_see_its_groups(page, app_url, tmp_path, beagle):
    page.goto(f"{app_url}/photos")
    page.get_by_text("Upload one or many photos").wait_for(timeout=90_000)
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(beagle.read_bytes()[:3000])
    page.locator("input[type=file]").first.set_input_files([str(beagle), str(bad)])
    metric = page.locator("[data-testid=stMetric]").first
    metric.wait_for(timeout=90_000)
    assert "dog (beagle)" in metric.inner_text()
    page.get_by_text("broken.jpg — not used").wait_for()
    page.get_by_text("Where it looks for “beagle”").wait_for()
    groups = page.locator(".js-plotly-plot").filter(has_text="Animal group")
    groups.locator("text", has_text="no animal (blank)").first.wait_for()  # the bars' labels, drawn as SVG
    labels = groups.locator("g.ytick text").all_text_contents()
    assert len(labels) == 11 and "dog" in labels and "civet / genet (mongoose family)" in labels
