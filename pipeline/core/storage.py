"""storage: events in S3-compatible object storage (AWS S3, MinIO, Cloudflare R2, ...).

An events location is a local folder or `s3://bucket/prefix/`, from `--events` or settings.yaml
`events:` (`events_location`), else WORKSPACE/events. In object storage the same rules hold as in
a folder (pipeline/billing/ingest.py): every object under the prefix whose name ends in `.parquet` is an
events file, names (or "folders") starting with `.` or `_` are ignored, any other object is an
input error naming it.

Where the bucket is and who reads it come from the standard variables, never from the workspace:
AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_S3) for MinIO, R2 and other S3-compatible servers,
AWS_DEFAULT_REGION (or AWS_REGION), and the usual credential chain of botocore: AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY (AWS_SESSION_TOKEN), or AWS_PROFILE and ~/.aws/credentials, or the
machine's role. Credentials are never put in a message, a manifest or a log line.

Reading: s3fs (fsspec) lists the objects with their size and ETag (the run's fingerprints: no
object is downloaded to be hashed) and serves byte ranges. DuckDB's Parquet reader runs over it
(`attach`: the filesystem is registered on the connection), so it plans its reads itself: it
reads each footer and then only the column chunks of the row groups whose statistics can hold
the run's span (measured in docs/object-storage.md). DuckDB's own httpfs extension would need a
download from the extension repository, which an offline machine cannot do.
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ConfigError, InputDataError

if TYPE_CHECKING:
    import duckdb
    import pyarrow.parquet as pq

SCHEME = "s3://"
_OTHER_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_FOLDER_MARKER = "_$folder$"  # Hadoop S3A / EMR write `name_$folder$` objects for folders


def is_remote(location: object) -> bool:
    return isinstance(location, str) and location.startswith(SCHEME)


@dataclass(frozen=True)
class S3Settings:
    """The standard variables (credentials stay with botocore and are never kept here)."""

    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None

    @classmethod
    def from_env(cls, env: dict | None = None) -> S3Settings:
        env = os.environ if env is None else env
        return cls(env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or None,
                   env.get("AWS_DEFAULT_REGION") or env.get("AWS_REGION") or None,
                   env.get("AWS_PROFILE") or None)

    def describe(self) -> str:
        """Where requests go, for messages: the endpoint without any user:password part, the region."""
        endpoint = re.sub(r"//[^/@]*@", "//", self.endpoint_url) if self.endpoint_url else "AWS S3"
        return f"endpoint {endpoint}" + (f", region {self.region}" if self.region else "")


@dataclass(frozen=True)
class Prefix:
    """s3://bucket/prefix/: prefix is '' or ends with '/'."""

    bucket: str
    prefix: str

    @property
    def uri(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.prefix}"

    def object_uri(self, relative: str) -> str:
        return self.uri + relative

    def relative(self, uri: str) -> str:
        if not uri.startswith(self.uri):
            raise ValueError(f"{uri} is not under {self.uri}")
        return uri[len(self.uri):]

    def __str__(self) -> str:
        return self.uri


def parse(uri: str, where: str = "--events") -> Prefix:
    """s3://bucket/prefix/ (the trailing / is implied: the prefix names a folder, not a key's start)."""
    rest = uri[len(SCHEME):]
    bucket, _, prefix = rest.partition("/")
    if not re.fullmatch(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]", bucket):
        raise ConfigError([f"{where}: {uri!r}: {bucket!r} is not a bucket name (3 to 63 lower-case letters, digits, "
                           "'.' and '-'); write s3://BUCKET/PREFIX/"])
    prefix = prefix.strip("/")
    return Prefix(bucket, f"{prefix}/" if prefix else "")


def events_location(root: Path, configured: str | None, override: str | None) -> Path | Prefix:
    """Where a workspace's events are: --events (override) wins over settings.yaml `events:`
    (configured; a relative folder there is relative to the workspace), else WORKSPACE/events."""
    if override:
        return _location(override, "--events", Path.cwd())
    if configured:
        return _location(configured, "settings.yaml: events", root)
    return root / "events"


def _location(text: str, where: str, base: Path) -> Path | Prefix:
    if is_remote(text):
        return parse(text, where)
    if _OTHER_SCHEME.match(text):
        raise ConfigError([f"{where}: {text!r}: only s3:// URIs (AWS S3, MinIO, R2 and other S3-compatible "
                           "stores) or local folders are supported; copy the events to one of them"])
    path = Path(text).expanduser()
    return path if path.is_absolute() else base / path


@dataclass(frozen=True)
class ObjectInfo:
    relative: str  # key below the prefix
    size: int
    etag: str

    def fingerprint(self) -> str:
        """What a run records for the object instead of a sha256 of its bytes."""
        return f"etag {self.etag} size {self.size}"


_FILESYSTEMS: dict[S3Settings, object] = {}


