"""Bot Framework test credentials, made with PyJWT and cryptography from .venv-rasa (the
packages Rasa's connector verifies with): an RSA key published as a JWK, a token the
connector must accept (audience = the app id) and two it must reject (wrong key, wrong
audience). Prints JSON.

    .venv-rasa/bin/python tests/channels/jwt_tool.py APP_ID
"""

from __future__ import annotations

import json
import sys
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


def main(app_id: str) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": "test-key-1", "use": "sig", "alg": "RS256"})
    now = int(time.time())
    claims = {"iss": "https://api.botframework.com", "aud": app_id, "iat": now, "nbf": now - 60, "exp": now + 3600,
              "serviceurl": "fake"}
    headers = {"kid": "test-key-1", "alg": "RS256"}
    print(json.dumps({
        "jwk": jwk,
        "token": jwt.encode(claims, key, algorithm="RS256", headers=headers),
        "wrong_key": jwt.encode(claims, other, algorithm="RS256", headers=headers),
        "wrong_audience": jwt.encode({**claims, "aud": "someone-else"}, key, algorithm="RS256", headers=headers),
    }))


if __name__ == "__main__":
    main(sys.argv[1])
