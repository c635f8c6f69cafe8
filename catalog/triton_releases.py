"""Facts about NVIDIA Triton images, per `YY.MM` release: what each `nvcr.io/nvidia/tritonserver:YY.MM-py3`
image contains and needs, and so which models it can load and on which GPUs and drivers it runs.

This is the one place these facts live; a field no source confirmed is None (unknown), not a guess.

Sources (T = triton-inference-server/server, read at its release tags and branches):
- Triton version and release: T `build.py` at each tag v2.x.y (TRITON_VERSION_MAP / DEFAULT_TRITON_VERSION_MAP:
  "triton_container_version"). 25.07 is v2.59.1, not v2.60.0.
- CUDA, minimum driver, data-center forward-compatibility branches, minimum compute capability: NVIDIA's release
  notes, docs.nvidia.com/deeplearning/triton-inference-server/release-notes/rel-YY-MM.html ("Driver
  Requirements", "GPU Requirements"); 24.12 and 25.01 also as T `docs/introduction/release_notes.md` on
  branches r24.12, r25.01. Releases whose page was not reachable have None here.
- CUDA 13 images (25.08 and later): their release notes keep the CUDA 12 text ("requires 575 or later", data
  center R470/R525/R535/R545), which NVIDIA's data-center driver matrix contradicts: R535 runs CUDA 12 at most
  without the forward-compatibility package, R580 is the first branch with CUDA 13 (docs.nvidia.com/datacenter/
  tesla/drivers, "Supported Drivers and CUDA Toolkit Versions"). So MIN_DRIVER is 580 for them and the forward-
  compatibility branches are unknown (None).
- TensorRT: a Triton YY.MM image has the TensorRT of the NGC TensorRT container of the same YY.MM (T
  `qa/common/gen_qa_model_repository` builds its plans in nvcr.io/nvidia/tensorrt:$TRITON_VERSION-py3; T
  `deploy/gke-marketplace-app/trt-engine/README.md`: "for each Triton upgrade, container version used to generate
  the model ... should be updated"; maintainer in T#5812). Full versions: 23.05 8.6.1.2 (NVIDIA/TensorRT#3071),
  24.02-24.04 8.6.3.1 (T#7221, NVIDIA/TensorRT#3862), 24.05 10.0.1.6 (T#7374: "24.05-py3 ... TensorRT 10.0.1.6"),
  24.12 10.7.0.23 and 25.01 10.8.0.43 (release notes), 26.06 11.0.0 (T commit d55d95f05, 2026-06-09: "The 26.06
  TensorRT container ships TRT 11.0.0"). Majors between those points follow from TensorRT's releases: 10.0 GA came
  with 24.05, 11.0 was released 2026-06-02 (NVIDIA/TensorRT v11.0), so 24.05-26.05 are TensorRT 10 and 26.06+ 11.
- TensorFlow: removed TensorFlow 1 in 23.04 (T#5604, commit e7ef7d59e "Remove support for TensorFlow 1"; v2.34.0
  `build.py` builds only from nvcr.io/nvidia/tensorflow:YY.MM-tf2-py3). The backend is in `build.py` up to v2.55.0
  (25.02) and gone from v2.56.0 (25.03; T#8113 "kmcgill-remove-tf", merged 2025-04-02).
- nv_inference_pending_request_count: documented from v2.38.0 (23.09) on (T#6233, `docs/user_guide/metrics.md`);
  absent from v2.37.0.

- 23.06-23.12 (v2.35.0-v2.41.0): one Triton minor per monthly release, as between every two releases above (23.05 is
  2.34.0, 24.01 is 2.42.0; 23.12 prints "Triton Server Version 2.41.0" at start-up); TensorRT 8, the TensorFlow
  backend and compute capability 6.0 by the rules above; CUDA and drivers unknown.
- Tag scheme (`VARIANTS`): NVIDIA's NGC page for nvcr.io/nvidia/tritonserver lists the tags `YY.MM-py3` (the full
  server), `-py3-sdk` (clients, perf_analyzer, model analyzer), `-py3-min` (a base for building a custom server),
  `-pyt-python-py3` (PyTorch and Python backends only), `-tf2-python-py3` (TensorFlow 2 and Python backends only),
  `-py3-igpu`, `-py3-igpu-sdk`, `-py3-igpu-min` (Jetson / iGPU), `-vllm-python-py3` (vLLM and Python backends only) and
  `-trtllm-python-py3` (TensorRT-LLM and Python backends only); T `docs/introduction/compatibility.md` lists the vLLM
  and TensorRT-LLM images per release. The NGC page itself could not be read here: the table was read as quoted in
  third-party guides, and is consistent with T's docs and its `build.py` options.

See the project report for the per-release table and where ../shared/notes/triton-images.md disagrees.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

IMAGE_REPOSITORY = "nvcr.io/nvidia/tritonserver"
STANDARD_VARIANT = "py3"
TENSORFLOW_1_REMOVED = "23.04"
TENSORFLOW_REMOVED = "25.03"
PENDING_REQUEST_METRIC_SINCE = "23.09"

DC_12_4 = ("470.57", "525.85", "535.86", "545.23")  # R470, R525, R535, R545 (CUDA 12.3-12.9 release notes)


@dataclass(frozen=True)
class TritonRelease:
    """One monthly release; the facts are those of its standard `-py3` image."""

    release: str
    """YY.MM, e.g. 25.01."""
    triton: str
    """Triton Inference Server version, e.g. 2.54.0."""
    cuda: str | None
    tensorrt_major: int | None
    tensorrt: str | None
    """Full TensorRT version where a source gave it."""
    tensorflow: bool
    """Whether the -py3 image has the TensorFlow backend (TensorFlow 2 only: TensorFlow 1 is gone since 23.04)."""
    min_compute_capability: tuple[int, int] | None
    min_driver: int | None
    """Driver branch the image's CUDA needs on any GPU, e.g. 560 (R560 or later)."""
    datacenter_drivers: tuple[str, ...] | None = None
    """Older data-center drivers that run the image through CUDA forward compatibility ("470.57" = 470.57 or a
    later R470)."""

    @property
    def image(self) -> str:
        return f"{IMAGE_REPOSITORY}:{self.release}-{STANDARD_VARIANT}"

    @property
    def has_pending_request_metric(self) -> bool:
        """Whether Triton exports nv_inference_pending_request_count (the queue size an autoscaler can use)."""
        return _key(self.release) >= _key(PENDING_REQUEST_METRIC_SINCE)

    @property
    def cuda_major(self) -> int | None:
        return int(self.cuda.split(".")[0]) if self.cuda else None

    def supports_compute_capability(self, capability: tuple[int, int]) -> bool | None:
        """Whether the image runs on a GPU of this compute capability; None when the release's minimum is unknown."""
        if self.min_compute_capability is None:
            return None
        return tuple(capability) >= self.min_compute_capability


