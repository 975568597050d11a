"""Size-capped copying and safe ZIP extraction for uploads.

A ZIP's central directory is written by whoever made the file, so every
declared size may lie: the checks run twice, once on the directory before any
byte is written and again on the bytes actually inflated, which are counted
while streaming and cut off at the cap.  Names are checked before anything is
created, and extraction only ever creates new regular files (``O_EXCL |
O_NOFOLLOW``) below a folder this module made.
"""

from __future__ import annotations

import os
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from gis.intake.errors import (
    CorruptArchiveError,
    FileTooLargeError,
    UnsafeArchivePathError,
    ZipBombError,
)
from gis.intake.types import Limits

CHUNK = 1024 * 1024
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


def copy_limited(stream: BinaryIO, dest_path: str | os.PathLike[str], max_bytes: int) -> int:
    """Copy a file-like object to a new file, refusing it as soon as it passes ``max_bytes``.

    The web layer calls this on the upload stream, so an oversized upload is
    refused after reading ``max_bytes + 1`` bytes, not after buffering it all.
    The partial file is removed.  Returns the number of bytes written.
    Raises ``FileTooLargeError`` (code ``file_too_large``).
    """
    dest = Path(dest_path)
    written = 0
    fd = os.open(dest, _NEW_FILE, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            while True:
                chunk = stream.read(CHUNK)
                if not chunk:
                    break
                written += len(chunk)
                if written > max_bytes:
                    raise FileTooLargeError(
                        f"The file is larger than the limit of {max_bytes:,} bytes.",
                        vi=f"Tệp lớn hơn giới hạn {max_bytes:,} byte.",
                        max_bytes=max_bytes,
                    )
                out.write(chunk)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return written


def member_path(name: str) -> PurePosixPath:
    """The relative path an archive member may be extracted to, or ``UnsafeArchivePathError``.

    Refuses absolute paths (``/etc/passwd``, ``C:\\x``, ``\\\\host\\x``), any
    ``..`` component, empty components, NUL and control characters: such names
    only appear in archives built to write outside the upload folder.
    """
    unsafe = (
        not name
        or any(ord(c) < 32 for c in name)
        or name.startswith(("/", "\\"))
        or (len(name) > 1 and name[1] == ":")
    )
    parts = name.replace("\\", "/").split("/")
    if name.endswith("/"):
        parts = parts[:-1]
    if unsafe or any(p in ("", ".", "..") for p in parts) or len(name) > 1024:
        raise UnsafeArchivePathError(
            f"The archive contains an unsafe path {name[:120]!r}: absolute paths and '..' "
            "are not allowed in an upload.",
            vi="Tệp nén chứa đường dẫn tuyệt đối hoặc '..'.",
            member=name[:200],
        )
    return PurePosixPath(*parts)


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    mode = info.external_attr >> 16
    return info.create_system == 3 and stat.S_ISLNK(mode)


def open_zip(path: Path) -> zipfile.ZipFile:
    """Open a ZIP, mapping a truncated or garbled one to ``corrupt_archive`` (a garbled
    directory can also claim a ZIP version Python does not implement)."""
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError,
            NotImplementedError) as exc:
        raise CorruptArchiveError(
            "The ZIP archive is damaged or incomplete (was the upload cut off?).",
            vi="Tệp ZIP bị hỏng hoặc không đầy đủ (tải lên bị gián đoạn?).",
        ) from exc


def check_zip(zf: zipfile.ZipFile, limits: Limits) -> list[zipfile.ZipInfo]:
    """Vet a ZIP's directory before extracting anything; return the file members.

    Checks the member count, every name (see ``member_path``), symlink
    members, encryption, the declared total size and each member's declared
    compression ratio.
    """
    infos = zf.infolist()
    if len(infos) > limits.max_archive_members:
        raise ZipBombError(
            f"The archive holds {len(infos)} entries; at most {limits.max_archive_members} "
            "are accepted.",
            vi=f"Tệp nén có {len(infos)} mục, tối đa {limits.max_archive_members}.",
            members=len(infos), max_members=limits.max_archive_members,
        )
    total = 0
    files = []
    for info in infos:
        member_path(info.filename)
        if _is_symlink(info):
            raise UnsafeArchivePathError(
                f"The archive entry {info.filename[:120]!r} is a symbolic link; links are "
                "not allowed in an upload.",
                vi="Tệp nén chứa liên kết tượng trưng (symlink).",
                member=info.filename[:200],
            )
        if info.is_dir():
            continue
        if info.flag_bits & 0x1:
            raise CorruptArchiveError(
                "The archive is password-protected; upload it without a password.",
                vi="Tệp nén có mật khẩu: hãy tải lên tệp không đặt mật khẩu.",
                member=info.filename[:200],
            )
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > limits.ratio_floor_bytes and ratio > limits.max_compression_ratio:
            raise ZipBombError(
                f"The archive entry {info.filename[:120]!r} expands {ratio:,.0f} times; "
                f"at most {limits.max_compression_ratio:,.0f} is accepted.",
                vi="Tệp nén có tỉ lệ nén bất thường (zip bomb).",
                member=info.filename[:200], ratio=round(ratio, 1),
            )
        files.append(info)
    if total > limits.max_uncompressed_bytes:
        raise ZipBombError(
            f"The archive would expand to {total:,} bytes; at most "
            f"{limits.max_uncompressed_bytes:,} are accepted.",
            vi="Tệp nén giải nén ra quá lớn.",
            declared_bytes=total, max_bytes=limits.max_uncompressed_bytes,
        )
    return files


def extract_zip(path: Path, dest: Path, limits: Limits) -> list[Path]:
    """Extract a vetted ZIP into the new folder ``dest``; return the files in archive order.

    While inflating, each member is cut off at its declared size and the
    archive at ``max_uncompressed_bytes``, whatever the directory claimed.
    """
    dest.mkdir(mode=0o700)
    root = dest.resolve()
    out_files: list[Path] = []
    budget = limits.max_uncompressed_bytes
    with open_zip(path) as zf:
        for info in check_zip(zf, limits):
            rel = member_path(info.filename)
            target = root.joinpath(*rel.parts)
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not target.parent.resolve().is_relative_to(root):  # pragma: no cover
                raise UnsafeArchivePathError("unsafe archive path", member=info.filename[:200])
            try:
                fd = os.open(target, _NEW_FILE, 0o600)
            except FileExistsError as exc:
                raise UnsafeArchivePathError(
                    f"The archive contains {info.filename[:120]!r} twice.",
                    vi="Tệp nén chứa hai mục trùng tên.", member=info.filename[:200],
                ) from exc
            cap = min(info.file_size, budget)
            budget -= _inflate(zf, info, fd, cap)
            out_files.append(target)
    return out_files


def _inflate(zf: zipfile.ZipFile, info: zipfile.ZipInfo, fd: int, cap: int) -> int:
    written = 0
    try:
        with os.fdopen(fd, "wb") as out, zf.open(info) as src:
            while True:
                chunk = src.read(CHUNK)
                if not chunk:
                    break
                written += len(chunk)
                if written > cap:
                    raise ZipBombError(
                        f"The archive entry {info.filename[:120]!r} expands beyond its declared "
                        "size or the size limit.",
                        vi="Tệp nén giải nén ra lớn hơn khai báo (zip bomb).",
                        member=info.filename[:200],
                    )
                out.write(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
        raise CorruptArchiveError(
            f"The archive entry {info.filename[:120]!r} is damaged or incomplete.",
            vi="Tệp ZIP bị hỏng hoặc không đầy đủ.", member=info.filename[:200],
        ) from exc
    return written
