"""Facts about Triton images (catalog/triton_releases.py): what each release serves, needs and runs on."""

from __future__ import annotations

import pytest
import yaml

from catalog import triton_releases as tc
from catalog.gcp import ACCELERATORS
from components.triton_runtime import SUPPORTED_MODEL_FORMATS
from tests.support.stacks import shared_dir

SHARED = shared_dir()

# --- the table ---------------------------------------------------------------------------------------------------


def test_covers_every_release_from_kserves_stock_image_to_26_07():
    expected = (
        {f"23.{m:02d}" for m in range(5, 13)}
        | {f"{y}.{m:02d}" for y in (24, 25) for m in range(1, 13)}
        | {f"26.0{m}" for m in range(1, 8)}
    )
    assert set(tc.RELEASES) == expected
    assert tc.newest().release == "26.07"


def test_the_releases_of_2023_follow_the_monthly_triton_versions():
    assert [tc.release(f"23.{m:02d}").triton for m in range(5, 13)] == [f"2.{v}.0" for v in range(34, 42)]
    assert tc.release("24.01").triton == "2.42.0"  # the next one, from its build.py


def test_triton_versions_follow_the_release_tags():
    assert tc.release("23.05").triton == "2.34.0"
    assert tc.release("25.01").triton == "2.54.0"
    assert tc.release("25.07").triton == "2.59.1"  # a patch release, not 2.60.0
    assert tc.release("25.08").triton == "2.60.0"
    assert tc.release("26.07").triton == "2.71.0"


@pytest.mark.parametrize(
    ("name", "major", "full"),
    [
        ("23.05", 8, "8.6.1.2"),
        ("24.01", 8, None),
        ("24.04", 8, "8.6.3.1"),
        ("24.05", 10, "10.0.1.6"),
        ("24.12", 10, "10.7.0.23"),
        ("25.01", 10, "10.8.0.43"),
        ("26.05", 10, None),
        ("26.06", 11, "11.0.0"),
        ("26.07", 11, None),
    ],
)
def test_tensorrt_per_release(name, major, full):
    entry = tc.release(name)
    assert (entry.tensorrt_major, entry.tensorrt) == (major, full)


def test_every_release_has_a_tensorrt_major_and_full_versions_agree_with_it():
    for entry in tc.RELEASES.values():
        assert entry.tensorrt_major in (8, 10, 11)
        if entry.tensorrt:
            assert entry.tensorrt.startswith(f"{entry.tensorrt_major}.")
    majors = [tc.RELEASES[name].tensorrt_major for name in sorted(tc.RELEASES, key=tc._key)]
    assert majors == sorted(majors), "TensorRT never goes back a major from one release to the next"


def test_tensorflow_backend_until_25_02():
    assert [r.release for r in tc.RELEASES.values() if r.tensorflow][-1] == "25.02"
    assert not tc.release("25.03").tensorflow
    assert tc.release("23.05").tensorflow
    assert tc.newest_with_tensorflow().release == "25.02"


def test_driver_requirements():
    assert (tc.release("23.05").min_driver, tc.release("23.05").cuda) == (530, "12.1.1")
    assert tc.release("23.05").datacenter_drivers == ("450.51", "470.57", "510.47", "515.65", "525.85", "530.30")
    assert (tc.release("25.01").min_driver, tc.release("25.01").cuda) == (560, "12.8.0.038")
    assert tc.release("25.01").datacenter_drivers == ("470.57", "525.85", "535.86", "545.23")
    # CUDA 13 images need R580: their notes' CUDA 12 forward-compatibility list is not carried over.
    for entry in tc.RELEASES.values():
        if entry.cuda_major == 13:
            assert (entry.min_driver, entry.datacenter_drivers) == (580, None)
    # Unknown stays unknown.
    assert (tc.release("24.09").cuda, tc.release("24.09").min_driver) == (None, None)


def test_minimum_compute_capability_rose_to_7_5_in_25_01():
    assert tc.release("24.12").min_compute_capability == (6, 0)
    assert tc.release("25.01").min_compute_capability == (7, 5)
    assert tc.release("26.07").min_compute_capability is None


def test_pending_request_metric_since_23_09():
    assert not tc.release("23.05").has_pending_request_metric
    assert tc.release("24.01").has_pending_request_metric
    assert not tc.release("23.08").has_pending_request_metric
    assert tc.release("23.09").has_pending_request_metric
    assert all(r.has_pending_request_metric for r in tc.RELEASES.values() if tc.release_key(r.release) >= (23, 9))


