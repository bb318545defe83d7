#!/usr/bin/env python3
"""Independent verifier of a seguimiento log export (Python 3 standard library only).

Reads the JSON Lines written by `seguimiento export` (the whole log, in position order),
recomputes every event hash and both chains as described in docs/HASHING.md, and, with
--anchor, checks that the log extends an anchor printed earlier by `seguimiento anchor`.

    seguimiento export --out log.jsonl
    python3 docs/verify_chain.py log.jsonl --anchor anchor.json

Prints the head it computed (the same JSON line `seguimiento anchor` prints for that log)
and exits 0 when everything holds, 1 at the first failure (with the position and why),
2 on unusable input.
"""

import argparse
import decimal
import hashlib
import json
import sys

LINK_DOMAIN = "seguimiento.log.v1"


def field(h, text):
    """F(s): the UTF-8 bytes of s prefixed by their length as a big-endian u64."""
    data = text.encode("utf-8")
    h.update(len(data).to_bytes(8, "big"))
    h.update(data)


def digest(*fields):
    h = hashlib.sha256()
    for f in fields:
        field(h, f)
    return h.hexdigest()


def format_float(x):
    """A float as serde_json writes it (shortest round-trip digits; see HASHING.md)."""
    if x == 0.0:
        return "-0.0" if str(x).startswith("-") else "0.0"
    sign = "-" if x < 0 else ""
    d = decimal.Decimal(repr(abs(x))).normalize()
    _, digits, exp = d.as_tuple()
    digits = "".join(str(n) for n in digits)
    length = len(digits)
    kk = length + exp  # 10^(kk-1) <= |x| < 10^kk
    if 0 <= exp and kk <= 16:
        body = digits + "0" * (kk - length) + ".0"
    elif 0 < kk <= 16:
        body = digits[:kk] + "." + digits[kk:]
    elif -5 < kk <= 0:
        body = "0." + "0" * (-kk) + digits
    else:
        exponent = ("+" if kk - 1 > 0 else "") + str(kk - 1)
        mantissa = digits if length == 1 else digits[0] + "." + digits[1:]
        body = mantissa + "e" + exponent
    return sign + body


