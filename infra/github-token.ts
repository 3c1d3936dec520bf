/**
 * A token for the program's own reads at preview and up (what exists; on
 * github.com also upstream health and preflight tags: infra/upstream-health.ts),
 * from the same credentials the GitHub provider uses: GITHUB_TOKEN, or a
 * GitHub App (GITHUB_APP_ID, GITHUB_APP_INSTALLATION_ID, GITHUB_APP_PEM_FILE
 * holding the private key) exchanged for a one-hour installation token.
 * Never prints or stores either.
 */
import { createSign } from "node:crypto";

type Env = Readonly<Record<string, string | undefined>>;

/** The App's JWT (RS256), valid for nine minutes, backdated a minute for clock skew. */
export function appJwt(appId: string, privateKeyPem: string, now = Date.now()): string {
  const b64 = (v: object | Buffer) => (Buffer.isBuffer(v) ? v : Buffer.from(JSON.stringify(v))).toString("base64url");
  const iat = Math.floor(now / 1000) - 60;
  const unsigned = `${b64({ alg: "RS256", typ: "JWT" })}.${b64({ iat, exp: iat + 540, iss: appId })}`;
  const signature = createSign("RSA-SHA256").update(unsigned).sign(privateKeyPem);
  return `${unsigned}.${b64(signature)}`;
}

export async function deployToken(env: Env, fetchImpl: typeof fetch = fetch, now = Date.now()): Promise<string | undefined> {
  if (env.GITHUB_TOKEN) return env.GITHUB_TOKEN;
  const { GITHUB_APP_ID: id, GITHUB_APP_INSTALLATION_ID: installation, GITHUB_APP_PEM_FILE: pem } = env;
  if (!id || !installation || !pem) return undefined;
  if (!/^\d+$/.test(installation)) throw new Error(`GITHUB_APP_INSTALLATION_ID: ${JSON.stringify(installation)} is not a number`);
  const api = (env.GITHUB_API_URL || "https://api.github.com").replace(/\/$/, "");
  const res = await fetchImpl(`${api}/app/installations/${installation}/access_tokens`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${appJwt(id, pem.replace(/\\n/g, "\n"), now)}`,
      accept: "application/vnd.github+json",
      "x-github-api-version": "2022-11-28",
      "user-agent": "mirror-fleet",
    },
  });
  if (res.status !== 201) throw new Error(`GitHub App installation token: HTTP ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}
