"""The only door from the readers to GDAL, and what keeps GDAL inside the upload folder.

pyogrio 0.13 cannot restrict the drivers GDAL tries (no ``allowed_drivers``),
and GDAL reads from URLs and archives on request.  So every call here:

* takes a path that must resolve, symlinks followed, to a regular file inside
  the upload's temporary folder, and never a ``/vsi…`` or ``scheme://`` name;
* takes a layer name only after it was checked against the layers GDAL listed;
* runs with configuration that makes every network access fail at once
  (``SANDBOX_OPTIONS``), and checks afterwards that the driver GDAL chose is
  the one the content sniffing expected.

GDAL's configuration is process-wide: the options are set while at least one
read is running (reference-counted) and the previous values restored after.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import pyogrio
from pyogrio.errors import DataLayerError, DataSourceError, FieldError, GeometryError

from gis.intake.errors import CorruptFileError, ForbiddenPathError, FormatMismatchError

SANDBOX_OPTIONS: Final[dict[str, str]] = {
    # /vsicurl/ only opens names ending in one of these: make that impossible.
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".kimlong-network-disabled",
    # Anything that still tries HTTP goes to a closed local port and gives up at once.
    "GDAL_HTTP_PROXY": "127.0.0.1:9",
    "GDAL_HTTPS_PROXY": "127.0.0.1:9",
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_CONNECTTIMEOUT": "1",
    "GDAL_HTTP_MAX_RETRY": "0",
    "GDAL_HTTP_NETRC": "NO",
    # Do not list directories on open (sidecars are probed by name).
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    # Never write .aux.xml files next to what we read.
    "GDAL_PAM_ENABLED": "NO",
    # GeoPackage/SQLite SQL functions that open other datasets stay disabled.
    "OGR_SQLITE_ALLOW_EXTERNAL_ACCESS": "NO",
    "GDAL_VRT_ENABLE_PYTHON": "NO",
}

_lock = threading.Lock()
_depth = 0
_saved: dict[str, str | None] = {}


@contextmanager
def sandbox() -> Iterator[None]:
    """Run GDAL calls with ``SANDBOX_OPTIONS`` in force."""
    global _depth
    with _lock:
        if _depth == 0:
            _saved.clear()
            for key in SANDBOX_OPTIONS:
                _saved[key] = pyogrio.get_gdal_config_option(key)
            pyogrio.set_gdal_config_options(dict(SANDBOX_OPTIONS))
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                pyogrio.set_gdal_config_options(dict(_saved))


def _forbidden(what: str, name: str) -> ForbiddenPathError:
    return ForbiddenPathError(
        f"The {what} {name[:120]!r} is not allowed: only files inside the upload and "
        "layers listed in it can be read.",
        vi="Chỉ được đọc tệp trong gói tải lên và các lớp có trong tệp.",
        name=name[:200],
    )


def looks_like_path_or_url(name: str) -> bool:
    """True for names GDAL would treat as another file or a URL."""
    lowered = name.strip().lower()
    return (
        lowered.startswith(("/", "\\", "~"))
        or "/vsi" in lowered
        or "://" in lowered
        or ".." in lowered
        or "/" in lowered
        or "\\" in lowered
        or any(ord(c) < 32 for c in name)
    )


def check_layer_name(layer: str) -> str:
    """Refuse a layer name that looks like a path or URL, before any file is opened."""
    if not layer or len(layer) > 255 or looks_like_path_or_url(layer):
        raise _forbidden("layer name", layer)
    return layer


def inside(path: str | Path, root: Path) -> Path:
    """The resolved path of a regular file inside ``root``, or ``ForbiddenPathError``."""
    text = str(path)
    if "/vsi" in text.lower() or "://" in text:
        raise _forbidden("file name", text)
    candidate = Path(text)
    try:
        resolved = candidate.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise _forbidden("file name", text) from exc
    if not resolved.is_relative_to(root.resolve()) or candidate.is_symlink():
        raise _forbidden("file name", text)
    if not resolved.is_file():
        raise _forbidden("file name", text)
    return resolved


def _gdal_failed(exc: Exception, label: str, root: Path) -> CorruptFileError:
    # GDAL's message names the temporary folder: keep only the part below it.
    reason = str(exc).replace(str(root.resolve()) + "/", "").replace(str(root), "")
    return CorruptFileError(
        f"The {label} could not be read; it may be damaged or incomplete.",
        vi="Không đọc được tệp: tệp có thể bị hỏng hoặc không đầy đủ.",
        reason=reason[:300],
    )


def _undecodable(exc: UnicodeDecodeError, label: str) -> CorruptFileError:
    # GDAL hands pyogrio the file's text as UTF-8 (recoded from a declared code page);
    # a damaged or mislabelled file still carries bytes that are not.
    return CorruptFileError(
        f"The {label} has text that is not valid in its declared encoding "
        f"(byte 0x{exc.object[exc.start]:02x}). Save it as UTF-8; for a Shapefile, a .cpg "
        "file naming its code page (such as 1258) also works.",
        vi="Tệp có chữ không đúng bảng mã đã khai báo. Hãy lưu tệp ở UTF-8; với Shapefile "
        "có thể kèm tệp .cpg ghi bảng mã (ví dụ 1258).", reason="text encoding")


def list_layers(path: Path, root: Path, *, driver: str, label: str) -> list[tuple[str, str]]:
    """(layer name, geometry type) of every layer, after checking the driver GDAL picked."""
    where = str(inside(path, root))
    with sandbox():
        try:
            layers = pyogrio.list_layers(where)
            info = pyogrio.read_info(where, layer=str(layers[0][0])) if len(layers) else None
        except (DataSourceError, DataLayerError) as exc:
            raise _gdal_failed(exc, label, root) from exc
        except UnicodeDecodeError as exc:
            raise _undecodable(exc, label) from exc
    if info is not None and info["driver"] != driver:
        raise FormatMismatchError(
            f"The file was expected to be {label} but GDAL reads it as {info['driver']}.",
            vi="Nội dung tệp không khớp với định dạng mong đợi.", detected=info["driver"],
        )
    return [(str(name), str(gtype)) for name, gtype in layers]


def read_info(path: Path, root: Path, *, layer: str, label: str,
              **open_options: str) -> dict[str, Any]:
    """pyogrio's layer info (feature count, CRS, geometry type) inside the sandbox."""
    where = str(inside(path, root))
    with sandbox():
        try:
            return dict(pyogrio.read_info(where, layer=layer, **open_options))
        except (DataSourceError, DataLayerError) as exc:
            raise _gdal_failed(exc, label, root) from exc
        except UnicodeDecodeError as exc:
            raise _undecodable(exc, label) from exc


def read_frame(path: Path, root: Path, *, layer: str, label: str, max_features: int,
               **open_options: str) -> gpd.GeoDataFrame:
    """Read at most ``max_features`` features of a listed layer inside the sandbox."""
    where = str(inside(path, root))
    with sandbox():
        try:
            frame = pyogrio.read_dataframe(
                where, layer=layer, max_features=max_features, on_invalid="ignore",
                **open_options,
            )
        except (DataSourceError, DataLayerError, FieldError, GeometryError) as exc:
            raise _gdal_failed(exc, label, root) from exc
        except UnicodeDecodeError as exc:
            raise _undecodable(exc, label) from exc
    return frame
