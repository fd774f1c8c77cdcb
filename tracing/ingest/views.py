"""POST /v1/traces: the OTLP/HTTP trace receiver (protobuf or JSON), with an API token."""

import math
import zlib

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from console.tokens import api_token_authenticate
from core.errors import ServiceError
from core.http_errors import error_response, unauthorized_response
from tracing.ingest.decode import UndecodableExport, export_decode
from tracing.ingest.store import Ingested, otlp_ingest

CONTENT_TYPES = ("application/x-protobuf", "application/json")


@csrf_exempt
@require_POST
def otlp_traces(request: HttpRequest) -> HttpResponse:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    user = api_token_authenticate(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
    if user is None:
        return unauthorized_response()
    if request.content_type not in CONTENT_TYPES:
        return error_response(
            415, "unsupported_media_type", "send application/x-protobuf or application/json"
        )
    limit = settings.OTLP_MAX_BODY_BYTES
    body = request.read(limit + 1)
    if len(body) <= limit and request.headers.get("Content-Encoding", "").lower() == "gzip":
        try:
            inflater = zlib.decompressobj(wbits=31)
            body = inflater.decompress(body, limit + 1)
        except zlib.error:
            return error_response(400, "bad_request", "the gzip body cannot be decompressed")
    if len(body) > limit:
        return error_response(413, "payload_too_large", f"the body is larger than {limit} bytes")
    try:
        spans = export_decode(body, content_type=request.content_type)
        ingested = otlp_ingest(owner=user, spans=spans)
    except UndecodableExport as exc:
        return error_response(400, "bad_request", str(exc))
    except ServiceError as exc:
        return error_response(exc.status, exc.code, exc.message, exc.field)
    if ingested.retry_after_s:
        # OTLP's throttling answer: the exporter sends the export again after the wait, and the
        # spans this request stored are not stored twice.
        seconds = math.ceil(ingested.retry_after_s)
        throttled = error_response(
            429,
            "throttled",
            f"more than {settings.OTLP_NEW_CONVERSATIONS_PER_MINUTE} new conversations a minute: "
            f"send again in {seconds} s",
        )
        throttled["Retry-After"] = str(seconds)
        return throttled
    response = _export_response(ingested)
    if request.content_type == "application/json":
        return JsonResponse(json_format.MessageToDict(response))
    return HttpResponse(response.SerializeToString(), content_type="application/x-protobuf")


def _export_response(ingested: Ingested) -> ExportTraceServiceResponse:
    """OTLP's answer: spans this receiver will never take are a partial success (200, and the
    sender must not send them again), not an error that would make it retry the whole export."""
    response = ExportTraceServiceResponse()
    if ingested.rejected:
        response.partial_success.rejected_spans = ingested.rejected
        response.partial_success.error_message = (
            f"{ingested.conversations_refused} conversations were not stored: one export may open at most "
            f"{settings.OTLP_MAX_NEW_CONVERSATIONS_PER_EXPORT} new conversations (sessions)"
        )
    return response
