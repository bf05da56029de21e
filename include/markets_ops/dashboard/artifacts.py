"""What the extra links open: the S3 objects under a prefix and a Kafka topic's latest messages.

S3 and Kafka have no UI of their own locally, so the dashboard shows them, read-only and limited
to the project's own prefixes and topics (allow-lists: the page is no general S3 or Kafka browser).
"""

from __future__ import annotations

import datetime as dt
import html
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from include.markets_ops.dashboard.kafka_page import KafkaUnavailableError
from include.markets_ops.services import topics

# The prefixes the pipelines write (what the links point at), dry-run previews included.
BROWSABLE_PREFIXES = ("reports/", "scores/", "training-sets/", "landing/", "previews/")
BROWSABLE_TOPICS = frozenset(topic.name for topic in topics.ALL_TOPICS)
MAX_OBJECTS = 1000
MAX_MESSAGES = 50
SCAN_PER_PARTITION = 20_000  # how far back from the end of each partition a page looks
# The page's consumer gives up on a silent broker in seconds (librdkafka waits a minute by
# default), so a read never outlives the route's deadline by much (kafka_page.py).
READER_TIMEOUTS = {"socket.timeout.ms": 3000, "socket.connection.setup.timeout.ms": 3000}


# How an object is served: the reports' pages and JSON open in the browser, the rest downloads.
# The HTML reports are self-contained (inline SVG, a <style> element and style attributes: no
# script, image, font or request), so their policy allows inline styles and nothing else; the
# sandbox (no scripts, an opaque origin) keeps a page from acting as the signed-in user even if
# an object under the prefixes were crafted, and still lets its links download its neighbours.
SHOWN_INLINE = {".html": "text/html; charset=utf-8", ".json": "application/json"}
DOWNLOADED = {".csv": "text/csv; charset=utf-8"}
OBJECT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'self'; sandbox allow-downloads"
)


class NotBrowsableError(ValueError):
    """A prefix, object key or topic outside the allow-lists."""


class MalformedKeyError(ValueError):
    """A key or prefix with relative path parts: refused (400) before anything is asked of S3."""


# No key the pipelines write has these: S3 would take them literally, some servers and proxies
# normalise them away, so a key with them could name an object other than the one allowed.
RELATIVE_PARTS = ("./", "..", "//", "\\")


def check_key_form(key: str) -> str:
    found = [part for part in RELATIVE_PARTS if part in key] + (
        ["trailing '.'"] if key.endswith("/.") else []
    )
    if found:
        raise MalformedKeyError(
            f"object keys and prefixes may not contain {', '.join(map(repr, RELATIVE_PARTS))} "
            f"(relative path parts): {key!r} has {', '.join(map(repr, found))}"
        )
    return key


def check_prefix(prefix: str) -> str:
    check_key_form(prefix)
    if not prefix.startswith(BROWSABLE_PREFIXES):
        raise NotBrowsableError(f"prefix {prefix!r} is not under {', '.join(BROWSABLE_PREFIXES)}")
    return prefix


def check_topic(topic: str) -> str:
    if topic not in BROWSABLE_TOPICS:
        raise NotBrowsableError(f"topic {topic!r} is not one of {sorted(BROWSABLE_TOPICS)}")
    return topic


def _suffix(key: str) -> str:
    name = key.rsplit("/", 1)[-1]
    return name[name.rfind(".") :].lower() if "." in name else ""


def object_media_type(key: str) -> str:
    suffix = _suffix(key)
    return SHOWN_INLINE.get(suffix) or DOWNLOADED.get(suffix) or "application/octet-stream"


def object_headers(key: str) -> dict[str, str]:
    """Response headers of an object: inline or attachment, never sniffed, locked down."""
    filename = key.rsplit("/", 1)[-1].replace('"', "_").replace("\\", "_")
    disposition = "inline" if _suffix(key) in SHOWN_INLINE else "attachment"
    return {
        "Content-Disposition": f'{disposition}; filename="{filename}"',
        "Content-Security-Policy": OBJECT_CSP,
        "X-Content-Type-Options": "nosniff",
    }


def object_path(key: str) -> str:
    """The object's URL path relative to the dashboard's /s3 page (the key as path segments)."""
    return "s3/object/" + quote(key, safe="/=")


@dataclass(frozen=True)
class S3Object:
    key: str
    size: int
    last_modified: str


def list_objects(s3: Any, bucket: str, prefix: str, limit: int = MAX_OBJECTS) -> list[S3Object]:
    found: list[S3Object] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=check_prefix(prefix)):
        for item in page.get("Contents", []):
            found.append(S3Object(item["Key"], int(item["Size"]), item["LastModified"].isoformat()))
            if len(found) >= limit:
                return found
    return found


@dataclass(frozen=True)
class KafkaMessage:
    partition: int
    offset: int
    timestamp: str
    key: str
    value: Any