def _r(release, triton, cuda, trt_major, trt, tf, cc, driver, dc=None) -> TritonRelease:
    return TritonRelease(release, triton, cuda, trt_major, trt, tf, cc, driver, dc)


_CC60, _CC75 = (6, 0), (7, 5)
_DC_23 = ("450.51", "470.57", "510.47", "515.65", "525.85", "530.30")

# release, Triton, CUDA, TensorRT major, TensorRT, TensorFlow backend, min compute capability, min driver, data-center
# forward-compatibility drivers. None: no source reached. Compute capability between two releases whose notes give
# the same minimum is that minimum (6.0 up to 24.12, 7.5 from 25.01).
RELEASES: dict[str, TritonRelease] = {
    r.release: r
    for r in [
        _r("23.05", "2.34.0", "12.1.1", 8, "8.6.1.2", True, _CC60, 530, _DC_23),  # KServe v0.20's stock image
        *(_r(f"23.{m:02d}", f"2.{29 + m}.0", None, 8, None, True, _CC60, None) for m in range(6, 13)),
        _r("24.01", "2.42.0", "12.3.2", 8, None, True, _CC60, 545, DC_12_4),
        _r("24.02", "2.43.0", "12.3.2", 8, "8.6.3.1", True, _CC60, 545, DC_12_4),
        _r("24.03", "2.44.0", None, 8, "8.6.3.1", True, _CC60, 545, DC_12_4),
        _r("24.04", "2.45.0", "12.4", 8, "8.6.3.1", True, _CC60, 545, DC_12_4),
        _r("24.05", "2.46.0", "12.4", 10, "10.0.1.6", True, _CC60, 545, DC_12_4),
        _r("24.06", "2.47.0", "12.5.0.23", 10, None, True, _CC60, 545, DC_12_4),
        _r("24.07", "2.48.0", "12.5.1", 10, None, True, _CC60, 555, DC_12_4),
        _r("24.08", "2.49.0", "12.6", 10, None, True, _CC60, 560, DC_12_4),
        _r("24.09", "2.50.0", None, 10, None, True, _CC60, None),
        _r("24.10", "2.51.0", "12.6.2", 10, None, True, _CC60, 560, DC_12_4),
        _r("24.11", "2.52.0", None, 10, None, True, _CC60, None),
        _r("24.12", "2.53.0", "12.6.3", 10, "10.7.0.23", True, _CC60, 560, DC_12_4),
        _r("25.01", "2.54.0", "12.8.0.038", 10, "10.8.0.43", True, _CC75, 560, DC_12_4),  # this project's default
        _r("25.02", "2.55.0", "12.8.0.38", 10, None, True, _CC75, 560, DC_12_4),  # the last -py3 with TensorFlow
        _r("25.03", "2.56.0", "12.8.1.012", 10, None, False, _CC75, 560, DC_12_4),
        _r("25.04", "2.57.0", "12.9.0", 10, None, False, _CC75, 575, DC_12_4),
        _r("25.05", "2.58.0", None, 10, None, False, _CC75, None),
        _r("25.06", "2.59.0", "12.9.1.010", 10, None, False, _CC75, 575, DC_12_4),
        _r("25.07", "2.59.1", None, 10, None, False, _CC75, None),
        _r("25.08", "2.60.0", "13.0.0.044", 10, None, False, _CC75, 580),
        _r("25.09", "2.61.0", None, 10, None, False, _CC75, None),
        _r("25.10", "2.62.0", "13.0.2.006", 10, None, False, _CC75, 580),
        _r("25.11", "2.63.0", None, 10, None, False, _CC75, None),
        _r("25.12", "2.64.0", None, 10, None, False, _CC75, None),
        _r("26.01", "2.65.0", None, 10, None, False, _CC75, None),
        _r("26.02", "2.66.0", "13.1.1", 10, None, False, _CC75, 580),
        _r("26.03", "2.67.0", None, 10, None, False, _CC75, None),
        _r("26.04", "2.68.0", None, 10, None, False, _CC75, None),
        _r("26.05", "2.69.0", None, 10, None, False, _CC75, None),
        _r("26.06", "2.70.0", "13.3.0", 11, "11.0.0", False, _CC75, 580),
        _r("26.07", "2.71.0", None, 11, None, False, None, None),
    ]
}