# --- GPUs ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accelerator", "newest"),
    [
        ("nvidia-tesla-p100", "24.12"),
        ("nvidia-tesla-p4", "24.12"),
        ("nvidia-tesla-v100", "24.12"),
        ("nvidia-tesla-t4", "26.06"),
        ("nvidia-l4", "26.06"),
        ("nvidia-rtx-pro-6000", "26.06"),
        ("nvidia-tesla-k80", None),
    ],
)
def test_newest_release_for_a_gpu(accelerator, newest):
    found = tc.newest_supporting(ACCELERATORS[accelerator].compute_capability)
    assert (found.release if found else None) == newest


def test_supports_compute_capability():
    assert tc.release("25.01").supports_compute_capability((8, 9))
    assert not tc.release("25.01").supports_compute_capability((7, 0))
    assert tc.release("24.12").supports_compute_capability((7, 0))
    assert tc.release("26.07").supports_compute_capability((8, 9)) is None


# --- image references --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "release", "variant"),
    [
        ("nvcr.io/nvidia/tritonserver:25.01-py3", "25.01", "py3"),
        ("us-central1-docker.pkg.dev/my-project/nvcr/nvidia/tritonserver:25.01-py3", "25.01", "py3"),
        ("localhost:5000/tritonserver:24.05-py3", "24.05", "py3"),
        ("nvcr.io/nvidia/tritonserver:25.01-py3-min", "25.01", "py3-min"),
        ("nvcr.io/nvidia/tritonserver:25.01-py3-sdk", "25.01", "py3-sdk"),
        ("nvcr.io/nvidia/tritonserver:25.01-vllm-python-py3", "25.01", "vllm-python-py3"),
        ("nvcr.io/nvidia/tritonserver:25.01-trtllm-python-py3", "25.01", "trtllm-python-py3"),
    ],
)
def test_parse_image(reference, release, variant):
    image = tc.parse_image(reference)
    assert (image.release, image.variant, image.is_standard) == (release, variant, variant == "py3")


@pytest.mark.parametrize(
    "reference",
    [
        "nvcr.io/nvidia/tritonserver@sha256:" + "a" * 64,
        "nvcr.io/nvidia/tritonserver:25.01-py3@sha256:" + "a" * 64,  # the digest decides, whatever the tag says
        "nvcr.io/nvidia/tritonserver:latest",
        "nvcr.io/nvidia/tritonserver",
        "nvcr.io/nvidia/pytorch:25.01-py3",
        "localhost:5000/tritonserver",
    ],
)
def test_references_that_do_not_say_their_release(reference):
    assert tc.parse_image(reference) is None
    assert tc.release_of_image(reference) is None


def test_release_of_image_only_for_standard_images_in_the_catalog():
    assert tc.release_of_image("nvcr.io/nvidia/tritonserver:25.01-py3") is tc.release("25.01")
    assert tc.release_of_image("europe-west4-docker.pkg.dev/p/r/nvidia/tritonserver:23.05-py3").release == "23.05"
    assert tc.release_of_image("nvcr.io/nvidia/tritonserver:25.01-trtllm-python-py3") is None  # other TensorRT
    assert tc.release_of_image("nvcr.io/nvidia/tritonserver:22.12-py3") is None  # not in the catalog
    assert tc.release("25.01").image == "nvcr.io/nvidia/tritonserver:25.01-py3"


# --- what a release can serve ----------------------------------------------------------------------------------


def test_tensorflow_1_never():
    for entry in tc.RELEASES.values():
        reason = tc.can_serve(entry, "tensorflow", "1")
        assert entry.image in reason
        assert "TensorFlow 2 SavedModel" in reason
        assert 'version "2"' in reason


def test_tensorflow_2_until_the_backend_went_away():
    assert tc.can_serve("25.02", "tensorflow", "2") is None
    reason = tc.can_serve("25.03", "tensorflow", "2")
    assert "nvcr.io/nvidia/tritonserver:25.03-py3 has no TensorFlow backend" in reason
    assert "nvcr.io/nvidia/tritonserver:25.02-py3" in reason
    assert "ONNX" in reason


def test_tensorrt_major_must_match_the_image():
    assert tc.can_serve("23.05", "tensorrt", "8") is None
    assert tc.can_serve("25.01", "tensorrt", "10") is None
    assert tc.can_serve("26.06", "tensorrt", "11") is None
    reason = tc.can_serve("25.01", "tensorrt", "8")
    assert reason.startswith("nvcr.io/nvidia/tritonserver:25.01-py3 has TensorRT 10 (10.8.0.43)")
    assert "nvcr.io/nvidia/tensorrt:25.01-py3" in reason
    assert "leave modelFormatVersion unset" in reason
    assert "nvcr.io/nvidia/tritonserver:24.04-py3 (TensorRT 8)" in reason
    assert "tritonserver:25.01-py3 has TensorRT 10" in tc.can_serve("25.01", "tensorrt", "8.6.1")
    assert "26.05-py3 (TensorRT 10)" in tc.can_serve("26.06", "tensorrt", "10")
    assert "serve it with" not in tc.can_serve("25.01", "tensorrt", "7")


