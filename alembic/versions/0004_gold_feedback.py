"""gold results that undo cannot change, gold feedback in blocks

Revision ID: 0004
Revises: 0003
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0004'
down_revision: Union[str, None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('gold_result', sa.Boolean(), nullable=True))
    with op.batch_alter_table('campaignmember', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shown_answered', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('shown_correct', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('shown_rolling', sa.Float(), nullable=True))
    # Records so far: scored gold leases keep their result; what annotators
    # saw before stays visible (there is no older block to go back to).
    op.execute("UPDATE assignment SET gold_result = (SELECT annotation.gold_correct FROM annotation "
               "WHERE annotation.assignment_id = assignment.id) WHERE is_gold")
    op.execute("UPDATE campaignmember SET shown_answered = gold_answered, shown_correct = gold_correct")


def downgrade() -> None:
    with op.batch_alter_table('campaignmember', schema=None) as batch_op:
        batch_op.drop_column('shown_rolling')
        batch_op.drop_column('shown_correct')
        batch_op.drop_column('shown_answered')
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.drop_column('gold_result')
