"""Typed errors of the survey-file readers.

Every refusal of an uploaded file is one of these classes, in the shape of every
error of the service (``gis.errors.DomainError``): a stable machine ``code`` (the
API turns it into the problem document's ``type``), ``detail``, an English sentence
safe to show the surveyor, and ``extra``: a short Vietnamese ``message_vi`` and
JSON-serialisable facts such as the layers found, the counts, or the suggested fix.
Nothing here names a server path.
"""

from __future__ import annotations

from typing import Any, ClassVar

from gis.errors import DomainError, OutsideWard

TITLES: dict[str, str] = {
    "empty_file": "Empty file", "file_too_large": "File too large",
    "unsupported_format": "Unsupported file format",
    "format_mismatch": "File content does not match its extension",
    "corrupt_file": "Damaged file", "corrupt_archive": "Damaged archive",
    "zip_bomb": "Archive expands too much", "unsafe_archive_path": "Unsafe path in archive",
    "missing_sidecar": "Shapefile incomplete", "xml_entity": "KML with a DOCTYPE or ENTITY",
    "forbidden_path": "Forbidden file or layer name", "layer_required": "Choose a layer",
    "unknown_layer": "No such layer", "bad_mapping": "Attribute mapping not usable",
    "bad_table": "Coordinate table not readable", "no_features": "No features in the file",
    "too_many_features": "Too many features", "too_many_vertices": "Too many vertices",
    "not_polygon": "Not parcel polygons", "non_finite_coordinates": "Invalid coordinates",
    "crs_missing": "Coordinate reference system missing",
    "crs_unknown": "Coordinate reference system not recognised",
    "crs_mistake": "Coordinates in another reference system",
    "axes_swapped": "Coordinate axes swapped",
    "crs_wrong_zone": "Wrong VN-2000 zone (central meridian)",
    "degrees_as_metres": "Degrees declared as metres",
    "metres_as_degrees": "Metres declared as degrees",
    "outside_ward": "Parcels outside the ward",
    "upload_too_costly": "File too costly to read",
    "unsafe_geopackage": "GeoPackage with SQL that would run on reading",
}
"""Each refusal's problem title, in words a surveyor reads (never the code reworded: no
"Crs wrong zone")."""


class ReadError(DomainError, ValueError):
    """An uploaded file that cannot be read as parcels; ``code`` says why."""

    code: ClassVar[str] = "read_error"
    title: ClassVar[str] = "Read error"
    default_vi: ClassVar[str] = "Không đọc được tệp."

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "title" not in cls.__dict__:  # its words, else the code as words
            cls.title = TITLES.get(cls.code, cls.code.replace("_", " ").capitalize())

    def __init__(self, detail: str, *, vi: str | None = None, **facts: Any) -> None:
        super().__init__(detail, message_vi=vi or self.default_vi, **facts)

    @property
    def message_vi(self) -> str:
        return str(self.extra["message_vi"])

    def to_dict(self) -> dict[str, Any]:
        """The error as the API shows it: code, messages and the facts behind them."""
        return {"code": self.code, "message": self.detail, **self.extra}


class EmptyFileError(ReadError):
    code = "empty_file"
    default_vi = "Tệp rỗng."


class FileTooLargeError(ReadError):
    code = "file_too_large"
    default_vi = "Tệp vượt quá dung lượng cho phép."


class UnsupportedFormatError(ReadError):
    code = "unsupported_format"
    default_vi = "Định dạng tệp không được hỗ trợ."


class FormatMismatchError(ReadError):
    code = "format_mismatch"
    default_vi = "Nội dung tệp không khớp với phần mở rộng."


class CorruptFileError(ReadError):
    code = "corrupt_file"
    default_vi = "Tệp bị hỏng hoặc không đúng cấu trúc."


class CorruptArchiveError(ReadError):
    code = "corrupt_archive"
    default_vi = "Tệp nén bị hỏng hoặc không đầy đủ."


class ZipBombError(ReadError):
    code = "zip_bomb"
    default_vi = "Tệp nén giải nén ra quá lớn."


class UnsafeArchivePathError(ReadError):
    code = "unsafe_archive_path"
    default_vi = "Tệp nén chứa đường dẫn không an toàn."


class MissingSidecarError(ReadError):
    code = "missing_sidecar"
    default_vi = "Shapefile thiếu tệp đi kèm (.shx, .dbf)."


class XmlEntityError(ReadError):
    code = "xml_entity"
    default_vi = "Tệp KML chứa khai báo DOCTYPE/ENTITY không được phép."