def canonical(value, key_order, number):
    """Compact JSON with object keys sorted by `key_order` and numbers written by `number`;
    strings as Python escapes them, which is what both schemes do: quote, backslash, and
    the characters below U+0020 (\\b \\t \\n \\f \\r by name, the rest as lowercase
    \\u00xx)."""
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: key_order(kv[0]))
        return "{" + ",".join(
            canonical(k, key_order, number) + ":" + canonical(v, key_order, number)
            for k, v in items
        ) + "}"
    if isinstance(value, list):
        return "[" + ",".join(canonical(v, key_order, number) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return number(value)
    raise ValueError("not a JSON value: %r" % (value,))


def legacy_number(x):
    """Scheme v1's numbers: integers in decimal, floats as serde_json writes them."""
    return str(x) if isinstance(x, int) else format_float(x)


def legacy_canonical(value):
    """Scheme v1's canonical JSON: keys sorted by UTF-8 bytes, serde_json's numbers."""
    return canonical(value, lambda k: k.encode("utf-8"), legacy_number)


def ecmascript_number(x):
    """A number as ECMAScript's Number.prototype.toString writes it (RFC 8785, 3.2.2.3)."""
    x = float(x)
    if x != x or x in (float("inf"), float("-inf")):
        raise ValueError("JCS has no form for %r" % x)
    if x == 0.0:
        return "0"
    sign = "-" if x < 0 else ""
    d = decimal.Decimal(repr(abs(x))).normalize()
    _, digits, exp = d.as_tuple()
    digits = "".join(str(n) for n in digits)
    k = len(digits)
    n = k + exp  # the value is 0.d1d2...dk * 10^n
    if k <= n <= 21:
        body = digits + "0" * (n - k)
    elif 0 < n <= 21:
        body = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        body = "0." + "0" * (-n) + digits
    else:
        exponent = ("+" if n - 1 > 0 else "-") + str(abs(n - 1))
        body = (digits if k == 1 else digits[0] + "." + digits[1:]) + "e" + exponent
    return sign + body


def jcs(value):
    """RFC 8785, the JSON Canonicalization Scheme (scheme v2): keys sorted by UTF-16 code
    units, ECMAScript numbers."""
    return canonical(value, lambda k: k.encode("utf-16-be"), ecmascript_number)


# hashScheme (in each event's metadata) -> (domain tag, canonical form of payload and
# metadata). Events without a hashScheme are v1.
SCHEMES = {
    None: ("seguimiento.event.v1", legacy_canonical),
    2: ("seguimiento.event.v2", jcs),
}


def timestamp(text):
    """RFC 3339 UTC with exactly six fractional digits: 2024-05-01T13:45:07.123456Z."""
    if not text.endswith("Z"):
        raise ValueError("time not in UTC: %s" % text)
    body = text[:-1]
    whole, _, frac = body.partition(".")
    if len(whole) != 19 or len(frac) > 6 and frac[6:].strip("0"):
        raise ValueError("unexpected time: %s" % text)
    return whole + "." + (frac + "000000")[:6] + "Z"


def event_hash(e):
    metadata = e["metadata"]
    tag = metadata.get("hashScheme") if isinstance(metadata, dict) else None
    if tag not in SCHEMES or isinstance(tag, bool) or isinstance(tag, float):
        raise Broken("unknown hashScheme %r" % (tag,))
    domain, canonical = SCHEMES[tag]
    return digest(
        domain,
        e["id"].lower(),
        e["stream"],
        str(e["version"]),
        e["eventType"],
        str(e["schemaVersion"]),
        canonical(e["payload"]),
        canonical(e["metadata"]),
        timestamp(e["recordedAt"]),
        timestamp(e["effectiveAt"]),
        e["prevHash"],
    )


def log_link(position, stream, version, hash_, prev_link):
    return digest(LINK_DOMAIN, str(position), stream, str(version), hash_, prev_link)


def read_anchor(path):
    with open(path, encoding="utf-8") as f:
        anchor = json.loads(f.read().strip())
    position, link = anchor["position"], anchor["link"]
    if not isinstance(position, int) or position < 0 or not isinstance(link, str):
        raise ValueError("an anchor is {\"position\":N,\"link\":\"64 hex digits\"}")
    return position, link


class Broken(Exception):
    pass


def verify(lines, anchor):
    heads = {}  # stream -> (version, hash)
    link = ""
    position = 0
    anchor_link = None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            e = json.loads(line)
        except ValueError as err:
            raise Broken("line %d: not JSON: %s" % (number, err))
        p = e["position"]
        where = "position %d (stream %s version %d)" % (p, e["stream"], e["version"])
        if p != position + 1:
            raise Broken(
                "position gap: expected position %d, found %d (an export of the whole "
                "log is needed)" % (position + 1, p)
            )
        expected_version, expected_prev = 0, ""
        if e["stream"] in heads:
            v, h = heads[e["stream"]]
            expected_version, expected_prev = v + 1, h
        if e["version"] != expected_version:
            raise Broken("%s: expected version %d" % (where, expected_version))
        if e["prevHash"] != expected_prev:
            raise Broken("%s: prevHash is not the previous event's hash" % where)
        try:
            recomputed = event_hash(e)
        except Broken as err:
            raise Broken("%s: %s" % (where, err))
        if recomputed != e["hash"]:
            raise Broken(
                "%s: stored hash %s does not match recomputed %s" % (where, e["hash"], recomputed)
            )
        heads[e["stream"]] = (e["version"], e["hash"])
        link = log_link(p, e["stream"], e["version"], e["hash"], link)
        position = p
        if anchor is not None and p == anchor[0]:
            anchor_link = link
    if anchor is not None and anchor[0] > 0:
        if anchor[0] > position:
            raise Broken(
                "the log ends at position %d, before the anchor's position %d: events "
                "anchored were removed (truncated)" % (position, anchor[0])
            )
        if anchor_link != anchor[1]:
            raise Broken(
                "the link at position %d is %s, not the anchor's %s: the log up to the "
                "anchor was rewritten or reordered" % (anchor[0], anchor_link, anchor[1])
            )
    return position, link


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export", help="JSON Lines from `seguimiento export` ('-': stdin)")
    parser.add_argument("--anchor", help="file with an anchor from `seguimiento anchor`")
    parser.add_argument(
        "--jcs",
        action="store_true",
        help="instead: print each JSON line of the input in RFC 8785 form (to compare this "
        "encoder with another JCS implementation)",
    )
    args = parser.parse_args(argv)
    if args.jcs:
        source = sys.stdin if args.export == "-" else open(args.export, encoding="utf-8")
        with source:
            for line in source:
                if line.strip():
                    print(jcs(json.loads(line)))
        return 0
    try:
        anchor = read_anchor(args.anchor) if args.anchor else None
        if args.export == "-":
            position, link = verify(sys.stdin, anchor)
        else:
            with open(args.export, encoding="utf-8") as f:
                position, link = verify(f, anchor)
    except Broken as err:
        print("BROKEN: %s" % err)
        return 1
    except (OSError, ValueError, KeyError, TypeError) as err:
        print("error: %s" % err, file=sys.stderr)
        return 2
    print(json.dumps({"position": position, "link": link}, separators=(",", ":")))
    if anchor is not None:
        print("intact: %d events; the log extends the anchor at position %d" % (position, anchor[0]),
              file=sys.stderr)
    else:
        print("intact: %d events" % position, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
