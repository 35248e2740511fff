// signin.mjs signs in to an MCP server protected by mcpsso's mock IdP with the official MCP
// TypeScript SDK's OAuth client, starting from nothing but the MCP URL, and uses the session:
// tools/list, whoami, a read and a write in the user's own tenant, a read in another tenant
// (which must be refused), then a token refresh and whoami again.
//
//   node signin.mjs --url http://127.0.0.1:8480/mcp --mode dcr|preregistered --user alice \
//     --foreign quilt-tenant-globex/plans/secret-plan.txt [--read README.md]
//
// Each step prints one JSON line on stdout: {"step": ..., "ok": true|false, ...}, with the HTTP
// requests the SDK made during the step under "http" (URLs without queries, the OAuth grant type
// and resource of token requests: never a code or a token). The first failing step prints
// "ok": false with "error", and the script exits 1. TestUpWithTheTypeScriptSDK
// (harness/cmd/mcpsso/up_test.go) runs it against `mcpsso up` and checks the lines.
//
// The "browser" is a plain GET of the authorization URL with login_hint=<user> added (the mock
// IdP logs in the user login_hint names) that stops at the redirect to our loopback redirect
// URI and takes code, state and iss from its Location header, as a native app's loopback
// listener would (RFC 8252 §7.3).

import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';

import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const preregisteredClientID = 'mcpsso-cli'; // the mock IdP's public client (PKCE, any loopback port)

const usage = 'usage: node signin.mjs --url MCP_URL --mode dcr|preregistered --user NAME --foreign BUCKET/KEY [--read KEY] [--timeout SECONDS]';

// StepFailed ends the run: the step's line has been printed already.
class StepFailed extends Error {}

// MemoryProvider is an OAuthClientProvider that keeps everything in memory and plays the
// browser in redirectToAuthorization.
class MemoryProvider {
  constructor({ mode, user, redirectUrl }) {
    this.mode = mode;
    this.user = user;
    this._redirectUrl = redirectUrl;
    this._client = mode === 'preregistered' ? { client_id: preregisteredClientID } : undefined;
    this._tokens = undefined;
    this._verifier = undefined;
    this._discovery = undefined;
    this._state = undefined;
    this.logins = 0; // how often the SDK sent the user to the authorization endpoint
    this.authorizationRequest = undefined; // what the SDK asked the IdP for (no secrets)
    this.authorizationCode = undefined; // from the last redirect, for transport.finishAuth
    this.invalidated = []; // what the SDK threw away (invalidateCredentials), for diagnostics
  }

  get redirectUrl() {
    return this._redirectUrl;
  }

