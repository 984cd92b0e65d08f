"""Routes of the extended Backup service: every Backup request goes to ``CofferBackupResponse``,
which resolves the operation from the botocore service model (moto's usual restJson routing)."""

from moto.backup.urls import url_bases

from .responses import CofferBackupResponse

__all__ = ["url_bases", "url_paths"]

url_paths = {"{0}/.*": CofferBackupResponse.dispatch}