class ForbiddenPathError(ReadError):
    code = "forbidden_path"
    default_vi = "Tên tệp hoặc tên lớp không hợp lệ."


class LayerRequiredError(ReadError):
    code = "layer_required"
    default_vi = "Tệp có nhiều lớp thửa đất: hãy chọn một lớp."


class UnknownLayerError(ReadError):
    code = "unknown_layer"
    default_vi = "Không có lớp này trong tệp."


class MappingError(ReadError):
    code = "bad_mapping"
    default_vi = "Bảng ánh xạ thuộc tính không hợp lệ."


class TableError(ReadError):
    code = "bad_table"
    default_vi = "Bảng tọa độ không hợp lệ."


class NoFeaturesError(ReadError):
    code = "no_features"
    default_vi = "Tệp không có đối tượng nào."


class TooManyFeaturesError(ReadError):
    code = "too_many_features"
    default_vi = "Tệp có quá nhiều đối tượng."


class TooManyVerticesError(ReadError):
    code = "too_many_vertices"
    default_vi = "Tệp có quá nhiều đỉnh."


class NotPolygonError(ReadError):
    code = "not_polygon"
    default_vi = "Tệp chứa điểm hoặc đường thay vì vùng thửa đất."


class NonFiniteCoordinatesError(ReadError):
    code = "non_finite_coordinates"
    default_vi = "Tọa độ không hợp lệ (NaN hoặc vô hạn)."


class CRSMissingError(ReadError):
    code = "crs_missing"
    default_vi = "Tệp không có hệ tọa độ: hãy chỉ rõ mã EPSG (ví dụ 9214)."


class CRSUnknownError(ReadError):
    code = "crs_unknown"
    default_vi = "Không nhận ra hệ tọa độ: hãy chỉ rõ mã EPSG (ví dụ 9214)."


class CRSMistakeError(ReadError):
    """The coordinates only land in the ward if read another way.

    ``extra["suggestion"]`` holds the fix as reader arguments, e.g.
    ``{"swap_axes": True}`` or ``{"crs": 9215}``; passing them (or
    ``auto_fix=True``) reads the file as the surveyor most likely meant.
    """

    code = "crs_mistake"


class AxesSwappedError(CRSMistakeError):
    code = "axes_swapped"
    default_vi = "Tọa độ bị đảo trục (X/Y hoặc vĩ độ/kinh độ)."


class WrongZoneError(CRSMistakeError):
    code = "crs_wrong_zone"
    default_vi = "Sai múi chiếu/kinh tuyến trục: dữ liệu thuộc hệ tọa độ khác."


class DegreesAsMetresError(CRSMistakeError):
    code = "degrees_as_metres"
    default_vi = "Tọa độ là độ nhưng được khai báo là hệ mét."


class MetresAsDegreesError(CRSMistakeError):
    code = "metres_as_degrees"
    default_vi = "Tọa độ là mét nhưng được khai báo là độ (kinh/vĩ độ)."


class UploadTooCostlyError(ReadError):
    """Reading the file was stopped at the worker's CPU, memory or time limit
    (``gis.intake.worker``): no survey file of an accepted size needs that much."""

    code = "upload_too_costly"
    default_vi = "Tệp cần quá nhiều tài nguyên để đọc."


class UnsafeGeoPackageError(ReadError):
    """A GeoPackage holding SQL that would run while it is read (views, computed columns,
    virtual tables other than the spatial index)."""

    code = "unsafe_geopackage"
    default_vi = "GeoPackage chứa lệnh SQL (view, cột tính toán) không được phép."


class OutsideWardError(ReadError, OutsideWard):
    """No feature of the file lies in the ward: a refused file, and geometry outside the ward."""

    code = "outside_ward"
    default_vi = "Các thửa đất nằm ngoài địa bàn phường."


ERROR_CLASSES: tuple[type[ReadError], ...] = (
    EmptyFileError, FileTooLargeError, UnsupportedFormatError, FormatMismatchError,
    CorruptFileError, CorruptArchiveError, ZipBombError, UnsafeArchivePathError,
    MissingSidecarError, XmlEntityError, ForbiddenPathError, LayerRequiredError,
    UnknownLayerError, MappingError, TableError, NoFeaturesError, TooManyFeaturesError,
    TooManyVerticesError, NotPolygonError, NonFiniteCoordinatesError, CRSMissingError,
    CRSUnknownError, AxesSwappedError, WrongZoneError, DegreesAsMetresError,
    MetresAsDegreesError, OutsideWardError, UploadTooCostlyError, UnsafeGeoPackageError,
)
"""Every concrete error, for the API's one table from code to HTTP status."""
