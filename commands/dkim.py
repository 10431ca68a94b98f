"""`python cli.py dkim keygen --domain D --selector S [--out FILE] [--kind rsa|ed25519]` and
`python cli.py dkim check`: make a DKIM key (the private half in a 0600 file, the public half as
the DNS TXT record to publish) and see whether the published record is that key's."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("dkim", help="make a DKIM signing key, check its DNS record")
    sub = p.add_subparsers(dest="dkim_command", required=True, metavar="ACTION")
    gen = sub.add_parser("keygen", help="write a new private key (mode 0600) and print the DNS TXT record")
    gen.add_argument("--domain", required=True, help="the signing domain, the one in your From address")
    gen.add_argument("--selector", required=True, help="the key's name in DNS, e.g. nurture2026")
    gen.add_argument("--out", help="the private key file (default: dkim-SELECTOR.DOMAIN.pem); never overwritten")
    gen.add_argument("--kind", choices=("rsa", "ed25519"), default="rsa",
                     help="rsa (2048 bit, what every receiver checks; default) or ed25519 (RFC 8463)")
    gen.set_defaults(func=run_keygen)
    chk = sub.add_parser("check", help="does DNS publish the signing key? (exit 0 yes, 1 no or unreachable)")
    chk.add_argument("--key-file", help="default: NURTURE_DKIM_KEY_FILE")
    chk.add_argument("--domain", help="default: NURTURE_DKIM_DOMAIN")
    chk.add_argument("--selector", help="default: NURTURE_DKIM_SELECTOR")
    chk.add_argument("--nameserver", metavar="HOST[:PORT]", help="ask this DNS server (default: the system's)")
    chk.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for DNS (default 5)")
    chk.add_argument("--journeys", default="journeys", metavar="DIR",
                     help="check that every journey's sender aligns with the signing domain (default: journeys)")
    chk.set_defaults(func=run_check)


def run_keygen(args: argparse.Namespace) -> int:
    from activities.dkim_signing import DkimConfigError, DkimSigner, generate_key, write_key

    out = Path(args.out or f"dkim-{args.selector}.{args.domain}.pem")
    try:
        pem = generate_key(args.kind)
        signer = DkimSigner.load(pem, args.domain, args.selector)
        write_key(out, pem)
    except DkimConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except FileExistsError:
        print(f"error: {out} exists; not overwriting a key (choose another --out)", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: cannot write {out}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"wrote the private key to {out} (mode 0600; keep it secret)")
    print("publish this DNS TXT record:")
    print(f"  {signer.dns_line}")
    print("and start the worker with:")
    print(f"  NURTURE_DKIM_KEY_FILE={out.resolve()} NURTURE_DKIM_DOMAIN={signer.domain} "
          f"NURTURE_DKIM_SELECTOR={signer.selector}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    from activities.dkim_signing import DkimConfigError, DnsUnreachable, lookup_txt, record_problem, signer_from_env

    env = {"NURTURE_DKIM_KEY_FILE": args.key_file, "NURTURE_DKIM_DOMAIN": args.domain,
           "NURTURE_DKIM_SELECTOR": args.selector}
    os.environ.update({k: v for k, v in env.items() if v})
    try:
        signer = signer_from_env()
    except DkimConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if signer is None:
        print("error: no key: give --key-file, --domain and --selector (or NURTURE_DKIM_KEY_FILE, ...)",
              file=sys.stderr)
        return 1
    misaligned = alignment_problems(signer, Path(args.journeys))
    for line in misaligned:
        print(f"warning: {line}", file=sys.stderr)
    try:
        published = lookup_txt(signer.record_name, nameserver=args.nameserver, timeout=args.timeout)
    except DnsUnreachable as exc:
        print(f"DNS unreachable: {exc}; cannot check {signer.record_name} from here", file=sys.stderr)
        return 1
    problem = record_problem(published, signer.record)
    if problem:
        print(f"{signer.record_name}: {problem}; publish:\n  {signer.dns_line}", file=sys.stderr)
        return 1
    print(f"ok: {signer.record_name} publishes the signing key ({signer.algorithm})")
    return 1 if misaligned else 0


def alignment_problems(signer: object, folder: Path) -> list[str]:
    """One line per journey in `folder` whose sender (its `from`, else sending.yaml's) the signing
    domain does not align with; journeys that do not compile are `validate`'s business."""
    from activities.dkim_signing import alignment_warnings
    from compiler.compile import compile_paths

    if not folder.exists():
        return []
    out = []
    for result in compile_paths([folder]):
        journey = result.journey
        if journey is not None and journey.sender:
            out += [f"journey {journey.id}: {w}" for w in alignment_warnings(signer, [journey.sender])]  # type: ignore[arg-type]
    return out
