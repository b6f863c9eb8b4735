// A provider that lies, for the tests of what twostep refuses: each issuer
// under this server (http://localhost:PORT/MODE) signs in at once and hands
// out an ID token spoiled one way: MODE is `good` (nothing spoiled, so the
// test knows the harness works), `wrong-aud`, `expired`, `bad-signature` or
// `wrong-nonce`; or `mfa`, an honest token whose `amr` says a one-time code
// was used at the provider.
//   node tampering.mjs PORT
import http from "node:http";
import { randomBytes } from "node:crypto";
import { exportJWK, generateKeyPair, SignJWT } from "jose";

const port = Number(process.argv[2]);
const base = `http://localhost:${port}`;
// GET /rotate replaces the signing key (a new kid, the old one gone from the
// JWKS), as providers do from time to time.
let generation = 1;
let { publicKey, privateKey } = await generateKeyPair("RS256");
const stranger = await generateKeyPair("RS256");
let jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256", use: "sig" };
const codes = new Map();

function json(res, body) {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

async function idToken(mode, nonce) {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: `${base}/${mode}`, sub: `liar-${mode}`, aud: mode === "wrong-aud" ? "someone-else" : "twostep",
    iat: mode === "expired" ? now - 7200 : now, exp: mode === "expired" ? now - 3600 : now + 300,
    nonce: mode === "wrong-nonce" ? "not-the-nonce" : nonce,
    email: `liar-${mode}@example.net`, email_verified: true,
    ...(mode === "mfa" ? { amr: ["pwd", "otp"] } : {}),
  };
  const key = mode === "bad-signature" ? stranger.privateKey : privateKey;
  return new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: jwk.kid }).sign(key);
}

http.createServer(async (req, res) => {
  const url = new URL(req.url, base);
  const [, mode, what, more] = url.pathname.split("/");
  const issuer = `${base}/${mode}`;
  if (what === ".well-known" && more === "openid-configuration") {
    return json(res, {
      issuer, authorization_endpoint: `${issuer}/auth`, token_endpoint: `${issuer}/token`,
      jwks_uri: `${base}/jwks`, response_types_supported: ["code"], subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["RS256"],
    });
  }
  if (mode === "jwks") return json(res, { keys: [jwk] });
  if (mode === "rotate") {
    generation += 1;
    ({ publicKey, privateKey } = await generateKeyPair("RS256"));
    jwk = { ...(await exportJWK(publicKey)), kid: `k${generation}`, alg: "RS256", use: "sig" };
    return json(res, { kid: jwk.kid });
  }
  if (what === "auth") {
    const code = randomBytes(16).toString("hex");
    codes.set(code, url.searchParams.get("nonce"));
    const back = new URL(url.searchParams.get("redirect_uri"));
    back.searchParams.set("code", code);
    back.searchParams.set("state", url.searchParams.get("state"));
    res.writeHead(302, { location: back.toString() });
    return res.end();
  }
  if (what === "token" && req.method === "POST") {
    let body = "";
    for await (const chunk of req) body += chunk;
    const code = new URLSearchParams(body).get("code");
    if (!codes.has(code)) { res.writeHead(400); return res.end('{"error":"invalid_grant"}'); }
    const nonce = codes.get(code);
    codes.delete(code);
    return json(res, { access_token: randomBytes(16).toString("hex"), token_type: "Bearer", expires_in: 300,
      id_token: await idToken(mode, nonce) });
  }
  res.writeHead(404);
  res.end();
}).listen(port, () => console.log(`ready ${base}`));
