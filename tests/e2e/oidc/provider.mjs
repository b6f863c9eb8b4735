// A real OpenID Provider for the end-to-end tests: panva's certified
// oidc-provider with its development login pages (any password). The login
// name is the subject; its email is the name itself when it holds an @,
// else NAME@example.net, verified either way.
//   node provider.mjs PORT REDIRECT_URI
import Provider from "oidc-provider";

const [port, redirect] = process.argv.slice(2);
const issuer = `http://localhost:${port}`;
const provider = new Provider(issuer, {
  clients: [{
    client_id: "twostep",
    client_secret: "twostep-test-secret",
    redirect_uris: [redirect],
    grant_types: ["authorization_code"],
    response_types: ["code"],
    token_endpoint_auth_method: "client_secret_basic",
  }],
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["preferred_username"] },
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  cookies: { keys: ["twostep-e2e-cookie-key"] },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, sub) {
    const email = sub.includes("@") ? sub : `${sub}@example.net`;
    return {
      accountId: sub,
      async claims() {
        return { sub, email, email_verified: true, preferred_username: sub.split("@")[0] };
      },
    };
  },
});
provider.listen(Number(port), () => console.log(`ready ${issuer}`));
