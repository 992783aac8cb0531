"""Parameter files: download (streamed), upload (streamed in, size-limited), inspect any tensor file."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from ..io import Format
from .deps import IfMatch, ModelId, ServiceDep, errors
from .schemas import LoadReport
from .upload import receive_file

router = APIRouter(prefix="/api", tags=["files"])
UPLOAD_DOC = {"requestBody": {"content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {"file": {"type": "string", "format": "binary"}}}}}}}


@router.get("/models/{model_id}/state_dict/file", responses={**errors(404, 409), 200: {
    "content": {"application/octet-stream": {}}, "description": "the file, as an attachment"}},
            summary="download the state dict: pt (torch.save) or safetensors")
def download(model_id: ModelId, service: ServiceDep, format: Format = "pt",
             version: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None) -> StreamingResponse:
    name, stream, length = service.download(model_id, version, format)
    return StreamingResponse(stream, media_type="application/octet-stream", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Content-Length": str(length)})


@router.put("/models/{model_id}/state_dict/file", response_model=LoadReport, openapi_extra=UPLOAD_DOC,
            responses=errors(404, 409, 412, 413, 415, 422),
            summary="upload a .pt or .safetensors file (multipart field 'file'); strict failure changes nothing")
async def upload(model_id: ModelId, request: Request, service: ServiceDep, if_match: IfMatch,
                 strict: bool = True) -> dict[str, Any]:
    path = await receive_file(request, service.limits.max_upload_bytes)
    try:
        return await run_in_threadpool(service.upload, model_id, path, strict, if_match)
    finally:
        path.unlink(missing_ok=True)


@router.post("/files/inspect", openapi_extra=UPLOAD_DOC, responses=errors(413, 415, 422),
             summary="the tree of any torch.save'd file of tensors, lists and dicts, or a safetensors file")
async def inspect(request: Request, service: ServiceDep) -> dict[str, Any]:
    path = await receive_file(request, service.limits.max_upload_bytes)
    try:
        return await run_in_threadpool(service.inspect_file, path)
    finally:
        path.unlink(missing_ok=True)