  get clientMetadata() {
    return {
      client_name: 'mcpsso tsclient (MCP TypeScript SDK)',
      redirect_uris: [this._redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      // offline_access: what a real IdP wants before it issues a refresh token.
      scope: 'openid offline_access',
    };
  }

  state() {
    this._state = randomBytes(16).toString('base64url');
    return this._state;
  }

  clientInformation() {
    return this._client;
  }

  // saveClientInformation keeps a dynamic registration; in preregistered mode the SDK may only
  // bind mcpsso-cli to the authorization server (add "issuer"), never replace it.
  saveClientInformation(info) {
    if (this.mode === 'preregistered' && info.client_id !== preregisteredClientID) {
      throw new Error(`preregistered mode: the SDK saved client ${info.client_id}, not ${preregisteredClientID}: it registered instead of using the pre-registered client`);
    }
    this._client = info;
  }

  tokens() {
    return this._tokens;
  }

  saveTokens(tokens) {
    this._tokens = tokens;
  }

  saveCodeVerifier(verifier) {
    this._verifier = verifier;
  }

  codeVerifier() {
    if (!this._verifier) throw new Error('no PKCE code verifier saved');
    return this._verifier;
  }

  saveDiscoveryState(state) {
    this._discovery = state;
  }

  discoveryState() {
    return this._discovery;
  }

  invalidateCredentials(scope) {
    this.invalidated.push(scope);
    if (scope === 'all' || scope === 'client') this._client = this.mode === 'preregistered' ? { client_id: preregisteredClientID } : undefined;
    if (scope === 'all' || scope === 'tokens') this._tokens = undefined;
    if (scope === 'all' || scope === 'verifier') this._verifier = undefined;
    if (scope === 'all' || scope === 'discovery') this._discovery = undefined;
  }

  // expireAccessToken replaces the access token with one the server refuses, keeping the
  // refresh token, so that the SDK's next request gets a 401 and the SDK refreshes.
  expireAccessToken() {
    if (!this._tokens?.refresh_token) throw new Error('no refresh token to refresh with: the token response had none');
    this._tokens = { ...this._tokens, access_token: 'expired-by-tsclient' };
  }

  // redirectToAuthorization is the user's browser: it logs in as this.user (login_hint) and
  // takes the authorization response from the redirect instead of following it.
  async redirectToAuthorization(authorizationUrl) {
    this.logins++;
    const q = authorizationUrl.searchParams;
    this.authorizationRequest = {
      endpoint: authorizationUrl.origin + authorizationUrl.pathname,
      client_id: q.get('client_id'),
      response_type: q.get('response_type'),
      redirect_uri: q.get('redirect_uri'),
      scope: q.get('scope'),
      resource: q.getAll('resource'),
      code_challenge_method: q.get('code_challenge_method'),
      code_challenge: q.has('code_challenge'),
      state: q.has('state'),
    };
    const url = new URL(authorizationUrl);
    url.searchParams.set('login_hint', this.user);
    const res = await fetch(url, { redirect: 'manual' });
    const location = res.headers.get('location');
    if (res.status < 300 || res.status > 399 || !location) {
      const body = (await res.text()).slice(0, 300);
      throw new Error(`authorization endpoint: HTTP ${res.status} without a redirect (want a 302 to ${this._redirectUrl}): ${body}`);
    }
    const back = new URL(location, url);
    if (back.origin + back.pathname !== this._redirectUrl) {
      throw new Error(`authorization endpoint redirected to ${back.origin + back.pathname}, not the redirect URI ${this._redirectUrl}`);
    }
    const p = back.searchParams;
    if (p.has('error')) {
      throw new Error(`authorization endpoint answered error=${p.get('error')}: ${p.get('error_description') ?? ''}`);
    }
    if (p.get('state') !== this._state) {
      throw new Error(`authorization response: state ${JSON.stringify(p.get('state'))} is not the one sent`);
    }
    const asMetadata = this._discovery?.authorizationServerMetadata;
    const issuer = asMetadata?.issuer;
    if (p.has('iss') || asMetadata?.authorization_response_iss_parameter_supported) {
      if (p.get('iss') !== issuer) {
        throw new Error(`authorization response: iss ${JSON.stringify(p.get('iss'))} is not the issuer ${issuer} (RFC 9207)`);
      }
    }
    if (!p.get('code')) throw new Error(`authorization response has no code: ${back.search}`);
    this.authorizationCode = p.get('code');
    this.authorizationResponse = { status: res.status, state: 'matches', iss: p.get('iss') };
  }
}

// recordingFetch is the fetch the SDK uses: it notes each request in trace.
function recordingFetch(trace) {
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const entry = { method: init?.method ?? (input instanceof Request ? input.method : 'GET'), url: url.origin + url.pathname };
    const body = init?.body;
    if (body instanceof URLSearchParams) {
      entry.grant_type = body.get('grant_type');
      entry.resource = body.getAll('resource');
      entry.client_id = body.get('client_id') ?? undefined;
    } else if (typeof body === 'string') {
      try {
        const msg = JSON.parse(body);
        if (msg.method) entry.rpc = msg.method;
        if (msg.params?.name) entry.tool = msg.params.name;
        if (msg.client_name) entry.registering = msg.client_name;
      } catch {
        // not JSON: nothing to note
      }
    }
    const res = await fetch(input, init);
    entry.status = res.status;
    trace.push(entry);
    return res;
  };
}

