"""join staff accounts and subject rights: one head again

Both revisions follow 0003_customer_sessions and touch different tables;
this revision only joins them so that `upgrade head` has one target.

Revision ID: 0005_staff_and_subject_rights
Revises: 0004_staff_accounts, 0004_subject_rights
Create Date: 2026-11-30 14:55:00

"""

# revision identifiers, used by Alembic.
revision = '0005_staff_and_subject_rights'
down_revision = ('0004_staff_accounts', '0004_subject_rights')
branch_labels = None
depends_on = None


def upgrade(engine_name):
    pass


def downgrade(engine_name):
    pass
