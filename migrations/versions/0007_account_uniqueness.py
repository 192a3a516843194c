"""account uniqueness: one account per email, usernames unique case-insensitively

`accounts.email_index` (the email's blind index) becomes unique, so a look-up
by email names one person; `accounts.username_folded` holds the username as
look-ups compare it (trimmed, NFKC, case-folded) and is unique. Existing
accounts that would break either rule stop the upgrade with their ids: change
or erase all but one (by account id), then upgrade again.

Revision ID: 0007_account_uniqueness
Revises: 0006_legal_obligation_records
Create Date: 2026-11-30 14:40:00

"""
import unicodedata

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0007_account_uniqueness'
down_revision = '0006_legal_obligation_records'
branch_labels = None
depends_on = None

accounts = sa.table('accounts', sa.column('id', sa.String), sa.column('username', sa.String),
                    sa.column('username_folded', sa.String), sa.column('email_index', sa.String),
                    sa.column('created_at', sa.DateTime))


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def _fold(username):
    # As licensing.models.fold_username at the time of this revision.
    return unicodedata.normalize("NFKC", username.strip()).casefold()


def _refuse_duplicates(groups, what):
    clashes = [ids for ids in groups.values() if len(ids) > 1]
    if clashes:
        listed = "; ".join(", ".join(ids) for ids in clashes)
        raise RuntimeError(f"accounts share {what}: {listed}. Change or erase all but one of "
                           "each group (by account id), then upgrade again.")


def upgrade_():
    connection = op.get_bind()
    emails = {}
    for account_id, index in connection.execute(
            sa.select(accounts.c.id, accounts.c.email_index)
            .where(accounts.c.email_index.isnot(None)).order_by(accounts.c.created_at)):
        emails.setdefault(index, []).append(account_id)
    _refuse_duplicates(emails, "an email")
    folded = {}
    rows = connection.execute(sa.select(accounts.c.id, accounts.c.username)
                              .where(accounts.c.username.isnot(None))
                              .order_by(accounts.c.created_at)).all()
    for account_id, username in rows:
        folded.setdefault(_fold(username), []).append(account_id)
    _refuse_duplicates(folded, "a username (ignoring case)")

    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('username_folded', sa.String(length=150), nullable=True))
    for name, ids in folded.items():
        connection.execute(sa.update(accounts).where(accounts.c.id == ids[0])
                           .values(username_folded=name))
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accounts_email_index'))
        batch_op.create_unique_constraint(batch_op.f('uq_accounts_email_index'), ['email_index'])
        batch_op.create_unique_constraint(batch_op.f('uq_accounts_username_folded'),
                                          ['username_folded'])


def downgrade_():
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_accounts_username_folded'), type_='unique')
        batch_op.drop_constraint(batch_op.f('uq_accounts_email_index'), type_='unique')
        batch_op.create_index(batch_op.f('ix_accounts_email_index'), ['email_index'],
                              unique=False)
        batch_op.drop_column('username_folded')


def upgrade_compliance():
    pass


def downgrade_compliance():
    pass
