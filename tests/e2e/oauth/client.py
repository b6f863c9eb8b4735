"""A real OAuth 2.0 client for the end-to-end tests: authlib's requests
client (PyPI), a public client with PKCE (S256). One step per call, JSON out:

  client.py start   BASE CLIENT_ID REDIRECT_URI SCOPE   -> {"url", "state", "verifier"}
  client.py token   BASE CLIENT_ID REDIRECT_URI VERIFIER CALLBACK_URL
  client.py refresh BASE CLIENT_ID REFRESH_TOKEN
  client.py revoke  BASE CLIENT_ID TOKEN
  client.py device  BASE CLIENT_ID SCOPE                   (RFC 8628: the codes)
  client.py poll    BASE CLIENT_ID DEVICE_CODE             (one poll of the token endpoint)
  client.py introspect BASE CLIENT_ID TOKEN               (RFC 7662)
"""
import json
import os
import sys

os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"  # the test server speaks plain HTTP

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.integrations.base_client.errors import OAuthError


def session(client_id, **kw):
    return OAuth2Session(client_id, token_endpoint_auth_method="none", **kw)


def main(cmd, base, client_id, *rest):
    try:
        if cmd == "start":
            redirect, scope = rest
            verifier = generate_token(64)
            s = session(client_id, redirect_uri=redirect, scope=scope, code_challenge_method="S256")
            url, state = s.create_authorization_url(f"{base}/oauth/authorize", code_verifier=verifier)
            return {"url": url, "state": state, "verifier": verifier}
        if cmd == "token":
            redirect, verifier, callback = rest
            s = session(client_id, redirect_uri=redirect, code_challenge_method="S256")
            return dict(s.fetch_token(f"{base}/oauth/token", authorization_response=callback, code_verifier=verifier))
        if cmd == "refresh":
            (refresh,) = rest
            return dict(session(client_id).refresh_token(f"{base}/oauth/token", refresh_token=refresh))
        if cmd == "device":
            (scope,) = rest
            # authlib has no device-flow client: the one plain POST of RFC 8628 §3.1.
            r = requests.post(f"{base}/oauth/device_authorization", data={"client_id": client_id, "scope": scope})
            return r.json()
        if cmd == "poll":
            (device_code,) = rest
            return dict(session(client_id).fetch_token(
                f"{base}/oauth/token", grant_type="urn:ietf:params:oauth:grant-type:device_code",
                device_code=device_code, client_id=client_id))
        if cmd == "introspect":
            (token,) = rest
            return session(client_id).introspect_token(f"{base}/oauth/introspect", token=token).json()
        if cmd == "revoke":
            (token,) = rest
            r = session(client_id).revoke_token(f"{base}/oauth/revoke", token=token)
            return {"status": r.status_code}
    except OAuthError as e:
        return {"error": e.error, "error_description": e.description}
    raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:])))
