"""The words the pages show for the service's codes, in Vietnamese and English.

Each entry is a (Vietnamese, English) pair: a page in either language reads the same table,
and a code without an entry is shown as it is (never an error).
"""

from __future__ import annotations

from typing import Final

Pair = tuple[str, str]

ROLES: Final[dict[str, Pair]] = {
    "land_officer": ("Cán bộ địa chính", "Land officer"),
    "surveyor": ("Đo đạc viên", "Surveyor"),
    "official": ("Lãnh đạo / chuyên viên", "Official"),
    "admin": ("Quản trị hệ thống", "Administrator"),
}

STATES: Final[dict[str, Pair]] = {
    "received": ("Đã tiếp nhận", "Received"),
    "verifying": ("Đang kiểm tra", "Verifying"),
    "field_check": ("Đã kiểm tra thực địa", "Field checked"),
    "waiting_applicant": ("Chờ bổ sung hồ sơ", "Waiting for the applicant"),
    "survey_extract": ("Chờ trích đo", "Survey extract ordered"),
    "clock_stopped": ("Tạm dừng tính thời hạn", "Clock stopped"),
    "posting": ("Đang niêm yết công khai", "Posted publicly"),
    "posted": ("Đã kết thúc niêm yết", "Posting closed"),
    "eligible": ("Đủ điều kiện cấp GCN", "Eligible"),
    "financial_obligations": ("Chờ thực hiện nghĩa vụ tài chính",
                              "Waiting for the financial obligations"),
    "obligations_met": ("Đã hoàn thành nghĩa vụ tài chính", "Financial obligations met"),
    "approved": ("Đã phê duyệt", "Approved"),
    "rejected": ("Từ chối", "Rejected"),
    "certificate_issued": ("Đã trao giấy chứng nhận", "Certificate issued"),
}

PROCEDURES: Final[dict[str, Pair]] = {
    "first_certificate": ("Cấp GCN lần đầu", "First-time certificate"),
    "transfer": ("Chuyển nhượng", "Transfer"),
    "split_merge": ("Tách, hợp thửa", "Split or merge"),
    "correction": ("Đính chính", "Correction"),
    "exchange": ("Chuyển đổi", "Exchange"),
    "reissue": ("Cấp đổi, cấp lại", "Reissue"),
}

CHANNELS: Final[dict[str, Pair]] = {
    "online": ("Trực tuyến", "Online"),
    "counter": ("Tại quầy", "At the counter"),
}

VERDICTS: Final[dict[str, Pair]] = {
    "pass": ("Đạt", "Pass"),
    "review": ("Cần xem xét", "Review"),
    "fail": ("Không đạt", "Fail"),
}

SEVERITIES: Final[dict[str, Pair]] = {
    "error": ("Lỗi", "Error"),
    "warning": ("Cảnh báo", "Warning"),
    "info": ("Thông tin", "Information"),
}

ACTIONS: Final[dict[str, Pair]] = {
    "receive": ("Tiếp nhận", "Received"),
    "verify": ("Kiểm tra tự động", "Verified"),
    "field_check": ("Kiểm tra thực địa", "Field check"),
    "request_supplement": ("Yêu cầu bổ sung", "Supplement requested"),
    "supplement_received": ("Đã nhận bổ sung", "Supplement received"),
    "order_survey": ("Đặt trích đo địa chính", "Survey extract ordered"),
    "survey_received": ("Đã nhận trích đo", "Survey extract received"),
    "add_evidence": ("Bổ sung chứng cứ", "Evidence added"),
    "stop_clock": ("Tạm dừng thời hạn", "Clock stopped"),
    "resume_clock": ("Tính tiếp thời hạn", "Clock resumed"),
    "open_posting": ("Niêm yết công khai", "Posted publicly"),
    "record_complaint": ("Ghi nhận khiếu nại", "Complaint recorded"),
    "settle_complaint": ("Giải quyết khiếu nại", "Complaint settled"),
    "close_posting": ("Kết thúc niêm yết", "Posting closed"),
    "decide_eligibility": ("Kết luận đủ điều kiện", "Eligibility concluded"),
    "send_tax_info": ("Gửi thông tin cho cơ quan thuế", "Tax information sent"),
    "obligations_met": ("Hoàn thành nghĩa vụ tài chính", "Financial obligations met"),
    "approve": ("Phê duyệt", "Approved"),
    "reject": ("Từ chối", "Rejected"),
    "issue_certificate": ("Trao giấy chứng nhận", "Certificate issued"),
}

BATCH_STATES: Final[dict[str, Pair]] = {
    "received": ("Đã nhận", "Received"),
    "validated": ("Đã kiểm tra", "Validated"),
    "committed": ("Đã ghi vào sổ", "Committed"),
    "rejected": ("Bị từ chối", "Rejected"),
}

MATCHES: Final[dict[str, Pair]] = {
    "new": ("Thửa mới", "New parcel"),
    "new_version": ("Phiên bản mới", "New version"),
    "conflict": ("Xung đột", "Conflict"),
}