// freeLoopbackPort is a port nothing listens on now: the redirect URI's, as a native app would
// pick it. Nothing needs to listen there: the "browser" stops at the redirect.
function freeLoopbackPort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// claims is what a JWT says about itself (not verified: the server verifies; this is a report).
function claims(jwt) {
  try {
    const c = JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
    return { aud: c.aud, client_id: c.client_id, scope: c.scope, sub: c.sub };
  } catch {
    return { unparsable: true };
  }
}

function text(result) {
  return (result.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');
}

// callTool calls a tool and returns its result; a tool error is an exception unless allowError.
async function callTool(client, name, args, allowError = false) {
  const result = await client.callTool({ name, arguments: args });
  if (result.isError && !allowError) throw new Error(`tool ${name}: error result: ${text(result)}`);
  return result;
}

function parse() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        url: { type: 'string' },
        mode: { type: 'string' },
        user: { type: 'string' },
        read: { type: 'string', default: 'README.md' },
        foreign: { type: 'string' },
        timeout: { type: 'string', default: '90' },
      },
      strict: true,
    }));
  } catch (e) {
    throw new Error(`${e.message}\n${usage}`);
  }
  for (const k of ['url', 'mode', 'user', 'foreign']) {
    if (!values[k]) throw new Error(`--${k} is required\n${usage}`);
  }
  if (values.mode !== 'dcr' && values.mode !== 'preregistered') throw new Error(`--mode ${values.mode}: must be dcr or preregistered`);
  const slash = values.foreign.indexOf('/');
  if (slash < 1 || slash === values.foreign.length - 1) throw new Error(`--foreign ${values.foreign}: must be BUCKET/KEY`);
  const timeout = Number(values.timeout);
  if (!(timeout > 0)) throw new Error(`--timeout ${values.timeout}: must be a positive number of seconds`);
  return { ...values, foreignBucket: values.foreign.slice(0, slash), foreignKey: values.foreign.slice(slash + 1), timeout };
}

