"""The error pages an ALB answers with itself (served by HAProxy with `Server: awselb/2.0`)."""

from __future__ import annotations

__all__ = ["ERROR_PAGES"]

_TITLES = {
    400: "400 Bad Request",
    403: "403 Forbidden",
    405: "405 Method Not Allowed",
    408: "408 Request Time-out",
    413: "413 Request Entity Too Large",
    500: "500 Internal Server Error",
    501: "501 Not Implemented",
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
    504: "504 Gateway Time-out",
}


def _page(title: str) -> str:
    return (
        "<html>\r\n"
        f"<head><title>{title}</title></head>\r\n"
        "<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n"
        "</body>\r\n"
        "</html>\r\n"
    )


ERROR_PAGES = {status: _page(title) for status, title in _TITLES.items()}
