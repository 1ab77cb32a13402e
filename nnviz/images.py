"""Reading image files and uploads safely: one clear error per bad file, nothing else changes."""

from __future__ import annotations

import io
import logging
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# PIL's own decompression-bomb limit (about 89 megapixels) is kept: Image.open raises
# DecompressionBombError above twice that and warns above it; we turn the warning into an error.
MAX_PIXELS = Image.MAX_IMAGE_PIXELS
MAX_FILE_BYTES = 50 * 1024 * 1024
log = logging.getLogger(__name__)

# What a student reads when a file is refused: what is wrong and what to do, in plain words. The
# technical cause (PIL's exception) goes to the log, not into the sentence.
NOT_READABLE = "this file cannot be opened: check that it is still there, or choose another photo"
TOO_MANY_BYTES = "this file is too large: at most {mb} MB; use a smaller photo"
EMPTY = "this file is empty: choose another photo"
TOO_MANY_PIXELS = "this picture is too large: at most {mp} megapixels; use a smaller photo"
NOT_A_PICTURE = "this file is not a picture: use a JPEG or PNG photo"
TOO_MUCH_METADATA = "this picture carries too much hidden extra data to open safely: save it again as a JPEG or PNG"
DAMAGED = "this picture is damaged or incomplete: save it again, or use another photo"


class ImageReadError(ValueError):
    """A file or upload that is not a usable image; the message says why in plain words."""


def open_image(source: str | Path | bytes, name: str | None = None) -> Image.Image:
    """Decode an image file or bytes into an RGB, RGBA or L image, fully loaded.

    Honours EXIF orientation, takes a GIF's first frame, scales 16-bit and 32-bit grey to 8-bit,
    and converts palette and CMYK images to RGB(A).

    Raises:
        ImageReadError: not an image, truncated or corrupt data, more than ``MAX_PIXELS`` pixels
            (decompression bomb), larger than ``MAX_FILE_BYTES``, or an unreadable path. The
            message is ``"<name>: "`` and one of this module's plain-words sentences.
    """
    label = name or (str(source) if not isinstance(source, bytes) else "upload")
    try:
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
    except OSError as exc:
        raise _refuse(label, NOT_READABLE, exc) from exc
    if len(data) > MAX_FILE_BYTES:
        raise _refuse(label, TOO_MANY_BYTES.format(mb=f"{MAX_FILE_BYTES / 1e6:.0f}"), f"{len(data):,} bytes")
    if not data:
        raise _refuse(label, EMPTY)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            img.seek(0)  # first frame of an animation
            img.load()
            img = ImageOps.exif_transpose(img)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _refuse(label, TOO_MANY_PIXELS.format(mp=f"{MAX_PIXELS / 1e6:.0f}"), exc) from exc
    except UnidentifiedImageError as exc:
        raise _refuse(label, NOT_A_PICTURE, exc) from exc
    except ValueError as exc:
        if "too large" in str(exc).lower():  # PIL's limits on metadata (e.g. PNG MAX_TEXT_CHUNK)
            raise _refuse(label, TOO_MUCH_METADATA, exc) from exc
        raise _refuse(label, DAMAGED, exc) from exc
    except (OSError, SyntaxError, EOFError) as exc:  # truncated or corrupt data
        raise _refuse(label, DAMAGED, exc) from exc
    return to_standard_mode(img)


def _refuse(label: str, sentence: str, detail: object = None) -> ImageReadError:
    """The error a student reads (``"<label>: <sentence>"``); the technical ``detail`` is logged."""
    if detail is not None:
        log.info("refused %s: %s", label, detail)
    return ImageReadError(f"{label}: {sentence}")


def to_standard_mode(img: Image.Image) -> Image.Image:
    """Convert any PIL mode to ``L``, ``RGB`` or ``RGBA`` (8 bits per channel)."""
    if img.mode in ("L", "RGB", "RGBA"):
        return img
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        a = np.asarray(img, dtype=np.float64)
        hi = 65535.0 if img.mode.startswith("I;16") or a.max() > 255 else 255.0
        return Image.fromarray(np.clip(a / hi * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    if img.mode in ("LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        return img.convert("RGBA")
    if img.mode == "1":
        return img.convert("L")
    return img.convert("RGB")
