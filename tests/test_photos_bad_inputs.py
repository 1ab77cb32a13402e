"""Bad uploads are refused one by one, with a clear message naming the file, and the rest go on:
not an image, a truncated JPEG, a decompression bomb, a 1×1 image, huge headers, and zips that
escape their folder or expand beyond the limit."""

import io
import stat
import struct
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image

from nnviz.archives import ArchiveError, extract_zip
from nnviz.images import ImageReadError
from nnviz.photos.features import extract_features

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def photo(beagle) -> bytes:
    """A real photo's bytes (a beagle, JPEG)."""
    return beagle.read_bytes()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png(size=(64, 64)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, "red").save(buf, "PNG")
    return buf.getvalue()


def bomb_png() -> bytes:
    """A 65-byte PNG whose header claims 100,000 × 100,000 pixels (10 gigapixels)."""
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"")) + _chunk(b"IEND", b"")


def metadata_bomb_png() -> bytes:
    """A 50 KB PNG with a compressed text chunk that would expand to 50 MB."""
    png = _png()
    return png[:33] + _chunk(b"zTXt", b"comment\x00\x00" + zlib.compress(b"A" * 50_000_000)) + png[33:]


def big_comment_jpeg(photo: bytes) -> bytes:
    """A real photo behind 300 maximal (64 KB) JPEG comment segments: a 20 MB header."""
    segment = b"\xff\xfe" + struct.pack(">H", 65535) + b"x" * 65533
    return photo[:2] + segment * 300 + photo[2:]


