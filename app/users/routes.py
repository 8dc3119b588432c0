from fastapi import APIRouter
from pydantic import BaseModel

from app.core.deps import AdminUser, CurrentUser, SessionDep
from app.core.types import Id, Name, Text
from app.users import service
from app.users.models import UserCreate, UserPublic, UserUpdate

router = APIRouter(prefix="/api/v1", tags=["users"])


class TokenRequest(BaseModel):
    email: Text(254)
    password: Text(256)
    name: Name(80) = "api"


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"


@router.post("/auth/token", response_model=TokenOut)
def create_token(body: TokenRequest, session: SessionDep) -> TokenOut:
    user = service.authenticate(session, email=body.email, password=body.password)
    return TokenOut(access_token=service.issue_token(session, user=user, name=body.name))


@router.get("/auth/tokens")
def my_tokens(session: SessionDep, user: CurrentUser) -> list[dict]:
    return [
        {"id": t.id, "name": t.name, "created_at": t.created_at, "revoked": t.revoked_at is not None}
        for t in service.list_tokens(session, user=user)
    ]


@router.delete("/auth/tokens/{token_id}", status_code=204)
def revoke(token_id: Id, session: SessionDep, user: CurrentUser) -> None:
    service.revoke_token(session, user=user, token_id=token_id)


@router.get("/me", response_model=UserPublic)
def me(user: CurrentUser) -> UserPublic:
    return UserPublic.model_validate(user, from_attributes=True)


@router.get("/users", response_model=list[UserPublic])
def list_users(session: SessionDep, _: AdminUser) -> list[UserPublic]:
    return [UserPublic.model_validate(u, from_attributes=True) for u in service.list_users(session)]


@router.post("/users", response_model=UserPublic, status_code=201)
def create_user(body: UserCreate, session: SessionDep, _: AdminUser) -> UserPublic:
    return UserPublic.model_validate(service.create_user(session, data=body), from_attributes=True)


@router.patch("/users/{user_id}", response_model=UserPublic)
def update_user(user_id: Id, body: UserUpdate, session: SessionDep, _: AdminUser) -> UserPublic:
    return UserPublic.model_validate(service.update_user(session, user_id=user_id, data=body), from_attributes=True)
