"""The stage model's figures (catalog/model_loading.py): each derived from its source as stated, and the default
loading mode it picks."""

from __future__ import annotations

import time

import pytest

from catalog import model_loading as loading


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


# --- the download, measured through the real client against a throttled server on loopback ---------------------

MB = 1_000_000
PER_STREAM = 16 * MB  # bytes/s each connection may carry
MODEL_FILES = {f"resnet/1/part-{n}.plan": bytes([n]) * (8 * MB) for n in range(4)}  # 32 MB in 4 files


@pytest.fixture(scope="module")
def bucket():
    pytest.importorskip("google.cloud.storage", reason="google-cloud-storage is in requirements-dev.txt")
    from tests.support.throttled_gcs import ThrottledGcs

    server = ThrottledGcs(MODEL_FILES, rate=PER_STREAM).start()
    yield server
    server.stop()


def _client(endpoint: str):
    from google.cloud import storage

    return storage.Client(project="local", credentials=_anonymous(), client_options={"api_endpoint": endpoint})


def _anonymous():
    from google.auth.credentials import AnonymousCredentials

    return AnonymousCredentials()


def download_like_kserve(endpoint: str, prefix: str, target) -> float:
    """KServe v0.20's `_download_gcs`: list the prefix, then `download_to_filename` one blob after another."""
    bucket = _client(endpoint).bucket("models")
    began = time.monotonic()
    for blob in bucket.list_blobs(prefix=prefix):
        path = target / blob.name
        path.parent.mkdir(parents=True, exist_ok=True)
        blob.download_to_filename(str(path))
    return time.monotonic() - began


def download_in_parallel(endpoint: str, prefix: str, target, streams: int = 4) -> float:
    """What FUSE's parallel downloads do: several ranged reads at once, one connection each."""
    from concurrent.futures import ThreadPoolExecutor

    bucket = _client(endpoint).bucket("models")
    blobs = list(bucket.list_blobs(prefix=prefix))
    began = time.monotonic()

    def fetch(blob):
        path = target / blob.name
        path.parent.mkdir(parents=True, exist_ok=True)
        _client(endpoint).bucket("models").blob(blob.name).download_to_filename(str(path))

    with ThreadPoolExecutor(streams) as pool:
        list(pool.map(fetch, blobs))
    return time.monotonic() - began


def test_a_download_like_kserves_takes_the_models_size_over_one_streams_rate(bucket, tmp_path):
    """The stage model's `download` term: one blob after another, so the time is size / one stream's rate
    (32 MB at 16 MB/s: 2 s), however many files the model has."""
    took = download_like_kserve(bucket.endpoint, "resnet/", tmp_path)
    assert {p.relative_to(tmp_path).as_posix(): p.read_bytes() for p in tmp_path.rglob("*.plan")} == MODEL_FILES
    expected = sum(map(len, MODEL_FILES.values())) / PER_STREAM
    assert expected * 0.95 <= took <= expected * 1.5, took


def test_parallel_streams_divide_the_time_by_their_number(bucket, tmp_path):
    """The stage model's FUSE term: parallel downloads are bound by the streams together, not by one."""
    sequential = download_like_kserve(bucket.endpoint, "resnet/", tmp_path / "one")
    parallel = download_in_parallel(bucket.endpoint, "resnet/", tmp_path / "four")
    assert parallel * 2.5 <= sequential, (sequential, parallel)
