"""The stage model's figures (catalog/model_loading.py): each derived from its source as stated, and the default
loading mode it picks."""

from __future__ import annotations

import pytest

from catalog import model_loading as loading
from tests.support.throttled_gcs import ThrottledGcs, download_in_parallel, download_like_kserve


def test_the_rates_are_the_sources_figures():
    # accelerated-platforms: Llama-3.3-70B-Instruct (70.6e9 bf16 parameters) in ~1200 s untuned, ~35 s tuned.
    assert pytest.approx(70.6e9 * 2 / 1e9) == loading.LLAMA_70B_GB
    assert pytest.approx(117.7, abs=0.1) == loading.ONE_STREAM_MB_S
    assert pytest.approx(4034, abs=1) == loading.PARALLEL_MB_S
    assert pytest.approx(2516.6, abs=0.1) == loading.HYPERDISK_ML_MB_S  # 2400 MiB/s


@pytest.mark.parametrize(
    ("size_gb", "download", "fuse_cold", "hyperdisk"),
    [(0.05, 0.4, 0.0, 0.0), (1, 8.5, 0.2, 0.4), (10, 85.0, 2.5, 4.0), (141.2, 1200.0, 35.0, 56.1)],
)
def test_the_stage_model_per_mode_and_size(size_gb, download, fuse_cold, hyperdisk):
    assert loading.estimate("download", size_gb).init_container_s == pytest.approx(download, abs=0.1)
    assert loading.estimate("gcsFuse", size_gb).triton_read_s == pytest.approx(fuse_cold, abs=0.1)
    assert loading.estimate("gcsFuse", size_gb, warm=True).total_s == 0.0
    assert loading.estimate("hyperdiskMl", size_gb).triton_read_s == pytest.approx(hyperdisk, abs=0.1)


def test_the_default_is_fuse_from_one_gigabyte_where_the_driver_is_on():
    assert loading.default_mode(None, fuse_available=True, gcs=True) == "download"
    assert loading.default_mode(0.99, fuse_available=True, gcs=True) == "download"
    assert loading.default_mode(1.0, fuse_available=True, gcs=True) == "gcsFuse"
    assert loading.default_mode(50, fuse_available=False, gcs=True) == "download"
    assert loading.default_mode(50, fuse_available=True, gcs=False) == "download"


def test_the_fuse_mount_options_limit_the_volume_to_the_model():
    options = loading.fuse_mount_options("models/resnet", 1000)
    assert "only-dir=models/resnet" in options and "file-cache:max-size-mb:1000" in options
    assert "only-dir=" not in " ".join(loading.fuse_mount_options("", 1000)), "a bucket's root: the whole bucket"


# --- the download through the real client against a throttled server on loopback ---------------------

MB = 1_000_000
PER_STREAM = 16 * MB  # bytes/s each connection may carry
MODEL_FILES = {f"resnet/1/part-{n}.plan": bytes([n]) * (8 * MB) for n in range(4)}  # 32 MB in 4 files


@pytest.fixture(scope="module")
def bucket():
    pytest.importorskip("google.cloud.storage", reason="google-cloud-storage is in requirements-dev.txt")

    server = ThrottledGcs(MODEL_FILES, rate=PER_STREAM).start()
    yield server
    server.stop()


def test_a_download_like_kserves_reads_one_blob_at_a_time_through_the_real_client(bucket, tmp_path):
    """The stage model's `download` term is size / one stream's rate because KServe reads one blob after another:
    never two connections at once, however many files the model has (times: scripts/benchmark-model-loading)."""
    bucket.most_active = 0
    download_like_kserve(bucket.endpoint, "resnet/", tmp_path)
    assert {p.relative_to(tmp_path).as_posix(): p.read_bytes() for p in tmp_path.rglob("*.plan")} == MODEL_FILES
    assert bucket.most_active == 1


def test_parallel_downloads_hold_one_connection_per_stream(bucket, tmp_path):
    """The stage model's FUSE term: parallel downloads are bound by the streams together, not by one."""
    bucket.most_active = 0
    download_in_parallel(bucket.endpoint, "resnet/", tmp_path, streams=4)
    assert {p.relative_to(tmp_path).as_posix(): p.read_bytes() for p in tmp_path.rglob("*.plan")} == MODEL_FILES
    assert bucket.most_active == 4