PROJECT_STATUS: Final[dict[str, Pair]] = {
    "proposed": ("Đề xuất", "Proposed"),
    "planned": ("Trong quy hoạch", "Planned"),
    "suspended": ("Tạm dừng", "Suspended"),
    "approved": ("Đã phê duyệt", "Approved"),
    "under_construction": ("Đang thi công", "Under construction"),
    "completed": ("Hoàn thành", "Completed"),
    "cancelled": ("Đã huỷ", "Cancelled"),
}

TAKES: Final[dict[str, Pair]] = {
    "full": ("Thu hồi toàn bộ", "Full take"),
    "partial": ("Thu hồi một phần", "Partial take"),
    "noise": ("Chạm ranh (không đáng kể)", "Touch only (noise)"),
    "safety_only": ("Chỉ hành lang an toàn", "Safety corridor only"),
}

RIGHTS: Final[dict[str, Pair]] = {
    "use_right": ("Quyền sử dụng đất", "Land-use right"),
    "asset_ownership": ("Sở hữu tài sản gắn liền", "Ownership of attached assets"),
    "restriction": ("Hạn chế", "Restriction"),
}

CHANGES: Final[dict[str, Pair]] = {
    "register": ("Đăng ký", "Registered"),
    "amend": ("Chỉnh lý", "Amended"),
    "split": ("Tách thửa", "Split"),
    "merge": ("Hợp thửa", "Merge"),
    "retire": ("Thu hồi / xoá", "Retired"),
    "correct": ("Đính chính", "Corrected"),
}

LINEAGE: Final[dict[str, Pair]] = {
    "split": ("Tách thửa", "Split"),
    "merge": ("Hợp thửa", "Merge"),
}

FIGURES: Final[dict[str, Pair]] = {
    "area_m2": ("Diện tích (m²)", "Area (m²)"),
    "width_m": ("Bề rộng lớn nhất (m)", "Greatest width (m)"),
    "distance_m": ("Khoảng cách (m)", "Distance (m)"),
    "declared_m2": ("Diện tích kê khai (m²)", "Declared area (m²)"),
    "measured_m2": ("Diện tích đo được (m²)", "Measured area (m²)"),
    "difference_m2": ("Chênh lệch (m²)", "Difference (m²)"),
    "difference_pct": ("Chênh lệch (%)", "Difference (%)"),
    "allowed_m2": ("Sai số cho phép (m²)", "Allowed difference (m²)"),
    "parcel": ("Thửa", "Parcel"),
    "holder": ("Chủ sử dụng", "Holder"),
    "certificate_no": ("Số giấy chứng nhận", "Certificate number"),
    "land_use": ("Loại đất", "Land use"),
    "zone": ("Vùng", "Zone"),
    "zone_kind": ("Loại vùng", "Kind of zone"),
    "project": ("Dự án", "Project"),
    "claimant": ("Người khiếu nại", "Claimant"),
    "opened_on": ("Ngày mở", "Opened on"),
    "scale": ("Tỷ lệ bản đồ", "Map scale"),
    "other": ("Hồ sơ khác", "Other application"),
    "received_first": ("Tiếp nhận trước", "Received first"),
    "state": ("Trạng thái", "State"),
    "kind": ("Loại", "Kind"),
    "reason": ("Lý do", "Reason"),
    "share": ("Tỷ lệ", "Share"),
    "vertices": ("Số đỉnh", "Vertices"),
    "gap_m2": ("Diện tích hở (m²)", "Gap area (m²)"),
}
TOKEN_SCOPES: Final[dict[str, Pair]] = {
    "read": ("Chỉ đọc", "Read only"),
    "write": ("Đọc và ghi (theo vai trò)", "Read and write (as your role may)"),
}

TOKEN_STATES: Final[dict[str, Pair]] = {
    "active": ("Còn hiệu lực", "Active"),
    "expired": ("Hết hạn", "Expired"),
    "revoked": ("Đã thu hồi", "Revoked"),
}

HIDDEN_FIGURES: Final = frozenset({"parcel_id", "parcel_ids", "other_id", "zone_id",
                                   "dispute_id", "defect", "x", "y", "feature_ids"})
"""Figures for machines (ids, coordinates): the sentence and the map say them for people."""

TABLES: Final[dict[str, dict[str, Pair]]] = {
    "role": ROLES, "state": STATES, "procedure": PROCEDURES, "channel": CHANNELS,
    "verdict": VERDICTS, "severity": SEVERITIES, "action": ACTIONS, "batch_state": BATCH_STATES,
    "match": MATCHES, "project_status": PROJECT_STATUS, "take": TAKES, "right": RIGHTS,
    "change": CHANGES, "lineage": LINEAGE, "figure": FIGURES, "token_scope": TOKEN_SCOPES,
    "token_state": TOKEN_STATES,
}


def word(table: str, code: str | None, lang: str) -> str:
    """The name of ``code`` in ``table`` in the page's language; the code itself if unknown."""
    if code is None:
        return ""
    pair = TABLES[table].get(code)
    if pair is None:
        return code
    return pair[0] if lang == "vi" else pair[1]
