"""The rule catalogue: every check the service makes, what it is called and what it says.

A rule here is only its identity: a stable code, the version of its logic, its category,
and its two sentences (Vietnamese and English), whose placeholders the finding's figures
fill.  How severe a finding is and which tolerances it is judged with are settings
(``config/rules.toml``, and ``config/certificates.toml`` for the certificate rules), never code.

Three families, one module: :data:`RULES` are judged by a :class:`gis.rules.RuleSet`
(the geometry and topology engine, and the intake rules a survey batch must pass to be
stored); :data:`CERTIFICATE_RULES` are what a certificate verification reports, judged
with the certificate settings' severities (the same geometric fact weighs differently
there: any part outside the ward fails a claim).
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class Rule:
    """A rule's identity: what it is called, which version of its logic, what it says."""

    code: str
    version: int
    category: str
    title_en: str
    message_vi: str
    message_en: str
    params: tuple[str, ...] = ()
    two_sided: bool = False


def _r(code: str, category: str, title: str, vi: str, en: str, *params: str,
       two_sided: bool = False, version: int = 1) -> Rule:
    return Rule(code, version, category, title, vi, en, params, two_sided)


# Message templates are filled with the finding's figures plus {features} (labels or ids)
# and {snap_m} {conflict_m} {scale}; a missing figure renders as "?" rather than failing.
RULES: Mapping[str, Rule] = MappingProxyType({r.code: r for r in (
    _r("not_polygon", "validity", "Not a polygon",
       "{features}: hình học là {geom_type}, không phải vùng (polygon).",
       "{features}: the geometry is a {geom_type}, not a polygon."),
    _r("empty", "validity", "Empty geometry",
       "{features}: hình học rỗng, không có đỉnh nào.",
       "{features}: the geometry is empty."),
    _r("too_few_points", "validity", "Ring with fewer than 4 points",
       "{features}: một vòng ranh giới có {points} điểm, cần ít nhất 4 (kể cả điểm khép).",
       "{features}: a boundary ring has {points} points; at least 4 are needed "
       "(closing point included)."),
    _r("unclosed_ring", "validity", "Unclosed ring",
       "{features}: vòng ranh giới không khép kín (điểm đầu khác điểm cuối, cách "
       "{distance_m:.3f} m).",
       "{features}: a boundary ring is not closed (first and last points "
       "{distance_m:.3f} m apart)."),
    _r("self_intersection", "validity", "Self-intersection",
       "{features}: ranh giới tự cắt tại điểm ({x:.3f}, {y:.3f}).",
       "{features}: the boundary crosses itself at ({x:.3f}, {y:.3f})."),
    _r("ring_self_touch", "validity", "Ring touches itself",
       "{features}: vòng ranh giới tự chạm tại điểm ({x:.3f}, {y:.3f}).",
       "{features}: a boundary ring touches itself at ({x:.3f}, {y:.3f})."),
    _r("invalid_rings", "validity", "Invalid ring arrangement",
       "{features}: các vòng ranh giới sai cấu trúc ({reason}) tại ({x:.3f}, {y:.3f}).",
       "{features}: the rings are wrongly arranged ({reason}) at ({x:.3f}, {y:.3f})."),
    _r("non_finite", "validity", "NaN or infinite coordinate",
       "{features}: có {count} tọa độ không hợp lệ (NaN hoặc vô hạn).",
       "{features}: {count} coordinates are NaN or infinite."),
    _r("orientation", "validity", "Ring orientation",
       "{features}: chiều vòng ranh giới không theo quy ước (vòng ngoài ngược chiều kim đồng hồ); "
       "đã chuẩn hóa.",
       "{features}: ring orientation does not follow the convention (exterior "
       "counter-clockwise); normalised."),
    _r("z_or_m", "validity", "Z or M coordinates",
       "{features}: có tọa độ {dims}; đã bỏ để đo trên mặt phẳng.",
       "{features}: has {dims} coordinates; flattened to 2D."),
    _r("has_holes", "validity", "Polygon with holes",
       "{features}: thửa có {holes} lỗ (vùng bên trong không thuộc thửa).",
       "{features}: the parcel has {holes} hole(s)."),
    _r("multipart", "validity", "Multipart parcel",
       "{features}: thửa gồm {parts} phần rời nhau; một thửa phải là một vùng liền.",
       "{features}: the parcel has {parts} separate parts; a parcel must be one piece."),
    _r("duplicate_vertex", "shape", "Duplicate consecutive vertices",
       "{features}: {count} đỉnh trùng nhau liên tiếp (cách nhau dưới {distance_m} m).",
       "{features}: {count} consecutive duplicate vertices (closer than {distance_m} m).",
       "distance_m"),
    _r("spike", "shape", "Spike",
       "{features}: đỉnh nhọn bất thường, góc {angle_deg:.3f}° (ngưỡng {threshold_deg}°).",
       "{features}: spike vertex with an angle of {angle_deg:.3f}° (threshold "
       "{threshold_deg}°).",
       "angle_deg"),
    _r("short_segment", "shape", "Short segment",
       "{features}: cạnh dài {length_m:.3f} m, ngắn hơn {threshold_m} m.",
       "{features}: an edge is {length_m:.3f} m long, shorter than {threshold_m} m.",
       "length_m"),
    _r("min_area", "shape", "Area under minimum",
       "{features}: diện tích {area_m2:.2f} m², nhỏ hơn {threshold_m2} m².",
       "{features}: area {area_m2:.2f} m², under {threshold_m2} m².",
       "area_m2"),
    _r("sliver", "shape", "Sliver",
       "{features}: thửa quá hẹp (độ mảnh 4πA/P² = {thinness:.3f} < {threshold}).",
       "{features}: the parcel is a sliver (thinness 4πA/P² = {thinness:.3f} < "
       "{threshold}).",
       "thinness"),
    _r("overlap", "neighbours", "Overlap",
       "{features} chồng lấn nhau {area_m2:.2f} m², rộng nhất {width_m:.3f} m "
       "(dung sai 1:{scale}: {snap_m}–{conflict_m} m).",
       "{features} overlap by {area_m2:.2f} m², at most {width_m:.3f} m wide "
       "(1:{scale} tolerance {snap_m}–{conflict_m} m).",
       "min_width_m", two_sided=True),
    _r("contained", "neighbours", "Parcel inside another",
       "{first} nằm hoàn toàn trong {second} ({area_m2:.2f} m²).",
       "{first} lies wholly inside {second} ({area_m2:.2f} m²)."),
    _r("duplicate", "neighbours", "Duplicate parcel",
       "{features} có ranh giới trùng nhau hoàn toàn ({area_m2:.2f} m²).",
       "{features} have identical boundaries ({area_m2:.2f} m²).",),
    _r("gap", "neighbours", "Gap between neighbours",
       "Khe hở giữa {features}: {area_m2:.2f} m², rộng {width_m:.3f} m "
       "(dung sai 1:{scale}: {snap_m}–{conflict_m} m; khe rộng hơn {max_width_m} m không "
       "phải lỗi).",
       "Gap between {features}: {area_m2:.2f} m², {width_m:.3f} m wide (1:{scale} tolerance "
       "{snap_m}–{conflict_m} m; gaps wider than {max_width_m} m are not defects).",
       "max_width_m", "min_width_m", two_sided=True),
    _r("boundary_mismatch", "neighbours", "Boundary mismatch",
       "{features}: đỉnh ({x:.3f}, {y:.3f}) lệch {distance_m:.3f} m so với ranh giới thửa bên "
       "cạnh (dung sai 1:{scale}: {snap_m}–{conflict_m} m).",
       "{features}: vertex ({x:.3f}, {y:.3f}) is {distance_m:.3f} m off the neighbour's "
       "boundary (1:{scale} tolerance {snap_m}–{conflict_m} m).",
       "identical_m", two_sided=True),
    _r("outside_ward", "frame", "Outside the ward",
       "{features}: {area_m2:.2f} m² nằm ngoài ranh giới phường (rộng {width_m:.3f} m).",
       "{features}: {area_m2:.2f} m² lies outside the ward boundary ({width_m:.3f} m wide).",
       two_sided=True),
    _r("zone_crossing", "frame", "Crossing a zone boundary",
       "{features}: {area_m2:.2f} m² nằm trong {zone_kind} {zone} (rộng {width_m:.3f} m).",
       "{features}: {area_m2:.2f} m² lies inside {zone_kind} {zone} ({width_m:.3f} m wide).",
       two_sided=True),
    # What a survey feature needs to be stored in the registry ({feature} is its number
    # in the file, counted from 1).
    _r("missing_identity", "intake", "Identity missing",
       "Đối tượng {feature}: thiếu {missing}; không thể đăng ký thửa mới.",
       "Feature {feature}: {missing} missing; it cannot be registered as a new parcel."),
    _r("bad_number", "intake", "Not a sheet or parcel number",
       "Đối tượng {feature}: {field} = {value!r} không phải số nguyên dương.",
       "Feature {feature}: {field} = {value!r} is not a positive whole number."),
    _r("bad_land_use", "intake", "Not a land-use code",
       "Đối tượng {feature}: mã loại đất {value!r} không hợp lệ (ví dụ ODT, CLN, LUC).",
       "Feature {feature}: land-use code {value!r} is not valid (e.g. ODT, CLN, LUC)."),
    _r("unknown_former_unit", "intake", "Unknown former unit",
       "Đối tượng {feature}: đơn vị hành chính cũ {value!r} không có trong phường.",
       "Feature {feature}: former unit {value!r} is not one of the ward's."),
    _r("duplicate_number", "intake", "Number used twice",
       "Các đối tượng {features} cùng số hiệu tờ {sheet_no} thửa {parcel_no} ({former_unit}).",
       "Features {features} share sheet {sheet_no} parcel {parcel_no} ({former_unit})."),
    _r("matched_by_position", "intake", "Matched by position",
       "Đối tượng {feature} không có số hiệu; được coi là thửa {label} (trùng {iou:.0%} "
       "diện tích).",
       "Feature {feature} has no number; taken as parcel {label} (overlapping {iou:.0%})."),
)})
"""Rules judged by a :class:`gis.rules.RuleSet`; every one has its settings in
``config/rules.toml``."""





