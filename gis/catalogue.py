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
       "{distance}).",
       "{features}: a boundary ring is not closed (first and last points "
       "{distance} apart)."),
    _r("self_intersection", "validity", "Self-intersection",
       "{features}: ranh giới tự cắt tại điểm {point}.",
       "{features}: the boundary crosses itself at {point}."),
    _r("ring_self_touch", "validity", "Ring touches itself",
       "{features}: vòng ranh giới tự chạm tại điểm {point}.",
       "{features}: a boundary ring touches itself at {point}."),
    _r("invalid_rings", "validity", "Invalid ring arrangement",
       "{features}: các vòng ranh giới sai cấu trúc ({reason}) tại điểm {point}.",
       "{features}: the rings are wrongly arranged ({reason}) at {point}."),
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
       "{features}: {count} đỉnh trùng nhau liên tiếp (cách nhau không quá {distance_m} m).",
       "{features}: {count} consecutive duplicate vertices (at most {distance_m} m apart).",
       "distance_m"),
    _r("spike", "shape", "Spike",
       "{features}: đỉnh nhọn bất thường {angle_deg:.3g}° tại điểm {point} (số đỉnh nhọn dưới "
       "{threshold_deg}°: {count}).",
       "{features}: a spike of {angle_deg:.3g}° at {point} (vertices sharper than "
       "{threshold_deg}°: {count}).",
       "angle_deg", version=2),
    _r("short_segment", "shape", "Short segment",
       "{features}: cạnh ngắn {length}, dưới mức bản đồ thể hiện được (số cạnh ngắn hơn "
       "{threshold_m} m: {count}).",
       "{features}: an edge of {length}, below what the map can show (edges shorter than "
       "{threshold_m} m: {count}).",
       "length_m", version=2),
    _r("min_area", "shape", "Area under minimum",
       "{features}: diện tích {area}, nhỏ hơn {threshold_m2} m².",
       "{features}: area {area}, under {threshold_m2} m².",
       "area_m2"),
    _r("sliver", "shape", "Sliver",
       "{features}: thửa quá hẹp (độ mảnh 4πA/P² = {thinness:.3f} < {threshold}).",
       "{features}: the parcel is a sliver (thinness 4πA/P² = {thinness:.3f} < "
       "{threshold}).",
       "thinness"),
    _r("overlap", "neighbours", "Overlap",
       "{features} chồng lấn nhau {area}, rộng nhất {width} "
       "(dung sai 1:{scale}: {snap_m}–{conflict_m} m).",
       "{features} overlap by {area}, at most {width} wide "
       "(1:{scale} tolerance {snap_m}–{conflict_m} m).",
       "min_width_m", two_sided=True),
    _r("contained", "neighbours", "Parcel inside another",
       "{first} nằm hoàn toàn trong {second} ({area}).",
       "{first} lies wholly inside {second} ({area})."),
    _r("duplicate", "neighbours", "Duplicate parcel",
       "{features} có ranh giới trùng nhau hoàn toàn ({area}).",
       "{features} have identical boundaries ({area}).",),
    _r("gap", "neighbours", "Gap between neighbours",
       "Khe hở giữa {features}: {area}, rộng {width} "
       "(dung sai 1:{scale}: {snap_m}–{conflict_m} m; khe rộng hơn {max_width_m} m không "
       "phải lỗi).",
       "Gap between {features}: {area}, {width} wide (1:{scale} tolerance "
       "{snap_m}–{conflict_m} m; gaps wider than {max_width_m} m are not defects).",
       "max_width_m", "min_width_m", two_sided=True),
    _r("boundary_mismatch", "neighbours", "Boundary mismatch",
       "Đỉnh của {first} tại điểm {point} lệch {distance} so với ranh giới {second} "
       "(dung sai 1:{scale}: {snap_m}–{conflict_m} m).",
       "A vertex of {first} at {point} is {distance} off the boundary of {second} "
       "(1:{scale} tolerance {snap_m}–{conflict_m} m).",
       "identical_m", two_sided=True, version=2),
    _r("outside_ward", "frame", "Outside the ward",
       "{features}: {area} nằm ngoài ranh giới phường, {where} (rộng {width}).",
       "{features}: {area} lies outside the ward boundary, {where} ({width} wide).",
       "min_width_m", two_sided=True, version=2),
    _r("zone_crossing", "frame", "Crossing a zone boundary",
       "{features}: {area} nằm trong {zone_kind} ({zone}), rộng {width}.",
       "{features}: {area} lies inside {zone_kind} ({zone}), {width} wide.",
       two_sided=True, version=2),
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
       "Các đối tượng {features} cùng mang số hiệu {parcel}.",
       "Features {features} share the number of {parcel}."),
    _r("matched_by_position", "intake", "Matched by position",
       "Đối tượng {feature} không có số hiệu; được coi là {label} (trùng {iou:.0%} "
       "diện tích).",
       "Feature {feature} has no number; taken as {label} (overlapping {iou:.0%})."),
)})
"""Rules judged by a :class:`gis.rules.RuleSet`; every one has its settings in
``config/rules.toml``."""





def _c(code: str, title: str, vi: str, en: str) -> Rule:
    return Rule(code, 1, "certificate", title, vi, en)


