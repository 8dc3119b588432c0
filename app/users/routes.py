from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from app.core.deps import AdminUser, AdminWriter, CurrentUser, SessionDep, Writer, credential_of
from app.core.security import SESSION_COOKIE
from app.core.types import Id, Name, Text
from app.users import service
from app.users.models import PasswordChange, UserCreate, UserPublic, UserUpdate
from app.users.throttle import address_of

router = APIRouter(prefix="/api/v1", tags=["users"])


class TokenRequest(BaseModel):
    email: Text(254)
    password: Text(256)
    name: Name(80) = "api"


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"


@router.post("/auth/token", response_model=TokenOut,
             responses={429: {"description": "Too many failed logins from this address; see Retry-After."}})
def create_token(body: TokenRequest, request: Request, session: SessionDep) -> TokenOut:
    user = service.authenticate(session, email=body.email, password=body.password,
                                address=address_of(request))
    return TokenOut(access_token=service.issue_token(session, user=user, name=body.name))


@router.get("/auth/tokens")
def my_tokens(session: SessionDep, user: CurrentUser) -> list[dict]:
    return [
        {"id": t.id, "name": t.name, "created_at": t.created_at, "revoked": t.revoked_at is not None}
        for t in service.list_tokens(session, user=user)
    ]


@router.delete("/auth/tokens/{token_id}", status_code=204)
def revoke(token_id: Id, session: SessionDep, user: Writer) -> None:
    service.revoke_token(session, user=user, token_id=token_id)


@router.get("/me", response_model=UserPublic)
def me(user: CurrentUser) -> UserPublic:
    return UserPublic.model_validate(user, from_attributes=True)


@router.post("/me/password", status_code=204,
             responses={429: {"description": "Too many wrong passwords from this address; see Retry-After."}})
def change_password(body: PasswordChange, request: Request, session: SessionDep, user: Writer) -> Response:
    """Every other browser session and API token of yours ends; the one making
    this call stays signed in."""
    service.change_password(session, user=user, data=body, keep=credential_of(request),
                            address=address_of(request))
    return Response(status_code=204)


@router.post("/me/logout-everywhere", status_code=204)
def logout_everywhere(session: SessionDep, user: Writer) -> Response:
    """Ends every browser session and revokes every API token of yours,
    including the one making this call."""
    service.log_out_everywhere(session, user=user)
    resp = Response(status_code=204)
    resp.delete_cookie(SESSION_COOKIE)
    return resp


@router.get("/users", response_model=list[UserPublic])
def list_users(session: SessionDep, _: AdminUser) -> list[UserPublic]:
    return [UserPublic.model_validate(u, from_attributes=True) for u in service.list_users(session)]


@router.post("/users", response_model=UserPublic, status_code=201)
def create_user(body: UserCreate, session: SessionDep, _: AdminWriter) -> UserPublic:
    return UserPublic.model_validate(service.create_user(session, data=body), from_attributes=True)


@router.patch("/users/{user_id}", response_model=UserPublic)
def update_user(user_id: Id, body: UserUpdate, session: SessionDep, admin: AdminWriter) -> UserPublic:
    """A new password or a deactivation ends the person's sessions and API
    tokens; no one can demote or deactivate themselves."""
    return UserPublic.model_validate(service.update_user(session, user_id=user_id, data=body, by=admin),
                                     from_attributes=True)
