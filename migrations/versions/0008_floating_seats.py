"""floating seats, borrowing and device components

Licenses get a seat mode (node_locked, floating) and a borrowing limit;
products a fingerprint-match policy; seats the end of their last lease
(held_until, floating seats only) and the HMACs of their device components.
Existing rows keep today's behaviour: node-locked seats, exact fingerprints.

Revision ID: 0008_floating_seats
Revises: 0007_account_uniqueness
Create Date: 2026-11-30 14:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_floating_seats'
down_revision = '0007_account_uniqueness'
branch_labels = None
depends_on = None

_HELD = sa.text("released_at IS NULL AND held_until IS NOT NULL")


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fingerprint_match', sa.String(length=8),
                                      server_default='exact', nullable=False))
        batch_op.create_check_constraint(
            op.f('ck_products_fingerprint_match_known'), "fingerprint_match IN ('exact', 'most', 'any')")

    with op.batch_alter_table('licenses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seat_mode', sa.String(length=16),
                                      server_default='node_locked', nullable=False))
        batch_op.add_column(sa.Column('max_borrow_seconds', sa.Integer(),
                                      server_default='604800', nullable=False))
        batch_op.create_check_constraint(
            op.f('ck_licenses_seat_mode_known'), "seat_mode IN ('node_locked', 'floating')")
        batch_op.create_check_constraint(op.f('ck_licenses_max_borrow_positive'), 'max_borrow_seconds > 0')

    with op.batch_alter_table('seats', schema=None) as batch_op:
        batch_op.add_column(sa.Column('device_components', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('held_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(op.f('ix_seats_held_until'), ['held_until'], unique=False,
                              sqlite_where=_HELD, postgresql_where=_HELD)


def downgrade_():
    with op.batch_alter_table('seats', schema=None) as batch_op:
        batch_op.drop_index(op.f('ix_seats_held_until'), sqlite_where=_HELD, postgresql_where=_HELD)
        batch_op.drop_column('held_until')
        batch_op.drop_column('device_components')

    with op.batch_alter_table('licenses', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_licenses_max_borrow_positive'), type_='check')
        batch_op.drop_constraint(op.f('ck_licenses_seat_mode_known'), type_='check')
        batch_op.drop_column('max_borrow_seconds')
        batch_op.drop_column('seat_mode')

    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_products_fingerprint_match_known'), type_='check')
        batch_op.drop_column('fingerprint_match')


def upgrade_compliance():
    pass


def downgrade_compliance():
    pass
