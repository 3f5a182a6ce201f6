"""Compute Engine firewall rules enforced with nftables inside each VM's network
namespace. As on Compute Engine: ingress is denied unless a rule allows it, a rule applies
to the VMs carrying one of its target tags (or to all when it has none), traffic within the
VM and replies to its own connections always pass, egress is not restricted."""

TABLE = "promptops_firewall"


def applies_to(rule, tags):
    targets = rule.get("targetTags") or []
    return not targets or bool(set(targets) & set(tags))


def _accept_lines(rule):
    ranges = [r for r in rule.get("sourceRanges") or [] if ":" not in r]
    if not ranges:
        return []
    source = "ip saddr { " + ", ".join(ranges) + " }"
    lines = []
    for allowed in rule.get("allowed") or []:
        protocol = allowed.get("IPProtocol", "all")
        ports = allowed.get("ports") or []
        if protocol == "all":
            lines.append(f"{source} accept")
        elif protocol in ("tcp", "udp") and ports:
            lines.append(f"{source} {protocol} dport {{ {', '.join(str(p) for p in ports)} }} accept")
        elif protocol in ("tcp", "udp", "icmp"):
            lines.append(f"{source} meta l4proto {protocol} accept")
    return lines


def ruleset(rules, tags):
    """The nft script for a VM with `tags` under the firewall rules `rules` (INGRESS only)."""
    accepts = []
    for rule in sorted(rules, key=lambda r: r.get("name", "")):
        if rule.get("direction", "INGRESS") == "INGRESS" and applies_to(rule, tags):
            accepts.append(f"    # {rule.get('name', '')}")
            accepts.extend("    " + line for line in _accept_lines(rule))
    body = "\n".join(accepts)
    # Creating, deleting and recreating the table replaces the rules in one transaction.
    return f"""table inet {TABLE}
delete table inet {TABLE}
table inet {TABLE} {{
  chain input {{
    type filter hook input priority 0; policy drop;
    iif "lo" accept
    ct state established,related accept
{body}
  }}
}}
"""
