"""face detector: which backend found a clip (and its build); a video's chosen detector

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 20:45:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0007'
down_revision: Union[str, None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('clip', schema=None) as batch_op:
        batch_op.add_column(sa.Column('detector', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        batch_op.add_column(sa.Column('detector_version', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True))
    with op.batch_alter_table('video', schema=None) as batch_op:
        batch_op.add_column(sa.Column('detector', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('video', schema=None) as batch_op:
        batch_op.drop_column('detector')
    with op.batch_alter_table('clip', schema=None) as batch_op:
        batch_op.drop_column('detector_version')
        batch_op.drop_column('detector')
