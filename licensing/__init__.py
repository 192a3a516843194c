"""Tessera's product: license verification and device binding, one subpackage per domain.

accounts (Customer Area accounts, sessions, the account holder's data), catalog
(products, licenses, codes), activation (the desktop protocol), signing (lease
keys), support (staff and their look-ups), admin (the operator's commands).
"""

from licensing.app import create_app

__all__ = ["create_app"]
