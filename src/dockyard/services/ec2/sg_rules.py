"""Security group rules as data: parse `IpPermissions`, render them back, name them in messages.

A group stores a flat list of rules, one per (direction, protocol, port range, peer):

    {"id": "sgr-...", "egress": False, "protocol": "tcp", "from": 22, "to": 22,
     "cidr": "0.0.0.0/0" | "cidr6": "::/0" | "group": "sg-...", "description": "..."}

`permissions` groups them into the `IpPermissions` shape EC2 returns (one permission per
protocol and port range, its peers listed inside).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from dockyard.services.ec2.errors import InvalidParameterValue

__all__ = [
    "Rule",
    "normalize_protocol",
    "parse_permissions",
    "permissions",
    "rule_view",
    "rule_text",
    "same_rule",
    "default_rules",
]

Rule = dict[str, Any]
_PROTOCOLS = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "all": "-1"}


def normalize_protocol(value: str) -> str:
    value = value.strip().lower()
    return _PROTOCOLS.get(value, value)


def _peers(permission: dict[str, Any]) -> list[dict[str, Any]]:
    peers: list[dict[str, Any]] = []
    for item in permission.get("IpRanges", []):
        peers.append({"cidr": item.get("CidrIp", ""), "description": item.get("Description")})
    for item in permission.get("Ipv6Ranges", []):
        peers.append({"cidr6": item.get("CidrIpv6", ""), "description": item.get("Description")})
    for item in permission.get("UserIdGroupPairs", []):
        peers.append({"group": item.get("GroupId", ""), "description": item.get("Description")})
    return peers


def parse_permissions(
    items: Iterable[dict[str, Any]], *, egress: bool, new_id: Callable[[], str]
) -> list[Rule]:
    """Rules for `IpPermissions` (each permission may name several peers)."""
    rules: list[Rule] = []
    for permission in items:
        protocol = normalize_protocol(str(permission.get("IpProtocol", "")))
        if not protocol:
            raise InvalidParameterValue("Invalid value '' for IP protocol. Unknown protocol.")
        low, high = permission.get("FromPort"), permission.get("ToPort")
        if protocol in ("tcp", "udp"):
            if low is None or high is None:
                raise InvalidParameterValue(
                    "Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange"
                )
            if not (0 <= low <= high <= 65535):
                raise InvalidParameterValue(f"Invalid value 'from {low} to {high}' for portRange")
        peers = _peers(permission)
        if not peers:
            raise InvalidParameterValue(
                "The request must contain the parameter ipRanges, ipv6Ranges, userIdGroupPairs or "
                "prefixListIds"
            )
        for peer in peers:
            rule: Rule = {"id": new_id(), "egress": egress, "protocol": protocol}
            if protocol != "-1":
                rule["from"], rule["to"] = low, high
            rule.update({k: v for k, v in peer.items() if v is not None})
            rules.append(rule)
    return rules


def same_rule(a: Rule, b: Rule) -> bool:
    fields = ("egress", "protocol", "from", "to", "cidr", "cidr6", "group")
    return all(a.get(f) == b.get(f) for f in fields)


def rule_text(rule: Rule) -> str:
    """How EC2 names a rule in InvalidPermission.Duplicate: `peer: 0.0.0.0/0, TCP, from port: 22,
    to port: 22, ALLOW`."""
    peer = rule.get("cidr") or rule.get("cidr6") or rule.get("group")
    if rule["protocol"] == "-1":
        return f"peer: {peer}, ALL, ALLOW"
    ports = f"from port: {rule.get('from')}, to port: {rule.get('to')}"
    return f"peer: {peer}, {rule['protocol'].upper()}, {ports}, ALLOW"


def permissions(rules: Iterable[Rule], *, egress: bool, account_id: str) -> list[dict[str, Any]]:
    grouped: dict[tuple[Any, ...], dict[str, Any]] = {}
    for rule in rules:
        if rule.get("egress", False) != egress:
            continue
        ident = (rule["protocol"], rule.get("from"), rule.get("to"))
        permission = grouped.get(ident)
        if permission is None:
            permission = {
                "IpProtocol": rule["protocol"],
                "IpRanges": [],
                "Ipv6Ranges": [],
                "UserIdGroupPairs": [],
                "PrefixListIds": [],
            }
            if rule["protocol"] != "-1":
                permission["FromPort"], permission["ToPort"] = rule.get("from"), rule.get("to")
            grouped[ident] = permission
        described = {"Description": rule["description"]} if rule.get("description") else {}
        if "cidr" in rule:
            permission["IpRanges"].append({"CidrIp": rule["cidr"], **described})
        elif "cidr6" in rule:
            permission["Ipv6Ranges"].append({"CidrIpv6": rule["cidr6"], **described})
        elif "group" in rule:
            permission["UserIdGroupPairs"].append(
                {"GroupId": rule["group"], "UserId": account_id, **described}
            )
    return list(grouped.values())


def rule_view(rule: Rule, *, group_id: str, account_id: str) -> dict[str, Any]:
    """The SecurityGroupRule shape."""
    view: dict[str, Any] = {
        "SecurityGroupRuleId": rule["id"],
        "GroupId": group_id,
        "GroupOwnerId": account_id,
        "IsEgress": rule.get("egress", False),
        "IpProtocol": rule["protocol"],
        "FromPort": rule.get("from", -1),
        "ToPort": rule.get("to", -1),
    }
    if "cidr" in rule:
        view["CidrIpv4"] = rule["cidr"]
    if "cidr6" in rule:
        view["CidrIpv6"] = rule["cidr6"]
    if "group" in rule:
        view["ReferencedGroupInfo"] = {"GroupId": rule["group"], "UserId": account_id}
    if rule.get("description"):
        view["Description"] = rule["description"]
    return view


def default_rules(group_id: str, *, new_id: Callable[[], str], default_group: bool) -> list[Rule]:
    """Every group may send anywhere; the default group also admits its own members."""
    rules: list[Rule] = [{"id": new_id(), "egress": True, "protocol": "-1", "cidr": "0.0.0.0/0"}]
    if default_group:
        rules.insert(0, {"id": new_id(), "egress": False, "protocol": "-1", "group": group_id})
    return rules