def _key(release: str) -> tuple[int, int]:
    year, month = release.split(".")
    return int(year), int(month)


def release_key(release: str) -> tuple[int, int]:
    """A `YY.MM` release as something that sorts by time."""
    return _key(release)


def release(name: str) -> TritonRelease | None:
    """The catalog entry of a `YY.MM` release, or None when the catalog does not have it."""
    return RELEASES.get(name)


def newest() -> TritonRelease:
    return RELEASES[max(RELEASES, key=_key)]


# --- image references ---------------------------------------------------------------------------------------------

_TAG = re.compile(r"^(?P<release>\d{2}\.\d{2})-(?P<variant>[a-z0-9][a-z0-9.-]*)$")


@dataclass(frozen=True)
class TritonImage:
    """A Triton image reference, parsed: `REGISTRY/.../tritonserver:YY.MM-VARIANT`."""

    reference: str
    release: str
    variant: str
    """py3 (the standard server image), py3-min (a base image, no server), py3-sdk (clients, no server),
    py3-igpu, vllm-python-py3, trtllm-python-py3, ...: only py3 has the facts in RELEASES."""

    @property
    def is_standard(self) -> bool:
        return self.variant == STANDARD_VARIANT


def parse_image(reference: str) -> TritonImage | None:
    """Parse a tag-pinned Triton image, on nvcr.io or behind a proxy (e.g. an Artifact Registry remote repository:
    `REGION-docker.pkg.dev/PROJECT/REPO/nvidia/tritonserver:25.01-py3`).

    None when the reference does not say its release: pinned by digest (a digest can be any image, whatever tag
    is written next to it), `latest` or another tag that is not `YY.MM-...`, or a repository not named
    tritonserver.
    """
    if "@" in reference:
        return None
    name, sep, tag = reference.rpartition(":")
    if not sep or "/" in tag or name.rsplit("/", 1)[-1] != "tritonserver":
        return None
    match = _TAG.match(tag)
    if match is None:
        return None
    return TritonImage(reference, match["release"], match["variant"])