def filesystem(settings: S3Settings | None = None):  # an s3fs.S3FileSystem (imported lazily)
    """The s3fs filesystem of these settings (one per process). No read-ahead cache: DuckDB asks for
    exactly the byte ranges it needs (footers, then column chunks), and each is one ranged GET."""
    settings = settings or S3Settings.from_env()
    if settings not in _FILESYSTEMS:
        import s3fs

        client = {k: v for k, v in (("endpoint_url", settings.endpoint_url), ("region_name", settings.region)) if v}
        _FILESYSTEMS[settings] = s3fs.S3FileSystem(
            profile=settings.profile, client_kwargs=client, default_cache_type="none",
            use_listings_cache=False, skip_instance_cache=True)
    return _FILESYSTEMS[settings]


def _code(exc: BaseException) -> str:
    """The S3 error code behind an exception (s3fs keeps botocore's error as the cause)."""
    for e in (exc, exc.__cause__, exc.__context__):
        response = getattr(e, "response", None)
        if isinstance(response, dict) and response.get("Error", {}).get("Code"):
            return str(response["Error"]["Code"])
    return ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@contextmanager
def translated(where: str, settings: S3Settings | None = None) -> Iterator[None]:
    """Object storage failures as one line naming the bucket or object and what to check."""
    settings = settings or S3Settings.from_env()
    try:
        yield
    except (InputDataError, NotParquet):
        raise
    except Exception as exc:  # botocore, aiohttp and s3fs raise many kinds; each becomes one line
        raise InputDataError(describe_failure(where, exc, settings)) from None


def describe_failure(where: str, exc: BaseException, settings: S3Settings) -> str:
    code = _code(exc)
    text = _first_line(exc)
    name = type(exc).__name__
    if code in ("NoSuchBucket",) or (isinstance(exc, FileNotFoundError) and "bucket" in text.lower()):
        return (f"{where}: bucket not found ({settings.describe()}); check the bucket name in --events or "
                "settings.yaml `events:`, and AWS_ENDPOINT_URL")
    if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "ExpiredToken", "InvalidToken",
                "AllAccessDisabled") or isinstance(exc, PermissionError) or "credential" in name.lower():
        why = code or text
        return (f"{where}: access denied ({why}; {settings.describe()}); check AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), and that they may list and read this bucket")
    if isinstance(exc, FileNotFoundError) or code == "NoSuchKey":
        return f"{where}: object not found ({text}); it was removed while it was read: run again"
    if "connect" in name.lower() or "connect" in text.lower() or isinstance(exc, (ConnectionError, TimeoutError)):
        return (f"{where}: cannot reach the object store ({settings.describe()}: {text}); check AWS_ENDPOINT_URL "
                "and the network")
    return f"{where}: object storage request failed ({code or name}: {text}; {settings.describe()})"


def hidden(relative: str) -> bool:
    """Names starting with . or _ in any part (_SUCCESS, .crc, _temporary/), and folder markers."""
    parts = relative.split("/")
    return any(p.startswith((".", "_")) for p in parts) or relative.endswith(_FOLDER_MARKER)


def list_objects(prefix: Prefix, settings: S3Settings | None = None) -> list[ObjectInfo]:
    """Every object under the prefix (any depth) with its size and ETag, sorted by key.

    No object at all under the prefix is an error (a mistyped prefix must not bill zero for
    everyone): an events location with no events yet holds a marker such as `_EMPTY`."""
    settings = settings or S3Settings.from_env()
    fs = filesystem(settings)
    with translated(prefix.uri, settings):
        found = fs.find(f"{prefix.bucket}/{prefix.prefix}", detail=True, withdirs=False)
    base = f"{prefix.bucket}/{prefix.prefix}"
    out = []
    for path, info in sorted(found.items()):
        if not path.startswith(base) or path.endswith("/"):
            continue  # a zero-byte "folder" object
        out.append(ObjectInfo(path[len(base):], int(info.get("size") or 0), str(info.get("ETag", "")).strip('"')))
    if not out:
        raise InputDataError(f"{prefix.uri}: no objects under this prefix ({settings.describe()}); check the prefix "
                             "in --events or settings.yaml `events:` (a location with no events yet needs a marker "
                             "object such as _EMPTY)")
    return out


class NotParquet(ValueError):
    """An object that was read but is no Parquet file (passed through `translated`)."""


def metadata(uri: str) -> pq.FileMetaData:
    """The Parquet footer of one object (ranged reads at its end). Storage failures are InputDataErrors
    naming the object; an object that is no Parquet file raises NotParquet."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    fs = filesystem()
    with translated(uri), fs.open(uri[len(SCHEME):], "rb") as fh:
        try:
            return pq.ParquetFile(fh).metadata
        except pa.ArrowInvalid as exc:
            raise NotParquet(_first_line(exc)) from None


def read_text(uri: str) -> str | None:
    """A small object's text, or None when it does not exist."""
    fs = filesystem()
    try:
        return fs.cat_file(uri[len(SCHEME):]).decode("utf-8")
    except FileNotFoundError:
        return None


def attach(con: duckdb.DuckDBPyConnection) -> None:
    """Let DuckDB read s3:// paths on this connection through the filesystem (ranged reads)."""
    fs = filesystem()
    if not con.filesystem_is_registered(fs.protocol[0] if isinstance(fs.protocol, tuple) else fs.protocol):
        con.register_filesystem(fs)
