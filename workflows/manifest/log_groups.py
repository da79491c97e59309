"""``iam.cloudwatch_logs_read_only`` entries: each names one log group, and what is wrong with one that does not.

An entry is ``arn:aws:logs:<region>:<account>:log-group:<name>``, optionally followed by
``:*`` (the group's log streams). A wildcard (``*`` or ``?``) may only be that stream
part: anywhere in the name it would reach log groups the workflow does not own —
``log-group:/*`` is every group whose name starts with ``/``, the cluster's pod logs of
every team included, and a prefix such as ``log-group:team-*`` is satisfied by any group
another team names to match it. No live manifest uses a wildcard in a group name.

The schema's pattern (:data:`PATTERN`, in ``workflows/schema/workflow.schema.json``) says
the same for editors; :func:`log_group_problem` says, for the validator, what is wrong.
"""

from __future__ import annotations

import re

# A region as AWS spells them (eu-west-2, us-gov-west-1, ap-southeast-3), a 12-digit account, and
# a log group name as CloudWatch allows it: 1 to 512 of letters, digits, '.', '-', '_', '/' and '#'.
REGION = r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}"
ACCOUNT = r"[0-9]{12}"
NAME = r"[A-Za-z0-9._/#-]{1,512}"
PATTERN = rf"^arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{NAME}(:\*)?$"
_ARN = re.compile(r"arn:aws:logs:(?P<region>[^:]*):(?P<account>[^:]*):log-group:(?P<rest>.*)", re.DOTALL)
_EXAMPLE = "arn:aws:logs:eu-west-2:123456789012:log-group:my-log-group (or …:log-group:my-log-group:* with its streams)"


def log_group_problem(arn: str) -> str | None:
    """Why ``arn`` does not name one log group (the reason and the fix), or None when it does."""
    if re.fullmatch(PATTERN.removeprefix("^").removesuffix("$"), arn):
        return None
    match = _ARN.fullmatch(arn)
    if match is None:
        return f"each entry must be a log-group ARN, as in {_EXAMPLE}"
    if not re.fullmatch(REGION, match["region"]):
        return f"'{match['region']}' is not an AWS region (such as eu-west-2): write {_EXAMPLE}"
    if not re.fullmatch(ACCOUNT, match["account"]):
        return f"'{match['account']}' is not an AWS account id (12 digits): write {_EXAMPLE}"
    name = match["rest"].removesuffix(":*")
    if "*" in name or "?" in name:
        return (
            "a wildcard in the log group name would let the workflow read log groups it does not own, other "
            "teams' and the cluster's pod logs included: name one log group; only its streams may be wildcarded, "
            "as in log-group:<name>:*"
        )
    return (
        "a log group name is 1 to 512 letters, digits, '.', '-', '_', '/' and '#', optionally followed by ':*' "
        f"for its streams: write {_EXAMPLE}"
    )