@dataclass(frozen=True)
class Variant:
    """One of NVIDIA's image variants: the part of a tag after `YY.MM-`."""

    name: str
    serves: bool
    """Whether the image runs tritonserver with models (the SDK and -min images do not)."""
    what: str
    backends: frozenset[str] | None = None
    """The only backends it has (None: the full set of the -py3 image)."""
    igpu: bool = False
    """For Jetson and other integrated GPUs (arm64), not data-center GPUs."""


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in [
        Variant("py3", True, "the full server"),
        Variant("pyt-python-py3", True, "PyTorch and Python backends only", frozenset({"pytorch", "python"})),
        Variant("tf2-python-py3", True, "TensorFlow 2 and Python backends only", frozenset({"tensorflow", "python"})),
        Variant("vllm-python-py3", True, "vLLM and Python backends only", frozenset({"vllm", "python"})),
        Variant(
            "trtllm-python-py3", True, "TensorRT-LLM and Python backends only", frozenset({"tensorrtllm", "python"})
        ),
        Variant("py3-sdk", False, "the client SDK (clients, perf_analyzer, model analyzer), no server"),
        Variant("py3-min", False, "a base image for building a custom server, with no server in it"),
        Variant("py3-igpu", True, "the server for Jetson and other integrated GPUs", igpu=True),
        Variant("py3-igpu-sdk", False, "the client SDK for integrated GPUs, no server", igpu=True),
        Variant("py3-igpu-min", False, "a base image for integrated GPUs, with no server in it", igpu=True),
    ]
}
FORMAT_BACKENDS = {"tensorrt": "tensorrt", "onnx": "onnxruntime", "pytorch": "pytorch", "tensorflow": "tensorflow"}
"""The Triton backend a KServe model format needs (`triton` is a model repository: any backend)."""

_TRITON_VERSION = re.compile(r"^v?(?P<version>2\.\d+\.\d+)")
_LOOSE_RELEASE = re.compile(r"^[rv]?(?P<yy>\d{2})\.(?P<mm>\d{1,2})(?:[-_.]?(?P<rest>.*))?$")


