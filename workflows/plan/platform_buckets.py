"""Whether an S3 path or IAM resource can reach a platform bucket (``platform:platformBuckets``).

Platform buckets hold what every tenant depends on: the MWAA buckets (the DAG files and the
runtime package every DAG imports) and the Pulumi state. No workflow may be granted anything on
them, so a path is judged by what it *could* match, not by what it names: IAM matches resource
ARNs with ``*`` (any run of characters, ``/`` included) and ``?`` (one character), so
``mojap-*/x`` or ``*`` reach ``mojap-compute-production-mwaa`` as surely as the bucket's own name.

Standard library only: the policy pack (``policy/rules.py``) loads this file by its path, as it
loads ``workflows/tokens.py``, so the manifest check, the generated policies and the pack share one
matcher.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

S3_ARN_PREFIX = "arn:aws:s3:::"
# What a manifest path may be written with before its bucket: ``s3://`` (kept with a warning), an
# ARN prefix (refused by the schema), leading slashes. Stripped so that the bucket is judged either way.
_PATH_PREFIX = re.compile(r"^(s3a?://|arn:[^:]*:s3:::)?/*", re.IGNORECASE)
_FREE = -1  # past ``<name>/``: any rest of the pattern matches some key


def may_reach(pattern: str, name: str, separator: str = "/") -> bool:
    """Whether the IAM wildcard ``pattern`` matches ``name`` itself or some ``name/<key>``
    (``name<separator><anything>``: ``may_reach("s?:Put*", "s3", ":")`` for an S3 action).

    Case-insensitive (IAM is not; S3 bucket names are lower case): erring towards a match.
    """
    pattern, name = pattern.lower(), name.lower()
    end = len(name)
    states = {0}
    for char in pattern:
        after: set[int] = set()
        for state in states:
            if state == _FREE:
                after.add(_FREE)
            elif char == "*":
                # Any run: to every later position of the name, and past "<name>/" into the keys.
                after.update(range(state, end + 1))
                after.add(_FREE)
            elif state < end:
                if char in ("?", name[state]):
                    after.add(state + 1)
            elif char in ("?", separator):  # the "/" between the bucket and a key
                after.add(_FREE)
        if not after:
            return False
        states = after
    return end in states or _FREE in states


def platform_bucket_of_path(path: str, buckets: Iterable[str]) -> str | None:
    """The platform bucket an ``iam.s3_*`` path (``bucket``, ``bucket/``, ``bucket/dags/*``,
    ``s3://bucket/…``, wildcards anywhere) could reach, or None."""
    written = _PATH_PREFIX.sub("", path, count=1)
    return next((b for b in buckets if may_reach(written, b) or may_reach(path, b)), None)


def platform_bucket_of_resource(resource: str, buckets: Iterable[str]) -> str | None:
    """The platform bucket an IAM ``Resource`` entry (``*``, ``arn:aws:s3:::mojap-*/…``) could match, or None."""
    return next((b for b in buckets if may_reach(resource, f"{S3_ARN_PREFIX}{b}")), None)


def platform_bucket_arns(buckets: Iterable[str]) -> tuple[str, ...]:
    """Each bucket and every object in it, as IAM resources."""
    return tuple(arn for b in buckets for arn in (f"{S3_ARN_PREFIX}{b}", f"{S3_ARN_PREFIX}{b}/*"))