def _c(code: str, vi: str, en: str) -> Rule:
    return Rule(code, 1, "certificate", code.replace("_", " "), vi, en)


CERTIFICATE_RULES: Mapping[str, Rule] = MappingProxyType({r.code: r for r in (
    _c("invalid_geometry",
        "Ranh giới thửa đất kê khai không hợp lệ ({reason}) tại điểm {point_vi}; xem hình "
        "đã sửa được đề xuất.",
        "The claimed boundary is not a valid polygon ({reason}) at {point_en}; see the "
        "proposed repaired shape."),
    _c("outside_ward",
        "{area_m2:.2f} m² của thửa đất kê khai nằm ngoài địa giới phường (rộng {width_m:.2f} m).",
        "{area_m2:.2f} m² of the claim lies outside the ward boundary ({width_m:.2f} m wide)."),
    _c("already_registered",
        "Thửa đất kê khai trùng với {parcel}, đã được cấp giấy chứng nhận số {certificate_no} "
        "cho {holder} (lệch nhau tối đa {distance_m:.3f} m).",
        "The claim is the same parcel as {parcel_en}, already certified to {holder} under "
        "certificate {certificate_no} (at most {distance_m:.3f} m apart)."),
    _c("overlap_registered",
        "Chồng lấn {area_m2:.2f} m² (rộng nhất {width_m:.2f} m) lên {parcel}, đã được cấp "
        "giấy chứng nhận số {certificate_no} cho {holder}.",
        "Overlaps {area_m2:.2f} m² (at most {width_m:.2f} m wide) of {parcel_en}, certified to "
        "{holder} under certificate {certificate_no}."),
    _c("overlap_state_land",
        "Chồng lấn {area_m2:.2f} m² (rộng nhất {width_m:.2f} m) lên {parcel}, {land_use_vi} do "
        "Nhà nước quản lý.",
        "Overlaps {area_m2:.2f} m² (at most {width_m:.2f} m wide) of {parcel_en}, "
        "{land_use_en} the State manages."),
    _c("overlap_uncertified",
        "Chồng lấn {area_m2:.2f} m² (rộng nhất {width_m:.2f} m) lên {parcel} ({land_use_vi}), "
        "chưa được cấp giấy chứng nhận; cần xác minh ranh giới tại thực địa.",
        "Overlaps {area_m2:.2f} m² (at most {width_m:.2f} m wide) of {parcel_en} "
        "({land_use_en}), which has no certificate; check the boundary in the field."),
    _c("overlap_pending",
        "Chồng lấn {area_m2:.2f} m² (rộng nhất {width_m:.2f} m) với hồ sơ {other} đang giải "
        "quyết; hồ sơ {first} nộp trước.",
        "Overlaps {area_m2:.2f} m² (at most {width_m:.2f} m wide) with pending application "
        "{other}; {first} was received first."),
    _c("boundary_gap",
        "Khe hở {area_m2:.2f} m², rộng {width_m:.3f} m giữa thửa đất kê khai và {parcel}: ranh "
        "giới hai thửa cần trùng nhau; xem hình đề xuất đã điều chỉnh theo ranh giới thửa liền "
        "kề.",
        "A gap of {area_m2:.2f} m², {width_m:.3f} m wide, between the claim and {parcel_en}: "
        "the two boundaries should coincide; see the proposed shape adjusted to the "
        "neighbour's boundary."),
    _c("area_mismatch",
        "Diện tích kê khai {declared_m2:.1f} m² {sign_vi} diện tích đo {measured_m2:.1f} m² "
        "{abs_difference_m2:.1f} m² (sai số cho phép ở tỷ lệ 1:{scale} là {allowed_m2:.2f} m²); "
        "theo khoản 6 Điều 135 Luật Đất đai 2024, ghi diện tích đo được nếu ranh giới không "
        "thay đổi và không có tranh chấp.",
        "The declared area {declared_m2:.1f} m² is {abs_difference_m2:.1f} m² {sign_en} the "
        "measured {measured_m2:.1f} m² (allowed at 1:{scale}: {allowed_m2:.2f} m²); under Land "
        "Law 2024 Art. 135(6) the measured area is used if the boundary is unchanged and "
        "undisputed."),
    _c("road_redline",
        "{area_m2:.2f} m² ({share_pct:.1f}%) của thửa đất nằm trong {zone}.",
        "{area_m2:.2f} m² ({share_pct:.1f}%) of the claim lies inside {zone} (between the "
        "planned red lines)."),
    _c("protection_zone",
        "{area_m2:.2f} m² ({share_pct:.1f}%) của thửa đất nằm trong {zone_kind_vi}: {zone}.",
        "{area_m2:.2f} m² ({share_pct:.1f}%) of the claim lies inside the {zone_kind_en}: "
        "{zone}."),
    _c("plan_conformity",
        "{area_m2:.2f} m² ({share_pct:.1f}%) của thửa đất nằm trong khu quy hoạch {zone}, nơi "
        "quy hoạch cho phép {planned_vi}; loại đất kê khai là {declared_vi}.",
        "{area_m2:.2f} m² ({share_pct:.1f}%) of the claim lies in the planning zone {zone}, "
        "planned for {planned_en}; the declared land use is {declared_en}."),
    _c("dispute_open",
        "Có tranh chấp chưa giải quyết xong đối với {parcel} (số {dispute_id}, từ ngày "
        "{opened_on}, người yêu cầu: {claimant}).",
        "There is an open dispute over {parcel_en} (no. {dispute_id}, since {opened_on}, "
        "raised by {claimant})."),
    _c("shape", "{detail_vi}", "{detail_en}"),
)})
"""What a certificate verification reports; severities per band in ``config/certificates.toml``."""


class _Lenient(string.Formatter):
    def get_value(self, key: int | str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        return kwargs.get(str(key), _Missing())


class _Missing:
    def __format__(self, spec: str) -> str:
        return "?"


def render(template: str, ctx: Mapping[str, Any]) -> str:
    """Fill a message template; a missing figure shows as "?" rather than failing, and a
    text figure where a number was expected is shown as it is."""
    try:
        return _Lenient().vformat(template, (), ctx)
    except (ValueError, TypeError):  # a string figure where a number was expected
        return _Lenient().vformat(_SPEC.sub("}", template), (), ctx)


_SPEC = re.compile(r":[^{}]*\}")