def tag_problem(tag: str) -> str | None:
    """Why `tag` is not a tag of nvcr.io/nvidia/tritonserver this runtime can run (None when it is): the release must
    be one this catalog knows, the variant one of NVIDIA's that runs a server on data-center GPUs. The message
    suggests the nearest tag that is."""
    match = _TAG.match(tag)
    if match is None:
        return f"is not a tag of NVIDIA's scheme (YY.MM-VARIANT, e.g. 25.01-py3); {_nearest_tag(tag)}"
    release_name, variant_name = match["release"], match["variant"]
    if release_name not in RELEASES:
        return f"{release_name} is not a Triton release this project knows; {_nearest_release(release_name)}"
    variant = VARIANTS.get(variant_name)
    if variant is None:
        suggestion = f"{release_name}-{_closest_variant(variant_name)}"
        return (
            f"-{variant_name} is not one of NVIDIA's image variants ({', '.join(VARIANTS)}); did you mean {suggestion}?"
        )
    if not variant.serves:
        return f"-{variant_name} is {variant.what}: use {release_name}-{STANDARD_VARIANT}"
    if variant.igpu:
        return f"-{variant_name} is {variant.what}, not GKE's data-center GPUs: use {release_name}-{STANDARD_VARIANT}"
    if variant_name == "tf2-python-py3" and _key(release_name) >= _key(TENSORFLOW_REMOVED):
        return f"there is no -tf2-python-py3 image from {TENSORFLOW_REMOVED} on (TensorFlow was removed)"
    return None


def _nearest_tag(tag: str) -> str:
    version = _TRITON_VERSION.match(tag)
    if version:
        by_version = [r for r in RELEASES.values() if r.triton == version["version"]]
        if by_version:
            return f"Triton {version['version']} is the image {by_version[0].release}-{STANDARD_VARIANT}"
    loose = _LOOSE_RELEASE.match(tag)
    if loose:
        release_name = f"{loose['yy']}.{int(loose['mm']):02d}"
        if release_name in RELEASES:
            rest = (loose["rest"] or "").strip("-_.")
            return f"did you mean {release_name}-{_closest_variant(rest) if rest else STANDARD_VARIANT}?"
        return _nearest_release(release_name)
    return f"e.g. {newest_with_facts().release}-{STANDARD_VARIANT}"


def _closest_variant(written: str) -> str:
    """The server variant `written` most likely means (`vllm` -> vllm-python-py3), else py3."""
    serving = [name for name, variant in VARIANTS.items() if variant.serves and not variant.igpu]
    starting = [name for name in serving if name.startswith(written.lower())]
    if starting:
        return starting[0]
    close = difflib.get_close_matches(written.lower(), list(VARIANTS), n=1, cutoff=0.5)
    return close[0] if close else STANDARD_VARIANT


def _nearest_release(release_name: str) -> str:
    try:
        year, month = _key(release_name)
    except ValueError:
        return f"the newest it knows is {newest().release}-{STANDARD_VARIANT}"
    wanted = (year, min(max(month, 1), 12))  # a month that is not one is taken as the nearest that is
    nearest = min(RELEASES, key=lambda r: (abs(_key(r)[0] * 12 + _key(r)[1] - wanted[0] * 12 - wanted[1]), r))
    newer = wanted > _key(newest().release)
    hint = " (a newer release: add it to catalog/triton_releases.py with its sources)" if newer else ""
    return f"the nearest it knows is {nearest}-{STANDARD_VARIANT}{hint}"


def newest_with_facts() -> TritonRelease:
    """The newest release whose CUDA version is known (a sensible example to suggest)."""
    return max((r for r in RELEASES.values() if r.cuda), key=lambda r: _key(r.release))


