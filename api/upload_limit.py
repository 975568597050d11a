"""An upload's body cut off at the intake limit while it streams in, for the API's survey
upload route and the pages' survey form alike.

Starlette spools a multipart file to disk before the endpoint runs, so a cap applied in the
endpoint alone would come after the whole upload was received.  A declared Content-Length
over the limit is refused before any byte is read; a body without one (chunked) is counted
as it arrives and refused at the first chunk past the limit.  The limit is read from the
app's settings on each request, so tests and deployments set it without a new route.
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request

from gis.intake.errors import FileTooLargeError

FORM_OVERHEAD_BYTES = 64 * 1024
"""Multipart boundaries, part headers and the small form fields around the file."""


class BodyTooLarge(HTTPException):
    """Raised inside body parsing; FastAPI re-raises HTTPExceptions from there untouched."""

    def __init__(self) -> None:
        super().__init__(413, "upload too large")


def too_large(max_bytes: int, size: int | None = None) -> FileTooLargeError:
    """The problem a user reads: the limit, the size when it was declared, what to do."""
    said = f"{size:,} bytes" if size is not None else "more than that"
    return FileTooLargeError(
        f"The upload is {said}; the limit is {max_bytes:,} bytes. Split the survey into "
        "several files.", vi=f"Tệp vượt quá giới hạn {max_bytes:,} byte; hãy chia thành "
        "nhiều tệp.", max_bytes=max_bytes, **({"size": size} if size is not None else {}))


class CappedBody:
    """One request's body, counted.  :meth:`declared_too_large` answers before reading;
    :attr:`request` reads through the count and raises :class:`BodyTooLarge` past the
    limit; :attr:`exceeded` tells afterwards whether it did (a page route's handler turns
    the exception into a page of its own)."""

    def __init__(self, request: Request) -> None:
        self.max_file: int = request.app.state.settings.intake.max_file_bytes
        self.limit = self.max_file + FORM_OVERHEAD_BYTES
        self.exceeded = False
        self._declared = request.headers.get("content-length", "")
        upstream = request.receive
        seen = 0

        async def counted() -> dict[str, Any]:
            nonlocal seen
            message = await upstream()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    self.exceeded = True
                    raise BodyTooLarge()
            return dict(message)

        self.request = Request(request.scope, counted)

    def declared_too_large(self) -> FileTooLargeError | None:
        """The refusal of a declared Content-Length over the limit, or None."""
        if self._declared.isdigit() and int(self._declared) > self.limit:
            return too_large(self.max_file, int(self._declared))
        return None
