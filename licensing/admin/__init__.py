"""Administration: one service behind both `flask admin` and the admin API."""

from licensing.admin.services import AdminService

__all__ = ["AdminService"]