def variant_problem(tag: str, model_format: str) -> str | None:
    """Why the image variant of `tag` cannot load `model_format` (a variant with only some backends)."""
    image = parse_image(f"{IMAGE_REPOSITORY}:{tag}")
    variant = VARIANTS.get(image.variant) if image else None
    backend = FORMAT_BACKENDS.get(model_format.lower())
    if variant is None or variant.backends is None or backend is None or backend in variant.backends:
        return None
    return (
        f"the -{variant.name} image has the {' and '.join(sorted(variant.backends))} backends only, not {backend}: "
        f"use {image.release}-{STANDARD_VARIANT}"
    )


def release_of_image(reference: str) -> TritonRelease | None:
    """The facts of the image: only for a tag-pinned standard `-py3` image of a release in the catalog, else None."""
    image = parse_image(reference)
    if image is None or not image.is_standard:
        return None
    return RELEASES.get(image.release)


# --- what a release can serve -------------------------------------------------------------------------------------


def newest_with_tensorrt(major: int) -> TritonRelease | None:
    """The newest release whose -py3 image has TensorRT `major` (None if the catalog has none)."""
    matching = [r for r in RELEASES.values() if r.tensorrt_major == major]
    return max(matching, key=lambda r: _key(r.release)) if matching else None


def newest_with_tensorflow() -> TritonRelease:
    return max((r for r in RELEASES.values() if r.tensorflow), key=lambda r: _key(r.release))


def newest_supporting(compute_capability: tuple[int, int]) -> TritonRelease | None:
    """The newest release known to run on a GPU of this compute capability, e.g. (7, 0) (V100) -> 24.12: "an image
    that would work". None when no release in the catalog is known to."""
    known = [r for r in RELEASES.values() if r.supports_compute_capability(compute_capability)]
    return max(known, key=lambda r: _key(r.release)) if known else None


def _major(version: str | None) -> int | None:
    head = (version or "").split(".")[0]
    return int(head) if head.isdigit() else None


def can_serve(release: TritonRelease | str, model_format: str, format_version: str | None) -> str | None:
    """None when the release's -py3 image can load a model of this KServe format and version (or the catalog
    cannot tell), else the reason it cannot, naming the image and what works instead.

    - tensorflow "1": never (TensorFlow 1 was removed from Triton in 23.04).
    - tensorflow on an image without the TensorFlow backend (25.03 and later).
    - tensorrt whose major differs from the image's TensorRT: a plan only deserializes on the TensorRT that built
      it (same version; across majors never).
    - pytorch, onnx, triton and other formats: no objection here.
    """
    entry = RELEASES.get(release) if isinstance(release, str) else release
    if entry is None:
        return None
    image, fmt = entry.image, model_format.lower()
    if fmt == "tensorflow":
        if _major(format_version) == 1:
            return (
                f"tensorflow version 1 cannot load on {image} or any Triton image since {TENSORFLOW_1_REMOVED} "
                "(TensorFlow 1 support was removed): export the model as a TensorFlow 2 SavedModel and declare "
                'modelFormat version "2", or convert it to ONNX'
            )
        if not entry.tensorflow:
            last = newest_with_tensorflow()
            return (
                f"{image} has no TensorFlow backend (removed from the -py3 images in {TENSORFLOW_REMOVED}): "
                f"use {last.image} or older for a TensorFlow 2 SavedModel, or convert the model to ONNX"
            )
        return None
    if fmt == "tensorrt":
        wanted = _major(format_version)
        if wanted is None or entry.tensorrt_major is None or wanted == entry.tensorrt_major:
            return None
        has = f"TensorRT {entry.tensorrt_major}" + (f" ({entry.tensorrt})" if entry.tensorrt else "")
        other = newest_with_tensorrt(wanted)
        instead = f", or serve it with {other.image} (TensorRT {wanted})" if other else ""
        return (
            f"{image} has {has} and a TensorRT plan only loads on the TensorRT version that built it: rebuild the "
            f"plan in nvcr.io/nvidia/tensorrt:{entry.release}-py3 and leave modelFormatVersion unset (the runtime "
            f'declares only KServe\'s label "8", and an unset version matches it){instead}'
        )
    return None
