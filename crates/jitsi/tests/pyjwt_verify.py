#!/usr/bin/env python3
"""Independent check of Dialogue's Jitsi tokens with PyJWT (used by tests/pyjwt.rs).

Reads one JSON request on stdin:
  {"token": "...", "alg": "HS256" | "RS256", "key": "<secret or SPKI PEM>",
   "issuer": "...", "audience": "jitsi"}
Decodes the token strictly (algorithm pinned, signature, exp/nbf against the clock,
issuer, audience as a single string, required claims exp, nbf, iss, aud, sub, room,
header typ "JWT") and prints {"header": {...}, "claims": {...}} as JSON.

Exit codes: 0 valid, 1 refused (reason on stderr), 3 PyJWT/cryptography missing.
"""
import json
import sys

try:
    import jwt
    from cryptography.hazmat.primitives.serialization import load_pem_public_key
except ImportError as exc:  # pragma: no cover - environment problem
    print(
        f"missing Python module ({exc}); install with: python3 -m pip install \"pyjwt[crypto]\"",
        file=sys.stderr,
    )
    sys.exit(3)


def main() -> int:
    req = json.load(sys.stdin)
    token = req["token"]
    alg = req["alg"]
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != alg:
            raise jwt.InvalidTokenError(f"header alg {header.get('alg')!r} != {alg!r}")
        if header.get("typ") != "JWT":
            raise jwt.InvalidTokenError(f"header typ {header.get('typ')!r} != 'JWT'")
        if alg == "RS256":
            if not header.get("kid"):
                raise jwt.InvalidTokenError("RS256 header without kid")
            key = load_pem_public_key(req["key"].encode())
        else:
            key = req["key"]
        claims = jwt.decode(
            token,
            key,
            algorithms=[alg],
            audience=req["audience"],
            issuer=req["issuer"],
            options={
                "require": ["exp", "nbf", "iss", "aud", "sub", "room"],
                "verify_signature": True,
                "verify_exp": True,
                "verify_nbf": True,
                "verify_iat": True,
                "verify_iss": True,
                "verify_aud": True,
                "strict_aud": True,
            },
        )
    except (jwt.InvalidTokenError, ValueError) as exc:
        print(f"refused: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    json.dump({"header": header, "claims": claims, "pyjwt": jwt.__version__}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
