"""Tessera: license verification and device binding.

`create_app` is loaded on first use, so that importing the desktop client
(`licensing.client`) never pulls in Flask or SQLAlchemy.
"""

__all__ = ["create_app"]


def __getattr__(name):
    if name == "create_app":
        from licensing.app import create_app

        return create_app
    raise AttributeError(f"module 'licensing' has no attribute {name!r}")
