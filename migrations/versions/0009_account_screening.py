"""the verdict of an account's last denied-party screening

A refresh screens the account as an activation does, but reads the verdict
stored with the account instead of matching the list again: the list the
verdict was made against, when, and the hit (NULL when clear). Existing
accounts have no verdict and are screened on their next activation or refresh.

Revision ID: 0009_account_screening
Revises: 0008_floating_seats
Create Date: 2026-11-30 17:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_account_screening'
down_revision = '0008_floating_seats'
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('screened_against', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('screened_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('screening_match', sa.JSON(), nullable=True))


def downgrade_():
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('screening_match')
        batch_op.drop_column('screened_at')
        batch_op.drop_column('screened_against')


def upgrade_compliance():
    pass


def downgrade_compliance():
    pass