def matches(key: str, value: Any, business_date: str | None, wanted_key: str | None) -> bool:
    """A message of the business date: its value says so, or its key names the date."""
    if wanted_key is not None and key != wanted_key:
        return False
    if business_date is None:
        return True
    if isinstance(value, dict) and value.get("business_date") == business_date:
        return True
    return business_date in key


def latest_messages(
    config: dict[str, Any],
    topic: str,
    business_date: str | None = None,
    key: str | None = None,
    *,
    limit: int = MAX_MESSAGES,
    timeout_seconds: float = 3.0,
) -> list[KafkaMessage]:
    """The newest ``limit`` messages of ``topic`` matching the date / key, newest first.

    Reads the last SCAN_PER_PARTITION messages of each partition with a throwaway consumer
    (nothing committed), all within ``timeout_seconds``: the metadata and offset requests get
    what is left of it, and the scan stops at the deadline (the page says what it found).
    A broker that does not answer raises KafkaUnavailableError (the route's 503)."""
    import time

    from confluent_kafka import KafkaException, TopicPartition

    from include.markets_ops.services import kafka

    deadline = time.monotonic() + timeout_seconds

    def left() -> float:
        return max(0.1, deadline - time.monotonic())

    check_topic(topic)
    consumer = kafka.consumer({**config, **READER_TIMEOUTS}, "dashboard")
    found: list[KafkaMessage] = []
    try:
        partitions = consumer.list_topics(topic, timeout=left()).topics[topic].partitions
        remaining: dict[int, int] = {}
        assignment = []
        for partition in partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=left())
            if high > low:
                remaining[partition] = high
                assignment.append(TopicPartition(topic, partition, max(low, high - SCAN_PER_PARTITION)))
        consumer.assign(assignment)
        while remaining and time.monotonic() < deadline:
            message = consumer.poll(min(0.5, left()))
            if message is None or message.error():
                continue
            partition, offset = message.partition() or 0, message.offset() or 0
            if offset + 1 >= remaining.get(partition, 0):
                remaining.pop(partition, None)
            message_key = (message.key() or b"").decode(errors="replace")
            value = _decode(message.value())
            if matches(message_key, value, business_date, key):
                timestamp = dt.datetime.fromtimestamp(message.timestamp()[1] / 1000, dt.UTC).isoformat()
                found.append(KafkaMessage(partition, offset, timestamp, message_key, value))
    except KafkaException as error:
        raise KafkaUnavailableError(f"Kafka did not answer for topic {topic}: {error}") from error
    finally:
        consumer.close()
    found.sort(key=lambda m: (m.timestamp, m.partition, m.offset), reverse=True)
    return found[:limit]


def _decode(raw: bytes | None) -> Any:
    try:
        return json.loads(raw or b"null")
    except ValueError:
        return (raw or b"").decode(errors="replace")


# --- pages ------------------------------------------------------------------------------------
_STYLE = (
    "<style>body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1b1f24}"
    "table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:left;"
    "vertical-align:top}pre{margin:0;white-space:pre-wrap;max-width:70rem}</style>"
)


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>{_STYLE}"
        f"</head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def render_objects(bucket: str, prefix: str, objects: list[S3Object]) -> str:
    rows = "".join(
        f"<tr><td><a href='{html.escape(object_path(o.key))}'>"
        f"{html.escape(o.key)}</a></td><td>{o.size:,}</td><td>{html.escape(o.last_modified)}</td></tr>"
        for o in objects
    )
    body = (
        f"<p>{len(objects)} objects (click a key: HTML and JSON open, the rest downloads)</p>"
        f"<table><tr><th>Key</th><th>Bytes</th><th>Last modified</th></tr>{rows}</table>"
        if objects
        else "<p>No objects under this prefix.</p>"
    )
    return _page(f"s3://{bucket}/{prefix}", body)


def render_messages(
    topic: str, business_date: str | None, key: str | None, messages: list[KafkaMessage]
) -> str:
    scope = ", ".join(
        part for part in (business_date and f"business date {business_date}", key and f"key {key}") if part
    )
    rows = "".join(
        f"<tr><td>{m.partition}/{m.offset}</td><td>{html.escape(m.timestamp)}</td><td>{html.escape(m.key)}</td>"
        f"<td><pre>{html.escape(json.dumps(m.value, indent=1, default=str))}</pre></td></tr>"
        for m in messages
    )
    body = (
        f"<p>{len(messages)} latest messages{' of ' + html.escape(scope) if scope else ''}, newest first</p>"
        f"<table><tr><th>Partition/offset</th><th>Time</th><th>Key</th><th>Value</th></tr>{rows}</table>"
        if messages
        else f"<p>No messages{' of ' + html.escape(scope) if scope else ''}.</p>"
    )
    return _page(f"Kafka topic {topic}", body)