# name → (its bytes, made from a real photo's bytes; the sentence a student reads after "name: ")
BAD = {
    "notes.jpg": (lambda photo: b"this is a shopping list, not a photo",
                  "this file is not a picture: use a JPEG or PNG photo"),
    "truncated.jpg": (lambda photo: photo[: len(photo) // 3],
                      "this picture is damaged or incomplete: save it again, or use another photo"),
    "bomb.png": (lambda photo: bomb_png(), "this picture is too large: at most 89 megapixels; use a smaller photo"),
    "dot.png": (lambda photo: _png((1, 1)), "this picture is too small: it is 1×1 pixels, and it needs at least 8 on "
                                            "each side; use a larger photo"),
    "zbomb.png": (lambda photo: metadata_bomb_png(), "this picture carries too much hidden extra data to open safely: "
                                                     "save it again as a JPEG or PNG"),
    "empty.jpg": (lambda photo: b"", "this file is empty: choose another photo"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_each_bad_image_gets_a_plain_words_message_with_its_name(animal_classifier, photo, name):
    make, sentence = BAD[name]
    data = make(photo)
    with pytest.raises(ImageReadError) as info:
        animal_classifier.predict_file(data, name)
    assert str(info.value) == f"{name}: {sentence}"


def test_a_file_over_the_size_limit_is_refused_in_plain_words():
    from nnviz import images

    with pytest.raises(ImageReadError) as info:
        images.open_image(b"x" * (50 * 1024 * 1024 + 1), "huge.jpg")
    assert str(info.value) == "huge.jpg: this file is too large: at most 52 MB; use a smaller photo"


def test_a_huge_but_harmless_header_is_read_and_the_photo_classified(animal_classifier, photo):
    data = big_comment_jpeg(photo)
    assert len(data) > 19_000_000
    assert animal_classifier.predict_file(data, "commented.jpg").breed == "beagle"


def test_bad_files_among_good_ones_do_not_stop_feature_extraction(tmp_path, photo):
    paths = []
    for name, data in [("good1.jpg", photo), *((n, make(photo)) for n, (make, _) in BAD.items()), ("good2.jpg", photo)]:
        (tmp_path / name).write_bytes(data)
        paths.append(tmp_path / name)
    paths.append(tmp_path / "missing.jpg")
    feats = extract_features(paths, batch_size=4)
    assert feats.ok.tolist() == [True] + [False] * len(BAD) + [True, False]
    np.testing.assert_allclose(feats.values[0], feats.values[len(BAD) + 1], atol=1e-6)
    for i, (name, (_, sentence)) in enumerate(BAD.items(), start=1):
        assert feats.errors[i] == f"{tmp_path / name}: {sentence}"
    assert feats.errors[len(paths) - 1] == (f"{tmp_path / 'missing.jpg'}: this file cannot be opened: check that it is "
                                            "still there, or choose another photo")


def make_zip(entries: dict[str, bytes], symlink: str | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            z.writestr(info, "/etc/passwd")
    return buf.getvalue()


@pytest.mark.parametrize("evil", ["../escape.jpg", "photos/../../escape.jpg", "/tmp/escape.jpg",
                                  "C:\\escape.jpg", "..\\escape.jpg"])
def test_a_zip_path_that_escapes_its_folder_is_refused_before_writing_anything(tmp_path, photo, evil):
    dest = tmp_path / "out"
    with pytest.raises(ArchiveError) as info:
        extract_zip(make_zip({"photos/cat/a.jpg": photo, evil: b"x"}), dest)
    assert str(info.value) == (f"this zip is not allowed: the file {evil!r} would be unpacked outside its folder; "
                               "zip your photo folder again")
    assert not dest.exists() or not any(dest.rglob("*"))
    assert not (tmp_path / "escape.jpg").exists()


def test_a_symbolic_link_in_a_zip_is_refused(tmp_path, photo):
    with pytest.raises(ArchiveError) as info:
        extract_zip(make_zip({"a/b.jpg": photo}, symlink="a/link.jpg"), tmp_path)
    assert str(info.value) == ("this zip is not allowed: 'a/link.jpg' is a link to another file, not a photo; "
                               "zip the photos themselves")


def test_a_zip_that_expands_beyond_the_limit_is_refused(tmp_path):
    bomb = make_zip({"photos/big.bin": b"\0" * 20_000_000})  # 20 MB that compress to ~20 KB
    assert len(bomb) < 100_000
    with pytest.raises(ArchiveError) as info:
        extract_zip(bomb, tmp_path / "a", max_total_bytes=10_000_000)
    assert str(info.value) == "this zip is too large once unpacked: at most 10 MB; use fewer or smaller photos"
    with pytest.raises(ArchiveError) as info:
        extract_zip(bomb, tmp_path / "b")  # ratio 1000:1 under the default size limit
    assert str(info.value) == ("this zip is not allowed: 'photos/big.bin' would unpack to far more than it takes in "
                               "the zip (at most 200 times); photos never do that")
    with pytest.raises(ArchiveError) as info:
        extract_zip(make_zip({"a.jpg": b"1", "b.jpg": b"2"}), tmp_path / "c", max_members=1)
    assert str(info.value) == "this zip holds too many files: at most 1; use fewer photos"
    assert not any((tmp_path / "b").rglob("*.bin"))


def test_a_zip_that_lies_about_its_sizes_is_stopped_while_extracting(tmp_path):
    data = bytearray(make_zip({"x/a.bin": b"\0" * 3_000_000, "x/b.bin": b"\1" * 3_000_000}))
    # Rewrite the declared uncompressed sizes in the central directory to 1 byte each.
    pos = 0
    while (pos := data.find(b"PK\x01\x02", pos)) != -1:
        data[pos + 24:pos + 28] = struct.pack("<I", 1)
        pos += 4
    # zipfile reads no more than the declared byte, then finds the checksum wrong: the first member
    # is stopped after 1 byte and its partly written file removed, so nothing at all is left.
    with pytest.raises(ArchiveError, match=r"^this zip is damaged or incomplete: make it again, or upload it again$"):
        extract_zip(bytes(data), tmp_path / "out", max_total_bytes=4_000_000, max_ratio=10**9)
    written = sum(f.stat().st_size for f in (tmp_path / "out").rglob("*") if f.is_file())
    assert written <= 4_000_000
    assert list((tmp_path / "out").rglob("*")) == []


def test_not_a_zip_is_refused_and_a_good_zip_unpacks(tmp_path, photo):
    with pytest.raises(ArchiveError) as info:
        extract_zip(b"PK but not really", tmp_path / "a")
    assert str(info.value) == ("this file is not a zip archive: put your photo folders in one zip file "
                               "(right-click, then Compress or Send to → Compressed folder)")
    files = extract_zip(make_zip({"photos/cat/a.jpg": photo, "__MACOSX/._a.jpg": b"meta", "photos/dog/": b""}),
                        tmp_path / "b")
    assert [f.relative_to(tmp_path / "b").as_posix() for f in files] == ["photos/cat/a.jpg"]
