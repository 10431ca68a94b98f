"""The codec server for the Temporal UI (and `temporal --codec-endpoint`): POST /encode and
/decode with `{"payloads": [...]}` in Temporal's JSON form; CORS for the UI's origin. A payload
whose key was shredded decodes to the string "[erased]"."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from temporalio.api.common.v1 import Payloads

from codec.keys import CodecKeyError, KeyRing
from codec.payload_codec import ContactPayloadCodec

UI_ORIGINS = ("http://localhost:8233", "http://127.0.0.1:8233")
SHREDDED = "[erased]"


def create_app(keys: KeyRing, origins: tuple[str, ...] = UI_ORIGINS) -> Starlette:
    codec = ContactPayloadCodec(keys, shredded_placeholder=SHREDDED)

    def endpoint(name: str) -> Any:
        async def handle(request: Request) -> Response:
            try:
                payloads = json_format.Parse(await request.body(), Payloads())
            except json_format.ParseError as exc:
                return JSONResponse({"error": f"expected {{\"payloads\": [...]}}: {exc}"}, status_code=400)
            try:
                done = await getattr(codec, name)(payloads.payloads)
            except (CodecKeyError, ValueError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            body = json_format.MessageToJson(Payloads(payloads=done))
            return Response(body, media_type="application/json")

        return handle

    return Starlette(
        routes=[Route("/encode", endpoint("encode"), methods=["POST"]),
                Route("/decode", endpoint("decode"), methods=["POST"])],
        middleware=[Middleware(CORSMiddleware, allow_origins=list(origins), allow_methods=["POST", "OPTIONS"],
                               allow_headers=["Content-Type", "X-Namespace", "Authorization"], allow_credentials=True)],
    )
