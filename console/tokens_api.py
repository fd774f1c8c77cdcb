"""API tokens over REST: every user lists, creates and revokes their own (as on the tokens page)."""

from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Path, Query, Router, Schema
from ninja.responses import Status
from pydantic import ConfigDict, Field, StringConstraints

from agents.api import request_user
from agents.api.schemas import NEXT_DOC, READ_ERRORS, WRITE_ERRORS, ErrorOut
from console.models import ApiToken
from console.pages.selectors import api_token_list
from console.tokens import api_token_create, api_token_revoke
from core.errors import NotFound
from core.pagination import PageQuery, next_link, page_of

router = Router(tags=["tokens"])
TokenId = Path[Annotated[int, Field(ge=1, le=2**63 - 1)]]


class TokenIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(min_length=1, max_length=100)] = Field(examples=["ci-deploys"])


class TokenOut(Schema):
    id: int
    name: str
    hint: str = Field(description="the token's first characters, to recognise it")
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="the token itself: shown this once, stored only as a hash")


class TokenPage(Schema):
    items: list[TokenOut]
    next: str | None = Field(description=NEXT_DOC)


@router.get("", response={200: TokenPage, READ_ERRORS: ErrorOut}, summary="Your API tokens, newest first")
def list_tokens(request: HttpRequest, page_query: Query[PageQuery]) -> dict[str, Any]:
    page = page_of(api_token_list(user=request_user(request)), page_query)
    return {"items": page.items, "next": next_link(request, page.cursor)}


@router.post("", response={201: TokenCreated, WRITE_ERRORS: ErrorOut}, summary="Create a token for yourself")
def create_token(request: HttpRequest, payload: TokenIn) -> Status[dict[str, Any]]:
    raw, token = api_token_create(user=request_user(request), name=payload.name)
    return Status(201, {**_token_out(token), "token": raw})


@router.get("/{token_id}", response={200: TokenOut, READ_ERRORS: ErrorOut}, summary="One of your tokens")
def get_token(request: HttpRequest, token_id: TokenId) -> ApiToken:
    token = api_token_list(user=request_user(request)).filter(pk=token_id).first()
    if token is None:
        raise NotFound(f"no token {token_id} of yours", field="id")
    return token


@router.delete(
    "/{token_id}",
    response={204: None, WRITE_ERRORS: ErrorOut},
    summary="Revoke one of your tokens (kept, unusable)",
)
def revoke_token(request: HttpRequest, token_id: TokenId) -> Status[None]:
    api_token_revoke(user=request_user(request), token_id=token_id)
    return Status(204, None)


def _token_out(token: ApiToken) -> dict[str, Any]:
    fields = ("id", "name", "hint", "created_at", "last_used_at", "revoked_at")
    return {field: getattr(token, field) for field in fields}