@pytest.mark.parametrize(("fmt", "version"), [("pytorch", "1"), ("onnx", "1"), ("triton", "2"), ("python", None)])
def test_other_formats_are_fine(fmt, version):
    assert all(tc.can_serve(entry, fmt, version) is None for entry in tc.RELEASES.values())


def test_unknown_release_or_version_is_not_refused():
    assert tc.can_serve("22.12", "tensorflow", "1") is None
    assert tc.can_serve("25.01", "tensorrt", None) is None


def test_the_runtimes_declared_formats_on_the_default_and_stock_images():
    """What KServe's labels mean on the two images users meet: which declared (format, version) can load."""
    declared = [(f.name, f.version) for f in SUPPORTED_MODEL_FORMATS]
    refused = {name: {pair for pair in declared if tc.can_serve(name, *pair)} for name in ("23.05", "25.01", "26.06")}
    assert refused["23.05"] == {("tensorflow", "1")}
    assert refused["25.01"] == {("tensorflow", "1"), ("tensorrt", "8")}
    assert refused["26.06"] == {("tensorflow", "1"), ("tensorflow", "2"), ("tensorrt", "8")}


@pytest.mark.skipif(SHARED is None, reason="../shared (or $KSERVE_TRITON_SHARED) is not present")
def test_kserves_stock_runtime_image_is_in_the_catalog():
    values = yaml.safe_load((SHARED / "chart-values" / "kserve-runtime-configs-v0.20.0.yaml").read_text())

    def find(node):
        if isinstance(node, dict):
            if "tritonserver" in node and isinstance(node["tritonserver"], dict):
                return node["tritonserver"]
            for child in node.values():
                if (found := find(child)) is not None:
                    return found
        return None

    stock = find(values)
    entry = tc.release_of_image(f"{stock['image']}:{stock['tag']}")
    assert entry is tc.release("23.05")
    assert tc.can_serve(entry, "tensorflow", "1") is not None


# --- NVIDIA's tag scheme --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tag", ["25.01-py3", "23.08-py3", "25.01-pyt-python-py3", "25.01-vllm-python-py3", "25.02-tf2-python-py3",
            "26.07-trtllm-python-py3"],
)  # fmt: skip
def test_tags_of_known_releases_and_server_variants_are_taken(tag):
    assert tc.tag_problem(tag) is None


@pytest.mark.parametrize(
    ("tag", "problem"),
    [
        ("25.01", "did you mean 25.01-py3?"),
        ("25.1-py3", "did you mean 25.01-py3?"),
        ("v25.01-py3", "did you mean 25.01-py3?"),
        ("r25.01-vllm", "did you mean 25.01-vllm-python-py3?"),
        ("2.54.0", "Triton 2.54.0 is the image 25.01-py3"),
        ("25.13-py3", "the nearest it knows is 25.12-py3"),
        ("22.12-py3", "the nearest it knows is 23.05-py3"),
        ("27.01-py3", "the nearest it knows is 26.07-py3 (a newer release: add it to catalog/triton_releases.py"),
        ("25.01-py", "did you mean 25.01-py3?"),
        ("25.01-py3-sdk", "no server: use 25.01-py3"),
        ("25.01-py3-min", "with no server in it: use 25.01-py3"),
        ("25.01-py3-igpu", "not GKE's data-center GPUs: use 25.01-py3"),
        ("25.03-tf2-python-py3", "there is no -tf2-python-py3 image from 25.03 on"),
        ("latest-stable", "e.g. 26.06-py3"),
    ],
)
def test_tags_nvidia_does_not_publish_get_the_nearest_one_that_it_does(tag, problem):
    assert problem in tc.tag_problem(tag)


@pytest.mark.parametrize(
    ("tag", "model_format", "refused"),
    [
        ("25.01-pyt-python-py3", "pytorch", False),
        ("25.01-pyt-python-py3", "onnx", True),
        ("25.01-vllm-python-py3", "tensorrt", True),
        ("25.01-vllm-python-py3", "triton", False),  # a model repository: any backend, unchecked
        ("25.01-py3", "onnx", False),
    ],
)
def test_a_variant_with_some_backends_serves_only_their_formats(tag, model_format, refused):
    assert (tc.variant_problem(tag, model_format) is not None) == refused
