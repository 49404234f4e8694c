"""Refuse oversized uploads while they stream in, before Django spools them to disk."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler


class RefuseLargeUploads(FileUploadHandler):
    """First in FILE_UPLOAD_HANDLERS: counts the bytes of every file and stops at the cap."""

    def handle_raw_input(
        self, input_data: Any, META: Any, content_length: int, boundary: Any, encoding: Any = None
    ) -> None:
        if content_length > settings.MAX_UPLOAD_BYTES:
            raise RequestDataTooBig("The upload is too large.")
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > settings.MAX_UPLOAD_BYTES:  # chunked bodies declare no length
            raise RequestDataTooBig("The upload is too large.")
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None