async function main() {
  const args = parse();
  const timer = setTimeout(() => {
    console.log(JSON.stringify({ step: 'timeout', ok: false, error: `not done within ${args.timeout}s` }));
    process.exit(1);
  }, args.timeout * 1000);
  timer.unref();

  const trace = [];
  let seen = 0;
  // step runs fn, prints its line (with the requests made meanwhile), and stops the run on failure.
  const step = async (name, fn) => {
    let fields;
    try {
      fields = await fn();
    } catch (e) {
      const http = trace.slice(seen);
      seen = trace.length;
      console.log(JSON.stringify({ step: name, ok: false, error: e?.message ?? String(e), http }));
      throw new StepFailed(`${name}: ${e?.message ?? e}`);
    }
    const http = trace.slice(seen);
    seen = trace.length;
    console.log(JSON.stringify({ step: name, ok: true, ...fields, http }));
    return fields;
  };

  const redirectUrl = `http://127.0.0.1:${await freeLoopbackPort()}/callback`;
  const provider = new MemoryProvider({ mode: args.mode, user: args.user, redirectUrl });
  const fetchFn = recordingFetch(trace);
  const newTransport = () => new StreamableHTTPClientTransport(new URL(args.url), { authProvider: provider, fetch: fetchFn });
  const newClient = () => new Client({ name: 'mcpsso-tsclient', version: '1.0.0' });

  // Connect with no token: the server's 401 starts discovery, (registration,) and the redirect.
  await step('signin', async () => {
    const transport = newTransport();
    try {
      await newClient().connect(transport);
      throw new Error('connected without signing in: the server accepted a request with no token');
    } catch (e) {
      if (!(e instanceof UnauthorizedError)) throw e;
    } finally {
      await transport.close();
    }
    if (provider.logins !== 1 || !provider.authorizationCode) throw new Error(`after the 401: ${provider.logins} logins and no authorization code`);
    await transport.finishAuth(provider.authorizationCode);
    const tokens = provider.tokens();
    if (!tokens?.access_token) throw new Error('finishAuth saved no access token');
    return {
      mode: args.mode,
      redirectUri: redirectUrl,
      clientId: provider.clientInformation()?.client_id,
      authorizationServer: provider.discoveryState()?.authorizationServerUrl,
      resourceMetadata: provider.discoveryState()?.resourceMetadata,
      authorizationRequest: provider.authorizationRequest,
      authorizationResponse: provider.authorizationResponse,
      refreshToken: Boolean(tokens.refresh_token),
      accessToken: claims(tokens.access_token),
    };
  });

  const transport = newTransport();
  const client = newClient();
  try {
    await step('connect', async () => {
      await client.connect(transport);
      return { server: client.getServerVersion(), protocolVersion: transport.protocolVersion };
    });

    await step('tools/list', async () => {
      const { tools } = await client.listTools();
      return { tools: tools.map((t) => t.name) };
    });

    const whoami = async () => {
      const r = await callTool(client, 'whoami', {});
      const s = r.structuredContent ?? JSON.parse(text(r));
      return { role: s.role, tenant: s.tenant, bucket: s.bucket, arn: s.arn, sourceIdentity: s.sourceIdentity };
    };
    const me = await step('whoami', whoami);

    await step('read-own', async () => {
      const r = await callTool(client, 'get_object', { key: args.read });
      return { bucket: me.bucket, key: args.read, text: text(r) };
    });

    await step('write-own', async () => {
      const key = `tsclient/${args.user}-${args.mode}-${randomBytes(6).toString('hex')}.txt`;
      const content = `written by the MCP TypeScript SDK client as ${args.user} (${args.mode}) at ${new Date().toISOString()}`;
      const put = await callTool(client, 'put_object', { key, content });
      const back = text(await callTool(client, 'get_object', { key }));
      if (back !== content) throw new Error(`read back ${JSON.stringify(back)} after writing ${JSON.stringify(content)}`);
      return { bucket: put.structuredContent?.bucket, key, size: put.structuredContent?.size, readBack: true };
    });

    await step('read-foreign', async () => {
      const r = await callTool(client, 'get_object', { bucket: args.foreignBucket, key: args.foreignKey }, true);
      if (!r.isError) throw new Error(`read ${args.foreign}, another tenant's object: the server returned it`);
      return { bucket: args.foreignBucket, key: args.foreignKey, refused: true, text: text(r) };
    });

    await step('refresh', async () => {
      const before = provider.tokens();
      const logins = provider.logins;
      provider.expireAccessToken();
      const after = await whoami();
      const now = provider.tokens();
      if (provider.logins !== logins) throw new Error('the SDK sent the user to log in again instead of refreshing');
      // The spoiled token must have been replaced; the new one may equal the first (an IdP whose
      // tokens carry no unique claim, as Auth0's, refreshes within the second to the same JWT),
      // so the Go test looks for the refresh_token grant among the requests.
      if (!now?.access_token || now.access_token === 'expired-by-tsclient') {
        throw new Error('no new access token after the 401');
      }
      return {
        whoami: after,
        newAccessToken: now.access_token !== before.access_token,
        accessTokenReplaced: true,
        refreshTokenRotated: now.refresh_token !== before.refresh_token,
        accessToken: claims(now.access_token),
        invalidated: provider.invalidated,
      };
    });
  } finally {
    await client.close();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    if (!(e instanceof StepFailed)) console.log(JSON.stringify({ step: 'start', ok: false, error: e?.message ?? String(e) }));
    console.error(`signin.mjs: ${e?.message ?? e}`);
    process.exit(1);
  },
);
