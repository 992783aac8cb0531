"""Receive an uploaded file as a stream into a temporary file, enforcing the size limit as it comes.

Multipart bodies (field ``file``) go through python-multipart's streaming parser; any other
body is taken as the file itself. A body over the limit is refused as soon as it passes it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from fastapi import Request
from python_multipart.exceptions import FormParserError, MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from ..errors import LimitError, SpecError

MULTIPART_SLACK = 64 << 10  # boundaries and part headers around the file


class _Sink:
    """Writes the bytes of one multipart field (or a whole raw body) and counts them."""

    def __init__(self, out: BinaryIO, limit: int, field: str) -> None:
        self.out, self.limit, self.field = out, limit, field.encode()
        self.written = 0
        self.found = self.in_field = False
        self.header_name = self.header_value = self.disposition = b""

    def add(self, data: bytes) -> None:
        self.written += len(data)
        if self.written > self.limit:
            raise LimitError("max_upload_bytes", self.limit, None, "the uploaded file's size")
        self.out.write(data)

    # python-multipart callbacks
    def on_part_begin(self) -> None:
        self.disposition = b""

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        if self.header_name.lower() == b"content-disposition":
            self.disposition = self.header_value
        self.header_name = self.header_value = b""

    def on_headers_finished(self) -> None:
        self.in_field = parse_options_header(self.disposition)[1].get(b"name") == self.field
        self.found = self.found or self.in_field

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.in_field:
            self.add(data[start:end])

    def callbacks(self) -> dict[str, object]:
        names = ("on_part_begin", "on_header_field", "on_header_value", "on_header_end", "on_headers_finished",
                 "on_part_data")
        return {name: getattr(self, name) for name in names}


async def receive_file(request: Request, limit: int, field: str = "file") -> Path:
    """The uploaded file's path; the caller removes it."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + MULTIPART_SLACK:
        raise LimitError("max_upload_bytes", limit, int(declared), "the upload's size")
    fd, name = tempfile.mkstemp(prefix="layerlab-upload-")
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            await _copy(request, _Sink(out, limit, field))
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


async def _copy(request: Request, sink: _Sink) -> None:
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data":
        async for chunk in request.stream():
            sink.add(chunk)
        return
    boundary = options.get(b"boundary")
    if not boundary:
        raise SpecError.at("file", "a multipart body needs a boundary")
    received = 0
    try:
        parser = MultipartParser(boundary, sink.callbacks())  # type: ignore[arg-type]
        async for chunk in request.stream():
            received += len(chunk)
            if received > sink.limit + MULTIPART_SLACK:
                raise LimitError("max_upload_bytes", sink.limit, None, "the upload's size")
            parser.write(chunk)
        parser.finalize()
    except (MultipartParseError, FormParserError) as exc:
        raise SpecError.at(sink.field.decode(), f"the multipart body is malformed: {exc}") from None
    if not sink.found:
        raise SpecError.at(sink.field.decode(), f"no multipart field {sink.field.decode()!r} in the upload")
