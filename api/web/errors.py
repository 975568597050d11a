"""Errors on pages are pages: a 403 page, a 404 page, a form's refusal with its reason.

The API answers problem documents (api/errors.py); a person at a browser gets HTML in
the page's language with what went wrong and where to go, and never a stack trace or SQL:
an unexpected fault shows only the request id (the traceback goes to the log).  Page
routers use :class:`PageRoute`, which turns every exception raised while resolving the
page's dependencies or running it into such a page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from http import HTTPStatus
from typing import Any

import psycopg
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.exc import TimeoutError as QueuePoolTimeout
from starlette.exceptions import HTTPException

from api.errors import status_for
from api.web.access import PageForbidden, SignInNeeded
from api.web.render import LANG_COOKIE, Frame, render
from gis.errors import DomainError

log = logging.getLogger("cadastre.pages")

TRANSIENT = (OperationalError, QueuePoolTimeout, psycopg.OperationalError)


def vietnamese(exc: DomainError) -> str:
    """The error's Vietnamese sentence where it has one (survey files' errors all do), else
    its English detail."""
    said = exc.extra.get("message_vi") or exc.extra.get("vi")
    return str(said) if said else exc.detail


def message_for(request: Request, exc: DomainError) -> str:
    """The error's sentence in the page's language."""
    lang = getattr(request.state, "page_lang", None) or request.cookies.get(LANG_COOKIE, "vi")
    return vietnamese(exc) if lang == "vi" else exc.detail


def error_page(request: Request, status: int, *, detail_vi: str, detail_en: str,
               fields: list[str] | None = None) -> Response:
    """The error page (status, what happened in both languages, the request id)."""
    user = getattr(request.state, "page_user", None)
    lang = getattr(request.state, "page_lang", None) or (
        "en" if request.cookies.get(LANG_COOKIE) == "en" else "vi")
    frame = Frame(user=user, lang=lang, synthetic=False)
    return render(request, "error.html", frame=frame, status=status,
                  status_code=status, status_phrase=HTTPStatus(status).phrase, detail_vi=detail_vi,
                  detail_en=detail_en, fields=fields or [],
                  request_id=getattr(request.state, "request_id", None))


def page_for(request: Request, exc: Exception) -> Response:
    """The page answering an exception raised by a page route."""
    if isinstance(exc, SignInNeeded):
        return RedirectResponse("/login", status_code=303)
    if isinstance(exc, PageForbidden):
        if exc.csrf:
            return error_page(request, 403, detail_vi="Biểu mẫu đã hết hạn hoặc không hợp lệ "
                              "(mã CSRF). Hãy tải lại trang và thử lại.",
                              detail_en="The form has expired or is not valid (CSRF token). "
                              "Reload the page and try again.")
        return error_page(request, 403, detail_vi="Vai trò của bạn không được mở trang này.",
                          detail_en="Your role may not open this page.")
    if isinstance(exc, DomainError):
        return error_page(request, status_for(exc), detail_vi=vietnamese(exc),
                          detail_en=exc.detail)
    if isinstance(exc, RequestValidationError):
        fields = [".".join(str(p) for p in e.get("loc", ()) if p not in ("body", "query",
                                                                          "path", "form"))
                  + ": " + str(e.get("msg", "")) for e in exc.errors()[:8]]
        return error_page(request, 422, detail_vi="Dữ liệu nhập không hợp lệ.",
                          detail_en="Some of the values entered are not valid.", fields=fields)
    if isinstance(exc, HTTPException):
        if exc.status_code == 404:
            return error_page(request, 404, detail_vi="Không tìm thấy trang hoặc hồ sơ này.",
                              detail_en="This page or record was not found.")
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        return error_page(request, exc.status_code, detail_vi=detail, detail_en=detail)
    if isinstance(exc, DataError | psycopg.DataError):
        return error_page(request, 400, detail_vi="Một giá trị nằm ngoài phạm vi cho phép.",
                          detail_en="A value is out of range for the registry.")
    if isinstance(exc, TRANSIENT):
        log.warning("database unavailable on page %s (request %s): %s", request.url.path,
                    getattr(request.state, "request_id", None), type(exc).__name__)
        response = error_page(request, 503, detail_vi="Cơ sở dữ liệu đang bận hoặc chưa sẵn "
                              "sàng; thao tác chưa được thực hiện. Hãy thử lại sau vài giây.",
                              detail_en="The registry database is busy or unavailable; nothing "
                              "was done. Try again in a few seconds.")
        response.headers["Retry-After"] = "5"
        return response
    log.exception("unhandled error on page %s %s (request %s)", request.method,
                  request.url.path, getattr(request.state, "request_id", None), exc_info=exc)
    return error_page(request, 500, detail_vi="Đã xảy ra lỗi không mong muốn. Hãy báo mã "
                      "yêu cầu dưới đây cho quản trị viên.",
                      detail_en="An unexpected error occurred. Quote the request id below to "
                      "the administrator.")


class PageRoute(APIRoute):
    """A page route: any exception becomes a page (see :func:`page_for`)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def as_page(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                return page_for(request, exc)

        return as_page
