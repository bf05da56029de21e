"""The landing area: where the upstream systems drop a business date's files, and how they are read.

Layout (deterministic names, one folder per source and date):

    landing/<source>/business_date=YYYY-MM-DD/<source>.csv.gz
    landing/<source>/business_date=YYYY-MM-DD/_manifest.json     written last

A file counts as delivered only once its manifest exists; the manifest holds the row count,
size and SHA-256 of the object, which the loader checks while it streams the object into
COPY (a mismatch aborts the load's transaction). Gzip headers carry no timestamp, so the same
rows always give the same bytes.

The files are CSV with a header (``csv_chunks``): a null is an empty unquoted field, which is
how PostgreSQL's COPY ... (FORMAT csv) reads NULL; the generator's COPYs use the same format.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import json
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any, Protocol

import pyarrow as pa
import pyarrow.csv as pacsv

from include.markets_ops.errors import BadInputError

PREFIX = "landing"
READ_CHUNK_BYTES = 1 << 20
GZIP_LEVEL = 3  # the files are written once and read once: favour speed over size
CSV_BATCH_ROWS = 100_000


class FileNotDeliveredError(RuntimeError):
    """No manifest for the file yet: upstream has not delivered it (worth retrying later)."""


class CorruptFileError(BadInputError, RuntimeError):
    """The object does not match its manifest (size or checksum): retrying will not help."""


@dataclass(frozen=True)
class Manifest:
    source: str
    business_date: str
    object_key: str
    rows: int
    size_bytes: int
    sha256: str
    format: str = "csv.gz"

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, indent=2).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        return cls(**json.loads(data))


def folder(source: str, business_date: dt.date) -> str:
    return f"{PREFIX}/{source}/business_date={business_date.isoformat()}"


def file_name(source: str) -> str:
    """A source may be a path (``custodian_statements/EUROCLEAR``): its file is named by the last part."""
    return f"{source.rsplit('/', 1)[-1]}.csv.gz"


def object_key(source: str, business_date: dt.date) -> str:
    return f"{folder(source, business_date)}/{file_name(source)}"


def manifest_key(source: str, business_date: dt.date) -> str:
    return f"{folder(source, business_date)}/_manifest.json"


class ObjectStore(Protocol):
    def put_file(self, key: str, path: Path) -> None: ...
    def put_bytes(self, key: str, data: bytes) -> None: ...
    def get_bytes(self, key: str) -> bytes | None: ...
    def open(self, key: str) -> IO[bytes]: ...


class S3Store:
    """A bucket through a boto3 S3 client (services/s3.py)."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def put_file(self, key: str, path: Path) -> None:
        self.client.upload_file(str(path), self.bucket, key)

    def put_bytes(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data)

    def get_bytes(self, key: str) -> bytes | None:
        try:
            return bytes(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except self.client.exceptions.NoSuchKey:
            return None

    def open(self, key: str) -> IO[bytes]:
        body: IO[bytes] = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        return body


class LocalStore:
    """The same layout in a local folder (benchmarks, debugging)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put_file(self, key: str, path: Path) -> None:
        target = self.root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())

    def put_bytes(self, key: str, data: bytes) -> None:
        target = self.root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)

    def get_bytes(self, key: str) -> bytes | None:
        path = self.root / key
        return path.read_bytes() if path.exists() else None

    def open(self, key: str) -> IO[bytes]:
        return (self.root / key).open("rb")


class PrefixedStore:
    """Another store's keys under ``prefix``: a dry run's upstream files land in its preview
    (``previews/ops_demo_feed/<run>/landing/...``) and are read back from there, never from landing/."""

    def __init__(self, store: ObjectStore, prefix: str) -> None:
        if not prefix.endswith("/"):
            raise ValueError(f"prefix must end with '/': {prefix!r}")
        self.store = store
        self.prefix = prefix

    def put_file(self, key: str, path: Path) -> None:
        self.store.put_file(self.prefix + key, path)

    def put_bytes(self, key: str, data: bytes) -> None:
        self.store.put_bytes(self.prefix + key, data)

    def get_bytes(self, key: str) -> bytes | None:
        return self.store.get_bytes(self.prefix + key)

    def open(self, key: str) -> IO[bytes]:
        return self.store.open(self.prefix + key)


def csv_chunks(
    table: pa.Table, batch_rows: int = CSV_BATCH_ROWS, *, include_header: bool = True
) -> Iterator[bytes]:
    """The table as CSV, with a header unless told not, in chunks of ``batch_rows`` rows
    (bounded memory). An empty table gives its header alone (or nothing)."""
    if table.num_rows == 0:
        if include_header:
            buffer = io.BytesIO()
            pacsv.write_csv(table, buffer)
            yield buffer.getvalue()
        return
    for batch in table.to_batches(max_chunksize=batch_rows):
        buffer = io.BytesIO()
        pacsv.write_csv(batch, buffer, pacsv.WriteOptions(include_header=include_header))
        include_header = False
        yield buffer.getvalue()


def csv_bytes(table: pa.Table) -> bytes:
    return b"".join(csv_chunks(table))


class FileWriter:
    """A source's file written as its rows arrive (CSV with one header, gzip), counted and
    hashed for its manifest: a file of any size is written holding one piece at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = 0
        self._digest = hashlib.sha256()
        self._raw = path.open("wb")
        self._hashed = _HashingWriter(self._raw, self._digest)
        self._gzip = gzip.GzipFile(
            filename="", mode="wb", fileobj=self._hashed, mtime=0, compresslevel=GZIP_LEVEL
        )
        self._header_written = False

    def write(self, table: pa.Table) -> None:
        """Append the table's rows (the first table written gives the header, even if empty)."""
        for chunk in csv_chunks(table, include_header=not self._header_written):
            self._gzip.write(chunk)
        self._header_written = True
        self.rows += table.num_rows

    def close(self) -> None:
        self._gzip.close()
        self._hashed.flush()
        self._raw.close()

    def manifest(self, source: str, business_date: dt.date) -> Manifest:
        """The closed file's manifest."""
        return Manifest(
            source=source,
            business_date=business_date.isoformat(),
            object_key=object_key(source, business_date),
            rows=self.rows,
            size_bytes=self.path.stat().st_size,
            sha256=self._digest.hexdigest(),
        )


def publish(store: ObjectStore, source: str, business_date: dt.date, table: pa.Table) -> Manifest:
    """Write the table as the source's file of the date, then its manifest."""
    with tempfile.TemporaryDirectory(prefix="landing-") as scratch:
        writer = FileWriter(Path(scratch) / file_name(source))
        try:
            writer.write(table)
        finally:
            writer.close()
        return publish_file(store, writer.path, writer.manifest(source, business_date))


def publish_file(store: ObjectStore, path: Path, manifest: Manifest) -> Manifest:
    """Upload a written file, then its manifest (a file counts as delivered once that exists)."""
    store.put_file(manifest.object_key, path)
    store.put_bytes(
        manifest_key(manifest.source, dt.date.fromisoformat(manifest.business_date)), manifest.to_json()
    )
    return manifest


def read_manifest(store: ObjectStore, source: str, business_date: dt.date) -> Manifest:
    data = store.get_bytes(manifest_key(source, business_date))
    if data is None:
        raise FileNotDeliveredError(
            f"{source} for {business_date} is not delivered: no {manifest_key(source, business_date)}"
        )
    return Manifest.from_json(data)


def stream(store: ObjectStore, manifest: Manifest) -> Iterator[bytes]:
    """The file's CSV bytes, decompressed chunk by chunk; checks size and SHA-256 at the end."""
    digest = hashlib.sha256()
    received = 0
    inflate = zlib.decompressobj(wbits=31)  # gzip container
    body = store.open(manifest.object_key)
    try:
        while True:
            compressed = body.read(READ_CHUNK_BYTES)
            if not compressed:
                break
            digest.update(compressed)
            received += len(compressed)
            data = inflate.decompress(compressed)
            if data:
                yield data
        tail = inflate.flush()
        if tail:
            yield tail
    finally:
        body.close()
    if received != manifest.size_bytes or digest.hexdigest() != manifest.sha256:
        raise CorruptFileError(
            f"{manifest.object_key}: {received} bytes with SHA-256 {digest.hexdigest()}, "
            f"but the manifest says {manifest.size_bytes} bytes, {manifest.sha256}"
        )


class _HashingWriter:
    """A write-only file object that hashes what passes through it."""

    def __init__(self, target: IO[bytes], digest: Any) -> None:
        self.target = target
        self.digest = digest

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self.target.write(data)

    def flush(self) -> None:
        self.target.flush()

    def __enter__(self) -> _HashingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.flush()