# {parcel}, {holder}, {zone_kind}, {point} and {difference} are said in each language by the
# caller (gis.labels): "thửa đất số 12, tờ bản đồ số 5 (Kim Long cũ)", never a code.
CERTIFICATE_RULES: Mapping[str, Rule] = MappingProxyType({r.code: r for r in (
    _c("invalid_geometry", "Invalid boundary",
        "Ranh giới thửa khai báo không hợp lệ ({reason}) tại điểm {point}; "
        "xem hình đã sửa đề xuất.",
        "The claimed boundary is not a valid polygon ({reason}) at {point}; "
        "see the proposed repaired shape."),
    _c("outside_ward", "Outside the ward",
        "{area_m2:.2f} m² của thửa khai báo nằm ngoài ranh giới phường (rộng {width_m:.2f} m).",
        "{area_m2:.2f} m² of the claim lies outside the ward boundary ({width_m:.2f} m wide)."),
    _c("already_registered", "Already certified",
        "Thửa khai báo trùng với {parcel} đã cấp giấy chứng nhận số {certificate_no} "
        "cho {holder} (lệch tối đa {distance_m:.3f} m).",
        "The claim is the same parcel as {parcel}, already certified to {holder} under "
        "certificate {certificate_no} (at most {distance_m:.3f} m apart)."),
    _c("overlap_registered", "Overlaps a certified parcel",
        "Chồng lấn {area_m2:.2f} m² (rộng nhất {width_m:.2f} m) lên {parcel} đã cấp "
        "giấy chứng nhận số {certificate_no} cho {holder}.",
        "Overlaps {area_m2:.2f} m² (at most {width_m:.2f} m wide) of {parcel}, "
        "certified to {holder} under certificate {certificate_no}."),
    _c("overlap_state_land", "Overlaps state land",
        "Chồng lấn {area_m2:.2f} m² (rộng nhất {width_m:.2f} m) lên {land_use} do Nhà nước "
        "quản lý, {parcel}.",
        "Overlaps {area_m2:.2f} m² (at most {width_m:.2f} m wide) of {land_use}, land the "
        "State manages, {parcel}."),
    _c("overlap_uncertified", "Overlaps an uncertified parcel",
        "Chồng lấn {area_m2:.2f} m² (rộng nhất {width_m:.2f} m) lên {parcel} ({land_use}) "
        "chưa được cấp giấy chứng nhận; cần xác minh ranh giới tại thực địa.",
        "Overlaps {area_m2:.2f} m² (at most {width_m:.2f} m wide) of {parcel} ({land_use}), "
        "which has no certificate; check the boundary in the field."),
    _c("overlap_pending", "Overlaps a pending application",
        "Chồng lấn {area_m2:.2f} m² (rộng nhất {width_m:.2f} m) với hồ sơ {other} đang chờ "
        "xử lý; hồ sơ {first} nộp trước.",
        "Overlaps {area_m2:.2f} m² (at most {width_m:.2f} m wide) with pending application "
        "{other}; {first} was received first."),
    _c("boundary_gap", "Gap to a neighbour",
        "Khe hở {area_m2:.2f} m², rộng {width_m:.3f} m giữa thửa khai báo và {parcel}: ranh "
        "giới có lẽ phải trùng nhau; xem hình đề xuất đã bám ranh.",
        "A gap of {area_m2:.2f} m², {width_m:.3f} m wide, between the claim and {parcel}: "
        "the boundaries should probably coincide; see the proposed snapped shape."),
    _c("area_mismatch", "Declared area differs",
        "Diện tích kê khai {declared_m2:.1f} m² {difference} so với diện tích đo "
        "{measured_m2:.1f} m² (sai số cho phép 1:{scale} là {allowed_m2:.2f} m²); theo "
        "Điều 135 khoản 6 Luật Đất đai 2024, diện tích đo được ghi nếu ranh giới không đổi "
        "và không tranh chấp.",
        "The declared area {declared_m2:.1f} m² is {difference} than the measured "
        "{measured_m2:.1f} m² (allowed at 1:{scale}: {allowed_m2:.2f} m²); under Land Law "
        "2024 Art. 135(6) the measured area is used if the boundary is unchanged and "
        "undisputed."),
    _c("road_redline", "Inside a planned road",
        "{area_m2:.2f} m² ({share_pct:.1f}%) của thửa nằm trong chỉ giới đường đỏ {zone}.",
        "{area_m2:.2f} m² ({share_pct:.1f}%) of the claim lies inside the planned road red "
        "line {zone}."),
    _c("protection_zone", "Inside a protection zone",
        "{area_m2:.2f} m² ({share_pct:.1f}%) của thửa nằm trong {zone_kind} ({zone}).",
        "{area_m2:.2f} m² ({share_pct:.1f}%) of the claim lies inside {zone_kind} "
        "({zone})."),
    _c("plan_conformity", "Declared use not in the plan",
        "{area_m2:.2f} m² ({share_pct:.1f}%) của thửa nằm trong khu quy hoạch {zone}, nơi "
        "quy hoạch cho phép {planned_vi}; loại đất kê khai là {declared_vi}.",
        "{area_m2:.2f} m² ({share_pct:.1f}%) of the claim lies in the planning zone {zone}, "
        "planned for {planned_en}; the declared land use is {declared_en}."),
    _c("dispute_open", "Open dispute",
        "{parcel} có tranh chấp đang giải quyết (số {dispute_id}, từ {opened_on}, "
        "người khiếu nại: {claimant}).",
        "{parcel} has an open dispute (no. {dispute_id}, since {opened_on}, "
        "claimant: {claimant})."),
    _c("shape", "Drawing quality", "{detail_vi}", "{detail_en}"),
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
    text figure where a number was expected is shown as it is.  A sentence starts with a
    capital ("Thửa đất số 12 …", "Parcel 12 …") whatever the placeholder it starts with."""
    try:
        text = _Lenient().vformat(template, (), ctx)
    except (ValueError, TypeError):  # a string figure where a number was expected
        text = _Lenient().vformat(_SPEC.sub("}", template), (), ctx)
    return text[:1].upper() + text[1:]


_SPEC = re.compile(r":[^{}]*\}")


