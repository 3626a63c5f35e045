"""STORAGE_BACKEND=s3: uploads and issued documents in an S3-compatible bucket (MinIO, Ceph,
a cloud's object storage), shared by every web and worker replica. Only imported when configured
(pip install '.[s3]': django-storages and boto3). The files are sealed before they get here."""

from storages.backends.s3 import S3Storage


class PrivateS3Storage(S3Storage):
    """A private bucket: no public ACL, no URLs handed out (files are read back through the
    portal's permission-checked views), a taken name never overwritten (a new upload gets a
    random name; write_stored refuses a name that exists)."""

    default_acl = "private"
    querystring_auth = True
    file_overwrite = False

    def rewrite(self, name: str, content: bytes) -> None:
        """Replace an object whole (`manage.py rotate_keys`): one PUT, which S3 makes atomic."""
        from django.core.files.base import ContentFile

        self._save(name, ContentFile(content))
